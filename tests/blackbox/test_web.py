"""Black-box tests of the web channel's serving (src/web/, docs/web.md): the app's files
from memory (MIME types, strong ETags and 304, gzip, HEAD, immutable and no-cache, CSP,
Service-Worker-Allowed, no listing, no traversal), the server-rendered pages for browsers
without JavaScript (figures equal the API's), and the carrier-NAT rate budget.
"""
import gzip
import html
import http.client
import json
import os
import re
import unittest

import harness

SAMPLE = os.path.join(harness.ROOT, "data", "mgnrega_mp_2024-25.csv")
WEB = os.path.join(harness.ROOT, "assets", "web")


def raw_get(port, target, headers=None, method="GET"):
    """A request with the target sent byte for byte (http.client would not re-encode it)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.putrequest(method, target, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


class WebServing(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", SAMPLE, "--format", "csv")
        cls.srv = harness.HisaabServer(cls.svc)
        with open(cls.srv.conf) as f:
            conf = f.read()
        # A tight budget for expensive queries, a roomy one for cached GETs.
        conf = re.sub(r"(?m)^(\s*rate_limit_ip\s+)\d+", r"\g<1>3", conf)
        with open(cls.srv.conf, "w") as f:
            f.write(conf)
        cls.srv.start()
        harness.wait_for(lambda: cls.get("/d/1752")[0] == 200, timeout=15)
        st, _, body = cls.get("/")
        cls.index = body.decode()
        cls.build = re.search(r'src="/app/([0-9a-f]{12})/main\.js"', cls.index).group(1)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    @classmethod
    def get(cls, target, headers=None, method="GET"):
        return raw_get(cls.srv.port, target, headers, method)

    def api(self, path):
        st, _, body = self.get(path)
        self.assertEqual(st, 200, body)
        return json.loads(body)["data"]

    def test_shell_headers(self):
        st, h, body = self.get("/")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/html; charset=utf-8")
        self.assertEqual(h["cache-control"], "no-cache")
        csp = h["content-security-policy"]
        for d in ("script-src 'self'", "style-src 'self'", "img-src 'self'", "media-src 'self'",
                  "connect-src 'self'", "manifest-src 'self'", "worker-src 'self'"):
            self.assertIn(d, csp)
        self.assertNotIn("unsafe", csp)
        self.assertRegex(h["etag"], r'^"[0-9a-f]{32}"$')
        self.assertNotIn("@BUILD@", body.decode())
        # The API keeps its own default-src 'none'.
        _, h, _ = self.get("/api/v1/states")
        self.assertTrue(h["content-security-policy"].startswith("default-src 'none'"))

    def test_service_worker_and_manifest(self):
        st, h, body = self.get("/sw.js")
        self.assertEqual(st, 200)
        self.assertEqual(h["content-type"], "text/javascript; charset=utf-8")
        self.assertEqual(h["service-worker-allowed"], "/")
        self.assertEqual(h["cache-control"], "no-cache")
        self.assertIn("connect-src 'self'", h["content-security-policy"])
        sw = body.decode()
        self.assertIn("'%s'" % self.build, sw)
        # Every file the worker precaches is served.
        files = re.findall(r"'([a-z0-9_./-]+\.(?:js|css|json|svg|png))'", sw)
        self.assertGreaterEqual(len(files), 8)
        for f in files:
            st, _, _ = self.get("/app/%s/%s" % (self.build, f))
            self.assertEqual(st, 200, f)
        st, h, body = self.get("/manifest.webmanifest")
        self.assertEqual(h["content-type"], "application/manifest+json; charset=utf-8")
        m = json.loads(body)
        self.assertEqual(m["display"], "standalone")
        self.assertRegex(m["name"], "[\u0900-\u097f]")
        self.assertRegex(m["name"], "Hisaab")
        for icon in m["icons"]:
            st, h, png = self.get(icon["src"])
            self.assertEqual(st, 200, icon["src"])
            if icon["type"] == "image/png":
                self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
                w, hgt = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
                self.assertEqual("%dx%d" % (w, hgt), icon["sizes"])

    def test_asset_types_etag_gzip_head(self):
        base = "/app/%s/" % self.build
        for name, ctype in (("main.js", "text/javascript; charset=utf-8"),
                            ("style.css", "text/css; charset=utf-8"),
                            ("text.json", "application/json; charset=utf-8"),
                            ("icons/icon.svg", "image/svg+xml; charset=utf-8"),
                            ("icons/icon-192.png", "image/png")):
            st, h, body = self.get(base + name)
            self.assertEqual(st, 200, name)
            self.assertEqual(h["content-type"], ctype)
            self.assertEqual(h["cache-control"], "public, max-age=31536000, immutable")
            src = name if not name.endswith(".png") else None
            if src:
                with open(os.path.join(WEB, "app", name), "rb") as f:
                    self.assertEqual(body, f.read(), name)
            st2, h2, _ = self.get(base + name, {"If-None-Match": h["etag"]})
            self.assertEqual(st2, 304, name)
            st3, h3, body3 = self.get(base + name, method="HEAD")
            self.assertEqual((st3, body3), (200, b""))
            self.assertEqual(h3["content-length"], str(len(body)))
        st, h, body = self.get(base + "main.js", {"Accept-Encoding": "gzip"})
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertEqual(h["vary"], "Accept-Encoding")
        with open(os.path.join(WEB, "app", "main.js"), "rb") as f:
            self.assertEqual(gzip.decompress(body), f.read())
        self.assertNotEqual(h["etag"], self.get(base + "main.js")[1]["etag"])
        self.assertEqual(self.get(base + "main.js", {"Accept-Encoding": "gzip",
                                                     "If-None-Match": h["etag"]})[0], 304)

    def test_first_load_under_50_kb(self):
        total = 0
        paths = ["/", "/manifest.webmanifest"] + re.findall(r'(?:href|src)="(/app/[^"]+)"',
                                                           self.index)
        _, _, sw = self.get("/sw.js")
        paths.append("/sw.js")
        for p in re.findall(r"'([a-z0-9_./-]+\.(?:js|css|json))'", sw.decode()):
            paths.append("/app/%s/%s" % (self.build, p))
        for p in set(paths):
            st, h, body = self.get(p, {"Accept-Encoding": "gzip"})
            self.assertEqual(st, 200, p)
            total += len(body)
        self.assertLess(total, 50 * 1024, total)

    def test_no_listing_no_traversal(self):
        b = self.build
        for target in ("/app/%s/" % b, "/app/%s/icons/" % b, "/app/%s/icons" % b, "/app/",
                       "/app/%s/../../kore.conf" % b, "/app/%s/icons/../../../kore.conf" % b,
                       "/app/%s/%%2e%%2e/%%2e%%2e/kore.conf" % b,
                       "/app/%s/%%2E%%2E%%2Fkore.conf" % b, "/app/%s/main.js%%00.png" % b,
                       "/app/%s/%%c0%%ae%%c0%%ae/kore.conf" % b,
                       "/app/%s/%%252e%%252e/kore.conf" % b, "/app/%s/.hidden.js" % b,
                       "/app/%s/main.js/" % b, "/app/000000000000/main.js",
                       "/app/%s/text.json.gz" % b, "/index.html", "/sw.js/../kore.conf",
                       "/d/..%2f..%2fetc", "/d/1752%00"):
            st, h, body = self.get(target)
            self.assertEqual(st, 404, target)
            self.assertNotIn(b"hisaab {", body, target)
        # A path that names a real file through ".." is not resolved either.
        self.assertEqual(self.get("/app/%s/icons/../main.js" % b)[0], 404)

    def test_district_page_without_javascript(self):
        s = self.api("/api/v1/districts/1752/summary")
        st, h, body = self.get("/d/1752?lang=en")
        self.assertEqual(st, 200)
        self.assertIn("script-src 'self'", h["content-security-policy"])
        page = html.unescape(body.decode())
        self.assertNotIn("<script", page)
        self.assertIn("<h1 id=\"name\">%s</h1>" % s["district"]["name_en"], page)
        m = s["metrics"]
        fam = harness.indian_grouping(m["households_worked"])
        self.assertRegex(page, r'data-k="families">.*?<span class="value">%s<' % fam)
        self.assertRegex(page, r'data-k="days">.*?<span class="value">%d<'
                         % round(m["avg_days_per_household"]))
        self.assertRegex(page, r'data-k="wage">.*?<span class="value">₹%d<'
                         % round(m["avg_wage_rate"]))
        self.assertRegex(page, r'<rect class="fill" width="%d"' % round(m["avg_days_per_household"]))
        words = {"up": "better than the state", "down": "worse than the state",
                 "steady": "about the same as the state"}
        self.assertRegex(page, r'data-k="days">.*?class="cmp">. %s<'
                         % words[s["trend"]["avg_days_per_household"]])
        months = ["January", "February", "March", "April", "May", "June", "July", "August",
                  "September", "October", "November", "December"]
        y, mo = s["month"].split("-")
        self.assertIn("Figures for %s %s" % (months[int(mo) - 1], y), page)
        st, _, body = self.get("/d/1752?lang=hi")
        page = html.unescape(body.decode())
        self.assertIn('<html lang="hi">', page)
        self.assertIn(s["district"]["name_hi"], page)
        self.assertIn("के आँकड़े", page)
        self.assertEqual(self.get("/d/1752", {"Accept-Language": "hi-IN,hi;q=0.9"})[2], body)
        st, _, body = self.get("/d/999999")
        self.assertEqual(st, 404)
        self.assertIn(b"text/html", self.get("/d/999999")[1]["content-type"].encode())
        self.assertEqual(self.get("/d/1752?lang=fr")[0], 400)

    def test_search_page_without_javascript(self):
        for q in ("Niwari", "nivadi", "निवाड़ी", "462001", "Hoshangabad"):
            want = self.api("/api/v1/districts?q=" + urlquote(q))[0]
            st, _, body = self.get("/search?q=" + urlquote(q) + "&lang=en")
            self.assertEqual(st, 200, q)
            page = html.unescape(body.decode())
            first = re.search(r'<ul class="results"><li>(.*?)</li>', page).group(1)
            self.assertIn(want["name_en"], first, q)
            if want["has_data"]:
                self.assertIn('href="/d/%d?lang=en"' % want["id"], first)
            self.assertIn('value="%s"' % q, page)  # the form keeps what was asked
        st, _, body = self.get("/search?q=zzqqxx")
        self.assertIn("No district found", body.decode())
        st, _, body = self.get("/search?q=" + urlquote("<script>alert(1)</script>"))
        self.assertEqual(st, 200)
        self.assertNotIn(b"<script>", body)
        self.assertIn(b"&lt;script&gt;", body)
        self.assertEqual(self.get("/search?q=" + "x" * 65)[0], 400)

    def test_carrier_nat_budget(self):
        # Cached GETs and the app's files share the big per-address budget ...
        st, h, _ = self.get("/app/%s/main.js" % self.build)
        self.assertEqual(h["ratelimit-policy"], "6000;w=900")
        st, h, _ = self.get("/api/v1/districts/1752/summary")
        self.assertEqual(h["ratelimit-policy"], "6000;w=900")
        a = int(self.get("/d/1752")[1]["ratelimit-remaining"])
        b = int(self.get("/api/v1/districts/1752/history")[1]["ratelimit-remaining"])
        self.assertEqual(b, a - 1)
        # ... which dozens of phones behind one address do not exhaust, while expensive
        # queries keep the tight limit (3 here).
        for _ in range(60):
            self.assertEqual(self.get("/api/v1/districts?q=niwari")[0], 200)
        codes = [self.get("/api/v1/states/17/comparison?metric=persondays")[0] for _ in range(4)]
        self.assertEqual(codes, [200, 200, 200, 429])
        self.assertEqual(self.get("/")[0], 200)


def urlquote(s):
    import urllib.parse
    return urllib.parse.quote(s)


if __name__ == "__main__":
    unittest.main()
