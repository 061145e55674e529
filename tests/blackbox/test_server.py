"""Black-box tests of the hisaab server runtime: `hisaab -t`, the prefork master, the HTTP
limits, JSON errors, the access log, /metrics, SIGTERM drain and worker restarts.

No database: the server runs with only /metrics and the test-only `debug_sleep` handler
(enabled by HISAAB_TEST_HANDLERS=1), so these tests do not start Postgres or Redis.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness

HISAAB = os.path.join(harness.BUILD, "hisaab")

CONF = """\
# test configuration
server default {
	bind 127.0.0.1 %(port)d
}
workers %(workers)d
validator v_ms regex ^[0-9]{1,5}$
validator v_lat function v_lat
validator v_lon function v_lon
domain * {
	route /metrics {
		handler metrics_handler
		methods get
	}
	route /sleep {
		handler debug_sleep
		methods get post
		validate qs:get ms v_ms
		validate post ms v_ms
	}
	route ^/near/[0-9]+$ {
		handler debug_sleep
		methods get
		validate qs:get lat v_lat
		validate qs:get lon v_lon
	}
}
hisaab {
	audio_dir %(audio)s
	max_body_bytes 1000
	drain_timeout_seconds %(drain)d
	header_timeout_seconds 5
%(extra)s}
"""


def pids_of_children(pid):
    """The direct children of pid (the workers of a master)."""
    out = set()
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/children" % (pid, task)) as f:
                out.update(int(p) for p in f.read().split())
        except OSError:
            pass
    return out


def raw(port, data, timeout=5.0):
    """Send raw bytes, read until the server closes or timeout; returns the bytes read."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


class Server:
    """One hisaab master with its workers on a free port, in a temporary directory."""

    def __init__(self, workers=2, drain=5, test_handlers=True, extra=""):
        self.dir = tempfile.mkdtemp(prefix="hisaab-srv-")
        self.port = harness.free_port()
        self.conf = os.path.join(self.dir, "kore.conf")
        with open(self.conf, "w") as f:
            f.write(CONF % {"port": self.port, "workers": workers, "drain": drain,
                           "audio": os.path.join(harness.ROOT, "audio"), "extra": extra})
        env = dict(os.environ)
        env.setdefault("HISAAB_SECRET", "server-test-secret")
        env.pop("HISAAB_TEST_HANDLERS", None)
        if test_handlers:
            env["HISAAB_TEST_HANDLERS"] = "1"
        self.env = env
        self.out_path = os.path.join(self.dir, "stdout")
        self.err_path = os.path.join(self.dir, "stderr")
        self.proc = None

    def start(self):
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen([HISAAB, "-c", self.conf], stdout=out, stderr=err,
                                         env=self.env, cwd=self.dir)
        harness.wait_port(self.port, timeout=10)
        # Both workers up (each logs once it has been forked).
        deadline = time.time() + 10
        while len(pids_of_children(self.proc.pid)) < 1 and time.time() < deadline:
            time.sleep(0.02)
        return self

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def stdout(self):
        with open(self.out_path) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None, timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def wait_log(self, pattern, timeout=5.0):
        """Wait until stderr matches the regex; returns the match or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.stderr(), re.M)
            if m:
                return m
            time.sleep(0.05)
        return None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.dir, ignore_errors=True)


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.srv = Server()

    def tearDown(self):
        self.srv.stop()

    def test_config_test_ok(self):
        p = subprocess.run([HISAAB, "-c", self.srv.conf, "-t"], env=self.srv.env,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("hisaab: configuration file %s test is successful" % self.srv.conf,
                      p.stdout)

    def test_config_test_syntax_error_names_file_and_line(self):
        with open(self.srv.conf) as f:
            lines = f.read().splitlines()
        lines.insert(5, "frobnicate yes")  # becomes line 6
        with open(self.srv.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = subprocess.run([HISAAB, "-c", self.srv.conf, "-t"], env=self.srv.env,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("%s:6:" % self.srv.conf, p.stderr)
        self.assertNotIn("successful", p.stdout + p.stderr)

    def test_test_handler_needs_env(self):
        env = dict(self.srv.env)
        env.pop("HISAAB_TEST_HANDLERS")
        p = subprocess.run([HISAAB, "-c", self.srv.conf, "-t"], env=env,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stderr, re.escape(self.srv.conf) + r":\d+: .*debug_sleep")

    def test_no_secret_no_start(self):
        """Phone numbers are stored only as keyed hashes: without HISAAB_SECRET the server
        says so in one line and does not start, unless insecure_dev is set."""
        env = dict(self.srv.env)
        env.pop("HISAAB_SECRET", None)
        p = subprocess.run([HISAAB, "-c", self.srv.conf], env=env, cwd=self.srv.dir,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertIn("HISAAB_SECRET is not set", lines[0])
        self.assertIn("insecure_dev", lines[0])
        self.assertNotIn("serving on", p.stdout)
        with open(self.srv.conf) as f:
            conf = f.read()
        with open(self.srv.conf, "w") as f:
            f.write(conf.replace("hisaab {", "hisaab {\n\tinsecure_dev yes", 1))
        self.srv.env = env
        self.srv.start()
        self.assertIn("unkeyed", self.srv.wait_log(r"insecure_dev: .*unkeyed").group(0))

    def test_missing_clip_stops_the_server_naming_it(self):
        audio = os.path.join(self.srv.dir, "audio")
        shutil.copytree(os.path.join(harness.ROOT, "audio"), audio)
        os.remove(os.path.join(audio, "en", "q_pin.wav"))
        with open(self.srv.conf) as f:
            conf = f.read()
        bad = os.path.join(self.srv.dir, "bad.conf")
        with open(bad, "w") as f:
            f.write(re.sub(r"(?m)^\taudio_dir .*$", "\taudio_dir " + audio, conf))
        for args in (["-t"], []):
            p = subprocess.run([HISAAB, "-c", bad] + args, capture_output=True, text=True,
                               timeout=20, env=self.srv.env, cwd=self.srv.dir)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("clip en/q_pin", p.stderr)
        # A clip listed but not needed by the flows, missing from one language: refused too.
        with open(os.path.join(audio, "clips.tsv"), "a") as f:
            f.write("q_extra\ten\tan extra clip\trecorded\n")
        shutil.copy(os.path.join(harness.ROOT, "audio", "en", "q_pin.wav"),
                    os.path.join(audio, "en", "q_pin.wav"))
        p = subprocess.run([HISAAB, "-c", bad, "-t"], capture_output=True, text=True, timeout=20,
                           env=self.srv.env, cwd=self.srv.dir)
        self.assertEqual(p.returncode, 1)
        self.assertIn("q_extra", p.stderr)

    def test_missing_file(self):
        p = subprocess.run([HISAAB, "-c", os.path.join(self.srv.dir, "nope.conf"), "-t"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("nope.conf", p.stderr)

    def test_port_in_use(self):
        with socket.socket() as busy:
            busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            busy.bind(("127.0.0.1", self.srv.port))
            busy.listen(1)
            p = subprocess.run([HISAAB, "-c", self.srv.conf], env=self.srv.env,
                               capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bind 127.0.0.1 %d" % self.srv.port, p.stderr)
        self.assertNotIn("serving on", p.stdout)

    def test_serve_refuses_bad_config(self):
        with open(self.srv.conf, "a") as f:
            f.write("workers many\n")
        p = subprocess.run([HISAAB, "-c", self.srv.conf], env=self.srv.env,
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn(self.srv.conf + ":", p.stderr)


class ServingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server(workers=2).start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def test_banner_and_workers(self):
        self.assertIn("hisaab: serving on http://127.0.0.1:%d/" % self.srv.port,
                      self.srv.stdout())
        deadline = time.time() + 5
        while len(pids_of_children(self.srv.proc.pid)) != 2 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(pids_of_children(self.srv.proc.pid)), 2)

    def test_metrics(self):
        for _ in range(3):
            self.srv.request("GET", "/metrics")
        st, h, body = self.srv.request("GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertEqual(h["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(int(h["Content-Length"]), len(body))
        text = body.decode()
        self.assertIn("# TYPE hisaab_http_requests_total counter", text)
        self.assertIn("# TYPE hisaab_http_request_duration_milliseconds histogram", text)
        m = re.search(r'^hisaab_http_requests_total\{route="/metrics",status="200"\} (\d+)$',
                      text, re.M)
        self.assertIsNotNone(m, text)
        # Three earlier requests, answered by either worker, all counted in shared memory.
        self.assertGreaterEqual(int(m.group(1)), 3)
        inf = re.search(r'_bucket\{le="\+Inf"\} (\d+)$', text, re.M)
        count = re.search(r'^hisaab_http_request_duration_milliseconds_count (\d+)$', text, re.M)
        self.assertEqual(inf.group(1), count.group(1))

    def test_errors_counted_under_dash(self):
        self.srv.request("GET", "/not/a/route")
        st, _, body = self.srv.request("GET", "/metrics")
        m = re.search(r'^hisaab_http_requests_total\{route="-",status="404"\} (\d+)$',
                      body.decode(), re.M)
        self.assertIsNotNone(m, body)
        self.assertGreaterEqual(int(m.group(1)), 1)
        self.assertNotIn("/not/a/route", body.decode())

    def test_head(self):
        st, h, body = self.srv.request("HEAD", "/metrics")
        self.assertEqual(st, 200)
        self.assertEqual(body, b"")
        self.assertGreater(int(h["Content-Length"]), 100)
        # No body on the wire: the next response on the connection starts right after.
        out = raw(self.srv.port, b"HEAD /sleep?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /sleep?ms=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, rest = out.split(b"\r\n\r\n", 1)
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), out)
        self.assertIn(b"Content-Length: 28", head)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), out)
        self.assertTrue(rest.endswith(b'{"status":"ok","slept_ms":2}'), out)

    def assert_json_error(self, st, h, body, status, code):
        import json
        self.assertEqual(st, status, body)
        self.assertEqual(h["Content-Type"], "application/json")
        self.assertEqual(h["X-Content-Type-Options"], "nosniff")
        self.assertEqual(h["Referrer-Policy"], "no-referrer")
        self.assertEqual(h["Content-Security-Policy"], "default-src 'none'; frame-ancestors 'none'")
        doc = json.loads(body)
        self.assertEqual(doc["status"], "error")
        self.assertEqual(doc["error"]["code"], code)
        self.assertTrue(doc["error"]["message"])
        return doc

    def test_404(self):
        self.assert_json_error(*self.srv.request("GET", "/no/such/thing"), 404, "not_found")

    def test_405_with_allow(self):
        st, h, body = self.srv.request("DELETE", "/metrics")
        self.assert_json_error(st, h, body, 405, "method_not_allowed")
        self.assertEqual(h["Allow"], "GET")
        st, h, body = self.srv.request("PATCH", "/sleep")
        self.assert_json_error(st, h, body, 405, "method_not_allowed")
        self.assertEqual(h["Allow"], "GET, POST")

    def test_400_names_parameter(self):
        doc = self.assert_json_error(*self.srv.request("GET", "/sleep?ms=abc"), 400,
                                     "bad_parameter")
        self.assertIn("ms", doc["error"]["message"])
        doc = self.assert_json_error(*self.srv.request("GET", "/near/7?lat=123.5&lon=1"), 400,
                                     "bad_parameter")
        self.assertIn("lat", doc["error"]["message"])

    def test_handler_gets_validated_params(self):
        import json
        st, _, body = self.srv.request("GET", "/sleep?ms=30&other=x")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body), {"status": "ok", "slept_ms": 30})
        st, _, body = self.srv.request("POST", "/sleep", body="ms=20",
                                       headers={"Content-Type":
                                                "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body), {"status": "ok", "slept_ms": 20})

    def test_413_body_over_cap(self):
        out = raw(self.srv.port, b"POST /sleep HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  b"Content-Length: 5000\r\n\r\n" + b"m" * 5000)
        self.assertTrue(out.startswith(b"HTTP/1.1 413 "), out[:200])
        # Under the cap is fine.
        st, _, _ = self.srv.request("POST", "/sleep", body="ms=1&" + "x=1&" * 200,
                                    headers={"Content-Type":
                                             "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200)

    def test_content_length_with_transfer_encoding_refused(self):
        # The body hides a second request; it must never be answered.
        smuggled = b"GET /sleep?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n"
        chunk = b"%x\r\n" % len(smuggled) + smuggled + b"\r\n0\r\n\r\n"
        out = raw(self.srv.port, b"POST /sleep HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk)
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out[:200])
        self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)
        self.assertIn(b"Connection: close", out)

    def test_conflicting_content_lengths_refused(self):
        out = raw(self.srv.port, b"POST /sleep HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 4\r\nContent-Length: 40\r\n\r\nms=1GET /metrics HTTP/1.1\r\n"
                  b"Host: x\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out[:200])
        self.assertIn(b'"code":"bad_request"', out)
        self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)

    def test_unknown_transfer_encoding_refused(self):
        out = raw(self.srv.port, b"POST /sleep HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: identity\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out[:200])
        self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)

    def test_body_on_bodiless_method_refused(self):
        # A body on HEAD would be read as a second request by a client or proxy. A body on
        # GET/DELETE/OPTIONS is refused the same way (no route takes one).
        hidden = b"GET /no/such HTTP/1.1\r\nHost: x\r\n\r\n"
        for method in (b"HEAD", b"GET", b"DELETE", b"OPTIONS"):
            out = raw(self.srv.port, method + b" /metrics HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(hidden) + hidden)
            self.assertTrue(out.startswith(b"HTTP/1.1 400 "), (method, out[:200]))
            self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)
            self.assertIn(b"Connection: close", out)

    def test_pipelined_answers_come_in_order(self):
        # The slow one first: its answer still comes first, then the others in order.
        out = raw(self.srv.port, b"GET /sleep?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /sleep?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"POST /sleep HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n\r\nms=20"
                  b"GET /no/such HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(out.count(b"HTTP/1.1 "), 4, out)
        order = [m.start() for m in (re.search(p, out) for p in (
            rb'"slept_ms":200', rb'"slept_ms":1\}', rb'"slept_ms":20\}', rb'"not_found"'))]
        self.assertEqual(order, sorted(order), out)
        self.assertTrue(all(i >= 0 for i in order))

    def test_head_too_large_refused_with_431(self):
        out = raw(self.srv.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 +
                  b"\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431 "), out[:200])
        self.assertIn(b'"code":"headers_too_large"', out)
        self.assertIn(b"Connection: close", out)
        self.assertEqual(out.count(b"HTTP/1.1 "), 1, out)

    def test_garbage_gets_a_json_400(self):
        out = raw(self.srv.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out[:200])
        self.assertIn(b'"code":"bad_request"', out)
        out = raw(self.srv.port, b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 505 "), out[:200])

    def test_expect_100_continue(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        try:
            s.sendall(b"POST /sleep HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                      b"Content-Type: application/x-www-form-urlencoded\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            got = s.recv(4096)
            self.assertEqual(got, b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(b"ms=3")
            got = b""
            while not got.endswith(b"}"):
                b = s.recv(4096)
                if not b:
                    break
                got += b
            self.assertTrue(got.startswith(b"HTTP/1.1 200 "), got)
            self.assertTrue(got.endswith(b'{"status":"ok","slept_ms":3}'), got)
        finally:
            s.close()
        # Over the cap: refused before the body is sent.
        out = raw(self.srv.port, b"POST /sleep HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 413 "), out[:200])
        self.assertNotIn(b"100 Continue", out)

    def test_chunked_request_body(self):
        out = raw(self.srv.port, b"POST /sleep HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n2\r\nms\r\n3\r\n=17\r\n0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out[:200])
        self.assertTrue(out.endswith(b'{"status":"ok","slept_ms":17}'), out)
        # A chunked body over max_body_bytes (1000 here).
        big = b"".join(b"64\r\n" + b"x" * 100 + b"\r\n" for _ in range(12)) + b"0\r\n\r\n"
        out = raw(self.srv.port, b"POST /sleep HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n" + big)
        self.assertTrue(out.startswith(b"HTTP/1.1 413 "), out[:200])

    def test_http10_keepalive_only_when_asked(self):
        out = raw(self.srv.port, b"GET /sleep?ms=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                  b"GET /sleep?ms=2 HTTP/1.0\r\n\r\n")
        self.assertEqual(out.count(b"HTTP/1.1 200 "), 2, out)
        first, second = out.split(b"HTTP/1.1 200 ")[1:]
        self.assertIn(b"Connection: keep-alive", first)
        self.assertIn(b"Connection: close", second)
        self.assertTrue(second.endswith(b'"slept_ms":2}'), out)

    def test_reply_head(self):
        out = raw(self.srv.port, b"GET /sleep?ms=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head = out.split(b"\r\n\r\n", 1)[0].decode()
        self.assertRegex(head, r"\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n")
        self.assertIn("\r\nContent-Type: application/json\r\n", head)
        self.assertIn("\r\nContent-Length: 28\r\n", head)
        self.assertEqual(head.count("\r\nContent-Length:"), 1)

    def test_slow_head_is_cut_at_the_header_timeout(self):
        # header_timeout_seconds is 5 here: a head trickled in is not waited for longer.
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=10)
        try:
            t = time.time()
            s.sendall(b"GET /metrics HTTP/1.1\r\n")
            closed = False
            while time.time() - t < 9:
                try:
                    s.sendall(b"X-A: b\r\n")
                except OSError:
                    closed = True
                    break
                s.settimeout(1.0)
                try:
                    if s.recv(100) == b"":
                        closed = True
                        break
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
                    break
            self.assertTrue(closed)
            self.assertLess(time.time() - t, 8)
            self.assertGreater(time.time() - t, 4)
        finally:
            s.close()

    def test_connections_spread_over_workers(self):
        # 24 keep-alive connections opened at once: neither worker takes them all.
        socks = []
        try:
            for _ in range(24):
                socks.append(socket.create_connection(("127.0.0.1", self.srv.port), timeout=5))
            for s in socks:
                s.sendall(b"GET /sleep?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            for s in socks:
                self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200 "))
            held = []
            for pid in pids_of_children(self.srv.proc.pid):
                n = 0
                for fd in os.listdir("/proc/%d/fd" % pid):
                    try:
                        n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
                    except OSError:
                        pass
                held.append(n)
            self.assertEqual(len(held), 2, held)
            self.assertGreaterEqual(min(held), 8, held)
        finally:
            for s in socks:
                s.close()

    def test_keepalive(self):
        c = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=5)
        try:
            for _ in range(5):
                c.request("GET", "/metrics")
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
        finally:
            c.close()

    def test_client_gone_does_not_hurt(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)
        s.sendall(b"GET /sleep?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
        s.close()
        time.sleep(0.5)
        st, _, _ = self.srv.request("GET", "/metrics")
        self.assertEqual(st, 200)
        self.assertIsNone(self.srv.proc.poll())

    def test_access_log(self):
        st, _, _ = self.srv.request("GET", "/near/42?lat=23.1&lon=77.4")
        self.assertEqual(st, 200)
        self.srv.request("GET", "/secret/path/nobody-knows")
        m = self.srv.wait_log(r"INFO GET \^/near/\[0-9\]\+\$ 200 \d+ \d+us$")
        self.assertIsNotNone(m, self.srv.stderr())
        self.assertIsNotNone(self.srv.wait_log(r"INFO GET - 404 \d+ \d+us$"), self.srv.stderr())
        log = self.srv.stderr()
        for leak in ("23.1", "77.4", "lat=", "/near/42", "nobody-knows"):
            self.assertNotIn(leak, log)


def read_answer(s, timeout):
    """Bytes of one answer on s (up to the end of its head and a short body), b"" when the
    server closed, None when nothing came within timeout."""
    s.settimeout(timeout)
    out = b""
    try:
        while b"\r\n\r\n" not in out:
            b = s.recv(65536)
            if not b:
                return out
            out += b
    except socket.timeout:
        return out or None
    except ConnectionResetError:
        return out
    return out


class ConnectionLimitTest(unittest.TestCase):
    """max_connections and keepalive_timeout_seconds, with one worker."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server(workers=1, extra="\tmax_connections 2\n\tkeepalive_timeout_seconds 1\n")
        cls.srv.start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def connect(self):
        return socket.create_connection(("127.0.0.1", self.srv.port), timeout=5)

    def test_over_max_connections_waits_for_one_to_close(self):
        a, b = self.connect(), self.connect()
        c = None
        try:
            for s in (a, b):
                s.sendall(b"GET /sleep?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertIn(b" 200 ", read_answer(s, 3) or b"")
                # the next request starts at once, so keepalive_timeout does not close it
                s.sendall(b"GET /sleep?ms=0 HTTP/1.1\r\n")
            # The third is taken by the kernel's backlog, not by the worker: no answer.
            c = self.connect()
            c.sendall(b"GET /sleep?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIsNone(read_answer(c, 0.8))
            self.assertIsNotNone(self.srv.wait_log(r"2 connections open \(max_connections\)"))
            a.close()
            a = None
            got = read_answer(c, 3)
            self.assertIsNotNone(got)
            self.assertIn(b" 200 ", got)
            # b is still served: its head is finished within header_timeout
            b.sendall(b"Host: x\r\n\r\n")
            self.assertIn(b" 200 ", read_answer(b, 3) or b"")
        finally:
            for s in (a, b, c):
                if s is not None:
                    s.close()

    def test_keepalive_timeout_closes_an_idle_connection(self):
        s = self.connect()
        try:
            s.sendall(b"GET /sleep?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b" 200 ", read_answer(s, 3) or b"")
            t = time.time()
            self.assertEqual(read_answer(s, 4), b"")  # closed, not timed out
            self.assertGreater(time.time() - t, 0.7)
            self.assertLess(time.time() - t, 3)
        finally:
            s.close()

    def test_request_begun_gets_the_header_timeout(self):
        s = self.connect()
        try:
            # A new connection waits header_timeout (5 s) for its first request, not 1 s.
            time.sleep(1.6)
            s.sendall(b"GET /sleep?ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b" 200 ", read_answer(s, 3) or b"")
            # Between requests 1 s, but a request already begun has 5 s to finish.
            s.sendall(b"GET /sleep?ms=0 HTTP/1.1\r\n")
            time.sleep(1.6)
            s.sendall(b"Host: x\r\n\r\n")
            self.assertIn(b" 200 ", read_answer(s, 3) or b"")
        finally:
            s.close()


class LifecycleTest(unittest.TestCase):
    def setUp(self):
        self.srv = None

    def tearDown(self):
        if self.srv:
            self.srv.stop()

    def test_sigterm_drains_in_flight_request(self):
        self.srv = Server(workers=2, drain=5).start()
        result = {}

        def slow():
            t = time.time()
            try:
                result["reply"] = self.srv.request("GET", "/sleep?ms=1500", timeout=10)
            except Exception as e:  # noqa: BLE001 (reported below)
                result["error"] = e
            result["elapsed"] = time.time() - t

        th = threading.Thread(target=slow)
        th.start()
        time.sleep(0.4)
        t0 = time.time()
        self.srv.proc.send_signal(signal.SIGTERM)
        rc = self.srv.proc.wait(timeout=10)
        exited = time.time() - t0
        th.join(timeout=10)
        self.assertNotIn("error", result)
        st, _, body = result["reply"]
        self.assertEqual(st, 200)
        self.assertIn(b'"slept_ms":1500', body)
        self.assertGreaterEqual(result["elapsed"], 1.4)  # it really was in flight
        self.assertEqual(rc, 0)
        self.assertLess(exited, 5)
        log = self.srv.stderr()
        self.assertIn("draining 1 request(s)", log)
        self.assertIn("master: stopped", log)
        # Nothing listens any more.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.srv.port), timeout=1).close()

    def test_sigint_stops_cleanly(self):
        self.srv = Server(workers=2).start()
        st, _, _ = self.srv.request("GET", "/metrics")
        self.assertEqual(st, 200)
        self.srv.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.srv.proc.wait(timeout=10), 0)
        self.assertEqual(len(re.findall(r"exited with status 0", self.srv.stderr())), 2)

    def test_drain_timeout_kills_stragglers(self):
        self.srv = Server(workers=1, drain=1).start()
        th = threading.Thread(target=lambda: raw(self.srv.port,
                                                 b"GET /sleep?ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n",
                                                 timeout=8))
        th.start()
        time.sleep(0.4)
        t0 = time.time()
        self.srv.proc.send_signal(signal.SIGTERM)
        rc = self.srv.proc.wait(timeout=10)
        self.assertEqual(rc, 0)
        self.assertLess(time.time() - t0, 3.0)
        self.assertIn("killing it", self.srv.stderr())
        th.join(timeout=10)

    def test_killed_worker_is_restarted(self):
        self.srv = Server(workers=2).start()
        deadline = time.time() + 5
        while len(pids_of_children(self.srv.proc.pid)) != 2 and time.time() < deadline:
            time.sleep(0.05)
        before = pids_of_children(self.srv.proc.pid)
        self.assertEqual(len(before), 2)
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.time() + 10
        after = set()
        while time.time() < deadline:
            after = pids_of_children(self.srv.proc.pid)
            if len(after) == 2 and victim not in after:
                break
            time.sleep(0.05)
        self.assertEqual(len(after), 2)
        self.assertNotIn(victim, after)
        self.assertEqual(len(after - before), 1)
        for _ in range(10):
            st, _, body = self.srv.request("GET", "/metrics")
            self.assertEqual(st, 200)
        self.assertRegex(body.decode(), r"(?m)^hisaab_worker_restarts_total 1$")
        self.assertIn("killed by signal 9", self.srv.stderr())

    def test_workers_exit_when_master_dies(self):
        self.srv = Server(workers=2).start()
        deadline = time.time() + 5
        while len(pids_of_children(self.srv.proc.pid)) != 2 and time.time() < deadline:
            time.sleep(0.05)
        workers = pids_of_children(self.srv.proc.pid)
        self.srv.proc.kill()
        self.srv.proc.wait(timeout=5)
        deadline = time.time() + 5
        alive = set(workers)
        while alive and time.time() < deadline:
            alive = {p for p in alive if os.path.exists("/proc/%d" % p) and
                     not open("/proc/%d/stat" % p).read().split(") ")[1].startswith("Z")}
            time.sleep(0.05)
        self.assertEqual(alive, set())


if __name__ == "__main__":
    unittest.main()
