#!/usr/bin/env python3
"""Generates sql/002_reference.sql, the migration that loads Hisaab's reference geography.

Inputs (all under data/, provenance in data/README.md):
  lgd_states.csv, lgd_districts.csv   LGD states and the 763 districts of Dec 2022
  reference/states_hi.csv             Hindi state names and NREGA MIS state codes
  reference/districts_hi.csv          Hindi district names (Hindi-speaking states)
  reference/mp_centroids.csv          Madhya Pradesh district points and aliases
  reference/district_aliases.csv      other names of districts in the other Hindi-speaking states
  reference/mp_nrega_lgd.csv          NREGA district code -> LGD district code, MP (51)

Every statement is INSERT ... ON CONFLICT DO UPDATE, so applying the file twice leaves the
same rows. Rows without an LGD code (districts created after Dec 2022) are not loaded: the
reference tables are keyed by LGD code. The output is deterministic (sorted by code).

    tests/gen_reference_sql.py            writes sql/002_reference.sql
    tests/gen_reference_sql.py --check    exits 1 if sql/002_reference.sql is stale
"""
import csv
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data")
REF = os.path.join(DATA, "reference")
OUT = os.path.join(ROOT, "sql", "002_reference.sql")

# Words kept lower case inside a display name ("North and Middle Andaman").
SMALL = {"and", "of", "the", "ka", "ki", "ke"}


def display_case(name):
    """LGD spelling in display case: 'NIWARI' -> 'Niwari', 'KAIMUR (BHABUA)' -> 'Kaimur
    (Bhabua)', 'JANJGIR-CHAMPA' -> 'Janjgir-Champa', 'NORTH AND MIDDLE ANDAMAN' -> 'North and
    Middle Andaman'. Names LGD already gives in mixed case are kept as they are."""
    name = " ".join(name.split())
    if name != name.upper():
        return name
    out = []
    for i, word in enumerate(name.split(" ")):
        low = word.lower()
        if i > 0 and low in SMALL:
            out.append(low)
            continue
        # capitalise after '(', '-' and '.' too ('Y.S.R.', 'Janjgir-Champa')
        out.append(re.sub(r"(^|[(.\-])([a-z])", lambda m: m.group(1) + m.group(2).upper(), low))
    return " ".join(out)


def q(s):
    """A SQL string literal, or NULL."""
    if s is None or s == "":
        return "NULL"
    return "'" + s.replace("'", "''") + "'"


def num(s):
    if s is None or s == "":
        return "NULL"
    float(s)  # raises on garbage
    return s


def text_array(items):
    if not items:
        return "'{}'::text[]"
    return "ARRAY[" + ", ".join(q(x) for x in items) + "]::text[]"


def add_aliases(district, field):
    """Adds the semicolon-separated lower-case aliases in field, keeping order, no repeats."""
    for a in field.split(";"):
        a = " ".join(a.split())
        if not a:
            continue
        if a != a.lower():
            raise SystemExit("alias not lower case: %r" % a)
        if a not in district["aliases"]:
            district["aliases"].append(a)


def read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load():
    states = {}
    for r in read(os.path.join(DATA, "lgd_states.csv")):
        code = int(r["State Code"])
        states[code] = {"name_en": display_case(r["State Name"]), "name_hi": None, "nrega": None}
    for r in read(os.path.join(REF, "states_hi.csv")):
        s = states[int(r["lgd_state_code"])]
        s["name_hi"] = r["name_hi"] or None
        s["nrega"] = int(r["nrega_state_code"]) if r["nrega_state_code"] else None

    districts = {}
    for r in read(os.path.join(DATA, "lgd_districts.csv")):
        code = int(r["District Code"])
        if code in districts:
            raise SystemExit("duplicate LGD district code %d" % code)
        districts[code] = {"state": int(r["State Code"]), "name_en": display_case(r["District Name"]),
                           "name_hi": None, "lat": None, "lon": None, "aliases": []}
    for r in read(os.path.join(REF, "districts_hi.csv")):
        if not r["lgd_district_code"]:
            continue
        d = districts[int(r["lgd_district_code"])]
        if d["state"] != int(r["lgd_state_code"]):
            raise SystemExit("state mismatch for district %s" % r["lgd_district_code"])
        d["name_hi"] = r["name_hi"] or None
    for r in read(os.path.join(REF, "mp_centroids.csv")):
        if not r["lgd_district_code"]:
            continue
        d = districts[int(r["lgd_district_code"])]
        d["lat"], d["lon"] = r["lat"], r["lon"]
        add_aliases(d, r["aliases"])
    for r in read(os.path.join(REF, "district_aliases.csv")):
        add_aliases(districts[int(r["lgd_district_code"])], r["aliases"])

    nrega = []
    for r in read(os.path.join(REF, "mp_nrega_lgd.csv")):
        lgd = int(r["lgd_district_code"])
        if lgd not in districts:
            raise SystemExit("NREGA district %s maps to unknown LGD %d" % (r["nrega_district_code"], lgd))
        nrega.append((int(r["nrega_district_code"]), lgd))
    return states, districts, sorted(nrega)


def render(states, districts, nrega):
    out = []
    w = out.append
    w("-- Hisaab migration 002: reference geography (LGD states and districts, Hindi names,")
    w("-- Madhya Pradesh district points and aliases, NREGA -> LGD district crosswalk for MP).")
    w("-- GENERATED by tests/gen_reference_sql.py from data/*.csv and data/reference/*.csv;")
    w("-- do not edit by hand. Provenance of every input: data/README.md.")
    w("-- Safe to re-run: every row is an upsert.")
    w("")
    w("CREATE TABLE IF NOT EXISTS ref_nrega_district_map (")
    w("    nrega_district_code integer PRIMARY KEY,")
    w("    lgd_district_code   integer NOT NULL REFERENCES ref_districts")
    w(");")
    w("")
    w("INSERT INTO ref_states (lgd_state_code, name_en, name_hi, nrega_state_code) VALUES")
    rows = ["    (%d, %s, %s, %s)" % (c, q(s["name_en"]), q(s["name_hi"]),
                                      "NULL" if s["nrega"] is None else s["nrega"])
            for c, s in sorted(states.items())]
    w(",\n".join(rows))
    w("ON CONFLICT (lgd_state_code) DO UPDATE SET name_en = EXCLUDED.name_en,")
    w("    name_hi = EXCLUDED.name_hi, nrega_state_code = EXCLUDED.nrega_state_code;")
    w("")
    w("INSERT INTO ref_districts (lgd_district_code, lgd_state_code, name_en, name_hi, lat, lon,")
    w("                           aliases) VALUES")
    rows = ["    (%d, %d, %s, %s, %s, %s, %s)" % (c, d["state"], q(d["name_en"]), q(d["name_hi"]),
                                                num(d["lat"]), num(d["lon"]),
                                                text_array(d["aliases"]))
            for c, d in sorted(districts.items())]
    w(",\n".join(rows))
    w("ON CONFLICT (lgd_district_code) DO UPDATE SET lgd_state_code = EXCLUDED.lgd_state_code,")
    w("    name_en = EXCLUDED.name_en, name_hi = EXCLUDED.name_hi, lat = EXCLUDED.lat,")
    w("    lon = EXCLUDED.lon, aliases = EXCLUDED.aliases;")
    w("")
    w("INSERT INTO ref_nrega_district_map (nrega_district_code, lgd_district_code) VALUES")
    w(",\n".join("    (%d, %d)" % r for r in nrega))
    w("ON CONFLICT (nrega_district_code) DO UPDATE SET lgd_district_code = EXCLUDED.lgd_district_code;")
    return "\n".join(out) + "\n"


def main():
    text = render(*load())
    if "--check" in sys.argv[1:]:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                print("sql/002_reference.sql is stale: run tests/gen_reference_sql.py")
                return 1
        return 0
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
