"""Black-box test of the reference geography migration (sql/002_reference.sql).

Starts a real PostgreSQL, applies sql/001_schema.sql and sql/002_reference.sql twice with
psql (the second run proves the migration is re-runnable), and checks the loaded facts: the
763 LGD districts, Devanagari names for every district of the Hindi-speaking states, Madhya
Pradesh points inside the state, spot values, and the NREGA -> LGD crosswalk covering every
district code of the bundled MGNREGA sample. Also checks that the committed SQL is what
tests/gen_reference_sql.py generates from data/.
"""
import csv
import os
import re
import subprocess
import sys
import unittest

import harness

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


if __name__ == "__main__":
    unittest.main()
