"""End to end with a real Kannel (bearerbox + smsbox + fakesmsc, tests/kannel.py) and a tiny
Python sms-service standing in for Hisaab: proves the harness and pins down the Kannel
behaviour the SMS channel relies on (escape codes, UCS-2 in and out, X-Kannel-Coding,
empty replies, errors, retries with the same message id, sendsms, long replies).
kannel/README.md explains each of these for operators.
"""
import re
import subprocess
import threading
import time
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler
import tempfile

import harness
import kannel

PHONE = "919812345678"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def raw_param(query, name):
    """The still URL-encoded value of name in a query string (None when absent)."""
    for part in query.split("&"):
        k, _, v = part.partition("=")
        if k == name:
            return v
    return None


def param_bytes(query, name):
    v = raw_param(query, name)
    return None if v is None else urllib.parse.unquote_to_bytes(v.replace("+", " "))


class Call:
    """One HTTP call smsbox made to the service."""

    def __init__(self, method, path, headers, body):
        self.method = method
        self.path, _, self.query = path.partition("?")
        self.headers = headers
        self.body = body
        self.params = dict(urllib.parse.parse_qsl(self.query, keep_blank_values=True,
                                                  encoding="latin-1"))

    def text(self):
        """The inbound text: %b's bytes decoded with the charset %C names."""
        charset = self.params.get("charset", "UTF-8")
        return param_bytes(self.query, "text").decode(charset)


class Service:
    """An sms-service on a free loopback port. reply(call) -> (status, headers, body bytes)."""

    def __init__(self):
        self.calls = []
        self.cond = threading.Condition()
        self.reply = lambda call: (200, {}, b"")
        svc = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self.answer(b"")

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                self.answer(self.rfile.read(n))

            def answer(self, body):
                call = Call(self.command, self.path, dict(self.headers), body)
                with svc.cond:
                    svc.calls.append(call)
                    svc.cond.notify_all()
                status, headers, out = svc.reply(call)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain; charset=UTF-8")
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # smsbox gave up waiting (http-timeout)

        self.httpd = harness.serve_http(Handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/sms/kannel" % self.port

    def wait_calls(self, n, timeout=10.0):
        """Waits until at least n calls arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.calls) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("sms-service got %d calls, wanted %d" % (
                        len(self.calls), n))
                self.cond.wait(left)
            return list(self.calls)

    def reset(self, reply):
        with self.cond:
            self.calls = []
        self.reply = reply

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def text_reply(body, coding2=False):
    headers = {"X-Kannel-Coding": "2"} if coding2 else {}
    return lambda call: (200, headers, body.encode("utf-8"))


class KannelCase(unittest.TestCase):
    """Starts a Service and a Kannel with KANNEL_ARGS for the class."""
    KANNEL_ARGS = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="hisaab-kannel-")
        cls.svc = Service()
        args = dict(cls.KANNEL_ARGS)
        url = args.pop("url", cls.svc.url)
        cls.k = kannel.Kannel(cls.tmp.name, url.replace("SVC", cls.svc.url), **args).start()

    @classmethod
    def tearDownClass(cls):
        cls.k.stop()
        cls.svc.close()
        cls.tmp.cleanup()

    def setUp(self):
        self.k.drain()

    def exchange(self, text, reply, sender=PHONE, unicode=None):
        """Texts `text` from sender with the service answering `reply`; returns the call."""
        self.svc.reset(reply)
        self.k.send_from_phone(sender, text, unicode=unicode)
        return self.svc.wait_calls(1)[0]

    def message(self, timeout=10.0):
        try:
            return self.k.wait_message(timeout)
        except Exception:
            self.fail("nothing reached fakesmsc in %.0fs\n%s" % (timeout, self.k.logs()))


class GetUrlTest(KannelCase):
    """The recommended setup: get-url with kannel.QUERY, mo-recode, concatenation on,
    max-messages 3, omit-empty, a service reply for failed fetches."""
    KANNEL_ARGS = {"extra_smsbox": 'reply-couldnotfetch = "Hisaab is busy, try again soon."\n'
                                   "http-request-retry = 2\nhttp-queue-delay = 1"}

    def test_english_text_reaches_service_and_reply_reaches_phone(self):
        before = int(time.time())
        call = self.exchange("NREGA Niwari", text_reply("Niwari: 1,23,456 families got work"))
        self.assertEqual(call.method, "GET")
        self.assertEqual(call.path, "/sms/kannel")
        self.assertEqual(call.params["from"], PHONE)
        self.assertEqual(call.params["to"], kannel.SHORTCODE)
        self.assertEqual(call.text(), "NREGA Niwari")
        self.assertEqual(call.params["charset"], "UTF-8")
        self.assertEqual(call.params["coding"], "0")
        self.assertRegex(call.params["id"], UUID_RE)
        self.assertEqual(call.params["smsc"], "fake")
        self.assertLessEqual(abs(int(call.params["time"]) - before), 60)
        self.assertEqual(call.headers.get("User-Agent", "")[:7], "Kannel/")
        sms = self.message()
        self.assertEqual((sms.sender, sms.receiver, sms.text, sms.coding, sms.udh),
                         (kannel.SHORTCODE, PHONE, "Niwari: 1,23,456 families got work", 0,
                          None))

    def test_each_inbound_text_has_its_own_id_and_spaces_and_symbols_survive(self):
        a = self.exchange("sub  niwari+1 & 50%", text_reply(""))
        b = self.exchange("sub  niwari+1 & 50%", text_reply(""))
        # %b keeps the text byte for byte (%a would squeeze the double space).
        self.assertEqual(a.text(), "sub  niwari+1 & 50%")
        self.assertNotEqual(a.params["id"], b.params["id"])

    def test_devanagari_text_arrives_as_utf8(self):
        call = self.exchange("नरेगा निवाड़ी", text_reply(""))
        # mo-recode turned the UCS-2 text into UTF-8 before the call.
        self.assertEqual(call.params["charset"], "UTF-8")
        self.assertEqual(call.params["coding"], "0")
        self.assertEqual(param_bytes(call.query, "text"), "नरेगा निवाड़ी".encode("utf-8"))

    def test_long_text_in_parts_reaches_service_as_one_call(self):
        self.svc.reset(text_reply("ok"))
        self.k.send_parts_from_phone(PHONE, ["SUB Niwari and please send me the figures ",
                                             "every month"])
        self.assertEqual(self.message().text, "ok")
        calls = self.svc.wait_calls(1)
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0].text(),
                         "SUB Niwari and please send me the figures every month")

    def test_hindi_reply_with_kannel_coding_2_arrives_as_ucs2(self):
        reply = "निवाड़ी: 1,23,456 परिवारों को काम मिला"
        self.exchange("निवाड़ी", text_reply(reply, coding2=True))
        sms = self.message()
        self.assertEqual((sms.receiver, sms.coding, sms.udh), (PHONE, 2, None))
        self.assertEqual(sms.text, reply)
        self.assertEqual(sms.data, reply.encode("utf-16-be"))

    def test_hindi_reply_without_the_header_arrives_as_question_marks(self):
        # Why the server sets X-Kannel-Coding: 2: without it smsbox sends GSM 7-bit and
        # every Devanagari character becomes '?'.
        reply = "निवाड़ी: 1,23,456 परिवार"
        self.exchange("निवाड़ी", text_reply(reply))
        sms = self.message()
        self.assertEqual(sms.coding, 0)
        self.assertEqual(sms.text, re.sub(r"[^\x00-\x7f]", "?", reply))

    def test_newline_in_reply_is_kept(self):
        self.exchange("help", text_reply("Send a district name.\nHINDI for Hindi"))
        self.assertEqual(self.message().text, "Send a district name.\nHINDI for Hindi")

    def test_empty_reply_sends_nothing(self):
        # omit-empty = true: an empty body (duplicate, over the limit, answered later
        # through sendsms) sends no SMS at all.
        self.exchange("stop", text_reply(""))
        self.assertTrue(self.k.no_message(1.5))

    def test_http_error_retries_with_same_id_then_texts_couldnotfetch(self):
        # smsbox retries a failed call (http-request-retry) with the same %I, then texts
        # reply-couldnotfetch: the server must answer 200 and dedupe on the id.
        self.exchange("niwari", lambda call: (503, {}, b"busy"))
        sms = self.message(timeout=15)
        calls = self.svc.wait_calls(3)
        self.assertEqual(len(calls), 3)
        self.assertEqual({c.params["id"] for c in calls}, {calls[0].params["id"]})
        self.assertEqual(sms.text, "Hisaab is busy, try again soon.")

    def test_retry_after_failure_delivers_the_second_answer(self):
        seen = []

        def reply(call):
            seen.append(call.params["id"])
            return (503, {}, b"") if len(seen) == 1 else (200, {}, b"second try")
        self.exchange("niwari", reply)
        self.assertEqual(self.message(timeout=15).text, "second try")
        self.assertEqual(len(set(seen)), 1)
        self.assertEqual(len(seen), 2)

    def test_sendsms_delivers_english_and_hindi(self):
        self.assertEqual(self.k.sendsms(PHONE, "New MGNREGA figures for Niwari"), 202)
        self.assertIn("Accepted", self.k.last_body)
        sms = self.message()
        self.assertEqual((sms.sender, sms.receiver, sms.text, sms.coding),
                         (kannel.SHORTCODE, PHONE, "New MGNREGA figures for Niwari", 0))
        self.assertEqual(self.k.sendsms(PHONE, "निवाड़ी के नए आंकड़े", coding=2), 202)
        sms = self.message()
        self.assertEqual((sms.text, sms.coding), ("निवाड़ी के नए आंकड़े", 2))
        # Without coding=2 sendsms, too, sends '?' for Devanagari.
        self.assertEqual(self.k.sendsms(PHONE, "नए", sender="HISAAB"), 202)
        sms = self.message()
        self.assertEqual((sms.sender, sms.text, sms.coding), ("HISAAB", "??", 0))

    def test_sendsms_rejects_wrong_password(self):
        self.assertEqual(self.k.sendsms(PHONE, "x", password="wrong"), 403)
        self.assertTrue(self.k.no_message(1.0))

    def test_reply_up_to_160_gsm_chars_is_one_sms(self):
        self.exchange("x", text_reply("y" * 160))
        sms = self.message()
        self.assertEqual((sms.text, sms.udh, sms.coding), ("y" * 160, None, 0))
        self.assertTrue(self.k.no_message(1.0))

    def test_long_english_reply_is_concatenated_in_153_char_parts(self):
        reply = " ".join("word%02d" % i for i in range(30))  # 209 characters
        self.exchange("x", text_reply(reply))
        parts = [self.message(), self.message()]
        self.assertEqual([len(p.text) for p in parts], [153, 56])
        ref = parts[0].udh[3]
        self.assertEqual([p.udh for p in parts],
                         [bytes([5, 0, 3, ref, 2, 1]), bytes([5, 0, 3, ref, 2, 2])])
        self.assertEqual("".join(p.text for p in parts), reply)
        self.assertTrue(self.k.no_message(1.0))

    def test_hindi_reply_of_134_chars_is_two_ucs2_parts(self):
        reply = ("नरेगा निवाड़ी " * 12)[:134]
        self.exchange("x", text_reply(reply, coding2=True))
        parts = [self.message(), self.message()]
        self.assertEqual([len(p.data) for p in parts], [134, 134])  # 67 UCS-2 chars each
        self.assertEqual([p.udh[5] for p in parts], [1, 2])
        self.assertEqual(b"".join(p.data for p in parts).decode("utf-16-be"), reply)
        self.assertTrue(self.k.no_message(1.0))


class NoConcatenationTest(KannelCase):
    """concatenation = false: smsbox cuts a long reply into separate 160-character texts,
    mid-word; the reason our config keeps concatenation on (or the server sends each
    segment it split itself through sendsms)."""
    KANNEL_ARGS = {"concatenation": False, "max_messages": 3}

    def test_long_reply_becomes_separate_texts_cut_mid_word(self):
        reply = " ".join("district%02d" % i for i in range(20))  # 219 characters
        self.exchange("x", text_reply(reply))
        parts = [self.message(), self.message()]
        self.assertEqual([p.udh for p in parts], [None, None])
        self.assertEqual([len(p.text) for p in parts], [160, 59])
        self.assertTrue(parts[0].text.endswith(" distri"), parts[0].text)  # a word cut
        self.assertTrue(parts[1].text.startswith("ct14 "), parts[1].text)
        self.assertEqual("".join(p.text for p in parts), reply)


class OneMessageTest(KannelCase):
    """max-messages = 1 with concatenation on truncates anything longer than one SMS to a
    153-character part (not 160): never set max-messages to 1."""
    KANNEL_ARGS = {"concatenation": True, "max_messages": 1}

    def test_long_reply_is_truncated(self):
        self.exchange("x", text_reply("z" * 200))
        sms = self.message()
        self.assertEqual(sms.text, "z" * 153)
        self.assertTrue(self.k.no_message(1.0))


class PostUrlTest(KannelCase):
    """post-url: the text is the request body; escapes in the URL are still expanded."""
    KANNEL_ARGS = {"method": "post"}

    def test_post_body_headers_and_reply(self):
        call = self.exchange("मदद  help", text_reply("मदद: जिले का नाम भेजें", coding2=True))
        self.assertEqual(call.method, "POST")
        self.assertEqual(call.body, "मदद  help".encode("utf-8"))
        self.assertEqual(call.headers["Content-Type"], 'text/plain; charset="UTF-8"')
        self.assertEqual(call.headers["X-Kannel-To"], kannel.SHORTCODE)
        self.assertNotIn("X-Kannel-From", call.headers)  # only with send-sender = true
        self.assertEqual(call.params["from"], PHONE)
        self.assertRegex(call.params["id"], UUID_RE)
        sms = self.message()
        self.assertEqual((sms.text, sms.coding), ("मदद: जिले का नाम भेजें", 2))


class NoRecodeTest(KannelCase):
    """Without mo-recode a Devanagari text arrives as UTF-16BE bytes (charset=UTF-16BE,
    coding=2) and %a, which splits words on bytes like 0x09, mangles it."""
    KANNEL_ARGS = {"mo_recode": False, "url": "SVC?" + kannel.QUERY + "&words=%a"}

    def test_ucs2_text_arrives_as_utf16be(self):
        call = self.exchange("नरेगा निवाड़ी", text_reply(""))
        self.assertEqual(call.params["charset"], "UTF-16BE")
        self.assertEqual(call.params["coding"], "2")
        self.assertEqual(call.text(), "नरेगा निवाड़ी")
        words = param_bytes(call.query, "words")
        self.assertNotEqual(words, "नरेगा निवाड़ी".encode("utf-16-be"))
        self.assertNotIn(b"\x09", words)


class EmptyReplyDefaultTest(KannelCase):
    """Without omit-empty an empty body texts Kannel's reply-emptymessage to the person."""
    KANNEL_ARGS = {"omit_empty": False}

    def test_empty_reply_texts_kannel_wording(self):
        self.exchange("stop", text_reply(""))
        self.assertEqual(self.message().text, "<Empty reply from service provider>")


class SlowServiceTest(KannelCase):
    """A service slower than smsbox's http-timeout: the texter gets reply-couldnotfetch
    (Kannel's default wording here), so the server must answer fast and send slow answers
    later through sendsms."""
    KANNEL_ARGS = {"http_timeout": 1}

    def test_timeout_texts_couldnotfetch(self):
        t = time.monotonic()
        self.exchange("niwari", lambda call: (time.sleep(2.5), (200, {}, b"too late"))[1])
        sms = self.message(timeout=10)
        self.assertEqual(sms.text, "Could not fetch content, sorry.")
        self.assertLess(time.monotonic() - t, 2.5)


class SampleConfigTest(KannelCase):
    """kannel/kannel.conf itself (ports, paths and passwords replaced) runs and behaves as
    kannel/README.md says."""
    KANNEL_ARGS = {"sample": True}

    def test_sample_parses_and_uses_the_tested_query(self):
        out = subprocess.run(["/usr/lib/kannel/test/test_cfg", kannel.SAMPLE_CONF],
                             capture_output=True, text=True, timeout=10)
        self.assertIn("cfg_read returned 0", out.stdout + out.stderr)
        with open(kannel.SAMPLE_CONF) as f:
            conf = f.read()
        self.assertIn('get-url = "http://127.0.0.1:8080/sms/kannel?%s"\n' % kannel.QUERY, conf)
        self.assertTrue(self.k.sms_url.endswith("?" + kannel.QUERY), self.k.sms_url)

    def test_sample_english_hindi_empty_and_sendsms(self):
        call = self.exchange("NREGA Niwari", text_reply("Niwari: 1,23,456 families"))
        self.assertEqual((call.params["from"], call.params["to"], call.text()),
                         (PHONE, kannel.SHORTCODE, "NREGA Niwari"))
        self.assertEqual(self.message().text, "Niwari: 1,23,456 families")
        call = self.exchange("निवाड़ी", text_reply("निवाड़ी: 1,23,456 परिवार", coding2=True))
        self.assertEqual((call.text(), call.params["charset"]), ("निवाड़ी", "UTF-8"))
        sms = self.message()
        self.assertEqual((sms.text, sms.coding), ("निवाड़ी: 1,23,456 परिवार", 2))
        self.exchange("stop", text_reply(""))
        self.assertTrue(self.k.no_message(1.0))
        self.assertEqual(self.k.sendsms(PHONE, "नए आंकड़े", coding=2), 202)
        sms = self.message()
        self.assertEqual((sms.sender, sms.text, sms.coding), (kannel.SHORTCODE, "नए आंकड़े", 2))


class HarnessTest(unittest.TestCase):
    """The harness's own parsing and limits, without Kannel."""

    def test_parse_fakesmsc_lines(self):
        s = kannel.parse_fakesmsc("56767 9198 ucs-2 %09(%00+%00%3F")
        self.assertEqual((s.sender, s.receiver, s.text, s.coding), ("56767", "9198", "न ?",
                                                                    2))
        s = kannel.parse_fakesmsc("56767 9198 text a  b+c")
        self.assertEqual((s.text, s.coding), ("a  b+c", 0))
        s = kannel.parse_fakesmsc("1 2 udh %05%00%03%07%02%01 data abc")
        self.assertEqual((s.udh, s.data, s.coding), (b"\x05\x00\x03\x07\x02\x01", b"abc",
                                                     None))
        self.assertIsNone(kannel.parse_fakesmsc("line2  two"))

    def test_ucs2_encoding_for_fakesmsc(self):
        self.assertEqual(kannel.ucs2_encode("न +"), "%09%28%00%20%00%2B")


if __name__ == "__main__":
    unittest.main()
