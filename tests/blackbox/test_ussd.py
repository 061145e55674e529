"""End to end: the USSD channel (src/ussd/) against a real Postgres with the sample loaded
and a real Redis, through a USSD gateway simulator (tests/ussdsim.py) in both styles:
every menu path to a summary, pagination forward and back, wrong keys, retried steps,
Redis down and slow in the middle of a session, the screen limits over every district's
real figures in all three languages, the records.

Expected figures come from the sample CSV (test_sms's oracle) and the district list from
Postgres, not from the server.
"""
import hashlib
import hmac
import os
import re
import signal
import time
import unittest

import harness
import ussdsim
import voicecaller
from test_sms import niwari_expected

SECRET = "ussd-test-secret"
wait_for = harness.wait_for
GSM_LIMIT = 182
UCS2_LIMIT = 80


def phone_hash(e164):
    return hmac.new(SECRET.encode(), e164.encode(), hashlib.sha256).hexdigest()


class UssdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        harness.etl(cls.svc, "run", "--source", harness.SAMPLE, "--format", "csv")
        cls.sms = voicecaller.FakeSendsms()
        cls.srv = harness.HisaabServer(cls.svc, workers=2,
                                       env={"HISAAB_SECRET": SECRET,
                                            "KANNEL_SENDSMS_URL": cls.sms.url})
        cls.srv.start()
        cls.niwari_pin = int(cls.svc.psql1(
            "SELECT p.pincode FROM ref_pincodes p JOIN districts d"
            " ON d.lgd_district_code = p.lgd_district_code"
            " WHERE d.district_code = 1752 ORDER BY p.share DESC, 1 LIMIT 1"))
        for _ in range(8):
            wait_for(lambda: cls.srv.get_json("/api/v1/pincodes/%d" % cls.niwari_pin)[0] == 200)
        cls.districts = [tuple(r) for r in cls.svc.psql(
            "SELECT d.district_code, d.name_en, s.name_en FROM districts d"
            " JOIN states s USING (state_code) WHERE EXISTS (SELECT 1 FROM monthly_figures m"
            " WHERE m.district_code = d.district_code) ORDER BY 1")]
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.sms.close()
        cls.svc.close()

    def number(self):
        UssdTest.n += 1
        return "+9197700%05d" % UssdTest.n

    def at(self, number=None):
        UssdTest.n += 1
        return ussdsim.AtSession(self.srv.port, "ATsess%06d" % UssdTest.n,
                                 number or self.number())

    def sess(self, number=None, method="POST"):
        UssdTest.n += 1
        return ussdsim.SessionGateway(self.srv.port, "S%06d" % UssdTest.n,
                                      number or self.number(), method)

    def check_screen(self, s, lang):
        """Fits the handset and keeps to one script."""
        n, coding = ussdsim.screen_len(s.text)
        self.assertTrue(s.text.strip(), s)
        if coding == "gsm":
            self.assertLessEqual(n, GSM_LIMIT, s)
        else:
            self.assertLessEqual(n, UCS2_LIMIT, s)
        if lang == "hi" and not s.has("Bhasha / Language"):
            self.assertIsNone(ussdsim.LATIN_LETTER.search(s.text), s)
        if lang in ("en", "hi-Latn"):
            self.assertIsNone(ussdsim.DEVANAGARI.search(s.text), s)
            self.assertEqual(coding, "gsm", s)

    def check_niwari(self, s, lang="hi-Latn"):
        month, fam, days = niwari_expected()
        self.assertIn(harness.indian_grouping(fam), s.text)
        if lang == "hi-Latn":
            self.assertIn("Ausat %d/100 din" % days, s.text)
            self.assertIn("NREGA Niwari " + month, s.text)
        elif lang == "en":
            self.assertIn("Avg %d of 100 days" % days, s.text)

    # ---- Africa's Talking style ------------------------------------------------------

    def test_at_main_menu_and_pin_to_summary_then_sms(self):
        a = self.at()
        s = a.start()
        self.assertEqual(s.status, 200)
        self.assertFalse(s.end)
        self.assertEqual(s.lines[0], "Hisaab NREGA")
        self.assertNotIn("1 Apna zila", s.text)  # nothing remembered yet
        for line in ("2 PIN code", "3 Zila ka naam", "4 Rajya se chune", "5 Hindi / English"):
            self.assertIn(line, s.lines)
        self.check_screen(s, "hi-Latn")
        s = a.press("2")
        self.assertIn("PIN code", s.text)
        s = a.press(str(self.niwari_pin))
        self.assertFalse(s.end, s)
        self.check_niwari(s)
        self.assertIn("1 SMS mein bhejein", s.lines)
        self.assertIn("0 Mukhya menu", s.lines)
        self.check_screen(s, "hi-Latn")
        sent = len(self.sms.sent)
        s = a.press("1")
        self.assertTrue(s.end, s)
        self.assertIn("SMS", s.text)
        self.assertTrue(wait_for(lambda: len(self.sms.sent) > sent))
        msg = self.sms.sent[-1]
        self.assertEqual(msg["to"], a.number)
        month, fam, days = niwari_expected()
        self.assertIn(harness.indian_grouping(fam), msg["text"])
        # The next session offers the district first.
        b = ussdsim.AtSession(self.srv.port, a.session_id + "b", a.number)
        s = b.start()
        self.assertIn("1 Apna zila (Niwari)", s.lines)
        s = b.press("1")
        self.check_niwari(s)

    def test_at_name_search_in_three_scripts_and_former_names(self):
        for q in ("Niwari", "niwaari", "निवाड़ी"):
            a = self.at()
            a.start()
            a.press("3")
            s = a.press(q)
            self.check_niwari(s)
        # A former name finds today's district.
        a = self.at()
        a.start()
        a.press("3")
        s = a.press("Hoshangabad")
        self.assertTrue(s.has("Narmadapuram") or s.has("Hoshangabad"), s)
        self.assertIn("1 SMS mein bhejein", s.lines)
        # Nothing found: the question again with what went wrong.
        a = self.at()
        a.start()
        a.press("3")
        s = a.press("Xqzvbn")
        self.assertFalse(s.end)
        self.assertIn("nahi mila", s.text)

    def test_at_answer_holding_a_star_is_one_answer(self):
        a = self.at()
        a.start()
        a.press("3")
        s = a.press("Ni*wari")  # one answer holding '*': not two
        self.assertFalse(s.end)
        self.assertEqual(a.text(), "3*Ni*wari")
        self.assertTrue(s.has("nahi mila") or s.has("Niwari"), s)
        # The screen is the name question or a result, never the main menu (which a split
        # into "Ni" and "wari" would have given after a failed search of "Ni").
        self.assertNotIn("4 Rajya se chune", s.lines)

    def test_states_and_districts_pages_forward_and_back(self):
        a = self.at()
        a.start()
        s = a.press("4")
        self.check_screen(s, "hi-Latn")
        key = s.key_for("Madhya Pradesh")
        self.assertIsNotNone(key, s)
        s = a.press(key)
        self.assertIn("Madhya Pradesh: zila chune", s.lines[0])
        seen, pages = [], [s.text]
        while True:
            self.check_screen(s, "hi-Latn")
            seen += [t for _, t in s.items()]
            if "98 Aage" not in s.lines:
                break
            s = a.press("98")
            pages.append(s.text)
        want = sorted((d[1] for d in self.districts if d[2].lower() == "madhya pradesh"),
                      key=str.lower)
        self.assertEqual([t.lower() for t in seen], [w.lower()[:24] for w in want])
        self.assertGreater(len(pages), 2)
        # Back a page at a time, the same pages in reverse.
        for text in reversed(pages[:-1]):
            s = a.press("0")
            self.assertEqual(s.text, text)
        s = a.press("0")  # from the first page: the states again
        self.assertIsNotNone(s.key_for("Madhya Pradesh"))
        # A district from a later page.
        s = a.press(s.key_for("Madhya Pradesh"))
        s = a.press("98")
        k, name = s.items()[0]
        s = a.press(k)
        self.assertIn("NREGA %s" % name, s.text)
        self.assertIn("1 SMS mein bhejein", s.lines)

    def test_wrong_keys_say_what_to_press(self):
        a = self.at()
        a.start()
        s = a.press("7")
        self.assertFalse(s.end)
        self.assertEqual(s.lines[0], "Kripya 2-5 dabayein")
        self.assertIn("4 Rajya se chune", s.lines)
        s = a.press("2")
        s = a.press("12")
        self.assertIn("PIN code 6 ank ka hota hai", s.lines)
        s = a.press("abc")
        self.assertIn("PIN code 6 ank ka hota hai", s.lines)
        s = a.press("999999")
        self.assertIn("Yeh PIN code nahi mila", s.lines)
        s = a.press("0")
        self.assertEqual(s.lines[0], "Hisaab NREGA")
        s = a.press("4")
        s = a.press("9")
        self.assertTrue(s.lines[0].startswith("Kripya 1"), s)
        self.check_screen(s, "hi-Latn")

    def test_at_retry_gives_the_same_screen_and_one_record(self):
        a = self.at()
        a.start()
        s1 = a.press("4")
        s2 = a.retry()
        self.assertEqual(s1.text, s2.text)
        s3 = a.press("98")  # page 2 of the states (or the same page when there is one)
        self.assertFalse(s3.end)
        sh = self.session_hash("at", a.session_id, a.number)
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT count(*) FROM ussd_steps WHERE session_hash = '%s'" % sh) == "3"))
        time.sleep(0.5)
        self.assertEqual(self.svc.psql1(
            "SELECT string_agg(screen || '>' || shown, ' ' ORDER BY step) FROM ussd_steps"
            " WHERE session_hash = '%s'" % sh), "start>main main>states states>states")
        self.assertEqual(self.svc.psql1(
            "SELECT steps FROM ussd_sessions WHERE session_hash = '%s'" % sh), "3")

    def test_at_lost_state_is_rebuilt_from_the_path(self):
        a = self.at()
        a.start()
        a.press("5")
        a.press("2")  # English
        a.press("2")
        sh = self.session_hash("at", a.session_id, a.number)
        self.svc.redis.cli("DEL", "hisaab:ussd:" + sh)
        # A new connection: possibly another worker, which has no copy either way.
        a.conn.close()
        a.conn = ussdsim._Conn(self.srv.port)
        s = a.press(str(self.niwari_pin))
        self.check_niwari(s, "en")
        self.assertIn("1 Send by SMS", s.lines)

    # ---- languages ------------------------------------------------------------------

    def test_language_choice_is_remembered_across_sessions(self):
        number = self.number()
        a = self.at(number)
        a.start()
        s = a.press("5")
        self.assertIn("2 English", s.lines)
        s = a.press("1")  # Hindi in Devanagari
        self.assertEqual(s.lines[0], "हिसाब नरेगा")
        self.check_screen(s, "hi")
        s = a.press("2")
        s = a.press(str(self.niwari_pin))
        self.assertIn("निवाड़ी", s.text)
        self.check_screen(s, "hi")
        # English, remembered by the next session (and by SMS and voice).
        b = self.at(number)
        b.start()
        b.press("5")
        s = b.press("2")
        self.assertEqual(s.lines[0], "Hisaab NREGA")
        self.assertIn("2 PIN code", s.lines)
        self.assertIn("1 My district (Niwari)", s.lines)
        # Written for good first: when Redis does not answer a session's start within its
        # 300 ms share (a busy machine), the start is served from Postgres's copy.
        h = phone_hash(number)
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT lang FROM callers WHERE phone_hash = '%s'" % h) == "en"))
        c = self.at(number)
        s = c.start()
        self.assertIn("3 District name", s.lines)

    def test_every_district_fits_every_screen_in_three_languages(self):
        langs = (("3", "hi-Latn"), ("1", "hi"), ("2", "en"))
        checked = 0
        for code, name, state in self.districts:
            for key, lang in langs:
                a = self.at()
                a.start()
                a.press("5")
                a.press(key)
                a.press("3")
                s = a.press(name)
                if s.items() and not s.has("SMS") and not s.has("एसएमएस"):
                    # several districts of that name: pick the one in this state
                    s = a.press(s.items()[0][0])
                self.check_screen(s, lang)
                pages = 1
                while "98 Aage" in s.lines or "98 Next" in s.lines or "98 आगे" in s.lines:
                    s = a.press("98")
                    self.check_screen(s, lang)
                    pages += 1
                    self.assertLess(pages, 5, (name, lang, s))
                checked += 1
                a.close()
        self.assertEqual(checked, 3 * len(self.districts))
        self.assertGreater(len(self.districts), 40)

    # ---- session style ---------------------------------------------------------------

    def test_session_style_full_path_with_flag(self):
        g = self.sess()
        s = g.start()
        self.assertEqual(s.status, 200)
        self.assertEqual(s.headers.get("X-USSD-Continue"), "1")
        self.assertEqual(s.lines[0], "Hisaab NREGA")
        s = g.press("2")
        self.assertIn("PIN code", s.text)
        s = g.press(str(self.niwari_pin))
        self.check_niwari(s)
        self.assertEqual(s.headers.get("X-USSD-Continue"), "1")
        s = g.press("0")
        self.assertEqual(s.lines[0], "Hisaab NREGA")
        s = g.press("3")
        s = g.press("niwari")
        self.check_niwari(s)
        s = g.press("1")
        self.assertTrue(s.end)
        self.assertEqual(s.headers.get("X-USSD-Continue"), "0")
        # GET works the same
        g = self.sess(method="GET")
        s = g.start()
        self.assertEqual(s.lines[0], "Hisaab NREGA")

    def test_session_that_ran_out_ends_with_goodbye(self):
        g = self.sess()
        s = g.press("2")  # a continue for a session the store does not know
        self.assertEqual(s.status, 200)
        self.assertTrue(s.end, s)
        self.assertEqual(s.headers.get("X-USSD-Continue"), "0")
        self.assertIn("Dhanyavaad", s.text)
        g = self.sess()
        g.start()
        sh = self.session_hash("session", g.session_id, g.number)
        self.svc.redis.cli("DEL", "hisaab:ussd:" + sh)
        g.conn.close()
        for _ in range(4):  # whichever worker answers: Redis has nothing
            g.conn = ussdsim._Conn(self.srv.port)
            s = g.press("2")
            if s.end:
                break
        self.assertTrue(s.end or "PIN code" in s.text, s)

    def test_session_retry_does_not_advance_twice(self):
        g = self.sess()
        g.start()
        s1 = g.press("4")
        s2 = g.retry()
        self.assertEqual(s1.text, s2.text)
        s3 = g.press(s1.key_for("Madhya Pradesh"))
        self.assertIn("Madhya Pradesh: zila chune", s3.text)
        sh = self.session_hash("session", g.session_id, g.number)
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT count(*) FROM ussd_steps WHERE session_hash = '%s'" % sh) == "3"))

    def test_redis_down_in_the_middle_of_a_session(self):
        g = self.sess()
        g.start()
        g.press("2")
        self.svc.stop_redis()
        try:
            t = time.time()
            s = g.press(str(self.niwari_pin))  # same connection, same worker
            self.assertLess(time.time() - t, 4.0)
            self.check_niwari(s)
            s = g.press("0")
            self.assertEqual(s.lines[0], "Hisaab NREGA")
            a = self.at()
            self.assertEqual(a.start().lines[0], "Hisaab NREGA")
        finally:
            self.svc.start_redis()

    def test_redis_slow_answers_within_the_deadline(self):
        g = self.sess()
        g.start()
        pid = self.svc.redis.proc.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            t = time.time()
            s = g.press("2")
            took = time.time() - t
            self.assertIn("PIN code", s.text)
            self.assertLess(took, 4.0)
            t = time.time()
            s = g.press(str(self.niwari_pin))
            self.check_niwari(s)
            self.assertLess(time.time() - t, 4.0)
        finally:
            os.kill(pid, signal.SIGCONT)

    def test_postgres_down_the_menu_answers_and_no_step_is_lost(self):
        self.svc.pg.stop()
        try:
            a = self.at()
            a.start()
            a.press("2")
            t = time.time()
            s = a.press(str(self.niwari_pin))
            self.assertLess(time.time() - t, 4.0)
            self.check_niwari(s)
            g = self.sess()
            g.start()
            s = g.press("3")
            self.assertIn("Apne zile ka naam bhejein", s.lines)
        finally:
            self.svc.pg.start()
        # The steps answered while Postgres was away are written once it is back.
        for gw, sid, number, n in (("at", a.session_id, a.number, 3),
                                   ("session", g.session_id, g.number, 2)):
            sh = self.session_hash(gw, sid, number)
            self.assertTrue(wait_for(lambda: self.svc.psql1(
                "SELECT count(*) FROM ussd_steps WHERE session_hash = '%s'" % sh) == str(n),
                timeout=30))

    def test_bad_requests_are_refused_clearly(self):
        st, h, body = self.srv.request("POST", "/ussd/at", "text=1",
                                       {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 400)
        self.assertIn(b"sessionId", body)
        st, h, body = self.srv.request(
            "POST", "/ussd/at", "sessionId=x1&phoneNumber=abc&text=",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 400)
        st, h, body = self.srv.request("GET", "/ussd/session?msisdn=%2B919770000001&msg=1")
        self.assertEqual(st, 400)
        st, h, body = self.srv.request(
            "POST", "/ussd/at", "sessionId=x2&phoneNumber=%2B919770000002&text=%01",
            {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 400)

    # ---- records ---------------------------------------------------------------------

    def session_hash(self, gw, sid, number):
        return hmac.new(SECRET.encode(), ("ussd:%s:%s:%s" % (gw, sid, number)).encode(),
                        hashlib.sha256).hexdigest()

    def test_records_hash_the_number_and_redact_the_pin(self):
        a = self.at()
        a.start()
        a.press("2")
        a.press(str(self.niwari_pin))
        sh = self.session_hash("at", a.session_id, a.number)
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT count(*) FROM ussd_steps WHERE session_hash = '%s'" % sh) == "3"))
        rows = str(self.svc.psql("SELECT * FROM ussd_steps WHERE session_hash = '%s'" % sh))
        self.assertNotIn(a.number[3:], rows)
        self.assertNotIn(str(self.niwari_pin), rows)
        self.assertEqual(self.svc.psql1(
            "SELECT input FROM ussd_steps WHERE session_hash = '%s' AND step = 3" % sh), "[PIN]")
        self.assertEqual(self.svc.psql1(
            "SELECT phone_hash FROM ussd_steps WHERE session_hash = '%s' AND step = 1" % sh),
            phone_hash(a.number))
        self.assertTrue(wait_for(lambda: self.svc.psql1(
            "SELECT district_code || ' ' || summaries FROM ussd_sessions"
            " WHERE session_hash = '%s'" % sh) == "1752 1"))
        dump = str(self.svc.psql("SELECT * FROM ussd_sessions"))
        self.assertNotIn(a.number[3:], dump)


if __name__ == "__main__":
    unittest.main()
