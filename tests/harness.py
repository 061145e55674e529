"""Test harness: real PostgreSQL 15 and Redis started on free loopback ports in a temporary
directory, and helpers to run the project's binaries against them.

PostgreSQL refuses to run as root, so when the tests run as root the cluster belongs to
Debian's `postgres` user (its data directory is chowned to it). Everything is stopped and
removed at exit. Only loopback is used.

    svc = harness.Services()           # starts both
    svc.dsn, svc.redis_url, svc.psql("SELECT 1")
    svc.stop_redis(); svc.start_redis() # for failure tests
"""
import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# HISAAB_BUILD names another build directory (make test-asan: build-asan).
BUILD = os.environ.get("HISAAB_BUILD") or os.path.join(ROOT, "build")
PG_BIN = "/usr/lib/postgresql/15/bin"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0, host="127.0.0.1"):
    """Wait until something accepts on host:port; raise after timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listening on %s:%d after %.0fs" % (host, port, timeout))


def _as_pg_user():
    """preexec_fn dropping root to the postgres user (None when not root)."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("postgres")

    def drop():
        os.setgid(pw.pw_gid)
        os.setuid(pw.pw_uid)
        os.environ["HOME"] = pw.pw_dir

    return drop


class Postgres:
    def __init__(self, base):
        self.dir = os.path.join(base, "pg")
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        subprocess.run([PG_BIN + "/initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       preexec_fn=_as_pg_user())
        self.start()
        self.psql_admin("CREATE DATABASE hisaab")
        self.dsn = "postgresql://postgres@127.0.0.1:%d/hisaab?connect_timeout=3" % self.port

    def start(self):
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off" % (self.port, self.dir))
        subprocess.run([PG_BIN + "/pg_ctl", "-D", self.data, "-o", opts, "-w", "-t", "30",
                        "-l", os.path.join(self.dir, "log"), "start"],
                       check=True, stdout=subprocess.DEVNULL, preexec_fn=_as_pg_user())

    def stop(self):
        subprocess.run([PG_BIN + "/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       preexec_fn=_as_pg_user())

    def psql_admin(self, sql):
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                       check=True, stdout=subprocess.DEVNULL)


class Redis:
    def __init__(self, base):
        self.dir = os.path.join(base, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.proc = None
        self.start()
        self.url = "redis://127.0.0.1:%d/0" % self.port

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                             check=True, capture_output=True, text=True)
        return out.stdout.strip()


class Services:
    """A Postgres and a Redis for one test module, stopped at exit."""

    def __init__(self, redis=True):
        self.tmp = tempfile.mkdtemp(prefix="hisaab-test-")
        os.chmod(self.tmp, 0o755)
        self.pg = Postgres(self.tmp)
        self.redis = Redis(self.tmp) if redis else None
        self.dsn = self.pg.dsn
        self.redis_url = self.redis.url if self.redis else None
        atexit.register(self.close)

    def env(self, **extra):
        """An environment for the project's binaries pointing at these services."""
        e = dict(os.environ)
        # The server refuses to start without a secret for phone hashes.
        e.setdefault("HISAAB_SECRET", "harness-test-secret")
        e["DATABASE_URL"] = self.dsn
        if self.redis_url:
            e["REDIS_URL"] = self.redis_url
        e.pop("DATA_GOV_API_KEY", None)
        e.update({k: str(v) for k, v in extra.items()})
        return e

    def psql(self, sql):
        """Run SQL on the hisaab database; returns rows as lists of strings."""
        out = subprocess.run(["psql", self.dsn, "-v", "ON_ERROR_STOP=1", "-qAt", "-F", "\t",
                              "-c", sql], check=True, capture_output=True, text=True)
        return [line.split("\t") for line in out.stdout.splitlines()]

    def psql1(self, sql):
        """The single value of a one-row, one-column query (None for SQL NULL/no row)."""
        rows = self.psql(sql)
        if not rows or rows[0] == [""]:
            return None
        return rows[0][0]

    def stop_redis(self):
        self.redis.stop()

    def start_redis(self):
        self.redis.start()

    def close(self):
        if self.redis:
            self.redis.stop()
        self.pg.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def etl(svc, *args, timeout=300, env=None, check=True):
    """Run build/hisaab-etl with the services' environment; returns CompletedProcess."""
    p = subprocess.run([os.path.join(BUILD, "hisaab-etl")] + list(args),
                       env=env or svc.env(), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError("hisaab-etl %s exited %d:\n%s%s" % (" ".join(args), p.returncode,
                                                                 p.stdout, p.stderr))
    return p


class HisaabServer:
    """build/hisaab on a free port with the repository's kore.conf (its bind port and
    worker count replaced), pointed at svc's Postgres and Redis through the environment.

        srv = HisaabServer(svc).start()
        status, headers, body = srv.get("/api/v1/health")
        srv.stop()
    """

    def __init__(self, svc, workers=2, extra_hisaab="", env=None, spool_dir=None):
        import re
        self.svc = svc
        self.dir = tempfile.mkdtemp(prefix="hisaab-srv-")
        self.port = free_port()
        with open(os.path.join(ROOT, "kore.conf")) as f:
            conf = f.read()
        conf = re.sub(r"(?m)^(\s*bind\s+)\S+\s+\d+", r"\g<1>127.0.0.1 %d" % self.port, conf)
        conf = re.sub(r"(?m)^(workers\s+)\d+", r"\g<1>%d" % workers, conf)
        # Records spooled at shutdown stay with this server, not in the checkout's var/.
        conf = re.sub(r"(?m)^\s*spool_dir\s+.*$", "", conf)
        self.spool_dir = spool_dir or os.path.join(self.dir, "spool")
        conf = re.sub(r"(?m)^hisaab \{", "hisaab {\n\tspool_dir %s" % self.spool_dir, conf)
        if extra_hisaab:
            conf = re.sub(r"(?m)^hisaab \{", "hisaab {\n" + extra_hisaab, conf)
        self.conf = os.path.join(self.dir, "kore.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.env = svc.env(**(env or {}))
        self.err_path = os.path.join(self.dir, "stderr")
        self.proc = None
        atexit.register(self.stop)

    def start(self):
        with open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([os.path.join(BUILD, "hisaab"), "-c", self.conf],
                                         stdout=subprocess.DEVNULL, stderr=err, env=self.env,
                                         cwd=ROOT)
        wait_port(self.port, timeout=10)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, timeout=10):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def get(self, path, headers=None):
        return self.request("GET", path, headers=headers)

    def get_json(self, path, headers=None):
        import json
        status, hdrs, body = self.get(path, headers)
        return status, json.loads(body)


# ---- the sample data, read independently of the C code (the tests' oracle) ----------

SAMPLE = os.path.join(ROOT, "data", "mgnrega_mp_2024-25.csv")
PERSONDAYS = "Persondays_of_Central_Liability_so_far"
MONTH_ABBR = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def month_no(s):
    """'Dec', 'December', ' july ' -> 12, 7 (first three letters, any case)."""
    return MONTH_ABBR.index(s.strip()[:3].lower()) + 1


def read_csv(path=SAMPLE):
    """(header, [record dict, ...]) of a CSV file in the source's format."""
    import csv
    with open(path, newline="", encoding="utf-8") as f:
        r = csv.reader(f)
        header = next(r)
        return header, [dict(zip(header, row)) for row in r]


def best_snapshots(records):
    """{(district_code, fin_year, calendar month): record}: per district-month the record
    with the largest person-days (NA lowest), on a tie the later one (the loader's rule)."""
    best = {}
    for i, r in enumerate(records):
        key = (int(r["district_code"]), r["fin_year"].strip(), month_no(r["month"]))
        try:
            v = float(r[PERSONDAYS])
            pd = int(v) if v >= 0 and v.is_integer() else -1
        except ValueError:
            pd = -1
        if key not in best or (pd, i) >= best[key][0]:
            best[key] = ((pd, i), r)
    return {k: v[1] for k, v in best.items()}


def indian_grouping(n):
    """12345678 -> '1,23,45,678' (Indian digit grouping)."""
    s = str(n)
    if len(s) <= 3:
        return s
    head, tail = s[:-3], s[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join(groups + [tail])


def wait_for(fn, timeout=10.0, step=0.1):
    """Call fn() until it returns a true value or timeout seconds pass; returns the last
    value (for the caller to assert on)."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


def run_controlled(binary, env, control, timeout):
    """Run a C test binary that asks its driver to act on the services: it prints
    "CONTROL <action>" and waits for a line on stdin once control(action) has run (e.g.
    stopping Postgres). Returns (exit code, its output, the actions in order)."""
    import queue
    import re
    import threading
    p = subprocess.Popen([binary], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, bufsize=1, errors="replace")
    lines = queue.Queue()

    def reader():
        for line in p.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=reader, daemon=True).start()
    out = []
    actions = []
    deadline = time.time() + timeout
    try:
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("%s timed out:\n%s" % (os.path.basename(binary),
                                                           "".join(out)))
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                break
            out.append(line)
            m = re.match(r"^CONTROL (\S+)$", line.strip())
            if m:
                control(m.group(1))
                actions.append(m.group(1))
                p.stdin.write("done\n")
                p.stdin.flush()
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return rc, "".join(out), actions


def serve_http(handler_class, port=0):
    """Start a threaded HTTP server for a fake upstream on 127.0.0.1 (port 0: any free
    port). Returns the server; its port is server.server_address[1]. Stop it with
    server.shutdown(); server.server_close()."""
    import threading
    from http.server import ThreadingHTTPServer
    server = ThreadingHTTPServer(("127.0.0.1", port), handler_class)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
