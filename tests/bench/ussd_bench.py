"""Benchmark of the USSD channel (issue 11), figures only: wrk on loopback against the
session-style gateway (/ussd/session), 16 connections each playing one phone after
another: a session of seven screens (new, 2 PIN code, a PIN, 0 back, 3 name, "niwari",
0 back), every session a new session id and number, so every step reads and writes its
state in Redis (the conversation store) and the first of each goes through the gate
(limit and memory in Redis). The server runs at its default worker count. Target: 10,000
steps/s with p99 under 20 ms.

Every step answered 2xx must be journaled once: the run compares ussd_steps with the
server's own count of 2xx answers (its /metrics) and FAILS (exit 1) when they differ; it
never fails on a speed figure.

    tests/bench/ussd_bench.sh [SECONDS]      (default 10 seconds)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10
SAMPLE = os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv")
CONNECTIONS = int(os.environ.get("USSD_BENCH_CONNECTIONS", "16"))

LUA = r"""
local threads = 0
function setup(thread)
    thread:set("tid", threads)
    threads = threads + 1
end
local n = 0
local steps = {"%2A123%2A6%23", "2", "PIN", "0", "3", "niwari", "0"}
function request()
    local s = math.floor(n / #steps)
    local k = n % #steps
    n = n + 1
    local num = string.format("9196%08d", (tid * 100003 + s) % 100000000)
    local msg = steps[k + 1]
    local body = "sessionid=TAG-" .. tid .. "-" .. s .. "&msisdn=" .. num .. "&msg=" .. msg ..
        "&type=" .. (k == 0 and "1" or "2")
    return wrk.format("POST", "/ussd/session",
        {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"""


def wrk(port, script, seconds):
    out = subprocess.run(["wrk", "-t%d" % CONNECTIONS, "-c%d" % CONNECTIONS, "-d%ds" % seconds,
                          "--latency", "-s", script, "http://127.0.0.1:%d/" % port],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    total = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = None
    if p99:
        lat = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return (float(rps.group(1)) if rps else 0.0, lat, int(total.group(1)) if total else 0,
            int(bad.group(1)) if bad else 0, out)


def served_2xx(port, route):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read()
    pat = re.compile(r'^hisaab_http_requests_total\{route="%s",status="2\d\d"\} (\d+)$'
                     % re.escape(route))
    return sum(int(m.group(1)) for m in map(pat.match, body.decode().splitlines()) if m)


def retried_so_far(srv, start):
    return len(re.findall(r"retried: the same screen", srv.stderr()[start:]))


def main():
    if not shutil.which("wrk") or not os.path.exists(os.path.join(harness.BUILD, "hisaab")):
        print("ussd_bench: needs wrk and build/hisaab; not run")
        return 0
    svc = harness.Services()
    harness.etl(svc, "migrate")
    harness.etl(svc, "run", "--source", SAMPLE, "--format", "csv")
    pin = svc.psql1("SELECT p.pincode FROM ref_pincodes p JOIN districts d"
                    " ON d.lgd_district_code = p.lgd_district_code"
                    " WHERE d.district_code = 1752 ORDER BY p.share DESC, 1 LIMIT 1")
    workers = int(os.environ.get("USSD_BENCH_WORKERS", "0")) or os.cpu_count() or 2
    srv = harness.HisaabServer(svc, workers=workers,
                               env={"HISAAB_SECRET": "bench-secret"}).start()
    tmp = tempfile.mkdtemp(prefix="hisaab-ussdbench-")
    lost = False
    try:
        for tag in ("warm", "bench"):
            with open(os.path.join(tmp, tag + ".lua"), "w") as f:
                f.write(LUA.replace("TAG", tag).replace('"PIN"', '"%s"' % pin))
        harness.wait_for(lambda: b"Niwari" in srv.request(
            "POST", "/ussd/at", "sessionId=w0&phoneNumber=%2B919600000000&text=3*niwari",
            {"Content-Type": "application/x-www-form-urlencoded"})[2], timeout=30)
        wrk(srv.port, os.path.join(tmp, "warm.lua"), 3)
        time.sleep(1)
        before = served_2xx(srv.port, "/ussd/session")
        log_start = len(srv.stderr())
        rows0 = int(svc.psql1("SELECT count(*) FROM ussd_steps") or 0)
        rps, p99, total, bad, out = wrk(srv.port, os.path.join(tmp, "bench.lua"), SECONDS)
        time.sleep(0.5)
        acked = served_2xx(srv.port, "/ussd/session") - before
        deadline = time.monotonic() + 60
        rows = 0
        while time.monotonic() < deadline:
            rows = int(svc.psql1("SELECT count(*) FROM ussd_steps") or 0) - rows0
            if rows >= acked - retried_so_far(srv, log_start):
                break
            time.sleep(0.5)
        # A gateway's retry (the same step again) is answered from the store with the same
        # screen and not journaled again: the server logs each.
        retried = len(re.findall(r"retried: the same screen", srv.stderr()[log_start:]))
        unknown = re.findall(r"ussd: session \S+ (\S+) is not known here", srv.stderr()[log_start:])
        if unknown:
            print("  answered END for a session not known: %d (%s)" % (len(unknown),
                                                                     " ".join(sorted(set(unknown)))))
        summaries = svc.psql1("SELECT count(*) FROM ussd_steps WHERE shown = 'summary'"
                              " AND session_hash IN (SELECT session_hash FROM ussd_sessions"
                              " WHERE gateway = 'session')")
        print("ussd session gateway: %d workers, %d connections, %d s" % (workers, CONNECTIONS,
                                                                          SECONDS))
        print("  %10.0f steps/s   p99 %s   non-2xx %d   (target 10,000 steps/s, p99 < 20 ms)"
              % (rps, "%.2f ms" % p99 if p99 is not None else "?", bad))
        print("  %d steps acknowledged by the server (%d counted by the client before it"
              " stopped), %d of them retries answered from the store; %d rows in ussd_steps:"
              " %s; %s summaries shown"
              % (acked, total - bad, retried, rows,
                 "exactly once" if rows == acked - retried else "MISMATCH", summaries))
        if rows != acked - retried:
            lost = True
            print("  events:", svc.psql("SELECT event, count(*) FROM ussd_steps GROUP BY 1"
                                        " ORDER BY 2 DESC"))
            print("  sessions with a gap:", svc.psql(
                "SELECT session_hash, count(*), max(step), string_agg(event, ',' ORDER BY step)"
                " FROM ussd_steps GROUP BY 1 HAVING count(*) <> max(step) LIMIT 5"))
            print("  sessions by steps:", svc.psql(
                "SELECT n, count(*) FROM (SELECT count(*) AS n FROM ussd_steps GROUP BY"
                " session_hash) x GROUP BY 1 ORDER BY 1"))
            print("  short sessions:", svc.psql(
                "SELECT string_agg(event || ':' || coalesce(input, '-'), ',' ORDER BY step)"
                " FROM ussd_steps GROUP BY session_hash HAVING count(*) < 7 LIMIT 80"))
            print("  ussd_sessions rows %s, steps summed %s" % (
                svc.psql1("SELECT count(*) FROM ussd_sessions"),
                svc.psql1("SELECT sum(steps) FROM ussd_sessions")))
        if rps == 0 or "-v" in sys.argv:
            print(out)
    finally:
        srv.stop()
        svc.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
