"""Black-box test of the reference geography migrations (sql/002_reference.sql and
sql/008_geography.sql).

ReferenceTest starts a real PostgreSQL, applies sql/001_schema.sql and sql/002_reference.sql
twice with psql (the second run proves the migration is re-runnable), and checks the loaded
facts: the 763 LGD districts, Devanagari names for every district of the Hindi-speaking
states, Madhya Pradesh points inside the state, spot values, and the NREGA -> LGD crosswalk
covering every district code of the bundled MGNREGA sample. Also checks that the committed
SQL is what tests/gen_reference_sql.py generates from data/.

CrosswalkRulesTest checks the matching rules of tests/gen_geography.py (GeoNames post
offices -> LGD districts) on hand-made rows, without a database.

GeographyTest starts another PostgreSQL, applies every migration with `hisaab-etl migrate`
(build with make first), applies sql/008_geography.sql once more with psql and checks that
this changed nothing, and checks the national geography: PIN codes, district points, former
names as aliases. It also checks that sql/008 is what tests/gen_geography.py makes of the
committed CSVs (without the raw GeoNames file; with HISAAB_GEONAMES set, the CSVs too).
"""
import csv
import os
import re
import subprocess
import sys
import unittest

import harness

sys.path.insert(0, os.path.join(harness.ROOT, "tests"))
import gen_geography as geo  # noqa: E402

ROOT = harness.ROOT
DATA = os.path.join(ROOT, "data")
MP_BOX = (21.0, 26.9, 74.0, 82.9)  # lat min, lat max, lon min, lon max
# LGD state code -> number of districts in LGD Dec 2022 for the Hindi-speaking states
HINDI_STATES = {9: 75, 10: 38, 23: 52, 8: 33, 22: 33, 20: 24, 6: 22, 2: 12, 5: 13, 7: 11}
DEVANAGARI = re.compile(r"^[\u0900-\u097F]+(?:[ \-][\u0900-\u097F]+)*$")


def apply(svc, path):
    subprocess.run(["psql", svc.dsn, "-v", "ON_ERROR_STOP=1", "-q", "-f", path],
                   check=True, capture_output=True, text=True, timeout=120)


class ReferenceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services(redis=False)
        for _ in range(2):
            apply(cls.svc, os.path.join(ROOT, "sql", "001_schema.sql"))
            apply(cls.svc, os.path.join(ROOT, "sql", "002_reference.sql"))

    @classmethod
    def tearDownClass(cls):
        cls.svc.close()

    def q1(self, sql):
        return self.svc.psql1(sql)

    def test_generated_sql_is_current(self):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "gen_reference_sql.py"),
                            "--check"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_counts(self):
        self.assertEqual(self.q1("SELECT count(*) FROM ref_districts"), "763")
        self.assertEqual(self.q1("SELECT count(*) FROM ref_states"), "36")
        for state, n in HINDI_STATES.items():
            self.assertEqual(self.q1("SELECT count(*) FROM ref_districts WHERE lgd_state_code = %d"
                                     % state), str(n), "state %d" % state)

    def test_hindi_names_are_devanagari(self):
        rows = self.svc.psql("SELECT lgd_district_code, coalesce(name_hi, '') FROM ref_districts "
                             "WHERE lgd_state_code IN (%s)" % ",".join(map(str, HINDI_STATES)))
        self.assertEqual(len(rows), sum(HINDI_STATES.values()))
        bad = [r for r in rows if not DEVANAGARI.match(r[1])]
        self.assertEqual(bad, [])
        # and every state has one
        self.assertEqual(self.q1("SELECT count(*) FROM ref_states WHERE name_hi IS NULL"), "0")

    def test_mp_points_inside_state(self):
        rows = self.svc.psql("SELECT name_en, name_hi, lat, lon FROM ref_districts "
                             "WHERE lgd_state_code = 23")
        self.assertEqual(len(rows), 52)
        for name, hi, lat, lon in rows:
            self.assertTrue(hi, name)
            self.assertTrue(MP_BOX[0] <= float(lat) <= MP_BOX[1], (name, lat))
            self.assertTrue(MP_BOX[2] <= float(lon) <= MP_BOX[3], (name, lon))

    def test_mp_relative_positions(self):
        def pt(name):
            r = self.svc.psql("SELECT lat, lon FROM ref_districts WHERE lgd_state_code = 23 "
                              "AND name_en = '%s'" % name)
            self.assertEqual(len(r), 1, name)
            return float(r[0][0]), float(r[0][1])
        # north of / east of, between neighbours
        self.assertGreater(pt("Gwalior")[0], pt("Shivpuri")[0])
        self.assertGreater(pt("Morena")[0], pt("Gwalior")[0])
        self.assertGreater(pt("Niwari")[0], pt("Tikamgarh")[0])
        self.assertGreater(pt("Bhopal")[0], pt("Narmadapuram")[0])
        self.assertGreater(pt("Singrauli")[1], pt("Sidhi")[1])
        self.assertGreater(pt("Sidhi")[1], pt("Rewa")[1])
        self.assertGreater(pt("Indore")[1], pt("Dhar")[1])
        self.assertGreater(pt("Dhar")[1], pt("Jhabua")[1])
        self.assertGreater(pt("Jabalpur")[1], pt("Narsinghpur")[1])
        self.assertGreater(pt("Chhindwara")[0], pt("Seoni")[0] - 0.5)
        self.assertLess(pt("Burhanpur")[0], pt("Indore")[0])

    def test_spot_values(self):
        self.assertEqual(self.q1("SELECT name_hi FROM ref_districts WHERE lgd_district_code = 722"),
                         "निवाड़ी")
        self.assertEqual(self.q1("SELECT name_en FROM ref_districts WHERE lgd_district_code = 722"),
                         "Niwari")
        self.assertEqual(self.q1("SELECT name_hi FROM ref_districts WHERE lgd_state_code = 23 "
                                 "AND name_en = 'Chhindwara'"), "छिंदवाड़ा")
        # display case of LGD's upper-case names
        for code, name in ((632, "North and Middle Andaman"), (200, "Kaimur (Bhabua)"),
                           (379, "Janjgir-Champa"), (504, "Y.S.R."), (405, "East Nimar")):
            self.assertEqual(self.q1("SELECT name_en FROM ref_districts WHERE "
                                     "lgd_district_code = %d" % code), name)
        self.assertEqual(self.q1("SELECT name_en FROM ref_states WHERE lgd_state_code = 38"),
                         "The Dadra and Nagar Haveli and Daman and Diu")
        for name, lat, lon in (("Bhopal", 23.26, 77.41), ("Indore", 22.72, 75.86)):
            r = self.svc.psql("SELECT lat, lon FROM ref_districts WHERE lgd_state_code = 23 "
                              "AND name_en = '%s'" % name)
            self.assertEqual(len(r), 1)
            self.assertLess(abs(float(r[0][0]) - lat), 0.3, name)
            self.assertLess(abs(float(r[0][1]) - lon), 0.3, name)
        # aliases let the other spellings find the district
        for alias, name in (("nivari", "Niwari"), ("chindwara", "Chhindwara"),
                            ("hoshangabad", "Narmadapuram"), ("khandwa", "East Nimar"),
                            ("west nimar", "Khargone"), ("ashok nagar", "Ashoknagar"),
                            ("narsimhapur", "Narsinghpur"), ("agar-malwa", "Agar Malwa")):
            self.assertEqual(self.q1("SELECT name_en FROM ref_districts WHERE '%s' = ANY(aliases)"
                                     % alias), name, alias)
        for alias, name in (("gurgaon", "Gurugram"), ("allahabad", "Prayagraj"),
                            ("lakhimpur kheri", "Kheri"), ("east champaran", "Purbi Champaran")):
            self.assertEqual(self.q1("SELECT name_en FROM ref_districts WHERE '%s' = ANY(aliases)"
                                     % alias), name, alias)
        self.assertEqual(self.q1("SELECT nrega_state_code FROM ref_states WHERE lgd_state_code = 23"),
                         "17")
        self.assertEqual(self.q1("SELECT nrega_state_code FROM ref_states WHERE lgd_state_code = 9"),
                         "31")

    def test_census_2011_codes_unique(self):
        with open(os.path.join(DATA, "lgd_districts.csv"), newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 763)
        codes = [r["Census 2011 Code"] for r in rows if r["Census 2011 Code"] not in ("", "0")]
        self.assertEqual(len(codes), len(set(codes)))
        self.assertEqual(len({r["District Code"] for r in rows}), 763)

    def test_every_nrega_district_maps_to_lgd_mp(self):
        with open(os.path.join(DATA, "mgnrega_mp_2024-25.csv"), newline="", encoding="utf-8") as f:
            codes = {int(r["district_code"]) for r in csv.DictReader(f)}
        self.assertEqual(len(codes), 42)
        rows = self.svc.psql("SELECT m.nrega_district_code, d.lgd_state_code FROM "
                             "ref_nrega_district_map m JOIN ref_districts d USING (lgd_district_code)")
        mapped = {int(c): int(s) for c, s in rows}
        self.assertEqual(codes - set(mapped), set())
        self.assertEqual({mapped[c] for c in codes}, {23})
        self.assertEqual(self.q1("SELECT d.name_en FROM ref_nrega_district_map m JOIN ref_districts "
                                 "d USING (lgd_district_code) WHERE m.nrega_district_code = 1752"),
                         "Niwari")
        self.assertEqual(self.q1("SELECT d.name_en FROM ref_nrega_district_map m JOIN ref_districts "
                                 "d USING (lgd_district_code) WHERE m.nrega_district_code = 1725"),
                         "East Nimar")
        # districts absent from the sample, from the older NIC code list
        for code, name in ((1723, "Indore"), (1736, "Chhindwara"), (1705, "Shivpuri"),
                           (1748, "Ashoknagar")):
            self.assertEqual(self.q1("SELECT d.name_en FROM ref_nrega_district_map m JOIN "
                                     "ref_districts d USING (lgd_district_code) WHERE "
                                     "m.nrega_district_code = %d" % code), name)
        # NREGA codes are the state code followed by two digits
        self.assertEqual(self.q1("SELECT count(*) FROM ref_nrega_district_map WHERE "
                                 "nrega_district_code / 100 <> 17"), "0")
        # one NREGA district per LGD district
        self.assertEqual(self.q1("SELECT count(*) - count(DISTINCT lgd_district_code) FROM "
                                 "ref_nrega_district_map"), "0")

    def test_rerun_keeps_rows(self):
        apply(self.svc, os.path.join(ROOT, "sql", "002_reference.sql"))
        self.assertEqual(self.q1("SELECT count(*) FROM ref_districts"), "763")
        self.assertEqual(self.q1("SELECT count(*) FROM ref_nrega_district_map"), "51")


def lgd_index():
    """A hand-made LgdIndex: two Bilaspurs, two Aurangabads, a renamed district, Leh."""
    states = {2: "HIMACHAL PRADESH", 10: "BIHAR", 22: "CHHATTISGARH", 23: "MADHYA PRADESH",
              27: "MAHARASHTRA", 1: "JAMMU AND KASHMIR", 37: "LADAKH", 9: "UTTAR PRADESH"}
    districts = {
        15: {"state": 2, "name": "BILASPUR", "census": 30},
        375: {"state": 22, "name": "BILASPUR", "census": 406},
        189: {"state": 10, "name": "AURANGABAD", "census": 235},
        469: {"state": 27, "name": "AURANGABAD", "census": 515},
        409: {"state": 23, "name": "NARMADAPURAM", "census": 449},
        414: {"state": 23, "name": "KHARGONE", "census": 440},
        418: {"state": 23, "name": "NARSINGHPUR", "census": 452},
        9: {"state": 37, "name": "LEH LADAKH", "census": 3},
        661: {"state": 9, "name": "HAPUR", "census": None},
        144: {"state": 9, "name": "GAUTAM BUDDHA NAGAR", "census": 141},
    }
    aliases = [(409, "hoshangabad", "former_names.csv"), (414, "west nimar", "mp_centroids.csv"),
               (9, "leh", "aliases_national.csv"), (469, "chhatrapati sambhajinagar",
                                                    "former_names.csv")]
    return geo.LgdIndex(states, districts, aliases)


class CrosswalkRulesTest(unittest.TestCase):
    def setUp(self):
        self.idx = lgd_index()

    def test_name_key(self):
        k = geo.name_key
        self.assertEqual(k("Bilaspur(CGH)"), k("BILASPUR"))
        self.assertEqual(k("Bilaspur (HP)"), "bilaspur")
        self.assertEqual(k("Aurangabad(BH)"), "aurangabad")
        self.assertEqual(k("Raigarh(MH)"), "raigarh")
        self.assertEqual(k("Kaimur (Bhabua)"), k("KAIMUR (BHABUA)"))  # not a state tag
        self.assertEqual(k("Kaimur (Bhabua)"), "kaimurbhabua")
        self.assertEqual(k("Lahul & Spiti"), k("LAHUL AND SPITI"))
        self.assertEqual(k("Gandhi Nagar"), k("GANDHINAGAR"))
        self.assertEqual(k("Janjgir-champa"), k("JANJGIR-CHAMPA"))
        self.assertEqual(k("K.V.Rangareddy"), k("k v rangareddy"))
        self.assertEqual(k("The Nilgiris"), k("Nilgiris"))
        self.assertEqual(k("  Baloda  Bazar "), k("Baloda Bazar"))

    def test_census_code_match(self):
        code, method, note = geo.match_pair(self.idx, "Madhya Pradesh", "Narmadapuram", "449")
        self.assertEqual((code, method, note), (409, "census2011", ""))
        # the code decides even when GeoNames has the former name; the note says why
        code, method, note = geo.match_pair(self.idx, "Madhya Pradesh", "Hoshangabad", "449")
        self.assertEqual((code, method), (409, "census2011"))
        self.assertIn("former_names.csv", note)
        code, method, note = geo.match_pair(self.idx, "Madhya Pradesh", "Somewhere", "452")
        self.assertEqual((code, method), (418, "census2011"))
        self.assertIn("names differ", note)
        # within the state only: Bihar's code is not Maharashtra's
        self.assertEqual(geo.match_pair(self.idx, "Bihar", "Aurangabad(BH)", "235")[:2],
                         (189, "census2011"))
        self.assertEqual(geo.match_pair(self.idx, "Maharashtra", "Aurangabad", "235")[:2],
                         (469, "name"))
        # codes above 640 are not Census 2011 codes (GeoNames puts LGD codes there too)
        self.assertIsNone(geo.census_code("661"))
        self.assertIsNone(geo.census_code("8407166"))
        self.assertEqual(geo.census_code("055"), 55)
        code, method, note = geo.match_pair(self.idx, "Uttar Pradesh", "Hapur", "661")
        self.assertEqual((code, method), (661, "name"))
        self.assertIn("not a Census 2011 code", note)

    def test_state_tag_stripped(self):
        self.assertEqual(geo.match_pair(self.idx, "Chattisgarh", "Bilaspur(CGH)", "")[:2],
                         (375, "name"))
        self.assertEqual(geo.match_pair(self.idx, "Himachal Pradesh", "Bilaspur (HP)", "")[:2],
                         (15, "name"))

    def test_former_name_and_alias(self):
        self.assertEqual(geo.match_pair(self.idx, "Madhya Pradesh", "West Nimar", "")[:2],
                         (414, "alias"))
        self.assertEqual(geo.match_pair(self.idx, "Madhya Pradesh", "Hoshangabad", "")[:2],
                         (409, "alias"))
        self.assertEqual(geo.match_pair(self.idx, "Maharashtra", "Chhatrapati Sambhajinagar",
                                        "")[:2], (469, "alias"))
        # Leh is filed under Jammu & Kashmir; Ladakh was carved out of it
        self.assertEqual(geo.match_pair(self.idx, "Jammu & Kashmir", "Leh", "")[:2], (9, "alias"))

    def test_manual_row(self):
        manual = {("Madhya Pradesh", "Sainkheda"): (418, "a village of Narsinghpur"),
                  ("Madhya Pradesh", "Nowhere"): (None, "no such district")}
        self.assertEqual(geo.match_pair(self.idx, "Madhya Pradesh", "Sainkheda", "", manual),
                         (418, "manual", "a village of Narsinghpur"))
        # a manual row wins over a rule that would match
        manual[("Madhya Pradesh", "Hoshangabad")] = (414, "test")
        self.assertEqual(geo.match_pair(self.idx, "Madhya Pradesh", "Hoshangabad", "449",
                                        manual)[:2], (414, "manual"))
        self.assertEqual(geo.match_pair(self.idx, "Madhya Pradesh", "Nowhere", "", manual),
                         (None, "unmatched", "no such district"))

    def test_unmatched(self):
        code, method, note = geo.match_pair(self.idx, "Madhya Pradesh", "Sainkheda", "")
        self.assertEqual((code, method), (None, "unmatched"))
        self.assertTrue(note)
        self.assertEqual(geo.match_pair(self.idx, "Madhya Pradesh", "Sainkheda", "999")[:2],
                         (None, "unmatched"))
        self.assertEqual(geo.match_pair(self.idx, "Atlantis", "Bilaspur", "406")[:2],
                         (None, "unmatched"))

    def test_rules_move_offices(self):
        rows = [{"state": "Madhya Pradesh", "district": "Tikamgarh", "subdistrict": s,
                 "pin": pin, "lat": 25.0, "lon": 79.0}
                for s, pin in (("Niwari", "472442"), ("Prathvipur", "472336"),
                               ("Tikamgarh", "472442"), ("Tikamgarh", "472001"))]
        rules = {("Madhya Pradesh", "Tikamgarh", geo.name_key("Niwari")): (722, ""),
                 ("Madhya Pradesh", "Tikamgarh", geo.name_key("Prathvipur")): (722, "")}
        pins = {("Madhya Pradesh", "Tikamgarh", "472001"): (999, "")}
        out, used = geo.assign_offices(rows, {("Madhya Pradesh", "Tikamgarh"): 434}, rules, pins)
        self.assertEqual([c for _, c in out], [722, 722, 434, 999])
        self.assertEqual(sum(used.values()), 3)
        # an unmatched pair's offices are left out
        out, _ = geo.assign_offices(rows, {("Madhya Pradesh", "Tikamgarh"): None}, {}, {})
        self.assertEqual(out, [])

    def test_pin_shares(self):
        self.assertEqual(geo.pin_shares({434: 1, 722: 7}), [(722, 7, "0.8750"), (434, 1, "0.1250")])
        for counts in ({1: 1, 2: 1, 3: 1}, {5: 2, 6: 1}, {7: 1}, {1: 3, 2: 3, 3: 1, 4: 5}):
            shares = geo.pin_shares(counts)
            self.assertEqual(sum(int(s.replace(".", "")) for _, _, s in shares), 10000, counts)
            self.assertEqual(sorted(c for c, _, _ in shares), sorted(counts))
        self.assertEqual(geo.pin_shares({3: 1, 2: 1, 1: 1})[0], (1, 1, "0.3334"))


HINDI_STATE_CODES = ",".join(map(str, sorted(HINDI_STATES)))
BOX = geo.INDIA_BOX


def read_ref(name):
    with open(os.path.join(DATA, "reference", name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


class GeographyTest(unittest.TestCase):
    """sql/008_geography.sql applied by hisaab-etl migrate after 001..007."""

    DIGEST = ("SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT "
              "lgd_district_code, lat, lon, point_source, aliases FROM ref_districts) t",
              "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM ref_pincodes t",
              "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM (SELECT state_code, "
              "district_code, lat, lon FROM districts) t")

    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services(redis=False)
        cls.migrate = harness.etl(cls.svc, "migrate")
        cls.before = [cls.svc.psql1(q) for q in cls.DIGEST]
        cls.second = subprocess.run(["psql", cls.svc.dsn, "-v", "ON_ERROR_STOP=1", "-f",
                                     os.path.join(ROOT, "sql", "008_geography.sql")],
                                    capture_output=True, text=True, timeout=120)
        cls.after = [cls.svc.psql1(q) for q in cls.DIGEST]

    @classmethod
    def tearDownClass(cls):
        cls.svc.close()

    def q1(self, sql):
        return self.svc.psql1(sql)

    def test_generated_sql_is_current(self):
        env = dict(os.environ)
        env.pop("HISAAB_GEONAMES", None)  # the CSV -> SQL step must not need the raw file
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "gen_geography.py"),
                            "--check"], capture_output=True, text=True, timeout=120, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    @unittest.skipUnless(os.environ.get("HISAAB_GEONAMES"), "HISAAB_GEONAMES (raw file) not set")
    def test_derived_csvs_are_current(self):
        p = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "gen_geography.py"),
                            "--check"], capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_applies_after_001_to_007_and_again_without_change(self):
        self.assertIn("applied 008_geography.sql", self.migrate.stderr)
        self.assertGreaterEqual(int(self.q1("SELECT max(version) FROM schema_migrations")), 8)
        self.assertEqual(self.second.returncode, 0, self.second.stderr)
        tags = [line for line in self.second.stdout.splitlines()
                if line.startswith(("INSERT", "UPDATE"))]
        self.assertEqual(len(tags), 5, self.second.stdout)
        self.assertEqual([t for t in tags if t not in ("INSERT 0 0", "UPDATE 0")], [])
        self.assertEqual(self.before, self.after)

    def test_crosswalk_file(self):
        rows = read_ref("geonames_districts.csv")
        self.assertEqual(len(rows), 658)
        self.assertEqual(sum(int(r["offices"]) for r in rows), 155558)
        self.assertEqual({r["method"] for r in rows} - set(geo.METHODS), set())
        codes = {int(r["District Code"]) for r in csv.DictReader(
            open(os.path.join(DATA, "lgd_districts.csv"), newline="", encoding="utf-8"))}
        for r in rows:
            if r["method"] == "unmatched":
                self.assertEqual(r["lgd_district_code"], "")
                self.assertTrue(r["note"], r)
            else:
                self.assertIn(int(r["lgd_district_code"]), codes, r)
        by = {(r["gn_state"], r["gn_district"]): r for r in rows}
        self.assertEqual(by[("Madhya Pradesh", "Hoshangabad")]["lgd_district_code"], "409")
        self.assertEqual(by[("Madhya Pradesh", "West Nimar")]["lgd_district_code"], "414")
        self.assertEqual(by[("Karnataka", "Bengaluru")]["method"], "manual")
        self.assertEqual(by[("Jammu & Kashmir", "Leh")]["lgd_district_code"], "9")
        self.assertEqual(by[("Chattisgarh", "Bilaspur(CGH)")]["lgd_district_code"], "375")

    def test_pincodes(self):
        rows = read_ref("pincodes.csv")
        self.assertEqual(self.q1("SELECT count(*) FROM ref_pincodes"), str(len(rows)))
        self.assertEqual(self.q1("SELECT count(DISTINCT pincode) FROM ref_pincodes"),
                         str(len({r["pincode"] for r in rows})))
        self.assertEqual(self.q1("SELECT count(*) FROM (SELECT pincode FROM ref_pincodes GROUP BY "
                                 "pincode HAVING abs(sum(share) - 1) > 0.0001) t"), "0")
        self.assertEqual(self.q1("SELECT count(*) FROM ref_pincodes WHERE share <= 0 OR "
                                 "share > 1 OR offices < 1"), "0")
        for pin, name in ((462001, "Bhopal"), (110001, "New Delhi"), (226001, "Lucknow"),
                          (400001, "Mumbai"), (560001, "Bengaluru Urban"), (472442, "Niwari"),
                          (110032, "Shahdara"), (492001, "Raipur"), (122001, "Gurugram")):
            self.assertEqual(self.q1("SELECT d.name_en FROM ref_pincodes p JOIN ref_districts d "
                                     "USING (lgd_district_code) WHERE p.pincode = %d ORDER BY "
                                     "p.share DESC, p.lgd_district_code LIMIT 1" % pin), name, pin)

    def test_multi_district_pin_keeps_all(self):
        # Niwari's PIN: the town's own office is filed under Tikamgarh tehsil
        rows = self.svc.psql("SELECT lgd_district_code, offices, share FROM ref_pincodes "
                             "WHERE pincode = 472442 ORDER BY share DESC")
        self.assertEqual(rows, [["722", "7", "0.8750"], ["434", "1", "0.1250"]])
        # and the table is the file, PIN by PIN
        want = {(int(r["pincode"]), int(r["lgd_district_code"]), int(r["offices"]), r["share"])
                for r in read_ref("pincodes.csv")}
        got = {(int(a), int(b), int(c), d) for a, b, c, d in self.svc.psql(
            "SELECT pincode, lgd_district_code, offices, share FROM ref_pincodes")}
        self.assertEqual(got, want)
        multi = self.q1("SELECT count(*) FROM (SELECT pincode FROM ref_pincodes GROUP BY pincode "
                        "HAVING count(*) > 1) t")
        self.assertGreater(int(multi), 1000)

    def test_points(self):
        rows = read_ref("district_points.csv")
        self.assertEqual(self.q1("SELECT count(*) FROM ref_districts WHERE lat IS NOT NULL"),
                         str(len(rows)))
        self.assertEqual(self.q1("SELECT count(*) FROM ref_districts WHERE lgd_state_code IN "
                                 "(%s) AND (lat IS NULL OR lon IS NULL)" % HINDI_STATE_CODES), "0")
        self.assertEqual(self.q1("SELECT count(*) FROM ref_districts WHERE lat IS NOT NULL AND "
                                 "NOT (lat BETWEEN %s AND %s AND lon BETWEEN %s AND %s)" % BOX),
                         "0")
        self.assertEqual(self.q1("SELECT count(*) FROM ref_districts WHERE (lat IS NULL) <> "
                                 "(point_source IS NULL)"), "0")
        # Madhya Pradesh keeps the points 002 shipped
        self.assertEqual(self.q1("SELECT count(*) FROM ref_districts WHERE lgd_state_code = 23 "
                                 "AND point_source = 'shipped centroid'"), "52")
        self.assertEqual(self.q1("SELECT lat || ' ' || lon FROM ref_districts WHERE "
                                 "lgd_district_code = 396"), "23.26 77.41")
        src = self.q1("SELECT point_source FROM ref_districts WHERE lgd_district_code = 162")
        self.assertRegex(src, r"^median of \d+ post offices \(GeoNames\)$")
        self.assertTrue(self.q1("SELECT point_source FROM ref_districts WHERE "
                                "lgd_district_code = 671").startswith("manual: "))
        # spot checks: within 0.5 degree of the headquarters
        for code, lat, lon in ((162, 26.85, 80.95), (212, 25.61, 85.14), (102, 26.91, 75.79),
                               (387, 21.25, 81.63), (49, 30.32, 78.03), (525, 12.97, 77.59),
                               (9, 34.16, 77.58)):
            got = self.svc.psql("SELECT lat, lon FROM ref_districts WHERE lgd_district_code = %d"
                                % code)[0]
            self.assertLess(abs(float(got[0]) - lat), 0.5, code)
            self.assertLess(abs(float(got[1]) - lon), 0.5, code)

    def test_points_reach_nrega_districts(self):
        s = self.svc
        s.psql("INSERT INTO states (state_code, name_en, lgd_state_code) VALUES (12, 'Haryana', 6) "
               "ON CONFLICT DO NOTHING")
        s.psql("INSERT INTO districts (state_code, district_code, name_en, name_source, "
               "lgd_district_code) VALUES (12, 1201, 'Gurugram', 'GURUGRAM', 62), "
               "(12, 1299, 'Nowhere', 'NOWHERE', NULL)")
        s.psql("INSERT INTO districts (state_code, district_code, name_en, name_source, "
               "lgd_district_code, lat, lon) VALUES (12, 1202, 'Nuh', 'NUH', 604, 1.5, 2.5)")
        try:
            p = subprocess.run(["psql", s.dsn, "-v", "ON_ERROR_STOP=1", "-q", "-f",
                                os.path.join(ROOT, "sql", "008_geography.sql")],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(s.psql("SELECT d.lat = r.lat AND d.lon = r.lon FROM districts d JOIN "
                                    "ref_districts r USING (lgd_district_code) WHERE "
                                    "d.district_code = 1201"), [["t"]])
            self.assertEqual(s.psql("SELECT lat, lon FROM districts WHERE district_code = 1202"),
                             [["1.5", "2.5"]])  # a district's own point stays
            self.assertIsNone(s.psql1("SELECT lat FROM districts WHERE district_code = 1299"))
        finally:
            s.psql("DELETE FROM districts WHERE state_code = 12")
            s.psql("DELETE FROM states WHERE state_code = 12")

    def test_former_names_are_aliases(self):
        for alias, code in (("hoshangabad", 409), ("allahabad", 120), ("gurgaon", 62),
                            ("faizabad", 140), ("mewat", 604), ("west nimar", 414),
                            ("khandwa", 405), ("aurangabad", 469),
                            ("chhatrapati sambhajinagar", 469), ("dharashiv", 488),
                            ("osmanabad", 488), ("ahilyanagar", 466), ("bangalore urban", 525),
                            ("mysore", 545), ("gulbarga", 538), ("cuddapah", 504),
                            ("nellore", 515), ("north cachar hills", 299), ("nawanshahr", 40),
                            ("east sikkim", 225), ("mohali", 608), ("visakhapatnam", 520),
                            ("puducherry", 600), ("thoothukudi", 594)):
            self.assertEqual(self.q1("SELECT string_agg(lgd_district_code::text, ',') FROM "
                                     "ref_districts WHERE '%s' = ANY(aliases)" % alias),
                             str(code), alias)
        # 002's aliases are kept and none repeats
        self.assertEqual(self.q1("SELECT aliases[1] FROM ref_districts WHERE "
                                 "lgd_district_code = 62"), "gurgaon")
        self.assertEqual(self.q1("SELECT count(*) FROM ref_districts WHERE cardinality(aliases) "
                                 "<> (SELECT count(DISTINCT a) FROM unnest(aliases) a)"), "0")
        # every name is lower case, so the loader's normalised match finds it
        self.assertEqual(self.q1("SELECT count(*) FROM ref_districts, unnest(aliases) a "
                                 "WHERE a <> lower(a)"), "0")
        # the former_names file says which name LGD has
        for r in read_ref("former_names.csv"):
            self.assertIn(r["lgd_has"], ("new", "old"), r)
            if r["lgd_has"] == "old":
                self.assertTrue(r["new_name"], r)


if __name__ == "__main__":
    unittest.main()
