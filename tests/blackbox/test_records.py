"""End to end: nothing the SMS webhooks acknowledge is lost (data/journal.h), and every
district is answered from the worker's directory (data/directory.h) with Postgres and
Redis both down. Real Postgres and Redis (harness.Services), the sample loaded by
hisaab-etl, the server's webhooks called over HTTP as Kannel and Twilio call them.

- Bad neighbours: signed Twilio messages whose Body is not UTF-8, sent together with
  ordinary Kannel messages, cost no other message its record (they are repaired).
- Back-pressure: past what the journal holds (journal_queue_max, small here) the webhook
  answers 503 before acknowledging; everything it did acknowledge is recorded once.
- Shutdown: records still queued when the server stops with Postgres down are spooled
  and written exactly once by the next start.
"""
import base64
import concurrent.futures
import glob
import hashlib
import hmac
import os
import time
import unittest
import urllib.parse

import harness

SECRET = "records-test-secret"
TOKEN = "records-twilio-token"
SAMPLE = os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv")



def kannel(srv, number, text, msgid):
    q = urllib.parse.urlencode({"from": number, "to": "56767", "text": text, "id": msgid,
                                "charset": "UTF-8", "coding": "0"})
    return srv.get("/sms/kannel?" + q)


def twilio_raw(srv, params):
    """A signed Twilio webhook whose parameter values are bytes (any bytes)."""
    url = "http://127.0.0.1:%d/sms/twilio" % srv.port
    data = url.encode() + b"".join(k.encode() + params[k] for k in sorted(params))
    sig = base64.b64encode(hmac.new(TOKEN.encode(), data, hashlib.sha1).digest()).decode()
    body = "&".join("%s=%s" % (k, urllib.parse.quote_from_bytes(v)) for k, v in params.items())
    return srv.request("POST", "/sms/twilio", body=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded",
                                "X-Twilio-Signature": sig})


def wait_for(fn, timeout=20.0):
    return harness.wait_for(fn, timeout)


class RecordsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", SAMPLE, "--format", "csv")
        cls.env = {"HISAAB_SECRET": SECRET, "TWILIO_AUTH_TOKEN": TOKEN}

    @classmethod
    def tearDownClass(cls):
        cls.svc.close()

    def server(self, **kw):
        srv = harness.HisaabServer(self.svc, env=self.env, **kw).start()
        self.assertTrue(wait_for(lambda: srv.stderr().count("districts indexed") >= 2, 10),
                        srv.stderr())
        return srv

    def count(self, like, direction=None):
        sql = "SELECT count(*) FROM sms_messages WHERE gateway_message_id LIKE '%s'" % like
        if direction:
            sql += " AND direction = '%s'" % direction
        return int(self.svc.psql1(sql) or 0)

    def test_bad_neighbours_cost_nothing(self):
        srv = self.server()
        try:
            with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
                jobs = [pool.submit(kannel, srv, "91987650%04d" % i, "NREGA Niwari", "nb-%d" % i)
                        for i in range(60)]
                bad = [pool.submit(twilio_raw, srv, {
                    "MessageSid": b"SMbad%d" % i, "From": b"+9198765100%02d" % i,
                    "To": b"+15005550006", "Body": b"NREGA \xff\xfe Niwari \xc3"})
                    for i in range(3)]
                answers = [j.result() for j in jobs + bad]
            self.assertEqual([a[0] for a in answers], [200] * 63)
            self.assertTrue(wait_for(lambda: self.count("nb-%") == 120), self.count("nb-%"))
            self.assertTrue(wait_for(lambda: self.count("SMbad%", "in") == 3),
                            self.count("SMbad%"))
            # The invalid bytes were replaced, not dropped with the message.
            texts = [r[0] for r in self.svc.psql(
                "SELECT text FROM sms_messages WHERE gateway_message_id LIKE 'SMbad%'"
                " AND direction = 'in'")]
            self.assertEqual(len(texts), 3)
            for t in texts:
                self.assertIn("\ufffd", t)
                self.assertIn("Niwari", t)
            self.assertNotIn("dropped", srv.stderr())
        finally:
            srv.stop()

    def test_back_pressure_when_the_queue_is_full(self):
        srv = self.server(extra_hisaab="\tjournal_queue_max 20\n")
        try:
            self.svc.pg.stop()
            try:
                codes = [kannel(srv, "919876520%03d" % i, "NREGA Niwari", "bp-%d" % i)
                         for i in range(30)]
            finally:
                self.svc.pg.start()
            statuses = [c[0] for c in codes]
            self.assertIn(200, statuses)
            self.assertIn(503, statuses)
            self.assertEqual(set(statuses), {200, 503})
            refused = [c for c in codes if c[0] == 503]
            self.assertTrue(all(h.get("Retry-After") for _, h, _ in refused))
            acked = ["bp-%d" % i for i, c in enumerate(codes) if c[0] == 200]
            # Every acknowledged message, in and out, once; none of the refused ones.
            self.assertTrue(wait_for(lambda: self.count("bp-%") == 2 * len(acked), 30),
                            (self.count("bp-%"), len(acked)))
            got = {r[0] for r in self.svc.psql(
                "SELECT gateway_message_id FROM sms_messages WHERE gateway_message_id"
                " LIKE 'bp-%'")}
            self.assertEqual(got, set(acked))
            # With the queue written, messages are taken again.
            self.assertTrue(wait_for(lambda: kannel(srv, "919876529999", "HELP",
                                                    "bp-after")[0] == 200, 10))
        finally:
            srv.stop()

    def test_shutdown_with_postgres_down_spools_then_replays_once(self):
        spool = os.path.join(self.svc.tmp, "spool-shared")
        srv = self.server(spool_dir=spool)
        self.svc.pg.stop()
        try:
            for i in range(10):
                st, _, body = kannel(srv, "919876530%03d" % i, "NREGA Niwari", "sp-%d" % i)
                self.assertEqual(st, 200)
                self.assertIn(b"families got work", body)
            srv.stop()
            self.assertTrue(glob.glob(os.path.join(spool, "*.spool")), os.listdir(spool))
        finally:
            self.svc.pg.start()
        srv2 = self.server(spool_dir=spool)
        try:
            self.assertTrue(wait_for(lambda: self.count("sp-%") == 20, 30), self.count("sp-%"))
            self.assertTrue(wait_for(lambda: not glob.glob(os.path.join(spool, "*")), 10),
                            os.listdir(spool))
        finally:
            srv2.stop()
        # A third start finds nothing left to replay.
        srv3 = self.server(spool_dir=spool)
        try:
            time.sleep(1.0)
            self.assertEqual(self.count("sp-%"), 20)
        finally:
            srv3.stop()

    def test_caller_memory_survives_redis(self):
        """The channel core's unit tests with this Postgres and Redis: a caller's language
        and district, remembered on one channel, are recalled on another, from Postgres
        once Redis has lost them (tests/unit/test_channel.c)."""
        import subprocess
        p = subprocess.run([os.path.join(harness.BUILD, "tests", "test_channel")],
                           env=self.svc.env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("[       OK ] test_memory_recall", p.stdout + p.stderr)
        self.assertNotIn("SKIPPED", p.stdout + p.stderr)

    def test_zz_postgres_and_redis_down_every_district_answers(self):
        srv = self.server()
        try:
            self.svc.pg.stop()
            self.svc.stop_redis()
            try:
                # Districts nobody has asked this server for.
                st, _, body = kannel(srv, "919876540001", "NREGA Tikamgarh", "down-1")
                self.assertEqual(st, 200)
                self.assertTrue(body.startswith(b"NREGA Tikamgarh "), body)
                self.assertIn(b"families got work", body)
                st, _, body = srv.get("/api/v1/districts/1707/summary")
                self.assertEqual(st, 200, body)
                st, _, body = srv.get("/api/v1/districts/1707/summary?lang=hi")
                self.assertEqual(st, 200, body)
            finally:
                self.svc.start_redis()
                self.svc.pg.start()
            self.assertTrue(wait_for(lambda: self.count("down-1") == 2, 30))
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()
