"""A caller and a telephony provider, played on loopback for the voice channel's tests.

TwilioCaller plays what Twilio does on a call: it POSTs the signed webhook form
(X-Twilio-Signature over the public URL and every parameter, as Twilio documents) to the
number's URL, reads the TwiML answer (<Gather>, <Play>, <Redirect>, <Hangup>, <Reject>),
and goes on as a caller does: presses keys (the <Gather action> with Digits), stays silent
(the <Redirect> after the <Gather>), and fetches every audio URL it was told to play.

FakeTwilioApi is Twilio's REST API for placing calls (POST
/2010-04-01/Accounts/{sid}/Calls.json, HTTP basic auth, form To, From, Url,
StatusCallback): it records each request and answers 201 with a call sid, or the status
the test sets. The test then drives the call it was asked for with a TwilioCaller
(Twilio's outbound leg: From is our caller id, To is the villager) and posts the status
callback.
"""
import base64
import hashlib
import hmac
import io
import json
import threading
import urllib.parse
import wave
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler

import harness


def twilio_signature(token, url, params):
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class Step:
    """One TwiML answer, taken apart."""

    def __init__(self, status, body):
        self.status = status
        self.body = body
        self.plays = []
        self.gather = None  # dict(numDigits, finishOnKey, timeout, action)
        self.redirect = None
        self.hangup = False
        self.reject = None
        if status != 200:
            return
        root = ET.fromstring(body)
        assert root.tag == "Response", body
        for el in root:
            if el.tag == "Gather":
                assert el.get("input") == "dtmf", body
                self.gather = dict(el.attrib)
                for p in el:
                    assert p.tag == "Play", body
                    self.plays.append(p.text)
            elif el.tag == "Play":
                self.plays.append(el.text)
            elif el.tag == "Redirect":
                self.redirect = el.text
            elif el.tag == "Hangup":
                self.hangup = True
            elif el.tag == "Reject":
                self.reject = el.get("reason")
            else:
                raise AssertionError("unexpected TwiML %s in %r" % (el.tag, body))

    def clips(self):
        """The played clip ids as "hi/q_lang", summaries as "SUM:<district>/<lang>"."""
        out = []
        for u in self.plays:
            path = urllib.parse.urlsplit(u).path
            if path.startswith("/audio/clips/"):
                out.append(path[len("/audio/clips/"):-len(".wav")])
            elif path.startswith("/audio/districts/"):
                d, lang = path[len("/audio/districts/"):-len(".wav")].split("/")
                out.append("SUM:%s/%s" % (d, lang))
            else:
                out.append(u)
        return out


class TwilioCaller:
    def __init__(self, srv, token, public_url, call_sid, caller, called):
        self.srv = srv
        self.token = token
        self.public_url = public_url
        self.params = {"CallSid": call_sid, "AccountSid": "ACtest", "From": caller, "To": called,
                       "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        self.steps = []

    def post(self, url, extra=None, sign=True):
        params = dict(self.params, **(extra or {}))
        parts = urllib.parse.urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        full = self.public_url + path
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign:
            headers["X-Twilio-Signature"] = twilio_signature(self.token, full, params)
        st, h, body = self.srv.request("POST", path, body=urllib.parse.urlencode(params),
                                       headers=headers)
        step = Step(st, body)
        self.steps.append(step)
        return step

    def dial(self, path="/ivr/twilio/voice"):
        return self.post(path)

    def press(self, step, digits):
        assert step.gather is not None, step.body
        return self.post(step.gather["action"], {"Digits": digits})

    def silence(self, step):
        assert step.gather is not None and step.redirect, step.body
        return self.post(step.redirect)

    def fetch(self, url):
        """GET an audio URL as a provider does: (status, headers, bytes)."""
        parts = urllib.parse.urlsplit(url)
        path = parts.path + ("?" + parts.query if parts.query else "")
        return self.srv.request("GET", path)


def wav_samples(data):
    """(rate, channels, width, frames bytes) of a WAV."""
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.readframes(w.getnframes())


class FakeTwilioApi:
    """Twilio's Calls.json on loopback. requests: list of dicts (path, auth, form)."""

    def __init__(self):
        self.requests = []
        self.status = 201
        self.lock = threading.Lock()
        self.n = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n).decode()
                with api.lock:
                    api.n += 1
                    sid = "CAcallback%04d" % api.n
                    api.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                         "form": dict(urllib.parse.parse_qsl(body)), "sid": sid})
                    status = api.status
                out = json.dumps({"sid": sid, "status": "queued"}).encode() if status < 300 else \
                    json.dumps({"code": 20003, "message": "down"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = harness.serve_http(Handler)
        self.port = self.server.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class FakeSendsms:
    """Kannel's sendsms on loopback: records (to, text) and answers 202 "Sent."."""

    def __init__(self):
        self.sent = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                fake.sent.append(q)
                out = b"0: Accepted for delivery"
                self.send_response(202)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = harness.serve_http(Handler)
        self.url = "http://127.0.0.1:%d/cgi-bin/sendsms" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
