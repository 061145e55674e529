"""Benchmark of the cached answers (issues 3 and 15), figures only: wrk on loopback (one
thread, 64 connections) against hisaab with every district's summary cached and against
nginx (Debian's nginx-light, access log off, sendfile on) serving the identical bytes of
each path as static files, with the same number of workers on both sides, in the same
run. Each path is run ROUNDS times, hisaab and nginx alternating, and the medians are
printed side by side with the bytes per response and the ratio: the district summary,
the search, the states, the web app's page and its script, a district's spoken summary
(WAV) from the worker's cache, and the PIN code lookup. Rate limits are off. Then, when
perf is installed, where the workers' time goes under the summary load (kernel / libc /
libevent / ours / other, by shared object), and the resident memory of each worker.

It runs twice: with one worker per CPU (the default), and with one fewer on both sides,
which leaves wrk a core of its own (on 2 cores, three busy processes share two and the
tail latency becomes the scheduler's time slice). BENCH_WORKERS=N runs only N,
BENCH_PATHS=summary,WAV only those paths. Never fails on a number.

    tests/bench/api_bench.sh [SECONDS [ROUNDS]]      (default 5 seconds, 3 rounds)
"""
import json
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
from test_api import SAMPLE, conf_text  # noqa: E402

HISAAB = os.path.join(harness.BUILD, "hisaab")
NGINX = "/usr/sbin/nginx"
SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
SUMMARY = "/api/v1/districts/1752/summary"
SEARCH = "/api/v1/districts?q=niw"
PINCODE = "/api/v1/pincodes/462001"
STATES = "/api/v1/states"
WAV = "/audio/districts/1752/hi.wav"

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes %(workers)d;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path %(dir)s/tmp;
    proxy_temp_path %(dir)s/tmp;
    fastcgi_temp_path %(dir)s/tmp;
    uwsgi_temp_path %(dir)s/tmp;
    scgi_temp_path %(dir)s/tmp;
    server {
        listen 127.0.0.1:%(port)d;
        root %(dir)s/www;
        default_type application/json;
%(locations)s
    }
}
"""


def get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return r.read()


def wrk(port, path):
    out = subprocess.run(["wrk", "-t1", "-c64", "-d%ds" % SECONDS, "--latency",
                          "http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, timeout=SECONDS + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = re.search(r"(\d+) requests in [\d.]+\w+, ([\d.]+)(B|KB|MB|GB) read", out)
    lat = None
    if p99:
        lat = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    per = None  # bytes per response, headers included (wrk rounds what it read)
    if total and int(total.group(1)) > 0:
        per = float(total.group(2)) * {"B": 1, "KB": 1024, "MB": 1024 ** 2,
                                       "GB": 1024 ** 3}[total.group(3)] / int(total.group(1))
    return ((float(rps.group(1)) if rps else 0.0), lat, int(errors.group(1)) if errors else 0,
            per)


def children(pid):
    out = set()
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                out.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return sorted(out)


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    return xs[len(xs) // 2] if xs else None


def profile(pids, port):
    """perf's split of the workers' CPU time under the summary load, by shared object."""
    if not shutil.which("perf") or not pids:
        return None
    data = tempfile.mktemp(prefix="hisaab-perf-", suffix=".data")
    load = subprocess.Popen(["wrk", "-t1", "-c64", "-d%ds" % (SECONDS + 2),
                             "http://127.0.0.1:%d%s" % (port, SUMMARY)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        rec = subprocess.run(["perf", "record", "-q", "-e", "cpu-clock", "-o", data, "-p",
                              ",".join(str(p) for p in pids), "--", "sleep", str(SECONDS)],
                             capture_output=True, text=True, timeout=SECONDS + 60)
        if rec.returncode != 0:
            return None
        rep = subprocess.run(["perf", "report", "-i", data, "--sort", "dso", "--stdio"],
                             capture_output=True, text=True, timeout=120).stdout
    finally:
        load.wait(timeout=SECONDS + 60)
        if os.path.exists(data):
            os.unlink(data)
    split = {"kernel": 0.0, "libc": 0.0, "libevent": 0.0, "ours": 0.0, "other": 0.0}
    for line in rep.splitlines():
        m = re.match(r"^\s+([\d.]+)%\s+(\S+)", line)
        if not m:
            continue
        pct, dso = float(m.group(1)), m.group(2)
        if dso.startswith("[kernel") or dso == "[vdso]":
            split["kernel"] += pct
        elif dso.startswith("libc.so") or dso.startswith("libc-"):
            split["libc"] += pct
        elif dso.startswith("libevent"):
            split["libevent"] += pct
        elif dso == "hisaab":
            split["ours"] += pct
        else:
            split["other"] += pct
    return split


def main():
    if not shutil.which("wrk") or not os.path.exists(NGINX) or not os.path.exists(HISAAB):
        print("api_bench: needs wrk, nginx-light and build/hisaab; not run")
        return 0
    svc = harness.Services()
    harness.etl(svc, "migrate")
    harness.etl(svc, "run", "--source", SAMPLE, "--format", "csv")
    cpus = os.cpu_count() or 1
    # One worker per CPU (the default), then, with wrk on the same machine, one fewer on
    # both sides: the load generator then has a core of its own, and the tail is the
    # servers' own rather than the scheduler's time slices.
    counts = [int(os.environ["BENCH_WORKERS"])] if "BENCH_WORKERS" in os.environ else (
        [cpus, cpus - 1] if cpus > 1 else [cpus])
    for n in counts:
        run_one(svc, n)
        print()
    return 0


def run_one(svc, nworkers):
    tmp = tempfile.mkdtemp(prefix="hisaab-bench-")
    os.chmod(tmp, 0o755)
    port = harness.free_port()
    conf = os.path.join(tmp, "kore.conf")
    # Both sides without rate limits and access logs.
    text = conf_text(port, "rate_limit_ip 0\nrate_limit_ip_cached 0\nlog_level warn\n")
    text = re.sub(r"(?m)^workers\s+\d+", "workers %d" % nworkers, text)
    with open(conf, "w") as f:
        f.write(text)
    srv = subprocess.Popen([HISAAB, "-c", conf], stdout=subprocess.DEVNULL,
                           stderr=open(os.path.join(tmp, "hisaab.log"), "w"),
                           env=svc.env(), cwd=harness.ROOT)
    ngx = None
    try:
        harness.wait_port(port)
        workers = children(srv.pid)
        ids = [d["id"] for d in json.loads(get(port, "/api/v1/districts"))["data"]]
        page = get(port, "/").decode()
        build = re.search(r'src="/app/([0-9a-f]{12})/main\.js"', page).group(1)
        script = "/app/%s/main.js" % build
        paths = [("summary", SUMMARY), ("search", SEARCH), ("states", STATES), ("page /", "/"),
                 ("script", script), ("WAV", WAV), ("pincode", PINCODE)]
        # Every district's summary (both languages) and each path, cached in every worker.
        for _ in range(4 * len(workers)):
            for i in ids:
                get(port, "/api/v1/districts/%d/summary" % i)
                get(port, "/api/v1/districts/%d/summary?lang=hi" % i)
            for _, path in paths:
                get(port, path)
        body = b""
        for _ in range(20):
            body = get(port, SUMMARY)
            if json.loads(body)["cached"]:
                break
        www = os.path.join(tmp, "www")
        os.makedirs(www)
        os.makedirs(os.path.join(tmp, "tmp"))
        locations = []
        stored = {}
        for n, (_, path) in enumerate(paths):
            data = stored[path] = body if path == SUMMARY else get(port, path)
            with open(os.path.join(www, "f%d" % n), "wb") as f:
                f.write(data)
            locations.append("        location = %s { try_files /f%d =404; }"
                             % (path.split("?")[0], n))
        nport = harness.free_port()
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF % {"dir": tmp, "port": nport, "workers": nworkers,
                                  "locations": "\n".join(locations)})
        ngx = subprocess.Popen([NGINX, "-p", tmp, "-c", os.path.join(tmp, "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_port(nport)
        for _, path in paths:
            assert get(nport, path) == stored[path], path

        print("hisaab and nginx: %d worker(s) each; summary body %d bytes; %d districts x 2 "
              "languages cached; wrk -t1 -c64 %d s, %d rounds alternating, medians"
              % (len(workers), len(body), len(ids), SECONDS, ROUNDS))
        # A short unmeasured run first: the first seconds after start are slower (page
        # faults, TCP buffers), for nginx too.
        for p in (port, nport):
            subprocess.run(["wrk", "-t1", "-c64", "-d2s", "http://127.0.0.1:%d%s" % (p, SUMMARY)],
                           capture_output=True, timeout=60)
        print("%-9s %10s %10s %8s %10s %10s %8s %6s" % ("path", "hisaab/s", "p99", "bytes",
                                                       "nginx/s", "p99", "bytes", "ratio"))
        only = os.environ.get("BENCH_PATHS", "").split(",") if os.environ.get("BENCH_PATHS") \
            else None
        for name, path in paths:
            if only and name not in only:
                continue
            ours, theirs = [], []
            for _ in range(ROUNDS):
                ours.append(wrk(port, path))
                theirs.append(wrk(nport, path))
            o_rps, o_p99 = median([r[0] for r in ours]), median([r[1] for r in ours])
            n_rps, n_p99 = median([r[0] for r in theirs]), median([r[1] for r in theirs])
            o_b, n_b = median([r[3] for r in ours]), median([r[3] for r in theirs])
            bad = sum(r[2] for r in ours)
            print("%-9s %10.0f %7.2f ms %8.0f %10.0f %7.2f ms %8.0f %6.2f%s"
                  % (name, o_rps, o_p99 or 0, o_b or 0, n_rps, n_p99 or 0, n_b or 0,
                     o_rps / n_rps if n_rps else 0, "   non-2xx %d" % bad if bad else ""))
        print("bytes: per response as read by wrk, headers included (the bodies are identical)")
        print("target: >= 1.25x nginx, p99 < 2 ms at 64 connections")
        split = profile(workers, port)
        if split is None:
            print("profile: perf not installed or not permitted; not run")
        else:
            print("profile of the workers under the summary load (perf, cpu-clock): " +
                  ", ".join("%s %.1f %%" % (k, v) for k, v in split.items()))
        for w in workers:
            print("worker %d RSS: %.1f MB (target < 30 MB)" % (w, rss_mb(w)))

    finally:
        if ngx is not None:
            ngx.send_signal(signal.SIGQUIT)
            try:
                ngx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                ngx.kill()
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=15)
        except subprocess.TimeoutExpired:
            srv.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
