"""End to end: hisaab-etl loads the real sample into a real Postgres, the real server
answers /api/v1/health, /api/v1/etl/status and /metrics, and health follows Redis and
Postgres being stopped and started again.
"""
import os
import re
import time
import unittest

import harness

SAMPLE = os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv")


def sample_records():
    with open(SAMPLE, encoding="utf-8") as f:
        return sum(1 for _ in f) - 1


def wait_for(fn, timeout=10.0):
    """Poll fn() until it returns a true value; returns the last value."""
    deadline = time.time() + timeout
    value = fn()
    while not value and time.time() < deadline:
        time.sleep(0.1)
        value = fn()
    return value


class HealthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        cls.srv = harness.HisaabServer(cls.svc).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.svc.close()

    def health(self):
        return self.srv.get_json("/api/v1/health")

    def test_1_no_data_is_degraded(self):
        status, doc = self.health()
        self.assertEqual(status, 200)
        self.assertEqual(doc["status"], "degraded")
        self.assertFalse(doc["data"]["loaded"])
        self.assertIn("no_data", doc["reasons"])
        self.assertEqual(doc["checks"]["postgres"]["status"], "up")
        self.assertEqual(doc["checks"]["redis"]["status"], "up")

    def test_2_loaded_is_ok_and_status_reports_run(self):
        harness.etl(self.svc, "run", "--source", SAMPLE, "--format", "csv")
        status, doc = self.health()
        self.assertEqual(status, 200)
        self.assertEqual(doc["status"], "ok", doc)
        self.assertTrue(doc["data"]["loaded"])
        self.assertGreaterEqual(doc["data"]["version"], 1)
        self.assertLess(doc["data"]["age_seconds"], 600)

        status, st = self.srv.get_json("/api/v1/etl/status")
        self.assertEqual(status, 200)
        self.assertEqual(st["status"], "ok")
        last = st["data"]["runs"][0]
        self.assertEqual(last["status"], "ok")
        self.assertEqual(last["records_read"], sample_records())
        # 42 districts x their months, one row per district-month after snapshot choice.
        months = int(self.svc.psql1("SELECT count(*) FROM monthly_figures"))
        self.assertEqual(last["rows_changed"], months)

        status, _, body = self.srv.get("/metrics")
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertRegex(text, r"(?m)^hisaab_etl_last_run_success 1$")
        m = re.search(r"(?m)^hisaab_etl_rows_loaded_total (\d+)$", text)
        self.assertIsNotNone(m)
        self.assertEqual(int(m.group(1)), months)
        m = re.search(r"(?m)^hisaab_etl_last_run_timestamp_seconds (\d+)$", text)
        self.assertLess(abs(int(m.group(1)) - time.time()), 600)

        # The first summary is read from Postgres (a miss), a repeat comes from a cache.
        def counter(name):
            _, _, b = self.srv.get("/metrics")
            return int(re.search(r"(?m)^%s (\d+)$" % name, b.decode()).group(1))
        hits, misses = counter("hisaab_cache_hits_total"), counter("hisaab_cache_misses_total")
        for _ in range(4):
            self.assertEqual(self.srv.get("/api/v1/districts/1752/summary")[0], 200)
        self.assertGreaterEqual(counter("hisaab_cache_misses_total"), misses + 1)
        self.assertGreaterEqual(counter("hisaab_cache_hits_total"), hits + 1)

    def test_3_redis_down_is_degraded_then_recovers(self):
        self.svc.stop_redis()
        try:
            status, doc = self.health()
            self.assertEqual(status, 200)
            self.assertEqual(doc["status"], "degraded")
            self.assertEqual(doc["checks"]["redis"]["status"], "down")
            self.assertIn("redis_down", doc["reasons"])
        finally:
            self.svc.start_redis()
        doc = wait_for(lambda: (lambda d: d if d["status"] == "ok" else None)(self.health()[1]),
                       timeout=15)
        self.assertIsNotNone(doc, "health did not return to ok after Redis came back")

    def test_4_postgres_down(self):
        self.svc.pg.stop()
        try:
            status, doc = self.health()
            self.assertEqual(status, 200)
            self.assertEqual(doc["status"], "degraded")
            self.assertEqual(doc["checks"]["postgres"]["status"], "down")
            status, err = self.srv.get_json("/api/v1/etl/status")
            self.assertEqual(status, 503)
            self.assertEqual(err["status"], "error")
            # Both down: nothing can be answered from the stores.
            self.svc.stop_redis()
            status, doc = self.health()
            self.assertEqual(status, 503)
            self.assertEqual(doc["status"], "down")
            # Metrics are still served (from the worker's last values).
            status, _, _ = self.srv.get("/metrics")
            self.assertEqual(status, 200)
        finally:
            self.svc.pg.start()
            self.svc.start_redis()
        doc = wait_for(lambda: (lambda d: d if d["status"] == "ok" else None)(self.health()[1]),
                       timeout=20)
        self.assertIsNotNone(doc, "health did not return to ok after Postgres came back")

    def test_5_stale_data_is_degraded(self):
        # Older than max_data_age_hours (kore.conf: 2160 h = 90 days).
        self.svc.psql("UPDATE monthly_figures SET loaded_at = now() - interval '100 days';"
                      "UPDATE etl_runs SET finished_at = now() - interval '100 days'")
        status, doc = self.health()
        self.assertEqual(status, 200)
        self.assertEqual(doc["status"], "degraded")
        self.assertIn("data_stale", doc["reasons"])
        self.assertGreater(doc["data"]["age_seconds"], 90 * 86400)


if __name__ == "__main__":
    unittest.main()
