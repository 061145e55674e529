"""Backups for real: load the sample and a journal, take a backup with scripts/backup,
destroy the database, restore it with scripts/restore, and find every figure, every
journal row, every key and audit row back, bit for bit, with the audit log still
append-only. Also: a damaged backup and a restore over a live database are refused.
"""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness

SCRIPTS = os.path.join(harness.ROOT, "scripts")
ADMIN = os.path.join(harness.BUILD, "hisaab-admin")

# Every table whose rows must come back, each digested in the order of its rows' text.
TABLES = ["monthly_figures", "state_monthly_figures", "districts", "states",
          "data_quality_flags", "etl_runs", "data_version", "sms_messages", "sms_subscriptions",
          "voice_steps", "voice_calls", "voice_callbacks", "ussd_steps", "ussd_sessions",
          "callers", "api_keys", "audit_log", "ref_districts", "ref_pincodes"]


class BackupTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services(redis=False)
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", harness.SAMPLE, "--format", "csv")
        cls.svc.psql(
            "INSERT INTO sms_messages (direction, gateway, gateway_message_id, phone_hash, text, "
            "district_code, lang) SELECT 'in', 'kannel', 'm' || i, md5(i::text), 'NREGA ' || i, "
            "1752, 'hi' FROM generate_series(1, 500) i;"
            "INSERT INTO sms_subscriptions (phone, phone_hash, state_code, district_code) "
            "VALUES ('+919812345678', 'h1', 17, 1752);"
            "INSERT INTO voice_calls (provider, call_id, phone_hash, steps) VALUES "
            "('twilio', 'CA1', 'h1', 2);"
            "INSERT INTO voice_steps (provider, call_id, step, at, direction, phone_hash, stage, "
            "keys) VALUES ('twilio', 'CA1', 1, now(), 'in', 'h1', 'start', ''),"
            "('twilio', 'CA1', 2, now(), 'in', 'h1', 'pin', '[PIN]');"
            "INSERT INTO ussd_sessions (session_hash, gateway, phone_hash, started_at, last_at, "
            "steps, last_step) VALUES ('s1', 'at', 'h1', now(), now(), 1, 1);"
            "INSERT INTO ussd_steps (session_hash, step, at, gateway, phone_hash, screen, shown, "
            "ended) VALUES ('s1', 1, now(), 'at', 'h1', 'start', 'main', false);"
            "INSERT INTO callers (phone_hash, lang) VALUES ('h1', 'hi')")
        p = subprocess.run([ADMIN, "keys", "create", "--name", "backup-test", "--role", "admin"],
                           env=cls.svc.env(), capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        cls.tmp = tempfile.mkdtemp(prefix="hisaab-backup-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        cls.svc.close()

    def digests(self):
        out = {}
        for t in TABLES:
            out[t] = self.svc.psql1("SELECT count(*) || ':' || COALESCE(md5(string_agg(x::text, "
                                    "'|' ORDER BY x::text)), '') FROM %s x" % t)
        return out

    def script(self, name, *args, env=None, check=True):
        p = subprocess.run([os.path.join(SCRIPTS, name)] + list(args), capture_output=True,
                           text=True, timeout=600, env=env or self.svc.env())
        if check:
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p

    def drop_database(self):
        self.svc.pg.psql_admin("DROP DATABASE hisaab WITH (FORCE)")

    def test_backup_destroy_restore(self):
        before = self.digests()
        self.assertTrue(before["monthly_figures"].startswith(self.svc.psql1(
            "SELECT count(*) FROM monthly_figures") + ":"))
        self.assertTrue(before["sms_messages"].startswith("500:"))
        # The ETL run (started, ok) and the key.
        self.assertTrue(before["audit_log"].startswith("3:"), before["audit_log"])
        d = os.path.join(self.tmp, "b1")
        p = self.script("backup", d)
        self.assertIn("backup: " + d, p.stdout)
        for f in ("hisaab.dump", "kore.conf", "manifest", "SHA256SUMS"):
            self.assertTrue(os.path.exists(os.path.join(d, f)), f)
        manifest = open(os.path.join(d, "manifest")).read()
        self.assertIn("rows sms_messages 500", manifest)
        self.assertIn("migration 11 ", manifest)
        self.assertIn("secret_fingerprint ", manifest)
        self.assertNotIn("harness-test-secret", manifest)

        self.drop_database()
        self.assertNotEqual(subprocess.run(["psql", self.svc.dsn, "-c", "SELECT 1"],
                                           capture_output=True).returncode, 0)
        t0 = time.monotonic()
        p = self.script("restore", d)
        took = time.monotonic() - t0
        self.assertIn("every table's rows as in the backup", p.stdout)
        self.assertEqual(self.digests(), before)
        print("\nrestore of the sample and 500 journal rows took %.1f s" % took)
        # The restored audit log is append-only still.
        r = subprocess.run(["psql", self.svc.dsn, "-v", "ON_ERROR_STOP=1", "-c",
                            "DELETE FROM audit_log"], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("append-only", r.stderr)
        # And the ETL sees the same data.
        st = harness.etl(self.svc, "status").stdout
        self.assertIn("ok", st)

    def test_refusals(self):
        d = os.path.join(self.tmp, "b2")
        self.script("backup", d)
        # Over a database that has tables: refused unless asked for.
        p = self.script("restore", d, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("HISAAB_RESTORE_CLEAN=1", p.stderr)
        # Another secret: the hashes would match nobody; said so.
        p = self.script("restore", d, check=False,
                        env=self.svc.env(HISAAB_SECRET="another-secret", HISAAB_RESTORE_CLEAN=1))
        self.assertEqual(p.returncode, 1)
        self.assertIn("HISAAB_SECRET is not the one", p.stderr)
        # A damaged dump.
        with open(os.path.join(d, "hisaab.dump"), "r+b") as f:
            f.seek(100)
            f.write(b"\0\0\0\0")
        p = self.script("restore", d, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("does not match", p.stderr)


if __name__ == "__main__":
    unittest.main()
