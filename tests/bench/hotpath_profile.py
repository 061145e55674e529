"""Instructions per request on the hot path (issue 15), figures only: one worker under
valgrind's callgrind, which counts instructions, not seconds, so the figure repeats
whatever else the machine is doing. For each path: 2,000 keep-alive requests after a
warm-up, the worker's instructions divided by the requests, and the split of those
instructions by where they run (our code, libevent, libc, other libraries). The kernel's
share is not seen by callgrind (use `perf stat` / `perf record` for that where the
machine allows it).

    python3 tests/bench/hotpath_profile.py [--top] [--keep] [PATH ...]
        (--top: the costliest functions; --keep: leave the callgrind files)

A PATH holding {n} gets a new number in its place on every request, e.g. the SMS webhook
with a new message id and sender each time (dedupe, limit, memory and records all on):
    '/sms/kannel?from=9197{n:08d}&to=56767&text=NREGA+Niwari&charset=UTF-8&coding=0&id=cg-{n}'
"""
import glob
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "blackbox"))
import harness  # noqa: E402
from test_api import conf_text  # noqa: E402

N = 2000
PATHS = ["/api/v1/districts/1752/summary", "/api/v1/districts?q=niw", "/api/v1/states", "/"]


def split(annotate, total):
    """Self instructions by object: ours, libevent, libc, other. The frames that were on
    the stack when the counters were zeroed (main, the loop) show the whole total and are
    left out."""
    out = {"ours": 0, "libevent": 0, "libc": 0, "other": 0}
    for m in re.finditer(r"^\s*([\d,]+) \([ \d.]+%\)\s+\S.*\[(.*)\]\s*$", annotate, re.M):
        n, obj = int(m.group(1).replace(",", "")), m.group(2)
        if n >= 0.99 * total:
            continue
        if "hisaab" in obj:
            out["ours"] += n
        elif "libevent" in obj:
            out["libevent"] += n
        elif "libc.so" in obj:
            out["libc"] += n
        else:
            out["other"] += n
    return out


def profile(svc, path, tmp):
    port = harness.free_port()
    d = tempfile.mkdtemp(dir=tmp)
    conf = conf_text(port, "rate_limit_ip 0\nrate_limit_ip_cached 0\nlog_level warn\n"
                           "spool_dir %s/spool" % d)
    conf = re.sub(r"(?m)^workers\s+\d+", "workers 1", conf)
    with open(os.path.join(d, "kore.conf"), "w") as f:
        f.write(conf)
    p = subprocess.Popen(["valgrind", "--tool=callgrind", "--trace-children=yes",
                          "--callgrind-out-file=%s/cg.%%p" % d,
                          os.path.join(harness.BUILD, "hisaab"), "-c", os.path.join(d, "kore.conf")],
                         env=svc.env(HISAAB_SECRET="bench"), cwd=harness.ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        harness.wait_port(port, timeout=120)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        seq = [0]

        def get():
            seq[0] += 1
            c.request("GET", path.format(n=seq[0]) if "{n" in path else path)
            r = c.getresponse()
            r.read()
            return r.status

        harness.wait_for(lambda: get() == 200, timeout=120, step=0.5)
        for _ in range(200):
            get()
        worker = int(subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                                    text=True).stdout.split()[0])
        subprocess.run(["callgrind_control", "-z", str(worker)], capture_output=True, timeout=60)
        for _ in range(N):
            assert get() == 200
        subprocess.run(["callgrind_control", "-d", str(worker)], capture_output=True, timeout=60)
        time.sleep(1)
        dumps = sorted(glob.glob("%s/cg.%d.*" % (d, worker)), key=os.path.getmtime)
        ann = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", dumps[-1]],
                             capture_output=True, text=True).stdout
        total = int(re.search(r"([\d,]+) \([ \d.]+%\)\s+PROGRAM TOTALS", ann).group(1)
                    .replace(",", ""))
        return total / N, split(ann, total), ann
    finally:
        p.terminate()
        p.wait(timeout=60)


def main():
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        print("hotpath_profile: needs valgrind; not run")
        return 0
    top = "--top" in sys.argv
    paths = [a for a in sys.argv[1:] if a not in ("--top", "--keep")] or PATHS
    svc = harness.Services()
    tmp = tempfile.mkdtemp(prefix="hisaab-hotpath-")
    try:
        harness.etl(svc, "migrate")
        harness.etl(svc, "run", "--source", harness.SAMPLE, "--format", "csv")
        for path in paths:
            per, sp, ann = profile(svc, path, tmp)
            tot = sum(sp.values()) or 1
            print("  %-36s %8.0f instructions/request   ours %4.1f%%  libevent %4.1f%%  libc %4.1f%%"
                  "  other %4.1f%%" % (path, per, 100.0 * sp["ours"] / tot,
                                      100.0 * sp["libevent"] / tot, 100.0 * sp["libc"] / tot,
                                      100.0 * sp["other"] / tot))
            if top:  # the functions that cost most, per request
                rows = [(n, fn) for n, fn in
                        re.findall(r"^\s*([\d,]+) \([ \d.]+%\)\s+(\S.*)$", ann, re.M)
                        if int(n.replace(",", "")) < 0.99 * per * N]
                for n, fn in rows[:30]:
                    print("      %7.0f  %s" % (int(n.replace(",", "")) / N, fn[:100]))
    finally:
        svc.close()
        if "--keep" in sys.argv:
            print("callgrind files kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
