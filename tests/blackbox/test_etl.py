"""Black-box tests of hisaab-etl against a real Postgres and Redis (tests/harness.py) and a
fake data.gov.in (http.server in a thread on a loopback port) that serves the fixture
records as JSON, XML or CSV pages with offset/limit/filters and can be scripted to fail.

Each test starts from empty data tables (the schema stays), so tests are independent.
"""
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from xml.sax.saxutils import escape

import harness

ROOT = harness.ROOT
FIX = os.path.join(ROOT, "tests", "fixtures")
SAMPLE = next((p for p in (os.path.join(ROOT, "data", "mgnrega_mp_2024-25.csv"),
                           os.path.join(ROOT, "..", "shared", "data", "mgnrega_mp_2024-25.csv"),
                           "/work/shared/data/mgnrega_mp_2024-25.csv") if os.path.exists(p)),
              None)
API_KEY = "sekrit-KEY-0123456789abcdef"
PD = harness.PERSONDAYS
RUN_LOCK_KEY = 0x48535255
PCT_FIELDS = ["percent_of_Category_B_Works", "percent_of_Expenditure_on_Agriculture_Allied_Works",
              "percent_of_NRM_Expenditure", "percentage_payments_gererated_within_15_days"]


class FakeAPI:
    """A fake api.data.gov.in resource endpoint."""

    def __init__(self, header, records):
        self.header = header
        self.records = records
        self.requests = []       # (path, query dict) of each request
        self.script = []         # actions for the next requests, consumed in order
        self.fail_states = {}    # state_name -> action applied to every request for it
        self.ignore_offset = False
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                api.handle(self)

        self.server = harness.serve_http(Handler)
        self.port = self.server.server_address[1]
        self.base = "http://127.0.0.1:%d/resource/ee03643a-ee4c-48c2-ac30-9f2ff26ab722" % self.port

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def page(self, q):
        recs = self.records
        st = q.get("filters[state_name]")
        fy = q.get("filters[fin_year]")
        if st:
            recs = [r for r in recs if r["state_name"].strip().lower() == st.strip().lower()]
        if fy:
            recs = [r for r in recs if r["fin_year"].strip() == fy]
        off = 0 if self.ignore_offset else int(q.get("offset", "0"))
        lim = int(q.get("limit", "10"))
        return len(recs), recs[off:off + lim], off, lim

    def body(self, q):
        total, page, off, lim = self.page(q)
        fmt = q.get("format", "json")
        if fmt == "json":
            return "application/json", json.dumps(
                {"index_name": "ee03643a", "total": total, "count": len(page),
                 "limit": str(lim), "offset": str(off), "records": page}).encode()
        if fmt == "xml":
            out = ['<?xml version="1.0" encoding="UTF-8"?>\n<result>\n<total>%d</total>'
                   '<count>%d</count><records>' % (total, len(page))]
            for r in page:
                out.append("<item>" + "".join("<%s>%s</%s>" % (k, escape(r[k]), k)
                                              for k in self.header) + "</item>\n")
            out.append("</records></result>\n")
            return "application/xml", "".join(out).encode()
        s = io.StringIO()
        w = csv.writer(s, lineterminator="\n")
        w.writerow(self.header)
        for r in page:
            w.writerow([r[k] for k in self.header])
        return "text/csv", s.getvalue().encode()

    def handle(self, h):
        u = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        with self.lock:
            self.requests.append((u.path, q))
            action = self.script.pop(0) if self.script else None
            st = q.get("filters[state_name]")
            if action is None and st in self.fail_states:
                action = self.fail_states[st]
        try:
            if action is None or action == "ok":
                ctype, body = self.body(q)
                self.reply(h, 200, body, ctype)
            elif action.startswith("status:"):
                parts = action.split(":")
                headers = {}
                if len(parts) > 2:
                    headers["Retry-After"] = parts[2]
                self.reply(h, int(parts[1]), b'{"error":"scripted"}', "application/json",
                           headers)
            elif action.startswith("sleep:"):
                time.sleep(float(action.split(":")[1]))
                ctype, body = self.body(q)
                self.reply(h, 200, body, ctype)
            elif action == "short":       # Content-Length larger than the body sent
                ctype, body = self.body(q)
                half = body[: len(body) // 2]
                h.send_response(200)
                h.send_header("Content-Type", ctype)
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(half)
                h.wfile.flush()
                h.close_connection = True
            elif action == "badcount":    # a well-formed page missing a record
                total, page, off, lim = self.page(q)
                body = json.dumps({"total": total, "count": len(page),
                                   "records": page[:-1]}).encode()
                self.reply(h, 200, body, "application/json")
            elif action == "cut":         # a complete response whose document is cut
                ctype, body = self.body(q)
                self.reply(h, 200, body[: len(body) * 2 // 3], ctype)
        except (BrokenPipeError, ConnectionResetError):
            pass

    @staticmethod
    def reply(h, status, body, ctype, headers=None):
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)


class EtlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        cls.header, cls.sample20 = harness.read_csv(os.path.join(FIX, "mgnrega_sample20.csv"))
        cls.api = None

    def setUp(self):
        self.svc.psql("TRUNCATE monthly_figures, data_quality_flags, state_monthly_figures, "
                      "districts, states, etl_fetch_log, etl_runs CASCADE; "
                      "UPDATE data_version SET version = 0, updated_at = NULL")
        self.api = None

    def tearDown(self):
        if self.api:
            self.api.close()

    # -- helpers --
    def env(self, **kw):
        base = dict(DATA_GOV_API_KEY=API_KEY, HISAAB_ETL_BACKOFF_MS=50,
                    HISAAB_ETL_TIMEOUT_MS=5000)
        base.update(kw)
        return self.svc.env(**base)

    def serve(self, records=None):
        self.api = FakeAPI(self.header, list(records if records is not None else self.sample20))
        return self.api

    def run_api(self, *args, check=True, **envkw):
        env = self.env(DATA_GOV_API_BASE=self.api.base, **envkw)
        p = harness.etl(self.svc, "run", *args, env=env, check=check, timeout=120)
        self.assertNotIn(API_KEY, p.stdout + p.stderr)
        return p

    def version(self):
        return int(self.svc.psql1("SELECT version FROM data_version"))

    def last_run(self):
        return self.svc.psql("SELECT status, records_read, records_rejected, rows_changed, "
                             "array_to_string(states_ok, '|'), array_to_string(states_failed, '|'),"
                             " coalesce(data_version, -1), coalesce(error, '') "
                             "FROM etl_runs ORDER BY id DESC LIMIT 1")[0]

    def fig(self, district, month, col, fin_year="2024-2025"):
        return self.svc.psql1("SELECT %s FROM monthly_figures WHERE district_code = %d AND "
                              "fin_year = '%s' AND month = %d" % (col, district, fin_year, month))

    def assert_no_key_in_db(self):
        n = self.svc.psql1("SELECT count(*) FROM etl_fetch_log WHERE url LIKE '%%%s%%' OR "
                           "url LIKE '%%api-key%%' OR coalesce(error, '') LIKE '%%%s%%'"
                           % (API_KEY, API_KEY))
        self.assertEqual(n, "0")
        n = self.svc.psql1("SELECT count(*) FROM etl_runs WHERE source LIKE '%%%s%%' OR "
                           "coalesce(error, '') LIKE '%%%s%%'" % (API_KEY, API_KEY))
        self.assertEqual(n, "0")

    # -- command line --
    def test_cli_usage_errors(self):
        etl = os.path.join(harness.BUILD, "hisaab-etl")
        env = self.svc.env()
        for args in ([], ["frobnicate"], ["run", "--fin-year", "2024"],
                     ["run", "--format", "yaml"], ["run", "--every", "6x"],
                     ["run", "--limit", "0"], ["run", "--bogus", "1"], ["run", "--state"],
                     ["status", "extra"]):
            p = subprocess.run([etl] + args, env=env, capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertTrue(p.stderr.strip(), args)
        env.pop("DATABASE_URL")
        p = subprocess.run([etl, "migrate"], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("DATABASE_URL", p.stderr)

    def test_config_file(self):
        """-c kore.conf: the default source and format come from the hisaab block, the
        database from DATABASE_URL (the environment wins over the file)."""
        with open(os.path.join(ROOT, "kore.conf")) as f:
            conf = f.read()
        lines = []
        for line in conf.splitlines():
            key = line.split()[0] if line.split() else ""
            if key == "data_source":
                line = "\tdata_source %s" % os.path.join(FIX, "mgnrega_sample20.xml")
            elif key == "data_format":
                line = "\tdata_format xml"
            lines.append(line)
        tmp = tempfile.mkdtemp()
        try:
            path = os.path.join(tmp, "kore.conf")
            with open(path, "w") as f:
                f.write("\n".join(lines) + "\n")
            harness.etl(self.svc, "-c", path, "run")
            self.assertEqual(self.svc.psql1("SELECT source || ' ' || format || ' ' || status "
                                            "FROM etl_runs"),
                             os.path.join(FIX, "mgnrega_sample20.xml") + " xml ok")
            self.assertEqual(self.svc.psql1("SELECT count(*) FROM monthly_figures"),
                             str(len(harness.best_snapshots(self.sample20))))
            p = harness.etl(self.svc, "-c", path, "status")
            self.assertIn("mgnrega_sample20.xml", p.stdout)
            with open(path, "a") as f:
                f.write("hisaab {\n\tno_such_setting 1\n}\n")
            p = harness.etl(self.svc, "-c", path, "run", check=False)
            self.assertEqual(p.returncode, 2)
            self.assertIn("kore.conf", p.stderr)
        finally:
            shutil.rmtree(tmp)

    def test_migrate_idempotent_and_checksum(self):
        p = harness.etl(self.svc, "migrate")
        self.assertIn("migrations applied: 0", p.stdout)
        versions = self.svc.psql1("SELECT string_agg(version::text, ',' ORDER BY version) "
                                  "FROM schema_migrations")
        self.assertTrue(versions.startswith("1"), versions)
        tmp = tempfile.mkdtemp()
        try:
            for name in os.listdir(os.path.join(ROOT, "sql")):
                shutil.copy(os.path.join(ROOT, "sql", name), tmp)
            with open(os.path.join(tmp, "001_schema.sql"), "a") as f:
                f.write("\n-- edited after being applied\n")
            p = harness.etl(self.svc, "migrate", env=self.svc.env(HISAAB_SQL_DIR=tmp),
                            check=False)
            self.assertEqual(p.returncode, 1)
            self.assertIn("001_schema.sql", p.stderr)
            self.assertIn("checksum", p.stderr)
            # A new file is applied once, in its own transaction.
            with open(os.path.join(tmp, "001_schema.sql"), "w") as f:
                f.write(open(os.path.join(ROOT, "sql", "001_schema.sql")).read())
            with open(os.path.join(tmp, "900_test.sql"), "w") as f:
                f.write("CREATE TABLE test_900 (x int); INSERT INTO test_900 VALUES (9);\n")
            p = harness.etl(self.svc, "migrate", env=self.svc.env(HISAAB_SQL_DIR=tmp))
            self.assertIn("migrations applied: 1", p.stdout)
            p = harness.etl(self.svc, "migrate", env=self.svc.env(HISAAB_SQL_DIR=tmp))
            self.assertIn("migrations applied: 0", p.stdout)
            self.assertEqual(self.svc.psql1("SELECT x FROM test_900"), "9")
            # A failing file rolls back entirely and is not recorded.
            with open(os.path.join(tmp, "901_bad.sql"), "w") as f:
                f.write("CREATE TABLE test_901 (x int); SELECT no_such_function();\n")
            p = harness.etl(self.svc, "migrate", env=self.svc.env(HISAAB_SQL_DIR=tmp),
                            check=False)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(self.svc.psql1("SELECT to_regclass('test_901') IS NULL"), "t")
            self.assertEqual(self.svc.psql1("SELECT count(*) FROM schema_migrations "
                                            "WHERE version = 901"), "0")
        finally:
            shutil.rmtree(tmp)
            self.svc.psql("DROP TABLE IF EXISTS test_900; "
                          "DELETE FROM schema_migrations WHERE version >= 900")

    # -- local files --
    @unittest.skipIf(SAMPLE is None, "real sample not found")
    def test_real_sample_file(self):
        header, recs = harness.read_csv(SAMPLE)
        best = harness.best_snapshots(recs)
        p = harness.etl(self.svc, "run", "--source", SAMPLE)
        run = self.last_run()
        self.assertEqual(run[0], "ok")
        self.assertEqual(int(run[1]), len(recs))
        self.assertEqual(int(run[3]), len(best))
        self.assertEqual(run[4], "MADHYA PRADESH")
        self.assertEqual(int(run[6]), 1)
        self.assertEqual(self.version(), 1)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM monthly_figures"), str(len(best)))
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM districts"),
                         str(len({k[0] for k in best})))
        # NIWARI, December 2024-2025: the most complete of its daily snapshots.
        niwari_dec = best[(1752, "2024-2025", 12)]
        self.assertEqual(self.fig(1752, 12, "persondays_of_central_liability_so_far"),
                         niwari_dec[PD])
        self.assertEqual(Decimal(self.fig(1752, 12, "average_wage_rate_per_day_per_person")),
                         Decimal(niwari_dec["Average_Wage_rate_per_day_per_person"]))
        self.assertEqual(self.fig(1752, 12, "total_households_worked"),
                         niwari_dec["Total_Households_Worked"])
        self.assertEqual(self.fig(1752, 12, "remarks"), None)  # NA -> NULL
        self.assertEqual(self.svc.psql1("SELECT name_en || '/' || name_source FROM districts "
                                        "WHERE district_code = 1752"), "Niwari/NIWARI")
        self.assertEqual(self.svc.psql1("SELECT name_en FROM states WHERE state_code = 17"),
                         "Madhya Pradesh")
        # Every kept row is the Python winner (person-days per key).
        rows = self.svc.psql("SELECT district_code, fin_year, month, "
                             "coalesce(persondays_of_central_liability_so_far, -1) "
                             "FROM monthly_figures")
        got = {(int(d), fy, int(m)): int(pd) for d, fy, m, pd in rows}
        want = {k: int(r[PD]) for k, r in best.items()}
        self.assertEqual(got, want)
        # Out-of-range percentages: NULL plus a flag, one per winning value above 100.
        flagged = sum(1 for r in best.values() for f in PCT_FIELDS
                      if r[f].strip() not in ("", "NA") and float(r[f]) > 100)
        self.assertGreater(flagged, 0)
        self.assertEqual(int(self.svc.psql1("SELECT count(*) FROM data_quality_flags")), flagged)
        k, r = next((k, r) for k, r in sorted(best.items())
                    if float(r["percentage_payments_gererated_within_15_days"]) > 100)
        self.assertIsNone(self.fig(k[0], k[2], "percentage_payments_gererated_within_15_days"))
        self.assertEqual(self.svc.psql1(
            "SELECT raw_value || ' ' || problem FROM data_quality_flags WHERE district_code = %d"
            " AND month = %d AND field = 'percentage_payments_gererated_within_15_days'"
            % (k[0], k[2])), r["percentage_payments_gererated_within_15_days"] + " out_of_range")
        # monthly_increments: January minus December for NIWARI.
        self.assertEqual(self.svc.psql1(
            "SELECT persondays FROM monthly_increments WHERE district_code = 1752 "
            "AND fin_year = '2024-2025' AND month = 1"),
            str(int(best[(1752, "2024-2025", 1)][PD]) - int(niwari_dec[PD])))
        self.assertEqual(self.svc.psql1(
            "SELECT persondays FROM monthly_increments WHERE district_code = 1752 "
            "AND fin_year = '2024-2025' AND month = 4"), best[(1752, "2024-2025", 4)][PD])
        self.check_state_figures(17, "2024-2025")
        # Loading the same input again changes nothing.
        before = self.svc.psql("SELECT district_code, month, loaded_at, source_run_id "
                               "FROM monthly_figures ORDER BY 1, 2")
        harness.etl(self.svc, "run", "--source", SAMPLE)
        run = self.last_run()
        self.assertEqual((run[0], run[3], run[6]), ("ok", "0", "-1"))
        self.assertEqual(self.version(), 1)
        self.assertEqual(before, self.svc.psql("SELECT district_code, month, loaded_at, "
                                               "source_run_id FROM monthly_figures ORDER BY 1, 2"))
        p = harness.etl(self.svc, "status")
        self.assertIn("MADHYA PRADESH", p.stdout)
        self.assertIn("ok", p.stdout)

    def check_state_figures(self, state, fin_year):
        """state_monthly_figures equal sums computed here from the district rows."""
        rows = self.svc.psql(
            "SELECT month, persondays_of_central_liability_so_far, total_households_worked, "
            "average_wage_rate_per_day_per_person, percentage_payments_gererated_within_15_days,"
            " women_persondays, total_exp FROM monthly_figures WHERE state_code = %d AND "
            "fin_year = '%s'" % (state, fin_year))
        by_month = {}
        for m, pd, hh, rate, pct, women, exp in rows:
            by_month.setdefault(int(m), []).append((pd, hh, rate, pct, women, exp))
        self.assertTrue(by_month)
        for m, ds in by_month.items():
            got = self.svc.psql(
                "SELECT districts_reporting, persondays_of_central_liability_so_far, "
                "total_households_worked, women_persondays, total_exp, avg_days_per_household,"
                " avg_wage_rate, payments_within_15_days_pct FROM state_monthly_figures "
                "WHERE state_code = %d AND fin_year = '%s' AND month = %d"
                % (state, fin_year, m))[0]
            D = lambda v: Decimal(v) if v != "" else None
            self.assertEqual(int(got[0]), len(ds))
            self.assertEqual(int(got[1]), sum(int(d[0]) for d in ds if d[0]))
            self.assertEqual(int(got[2]), sum(int(d[1]) for d in ds if d[1]))
            self.assertEqual(int(got[3]), sum(int(d[4]) for d in ds if d[4]))
            self.assertEqual(D(got[4]), sum(D(d[5]) for d in ds if d[5]))
            both = [d for d in ds if d[0] and d[1]]
            days = Decimal(sum(int(d[0]) for d in both)) / sum(int(d[1]) for d in both)
            self.assertAlmostEqual(float(D(got[5])), float(days), places=9)
            wr = [d for d in ds if d[0] and d[2]]
            rate = sum(D(d[2]) * int(d[0]) for d in wr) / sum(int(d[0]) for d in wr)
            self.assertAlmostEqual(float(D(got[6])), float(rate), places=9)
            pc = [d for d in ds if d[0] and d[3]]
            if pc:
                pct = sum(D(d[3]) * int(d[0]) for d in pc) / sum(int(d[0]) for d in pc)
                self.assertAlmostEqual(float(D(got[7])), float(pct), places=9)
            else:
                self.assertEqual(got[7], "")

    def test_fixture_files_all_formats_agree(self):
        cols = ("district_code, month, persondays_of_central_liability_so_far, "
                "approved_labour_budget, average_wage_rate_per_day_per_person, women_persondays,"
                " percentage_payments_gererated_within_15_days, remarks")
        results = []
        for ext in ("csv", "json", "xml"):
            self.setUp()
            harness.etl(self.svc, "run", "--source",
                        os.path.join(FIX, "mgnrega_sample20." + ext))
            self.assertEqual(self.last_run()[0], "ok")
            results.append(self.svc.psql("SELECT %s FROM monthly_figures ORDER BY 1, 2" % cols))
        self.assertEqual(results[0], results[1])
        self.assertEqual(results[0], results[2])
        # The record with NA figures: NA -> NULL.
        na = [r for r in self.sample20 if r["Approved_Labour_Budget"] == "NA"][0]
        d, m = int(na["district_code"]), harness.month_no(na["month"])
        self.assertIsNone(self.fig(d, m, "approved_labour_budget"))
        self.assertIsNone(self.fig(d, m, "women_persondays"))
        self.assertEqual(self.fig(d, m, PD.lower()), na[PD])

    def test_bad_file_loads_nothing(self):
        tmp = tempfile.mkdtemp()
        try:
            path = os.path.join(tmp, "cut.json")
            with open(os.path.join(FIX, "mgnrega_sample20.json")) as f:
                text = f.read()
            with open(path, "w") as f:
                f.write(text[: len(text) // 2])
            p = harness.etl(self.svc, "run", "--source", path, check=False)
            self.assertEqual(p.returncode, 1)
            self.assertEqual(self.last_run()[0], "failed")
            self.assertEqual(self.svc.psql1("SELECT count(*) FROM monthly_figures"), "0")
            p = harness.etl(self.svc, "run", "--source", os.path.join(tmp, "missing.csv"),
                            check=False)
            self.assertEqual(p.returncode, 1)
            p = harness.etl(self.svc, "run", "--source", os.path.join(tmp, "noext"),
                            check=False)
            self.assertNotEqual(p.returncode, 0)
        finally:
            shutil.rmtree(tmp)

    # -- the API --
    def test_api_json_paging_and_fetch_log(self):
        self.serve()
        p = self.run_api("--limit", "7")
        self.assertEqual(self.last_run()[0], "ok")
        # 20 records, 7 a page: offsets 0, 7, 14, stopping at total.
        self.assertEqual([q["offset"] for _, q in self.api.requests], ["0", "7", "14"])
        for _, q in self.api.requests:
            self.assertEqual(q["api-key"], API_KEY)
            self.assertEqual(q["format"], "json")
            self.assertEqual(q["limit"], "7")
        log = self.svc.psql("SELECT url, attempt, http_status, bytes > 0 FROM etl_fetch_log "
                            "ORDER BY id")
        self.assertEqual(len(log), 3)
        for url, attempt, status, has_bytes in log:
            self.assertTrue(url.startswith(self.api.base), url)
            self.assertNotIn("api-key", url)
            self.assertEqual((attempt, status, has_bytes), ("1", "200", "t"))
        self.assert_no_key_in_db()
        best = harness.best_snapshots(self.sample20)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM monthly_figures"), str(len(best)))
        self.assertEqual(self.fig(1752, 12, PD.lower()), best[(1752, "2024-2025", 12)][PD])
        # 100.07 within 15 days (DATIA, July): NULL and a flag.
        datia = [r for r in self.sample20 if r["percentage_payments_gererated_within_15_days"]
                 == "100.07"][0]
        d, m = int(datia["district_code"]), harness.month_no(datia["month"])
        self.assertIsNone(self.fig(d, m, "percentage_payments_gererated_within_15_days"))
        self.assertEqual(self.svc.psql1(
            "SELECT raw_value FROM data_quality_flags WHERE district_code = %d AND month = %d"
            % (d, m)), "100.07")
        self.check_state_figures(17, "2024-2025")

    def test_api_filters_sent(self):
        self.serve()
        self.run_api("--state", "MADHYA PRADESH", "--fin-year", "2024-2025", "--limit", "50")
        self.assertEqual(len(self.api.requests), 1)
        q = self.api.requests[0][1]
        self.assertEqual(q["filters[state_name]"], "MADHYA PRADESH")
        self.assertEqual(q["filters[fin_year]"], "2024-2025")
        self.assertEqual(self.last_run()[4], "MADHYA PRADESH")
        self.assertGreater(int(self.svc.psql1("SELECT count(*) FROM monthly_figures")), 0)

    def test_api_xml_and_csv(self):
        self.serve()
        self.run_api("--format", "xml", "--limit", "8")
        self.assertEqual([q["offset"] for _, q in self.api.requests], ["0", "8", "16"])
        xml_rows = self.svc.psql("SELECT * FROM monthly_figures ORDER BY 1, 2, 3, 4")
        xml_rows = [r[:-3] for r in xml_rows]  # without provenance
        self.setUp()
        self.serve()
        self.run_api("--format", "csv", "--limit", "5")
        # CSV has no total: pages until one comes back short (20 = 4 x 5, then an empty one).
        self.assertEqual([q["offset"] for _, q in self.api.requests], ["0", "5", "10", "15", "20"])
        csv_rows = [r[:-3] for r in self.svc.psql("SELECT * FROM monthly_figures ORDER BY 1, 2, 3, 4")]
        self.assertEqual(xml_rows, csv_rows)
        self.assertEqual(len(csv_rows), len(harness.best_snapshots(self.sample20)))

    def test_server_ignoring_offset_does_not_loop(self):
        self.serve().ignore_offset = True
        p = self.run_api("--format", "csv", "--limit", "5", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(self.api.requests), 2)
        self.assertIn("same page", self.last_run()[7])
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM monthly_figures"), "0")

    def test_retry_429_with_retry_after(self):
        self.serve().script = ["status:429:0"]
        t = time.time()
        self.run_api("--limit", "50", HISAAB_ETL_BACKOFF_MS=5000)
        self.assertLess(time.time() - t, 4.5)  # Retry-After: 0 beat the 5 s backoff
        self.assertEqual(self.svc.psql("SELECT attempt, http_status FROM etl_fetch_log ORDER BY id"),
                         [["1", "429"], ["2", "200"]])
        self.assertEqual(self.last_run()[0], "ok")

    def test_retry_500_then_success(self):
        self.serve().script = ["status:500", "status:503"]
        self.run_api("--limit", "50")
        self.assertEqual(self.svc.psql("SELECT attempt, http_status FROM etl_fetch_log ORDER BY id"),
                         [["1", "500"], ["2", "503"], ["3", "200"]])
        self.assertEqual(len(self.api.requests), 3)
        self.assertEqual(self.last_run()[0], "ok")

    def test_timeout_retried(self):
        self.serve().script = ["sleep:2"]
        t = time.time()
        self.run_api("--limit", "50", HISAAB_ETL_TIMEOUT_MS=400)
        self.assertLess(time.time() - t, 10)
        log = self.svc.psql("SELECT attempt, coalesce(http_status, -1), error IS NOT NULL, "
                            "duration_ms FROM etl_fetch_log ORDER BY id")
        self.assertEqual([r[:3] for r in log], [["1", "-1", "t"], ["2", "200", "f"]])
        self.assertLess(int(log[0][3]), 1900)
        self.assertEqual(self.last_run()[0], "ok")

    def test_truncated_bodies_retried(self):
        self.serve().script = ["short", "cut", "badcount"]
        self.run_api("--limit", "50")
        log = self.svc.psql("SELECT attempt, coalesce(http_status, -1), error IS NOT NULL "
                            "FROM etl_fetch_log ORDER BY id")
        self.assertEqual([r[0] for r in log], ["1", "2", "3", "4"])
        self.assertEqual([r[2] for r in log], ["t", "t", "t", "f"])
        self.assertEqual(self.last_run()[0], "ok")
        # The cut page's records were not kept twice or half: exactly the fixture's keys.
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM monthly_figures"),
                         str(len(harness.best_snapshots(self.sample20))))
        self.assertEqual(self.last_run()[1], str(len(self.sample20)))

    def test_404_not_retried_and_gives_up_after_retries(self):
        self.serve()
        self.run_api("--limit", "50")
        before = self.svc.psql("SELECT * FROM monthly_figures ORDER BY 1, 2, 3, 4")
        v = self.version()
        self.svc.psql("TRUNCATE etl_fetch_log")
        self.api.script = ["status:404"]
        self.api.requests.clear()
        p = self.run_api("--limit", "50", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(self.api.requests), 1)
        run = self.last_run()
        self.assertEqual(run[0], "failed")
        self.assertIn("404", run[7])
        self.assertEqual(self.svc.psql("SELECT attempt, http_status FROM etl_fetch_log"),
                         [["1", "404"]])
        # Persistent 500s: 4 attempts (1 + 3 retries), then the run fails; data untouched.
        self.api.script = ["status:500"] * 10
        self.api.requests.clear()
        p = self.run_api("--limit", "50", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(self.api.requests), 4)
        self.assertEqual(before, self.svc.psql("SELECT * FROM monthly_figures ORDER BY 1, 2, 3, 4"))
        self.assertEqual(self.version(), v)
        self.assert_no_key_in_db()

    def other_state(self, records, bump=0):
        """The fixture records copied into a made-up second state (code 98)."""
        out = []
        for r in records:
            r = dict(r)
            r["state_code"] = "98"
            r["state_name"] = "TEST STATE"
            r["district_code"] = "98" + r["district_code"][2:]
            if bump and r[PD] not in ("", "NA"):
                r[PD] = str(int(r[PD]) + bump)
            out.append(r)
        return out

    def test_failed_state_keeps_last_good_data(self):
        self.serve(self.sample20 + self.other_state(self.sample20))
        states = "MADHYA PRADESH, TEST STATE"
        self.run_api("--limit", "50", HISAAB_ETL_STATES=states)
        run = self.last_run()
        self.assertEqual((run[0], run[4]), ("ok", "MADHYA PRADESH|TEST STATE"))
        mp_before = self.svc.psql("SELECT * FROM monthly_figures WHERE state_code = 17 "
                                  "ORDER BY 1, 2, 3, 4")
        v = self.version()
        # Now MP fails on every attempt while TEST STATE has newer figures.
        self.api.records = self.sample20 + self.other_state(self.sample20, bump=1000)
        self.api.fail_states["MADHYA PRADESH"] = "status:502"
        p = self.run_api("--limit", "50", check=False, HISAAB_ETL_STATES=states)
        self.assertEqual(p.returncode, 1)
        run = self.last_run()
        self.assertEqual((run[0], run[4], run[5]), ("partial", "TEST STATE", "MADHYA PRADESH"))
        self.assertEqual(mp_before, self.svc.psql("SELECT * FROM monthly_figures WHERE "
                                                  "state_code = 17 ORDER BY 1, 2, 3, 4"))
        self.assertEqual(self.fig(9852, 12, PD.lower()),
                         str(int(harness.best_snapshots(self.sample20)[(1752, "2024-2025", 12)][PD]) + 1000))
        self.assertEqual(self.version(), v + 1)
        self.check_state_figures(98, "2024-2025")
        self.check_state_figures(17, "2024-2025")

    def test_reference_crosswalk_fills_in(self):
        """Districts pick up Hindi names, LGD codes and points from the reference tables by
        normalised name or alias within the state; missing ones stay NULL; reference data
        arriving later fills in on the next run and makes a new data version."""
        recs = self.other_state(self.sample20)  # 9843 is "HARDA " with its trailing space
        self.serve(recs)
        try:
            self.run_api("--limit", "50")
            self.assertEqual(self.svc.psql1("SELECT count(*) FROM districts WHERE "
                                            "name_hi IS NOT NULL"), "0")
            v = self.version()
            self.svc.psql(
                "INSERT INTO ref_states (lgd_state_code, name_en, name_hi) VALUES "
                "(9998, 'Test State', 'परीक्षा राज्य'); "
                "INSERT INTO ref_districts (lgd_district_code, lgd_state_code, name_en, name_hi,"
                " lat, lon, aliases) VALUES "
                "(99901, 9998, 'Niwari', 'निवाड़ी', 25.37, 78.80, '{}'), "
                "(99902, 9998, 'Harda Town', 'हरदा', 22.34, 77.09, '{harda}')")
            self.run_api("--limit", "50")
            run = self.last_run()
            self.assertEqual((run[0], run[3]), ("ok", "0"))
            self.assertEqual(self.version(), v + 1)
            self.assertEqual(self.svc.psql1("SELECT name_hi || ' ' || lgd_state_code FROM states "
                                            "WHERE state_code = 98"), "परीक्षा राज्य 9998")
            self.assertEqual(self.svc.psql(
                "SELECT name_en, name_source, name_hi, lgd_district_code, lat, lon FROM districts"
                " WHERE district_code IN (9852, 9843) ORDER BY district_code"),
                [["Harda", "HARDA", "हरदा", "99902", "22.34", "77.09"],
                 ["Niwari", "NIWARI", "निवाड़ी", "99901", "25.37", "78.8"]])
            self.assertEqual(self.svc.psql1("SELECT count(*) FROM districts WHERE state_code = 98 "
                                            "AND name_hi IS NULL AND lgd_district_code IS NULL"),
                             str(len({r["district_code"] for r in recs}) - 2))
            # Nothing new: no version bump.
            self.run_api("--limit", "50")
            self.assertEqual(self.version(), v + 1)
        finally:
            self.svc.psql("TRUNCATE monthly_figures, data_quality_flags, state_monthly_figures, "
                          "districts, states CASCADE; "
                          "DELETE FROM ref_districts WHERE lgd_state_code = 9998; "
                          "DELETE FROM ref_states WHERE lgd_state_code = 9998")

    def subscribe(self):
        s = socket.create_connection(("127.0.0.1", self.svc.redis.port), timeout=5)
        s.sendall(b"SUBSCRIBE hisaab:data-version\r\n")
        buf = b""
        while buf.count(b"\r\n") < 6:
            buf += s.recv(4096)
        return s

    @staticmethod
    def read_message(s, timeout=5.0):
        s.settimeout(timeout)
        buf = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            if not chunk:
                break
            buf += chunk
            parts = buf.split(b"\r\n")
            if b"message" in parts and len(parts) >= 7:
                return parts[6].decode()
        return None

    def test_idempotent_then_newer_snapshot_updates_and_publishes(self):
        self.serve()
        self.run_api("--limit", "50")
        self.assertEqual(self.version(), 1)
        n = self.svc.psql1("SELECT count(*) FROM monthly_figures")
        loaded = self.svc.psql1("SELECT loaded_at FROM monthly_figures WHERE district_code = 1752"
                                " AND month = 12")
        self.run_api("--limit", "50")
        run = self.last_run()
        self.assertEqual((run[0], run[3], run[6]), ("ok", "0", "-1"))
        self.assertEqual(self.version(), 1)
        self.assertEqual(loaded, self.svc.psql1("SELECT loaded_at FROM monthly_figures WHERE "
                                                "district_code = 1752 AND month = 12"))
        # A less complete snapshot changes nothing either.
        niwari = [r for r in self.sample20 if r["district_code"] == "1752"][0]
        smaller = dict(niwari, **{PD: str(int(niwari[PD]) - 1), "Wages": "1"})
        self.api.records = self.sample20 + [smaller]
        self.run_api("--limit", "50")
        self.assertEqual(self.last_run()[3], "0")
        # A newer, more complete snapshot: updated in place, version bumped and published.
        newer = dict(niwari, **{PD: str(int(niwari[PD]) + 5000), "Wages": "1900.5"})
        self.api.records = self.sample20 + [newer]
        sub = self.subscribe()
        try:
            self.run_api("--limit", "50")
            self.assertEqual(self.read_message(sub), "2")
        finally:
            sub.close()
        run = self.last_run()
        self.assertEqual((run[0], run[3], run[6]), ("ok", "1", "2"))
        self.assertEqual(self.version(), 2)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM monthly_figures"), n)
        self.assertEqual(self.fig(1752, 12, PD.lower()), newer[PD])
        self.assertEqual(Decimal(self.fig(1752, 12, "wages")), Decimal("1900.5"))
        self.check_state_figures(17, "2024-2025")
        # An equally complete but different later snapshot also wins.
        same = dict(newer, Wages="1901")
        self.api.records = self.sample20 + [same]
        self.run_api("--limit", "50")
        self.assertEqual(self.last_run()[3], "1")
        self.assertEqual(Decimal(self.fig(1752, 12, "wages")), Decimal("1901"))
        self.assertEqual(self.version(), 3)

    def test_redis_down_is_only_a_warning(self):
        self.serve()
        self.svc.stop_redis()
        try:
            p = self.run_api("--limit", "50")
            self.assertEqual(self.version(), 1)
            self.assertIn("WARN", p.stderr)
            self.assertEqual(self.last_run()[0], "ok")
        finally:
            self.svc.start_redis()

    def test_concurrent_run_refused(self):
        holder = subprocess.Popen(["psql", self.svc.dsn, "-qAt", "-c",
                                   "SELECT pg_advisory_lock(%d); SELECT pg_sleep(20)"
                                   % RUN_LOCK_KEY],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                if self.svc.psql1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                  "AND granted") != "0":
                    break
                time.sleep(0.05)
            p = harness.etl(self.svc, "run", "--source",
                            os.path.join(FIX, "mgnrega_sample20.csv"), check=False)
            self.assertEqual(p.returncode, 3)
            self.assertIn("another run", p.stderr)
            self.assertEqual(self.svc.psql1("SELECT count(*) FROM etl_runs"), "0")
            # A run that died mid-way left its row 'running'; the next run closes it.
            self.svc.psql("INSERT INTO etl_runs (source, format) VALUES ('dead', 'csv')")
        finally:
            holder.terminate()
            holder.wait(timeout=10)
            self.svc.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                          "query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()")
        deadline = time.time() + 10
        while time.time() < deadline:
            p = harness.etl(self.svc, "run", "--source",
                            os.path.join(FIX, "mgnrega_sample20.csv"), check=False)
            if p.returncode != 3:
                break
            time.sleep(0.2)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.svc.psql("SELECT source, status, error IS NOT NULL FROM etl_runs "
                                       "ORDER BY id"),
                         [["dead", "failed", "t"],
                          [os.path.join(FIX, "mgnrega_sample20.csv"), "ok", "f"]])

    def test_every_loops_and_survives_failures(self):
        self.serve().fail_states["NOWHERE"] = "status:404"
        env = self.env(DATA_GOV_API_BASE=self.api.base, HISAAB_ETL_STATES="NOWHERE, MADHYA PRADESH")
        proc = subprocess.Popen([os.path.join(harness.BUILD, "hisaab-etl"), "run", "--every", "1s",
                                 "--limit", "50"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 20
            while time.time() < deadline:
                if int(self.svc.psql1("SELECT count(*) FROM etl_runs WHERE finished_at IS NOT "
                                      "NULL")) >= 2:
                    break
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=30)
        self.assertNotIn(API_KEY, out + err)
        runs = self.svc.psql("SELECT status FROM etl_runs ORDER BY id")
        self.assertGreaterEqual(len(runs), 2)
        self.assertEqual(runs[0], ["partial"])
        self.assertGreater(int(self.svc.psql1("SELECT count(*) FROM monthly_figures")), 0)


if __name__ == "__main__":
    unittest.main()
