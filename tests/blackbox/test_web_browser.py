"""The web app in a real browser: tests/web/app.test.mjs (Debian's chromium driven by
playwright-core) against the real server, Postgres and Redis with the sample data.

The server reads a copy of assets/ so that the update test can ship a "new release" (it
edits the copy and asks for a restart by creating a file, which this module watches).
Each browser test is reported here as its own test method.
"""
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import harness

NODE_TEST = os.path.join(harness.ROOT, "tests", "web", "app.test.mjs")
PLAYWRIGHT = os.path.join(harness.ROOT, "tests", "web", "node_modules", "playwright-core")
SAMPLE = os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv")
EXPECTED = [
    "shell loads in English with a labelled search box",
    "search finds districts by English like the API",
    "search finds districts by romanised Hindi like the API",
    "search finds districts by Devanagari like the API",
    "search finds districts by PIN code like the API",
    "search finds districts by former name like the API",
    "a district's figures equal the API's",
    "the language switch turns all text and names into Hindi and back",
    "use my location finds the district of a point in Madhya Pradesh",
    "the play button plays the IVR summary (a recorded WAV)",
    "offline reload shows the districts viewed and their figures",
    "the app is installable (no installability errors)",
    "320 px wide with the font size doubled: no sideways scroll, targets >= 48 px",
    "a new release replaces the old shell on the next visit",
]


class BrowserSuite(unittest.TestCase):
    results = {}
    output = ""

    @classmethod
    def setUpClass(cls):
        if not os.path.exists("/usr/bin/chromium") or not os.path.isdir(PLAYWRIGHT):
            raise RuntimeError("chromium or playwright-core missing: run `make deps`")
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", SAMPLE, "--format", "csv")
        cls.tmp = tempfile.mkdtemp(prefix="hisaab-web-")
        cls.assets = os.path.join(cls.tmp, "assets")
        shutil.copytree(os.path.join(harness.ROOT, "assets"), cls.assets)
        cls.restart = os.path.join(cls.tmp, "restart")
        cls.srv = harness.HisaabServer(cls.svc)
        with open(cls.srv.conf) as f:
            conf = re.sub(r"(?m)^(\s*assets_dir\s+).*$", r"\g<1>" + cls.assets, f.read())
        with open(cls.srv.conf, "w") as f:
            f.write(conf)
        cls.srv.start()
        stop = threading.Event()

        def watcher():
            while not stop.is_set():
                if os.path.exists(cls.restart):
                    os.unlink(cls.restart)
                    cls.srv.stop()
                    cls.srv.start()
                time.sleep(0.1)

        w = threading.Thread(target=watcher, daemon=True)
        w.start()
        try:
            p = subprocess.run(["node", NODE_TEST, "http://127.0.0.1:%d" % cls.srv.port,
                                cls.assets, cls.restart], capture_output=True, text=True,
                               timeout=600, cwd=harness.ROOT)
            cls.output = p.stdout + p.stderr
        finally:
            stop.set()
            w.join()
        for line in cls.output.splitlines():
            if line.startswith("ok "):
                cls.results[line[3:]] = None
            elif line.startswith("not ok "):
                name, _, why = line[7:].partition(": ")
                cls.results[name] = why

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_browser_test_ran(self):
        self.assertIn("HISAAB-WEB passed=", self.output, self.output[-3000:])
        self.assertEqual(sorted(self.results), sorted(EXPECTED), self.output[-3000:])


def _make(name):
    def t(self):
        self.assertIn(name, self.results, "did not run:\n" + self.output[-3000:])
        self.assertIsNone(self.results[name], self.results[name])
    return t


for i, n in enumerate(EXPECTED):
    setattr(BrowserSuite, "test_%02d_%s" % (i, "".join(c if c.isalnum() else "_" for c in n)[:50]),
            _make(n))


if __name__ == "__main__":
    unittest.main()
