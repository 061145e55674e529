"""Black-box tests of the district REST API (issue 3): the real hisaab server (2 workers)
with the repository's kore.conf, against a real PostgreSQL loaded by the real ETL from
data/mgnrega_mp_2024-25.csv and a real Redis.

Expected figures are computed here from the CSV itself: for each district, financial year
and month the most complete snapshot is the row with the largest
Persondays_of_Central_Liability_so_far (a tie goes to the later row); state figures are
sums over the districts' snapshots.
"""
import csv
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

import harness

HISAAB = os.path.join(harness.BUILD, "hisaab")
ETL = os.path.join(harness.BUILD, "hisaab-etl")
SAMPLE = os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv")
KORE_CONF = os.path.join(harness.ROOT, "kore.conf")

MONTHS = {"april": 4, "may": 5, "june": 6, "july": 7, "aug": 8, "sep": 9, "oct": 10,
          "nov": 11, "dec": 12, "jan": 1, "feb": 2, "march": 3}

# API metric name -> CSV column.
METRICS = {
    "households_worked": "Total_Households_Worked",
    "individuals_worked": "Total_Individuals_Worked",
    "persondays": "Persondays_of_Central_Liability_so_far",
    "women_persondays": "Women_Persondays",
    "sc_persondays": "SC_persondays",
    "st_persondays": "ST_persondays",
    "avg_days_per_household": "Average_days_of_employment_provided_per_Household",
    "avg_wage_rate": "Average_Wage_rate_per_day_per_person",
    "hh_completed_100_days": "Total_No_of_HHs_completed_100_Days_of_Wage_Employment",
    "works_completed": "Number_of_Completed_Works",
    "works_ongoing": "Number_of_Ongoing_Works",
    "works_taken_up": "Total_No_of_Works_Takenup",
    "payments_within_15_days_pct": "percentage_payments_gererated_within_15_days",
    "active_job_cards": "Total_No_of_Active_Job_Cards",
    "active_workers": "Total_No_of_Active_Workers",
    "total_expenditure_lakh": "Total_Exp",
    "wages_lakh": "Wages",
}
SUMMED = ["households_worked", "individuals_worked", "persondays", "women_persondays",
          "sc_persondays", "st_persondays", "hh_completed_100_days", "works_completed",
          "works_ongoing", "works_taken_up", "active_job_cards", "active_workers",
          "total_expenditure_lakh", "wages_lakh"]


def num(s):
    s = (s or "").strip()
    if s == "" or s.upper() == "NA":
        return None
    return float(s)


PERCENT_COLUMNS = {"payments_within_15_days_pct"}


def cleaned(name, value):
    """The ETL's cleaning rule for one metric: percentages outside 0..100 become null."""
    if value is not None and name in PERCENT_COLUMNS and not 0 <= value <= 100:
        return None
    return value


def fy_month(m):
    return (m - 4) % 12 + 1


def load_snapshots():
    """{(district, fin_year, month): row} with the most complete snapshot of each."""
    best = {}
    with open(SAMPLE, newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            key = (int(row["district_code"]), row["fin_year"], MONTHS[row["month"].lower()])
            pd = num(row["Persondays_of_Central_Liability_so_far"]) or -1
            if key not in best or pd >= best[key][0]:
                best[key] = (pd, i, row)
    return {k: v[2] for k, v in best.items()}


SNAP = load_snapshots()
LATEST_FY = max(k[1] for k in SNAP)
LATEST_MONTH = max((k[2] for k in SNAP if k[1] == LATEST_FY), key=fy_month)
LATEST = {k[0]: row for k, row in SNAP.items() if k[1] == LATEST_FY and k[2] == LATEST_MONTH}


def close(a, b, tol=1e-6):
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= tol * max(1.0, abs(float(b)))


def harness_code(name_upper):
    """The NREGA district code of a district of the sample, by its name in the source."""
    for (code, _fy, _m), row in SNAP.items():
        if row["district_name"].strip().upper() == name_upper:
            return code
    raise KeyError(name_upper)


def conf_text(port, extra_hisaab=""):
    """The repository's kore.conf on `port` with 2 workers (and extra hisaab keys)."""
    with open(KORE_CONF) as f:
        text = f.read()
    text = re.sub(r"(?m)^(\s*bind\s+)\S+\s+\d+", r"\g<1>127.0.0.1 %d" % port, text)
    text = re.sub(r"(?m)^workers\s+\d+", "workers 2", text)
    for line in extra_hisaab.strip().splitlines():
        if not line.strip():
            continue
        key = line.split()[0]
        pat = r"(?m)^\s*%s\s+.*$" % re.escape(key)
        if re.search(pat, text):
            text = re.sub(pat, "\t" + line.strip(), text)
        else:
            text = re.sub(r"(?m)^hisaab \{", "hisaab {\n\t" + line.strip(), text)
    return text


class Server:
    """One hisaab master (2 workers) on a free port in a temporary directory."""

    def __init__(self, env, extra_hisaab=""):
        self.dir = tempfile.mkdtemp(prefix="hisaab-api-")
        self.port = harness.free_port()
        self.conf = os.path.join(self.dir, "kore.conf")
        with open(self.conf, "w") as f:
            f.write(conf_text(self.port, extra_hisaab + "\nspool_dir %s\n" % os.path.join(
                self.dir, "spool")))
        self.env = env
        self.err_path = os.path.join(self.dir, "stderr")
        self.proc = None

    def start(self):
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([HISAAB, "-c", self.conf], stdout=subprocess.DEVNULL,
                                         stderr=err, env=self.env, cwd=harness.ROOT)
        harness.wait_port(self.port, timeout=10)
        return self

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def request(self, path, method="GET", headers=None, body=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def get_json(self, path, headers=None):
        status, h, body = self.request(path, headers=headers)
        return status, h, json.loads(body.decode("utf-8"))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


def needs_binaries():
    for path in (HISAAB, ETL):
        if not os.path.exists(path):
            raise unittest.SkipTest("%s not built (make)" % path)


class ApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        needs_binaries()
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate", env=cls.svc.env(HISAAB_SQL_DIR=os.path.join(harness.ROOT, "sql")))
        harness.etl(cls.svc, "run", "--source", SAMPLE, "--format", "csv")
        cls.srv = Server(cls.svc.env(), "rate_limit_ip 0").start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def ok(self, path, headers=None):
        status, h, doc = self.srv.get_json(path, headers)
        self.assertEqual(status, 200, doc)
        self.assertEqual(doc["status"], "ok")
        self.assertEqual(doc["version"], "1.0")
        self.assertIsInstance(doc["cached"], bool)
        self.assertRegex(doc["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(set(doc), {"status", "data", "timestamp", "cached", "version"})
        self.assertTrue(h["content-type"].startswith("application/json"))
        return doc["data"]

    def error(self, path, status, code, param=None, method="GET"):
        st, h, body = self.srv.request(path, method=method)
        self.assertEqual(st, status, body)
        doc = json.loads(body)
        self.assertEqual(doc["status"], "error")
        self.assertEqual(doc["error"]["code"], code)
        self.assertTrue(doc["error"]["message"])
        if param is not None:
            self.assertIn("'%s'" % param, doc["error"]["message"])
        return h, doc

    # --- states and districts ---------------------------------------------------------

    def test_states(self):
        data = self.ok("/api/v1/states")
        self.assertEqual(len(data), 1)
        s = data[0]
        self.assertEqual(s["code"], 17)
        self.assertEqual(s["name_en"], "Madhya Pradesh")
        self.assertEqual(s["name_hi"], "मध्य प्रदेश")
        self.assertEqual(s["districts"], len(LATEST))
        self.assertEqual(s["latest_fin_year"], LATEST_FY)
        self.assertEqual(s["latest_month"], "2025-%02d" % LATEST_MONTH)
        self.assertEqual(self.ok("/api/v1/states?lang=hi")[0]["name"], "मध्य प्रदेश")
        self.assertEqual(self.ok("/api/v1/states?lang=en")[0]["name"], "Madhya Pradesh")
        self.error("/api/v1/states?lang=fr", 400, "bad_parameter", "lang")

    def test_districts_list(self):
        data = self.ok("/api/v1/districts?state=17")
        self.assertEqual(sorted(d["id"] for d in data), sorted(LATEST))
        for d in data:
            self.assertEqual(set(d), {"id", "name", "name_en", "name_hi", "state_code",
                                      "state_en", "state_hi"})
            self.assertEqual(d["state_code"], 17)
            self.assertEqual(d["state_en"], "Madhya Pradesh")
        self.assertEqual(len(self.ok("/api/v1/districts")), len(LATEST))

    def test_districts_search(self):
        # English, other cases, romanised Hindi with typos, Devanagari (search.c).
        devanagari = urllib.parse.quote("निवाड़ी")
        for q in ("niwari", "NIWARI", "nivari", "niwadi", devanagari, "NREGA%20Niwari"):
            data = self.wait_search("/api/v1/districts?state=17&q=" + q, 1752)
            self.assertEqual(data[0]["id"], 1752, q)
        narmadapuram = int(harness_code("NARMADAPURAM"))
        for q, want in (("chhatarpur", 1708), ("chatarpur", 1708), ("tikamgad", 1707),
                        # Former names (LGD aliases): Hoshangabad is Narmadapuram since 2022.
                        ("hoshangabad", narmadapuram), ("Hoshangabad", narmadapuram)):
            data = self.wait_search("/api/v1/districts?q=" + q, want)
            self.assertEqual(data[0]["id"], want, q)
        self.assertEqual(self.ok("/api/v1/districts?q=zzzz"), [])
        # Hindi names in `name` with lang=hi.
        data = self.ok("/api/v1/districts?q=niwari&lang=hi")
        self.assertEqual(data[0]["name"], "निवाड़ी")
        # A state filter keeps only that state's districts (and checks the state).
        self.error("/api/v1/districts?state=99&q=niwari", 404, "unknown_state")
        self.assertIn("%d with figures" % len(LATEST), self.srv.stderr())

    def wait_search(self, path, want, timeout=5.0):
        """The search index is built per worker once the data version is known; until
        then a plain SQL match answers (which knows no typos)."""
        deadline = time.time() + timeout
        while True:
            data = self.ok(path)
            if (data and data[0]["id"] == want) or time.time() > deadline:
                return data
            time.sleep(0.1)

    def test_districts_errors(self):
        self.error("/api/v1/districts?state=99", 404, "unknown_state")
        self.error("/api/v1/districts?state=abc", 400, "bad_parameter", "state")
        self.error("/api/v1/districts?q=" + "a" * 65, 400, "bad_parameter", "q")
        self.error("/api/v1/districts?q=%01x", 400, "bad_parameter", "q")
        self.error("/api/v1/districts", 405, "method_not_allowed", method="POST")

    # --- nearby -----------------------------------------------------------------------

    def test_nearby(self):
        rows = self.svc.psql("SELECT district_code, lat, lon FROM districts "
                             "WHERE district_code IN (1752, 1707, 1728)")
        for code, lat, lon in rows:
            lat, lon = float(lat), float(lon)
            data = self.ok("/api/v1/districts/nearby?lat=%.4f&lon=%.4f" % (lat + 0.001, lon))
            self.assertEqual(data["district"]["id"], int(code))
            self.assertLess(data["distance_km"], 1.0)
        # The centroid itself (already on 2 decimals) is 0 km away.
        lat, lon = float(rows[0][1]), float(rows[0][2])
        data = self.ok("/api/v1/districts/nearby?lat=%.2f&lon=%.2f" % (lat, lon))
        self.assertEqual(data["distance_km"], 0.0)

    def test_nearby_errors(self):
        self.error("/api/v1/districts/nearby?lat=50.1&lon=78", 400, "bad_parameter", "lat")
        self.error("/api/v1/districts/nearby?lat=5.9&lon=78", 400, "bad_parameter", "lat")
        self.error("/api/v1/districts/nearby?lat=23&lon=100", 400, "bad_parameter", "lon")
        self.error("/api/v1/districts/nearby?lat=23&lon=60", 400, "bad_parameter", "lon")
        self.error("/api/v1/districts/nearby?lat=23", 400, "bad_parameter", "lon")
        self.error("/api/v1/districts/nearby?lon=78", 400, "bad_parameter", "lat")
        self.error("/api/v1/districts/nearby?lat=abc&lon=78", 400, "bad_parameter", "lat")
        self.error("/api/v1/districts/nearby?lat=nan&lon=78", 400, "bad_parameter", "lat")

    def test_nearby_coordinates_not_logged(self):
        self.ok("/api/v1/districts/nearby?lat=23.456789&lon=77.654321")
        time.sleep(0.5)  # the access log is flushed every 200 ms
        log = self.srv.stderr()
        self.assertIn("/api/v1/districts/nearby", log)
        self.assertNotIn("23.45", log)
        self.assertNotIn("77.65", log)

    # --- summary ----------------------------------------------------------------------

    def check_metrics(self, got, row):
        self.assertEqual(set(got), set(METRICS))
        for name, col in METRICS.items():
            want = cleaned(name, num(row[col]))
            self.assertTrue(close(got[name], want), (name, got[name], row[col]))

    def test_summary_exact_figures(self):
        for code in (1752, 1707, 1728, 1701):
            row = LATEST[code]
            data = self.ok("/api/v1/districts/%d/summary" % code)
            self.assertEqual(data["district"]["id"], code)
            self.assertEqual(data["district"]["state_code"], 17)
            self.assertEqual(data["fin_year"], LATEST_FY)
            self.assertEqual(data["month"], "2025-%02d" % LATEST_MONTH)
            self.assertRegex(data["data_as_of"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertIs(data["stale"], False)
            self.check_metrics(data["metrics"], row)
            self.assertIsNone(data["last_year"])  # the sample has one financial year

    def test_summary_state_figures_are_sums(self):
        data = self.ok("/api/v1/districts/1752/summary")
        st = data["state"]
        for name in SUMMED:
            want = sum(num(r[METRICS[name]]) or 0 for r in LATEST.values())
            self.assertTrue(close(st[name], want, 1e-9), (name, st[name], want))
        self.assertEqual(st["districts_reporting"], len(LATEST))
        pd = sum(num(r[METRICS["persondays"]]) for r in LATEST.values())
        hh = sum(num(r[METRICS["households_worked"]]) for r in LATEST.values())
        self.assertAlmostEqual(st["avg_days_per_household"], round(pd / hh, 2), places=2)
        wage = sum(num(r[METRICS["avg_wage_rate"]]) * num(r[METRICS["persondays"]])
                   for r in LATEST.values()) / pd
        self.assertAlmostEqual(st["avg_wage_rate"], round(wage, 2), places=2)

    def test_summary_trend(self):
        data = self.ok("/api/v1/districts/1752/summary")
        self.assertEqual(data["trend_band_pct"], 5)
        m, st = data["metrics"], data["state"]

        def trend(d, s):
            if d is None or s is None:
                return None
            return "up" if d > s * 1.05 else "down" if d < s * 0.95 else "steady"

        for name in ("avg_days_per_household", "avg_wage_rate", "payments_within_15_days_pct"):
            self.assertEqual(data["trend"][name], trend(m[name], st[name]), name)
        self.assertEqual(data["trend"]["women_persondays"],
                         trend(m["women_persondays"] / m["persondays"],
                               st["women_persondays"] / st["persondays"]))
        # Across all districts, at least one is not "steady" (the band is not everything).
        seen = set()
        for code in list(LATEST)[:15]:
            seen.add(self.ok("/api/v1/districts/%d/summary" % code)["trend"]["avg_days_per_household"])
        self.assertTrue(seen - {"steady"}, seen)

    def test_summary_lang_and_errors(self):
        hi = self.ok("/api/v1/districts/1752/summary?lang=hi")
        self.assertEqual(hi["district"]["name"], "निवाड़ी")
        en = self.ok("/api/v1/districts/1752/summary?lang=en")
        self.assertEqual(en["district"]["name"], "Niwari")
        # Labels of every metric and trend word, in the language asked for.
        for doc in (hi, en, self.ok("/api/v1/districts/1752/history?months=1&lang=hi"),
                    self.ok("/api/v1/states/17/comparison?metric=persondays")):
            self.assertTrue(set(METRICS) | {"trend_up", "trend_down", "trend_steady"}
                            <= set(doc["labels"]))
        self.assertEqual(en["labels"]["persondays"], "Person-days of work")
        self.assertRegex(hi["labels"]["persondays"], "[\u0900-\u097f]")
        self.assertRegex(hi["labels"]["hh_completed_100_days"], "[\u0900-\u097f]")
        self.assertEqual(hi["metrics"], en["metrics"])
        self.error("/api/v1/districts/9999/summary", 404, "unknown_district")
        self.error("/api/v1/districts/abc/summary", 404, "not_found")
        self.error("/api/v1/districts/1752/summary?lang=xx", 400, "bad_parameter", "lang")
        self.error("/api/v1/districts/1752/summary", 405, "method_not_allowed", method="DELETE")

    # --- history ----------------------------------------------------------------------

    def test_history(self):
        data = self.ok("/api/v1/districts/1752/history?months=12")
        months = data["months"]
        self.assertEqual(len(months), 12)
        self.assertEqual(months[0]["month"], "2024-04")
        self.assertEqual(months[-1]["month"], "2025-03")
        prev = None
        for entry in months:
            cal = int(entry["month"][5:])
            row = SNAP[(1752, LATEST_FY, cal)]
            self.check_metrics(entry["metrics"], row)
            pd = num(row[METRICS["persondays"]])
            want = pd if prev is None else pd - prev
            self.assertEqual(entry["increments"]["persondays"], want, entry["month"])
            prev = pd
        self.assertEqual(len(self.ok("/api/v1/districts/1752/history?months=3")["months"]), 3)
        self.assertEqual(len(self.ok("/api/v1/districts/1752/history")["months"]), 12)
        self.assertEqual(len(self.ok("/api/v1/districts/1752/history?months=60")["months"]), 12)

    def test_history_errors(self):
        self.error("/api/v1/districts/1752/history?months=0", 400, "bad_parameter", "months")
        self.error("/api/v1/districts/1752/history?months=61", 400, "bad_parameter", "months")
        self.error("/api/v1/districts/1752/history?months=x", 400, "bad_parameter", "months")
        self.error("/api/v1/districts/4242/history", 404, "unknown_district")

    # --- comparison -------------------------------------------------------------------

    def test_comparison(self):
        for metric in ("avg_days_per_household", "persondays", "payments_within_15_days_pct"):
            data = self.ok("/api/v1/states/17/comparison?metric=" + metric)
            self.assertEqual(data["metric"], metric)
            self.assertEqual(data["state"]["code"], 17)
            self.assertEqual(data["month"], "2025-%02d" % LATEST_MONTH)
            rows = data["districts"]
            self.assertEqual(len(rows), len(LATEST))
            values = [r["value"] for r in rows]
            known = [v for v in values if v is not None]
            # Highest first, districts without a valid value last (rank null).
            self.assertEqual(values, sorted(known, reverse=True) + [None] * (len(values) - len(known)))
            for r in rows:
                want = cleaned(metric, num(LATEST[r["district"]["id"]][METRICS[metric]]))
                self.assertTrue(close(r["value"], want), (metric, r))
                if r["value"] is None:
                    self.assertIsNone(r["rank"])
                else:
                    # Rank = 1 + number of strictly better values.
                    self.assertEqual(r["rank"], 1 + sum(1 for v in known if v > r["value"]))

    def test_comparison_errors(self):
        self.error("/api/v1/states/17/comparison?metric=bogus", 400, "bad_parameter", "metric")
        self.error("/api/v1/states/17/comparison", 400, "bad_parameter", "metric")
        self.error("/api/v1/states/99/comparison?metric=persondays", 404, "unknown_state")

    # --- export -----------------------------------------------------------------------

    def test_export_whole_state(self):
        status, h, body = self.srv.request("/api/v1/export.csv?state=17&fin_year=2024-2025")
        self.assertEqual(status, 200)
        self.assertTrue(h["content-type"].startswith("text/csv"))
        self.assertEqual(h.get("transfer-encoding"), "chunked")
        self.assertNotIn("content-length", h)
        rows = list(csv.DictReader(body.decode("utf-8").splitlines()))
        self.assertEqual(len(rows), len(SNAP))
        got = {(int(r["district_code"]), r["fin_year"], int(r["month"])): r for r in rows}
        self.assertEqual(set(got), set(SNAP))
        for key, src in SNAP.items():
            r = got[key]
            self.assertEqual(r["fy_month"], str(fy_month(key[2])))
            for col in ("Persondays_of_Central_Liability_so_far", "Total_Exp", "Wages",
                        "Total_Households_Worked", "Women_Persondays"):
                self.assertTrue(close(num(r[col.lower()]), num(src[col])), (key, col))
        # Same rows without the year filter; no rows for another year; a header either way.
        status, _, body = self.srv.request("/api/v1/export.csv?state=17")
        self.assertEqual(len(body.decode().splitlines()), len(SNAP) + 1)
        status, _, body = self.srv.request("/api/v1/export.csv?state=17&fin_year=2023-2024")
        self.assertEqual(status, 200)
        self.assertEqual(len(body.decode().splitlines()), 1)
        self.assertTrue(body.startswith(b"state_code,district_code,district_name,fin_year"))

    def test_export_head(self):
        st, h, body = self.srv.request("/api/v1/export.csv?state=17", method="HEAD")
        self.assertEqual(st, 200)
        self.assertEqual(body, b"")
        self.assertTrue(h["content-type"].startswith("text/csv"))
        self.assertEqual(self.srv.request("/api/v1/export.csv?state=99", method="HEAD")[0], 404)
        self.ok("/api/v1/states")  # the connection pool and the worker are fine

    def test_export_errors(self):
        self.error("/api/v1/export.csv?state=99", 404, "unknown_state")
        self.error("/api/v1/export.csv", 400, "bad_parameter", "state")
        self.error("/api/v1/export.csv?state=17&fin_year=2024-2026", 400, "bad_parameter",
                   "fin_year")

    def test_export_client_goes_away(self):
        # Read a little and hang up, many times: the server keeps answering.
        for _ in range(5):
            c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=5)
            c.request("GET", "/api/v1/export.csv?state=17")
            r = c.getresponse()
            r.read(100)
            c.close()
        self.ok("/api/v1/states")


ADMIN_KEY = "test-admin-key-0123456789"


def modified_sample(path, district, delta):
    """The sample plus one more complete snapshot of district's latest month (persondays
    + delta); returns the new persondays."""
    row = dict(LATEST[district])
    new = int(num(row["Persondays_of_Central_Liability_so_far"])) + delta
    row["Persondays_of_Central_Liability_so_far"] = str(new)
    with open(SAMPLE, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = list(reader)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
        w.writerow(row)
    return new


class CacheTest(unittest.TestCase):
    """Pre-rendered answers, ETag/304, gzip, invalidation by the admin, by an ETL reload
    (Redis message) and by the data version poll while Redis is down. Tests run in name
    order and share one server."""

    SUMMARY = "/api/v1/districts/1752/summary"

    @classmethod
    def setUpClass(cls):
        needs_binaries()
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", SAMPLE, "--format", "csv")
        cls.tmp = tempfile.mkdtemp(prefix="hisaab-api-csv-")
        cls.srv = Server(cls.svc.env(HISAAB_ADMIN_KEY=ADMIN_KEY),
                         "data_version_poll_seconds 1\ncache_max_age_seconds 120\n"
                         "rate_limit_ip 0\n").start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def get(self, path=SUMMARY, headers=None):
        status, h, body = self.srv.request(path, headers=headers)
        self.assertEqual(status, 200, body)
        if h.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        return h, json.loads(body)

    def until_cached(self, path=SUMMARY, headers=None):
        """Request until a worker answers from its cache (each worker caches on a miss)."""
        for _ in range(20):
            h, doc = self.get(path, headers)
            if doc["cached"]:
                return h, doc
        self.fail("never answered from the cache")

    def invalidate(self, key=ADMIN_KEY):
        return self.srv.request("/api/v1/cache/invalidate", method="POST",
                                headers={"Authorization": "Bearer " + key})

    def test_1_etag_304_gzip(self):
        st, _ = self.invalidate()[:2]
        self.assertEqual(st, 200)
        time.sleep(0.3)
        h1, d1 = self.get()
        self.assertIs(d1["cached"], False)
        h2, d2 = self.until_cached()
        self.assertEqual(d1["data"], d2["data"])
        self.assertEqual(h1["etag"], h2["etag"])
        self.assertRegex(h1["etag"], r'^"v\d+-[0-9a-f]{16}"$')
        self.assertEqual(h2["cache-control"], "public, max-age=120")
        self.assertEqual(h2["vary"], "Accept-Encoding")  # no CORS allowlist here
        # Conditional requests: 304 without a body, on hits and misses alike.
        for _ in range(4):
            st, h, body = self.srv.request(self.SUMMARY, headers={"If-None-Match": h1["etag"]})
            self.assertEqual(st, 304)
            self.assertEqual(body, b"")
            self.assertEqual(h["etag"], h1["etag"])
        st, _, _ = self.srv.request(self.SUMMARY, headers={"If-None-Match": '"v0-0000000000000000"'})
        self.assertEqual(st, 200)
        # gzip: its own ETag; identity when refused.
        hz, dz = self.until_cached(headers={"Accept-Encoding": "gzip, deflate"})
        self.assertEqual(hz["content-encoding"], "gzip")
        self.assertEqual(hz["etag"], h1["etag"][:-1] + '-gz"')
        self.assertEqual(dz["data"], d1["data"])
        st, h, body = self.srv.request(self.SUMMARY, headers={"Accept-Encoding": "gzip",
                                                              "If-None-Match": hz["etag"]})
        self.assertEqual(st, 304)
        st, h, body = self.srv.request(self.SUMMARY, headers={"Accept-Encoding": "gzip;q=0"})
        self.assertNotIn("content-encoding", h)
        self.assertEqual(json.loads(body)["data"], d1["data"])
        # Other endpoints are cached too; errors are not.
        for path in ("/api/v1/states", "/api/v1/districts?q=niw",
                     "/api/v1/districts/1752/history?months=3",
                     "/api/v1/states/17/comparison?metric=persondays",
                     "/api/v1/districts/nearby?lat=24.7&lon=78.9"):
            self.until_cached(path)
        for _ in range(3):
            self.assertEqual(self.srv.request("/api/v1/districts/9999/summary")[0], 404)

    def test_1b_headers_once(self):
        for headers in ({}, {"Accept-Encoding": "gzip"}):
            for _ in range(4):  # misses and hits
                c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
                try:
                    c.request("GET", "/api/v1/districts/1707/summary", headers=headers)
                    r = c.getresponse()
                    names = [k.lower() for k, _ in r.getheaders()]
                    r.read()
                finally:
                    c.close()
                self.assertEqual(r.status, 200)
                for name in ("etag", "cache-control", "vary", "content-type",
                             "content-length", "x-content-type-options"):
                    self.assertEqual(names.count(name), 1, (name, names))

    def test_2_invalidate_auth(self):
        self.assertEqual(self.invalidate("wrong-key-wrong-key-wrong")[0], 401)
        st, h, body = self.srv.request("/api/v1/cache/invalidate", method="POST")
        self.assertEqual(st, 401)
        self.assertEqual(json.loads(body)["error"]["code"], "unauthorized")
        st, _, _ = self.srv.request("/api/v1/cache/invalidate")
        self.assertEqual(st, 405)
        self.until_cached()
        st, _, body = self.invalidate()
        self.assertEqual(st, 200)
        doc = json.loads(body)
        self.assertTrue(doc["data"]["other_workers_notified"])
        self.assertEqual(doc["data"]["subscribers"], 2)
        time.sleep(0.3)
        # Every worker dropped its copy: the next answer is fresh. It is shared through
        # Redis, so no worker goes to Postgres for it again.
        self.assertIs(self.get()[1]["cached"], False)
        for _ in range(10):
            self.assertIs(self.get()[1]["cached"], True)
        keys = self.svc.redis.cli("--scan", "--pattern", "hisaab:api:v*").split()
        self.assertTrue(any(k.endswith(":/api/v1/districts/1752/summary|") for k in keys), keys)
        # Coordinates never reach Redis, not even rounded.
        self.assertFalse([k for k in keys if "nearby" in k], keys)

    def test_3_etl_reload_drops_cache(self):
        h0, d0 = self.until_cached()
        path = os.path.join(self.tmp, "reload.csv")
        new = modified_sample(path, 1752, 1000)
        harness.etl(self.svc, "run", "--source", path, "--format", "csv")
        deadline = time.time() + 5
        while time.time() < deadline:
            h, d = self.get()
            if d["data"]["metrics"]["persondays"] == new:
                break
            time.sleep(0.05)
        self.assertEqual(d["data"]["metrics"]["persondays"], new)
        self.assertIs(d["cached"], False)
        self.assertNotEqual(h["etag"], h0["etag"])
        # The old tag no longer matches.
        st, _, _ = self.srv.request(self.SUMMARY, headers={"If-None-Match": h0["etag"]})
        self.assertEqual(st, 200)
        self.assertIn("data version", self.srv.stderr())

    def test_4_redis_down_poll(self):
        self.until_cached()
        self.svc.stop_redis()
        try:
            # Still serving, from the cache and from Postgres.
            for path in (self.SUMMARY, "/api/v1/districts/1707/summary", "/api/v1/states"):
                self.get(path)
            path = os.path.join(self.tmp, "reload2.csv")
            new = modified_sample(path, 1752, 5000)
            harness.etl(self.svc, "run", "--source", path, "--format", "csv")
            # No Redis message can come: the 1-second poll of data_version notices.
            deadline = time.time() + 8
            while time.time() < deadline:
                h, d = self.get()
                if d["data"]["metrics"]["persondays"] == new:
                    break
                time.sleep(0.1)
            self.assertEqual(d["data"]["metrics"]["persondays"], new)
            # The admin can still drop this worker's cache (the others are not told).
            st, _, body = self.invalidate()
            self.assertEqual(st, 200)
            self.assertFalse(json.loads(body)["data"]["other_workers_notified"])
        finally:
            self.svc.start_redis()

    def test_5_postgres_down(self):
        # Redis is back (test 4 restarted it, empty): wait until this worker's connection is,
        # then have the answer rendered once so every worker can serve it (local or shared).
        deadline = time.time() + 15
        while time.time() < deadline:
            st, _, body = self.invalidate()
            if st == 200 and json.loads(body)["data"]["subscribers"] == 2:  # both workers
                break
            time.sleep(0.2)
        time.sleep(0.3)
        self.get()
        for _ in range(10):
            self.assertIs(self.get()[1]["cached"], True)
        self.svc.pg.stop()
        try:
            # Cached answers are still served; others get a plain 503 without internals.
            h, d = self.until_cached()
            self.assertIs(d["cached"], True)
            st, _, body = self.srv.request("/api/v1/districts/1701/history?months=2")
            self.assertEqual(st, 503)
            err = json.loads(body)["error"]
            self.assertEqual(err["code"], "database_unavailable")
            self.assertNotRegex(err["message"].lower(), "postgres|connection|sql|5432|127\\.0")
        finally:
            self.svc.pg.start()
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.srv.request("/api/v1/districts/1701/history?months=2")[0] == 200:
                break
            time.sleep(0.2)
        self.assertEqual(self.srv.request("/api/v1/districts/1701/history?months=2")[0], 200)


class LargeExportTest(unittest.TestCase):
    """The export across many batches (1000 rows per query): a generated national-size
    file, every row of the largest state exactly once, in key order."""

    @classmethod
    def setUpClass(cls):
        needs_binaries()
        cls.svc = harness.Services()
        cls.tmp = tempfile.mkdtemp(prefix="hisaab-api-big-")
        path = os.path.join(cls.tmp, "national.csv")
        subprocess.run([sys.executable, os.path.join(harness.ROOT, "tests", "bench",
                                                     "gen_national.py"), path,
                        "--records", "120000"], check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", path, "--format", "csv")
        cls.srv = Server(cls.svc.env(), "rate_limit_ip 0").start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_many_batches(self):
        state, n = self.svc.psql("SELECT state_code, count(*) FROM monthly_figures "
                                 "GROUP BY 1 ORDER BY 2 DESC LIMIT 1")[0]
        n = int(n)
        self.assertGreater(n, 1000)  # more than one batch
        st, h, body = self.srv.request("/api/v1/export.csv?state=" + state, timeout=60)
        self.assertEqual(st, 200)
        rows = list(csv.DictReader(body.decode("utf-8").splitlines()))
        self.assertEqual(len(rows), n)
        keys = [(int(r["district_code"]), r["fin_year"], int(r["fy_month"])) for r in rows]
        self.assertEqual(keys, sorted(keys))
        self.assertEqual(len(set(keys)), n)
        want = self.svc.psql("SELECT district_code, fin_year, month, "
                             "persondays_of_central_liability_so_far FROM monthly_figures "
                             "WHERE state_code = %d" % int(state))
        got = {(r["district_code"], r["fin_year"], r["month"]):
               r["persondays_of_central_liability_so_far"] for r in rows}
        for d, fy, m, pd in want:
            self.assertEqual(got[(d, fy, m)], pd)
        # One year only.
        fy = rows[0]["fin_year"]
        st, _, body = self.srv.request("/api/v1/export.csv?state=%s&fin_year=%s" % (state, fy),
                                       timeout=60)
        year_rows = list(csv.DictReader(body.decode("utf-8").splitlines()))
        self.assertEqual(len(year_rows), sum(1 for r in rows if r["fin_year"] == fy))
        self.assertTrue(all(r["fin_year"] == fy for r in year_rows))


def client_key(secret, name):
    """An API key as api_limit_make_key() issues it."""
    import hashlib
    import hmac
    mac = hmac.new(secret.encode(), b"hisaab-client:" + name.encode(), hashlib.sha256)
    return "%s.%s" % (name, mac.hexdigest()[:32])


class RateLimitTest(unittest.TestCase):
    """Limits counted in Redis across both workers, per IP and per API key, RateLimit-*
    headers and 429 + Retry-After, the per-worker fallback while Redis is down, CORS."""

    SECRET = "rate-limit-test-secret"

    @classmethod
    def setUpClass(cls):
        needs_binaries()
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", SAMPLE, "--format", "csv")
        cls.srv = Server(cls.svc.env(HISAAB_SECRET=cls.SECRET),
                         "rate_limit_ip 5\nrate_limit_ip_window_seconds 3600\n"
                         "rate_limit_client 8\nrate_limit_client_window_seconds 3600\n"
                         "rate_limit_ip_cached 7\nrate_limit_ip_cached_window_seconds 3600\n"
                         "cors_origins https://a.example,https://b.example\n").start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def wait_fresh_window(self, headers=None):
        """Avoid starting a counted run in the last seconds of a fixed window."""
        st, h, _ = self.srv.request("/api/v1/health")
        now = time.time()
        left = 3600 - int(now) % 3600
        if left < 15:
            time.sleep(left + 1)

    def test_limits(self):
        self.wait_fresh_window()
        # Cached GETs: the carrier-NAT budget (7 here), counted apart from the tight one.
        cached = "/api/v1/districts/1752/summary"
        for i in range(7):
            st, h, body = self.srv.request(cached)
            self.assertEqual(st, 200, body)
            self.assertEqual(h["ratelimit-policy"], "7;w=3600")
            self.assertEqual(h["ratelimit-remaining"], str(6 - i))
        self.assertEqual(self.srv.request(cached)[0], 429)
        # An expensive query: per IP 5 in the window, shared by both workers (a new
        # connection each time), untouched by the cached GETs above.
        path = "/api/v1/states/17/comparison?metric=persondays"
        for i in range(5):
            st, h, body = self.srv.request(path)
            self.assertEqual(st, 200, body)
            self.assertEqual(h["ratelimit-limit"], "5")
            self.assertEqual(h["ratelimit-remaining"], str(4 - i))
            self.assertEqual(h["ratelimit-policy"], "5;w=3600")
            self.assertTrue(0 < int(h["ratelimit-reset"]) <= 3600)
        st, h, body = self.srv.request(path)
        self.assertEqual(st, 429)
        self.assertEqual(json.loads(body)["error"]["code"], "rate_limited")
        self.assertEqual(h["ratelimit-remaining"], "0")
        self.assertTrue(0 < int(h["retry-after"]) <= 3600)
        self.assertEqual(h["retry-after"], h["ratelimit-reset"])
        # Guessing the admin key is limited like everything else.
        st, h, _ = self.srv.request("/api/v1/cache/invalidate", method="POST",
                                    headers={"Authorization": "Bearer guess-guess-guess-1"})
        self.assertEqual(st, 429)
        # Health and metrics are not limited.
        self.assertEqual(self.srv.request("/api/v1/health")[0], 200)
        # An API key has its own, larger allowance.
        key = {"X-API-Key": client_key(self.SECRET, "partner-1")}
        for i in range(8):
            st, h, _ = self.srv.request(path, headers=key)
            self.assertEqual(st, 200)
            self.assertEqual(h["ratelimit-limit"], "8")
            self.assertEqual(h["ratelimit-remaining"], str(7 - i))
        self.assertEqual(self.srv.request(path, headers=key)[0], 429)
        # A forged or malformed key is refused.
        for bad in ("partner-1." + "0" * 32, "partner-1", "Partner.abc",
                    client_key("other-secret", "partner-2")):
            st, _, body = self.srv.request(path, headers={"X-API-Key": bad})
            self.assertEqual(st, 401, bad)
            self.assertEqual(json.loads(body)["error"]["code"], "invalid_api_key")

    def test_redis_down_and_cors(self):
        self.wait_fresh_window()
        path = "/api/v1/states"
        key = {"X-API-Key": client_key(self.SECRET, "cors-client")}
        # CORS: allowed origins are echoed; others get nothing.
        st, h, _ = self.srv.request(path, headers=dict(key, Origin="https://b.example"))
        self.assertEqual(st, 200)
        self.assertEqual(h["access-control-allow-origin"], "https://b.example")
        self.assertIn("Origin", h["vary"])
        st, h, _ = self.srv.request(path, headers=dict(key, Origin="https://evil.example"))
        self.assertEqual(st, 200)
        self.assertNotIn("access-control-allow-origin", h)
        # Preflights: answered, never counted against a limit.
        pre = {"Origin": "https://a.example", "Access-Control-Request-Method": "GET",
               "Access-Control-Request-Headers": "x-api-key"}
        for _ in range(10):
            st, h, body = self.srv.request("/api/v1/districts/1752/summary", method="OPTIONS",
                                           headers=pre)
            self.assertEqual(st, 204)
            self.assertEqual(body, b"")
            self.assertEqual(h["access-control-allow-origin"], "https://a.example")
            self.assertIn("GET", h["access-control-allow-methods"])
            self.assertIn("X-API-Key", h["access-control-allow-headers"])
        st, h, _ = self.srv.request("/api/v1/states", method="OPTIONS",
                                    headers=dict(pre, Origin="https://evil.example"))
        self.assertEqual(st, 204)
        self.assertNotIn("access-control-allow-origin", h)
        # Redis stopped: still serving, counted per worker (2 workers x 8 at most).
        self.svc.stop_redis()
        try:
            down = {"X-API-Key": client_key(self.SECRET, "while-down")}
            codes = [self.srv.request(path, headers=down)[0] for _ in range(20)]
            self.assertEqual(codes[:8], [200] * 8, codes)
            self.assertIn(429, codes)
            self.assertLessEqual(codes.count(200), 16, codes)
            st, _, body = self.srv.request("/api/v1/health")
            doc = json.loads(body)
            self.assertEqual(doc["status"], "degraded")
            self.assertIn("redis_down", doc["reasons"])
        finally:
            self.svc.start_redis()


class NoDataTest(unittest.TestCase):
    """Before the ETL has loaded anything every data endpoint answers 503 no_data. Also:
    no admin key is derived from HISAAB_SECRET."""

    SECRET = "a-test-secret-for-hisaab"

    @classmethod
    def setUpClass(cls):
        needs_binaries()
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        env = cls.svc.env(HISAAB_SECRET=cls.SECRET)
        env.pop("HISAAB_ADMIN_KEY", None)
        cls.srv = Server(env, "rate_limit_ip 0").start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_no_admin_key_from_secret(self):
        # The admin key once derived from HISAAB_SECRET is gone: without HISAAB_ADMIN_KEY
        # only keys made by hisaab-admin administer (tests/blackbox/test_admin.py).
        import hashlib
        import hmac
        key = hmac.new(self.SECRET.encode(), b"hisaab-admin-v1", hashlib.sha256).hexdigest()
        st, _, body = self.srv.request("/api/v1/cache/invalidate", method="POST",
                                       headers={"Authorization": "Bearer " + key})
        self.assertEqual(st, 401, body)
        self.assertEqual(json.loads(body)["error"]["code"], "unauthorized")

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_no_data(self):
        for path in ("/api/v1/states", "/api/v1/districts", "/api/v1/districts/1752/summary",
                     "/api/v1/districts/1752/history", "/api/v1/districts/nearby?lat=23&lon=78",
                     "/api/v1/states/17/comparison?metric=persondays",
                     "/api/v1/export.csv?state=17"):
            st, h, body = self.srv.request(path)
            self.assertEqual(st, 503, path)
            self.assertEqual(json.loads(body)["error"]["code"], "no_data", path)


if __name__ == "__main__":
    unittest.main()
