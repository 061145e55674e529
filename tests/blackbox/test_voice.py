"""End to end: the voice channel (src/voice/) and its audio (src/api/api_audio.c) against a
real Postgres with the sample loaded and a real Redis. A caller simulator plays Twilio
(tests/voicecaller.py): it places calls, follows the TwiML, presses keys, fetches and
checks every audio URL; a fake Twilio REST API records the callbacks the dialer places
and the test drives the calls it was asked for. Exotel, Plivo and VoiceXML are played
through their documented webhook forms.

Expected figures come from the sample CSV (test_sms's oracle), and the spoken numbers
from an Indian-system composition written here, not from the server.
"""
import hashlib
import hmac
import json
import os
import re
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import harness
import voicecaller
from test_sms import niwari_expected

SECRET = "voice-test-secret"
TOKEN = "twilio-voice-token"
KEY = "exotel-key-1"
SID = "ACvoicetest"
CALLER_ID = "+15005550006"
wait_for = harness.wait_for


def phone_hash(e164):
    return hmac.new(SECRET.encode(), e164.encode(), hashlib.sha256).hexdigest()


def indian(v):
    """Clip ids of v in the Indian system, highest group first, zero groups left out."""
    if v == 0:
        return ["n0"]
    out = []
    for unit, word in ((10 ** 7, "crore"), (10 ** 5, "lakh"), (1000, "thousand"), (100, "hundred")):
        if v >= unit:
            out += ["n%d" % (v // unit), word]
            v %= unit
    if v:
        out.append("n%d" % v)
    return out


def contains_run(seq, run):
    return any(seq[i:i + len(run)] == run for i in range(len(seq) - len(run) + 1))


class VoiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", harness.SAMPLE, "--format", "csv")
        cls.api = voicecaller.FakeTwilioApi()
        cls.sms = voicecaller.FakeSendsms()
        port = harness.free_port()
        cls.public = "http://127.0.0.1:%d" % port
        cls.srv = cls.server(port, "off")
        cls.srv.start()
        cls.niwari_pin = int(cls.svc.psql1(
            "SELECT p.pincode FROM ref_pincodes p JOIN districts d"
            " ON d.lgd_district_code = p.lgd_district_code"
            " WHERE d.district_code = 1752 ORDER BY p.share DESC, 1 LIMIT 1"))
        # Every worker's directory built (a PIN is answered from it).
        for _ in range(8):
            wait_for(lambda: cls.srv.get_json("/api/v1/pincodes/%d" % cls.niwari_pin)[0] == 200)
        st, doc = cls.srv.get_json("/api/v1/pincodes/%d" % cls.niwari_pin)
        assert doc["data"]["districts"][0]["id"] == 1752, doc
        cls.n = 0

    @classmethod
    def server(cls, port, quiet):
        env = {"HISAAB_SECRET": SECRET, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": SID,
               "TWILIO_CALLER_ID": CALLER_ID, "TWILIO_API_BASE": cls.api.base,
               "VOICE_WEBHOOK_KEY": KEY, "KANNEL_SENDSMS_URL": cls.sms.url}
        srv = harness.HisaabServer(
            cls.svc, workers=2, env=env,
            extra_hisaab="\tpublic_url %s\n\tcallback_quiet_hours %s\n"
                         "\tcallback_calls_per_minute 100\n" % (cls.public, quiet))
        srv.port = port
        with open(srv.conf) as f:
            conf = f.read()
        conf = re.sub(r"(?m)^(\s*bind\s+)\S+\s+\d+", r"\g<1>127.0.0.1 %d" % port, conf)
        with open(srv.conf, "w") as f:
            f.write(conf)
        return srv

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.api.close()
        cls.sms.close()
        cls.svc.close()

    def number(self):
        VoiceTest.n += 1
        return "+9198765%05d" % (40000 + VoiceTest.n)

    def caller(self, number, sid=None, inbound=True):
        VoiceTest.n += 1
        sid = sid or "CAtest%06d" % VoiceTest.n
        if inbound:
            return voicecaller.TwilioCaller(self.srv, TOKEN, self.public, sid, number, "+911800000000")
        return voicecaller.TwilioCaller(self.srv, TOKEN, self.public, sid, CALLER_ID, number)

    def voice_json(self, district, lang):
        st, doc = self.srv.get_json("/api/v1/districts/%d/voice?lang=%s" % (district, lang))
        self.assertEqual(st, 200, doc)
        return doc["data"]

    def check_audio(self, c, step):
        """Every audio URL of step answers a real 8 kHz mono 16-bit WAV."""
        for u in step.plays:
            st, h, body = c.fetch(u)
            self.assertEqual(st, 200, u)
            self.assertEqual(h["Content-Type"], "audio/wav")
            rate, ch, width, frames = voicecaller.wav_samples(body)
            self.assertEqual((rate, ch, width), (8000, 1, 2), u)
            self.assertGreater(len(frames), 8000 // 10, u)

    # ---- an inbound call ------------------------------------------------------------

    def test_inbound_call_by_pin_in_english(self):
        num = self.number()
        c = self.caller(num)
        s = c.dial()
        self.assertEqual(s.clips(), ["hi/q_welcome", "hi/q_lang", "en/q_lang"])
        self.assertEqual(s.gather["numDigits"], "1")
        self.assertEqual(s.gather["finishOnKey"], "")
        self.check_audio(c, s)
        s = c.press(s, "2")
        self.assertEqual(s.clips(), ["en/q_pin"])
        self.assertEqual((s.gather["numDigits"], s.gather["finishOnKey"]), ("6", "#"))
        s = c.press(s, str(self.niwari_pin))
        self.assertEqual(s.clips(), ["SUM:1752/en", "en/sil500", "en/q_after"])
        # The summary: its samples are the listed clips' samples, in order, and it says
        # the figures the API gives (families from the sample, in the Indian system).
        doc = self.voice_json(1752, "en")
        st, h, summary = c.fetch(s.plays[0])
        self.assertEqual(st, 200)
        joined = b""
        for clip in doc["clips"]:
            st2, h2, body = self.srv.get("/audio/clips/%s.wav" % clip)
            self.assertEqual(st2, 200, clip)
            joined += voicecaller.wav_samples(body)[3]
        self.assertEqual(voicecaller.wav_samples(summary)[3], joined)
        month, families, days = niwari_expected()
        ids = [x.split("/")[1] for x in doc["clips"]]
        self.assertEqual(ids[0], "d1752")
        self.assertTrue(contains_run(ids, indian(families) + ["s_families"]), ids)
        self.assertTrue(contains_run(ids, ["s_days_a"] + indian(days)), ids)
        self.assertEqual(doc["month"][:4], month.split()[1])
        self.assertIn("Niwari", doc["text"])
        # 2: the same summary by SMS (through sendsms), 1: again, 9: goodbye.
        before = len(self.sms.sent)
        s = c.press(s, "2")
        self.assertEqual(s.clips(), ["en/q_sms_sent", "en/q_after"])
        self.assertTrue(wait_for(lambda: len(self.sms.sent) > before))
        sms = self.sms.sent[-1]
        self.assertEqual(sms["to"], num)
        self.assertIn("Niwari", sms["text"])
        self.assertIn(harness.indian_grouping(families), sms["text"])
        s = c.press(s, "1")
        self.assertEqual(s.clips()[0], "SUM:1752/en")
        s = c.press(s, "9")
        self.assertTrue(s.hangup)
        self.assertEqual(s.clips(), ["en/q_goodbye"])
        # The record: every step once, the PIN never in the clear, the call summed up.
        sid = c.params["CallSid"]
        self.assertTrue(wait_for(lambda: self.svc.psql1("SELECT count(*) FROM voice_steps WHERE call_id = '%s'"
                                                        % sid) == "6"))
        keys = self.svc.psql1("SELECT keys FROM voice_call_keys WHERE call_id = '%s'" % sid)
        self.assertEqual(keys, "2 [PIN] 2 1 9")
        self.assertEqual(self.svc.psql1(
            "SELECT count(*) FROM voice_steps WHERE keys LIKE '%%%d%%'" % self.niwari_pin), "0")
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT direction || ' ' || phone_hash || ' ' || lang || ' ' || district_code || ' '"
            " || steps || ' ' || summaries FROM voice_calls WHERE call_id = '%s'" % sid)
            == "in %s en 1752 6 2" % phone_hash(num)))
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM voice_calls WHERE phone_hash = '%s'"
                                        % num), "0")
        # Remembered for every channel: the next call offers Niwari.
        self.assertTrue(wait_for(lambda: self.svc.psql1("SELECT lang || district_code FROM callers"
                                                        " WHERE phone_hash = '%s'" % phone_hash(num)) == "en1752"))
        c2 = self.caller(num)
        s = c2.dial()
        self.assertEqual(s.clips(), ["en/q_welcome", "en/q_remembered_a", "en/d1752",
                                     "en/q_remembered_b"])
        self.check_audio(c2, s)
        s = c2.press(s, "1")
        self.assertEqual(s.clips()[0], "SUM:1752/en")

    def test_wrong_keys_and_silence_then_goodbye(self):
        c = self.caller(self.number())
        s = c.dial()
        s = c.press(s, "7")
        self.assertEqual(s.clips(), ["hi/q_wrong_key", "hi/q_lang", "en/q_lang"])
        s = c.silence(s)
        self.assertEqual(s.clips(), ["hi/q_no_input", "hi/q_lang", "en/q_lang"])
        s = c.press(s, "5")
        self.assertTrue(s.hangup)
        self.assertEqual(s.clips(), ["hi/q_goodbye"])
        # An unknown PIN, in Hindi.
        c = self.caller(self.number())
        s = c.press(c.dial(), "1")
        self.assertEqual(s.clips(), ["hi/q_pin"])
        s = c.press(s, "999999")
        self.assertEqual(s.clips(), ["hi/q_pin_unknown", "hi/q_pin"])
        s = c.press(s, "12")
        self.assertEqual(s.clips(), ["hi/q_wrong_key", "hi/q_pin"])

    def test_bad_requests(self):
        c = self.caller(self.number())
        s = c.post("/ivr/twilio/voice", sign=False)
        self.assertEqual(s.status, 403)
        # A state that does not parse starts the call again rather than failing.
        s = c.post("/ivr/twilio/voice?s=99&d=x")
        self.assertEqual(s.status, 200)
        self.assertEqual(s.clips()[0], "hi/q_welcome")
        st, h, body = self.srv.request("GET", "/ivr/exotel/passthru?CallSid=E1&CallFrom=09876500001&key=wrong")
        self.assertEqual(st, 403)
        st, h, body = self.srv.request("POST", "/missedcall/generic?key=%s" % KEY, body=b"{not json")
        self.assertEqual(st, 400)
        self.assertIn(b"from", body)
        st, h, body = self.srv.request("POST", "/missedcall/generic?key=%s" % KEY,
                                       body=json.dumps({"id": "g-x"}).encode())
        self.assertEqual(st, 400)
        st, h, body = self.srv.request("POST", "/missedcall/generic",
                                       body=json.dumps({"from": "9876500002", "id": "g-y"}).encode())
        self.assertEqual(st, 403)

    # ---- audio ------------------------------------------------------------------------

    def test_audio_http(self):
        doc = self.voice_json(1752, "hi")
        self.assertEqual(doc["lang"], "hi")
        self.assertEqual(doc["district"]["id"], 1752)
        self.assertIn("निवाड़ी", doc["text"])
        self.assertTrue(all(c.startswith("hi/") for c in doc["clips"]))
        self.assertTrue(doc["audio_url"].endswith("/audio/districts/1752/hi.wav"))
        path = urllib.parse.urlsplit(doc["audio_url"]).path
        st, h, full = self.srv.get(path)
        self.assertEqual(st, 200)
        self.assertEqual(int(h["Content-Length"]), len(full))
        self.assertEqual(h["Accept-Ranges"], "bytes")
        etag = h["ETag"]
        self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
        st, h, body = self.srv.request("HEAD", path)
        self.assertEqual((st, body, int(h["Content-Length"]), h["ETag"]), (200, b"", len(full), etag))
        st, h, body = self.srv.get(path, {"If-None-Match": etag})
        self.assertEqual((st, body), (304, b""))
        st, h, body = self.srv.get(path, {"Range": "bytes=0-99"})
        self.assertEqual(st, 206)
        self.assertEqual(body, full[:100])
        self.assertEqual(h["Content-Range"], "bytes 0-99/%d" % len(full))
        st, h, body = self.srv.get(path, {"Range": "bytes=-10"})
        self.assertEqual((st, body), (206, full[-10:]))
        st, h, body = self.srv.get(path, {"Range": "bytes=%d-" % len(full)})
        self.assertEqual(st, 416)
        self.assertEqual(h["Content-Range"], "bytes */%d" % len(full))
        # Another worker makes the same bytes (same ETag).
        for _ in range(6):
            st, h, body = self.srv.get(path)
            self.assertEqual((h["ETag"], body), (etag, full))
        # Clips, and what is not there.
        st, h, body = self.srv.get("/audio/clips/en/q_pin.wav")
        self.assertEqual((st, voicecaller.wav_samples(body)[:3]), (200, (8000, 1, 2)))
        for bad in ("/audio/clips/en/nope.wav", "/audio/clips/fr/q_pin.wav",
                    "/audio/districts/99999/en.wav", "/api/v1/districts/99999/voice"):
            st, h, body = self.srv.get(bad)
            self.assertEqual(st, 404, bad)
            self.assertEqual(json.loads(body)["status"], "error")
        st, h, body = self.srv.get("/api/v1/districts/1752/voice?lang=fr")
        self.assertEqual(st, 400)

    # ---- missed calls and callbacks ---------------------------------------------------

    def sms_twilio(self, number, body):
        VoiceTest.n += 1
        params = {"MessageSid": "SMv%06d" % VoiceTest.n, "AccountSid": "AC1", "From": number,
                  "To": "+15005550006", "Body": body}
        url = self.public + "/sms/twilio"
        return self.srv.request("POST", "/sms/twilio", body=urllib.parse.urlencode(params),
                                headers={"Content-Type": "application/x-www-form-urlencoded",
                                         "X-Twilio-Signature": voicecaller.twilio_signature(TOKEN, url, params)})

    def missed_call(self, number, sid):
        c = self.caller(number, sid=sid)
        return c.post("/missedcall/twilio")

    def callback_request(self, number):
        got = []

        def find():
            got[:] = [r for r in self.api.requests if r["form"].get("To") == number]
            return got
        wait_for(find, timeout=15)
        return got

    def test_sms_then_missed_call_is_called_back_with_its_district(self):
        num = self.number()
        st, h, body = self.sms_twilio(num, "NREGA Niwari")
        self.assertEqual(st, 200)
        self.assertIn(b"Niwari", body)
        s = self.missed_call(num, "CAmissed%s" % num[-5:])
        self.assertEqual(s.status, 200)
        self.assertEqual(s.reject, "busy")
        self.assertEqual(s.plays, [])
        reqs = self.callback_request(num)
        self.assertEqual(len(reqs), 1)
        r = reqs[0]
        self.assertEqual(r["path"], "/2010-04-01/Accounts/%s/Calls.json" % SID)
        self.assertEqual(r["auth"], "Basic " + __import__("base64").b64encode(
            ("%s:%s" % (SID, TOKEN)).encode()).decode())
        self.assertEqual(r["form"]["From"], CALLER_ID)
        self.assertTrue(r["form"]["Url"].startswith(self.public + "/ivr/twilio/voice?"))
        self.assertTrue(r["form"]["StatusCallback"].startswith(self.public + "/ivr/twilio/status"))
        # Twilio calls the villager and asks our Url: the language (none remembered), then
        # Niwari's summary straight away.
        c = self.caller(num, sid=r["sid"], inbound=False)
        s = c.post(r["form"]["Url"])
        self.assertEqual(s.clips(), ["hi/q_lang", "en/q_lang"])
        s = c.press(s, "1")
        self.assertEqual(s.clips(), ["SUM:1752/hi", "hi/sil500", "hi/q_after"])
        self.check_audio(c, s)
        s = c.press(s, "9")
        self.assertTrue(s.hangup)
        # The status callback closes the record and wipes the number.
        st = c.post(r["form"]["StatusCallback"], {"CallStatus": "completed", "CallDuration": "42"})
        self.assertEqual(st.status, 204)
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT state || ' ' || duration_s || ' ' || (phone_sealed IS NULL) FROM voice_callbacks"
            " WHERE phone_hash = '%s'" % phone_hash(num)) == "done 42 true"))
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT direction || ' ' || status || ' ' || district_code || ' ' || (callback_id IS NOT NULL)"
            " FROM voice_calls WHERE call_id = '%s'" % r["sid"]) == "out completed 1752 true"))
        # No number in the clear anywhere in the tables.
        self.assertEqual(self.svc.psql1(
            "SELECT count(*) FROM voice_callbacks WHERE phone_sealed LIKE '%%%s%%'" % num[3:]), "0")

    def test_one_callback_per_hour_and_retries(self):
        num = self.number()
        s = self.missed_call(num, "CAm1%s" % num[-5:])
        self.assertEqual(s.reject, "busy")
        s = self.missed_call(num, "CAm1%s" % num[-5:])  # the same webhook again
        self.assertEqual(s.reject, "busy")
        s = self.missed_call(num, "CAm2%s" % num[-5:])  # another missed call within the hour
        self.assertEqual(s.reject, "busy")
        reqs = self.callback_request(num)
        time.sleep(2.5)  # two more dialer ticks
        self.assertEqual(len([r for r in self.api.requests if r["form"].get("To") == num]), 1)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM voice_callbacks WHERE phone_hash = '%s'"
                                        % phone_hash(num)), "1")
        # Busy: tried again after 5 minutes; after the last retry, given up and wiped.
        c = self.caller(num, sid=reqs[0]["sid"], inbound=False)
        self.assertTrue(wait_for(lambda: self.svc.psql1("SELECT state FROM voice_callbacks WHERE phone_hash = '%s'"
                                                        % phone_hash(num)) == "ringing"))
        st = c.post(reqs[0]["form"]["StatusCallback"], {"CallStatus": "busy"})
        self.assertEqual(st.status, 204)
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT state || ' ' || attempts || ' ' || (due_at - now() BETWEEN interval '4 minutes'"
            " AND interval '5 minutes') FROM voice_callbacks WHERE phone_hash = '%s'"
            % phone_hash(num)) == "queued 1 true"))
        self.svc.psql("UPDATE voice_callbacks SET state = 'ringing', attempts = 3"
                      " WHERE phone_hash = '%s'" % phone_hash(num))
        st = c.post(reqs[0]["form"]["StatusCallback"], {"CallStatus": "no-answer"})
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT state || ' ' || (phone_sealed IS NULL) FROM voice_callbacks"
            " WHERE phone_hash = '%s'" % phone_hash(num)) == "failed true"))

    def test_generic_and_exotel_missed_calls(self):
        num = self.number()
        st, h, body = self.srv.request("POST", "/missedcall/generic?key=%s" % KEY,
                                       body=json.dumps({"from": num[3:], "id": "gen-%s" % num}).encode())
        self.assertEqual(st, 202)
        self.assertEqual(json.loads(body), {"status": "queued"})
        self.callback_request(num)
        num2 = self.number()
        st, h, body = self.srv.request(
            "GET", "/missedcall/exotel?CallSid=EXm%s&CallFrom=0%s&CallTo=08047000000&key=%s"
            % (num2[-5:], num2[3:], KEY))
        self.assertEqual(st, 200)
        # Exotel is not configured here: queued for it, not dialled by Twilio.
        self.assertTrue(wait_for(lambda: self.svc.psql1("SELECT provider || ' ' || state FROM voice_callbacks"
                                                        " WHERE phone_hash = '%s'" % phone_hash(num2)) == "exotel queued"))

    def test_provider_down_keeps_the_callback(self):
        num = self.number()
        self.api.status = 503
        try:
            self.missed_call(num, "CAdown%s" % num[-5:])
            self.callback_request(num)
            self.assertTrue(wait_for(lambda: self.svc.psql1(
                "SELECT state || ' ' || attempts || ' ' || last_error FROM voice_callbacks"
                " WHERE phone_hash = '%s'" % phone_hash(num)) == "queued 0 HTTP 503"))
        finally:
            self.api.status = 201

    # ---- other providers --------------------------------------------------------------

    def test_exotel_passthru_and_greeting(self):
        num = self.number()
        base = "CallSid=EXin%s&CallFrom=0%s&CallTo=08047000000&key=%s" % (num[-5:], num[3:], KEY)

        def get(path, extra=""):
            return self.srv.request("GET", "%s?%s%s" % (path, base, extra))

        def greeting():
            st, h, body = get("/ivr/exotel/greeting")
            self.assertEqual(st, 200)
            self.assertTrue(h["Content-Type"].startswith("text/plain"))
            return [urllib.parse.urlsplit(u).path for u in body.decode().split("\n") if u]

        st, h, body = get("/ivr/exotel/passthru")
        self.assertEqual(st, 200)  # the step gathers
        self.assertEqual(get("/ivr/exotel/passthru", "&ask=menu")[0], 200)  # one digit
        self.assertEqual(greeting(), ["/audio/clips/hi/q_welcome.wav", "/audio/clips/hi/q_lang.wav",
                                      "/audio/clips/en/q_lang.wav"])
        st, h, body = get("/ivr/exotel/passthru", "&digits=%222%22")
        self.assertEqual(st, 200)
        self.assertEqual(greeting(), ["/audio/clips/en/q_pin.wav"])
        self.assertEqual(get("/ivr/exotel/passthru", "&ask=menu")[0], 302)  # a PIN: more digits
        st, h, body = get("/ivr/exotel/passthru", "&digits=%%22%d%%23%%22" % self.niwari_pin)
        self.assertEqual(st, 200)
        self.assertEqual(greeting(), ["/audio/districts/1752/en.wav", "/audio/clips/en/sil500.wav",
                                      "/audio/clips/en/q_after.wav"])
        st, h, body = get("/ivr/exotel/passthru", "&digits=%229%22")
        self.assertEqual(st, 302)  # no gather: to the hangup question
        self.assertEqual(get("/ivr/exotel/passthru", "&ask=hangup")[0], 200)
        self.assertEqual(greeting(), ["/audio/clips/en/q_goodbye.wav"])
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT keys FROM voice_call_keys WHERE call_id = 'EXin%s'" % num[-5:]) == "2 [PIN] 9"))

    def test_plivo_and_voicexml(self):
        num = self.number()
        form = {"CallUUID": "pl-%s" % num[-5:], "From": num[1:], "To": "918047000000"}
        st, h, body = self.srv.request("POST", "/ivr/plivo/voice?key=%s" % KEY,
                                       body=urllib.parse.urlencode(form),
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, body)
        root = ET.fromstring(body)
        gd = root.find("GetDigits")
        self.assertEqual(gd.get("numDigits"), "1")
        self.assertEqual([urllib.parse.urlsplit(p.text).path for p in gd.findall("Play")][0],
                         "/audio/clips/hi/q_welcome.wav")
        action = urllib.parse.urlsplit(gd.get("action"))
        self.assertIn("key=%s" % KEY, action.query)
        st, h, body = self.srv.request("POST", action.path + "?" + action.query,
                                       body=urllib.parse.urlencode(dict(form, Digits="2")),
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200)
        gd = ET.fromstring(body).find("GetDigits")
        self.assertEqual((gd.get("numDigits"), gd.get("finishOnKey")), ("6", "#"))
        # VoiceXML: the start URL names the caller; the next document is a <submit>.
        num = self.number()
        ns = {"v": "http://www.w3.org/2001/vxml"}
        st, h, body = self.srv.request("GET", "/ivr/vxml/voice?key=%s&call_id=vx%s&from=%s"
                                       % (KEY, num[-5:], num[3:]))
        self.assertEqual(st, 200, body)
        doc = ET.fromstring(body)
        submit = doc.find(".//v:filled//v:submit", ns) or doc.find(".//v:submit", ns)
        nxt = urllib.parse.urlsplit(submit.get("next"))
        self.assertNotIn(num[3:], nxt.query)  # the number travels sealed, not in the clear
        st, h, body = self.srv.request("POST", nxt.path + "?" + nxt.query,
                                       body=b"digits=1",
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, body)
        audio = [a.get("src") for a in ET.fromstring(body).iter("{http://www.w3.org/2001/vxml}audio")]
        self.assertEqual(urllib.parse.urlsplit(audio[0]).path, "/audio/clips/hi/q_pin.wav")
        self.assertTrue(wait_for(lambda: self.svc.psql1("SELECT phone_hash FROM voice_calls WHERE call_id = 'vx%s'"
                                                        % num[-5:]) == phone_hash(num)))


class CallbackRestartTest(unittest.TestCase):
    """A callback queued during quiet hours survives a restart and is placed when the
    quiet hours are over."""

    def test_queued_callback_survives_restart(self):
        svc = harness.Services()
        api = voicecaller.FakeTwilioApi()
        sms = voicecaller.FakeSendsms()
        try:
            harness.etl(svc, "migrate")
            harness.etl(svc, "run", "--source", harness.SAMPLE, "--format", "csv")
            VoiceTest.svc, VoiceTest.api, VoiceTest.sms = svc, api, sms
            port = harness.free_port()
            VoiceTest.public = "http://127.0.0.1:%d" % port
            # Quiet hours around now, India time (UTC+5:30).
            ist = (int(time.time()) + 19800) // 60 % 1440
            quiet = "%02d:%02d-%02d:%02d" % ((ist - 60) % 1440 // 60, (ist - 60) % 60,
                                             (ist + 60) % 1440 // 60, (ist + 60) % 60)
            srv = VoiceTest.server(port, quiet)
            srv.start()
            num = "+919876512345"
            c = voicecaller.TwilioCaller(srv, TOKEN, VoiceTest.public, "CAquiet1", num, "+911800")
            self.assertEqual(c.post("/missedcall/twilio").reject, "busy")
            self.assertTrue(wait_for(lambda: svc.psql1("SELECT state FROM voice_callbacks WHERE trigger_id = 'CAquiet1'")
                                     == "queued"))
            time.sleep(2)
            self.assertEqual(api.requests, [])  # quiet hours: nothing dialled
            srv.stop()
            srv2 = VoiceTest.server(port, "off")
            srv2.start()
            try:
                self.assertTrue(wait_for(lambda: [r for r in api.requests if r["form"].get("To") == num], timeout=15))
                self.assertEqual(len(api.requests), 1)
            finally:
                srv2.stop()
        finally:
            api.close()
            sms.close()
            svc.close()


if __name__ == "__main__":
    unittest.main()
