"""pg.c, rds.c, store.c and api_health.c against a real PostgreSQL and Redis.

build/tests/test_api_health runs with DATABASE_URL/REDIS_URL set (schema applied) and
must pass all its tests. build/tests/test_backends runs with
DATABASE_URL/REDIS_URL set and HISAAB_BACKENDS_CONTROL=1, answering its "CONTROL <action>"
lines by stopping and starting the services, and checks cmocka's summary: every test ran
(none skipped) and passed.
"""
import os
import subprocess
import unittest

import harness

BIN = os.path.join(harness.BUILD, "tests", "test_backends")
HEALTH_BIN = os.path.join(harness.BUILD, "tests", "test_api_health")
SCHEMA = os.path.join(harness.ROOT, "sql", "001_schema.sql")
TOTAL_TIMEOUT = 180


class BackendsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path in (BIN, HEALTH_BIN):
            if not os.path.exists(path):
                raise unittest.SkipTest("%s not built (make %s)" % (path, path))
        cls.svc = harness.Services()
        subprocess.run(["psql", cls.svc.dsn, "-v", "ON_ERROR_STOP=1", "-q", "-f", SCHEMA],
                       check=True, capture_output=True)

    def control(self, action):
        svc = self.svc
        if action == "pg-stop":
            svc.pg.stop()
        elif action == "pg-start":
            svc.pg.start()
        elif action == "redis-stop":
            svc.stop_redis()
        elif action == "redis-start":
            svc.start_redis()
        else:
            raise AssertionError("unknown control action %r" % action)

    def run_driver(self):
        return harness.run_controlled(BIN, self.svc.env(HISAAB_BACKENDS_CONTROL=1), self.control, TOTAL_TIMEOUT)

    def test_api_health(self):
        p = subprocess.run([HEALTH_BIN], env=self.svc.env(), capture_output=True, text=True,
                           timeout=120)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 0, out)
        self.assertRegex(out, r"\[  PASSED  \] 7 test\(s\)\.")
        self.assertNotIn("SKIPPED", out)
        self.assertNotIn("FAILED", out)

    def test_driver(self):
        rc, out, actions = self.run_driver()
        self.assertEqual(actions, ["pg-stop", "pg-start", "redis-stop", "redis-start"], out)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"\[  PASSED  \] 23 test\(s\)\.")
        self.assertNotIn("SKIPPED", out)
        self.assertNotIn("FAILED", out)
        # Each failure test logged the outage and the recovery.
        self.assertIn("postgres unavailable", out)
        self.assertIn("postgres available again", out)
        self.assertIn("redis available again", out)


if __name__ == "__main__":
    unittest.main()
