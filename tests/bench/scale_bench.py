"""Scale-out figure (issue 13), figures only: the cached district summary through nginx
to one instance and to two instances (2 workers each, sample loaded, rate limits off),
and to one instance directly. wrk is a closed loop, so the load is stepped by the number
of connections (16, 64, 256, 512): for each set-up the table shows req/s and p99 at each
step and the highest req/s seen with p99 under 50 ms. On one 2-core machine the two
instances share the same cores, so the comparison shows the cost of the proxy and of
the second instance, not a gain; on two machines the second instance adds its own.

    python3 tests/bench/scale_bench.py [SECONDS]      (default 5 s per step)
"""
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scale"))
import harness  # noqa: E402
from drills import Nginx, set_once  # noqa: E402

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 5
PATH = "/api/v1/districts/1752/summary"
STEPS = (16, 64, 256, 512)


def wrk(port, conns):
    out = subprocess.run(["wrk", "-t2", "-c%d" % conns, "-d%ds" % SECONDS, "--latency",
                          "http://127.0.0.1:%d%s" % (port, PATH)],
                         capture_output=True, text=True, timeout=SECONDS + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = float(p99.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)] if p99 else None
    return float(rps.group(1)) if rps else 0.0, lat, int(bad.group(1)) if bad else 0


def run(name, port):
    best = 0.0
    cells = []
    for c in STEPS:
        rps, p99, bad = wrk(port, c)
        cells.append("%d conns: %.0f req/s, p99 %s%s" % (c, rps, "%.1f ms" % p99 if p99 else "?",
                                                       ", %d errors" % bad if bad else ""))
        if p99 is not None and p99 < 50 and not bad:
            best = max(best, rps)
    print("  %-28s best with p99 < 50 ms: %6.0f req/s   (%s)" % (name, best, "; ".join(cells)))


def main():
    if not shutil.which("wrk") or not shutil.which("nginx"):
        print("scale_bench: needs wrk and nginx; not run")
        return 0
    svc = harness.Services()
    extra = "\trate_limit_ip 0\n\trate_limit_ip_cached 0\n\trate_limit_client 0\n"
    inst = []
    nginx = []
    try:
        harness.etl(svc, "migrate")
        harness.etl(svc, "run", "--source", harness.SAMPLE, "--format", "csv")
        inst = [harness.HisaabServer(svc, workers=2, extra_hisaab=extra) for _ in range(2)]
        for s in inst:
            set_once(s.conf)
            s.start()
            harness.wait_for(lambda: s.get(PATH)[0] == 200, timeout=30)
        one = Nginx([inst[0].port, inst[0].port])
        two = Nginx([inst[0].port, inst[1].port])
        nginx = [one, two]
        print("scale: cached summary, %d s per step, wrk -t2" % SECONDS)
        run("one instance, direct", inst[0].port)
        run("one instance behind nginx", one.port)
        run("two instances behind nginx", two.port)
    finally:
        for n in nginx:
            n.stop()
        for s in inst:
            s.stop()
        svc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
