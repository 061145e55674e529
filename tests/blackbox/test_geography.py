"""End to end: every district of India findable (the national reference geography of
sql/008_geography.sql, in the worker's directory): PIN codes through the API and by SMS,
nearby outside Madhya Pradesh with an honest answer when the nearest district has no
figures, former names in English and Devanagari, and PIN codes never stored or logged in
the clear. Real Postgres and Redis with the sample (Madhya Pradesh) loaded.

Expected values come from data/reference/ (the derived PIN table) and the sample, read
here independently of the server.
"""
import csv
import json
import os
import re
import time
import unittest
import urllib.parse

import harness

SAMPLE = os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv")
REF = os.path.join(harness.ROOT, "data", "reference")
SECRET = "geography-test-secret"


def pin_table():
    """{pin: [(lgd_district_code, share), ...]} from data/reference/pincodes.csv."""
    pins = {}
    with open(os.path.join(REF, "pincodes.csv"), newline="") as f:
        for r in csv.DictReader(f):
            pins.setdefault(int(r["pincode"]), []).append(
                (int(r["lgd_district_code"]), float(r["share"])))
    return pins



def wait_for(fn, timeout=20.0):
    return harness.wait_for(fn, timeout)


class GeographyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", SAMPLE, "--format", "csv")
        cls.srv = harness.HisaabServer(cls.svc, env={"HISAAB_SECRET": SECRET})
        # Many requests from one address: no per-IP limit here.
        with open(cls.srv.conf) as f:
            conf = re.sub(r"(?m)^(\s*rate_limit_ip\s+)\d+", r"\g<1>0", f.read())
        with open(cls.srv.conf, "w") as f:
            f.write(conf)
        cls.srv.start()
        assert wait_for(lambda: cls.srv.stderr().count("districts indexed") >= 2, 15)
        cls.pins = pin_table()
        cls.lgd_of = {int(c): int(l) for c, l in cls.svc.psql(
            "SELECT district_code, lgd_district_code FROM districts"
            " WHERE lgd_district_code IS NOT NULL")}

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.svc.close()

    def get(self, path, status=200):
        st, _, body = self.srv.get(path)
        self.assertEqual(st, status, body)
        return json.loads(body)

    n_numbers = 0

    def sms(self, text, number=None, msgid=None):
        """Text the webhook from a new number each time (the per-number limit is 10 an
        hour); returns the reply."""
        if number is None:
            GeographyTest.n_numbers += 1
            number = "9198123%05d" % GeographyTest.n_numbers
        q = urllib.parse.urlencode({"from": number, "to": "56767", "text": text,
                                    "id": msgid or "geo-%f" % time.time(),
                                    "charset": "UTF-8", "coding": "0"})
        st, _, body = self.srv.get("/sms/kannel?" + q)
        self.assertEqual(st, 200)
        return body.decode("utf-8")

    # ---- the PIN endpoint ----------------------------------------------------------

    def test_pincode_bhopal(self):
        doc = self.get("/api/v1/pincodes/462001")["data"]
        self.assertEqual(doc["pincode"], "462001")
        first = doc["districts"][0]
        self.assertEqual(first["name_en"], "Bhopal")
        self.assertEqual(first["state_en"], "Madhya Pradesh")
        self.assertTrue(first["has_data"])
        self.assertEqual(self.lgd_of[first["id"]], 396)  # LGD Bhopal
        self.assertAlmostEqual(sum(d["share"] for d in doc["districts"]), 1.0, places=3)
        hi = self.get("/api/v1/pincodes/462001?lang=hi")["data"]["districts"][0]
        self.assertEqual(hi["name"], "भोपाल")

    def test_pincode_outside_the_loaded_state(self):
        doc = self.get("/api/v1/pincodes/226001")["data"]
        first = doc["districts"][0]
        self.assertEqual(first["name_en"], "Lucknow")
        self.assertEqual(first["state_en"], "Uttar Pradesh")
        self.assertIsNone(first["id"])  # no NREGA code known: no figures loaded
        self.assertFalse(first["has_data"])
        self.assertEqual(first["name_hi"], "लखनऊ")

    def test_pincode_of_several_districts(self):
        many = sorted(p for p, v in self.pins.items() if len(v) >= 3)
        self.assertTrue(many)
        pin = many[0]
        doc = self.get("/api/v1/pincodes/%d" % pin)["data"]
        shares = [d["share"] for d in doc["districts"]]
        self.assertEqual(len(shares), len(self.pins[pin]))
        self.assertEqual(shares, sorted(shares, reverse=True))
        want = sorted((round(s, 4) for _, s in self.pins[pin]), reverse=True)
        self.assertEqual([round(s, 4) for s in shares], want)

    def test_pincode_errors(self):
        for bad in ("012345", "12345", "1234567", "46200a", "462001x"):
            st, _, body = self.srv.get("/api/v1/pincodes/" + bad)
            self.assertEqual(st, 400, bad)
            err = json.loads(body)["error"]
            self.assertEqual(err["code"], "bad_parameter")
            self.assertIn("pincode", err["message"])
        unknown = next(p for p in range(999999, 100000, -1) if p not in self.pins)
        st, _, body = self.srv.get("/api/v1/pincodes/%d" % unknown)
        self.assertEqual(st, 404)
        self.assertEqual(json.loads(body)["error"]["code"], "unknown_pincode")

    # ---- nearby, all India ---------------------------------------------------------

    def test_nearby_outside_madhya_pradesh(self):
        # Central Lucknow: Lucknow (no figures), and the nearest district with figures.
        doc = self.get("/api/v1/districts/nearby?lat=26.85&lon=80.95")["data"]
        self.assertEqual(doc["district"]["name_en"], "Lucknow")
        self.assertFalse(doc["has_data"])
        self.assertLess(doc["distance_km"], 30)
        near = doc["nearest_with_data"]
        self.assertEqual(near["district"]["state_en"], "Madhya Pradesh")
        self.assertTrue(near["district"]["has_data"])
        self.assertGreater(near["distance_km"], doc["distance_km"])
        # Far south: Kanyakumari's district, still not passed off as an MP one.
        doc = self.get("/api/v1/districts/nearby?lat=8.09&lon=77.54")["data"]
        self.assertEqual(doc["district"]["state_en"], "Tamil Nadu")
        self.assertFalse(doc["has_data"])
        # Inside MP the nearest has figures and nothing else is named.
        doc = self.get("/api/v1/districts/nearby?lat=23.26&lon=77.41")["data"]
        self.assertEqual(doc["district"]["name_en"], "Bhopal")
        self.assertTrue(doc["has_data"])
        self.assertIsNone(doc["nearest_with_data"])

    # ---- search: former names, PIN codes -------------------------------------------

    def test_former_names_in_search(self):
        for q, name in (("hoshangabad", "Narmadapuram"), ("allahabad", "Prayagraj"),
                        ("gurgaon", "Gurugram"), ("faizabad", "Ayodhya"),
                        ("mewat", "Nuh")):
            data = self.get("/api/v1/districts?q=" + urllib.parse.quote(q))["data"]
            self.assertTrue(data, q)
            self.assertEqual(data[0]["name_en"], name, q)
        # Former names written in Devanagari.
        for q, name in (("होशंगाबाद", "Narmadapuram"), ("इलाहाबाद", "Prayagraj"),
                        ("गुड़गांव", "Gurugram"), ("फैजाबाद", "Ayodhya")):
            data = self.get("/api/v1/districts?q=" + urllib.parse.quote(q))["data"]
            self.assertEqual(data[0]["name_en"], name, q)
        # Devanagari, the Hindi name of a renamed district and of one with no figures.
        data = self.get("/api/v1/districts?q=" + urllib.parse.quote("नर्मदापुरम"))["data"]
        self.assertEqual(data[0]["name_en"], "Narmadapuram")
        self.assertTrue(data[0]["has_data"])
        data = self.get("/api/v1/districts?q=" + urllib.parse.quote("प्रयागराज"))["data"]
        self.assertEqual(data[0]["name_en"], "Prayagraj")
        self.assertIsNone(data[0]["id"])
        self.assertFalse(data[0]["has_data"])

    def test_pincode_in_search(self):
        data = self.get("/api/v1/districts?q=462001")["data"]
        self.assertEqual(data[0]["name_en"], "Bhopal")
        data = self.get("/api/v1/districts?q=" + urllib.parse.quote("NREGA 462 001"))["data"]
        self.assertEqual(data[0]["name_en"], "Bhopal")

    # ---- SMS -------------------------------------------------------------------------

    def test_sms_pincode_answers_with_the_district(self):
        for text in ("462001", "NREGA 462001", "nrega 462 001"):
            reply = self.sms(text)
            self.assertTrue(reply.startswith("NREGA Bhopal "), (text, reply))
            self.assertIn("families got work", reply)
        # Niwari's own post offices (a district carved out of Tikamgarh after GeoNames' data):
        # a PIN nearly all of whose offices are in Niwari now (another district under 10 %
        # of them is not a choice of its own).
        niwari = self.lgd_code("NIWARI")
        pin = next(p for p, v in sorted(self.pins.items())
                   if v[0][0] == niwari and all(s < 0.1 for _, s in v[1:]))
        reply = self.sms(str(pin))
        self.assertTrue(reply.startswith("NREGA Niwari "), reply)
        # 472442: 7 of its 8 offices in Niwari, 1 in Tikamgarh: both are offered.
        reply = self.sms("472442")
        self.assertIn("1752 Niwari MP; 1707 Tikamgarh MP", reply)

    def lgd_code(self, name_upper):
        return int(self.svc.psql1("SELECT lgd_district_code FROM ref_districts"
                                  " WHERE upper(name_en) = '%s'" % name_upper))

    def test_sms_pincode_of_two_districts_gives_the_choices(self):
        codes = {l: c for c, l in self.lgd_of.items()}
        pin = next(p for p, v in sorted(self.pins.items())
                   if len([1 for _, s in v if s >= 0.1]) == 2 and all(l in codes for l, _ in v))
        reply = self.sms(str(pin))
        self.assertTrue(reply.startswith("More than one district has this name."), reply)
        for lgd, share in self.pins[pin]:
            if share >= 0.1:
                self.assertIn("%d " % codes[lgd], reply)

    def test_sms_former_name_in_devanagari(self):
        reply = self.sms("होशंगाबाद")
        self.assertTrue(reply.startswith("नर्मदापुरम "), reply)
        self.assertIn("परिवारों को काम", reply)

    def test_sms_district_without_figures_says_so(self):
        for text in ("NREGA Lucknow", "226001", "Prayagraj", "allahabad"):
            reply = self.sms(text)
            self.assertIn("Hisaab has no figures for this district yet", reply, text)
            self.assertNotIn("could not find", reply)
        reply = self.sms("लखनऊ")
        self.assertIn("आंकड़े हमारे पास अभी नहीं हैं", reply)

    def test_sms_unknown_pincode(self):
        unknown = next(p for p in range(999999, 100000, -1) if p not in self.pins)
        reply = self.sms(str(unknown))
        self.assertTrue(reply.startswith("We could not find that district."), reply)

    def test_zz_pincodes_never_stored_or_logged(self):
        number = "919812300777"
        self.sms("NREGA 462001", number=number, msgid="geo-private-1")
        self.get("/api/v1/pincodes/226001")
        texts = wait_for(lambda: self.svc.psql(
            "SELECT text FROM sms_messages WHERE gateway_message_id = 'geo-private-1'"
            " AND direction = 'in'"))
        self.assertEqual(texts, [["NREGA [PIN]"]])
        self.assertEqual(self.svc.psql1(
            "SELECT count(*) FROM sms_messages WHERE text LIKE '%462001%'"), "0")
        time.sleep(0.5)  # the access log is flushed every 200 ms
        log = self.srv.stderr()
        self.assertIn("/api/v1/pincodes/", log)
        for pin in ("462001", "226001", "462 001", "472442"):
            self.assertNotIn(pin, log)
        keys = self.svc.redis.cli("--scan", "--pattern", "*").split()
        self.assertFalse([k for k in keys if "462001" in k or "226001" in k], keys)


if __name__ == "__main__":
    unittest.main()
