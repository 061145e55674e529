"""Black-box tests of the monthly subscription messages (etl/notify.c, `hisaab-etl notify`
and the notification after `hisaab-etl run`) against a real Postgres loaded with the real
sample (data/mgnrega_mp_2024-25.csv) and a fake Kannel sendsms endpoint (http.server in a
thread on a loopback port) that records every request and can be scripted to fail or hang.

The expected texts are built here from the CSV independently of the C code: the loader's
snapshot rule (most person-days, on a tie the later record), round half up, Indian digit
grouping. HISAAB_NOW moves the clock in and out of the 09:00-21:00 IST window.

sms_subscriptions and sms_messages come from migration 004 (the SMS channel); subscribers
are inserted directly in SQL, as the channel's SUB command would.
"""
import csv
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from decimal import Decimal, ROUND_HALF_UP
from http.server import BaseHTTPRequestHandler

import harness

ROOT = harness.ROOT
SAMPLE = os.path.join(ROOT, "data", "mgnrega_mp_2024-25.csv")
PD = harness.PERSONDAYS
MONTH_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTH_HI = ["जनवरी", "फ़रवरी", "मार्च", "अप्रैल", "मई", "जून", "जुलाई", "अगस्त", "सितंबर",
            "अक्टूबर", "नवंबर", "दिसंबर"]
NOTIFY_LOCK_KEY = 0x48534E54

IN_WINDOW = "2025-04-10T03:30:00Z"       # 09:00 IST
BEFORE_WINDOW = "2025-04-10T03:29:00Z"   # 08:59 IST
AFTER_WINDOW = "2025-04-10T15:30:00Z"    # 21:00 IST
NIGHT_ACROSS_MIDNIGHT = "2025-04-10T19:00:00Z"  # 00:30 IST the next day

NIWARI, TIKAMGARH, CHHATARPUR, DAMOH = 1752, 1707, 1708, 1711


def fy_month(m):
    return (m + 8) % 12 + 1


def round_half_up(s):
    return int(Decimal(s).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def expected_text(lang, name, fin_year, month, rec):
    year = int(fin_year[:4]) + (0 if month >= 4 else 1)
    fam = harness.indian_grouping(int(rec["Total_Households_Worked"]))
    days = round_half_up(rec["Average_days_of_employment_provided_per_Household"])
    wage = round_half_up(rec["Average_Wage_rate_per_day_per_person"])
    if lang == "en":
        return ("New NREGA figures for %s %s %d: %s families got work. Avg %d of 100 days each. "
                "Wage Rs %d/day. Send STOP to end." % (name, MONTH_EN[month - 1], year, fam,
                                                       days, wage))
    return ("%s %s %d के नए नरेगा आंकड़े: %s परिवारों को काम। औसत %d दिन (100 में से)। मजदूरी %d "
            "रु रोज। बंद: STOP भेजें।" % (name, MONTH_HI[month - 1], year, fam, days, wage))


class FakeKannel:
    """A fake Kannel sendsms: records (query dict) per request; scriptable status codes and a
    request that hangs until released."""

    def __init__(self):
        self.requests = []
        self.raw = []               # the query strings as sent
        self.statuses = []        # status codes for the next requests, consumed in order
        self.always = None        # a status for every request (after the script)
        self.hang_on = None       # 1-based request number that waits for self.release
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                fake.handle(self)

        self.server = harness.serve_http(Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/cgi-bin/sendsms" % self.port

    def reset(self):
        with self.lock:
            self.requests = []
            self.raw = []
            self.statuses = []
            self.always = None
            self.hang_on = None
            self.arrived.clear()
            self.release.clear()

    def handle(self, h):
        u = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        with self.lock:
            self.requests.append(q)
            self.raw.append(u.query)
            n = len(self.requests)
            status = self.statuses.pop(0) if self.statuses else (self.always or 202)
        if u.path != "/cgi-bin/sendsms":
            status = 404
        if self.hang_on == n:
            self.arrived.set()
            self.release.wait(20)
        body = b"0: Accepted for delivery" if status == 202 else b"Error"
        try:
            h.send_response(status)
            h.send_header("Content-Type", "text/plain")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass  # the client was killed

    def texts(self):
        with self.lock:
            return [(q.get("to"), q.get("text")) for q in self.requests]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class NotifyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services(redis=False)
        harness.etl(cls.svc, "run", "--source", SAMPLE)
        cls.fake = FakeKannel()
        cls.header, cls.records = harness.read_csv(SAMPLE)
        cls.best = harness.best_snapshots(cls.records)
        cls.tmp = tempfile.mkdtemp(prefix="hisaab-notify-")

    @classmethod
    def tearDownClass(cls):
        cls.fake.close()

    def setUp(self):
        self.fake.reset()
        self.svc.psql("TRUNCATE sms_outbox, sms_subscriptions, sms_messages RESTART IDENTITY; "
                      "DELETE FROM monthly_figures WHERE fin_year = '2025-2026'; "
                      "DELETE FROM state_monthly_figures WHERE fin_year = '2025-2026'")

    # ---- helpers

    def env(self, now=IN_WINDOW, url=True, **extra):
        e = dict(HISAAB_NOW=now, KANNEL_SENDSMS_USER="hisaab", KANNEL_SENDSMS_PASSWORD="s3cret",
                 HISAAB_NOTIFY_BACKOFF_MS="50", HISAAB_NOTIFY_TIMEOUT_MS="5000")
        if url:
            e["KANNEL_SENDSMS_URL"] = self.fake.url
        e.update(extra)
        env = self.svc.env(**e)
        if not url:
            env.pop("KANNEL_SENDSMS_URL", None)
        return env

    def notify(self, now=IN_WINDOW, check=True, **extra):
        return harness.etl(self.svc, "notify", env=self.env(now, **extra), check=check, timeout=60)

    def subscribe(self, phone, district, lang="en", active=True, state=17):
        self.svc.psql("INSERT INTO sms_subscriptions (phone, phone_hash, state_code, "
                      "district_code, lang, active) VALUES ('%s', 'h%s', %d, %d, '%s', %s)"
                      % (phone, phone, state, district, lang, "true" if active else "false"))

    def name(self, district, lang):
        col = "name_hi" if lang == "hi" else "name_en"
        return self.svc.psql1("SELECT %s FROM districts WHERE district_code = %d"
                              % (col, district))

    def latest(self, district, fin_year="2024-2025"):
        months = [k[2] for k in self.best if k[0] == district and k[1] == fin_year]
        m = max(months, key=fy_month)
        return m, self.best[(district, fin_year, m)]

    def expected(self, district, lang, fin_year="2024-2025", rec=None, month=None):
        if rec is None:
            month, rec = self.latest(district, fin_year)
        return expected_text(lang, self.name(district, lang), fin_year, month, rec)

    def wait_unlocked(self, timeout=10):
        deadline = time.time() + timeout
        while self.svc.psql1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND "
                             "objid = %d" % NOTIFY_LOCK_KEY) != "0":
            self.assertLess(time.time(), deadline, "the sender lock is still held")
            time.sleep(0.05)

    def outbox(self):
        return self.svc.psql("SELECT phone, status, attempts FROM sms_outbox ORDER BY id")

    # ---- tests

    def test_window_then_send_real_figures(self):
        self.subscribe("919800000001", NIWARI, "en")
        self.subscribe("919800000002", TIKAMGARH, "hi")
        self.subscribe("919800000003", NIWARI, "en", active=False)  # sent STOP

        # 08:59 IST: queued, nothing sent
        p = self.notify(BEFORE_WINDOW)
        self.assertIn("outside 09:00-21:00 IST", p.stdout)
        self.assertEqual(self.fake.texts(), [])
        self.assertEqual(self.outbox(), [["919800000001", "pending", "0"],
                                         ["919800000002", "pending", "0"]])
        # 21:00 IST and 00:30 IST (the next day in India, still 10 April in UTC): nothing
        self.notify(AFTER_WINDOW)
        self.notify(NIGHT_ACROSS_MIDNIGHT)
        self.assertEqual(self.fake.texts(), [])

        # 09:00 IST: both sent, with the district's real figures for March 2025
        p = self.notify(IN_WINDOW)
        self.assertIn("sent: 2", p.stdout)
        reqs = self.fake.requests
        self.assertEqual(len(reqs), 2)
        en, hi = reqs
        self.assertEqual(en["to"], "919800000001")
        self.assertEqual(en["text"], self.expected(NIWARI, "en"))
        self.assertIn("Niwari Mar 2025", en["text"])
        self.assertEqual(en["username"], "hisaab")
        self.assertEqual(en["password"], "s3cret")
        self.assertEqual(sorted(en), ["charset", "password", "text", "to", "username"])
        self.assertEqual(sorted(hi), ["charset", "coding", "password", "text", "to",
                                      "username"])
        self.assertTrue(all(not r.endswith("&") for r in self.fake.raw), self.fake.raw)
        self.assertEqual(hi["to"], "919800000002")
        self.assertEqual(hi["text"], self.expected(TIKAMGARH, "hi"))
        self.assertIn("मार्च 2025", hi["text"])
        self.assertEqual(hi["coding"], "2")
        self.assertEqual(hi["charset"], "UTF-8")
        # the Hindi name comes from the reference data
        self.assertTrue(hi["text"].startswith(self.name(TIKAMGARH, "hi") + " "))
        self.assertNotEqual(self.name(TIKAMGARH, "hi"), self.name(TIKAMGARH, "en"))

        self.assertEqual(self.outbox(), [["919800000001", "sent", "1"],
                                         ["919800000002", "sent", "1"]])
        self.assertEqual(self.svc.psql(
            "SELECT phone, last_notified_fin_year, last_notified_month FROM sms_subscriptions "
            "ORDER BY phone"),
            [["919800000001", "2024-2025", "3"], ["919800000002", "2024-2025", "3"],
             ["919800000003", "", ""]])
        self.assertEqual(self.svc.psql(
            "SELECT direction, gateway, phone_hash, lang, kind, parts, coding, district_code, "
            "text FROM sms_messages ORDER BY id"),
            [["out", "kannel", "h919800000001", "en", "monthly", "1", "0", str(NIWARI),
              en["text"]],
             ["out", "kannel", "h919800000002", "hi", "monthly", "2", "2", str(TIKAMGARH),
              hi["text"]]])
        # the phone number is never logged
        self.assertNotIn("919800000001", p.stderr)

        # again, and again through a run that changes nothing: no duplicate
        self.notify(IN_WINDOW)
        harness.etl(self.svc, "run", "--source", SAMPLE, env=self.env(IN_WINDOW))
        self.assertEqual(len(self.fake.requests), 2)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM sms_outbox"), "2")

    def new_month_file(self, changes):
        """A CSV with April 2025-2026 rows for the given districts: a copy of their March
        record with the figures changed. Returns (path, {district: record})."""
        path = os.path.join(self.tmp, "april.csv")
        out = {}
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.header)
            w.writeheader()
            for d, (hh, days, wage) in changes.items():
                _, rec = self.latest(d)
                rec = dict(rec, fin_year="2025-2026", month="April",
                           Total_Households_Worked=str(hh),
                           Average_days_of_employment_provided_per_Household=days,
                           Average_Wage_rate_per_day_per_person=wage)
                rec[PD] = str(int(hh) * 5)
                w.writerow(rec)
                out[d] = rec
        return path, out

    def test_new_month_after_run(self):
        self.subscribe("919800000011", NIWARI, "en")
        self.subscribe("919800000012", NIWARI, "hi")
        self.subscribe("919800000013", TIKAMGARH, "en")
        self.subscribe("919800000014", CHHATARPUR, "en", active=False)
        self.notify(IN_WINDOW)
        self.assertEqual(len(self.fake.requests), 3)
        self.fake.reset()

        # a run that brings April of the next financial year sends it at once
        path, recs = self.new_month_file({NIWARI: (1234567, "7.5", "261.5"),
                                          TIKAMGARH: (4321, "3.49", "250"),
                                          CHHATARPUR: (999, "2", "250")})
        p = harness.etl(self.svc, "run", "--source", path, env=self.env(IN_WINDOW))
        got = sorted(self.fake.texts())
        want = sorted([
            ("919800000011", self.expected(NIWARI, "en", "2025-2026", recs[NIWARI], 4)),
            ("919800000012", self.expected(NIWARI, "hi", "2025-2026", recs[NIWARI], 4)),
            ("919800000013", self.expected(TIKAMGARH, "en", "2025-2026", recs[TIKAMGARH], 4)),
        ])
        self.assertEqual(got, want, p.stderr)
        self.assertIn("12,34,567 families got work. Avg 8 of 100 days each. Wage Rs 262/day",
                      got[0][1])
        self.assertEqual(self.svc.psql1(
            "SELECT count(*) FROM sms_subscriptions WHERE last_notified_fin_year = '2025-2026' "
            "AND last_notified_month = 4"), "3")
        # one message per subscriber and month, however often we look
        self.notify(IN_WINDOW)
        harness.etl(self.svc, "run", "--source", path, env=self.env(IN_WINDOW))
        self.assertEqual(len(self.fake.requests), 3)
        self.assertEqual(self.svc.psql1(
            "SELECT count(*) FROM sms_outbox WHERE fin_year = '2025-2026'"), "3")

    def test_run_outside_window_leaves_pending(self):
        self.subscribe("919800000021", NIWARI, "en")
        path, recs = self.new_month_file({NIWARI: (5000, "4", "255")})
        harness.etl(self.svc, "run", "--source", path, env=self.env(AFTER_WINDOW))
        self.assertEqual(self.fake.texts(), [])
        self.assertEqual(self.svc.psql("SELECT fin_year, month, status FROM sms_outbox"),
                         [["2025-2026", "4", "pending"]])
        # the next morning `notify` resumes
        self.notify(IN_WINDOW)
        self.assertEqual(self.fake.texts(), [
            ("919800000021", self.expected(NIWARI, "en", "2025-2026", recs[NIWARI], 4))])

    def wait_for(self, what, fn, timeout=20):
        deadline = time.time() + timeout
        while not fn():
            self.assertLess(time.time(), deadline, "timed out waiting for " + what)
            time.sleep(0.05)

    def test_every_loop_sends_without_data_change(self):
        """In a --every loop each run queues and sends, also when the data did not change:
        a subscriber added between runs gets the current month, once."""
        runs = lambda: int(self.svc.psql1("SELECT count(*) FROM etl_runs"))  # noqa: E731
        before = runs()
        proc = subprocess.Popen([os.path.join(harness.BUILD, "hisaab-etl"), "run", "--source",
                                 SAMPLE, "--every", "1"], env=self.env(IN_WINDOW),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self.wait_for("a first run", lambda: runs() > before)
            self.subscribe("919800000029", NIWARI, "en")
            self.wait_for("the message", lambda: len(self.fake.requests) >= 1)
            n = runs()
            self.wait_for("two more runs", lambda: runs() >= n + 2)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(self.fake.texts(), [("919800000029", self.expected(NIWARI, "en"))])

    def test_older_pending_month_superseded(self):
        self.subscribe("919800000025", NIWARI, "en")
        self.notify(BEFORE_WINDOW)  # March queued, not sent
        path, recs = self.new_month_file({NIWARI: (5000, "4", "255")})
        harness.etl(self.svc, "run", "--source", path, env=self.env(BEFORE_WINDOW))
        self.assertEqual(self.svc.psql("SELECT fin_year, month, status FROM sms_outbox ORDER BY id"),
                         [["2024-2025", "3", "cancelled"], ["2025-2026", "4", "pending"]])
        self.notify(IN_WINDOW)
        self.assertEqual(len(self.fake.requests), 1)
        self.assertIn("Apr 2025", self.fake.requests[0]["text"])

    def test_retry_after_500(self):
        self.subscribe("919800000031", NIWARI, "en")
        self.subscribe("919800000032", TIKAMGARH, "en")
        self.fake.statuses = [500]
        p = self.notify(IN_WINDOW)
        self.assertIn("sent: 2", p.stdout)
        self.assertEqual([t[0] for t in self.fake.texts()],
                         ["919800000031", "919800000031", "919800000032"])
        self.assertEqual(self.outbox(), [["919800000031", "sent", "2"],
                                         ["919800000032", "sent", "1"]])
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM sms_messages"), "2")

    def test_gateway_down_fails_one_and_stops(self):
        self.subscribe("919800000041", NIWARI, "en")
        self.subscribe("919800000042", TIKAMGARH, "en")
        self.fake.always = 503
        p = self.notify(IN_WINDOW, HISAAB_NOTIFY_ATTEMPTS="2")
        self.assertEqual(p.returncode, 0)
        # two attempts for the first, then the batch stops: the second waits
        self.assertEqual([t[0] for t in self.fake.texts()], ["919800000041"] * 2)
        self.assertEqual(self.svc.psql("SELECT phone, status, attempts, last_error FROM sms_outbox "
                                       "ORDER BY id"),
                         [["919800000041", "failed", "2", "HTTP 503"],
                          ["919800000042", "pending", "0", ""]])
        self.fake.reset()
        self.notify(IN_WINDOW)
        self.assertEqual([t[0] for t in self.fake.texts()], ["919800000042"])
        # wrong credentials (403) stop the batch too: one row pays, the rest wait
        self.svc.psql("UPDATE sms_subscriptions SET last_notified_fin_year = NULL")
        self.svc.psql("TRUNCATE sms_outbox")
        self.fake.reset()
        self.fake.always = 403
        self.notify(IN_WINDOW, HISAAB_NOTIFY_ATTEMPTS="1")
        self.assertEqual(self.outbox(), [["919800000041", "failed", "1"],
                                         ["919800000042", "pending", "0"]])
        # a message refused for itself (4xx) fails alone; the batch goes on
        self.svc.psql("UPDATE sms_subscriptions SET last_notified_fin_year = NULL")
        self.svc.psql("TRUNCATE sms_outbox")
        self.fake.reset()
        self.fake.statuses = [400]
        self.notify(IN_WINDOW, HISAAB_NOTIFY_ATTEMPTS="1")
        self.assertEqual([t[0] for t in self.fake.texts()], ["919800000041", "919800000042"])
        self.assertEqual(self.outbox(), [["919800000041", "failed", "1"],
                                         ["919800000042", "sent", "1"]])

    def test_unreachable_gateway_times_out(self):
        self.subscribe("919800000045", NIWARI, "en")
        port = harness.free_port()  # nothing listens there
        env = self.env(IN_WINDOW, HISAAB_NOTIFY_ATTEMPTS="2",
                       KANNEL_SENDSMS_URL="http://127.0.0.1:%d/cgi-bin/sendsms" % port)
        t = time.time()
        p = harness.etl(self.svc, "notify", env=env, timeout=60)
        self.assertLess(time.time() - t, 30)
        self.assertEqual(self.svc.psql1("SELECT status FROM sms_outbox"), "failed")
        self.assertIn("failed: 1", p.stdout)
        self.assertNotIn("s3cret", p.stderr)

    def test_crash_mid_batch_resumes(self):
        phones = ["9198000000%02d" % i for i in range(51, 56)]
        for ph, d in zip(phones, [NIWARI, TIKAMGARH, CHHATARPUR, DAMOH, NIWARI]):
            self.subscribe(ph, d, "en")
        self.fake.hang_on = 3
        proc = subprocess.Popen([os.path.join(harness.BUILD, "hisaab-etl"), "notify"],
                                env=self.env(IN_WINDOW), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            self.assertTrue(self.fake.arrived.wait(20), "the third request never came")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            proc.stdout.close()
            proc.stderr.close()
        self.fake.release.set()
        # the two acknowledged are marked sent; the one in flight and the rest are pending
        self.assertEqual([r[1] for r in self.outbox()],
                         ["sent", "sent", "pending", "pending", "pending"])
        self.fake.reset()
        # the killed sender's lock dies with its connection: a new one resumes
        self.wait_unlocked()
        self.notify(IN_WINDOW)
        # only the one in flight is sent again
        self.assertEqual([t[0] for t in self.fake.texts()], phones[2:])
        self.assertEqual([r[1] for r in self.outbox()], ["sent"] * 5)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM sms_messages"), "5")

    def test_stop_after_queueing(self):
        self.subscribe("919800000061", NIWARI, "en")
        self.subscribe("919800000062", NIWARI, "hi")
        self.notify(BEFORE_WINDOW)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM sms_outbox"), "2")
        self.svc.psql("UPDATE sms_subscriptions SET active = false, stopped_at = now() "
                      "WHERE phone = '919800000061'")
        p = self.notify(IN_WINDOW)
        self.assertIn("cancelled: 1", p.stdout)
        self.assertEqual([t[0] for t in self.fake.texts()], ["919800000062"])
        self.assertEqual(self.outbox(), [["919800000061", "cancelled", "0"],
                                         ["919800000062", "sent", "1"]])

    def test_stop_during_the_batch(self):
        """A STOP that arrives while the batch is being sent still wins."""
        self.subscribe("919800000065", NIWARI, "en")
        self.subscribe("919800000066", TIKAMGARH, "en")
        self.fake.hang_on = 1
        proc = subprocess.Popen([os.path.join(harness.BUILD, "hisaab-etl"), "notify"],
                                env=self.env(IN_WINDOW), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            self.assertTrue(self.fake.arrived.wait(20), "the first request never came")
            self.svc.psql("UPDATE sms_subscriptions SET active = false WHERE "
                          "phone = '919800000066'")
            self.fake.release.set()
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn("cancelled: 1", out)
        self.assertEqual([t[0] for t in self.fake.texts()], ["919800000065"])
        self.assertEqual(self.outbox(), [["919800000065", "sent", "1"],
                                         ["919800000066", "cancelled", "0"]])

    def test_missing_figures_left_out(self):
        self.svc.psql("UPDATE monthly_figures SET average_wage_rate_per_day_per_person = NULL "
                      "WHERE district_code = %d AND fin_year = '2024-2025' AND month = 3" % DAMOH)
        try:
            self.subscribe("919800000071", DAMOH, "en")
            self.notify(IN_WINDOW)
            text = self.fake.requests[0]["text"]
            self.assertNotIn("Wage", text)
            self.assertIn("of 100 days each. Send STOP to end.", text)
        finally:
            _, rec = self.latest(DAMOH)
            self.svc.psql("UPDATE monthly_figures SET average_wage_rate_per_day_per_person = %s "
                          "WHERE district_code = %d AND fin_year = '2024-2025' AND month = 3"
                          % (rec["Average_Wage_rate_per_day_per_person"], DAMOH))

    def test_second_sender_locked_out(self):
        self.subscribe("919800000081", NIWARI, "en")
        holder = subprocess.Popen(["psql", self.svc.dsn, "-qAt", "-c",
                                   "SELECT pg_advisory_lock(%d), pg_sleep(15)" % NOTIFY_LOCK_KEY],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 10
            while self.svc.psql1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                 "AND objid = %d AND granted" % NOTIFY_LOCK_KEY) != "1":
                self.assertLess(time.time(), deadline)
                time.sleep(0.05)
            p = self.notify(IN_WINDOW, check=False)
            self.assertEqual(p.returncode, 3, p.stderr)
            self.assertEqual(self.fake.texts(), [])
            self.assertEqual(self.svc.psql1("SELECT status FROM sms_outbox"), "pending")
        finally:
            holder.kill()
            holder.wait(10)
            # the server side of the killed psql still sleeps with the lock: end it
            self.svc.psql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE "
                          "locktype = 'advisory' AND objid = %d" % NOTIFY_LOCK_KEY)
            self.wait_unlocked()

    def test_config_file(self):
        """-c kore.conf: the sendsms URL, its user and the templates (under assets_dir) come from the
        hisaab block, from a working directory that has neither."""
        self.subscribe("919800000095", NIWARI, "en")
        with open(os.path.join(ROOT, "kore.conf")) as f:
            conf = f.read()
        path = os.path.join(self.tmp, "kore.conf")
        lines = [ln for ln in conf.splitlines()
                 if not ln.strip().startswith(("assets_dir", "kannel_sendsms_"))]
        i = next(i for i, ln in enumerate(lines) if ln.strip().startswith("hisaab {"))
        # templates of our own, to see that these are the ones used
        assets = os.path.join(self.tmp, "assets-x")
        os.makedirs(os.path.join(assets, "templates"), exist_ok=True)
        for lang in ("en", "hi"):
            with open(os.path.join(ROOT, "assets", "templates", lang + ".txt")) as f:
                t = f.read().replace("New NREGA figures for", "Fresh NREGA figures for")
            with open(os.path.join(assets, "templates", lang + ".txt"), "w") as f:
                f.write(t)
        lines[i + 1:i + 1] = ["\tkannel_sendsms_url %s" % self.fake.url,
                              "\tkannel_sendsms_user conf-user",
                              "\tassets_dir %s" % assets]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        env = self.env(IN_WINDOW, url=False)
        env.pop("KANNEL_SENDSMS_USER")
        p = subprocess.run([os.path.join(harness.BUILD, "hisaab-etl"), "-c", path, "notify"],
                           env=env, cwd=self.tmp, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.fake.texts(), [
            ("919800000095", self.expected(NIWARI, "en").replace("New NREGA", "Fresh NREGA"))])
        self.assertEqual(self.fake.requests[0]["username"], "conf-user")
        self.assertEqual(self.fake.requests[0]["password"], "s3cret")

    def test_configuration_errors(self):
        self.subscribe("919800000091", NIWARI, "en")
        p = harness.etl(self.svc, "notify", env=self.env(IN_WINDOW, url=False), check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("KANNEL_SENDSMS_URL", p.stderr)
        p = self.notify("tomorrow at nine", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("HISAAB_NOW", p.stderr)
        self.assertEqual(self.fake.texts(), [])


try:
    import kannel
    HAVE_KANNEL = all(os.access(b, os.X_OK) for b in (kannel.BEARERBOX, kannel.SMSBOX,
                                                      kannel.FAKESMSC))
except ImportError:
    HAVE_KANNEL = False


@unittest.skipUnless(HAVE_KANNEL, "Kannel (bearerbox, smsbox, fakesmsc) is not installed")
class RealKannelTest(unittest.TestCase):
    """The monthly messages through a real Kannel's sendsms (tests/kannel.py) to its fake
    SMS centre: the phone gets the English text as GSM-7 and the Hindi one as UCS-2 (in
    concatenated parts when it needs two)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="hisaab-notify-kannel-")
        cls.svc = harness.Services(redis=False)
        harness.etl(cls.svc, "run", "--source", SAMPLE)
        # nothing texts in here, so the sms-service URL is never called
        cls.k = kannel.Kannel(cls.tmp.name, "http://127.0.0.1:%d/sms" % harness.free_port())
        cls.k.start()
        _, records = harness.read_csv(SAMPLE)
        cls.best = harness.best_snapshots(records)

    @classmethod
    def tearDownClass(cls):
        cls.k.stop()
        cls.svc.close()
        cls.tmp.cleanup()

    def message(self, timeout=10.0):
        try:
            return self.k.wait_message(timeout)
        except Exception:
            self.fail("nothing reached fakesmsc in %.0fs\n%s" % (timeout, self.k.logs()))

    def expected(self, district, lang):
        m = max((k[2] for k in self.best if k[0] == district and k[1] == "2024-2025"),
                key=fy_month)
        col = "name_hi" if lang == "hi" else "name_en"
        name = self.svc.psql1("SELECT %s FROM districts WHERE district_code = %d"
                              % (col, district))
        return expected_text(lang, name, "2024-2025", m, self.best[(district, "2024-2025", m)])

    def test_monthly_messages_reach_the_phone(self):
        self.svc.psql("INSERT INTO sms_subscriptions (phone, phone_hash, state_code, "
                      "district_code, lang) VALUES ('919812345601', 'k1', 17, %d, 'en'), "
                      "('919812345602', 'k2', 17, %d, 'hi')" % (NIWARI, TIKAMGARH))
        env = self.svc.env(HISAAB_NOW=IN_WINDOW, KANNEL_SENDSMS_URL=self.k.sendsms_url(),
                           KANNEL_SENDSMS_USER=self.k.sendsms_user,
                           KANNEL_SENDSMS_PASSWORD=self.k.sendsms_password,
                           HISAAB_NOTIFY_TIMEOUT_MS="5000")
        p = harness.etl(self.svc, "notify", env=env, timeout=60)
        self.assertIn("sent: 2", p.stdout)
        got = {}
        while not (got.get("919812345601") and got.get("919812345602") and
                   (got["919812345602"][0].udh is None or
                    len(got["919812345602"]) == got["919812345602"][0].udh[4])):
            sms = self.message()
            got.setdefault(sms.receiver, []).append(sms)
        en = got["919812345601"]
        self.assertEqual(len(en), 1)
        self.assertEqual((en[0].text, en[0].coding, en[0].udh),
                         (self.expected(NIWARI, "en"), 0, None))
        hi = sorted(got["919812345602"], key=lambda s: s.udh[5] if s.udh else 0)
        want = self.expected(TIKAMGARH, "hi")
        self.assertEqual(b"".join(s.data for s in hi).decode("utf-16-be"), want)
        if len(want) > 70:
            self.assertEqual(len(hi), 2)
        else:
            self.assertEqual(hi[0].coding, 2)
        self.assertTrue(self.k.no_message(1.0))
        self.assertEqual(self.svc.psql("SELECT status FROM sms_outbox ORDER BY id"),
                         [["sent"], ["sent"]])
        # a second call sends nothing more
        harness.etl(self.svc, "notify", env=env, timeout=60)
        self.assertTrue(self.k.no_message(1.5))


@unittest.skipUnless(HAVE_KANNEL, "Kannel (bearerbox, smsbox, fakesmsc) is not installed")
class SubThenReloadTest(unittest.TestCase):
    """The whole path of the issue: a phone texts SUB Niwari to the real server through a
    real Kannel, an ETL run loads a new month, and the phone gets the monthly message
    through Kannel's sendsms, once."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="hisaab-notify-e2e-")
        cls.svc = harness.Services()
        harness.etl(cls.svc, "run", "--source", SAMPLE)
        cls.srv = harness.HisaabServer(cls.svc, workers=1,
                                       env={"HISAAB_SECRET": "notify-e2e-secret"}).start()
        deadline = time.time() + 15
        while "districts indexed" not in cls.srv.stderr() and time.time() < deadline:
            time.sleep(0.05)
        cls.k = kannel.Kannel(cls.tmp.name,
                              "http://127.0.0.1:%d/sms/kannel" % cls.srv.port).start()
        cls.header, records = harness.read_csv(SAMPLE)
        cls.best = harness.best_snapshots(records)

    @classmethod
    def tearDownClass(cls):
        cls.k.stop()
        cls.srv.stop()
        cls.svc.close()
        cls.tmp.cleanup()

    def message(self, timeout=10.0):
        try:
            return self.k.wait_message(timeout)
        except Exception:
            self.fail("nothing reached fakesmsc in %.0fs\n%s\n%s" % (
                timeout, self.k.logs(), self.srv.stderr()[-3000:]))

    def test_sub_then_new_month_reaches_the_phone(self):
        phone = "919876500001"
        self.k.send_from_phone(phone, "SUB Niwari")
        reply = self.message()
        self.assertEqual((reply.receiver, reply.text),
                         (phone, "You will get NREGA figures for Niwari every month. Send STOP "
                                 "to end."))
        deadline = time.time() + 10
        while self.svc.psql1("SELECT count(*) FROM sms_subscriptions WHERE active") != "1":
            self.assertLess(time.time(), deadline, "the subscription was not stored")
            time.sleep(0.05)

        # April of the next financial year arrives through an ETL run
        _, rec = max(((m, r) for (d, fy, m), r in self.best.items()
                      if d == NIWARI and fy == "2024-2025"), key=lambda x: fy_month(x[0]))
        rec = dict(rec, fin_year="2025-2026", month="April", Total_Households_Worked="6543",
                   Average_days_of_employment_provided_per_Household="6.5",
                   Average_Wage_rate_per_day_per_person="261")
        path = os.path.join(self.tmp.name, "april.csv")
        with open(path, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.header)
            w.writeheader()
            w.writerow(rec)
        env = self.svc.env(HISAAB_NOW=IN_WINDOW, KANNEL_SENDSMS_URL=self.k.sendsms_url(),
                           KANNEL_SENDSMS_USER=self.k.sendsms_user,
                           KANNEL_SENDSMS_PASSWORD=self.k.sendsms_password)
        p = harness.etl(self.svc, "run", "--source", path, env=env)
        sms = self.message()
        self.assertEqual(sms.receiver.lstrip("+"), phone, p.stderr)
        self.assertEqual((sms.text, sms.coding), (
            "New NREGA figures for Niwari Apr 2025: 6,543 families got work. Avg 7 of 100 days "
            "each. Wage Rs 261/day. Send STOP to end.", 0))
        # once: neither `notify` nor the same run again sends it twice
        harness.etl(self.svc, "notify", env=env)
        harness.etl(self.svc, "run", "--source", path, env=env)
        self.assertTrue(self.k.no_message(1.5))
        self.assertEqual(self.svc.psql("SELECT direction, kind FROM sms_messages "
                                       "WHERE kind = 'monthly'"), [["out", "monthly"]])


if __name__ == "__main__":
    unittest.main()
