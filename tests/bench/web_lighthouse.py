#!/usr/bin/env python3
"""`make bench`: Lighthouse 11.7.1 (tests/bench/web/) on the web app, mobile settings
(Lighthouse's default: a Moto G Power-class phone, simulated slow 4G and 4x CPU slowdown),
with Debian's chromium (CHROME_PATH), against the real server with the sample data. Prints
the category scores of the start screen and of a district's screen, and the bytes a first
load transfers (gzip) before any data. Figures only: it never fails on a number.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

LH = os.path.join(harness.ROOT, "tests", "bench", "web", "node_modules", ".bin", "lighthouse")
SAMPLE = os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv")


def first_load_bytes(srv):
    _, _, index = srv.get("/", {"Accept-Encoding": "gzip"})
    _, _, plain = srv.get("/")
    _, _, sw = srv.get("/sw.js")
    build = re.search(rb"/app/([0-9a-f]{12})/main\.js", plain).group(1).decode()
    paths = {"/", "/sw.js", "/manifest.webmanifest"}
    paths.update(p.decode() for p in re.findall(rb'(?:href|src)="(/app/[^"]+)"', plain))
    paths.update("/app/%s/%s" % (build, p.decode())
                 for p in re.findall(rb"'([a-z0-9_./-]+\.(?:js|css|json|svg|png))'", sw))
    return sum(len(srv.get(p, {"Accept-Encoding": "gzip"})[2]) for p in paths), len(paths)


def main():
    if not os.path.exists(LH):
        print("lighthouse not installed (HISAAB_WEB_BENCH=1 scripts/install-web-deps)")
        return 0
    svc = harness.Services()
    harness.etl(svc, "migrate")
    harness.etl(svc, "run", "--source", SAMPLE, "--format", "csv")
    srv = harness.HisaabServer(svc).start()
    harness.wait_for(lambda: srv.get("/d/1752")[0] == 200, timeout=15)
    total, n = first_load_bytes(srv)
    print("first load, everything the service worker precaches: %d files, %d bytes gzip"
          % (n, total))
    api = sum(len(srv.get(p, {"Accept-Encoding": "gzip"})[2]) for p in (
        "/api/v1/districts/1752/summary", "/api/v1/districts/1752/history?months=12",
        "/api/v1/districts/1752/voice?lang=en"))
    print("API data for one district's screen (summary, history, voice): %d bytes gzip" % api)
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    flags = ("--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
             "--disable-background-networking --disable-component-update --disable-sync")
    for name, path in (("start", "/"), ("district", "/#/d/1752")):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "report.json")
            p = subprocess.run([LH, "http://127.0.0.1:%d%s" % (srv.port, path),
                                "--output=json", "--output-path=" + out, "--quiet",
                                "--chrome-flags=%s --user-data-dir=%s/profile" % (flags, tmp),
                                "--only-categories=performance,accessibility,best-practices,pwa",
                                "--form-factor=mobile"],
                               env=env, capture_output=True, text=True, timeout=300)
            if p.returncode != 0 or not os.path.exists(out):
                print("lighthouse %s failed: %s" % (name, (p.stderr or p.stdout)[-800:]))
                continue
            with open(out) as f:
                rep = json.load(f)
            scores = {k: (round(v["score"] * 100) if v["score"] is not None else None)
                      for k, v in rep["categories"].items()}
            print("lighthouse %-8s performance %s, accessibility %s, best practices %s, pwa %s"
                  % (name, scores.get("performance"), scores.get("accessibility"),
                     scores.get("best-practices"), scores.get("pwa")))
            for a in rep["audits"].values():
                if a.get("score") is not None and a["score"] < 1 and \
                        a.get("scoreDisplayMode") in ("binary", "numeric"):
                    print("   %s: %s" % (a["id"], a["score"]))
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
