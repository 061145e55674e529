"""Benchmark of the voice channel (issue 10), figures only, on loopback with wrk:

  - a district's summary WAV (/audio/districts/1752/hi.wav) from the workers' cache,
    against nginx (Debian's nginx-light) serving the identical bytes as a static file;
  - missed-call webhooks (/missedcall/generic, every request a new number and call id)
    with the durable enqueue (the journal into voice_callbacks), then a count of the
    rows written against the 2xx answers wrk saw: each acknowledged missed call must be
    queued exactly once;
  - the first assembly of a summary (build/bench_voice) and the clip library's memory
    in each worker (RSS, and PSS, which splits the pages the workers share).

    tests/bench/voice_bench.sh [SECONDS]      (default 10 seconds per run)
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "blackbox"))
import harness  # noqa: E402
from api_bench import NGINX, NGINX_CONF, children, rss_mb, wrk  # noqa: E402
from test_api import SAMPLE, conf_text  # noqa: E402

HISAAB = os.path.join(harness.BUILD, "hisaab")
SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
WAV = "/audio/districts/1752/hi.wav"
KEY = "bench-key"

MISSED_LUA = """
-- Every request a new number and missed-call id: each thread numbers its own range.
counter = 0
nthreads = 0
function setup(thread)
  thread:set("offset", nthreads * 100000000)
  nthreads = nthreads + 1
end
function request()
  counter = counter + 1
  local n = 6000000000 + offset + counter
  local body = '{"from":"' .. n .. '","id":"bench-' .. n .. '"}'
  return wrk.format("POST", "/missedcall/generic?key=%s", {["Content-Type"]="application/json"}, body)
end
""" % KEY


def pss_mb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def served_2xx(port, route):
    """The 2xx answers the server counted for route, from its /metrics."""
    n = 0
    pat = re.compile(r'^hisaab_http_requests_total\{route="%s",status="2\d\d"\} (\d+)$'
                     % re.escape(route))
    for line in get(port, "/metrics").decode().splitlines():
        m = pat.match(line)
        if m:
            n += int(m.group(1))
    return n


def get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return r.read()


def wrk_missed(port, script):
    out = subprocess.run(["wrk", "-t2", "-c64", "-d%ds" % SECONDS, "--latency", "-s", script,
                          "http://127.0.0.1:%d" % port],
                         capture_output=True, text=True, timeout=SECONDS + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)] if p99 else None
    return (float(rps.group(1)) if rps else 0.0, int(total.group(1)) if total else 0, lat,
            int(errors.group(1)) if errors else 0)


def main():
    if not shutil.which("wrk") or not os.path.exists(NGINX) or not os.path.exists(HISAAB):
        print("voice_bench: needs wrk, nginx-light and build/hisaab; not run")
        return 0
    bench = os.path.join(harness.BUILD, "bench_voice")
    if os.path.exists(bench):
        print(subprocess.run([bench, os.path.join(harness.ROOT, "audio")], capture_output=True,
                             text=True, timeout=300).stdout.strip())
    svc = harness.Services()
    harness.etl(svc, "migrate")
    harness.etl(svc, "run", "--source", SAMPLE, "--format", "csv")
    tmp = tempfile.mkdtemp(prefix="hisaab-vbench-")
    os.chmod(tmp, 0o755)
    port = harness.free_port()
    conf = os.path.join(tmp, "kore.conf")
    # No dialer credentials: callbacks are queued, not placed. One callback per number per
    # hour still applies (every request is a new number).
    text = conf_text(port, "rate_limit_ip 0\nlog_level warn\njournal_queue_max 1000000\n")
    text = re.sub(r"(?m)^workers\s+\d+", "workers 0", text)
    with open(conf, "w") as f:
        f.write(text)
    env = svc.env(VOICE_WEBHOOK_KEY=KEY, HISAAB_SECRET="bench-secret")
    srv = subprocess.Popen([HISAAB, "-c", conf], stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(tmp, "hisaab.log"), "w"), env=env,
                           cwd=harness.ROOT)
    ngx = None
    try:
        harness.wait_port(port)
        workers = children(srv.pid)
        before = {w: (rss_mb(w), pss_mb(w)) for w in workers}
        for _ in range(8 * len(workers)):
            body = get(port, WAV)
        www = os.path.join(tmp, "www", "audio", "districts", "1752")
        os.makedirs(www)
        os.makedirs(os.path.join(tmp, "tmp"))
        with open(os.path.join(www, "hi.wav"), "wb") as f:
            f.write(body)
        nport = harness.free_port()
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            f.write((NGINX_CONF % {"dir": tmp, "port": nport, "workers": len(workers),
                                   "locations": ""}).replace(
                "default_type application/json", "default_type audio/wav"))
        ngx = subprocess.Popen([NGINX, "-p", tmp, "-c", os.path.join(tmp, "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_port(nport)
        assert get(nport, WAV) == body
        print("hisaab: %d workers; summary WAV %d bytes" % (len(workers), len(body)))
        for p in (port, nport):
            subprocess.run(["wrk", "-t2", "-c64", "-d2s", "http://127.0.0.1:%d%s" % (p, WAV)],
                           capture_output=True, timeout=60)
        results = {}
        for name, p in (("hisaab WAV", port), ("nginx WAV", nport)):
            rps, p99, bad, _ = wrk(p, WAV)
            results[name] = rps
            print("%-12s %10.0f req/s   p99 %s   non-2xx %d"
                  % (name, rps, "%.2f ms" % p99 if p99 is not None else "?", bad))
        if results["nginx WAV"] > 0:
            print("summary WAV / nginx throughput ratio: %.2f (target >= 0.8)"
                  % (results["hisaab WAV"] / results["nginx WAV"]))

        script = os.path.join(tmp, "missed.lua")
        with open(script, "w") as f:
            f.write(MISSED_LUA)
        rps, total, p99, bad = wrk_missed(port, script)
        ok = total - bad
        print("missed-call webhooks: %.0f req/s, p99 %s, %d answered 2xx, %d not (target >= 5,000/s,"
              " p99 < 20 ms)" % (rps, "%.2f ms" % p99 if p99 is not None else "?", ok, bad))
        # wrk stops counting at its deadline while some requests are still in flight: the
        # server's own count of 2xx answers is the number acknowledged.
        acked = served_2xx(port, "/missedcall/generic")
        rows = 0
        deadline = time.time() + 120
        while time.time() < deadline:
            rows = int(svc.psql1("SELECT count(*) FROM voice_callbacks") or 0)
            if rows >= acked:
                break
            time.sleep(0.5)
        print("callbacks queued in Postgres: %d for %d acknowledged by the server (%d counted"
              " by the client before it stopped): %s"
              % (rows, acked, ok, "exactly once" if rows == acked else "MISMATCH"))
        for w in workers:
            print("worker %d: RSS %.1f MB, PSS %.1f MB at start; RSS %.1f MB, PSS %.1f MB after"
                  % (w, before[w][0], before[w][1], rss_mb(w), pss_mb(w)))
    finally:
        if ngx is not None:
            ngx.send_signal(signal.SIGQUIT)
            try:
                ngx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                ngx.kill()
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=30)
        except subprocess.TimeoutExpired:
            srv.kill()
        shutil.rmtree(tmp, ignore_errors=True)
        svc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
