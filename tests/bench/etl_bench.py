#!/usr/bin/env python3
"""ETL benchmark: times `hisaab-etl run` on the real sample and on a generated national-size
file (tests/bench/gen_national.py, 400,000 records by default) against a harness Postgres,
first load and an identical re-load (which must change nothing). Prints records/s; never
fails on a number (the target is 400,000 records in under 20 s on a 2-core machine).

    tests/bench/etl_bench.py [--records N]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import harness  # noqa: E402

SAMPLE = next((p for p in (os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv"),
                           os.path.join(harness.ROOT, "..", "shared", "data",
                                        "mgnrega_mp_2024-25.csv")) if os.path.exists(p)), None)


def timed_run(svc, path, label):
    t = time.time()
    p = harness.etl(svc, "run", "--source", path, timeout=600, check=False)
    dt = time.time() - t
    if p.returncode != 0:
        print("%-28s FAILED (exit %d)\n%s" % (label, p.returncode, p.stderr[-2000:]))
        return
    read, changed = svc.psql("SELECT records_read, rows_changed FROM etl_runs "
                             "ORDER BY id DESC LIMIT 1")[0]
    print("%-28s %8s records %7s rows changed %7.2f s %10.0f records/s"
          % (label, read, changed, dt, int(read) / dt if dt > 0 else 0))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=400000)
    args = ap.parse_args()
    svc = harness.Services()
    harness.etl(svc, "migrate")
    if SAMPLE:
        timed_run(svc, SAMPLE, "sample (first load)")
        timed_run(svc, SAMPLE, "sample (re-load)")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "national.csv")
        t = time.time()
        subprocess.run([sys.executable, os.path.join(HERE, "gen_national.py"), path,
                        "--records", str(args.records)], check=True)
        print("generated %d records (%.1f MB) in %.1f s" % (args.records,
              os.path.getsize(path) / 1e6, time.time() - t))
        timed_run(svc, path, "national (first load)")
        timed_run(svc, path, "national (re-load)")
    svc.close()


if __name__ == "__main__":
    main()
