"""Benchmark of the district API (issue 3), figures only: wrk on loopback, 64 connections,
the server at its default worker count (one per CPU) with every district's summary
cached, against nginx (Debian's nginx-light) serving the identical summary bytes as a
static file in the same run. Prints throughput, p99 latency, the summary/nginx ratio and
the resident memory of each worker. Never fails on a number.

    tests/bench/api_bench.sh [SECONDS]      (default 10 seconds per run)
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
SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
SUMMARY = "/api/v1/districts/1752/summary"
SEARCH = "/api/v1/districts?q=niw"
PINCODE = "/api/v1/pincodes/462001"

NGINX_CONF = """\
daemon off;
master_process on;
worker_processes auto;
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
        location / { default_type application/json; }
    }
}
"""


def get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        return r.read()


def wrk(port, path):
    out = subprocess.run(["wrk", "-t2", "-c64", "-d%ds" % SECONDS, "--latency",
                          "http://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, text=True, timeout=SECONDS + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = None
    if p99:
        lat = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return (float(rps.group(1)) if rps else 0.0), lat, int(errors.group(1)) if errors else 0


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


def main():
    if not shutil.which("wrk") or not os.path.exists(NGINX) or not os.path.exists(HISAAB):
        print("api_bench: needs wrk, nginx-light and build/hisaab; not run")
        return 0
    svc = harness.Services()
    harness.etl(svc, "migrate")
    harness.etl(svc, "run", "--source", SAMPLE, "--format", "csv")
    tmp = tempfile.mkdtemp(prefix="hisaab-bench-")
    os.chmod(tmp, 0o755)
    port = harness.free_port()
    conf = os.path.join(tmp, "kore.conf")
    text = conf_text(port, "rate_limit_ip 0\nlog_level warn\n")
    text = re.sub(r"(?m)^workers\s+\d+", "workers 0", text)
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
        # Every district's summary (both languages) and the search, cached in every worker.
        for _ in range(4 * len(workers)):
            for i in ids:
                get(port, "/api/v1/districts/%d/summary" % i)
                get(port, "/api/v1/districts/%d/summary?lang=hi" % i)
            get(port, SEARCH)
            get(port, PINCODE)
        body = b""
        for _ in range(20):
            body = get(port, SUMMARY)
            if json.loads(body)["cached"]:
                break
        www = os.path.join(tmp, "www", "api", "v1", "districts", "1752")
        os.makedirs(www)
        os.makedirs(os.path.join(tmp, "tmp"))
        with open(os.path.join(www, "summary"), "wb") as f:
            f.write(body)
        nport = harness.free_port()
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF % {"dir": tmp, "port": nport})
        ngx = subprocess.Popen([NGINX, "-p", tmp, "-c", os.path.join(tmp, "nginx.conf")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_port(nport)
        assert get(nport, SUMMARY) == body

        print("hisaab: %d workers; summary body %d bytes; %d districts x 2 languages cached"
              % (len(workers), len(body), len(ids)))
        # A short unmeasured run first: the first seconds after start are slower (page
        # faults, TCP buffers), for nginx too.
        for p in (port, nport):
            subprocess.run(["wrk", "-t2", "-c64", "-d2s", "http://127.0.0.1:%d%s" % (p, SUMMARY)],
                           capture_output=True, timeout=60)
        results = {}
        for name, p, path in (("hisaab summary", port, SUMMARY), ("hisaab search", port, SEARCH),
                              ("hisaab pincode", port, PINCODE), ("nginx static", nport, SUMMARY)):
            rps, p99, bad = wrk(p, path)
            results[name] = rps
            print("%-15s %10.0f req/s   p99 %s   non-2xx %d"
                  % (name, rps, "%.2f ms" % p99 if p99 is not None else "?", bad))
        if results["nginx static"] > 0:
            print("summary / nginx throughput ratio: %.2f (target >= 0.90)"
                  % (results["hisaab summary"] / results["nginx static"]))
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
