"""End to end through PgBouncer in transaction mode (Debian's pgbouncer): the server keeps
no session state, so every path works when each transaction may land on another server
connection. API reads, SMS webhooks (journal), USSD sessions (journal, caller memory) and
missed calls (the durable callback queue) all go through a pool of two server connections
shared by two workers, and every acknowledged record is written once.
"""
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import harness
import ussdsim

SECRET = "pgbouncer-test-secret"
KEY = "pgb-key"
wait_for = harness.wait_for
PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"

INI = """\
[databases]
hisaab = host=127.0.0.1 port=%(pg)d dbname=hisaab user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %(port)d
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 2
max_client_conn = 200
ignore_startup_parameters = options
admin_users = postgres
logfile = %(dir)s/pgbouncer.log
pidfile = %(dir)s/pgbouncer.pid
"""


@unittest.skipUnless(os.path.exists(PGBOUNCER), "pgbouncer is not installed (make deps)")
class PgBouncerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", harness.SAMPLE, "--format", "csv")
        cls.dir = tempfile.mkdtemp(prefix="hisaab-pgb-")
        os.chmod(cls.dir, 0o777)
        cls.port = harness.free_port()
        ini = os.path.join(cls.dir, "pgbouncer.ini")
        with open(ini, "w") as f:
            f.write(INI % {"pg": cls.svc.pg.port, "port": cls.port, "dir": cls.dir})
        os.chmod(ini, 0o644)
        # pgbouncer refuses to run as root: as the postgres user, like the harness's server.
        cls.pgb = subprocess.Popen([PGBOUNCER, ini], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, preexec_fn=harness._as_pg_user())
        harness.wait_port(cls.port)
        dsn = "postgresql://postgres@127.0.0.1:%d/hisaab?connect_timeout=3" % cls.port
        cls.srv = harness.HisaabServer(cls.svc, workers=2,
                                       env={"HISAAB_SECRET": SECRET, "DATABASE_URL": dsn,
                                            "VOICE_WEBHOOK_KEY": KEY})
        cls.srv.start()
        wait_for(lambda: cls.srv.get_json("/api/v1/districts/1752/summary")[0] == 200,
                 timeout=30)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.pgb.terminate()
        cls.pgb.wait(timeout=10)
        cls.svc.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_every_path_through_the_pooler_and_every_record_once(self):
        # The pooler is really in the way: the server's connections are its clients, and
        # it holds at most its two server connections for them.
        st, doc = self.srv.get_json("/api/v1/health")
        self.assertEqual(doc["checks"]["postgres"]["status"], "up", doc)
        out = subprocess.run(["psql", "postgresql://postgres@127.0.0.1:%d/pgbouncer" % self.port,
                              "-qAtc", "SHOW CLIENTS"], capture_output=True, text=True,
                             timeout=10).stdout
        self.assertGreaterEqual(sum(1 for line in out.splitlines() if "|hisaab|" in line), 2, out)
        for path in ("/api/v1/states", "/api/v1/districts?q=niwari",
                     "/api/v1/districts/1752/history?months=12",
                     "/api/v1/states/17/comparison?metric=persondays"):
            st, doc = self.srv.get_json(path)
            self.assertEqual(st, 200, (path, doc))
        # Writes through the journal and the callback queue, from both workers.
        acked = 0
        for i in range(60):
            q = urllib.parse.urlencode({"from": "9198700%05d" % i, "text": "NREGA Niwari",
                                        "id": "pgb-%d" % i})
            st, h, body = self.srv.get("/sms/kannel?" + q)
            self.assertEqual(st, 200, body)
            acked += 1
        steps = 0
        for i in range(10):
            a = ussdsim.AtSession(self.srv.port, "PGB%03d" % i, "+9197800%05d" % i)
            self.assertEqual(a.start().lines[0], "Hisaab NREGA")
            s = a.press("3")
            s = a.press("niwari")
            self.assertIn("NREGA Niwari", s.text)
            steps += 3
            a.close()
        calls = 0
        for i in range(20):
            body = '{"from": "+9197900%05d", "id": "pgb-call-%d"}' % (i, i)
            st, h, out = self.srv.request("POST", "/missedcall/generic?key=" + KEY, body,
                                          {"Content-Type": "application/json"})
            self.assertIn(st, (200, 202), out)
            calls += 1
        self.assertTrue(wait_for(lambda: int(self.svc.psql1(
            "SELECT count(*) FROM sms_messages WHERE gateway_message_id LIKE 'pgb-%'"))
            == 2 * acked, timeout=30))
        self.assertTrue(wait_for(lambda: int(self.svc.psql1("SELECT count(*) FROM ussd_steps")) == steps,
                                 timeout=30))
        self.assertTrue(wait_for(lambda: int(self.svc.psql1("SELECT count(*) FROM voice_callbacks")) == calls,
                                 timeout=30))
        time.sleep(1)  # nothing more arrives late: each once
        out = subprocess.run(["psql", "postgresql://postgres@127.0.0.1:%d/pgbouncer" % self.port,
                              "-qAtc", "SHOW SERVERS"], capture_output=True, text=True,
                             timeout=10).stdout
        self.assertLessEqual(sum(1 for line in out.splitlines() if "|hisaab|" in line), 2, out)
        self.assertEqual(int(self.svc.psql1(
            "SELECT count(*) FROM sms_messages WHERE gateway_message_id LIKE 'pgb-%'")),
            2 * acked)
        self.assertEqual(int(self.svc.psql1("SELECT count(*) FROM ussd_steps")), steps)
        self.assertEqual(int(self.svc.psql1("SELECT count(*) FROM voice_callbacks")), calls)
        # And the remembered district went through it too.
        self.assertEqual(int(self.svc.psql1(
            "SELECT count(*) FROM callers WHERE district_code = 1752")), acked + 10)


if __name__ == "__main__":
    unittest.main()
