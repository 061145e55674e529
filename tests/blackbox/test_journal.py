"""journal.c against a real PostgreSQL.

build/tests/test_journal runs with DATABASE_URL set and HISAAB_JOURNAL_CONTROL=1,
answering its "CONTROL <action>" lines by stopping and starting Postgres, and must run
every test (none skipped) and pass. The scratch tables it writes are its own (jt_*).
"""
import os
import unittest

import harness

BIN = os.path.join(harness.BUILD, "tests", "test_journal")
TOTAL_TIMEOUT = 300
TESTS = 22


class JournalTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(BIN):
            raise unittest.SkipTest("%s not built (make %s)" % (BIN, BIN))
        cls.svc = harness.Services(redis=False)

    def control(self, action):
        if action == "pg-stop":
            self.svc.pg.stop()
        elif action == "pg-start":
            self.svc.pg.start()
        else:
            raise AssertionError("unknown control action %r" % action)

    def run_driver(self):
        return harness.run_controlled(BIN, self.svc.env(HISAAB_JOURNAL_CONTROL=1), self.control, TOTAL_TIMEOUT)

    def test_driver(self):
        rc, out, actions = self.run_driver()
        self.assertEqual(actions, ["pg-stop", "pg-start", "pg-stop", "pg-start"], out)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"\[  PASSED  \] %d test\(s\)\." % TESTS)
        self.assertNotIn("SKIPPED", out)
        self.assertNotIn("FAILED", out)
        # The outage and the recovery were logged; the refused records were named.
        self.assertIn("postgres away", out)
        self.assertIn("postgres answers again", out)
        self.assertIn("Postgres refused a record (23514", out)
        # The log never quotes a refused record (Postgres's DETAIL names its fields).
        self.assertNotIn("Failing row contains", out)
        # The scratch tables hold what the binary last left there.
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM jt_batch"), "1500")
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM jt_keyed"), "3000")


if __name__ == "__main__":
    unittest.main()
