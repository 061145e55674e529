#!/usr/bin/env python3
"""National reference geography: GeoNames post offices -> LGD districts -> sql/008_geography.sql.

Two steps, so that the second can be checked without the raw file:

1. raw -> CSV (needs the GeoNames postal code file for India, `IN.zip`'s IN.txt from
   https://download.geonames.org/export/zip/, plain or gzipped; see data/README.md):
   reads it with the project's CSVs and the hand-written rules and writes the derived files

     data/reference/geonames_districts.csv   one row per GeoNames (state, district) pair:
                                             the LGD district it is, and by which rule
     data/reference/pincodes.csv             PIN code -> LGD district(s), share of offices
     data/reference/district_points.csv      one point per LGD district

   Hand-written inputs of this step (reviewed; each row says why):
     data/reference/geonames_manual.csv        pairs no rule can match (or that a rule gets
                                               wrong): the LGD district, or none, and why
     data/reference/geonames_subdistricts.csv  post offices moved, by GeoNames sub-district
                                               (tehsil), to districts carved out later
     data/reference/geonames_pins.csv          the same by PIN code, where GeoNames has no
                                               usable sub-district (Delhi)
     data/reference/district_points_manual.csv a point for a district without post offices
   and, for the name rules, the aliases of 002 (mp_centroids.csv, district_aliases.csv) and
   of this migration (former_names.csv, aliases_national.csv).

2. CSV -> SQL: writes sql/008_geography.sql from pincodes.csv, district_points.csv,
   former_names.csv and aliases_national.csv. Deterministic; every statement an upsert or
   a guarded update, so applying it twice changes nothing the second time.

    tests/gen_geography.py --geonames FILE      both steps (or env HISAAB_GEONAMES=FILE)
    tests/gen_geography.py                      step 2 only
    tests/gen_geography.py --check              exits 1 if sql/008 is stale against the
                                                CSVs; with --geonames also checks the
                                                derived CSVs against the raw file
    tests/gen_geography.py --report --geonames FILE   step 1's review lists, nothing written

Python 3 standard library only. The matching functions (name_key, LgdIndex, match_pair,
assign_offices, pin_shares) are importable for tests.
"""
import csv
import gzip
import io
import os
import re
import statistics
import sys
from collections import Counter, defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_reference_sql as ref  # noqa: E402  (paths and the SQL literal helpers of 002)

ROOT = ref.ROOT
DATA = ref.DATA
REF = ref.REF
OUT_SQL = os.path.join(ROOT, "sql", "008_geography.sql")

CROSSWALK = os.path.join(REF, "geonames_districts.csv")
PINCODES = os.path.join(REF, "pincodes.csv")
POINTS = os.path.join(REF, "district_points.csv")
MANUAL = os.path.join(REF, "geonames_manual.csv")
SUBDISTRICTS = os.path.join(REF, "geonames_subdistricts.csv")
PIN_RULES = os.path.join(REF, "geonames_pins.csv")
POINTS_MANUAL = os.path.join(REF, "district_points_manual.csv")
FORMER = os.path.join(REF, "former_names.csv")
ALIASES_NATIONAL = os.path.join(REF, "aliases_national.csv")

METHODS = ("census2011", "name", "alias", "manual", "unmatched")
# India's bounding box, generously: lat min, lat max, lon min, lon max.
INDIA_BOX = (6.0, 37.5, 68.0, 97.5)
# Census 2011 district codes run from 001 to 640; GeoNames gives some districts created
# later their LGD code (Hapur 661, Alipurduar 664) or an internal number (Fazilka 8407166)
# in the same column, so a larger number is not a census code.
CENSUS2011_MAX = 640

# GeoNames state names that are not LGD's, after name_key: LGD state code. (The others
# agree once '&' reads 'and' and LGD's leading 'The' is dropped.)
GN_STATES = {
    "chattisgarh": 22,
    "pondicherry": 34,
}
# States carved out of a state after GeoNames' district data: GeoNames still files some of
# their post offices under the parent (Leh and Kargil under Jammu & Kashmir; Peddapalli
# under Andhra Pradesh), so a parent's pairs may match a district of the successor.
SUCCESSORS = {
    1: (37,),   # Jammu and Kashmir -> Ladakh (union territory since 31 Oct 2019)
    28: (36,),  # Andhra Pradesh -> Telangana (since 2 Jun 2014)
}

CROSSWALK_FIELDS = ["gn_state", "gn_district", "gn_census2011", "offices", "lgd_district_code",
                    "method", "note"]
PIN_FIELDS = ["pincode", "lgd_district_code", "offices", "share"]
POINT_FIELDS = ["lgd_district_code", "lat", "lon", "offices", "source"]


# ---------------------------------------------------------------------------------------
# Names

STATE_TAG = re.compile(r"\s*\(\s*[A-Z]{2,3}\s*\)\s*$")


def strip_state_tag(name):
    """GeoNames tells apart districts of the same name by a state tag in capitals:
    'Bilaspur(CGH)', 'Bilaspur (HP)', 'Aurangabad(BH)', 'Raigarh(MH)' -> the bare name.
    A parenthesised word that is part of a name ('Kaimur (Bhabua)') is kept."""
    return STATE_TAG.sub("", name)


def name_key(name):
    """The comparison form of a district or state name: the state tag dropped, '&' read as
    'and', a leading 'The' dropped, then only lower-case letters and digits, so that
    spacing, hyphens and dots do not matter ('Gandhi Nagar' = 'GANDHINAGAR',
    'Janjgir-champa' = 'JANJGIR-CHAMPA', 'Lahul & Spiti' = 'LAHUL AND SPITI')."""
    s = strip_state_tag(" ".join(name.split())).lower().replace("&", " and ")
    s = re.sub(r"^the\s+", "", s)
    return re.sub(r"[^a-z0-9]+", "", s)


def split_aliases(field):
    """'a;b; c' -> ['a', 'b', 'c'] (lower case is checked where the file is read)."""
    return [" ".join(a.split()) for a in field.split(";") if a.strip()]


# ---------------------------------------------------------------------------------------
# Inputs

def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def read_geonames(path):
    """The GeoNames postal file (tab-separated, no header; plain or gzipped) as a list of
    dicts. Rows repeated exactly are kept once: they are the same post office."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    seen = set()
    rows = []
    for n, line in enumerate(lines, 1):
        if not line:
            continue
        if line in seen:
            continue
        seen.add(line)
        c = line.split("\t")
        if len(c) != 12 or c[0] != "IN":
            raise SystemExit("%s:%d: not a GeoNames postal row" % (path, n))
        rows.append({"pin": c[1], "place": c[2], "state": c[3], "district": c[5],
                     "code": c[6], "subdistrict": c[7], "lat": float(c[9]),
                     "lon": float(c[10])})
    return rows


class LgdIndex:
    """LGD states and districts with every name a rule may match them by.

    districts: {code: {"state", "name", "census"}}; states: {code: name};
    aliases: [(lgd_district_code, alias, origin)] where origin names the file."""

    def __init__(self, states, districts, aliases=()):
        self.states = states
        self.districts = districts
        self.state_by_key = {name_key(n): c for c, n in states.items()}
        self.state_by_key.update(GN_STATES)
        self.by_census = defaultdict(list)
        self.by_name = defaultdict(list)
        self.by_alias = defaultdict(set)
        self.alias_origin = {}
        for code, d in districts.items():
            if d["census"]:
                self.by_census[int(d["census"])].append(code)
            self.by_name[(d["state"], name_key(d["name"]))].append(code)
        for code, alias, origin in aliases:
            d = districts[code]
            k = (d["state"], name_key(alias))
            self.by_alias[k].add(code)
            self.alias_origin.setdefault((code, k[1]), origin)

    def gn_states(self, gn_state):
        """LGD state codes a GeoNames state's districts may lie in (itself, then the states
        carved out of it); () if the state is unknown."""
        code = self.state_by_key.get(name_key(gn_state))
        if code is None:
            return ()
        return (code,) + SUCCESSORS.get(code, ())

    def names_agree(self, code, gn_district):
        """'same', 'alias:<origin>' or None: how a GeoNames name relates to LGD's."""
        d = self.districts[code]
        k = name_key(gn_district)
        if k == name_key(d["name"]):
            return "same"
        if (code, k) in self.alias_origin:
            return "alias:" + self.alias_origin[(code, k)]
        return None


def load_lgd(with_aliases=True):
    """LgdIndex from data/lgd_*.csv and, with_aliases, every alias file."""
    states = {int(r["State Code"]): r["State Name"]
              for r in read_csv(os.path.join(DATA, "lgd_states.csv"))}
    districts = {}
    for r in read_csv(os.path.join(DATA, "lgd_districts.csv")):
        census = r["Census 2011 Code"].strip()
        districts[int(r["District Code"])] = {
            "state": int(r["State Code"]), "name": r["District Name"],
            "census": int(census) if census not in ("", "0") else None}
    aliases = []
    if with_aliases:
        for r in read_csv(os.path.join(REF, "mp_centroids.csv")):
            if r["lgd_district_code"]:
                aliases += [(int(r["lgd_district_code"]), a, "mp_centroids.csv")
                            for a in split_aliases(r["aliases"])]
        for r in read_csv(os.path.join(REF, "district_aliases.csv")):
            aliases += [(int(r["lgd_district_code"]), a, "district_aliases.csv")
                        for a in split_aliases(r["aliases"])]
        for code, names, origin in new_aliases(districts):
            aliases += [(code, a, origin) for a in names]
    return LgdIndex(states, districts, aliases)


def new_aliases(districts):
    """The aliases migration 008 adds, per district, in file order and without repeats:
    [(lgd_district_code, [alias, ...], origin)] from former_names.csv (the former name and,
    where LGD still has the old name, the new one) and aliases_national.csv."""
    out = []
    for r in read_csv(FORMER):
        code = int(r["lgd_district_code"])
        check_district(districts, code, r["name_en"], FORMER)
        if r["lgd_has"] not in ("new", "old"):
            raise SystemExit("%s: lgd_has must be new or old: %r" % (FORMER, r))
        names = [r["former_name"]] + ([r["new_name"]] if r["new_name"] else [])
        if r["lgd_has"] == "old" and not r["new_name"]:
            raise SystemExit("%s: LGD has the old name of %s but no new_name" % (FORMER, code))
        out.append((code, [lower_checked(n, FORMER) for n in names], "former_names.csv"))
    for r in read_csv(ALIASES_NATIONAL):
        code = int(r["lgd_district_code"])
        check_district(districts, code, r["name_en"], ALIASES_NATIONAL)
        out.append((code, [lower_checked(a, ALIASES_NATIONAL) for a in split_aliases(r["aliases"])],
                    "aliases_national.csv"))
    return out


def lower_checked(name, path):
    name = " ".join(name.split())
    if not name or name != name.lower():
        raise SystemExit("%s: alias not lower case: %r" % (path, name))
    return name


def check_district(districts, code, name_en, path):
    if code not in districts:
        raise SystemExit("%s: unknown LGD district %d" % (path, code))
    if name_en and name_key(name_en) != name_key(districts[code]["name"]):
        raise SystemExit("%s: district %d is %r in LGD, not %r"
                         % (path, code, districts[code]["name"], name_en))


def load_manual(path=MANUAL):
    """{(gn_state, gn_district): (lgd code or None, note)} from geonames_manual.csv."""
    out = {}
    for r in read_csv(path):
        key = (r["gn_state"], r["gn_district"])
        if key in out:
            raise SystemExit("%s: %s/%s twice" % (path, key[0], key[1]))
        if not r["note"].strip():
            raise SystemExit("%s: %s/%s has no note" % (path, key[0], key[1]))
        code = int(r["lgd_district_code"]) if r["lgd_district_code"] else None
        out[key] = (code, r["note"].strip())
    return out


def load_subdistrict_rules(path=SUBDISTRICTS):
    """{(gn_state, gn_district, name_key(gn_subdistrict)): (lgd code, note)}."""
    out = {}
    for r in read_csv(path):
        key = (r["gn_state"], r["gn_district"], name_key(r["gn_subdistrict"]))
        if key in out:
            raise SystemExit("%s: %s twice" % (path, "/".join(r[k] for k in
                             ("gn_state", "gn_district", "gn_subdistrict"))))
        out[key] = (int(r["lgd_district_code"]), r["note"])
    return out


def load_pin_rules(path=PIN_RULES):
    """{(gn_state, gn_district, pincode): (lgd code, note)}."""
    out = {}
    for r in read_csv(path):
        key = (r["gn_state"], r["gn_district"], r["pincode"])
        if key in out:
            raise SystemExit("%s: %s twice" % (path, "/".join(key)))
        out[key] = (int(r["lgd_district_code"]), r["note"])
    return out


# ---------------------------------------------------------------------------------------
# Matching a GeoNames (state, district) pair to an LGD district

def census_code(s):
    """GeoNames' district code as a Census 2011 code, or None when it cannot be one."""
    s = s.strip()
    if not s.isdigit():
        return None
    n = int(s)
    return n if 1 <= n <= CENSUS2011_MAX else None


def match_pair(index, gn_state, gn_district, gn_code, manual=None):
    """(lgd_district_code or None, method, note) for one GeoNames pair. Rules in order:

    manual      a row of geonames_manual.csv (an empty code there means: left unmatched)
    census2011  GeoNames' district code is the Census 2011 code of exactly one LGD district
                of the state (or of a state carved out of it)
    name        the names agree after name_key (state tags such as '(CGH)' dropped)
    alias       the GeoNames name is an alias or former name of exactly one such district
    unmatched   none of these
    """
    manual = manual or {}
    states = index.gn_states(gn_state)
    if (gn_state, gn_district) in manual:
        code, note = manual[(gn_state, gn_district)]
        if code is None:
            return None, "unmatched", note
        if code not in index.districts:
            raise SystemExit("manual row %s/%s: unknown LGD district %d"
                             % (gn_state, gn_district, code))
        if index.districts[code]["state"] not in states:
            raise SystemExit("manual row %s/%s: LGD %d is not in that state"
                             % (gn_state, gn_district, code))
        return code, "manual", note
    if not states:
        return None, "unmatched", "GeoNames state %r is not an LGD state" % gn_state
    c = census_code(gn_code)
    if c is not None:
        hits = [d for d in index.by_census.get(c, ()) if index.districts[d]["state"] in states]
        if len(hits) == 1:
            code = hits[0]
            agree = index.names_agree(code, gn_district)
            if agree == "same":
                note = ""
            elif agree:
                note = "name is an alias (%s)" % agree.split(":", 1)[1]
            else:
                note = "names differ: LGD %r" % index.districts[code]["name"]
            return code, "census2011", note
    k = name_key(gn_district)
    hits = [d for s in states for d in index.by_name.get((s, k), ())]
    if len(hits) == 1:
        return hits[0], "name", census_note(gn_code, c)
    if len(hits) > 1:
        return None, "unmatched", "name fits %d LGD districts" % len(hits)
    hits = sorted({d for s in states for d in index.by_alias.get((s, k), ())})
    if len(hits) == 1:
        origin = index.alias_origin[(hits[0], k)]
        note = "alias in %s" % origin
        extra = census_note(gn_code, c)
        return hits[0], "alias", note + ("; " + extra if extra else "")
    if len(hits) > 1:
        return None, "unmatched", "alias fits %d LGD districts" % len(hits)
    if c is not None:
        return None, "unmatched", ("no LGD district of the state has Census 2011 code %d or "
                                   "this name" % c)
    return None, "unmatched", "no Census 2011 code and no LGD district of this name"


def census_note(gn_code, c):
    if not gn_code.strip():
        return "no district code in GeoNames"
    if c is None:
        return "GeoNames code %s is not a Census 2011 code" % gn_code.strip()
    return "Census 2011 code %d not in LGD for the state" % c


def crosswalk(index, offices, manual, pairs_codes):
    """Rows of geonames_districts.csv. offices: Counter of (state, district); pairs_codes:
    {(state, district): set of GeoNames codes}."""
    used = set()
    rows = []
    for (st, dist) in sorted(offices):
        codes = sorted(pairs_codes[(st, dist)])
        if len(codes) != 1:
            raise SystemExit("GeoNames pair %s/%s has several codes %r" % (st, dist, codes))
        code, method, note = match_pair(index, st, dist, codes[0], manual)
        if (st, dist) in manual:
            used.add((st, dist))
        rows.append({"gn_state": st, "gn_district": dist, "gn_census2011": codes[0],
                     "offices": offices[(st, dist)],
                     "lgd_district_code": "" if code is None else code,
                     "method": method, "note": note})
    stale = set(manual) - used
    if stale:
        raise SystemExit("geonames_manual.csv rows for pairs GeoNames lacks: %r" % sorted(stale))
    return rows


# ---------------------------------------------------------------------------------------
# Post offices -> districts, PIN codes, points

def assign_offices(rows, pair_code, rules, pin_rules=None, index=None):
    """[(row, lgd_code)] for every post office of a matched pair or covered by a rule, and
    a Counter of the rule keys used. pair_code: {(state, district): lgd code or None};
    rules: sub-district rules; pin_rules: PIN rules, which come first."""
    pin_rules = pin_rules or {}
    out = []
    used = Counter()
    for r in rows:
        pkey = (r["state"], r["district"], r["pin"])
        key = (r["state"], r["district"], name_key(r["subdistrict"]))
        if pkey in pin_rules:
            code = pin_rules[pkey][0]
            used[pkey] += 1
        elif key in rules:
            code = rules[key][0]
            used[key] += 1
        else:
            code = pair_code.get((r["state"], r["district"]))
        if code is not None:
            out.append((r, code))
    if index is not None:
        for key, (code, _) in list(rules.items()) + list(pin_rules.items()):
            if code not in index.districts:
                raise SystemExit("rule %r: unknown LGD district %d" % (key, code))
    return out, used


def pin_shares(counts):
    """counts: {lgd code: offices} of one PIN -> [(code, offices, share as 'd.dddd')],
    share descending then code; shares are rounded by largest remainder so that they add
    up to exactly 1.0000."""
    total = sum(counts.values())
    exact = {c: n * 10000 / total for c, n in counts.items()}
    units = {c: int(v) for c, v in exact.items()}
    left = 10000 - sum(units.values())
    for c in sorted(exact, key=lambda c: (-(exact[c] - units[c]), -counts[c], c))[:left]:
        units[c] += 1
    out = [(c, counts[c], units[c]) for c in counts]
    out.sort(key=lambda t: (-t[2], -t[1], t[0]))
    return [(c, n, "%d.%04d" % divmod(u, 10000)) for c, n, u in out]


def pincode_rows(assigned):
    per_pin = defaultdict(Counter)
    for r, code in assigned:
        pin = r["pin"]
        if not (len(pin) == 6 and pin.isdigit() and pin[0] != "0"):
            raise SystemExit("not a PIN code: %r" % pin)
        per_pin[int(pin)][code] += 1
    rows = []
    for pin in sorted(per_pin):
        for code, n, share in pin_shares(per_pin[pin]):
            rows.append({"pincode": pin, "lgd_district_code": code, "offices": n, "share": share})
    return rows


def fmt2(x):
    """Two decimals, halves rounded away from zero (not to even), so the file does not
    depend on float formatting."""
    from decimal import ROUND_HALF_UP, Decimal
    return str(Decimal(repr(x)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def point_rows(index, assigned):
    """district_points.csv rows and {code: [(lat, lon)] used}. In order of preference:

    1. the centroid migration 002 shipped (mp_centroids.csv);
    2. a row of district_points_manual.csv: a headquarters town for a district whose post
       offices GeoNames gives no coordinates of their own (see below) or has none of;
    3. the median latitude and median longitude of the district's post offices, leaving
       out every coordinate the district does not own. GeoNames places many offices at
       an estimated point shared by a whole (former) district, so the offices a
       sub-district rule moves to a newer district keep the parent's point. A coordinate
       found in several districts belongs to the one with most offices there (to none on
       a tie); districts with a point from 1 or 2 do not compete for it. A district that
       owns none of its coordinates gets the median of them all, so labelled.
    """
    shipped = {int(r["lgd_district_code"]): (r["lat"], r["lon"])
               for r in read_csv(os.path.join(REF, "mp_centroids.csv")) if r["lgd_district_code"]}
    manual = {}
    for r in read_csv(POINTS_MANUAL):
        code = int(r["lgd_district_code"])
        check_district(index.districts, code, r["name_en"], POINTS_MANUAL)
        if code in shipped or code in manual:
            raise SystemExit("%s: district %d has a point already" % (POINTS_MANUAL, code))
        manual[code] = r
    offices = Counter(code for _, code in assigned)
    at = defaultdict(Counter)  # coordinate -> {district: offices there}
    for r, code in assigned:
        lat, lon = r["lat"], r["lon"]
        if code in shipped or code in manual:
            continue
        if INDIA_BOX[0] <= lat <= INDIA_BOX[1] and INDIA_BOX[2] <= lon <= INDIA_BOX[3]:
            at[(lat, lon)][code] += 1
    pts = defaultdict(list)
    shared = defaultdict(list)
    for xy, counts in at.items():
        for code, n in counts.items():
            shared[code] += [xy] * n
        ranked = counts.most_common(2)
        if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
            continue
        pts[ranked[0][0]] += [xy] * ranked[0][1]
    rows = []
    for code in sorted(index.districts):
        n = len(pts.get(code, ()))
        if code in shipped:
            lat, lon = shipped[code]
            rows.append({"lgd_district_code": code, "lat": lat, "lon": lon,
                         "offices": offices[code], "source": "shipped centroid"})
        elif code in manual:
            m = manual[code]
            rows.append({"lgd_district_code": code, "lat": m["lat"], "lon": m["lon"],
                         "offices": offices[code], "source": "manual: " + m["source"]})
        elif n:
            lat = fmt2(statistics.median(p[0] for p in pts[code]))
            lon = fmt2(statistics.median(p[1] for p in pts[code]))
            rows.append({"lgd_district_code": code, "lat": lat, "lon": lon,
                         "offices": offices[code],
                         "source": "median of %d post offices (GeoNames)" % n})
        elif shared.get(code):
            # Only coordinates other districts own: still a point in the right area.
            lat = fmt2(statistics.median(p[0] for p in shared[code]))
            lon = fmt2(statistics.median(p[1] for p in shared[code]))
            rows.append({"lgd_district_code": code, "lat": lat, "lon": lon,
                         "offices": offices[code],
                         "source": "median of %d post offices (GeoNames; coordinates shared "
                                   "with other districts)" % len(shared[code])})
    return rows, pts


def derive(path, index=None):
    """Step 1 in memory: (crosswalk rows, pincode rows, point rows, stats)."""
    index = index or load_lgd()
    rows = read_geonames(path)
    offices = Counter((r["state"], r["district"]) for r in rows)
    codes = defaultdict(set)
    for r in rows:
        codes[(r["state"], r["district"])].add(r["code"])
    manual = load_manual()
    cw = crosswalk(index, offices, manual, codes)
    pair_code = {(c["gn_state"], c["gn_district"]): (c["lgd_district_code"] or None) for c in cw}
    rules = load_subdistrict_rules()
    pin_rules = load_pin_rules()
    assigned, used = assign_offices(rows, pair_code, rules, pin_rules, index)
    stale = [k for k in list(rules) + list(pin_rules) if not used[k]]
    if stale:
        raise SystemExit("rules matching no post office: %r" % stale)
    moved = Counter()
    for k, n in used.items():
        moved[(k[0], k[1], (pin_rules.get(k) or rules[k])[0])] += n
    for c in cw:
        parts = ["%d to LGD %d" % (n, code) for (s, d, code), n in sorted(moved.items())
                 if (s, d) == (c["gn_state"], c["gn_district"]) and code != c["lgd_district_code"]]
        if parts:
            extra = "rules move " + ", ".join(parts)
            c["note"] = c["note"] + "; " + extra if c["note"] else extra
    pins = pincode_rows(assigned)
    points, _ = point_rows(index, assigned)
    all_pins = {r["pin"] for r in rows}
    kept_pins = {str(r["pincode"]) for r in pins}
    stats = {"rows": len(rows), "assigned": len(assigned), "pins_all": len(all_pins),
             "pins": len(kept_pins), "pins_dropped": len(all_pins - kept_pins),
             "moved": sum(used.values()), "rules": rules, "used": used}
    return cw, pins, points, stats


# ---------------------------------------------------------------------------------------
# Writing and checking CSVs

def csv_text(fields, rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()


def write_or_check(path, text, check):
    """Returns True when the file is (or now is) current."""
    if check:
        try:
            with open(path, encoding="utf-8", newline="") as f:
                return f.read() == text
        except FileNotFoundError:
            return False
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return True


# ---------------------------------------------------------------------------------------
# Step 2: CSV -> SQL

def render_sql(index=None):
    """sql/008_geography.sql from the committed CSVs (no raw file needed)."""
    index = index or load_lgd(with_aliases=False)
    q = ref.q
    out = []
    w = out.append
    w("-- Hisaab migration 008: national reference geography. PIN codes -> LGD districts")
    w("-- (ref_pincodes), a point for every LGD district that has post offices, and former and")
    w("-- other names of districts as aliases.")
    w("-- GENERATED by tests/gen_geography.py from data/reference/pincodes.csv,")
    w("-- district_points.csv, former_names.csv and aliases_national.csv; do not edit by hand.")
    w("-- Post office data: GeoNames (geonames.org), CC BY 4.0; provenance in data/README.md.")
    w("-- Safe to re-run: upserts and updates guarded so that a second run changes nothing.")
    w("")
    w("CREATE TABLE IF NOT EXISTS ref_pincodes (")
    w("    pincode           integer NOT NULL CHECK (pincode BETWEEN 100000 AND 999999),")
    w("    lgd_district_code integer NOT NULL REFERENCES ref_districts,")
    w("    offices           integer NOT NULL,       -- GeoNames post offices of the PIN there")
    w("    share             numeric(5,4) NOT NULL,  -- of the PIN's offices; a PIN's add up to 1")
    w("    PRIMARY KEY (pincode, lgd_district_code)")
    w(");")
    w("")
    w("ALTER TABLE ref_districts ADD COLUMN IF NOT EXISTS point_source text;")
    w("")
    pins = read_csv(PINCODES)
    seen = set()
    rows = []
    for r in pins:
        pin, code = int(r["pincode"]), int(r["lgd_district_code"])
        if not 100000 <= pin <= 999999 or code not in index.districts or (pin, code) in seen:
            raise SystemExit("pincodes.csv: bad row %r" % r)
        seen.add((pin, code))
        float(r["share"])
        rows.append("    (%d, %d, %d, %s)" % (pin, code, int(r["offices"]), r["share"]))
    w("INSERT INTO ref_pincodes (pincode, lgd_district_code, offices, share) VALUES")
    w(",\n".join(rows))
    w("ON CONFLICT (pincode, lgd_district_code) DO UPDATE SET offices = EXCLUDED.offices,")
    w("    share = EXCLUDED.share")
    w("WHERE (ref_pincodes.offices, ref_pincodes.share) IS DISTINCT FROM")
    w("    (EXCLUDED.offices, EXCLUDED.share);")
    w("")
    w("-- Points: the centroids migration 002 shipped stay; the other districts get theirs.")
    w("UPDATE ref_districts SET point_source = 'shipped centroid'")
    w("WHERE lat IS NOT NULL AND point_source IS NULL;")
    w("")
    rows = []
    for r in read_csv(POINTS):
        code = int(r["lgd_district_code"])
        if code not in index.districts:
            raise SystemExit("district_points.csv: unknown district %d" % code)
        lat, lon = float(r["lat"]), float(r["lon"])
        if not (INDIA_BOX[0] <= lat <= INDIA_BOX[1] and INDIA_BOX[2] <= lon <= INDIA_BOX[3]):
            raise SystemExit("district_points.csv: %d outside India" % code)
        rows.append("    (%d, %s, %s, %s)" % (code, ref.num(r["lat"]), ref.num(r["lon"]),
                                             q(r["source"])))
    w("UPDATE ref_districts d SET lat = v.lat, lon = v.lon, point_source = v.source")
    w("FROM (VALUES")
    w(",\n".join(rows))
    w(") AS v (lgd_district_code, lat, lon, source)")
    w("WHERE d.lgd_district_code = v.lgd_district_code AND d.lat IS NULL;")
    w("")
    w("-- The API's nearby search reads districts (the NREGA-keyed table): fill in its points.")
    w("UPDATE districts d SET lat = r.lat, lon = r.lon")
    w("FROM ref_districts r")
    w("WHERE r.lgd_district_code = d.lgd_district_code AND d.lat IS NULL AND r.lat IS NOT NULL;")
    w("")
    per = {}
    for code, names, _origin in new_aliases(index.districts):
        lst = per.setdefault(code, [])
        for a in names:
            if a not in lst:
                lst.append(a)
    rows = ["    (%d, %s)" % (code, ref.text_array(per[code])) for code in sorted(per)]
    w("-- Former names (Hoshangabad, Allahabad, Gurgaon, ...), new names where LGD Dec 2022")
    w("-- still has the old one (Aurangabad -> Chhatrapati Sambhajinagar) and other spellings,")
    w("-- appended to ref_districts.aliases in this order, each once.")
    w("UPDATE ref_districts d SET aliases = d.aliases || ARRAY(")
    w("    SELECT a FROM unnest(v.add) WITH ORDINALITY AS t (a, i)")
    w("    WHERE a <> ALL (d.aliases) ORDER BY i)")
    w("FROM (VALUES")
    w(",\n".join(rows))
    w(") AS v (lgd_district_code, add)")
    w("WHERE d.lgd_district_code = v.lgd_district_code AND NOT (v.add <@ d.aliases);")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------

def report(cw, pins, points, stats, index):
    """Review lists on stdout: counts, unmatched pairs, manual rows and census matches whose
    names differ, rules that move offices into another state, districts without a point."""
    by_method = Counter(r["method"] for r in cw)
    print("pairs: %d; %s" % (len(cw), ", ".join("%s %d" % (m, by_method[m]) for m in METHODS)))
    left = [r for r in cw if r["method"] == "unmatched"]
    print("unmatched pairs: %d, post offices left out: %d (of %d)"
          % (len(left), stats["rows"] - stats["assigned"], stats["rows"]))
    for r in left:
        print("  unmatched %s/%s (%s) %d: %s" % (r["gn_state"], r["gn_district"],
                                              r["gn_census2011"], r["offices"], r["note"]))
    for r in cw:
        if r["note"].startswith("names differ") or r["method"] in ("manual",):
            print("  review %s %s/%s -> %s: %s" % (r["method"], r["gn_state"], r["gn_district"],
                                                r["lgd_district_code"], r["note"]))
    for key, (code, note) in sorted(stats["rules"].items()):
        if index.districts[code]["state"] not in index.gn_states(key[0]):
            print("  review cross-state rule %s -> %d: %s" % ("/".join(key), code, note))
    multi = Counter(r["pincode"] for r in pins)
    print("PINs: %d (%d with more than one district); PINs dropped entirely: %d"
          % (stats["pins"], sum(1 for n in multi.values() if n > 1), stats["pins_dropped"]))
    print("post offices moved by rules: %d (sub-district %d, PIN %d)"
          % (stats["moved"], sum(n for k, n in stats["used"].items() if k in stats["rules"]),
             sum(n for k, n in stats["used"].items() if k not in stats["rules"])))
    have = {int(r["lgd_district_code"]) for r in points}
    src = Counter(r["source"].split(" ")[0] for r in points)
    print("LGD districts with a point: %d (%s); without: %d"
          % (len(have), dict(src), len(index.districts) - len(have)))
    for code in sorted(set(index.districts) - have):
        d = index.districts[code]
        print("  no point: %d %s (%s)" % (code, d["name"], index.states[d["state"]]))


def main(argv):
    check = "--check" in argv
    raw = None
    if "--geonames" in argv:
        i = argv.index("--geonames")
        if i + 1 >= len(argv):
            raise SystemExit("--geonames needs a file")
        raw = argv[i + 1]
    elif os.environ.get("HISAAB_GEONAMES"):
        raw = os.environ["HISAAB_GEONAMES"]
    ok = True
    if raw:
        index = load_lgd()
        cw, pins, points, stats = derive(raw, index)
        if "--report" in argv:
            report(cw, pins, points, stats, index)
            return 0
        for path, fields, rows in ((CROSSWALK, CROSSWALK_FIELDS, cw), (PINCODES, PIN_FIELDS, pins),
                                   (POINTS, POINT_FIELDS, points)):
            if not write_or_check(path, csv_text(fields, rows), check):
                print("%s is stale: run tests/gen_geography.py --geonames FILE"
                      % os.path.relpath(path, ROOT))
                ok = False
    elif "--report" in argv:
        raise SystemExit("--report needs --geonames FILE or HISAAB_GEONAMES")
    if not write_or_check(OUT_SQL, render_sql(), check):
        print("sql/008_geography.sql is stale: run tests/gen_geography.py")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
