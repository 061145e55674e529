"""A streaming replica of a harness Postgres, for the scale-out tests and drills.

    rep = replica.Replica(svc.pg)      # pg_basebackup -R from the primary, then started
    rep.dsn, rep.psql1("SELECT pg_is_in_recovery()")
    rep.pause(); rep.resume()          # hold and release WAL replay
    rep.stop(mode="immediate"); rep.start()

Like the harness's Postgres it runs as Debian's `postgres` user when the tests run as
root, on a free loopback port, and is removed with the primary's temporary directory.
"""
import os
import subprocess

import harness


class Replica:
    def __init__(self, primary, name="replica"):
        self.dir = os.path.join(os.path.dirname(primary.dir), name)
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = harness.free_port()
        subprocess.run([harness.PG_BIN + "/pg_basebackup", "-h", "127.0.0.1", "-p",
                        str(primary.port), "-U", "postgres", "-D", self.data, "-R", "-X",
                        "stream", "-c", "fast", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       preexec_fn=harness._as_pg_user(), timeout=120)
        self.start()
        self.dsn = "postgresql://postgres@127.0.0.1:%d/hisaab?connect_timeout=3" % self.port

    def start(self):
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c hot_standby_feedback=on" % (self.port, self.dir))
        subprocess.run([harness.PG_BIN + "/pg_ctl", "-D", self.data, "-o", opts, "-w", "-t",
                        "30", "-l", os.path.join(self.dir, "log"), "start"],
                       check=True, stdout=subprocess.DEVNULL, preexec_fn=harness._as_pg_user())

    def stop(self, mode="fast"):
        subprocess.run([harness.PG_BIN + "/pg_ctl", "-D", self.data, "-m", mode, "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       preexec_fn=harness._as_pg_user(), timeout=60)

    def psql1(self, sql):
        out = subprocess.run(["psql", self.dsn, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                             check=True, capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def pause(self):
        self.psql1("SELECT pg_wal_replay_pause()")

    def resume(self):
        self.psql1("SELECT pg_wal_replay_resume()")

    def caught_up(self, primary_lsn):
        """1 when this replica has replayed WAL up to primary_lsn (text, e.g. '0/3000060')."""
        return self.psql1("SELECT pg_last_wal_replay_lsn() >= '%s'::pg_lsn" % primary_lsn) == "t"
