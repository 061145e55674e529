"""Benchmark of the inbound SMS webhook (issue 4), figures only: wrk on loopback, 64
connections, GET /sms/kannel as Kannel's get-url calls it, every request with a new message
id (so the Redis dedupe really stores it) and one of a million senders (each number's limit
is counted in Redis), every message recorded in Postgres (two rows: in and out, through the
journal) and its district remembered for the caller. The server runs at its default worker
count (one per CPU). Target (issue 15): 25,000 messages/s with p99 under 5 ms.

Nothing the webhook acknowledges may be lost: past what the journal holds it answers 503
(the gateway retries), so the figure that counts is the rate of acknowledged messages, all
of which must reach sms_messages. The run waits for them and FAILS (exit 1) when any row
of an acknowledged message is missing; it never fails on a speed figure.

    tests/bench/sms_bench.sh [SECONDS]      (default 10 seconds)
    SMS_BENCH_PERF=1 tests/bench/sms_bench.sh   (and where the CPUs go, from perf)
    SMS_BENCH_WORKERS=N, SMS_BENCH_CONNECTIONS=N (default 64), SMS_BENCH_THREADS=N (wrk's, 2),
    SMS_BENCH_DELAY_MS=N (a pause after each answer: a paced load, not the most it takes)

It also prints the server's own latency (from its access log), Postgres's WAL bytes a
message and Redis's commands a message with Redis's time for each.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 10
CONNECTIONS = int(os.environ.get("SMS_BENCH_CONNECTIONS", "64"))
THREADS = int(os.environ.get("SMS_BENCH_THREADS", "2"))  # wrk's
# A pause (ms) on each connection between an answer and its next request: a paced load
# below what the machine can take, instead of as fast as it can go.
DELAY_MS = int(os.environ.get("SMS_BENCH_DELAY_MS", "0"))
SAMPLE = os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv")

LUA = r"""
local threads = 0
function setup(thread)
    thread:set("tid", threads)
    threads = threads + 1
end
local n = 0
DELAY
function request()
    n = n + 1
    local num = string.format("9197%08d", (tid * 7919 + n * 104729) % 1000000)
    return wrk.format("GET", "/sms/kannel?from=" .. num ..
        "&to=56767&text=NREGA+Niwari&charset=UTF-8&coding=0&id=TAG-" .. tid .. "-" .. n)
end
"""


def wrk(port, script, seconds):
    out = subprocess.run(["wrk", "-t%d" % THREADS, "-c%d" % CONNECTIONS, "-d%ds" % seconds, "--latency", "-s", script,
                          "http://127.0.0.1:%d/" % port],
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


def perf_start(seconds):
    """With SMS_BENCH_PERF=1 and perf installed: record every CPU (cpu-clock) while the
    measured run goes on, to see which process the two cores go to."""
    if os.environ.get("SMS_BENCH_PERF") != "1" or not shutil.which("perf"):
        return None
    data = tempfile.mktemp(prefix="hisaab-smsperf-", suffix=".data")
    proc = subprocess.Popen(["perf", "record", "-q", "-a", "-e", "cpu-clock", "-o", data,
                             "--", "sleep", str(max(1, seconds - 2))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, data


def perf_report(rec):
    """The CPU time by process, then the server's own by shared object and function."""
    if rec is None:
        return
    proc, data = rec
    proc.wait(timeout=120)
    try:
        for sort, comm, n in (("comm", None, 8), ("dso", "hisaab", 8), ("sym", "hisaab", 25),
                              ("sym", "postgres", 20), ("sym", "redis-server", 10)):
            args = ["perf", "report", "-i", data, "--sort", sort, "--stdio", "--percent-limit",
                    "0.5"]
            if comm:
                args += ["--comms", comm]
            rep = subprocess.run(args, capture_output=True, text=True, timeout=300).stdout
            rows = [ln.strip() for ln in rep.splitlines() if re.match(r"^\s+[\d.]+%", ln)]
            print("  perf by %s%s: %s" % (sort, " (%s only)" % comm if comm else "",
                                          "; ".join(rows[:n])))
    finally:
        if os.path.exists(data):
            os.unlink(data)


def redis_cli(svc, *args):
    return subprocess.run(["redis-cli", "-p", str(svc.redis.port)] + list(args),
                          capture_output=True, text=True, timeout=10).stdout


def redis_calls(svc, acked):
    """Redis's own time by command during the run (INFO commandstats, reset before it)."""
    out = []
    for m in re.finditer(r"cmdstat_(\w+):calls=(\d+),usec=(\d+)", redis_cli(svc, "INFO", "commandstats")):
        name, calls, usec = m.group(1), int(m.group(2)), int(m.group(3))
        if calls >= acked // 10:
            out.append("%s %.2f/msg %.1f us" % (name, calls / acked, usec / calls))
    return "; ".join(out)


def main():
    if not shutil.which("wrk") or not os.path.exists(os.path.join(harness.BUILD, "hisaab")):
        print("sms_bench: needs wrk and build/hisaab; not run")
        return 0
    svc = harness.Services()
    harness.etl(svc, "migrate")
    harness.etl(svc, "run", "--source", SAMPLE, "--format", "csv")
    workers = int(os.environ.get("SMS_BENCH_WORKERS", "0")) or os.cpu_count() or 2
    srv = harness.HisaabServer(svc, workers=workers,
                               env={"HISAAB_SECRET": "bench-secret"}).start()
    tmp = tempfile.mkdtemp(prefix="hisaab-smsbench-")
    script = os.path.join(tmp, "sms.lua")
    with open(script, "w") as f:
        f.write(LUA.replace("TAG", "bench").replace(
            "DELAY", "function delay() return %d end" % DELAY_MS if DELAY_MS > 0 else ""))
    warm = os.path.join(tmp, "warm.lua")
    with open(warm, "w") as f:
        f.write(LUA.replace("TAG", "warm").replace("DELAY", ""))
    lost = False
    try:
        # Warm up: every worker builds its directory.
        for i in range(200):
            q = urllib.parse.urlencode({"from": "91990000%04d" % i, "text": "NREGA Niwari",
                                        "id": "warm-%d" % i})
            srv.get("/sms/kannel?" + q)
        # Then a short run of the same load, so that connections, the Redis script cache
        # and Postgres are warm; the access log is measured from here.
        wrk(srv.port, warm, 3)
        time.sleep(1)
        log_start = len(srv.stderr())
        x0 = int(svc.psql1("SELECT xact_commit FROM pg_stat_database WHERE datname = 'hisaab'"))
        wal0 = svc.psql1("SELECT pg_current_wal_insert_lsn()")
        redis_cli(svc, "CONFIG", "RESETSTAT")
        rec = perf_start(SECONDS)
        rps, p99, total, bad, out = wrk(srv.port, script, SECONDS)
        x1 = int(svc.psql1("SELECT xact_commit FROM pg_stat_database WHERE datname = 'hisaab'"))
        wal = int(svc.psql1("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '%s')" % wal0))
        acked = total - bad
        deadline = time.monotonic() + 60
        rows = 0
        while time.monotonic() < deadline:
            rows = int(svc.psql1("SELECT count(*) FROM sms_messages WHERE gateway_message_id"
                                 " LIKE 'bench-%'") or 0)
            if rows >= 2 * acked:
                break
            time.sleep(0.5)
        print("sms kannel GET: %d workers, %d connections (wrk: %d threads)%s, %d s"
              % (workers, CONNECTIONS, THREADS, ", %d ms between an answer and the next request" % DELAY_MS
                 if DELAY_MS > 0 else "", SECONDS))
        print("  %10.0f requests/s   p99 %s   503 (journal full, retried by the gateway) %d"
              % (rps, "%.2f ms" % p99 if p99 is not None else "?", bad))
        print("  %10.0f msg/s acknowledged and recorded   (target 25,000 msg/s, p99 < 5 ms)"
              % (acked / SECONDS if rows >= 2 * acked else 0))
        print("  %d messages acknowledged; %d rows in sms_messages (expected %d);"
              " %d Postgres transactions during the run" % (acked, rows, 2 * acked, x1 - x0))
        print("  Postgres WAL during the run: %.1f MB, %d bytes a message"
              % (wal / 1e6, wal // acked if acked else 0))
        if acked:
            print("  Redis commands (calls a message, Redis's time a call): %s"
                  % redis_calls(svc, acked))
        if rows < 2 * acked:
            print("  LOST: %d rows of acknowledged messages never reached sms_messages"
                  % (2 * acked - rows))
            lost = True
        # The server's own view: the access log's time per request (arrival to reply).
        us = sorted(int(x) for x in re.findall(r"GET /sms/kannel 200 \d+ (\d+)us", srv.stderr()[log_start:]))
        if us:
            print("  in the server (access log, %d requests): p50 %.2f ms, p90 %.2f ms,"
                  " p99 %.2f ms, p99.9 %.2f ms, max %.1f ms"
                  % (len(us), us[len(us) // 2] / 1000, us[int(len(us) * 0.9)] / 1000,
                     us[int(len(us) * 0.99)] / 1000, us[int(len(us) * 0.999)] / 1000,
                     us[-1] / 1000))
        perf_report(rec)
        if "-v" in sys.argv:
            print("  server log: %s" % srv.err_path)
        if rps == 0 or "-v" in sys.argv:
            print(out)
    finally:
        srv.stop()
        svc.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
