"""A USSD gateway played on loopback for the USSD channel's tests: it sends what a USSD
aggregator sends for a person pressing keys on a phone, in both styles the server speaks.

AtSession is Africa's Talking style: every request POSTs a form with sessionId,
serviceCode, phoneNumber, networkCode and text, the session's answers so far joined by
'*' (empty on the first); the answer is text/plain "CON <screen>" or "END <screen>".

SessionGateway is the session style of Indian aggregators: this screen's input only
(msg), the number (msisdn), the session id (sessionid) and type=1 on the first request,
2 after; the answer is the screen with X-USSD-Continue: 1 (go on) or 0 (end).

Both keep one HTTP connection per session (keep-alive), as gateways do, so a session
stays on one worker of the server unless the test opens a new connection.

Screen checks shared by the tests: how long a screen is on a handset (GSM-7 septets, or
UTF-16 units when any character is outside GSM-7) and which script it is in.
"""
import http.client
import re
import urllib.parse

GSM7 = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
        "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = "^{}\\[~]|€\f"
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
LATIN_LETTER = re.compile(r"[A-Za-z]")


def screen_len(text):
    """(characters on the handset, 'gsm' or 'ucs2')."""
    if all(ch in GSM7 or ch in GSM7_EXT for ch in text):
        return sum(2 if ch in GSM7_EXT else 1 for ch in text), "gsm"
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text), "ucs2"


class Screen:
    def __init__(self, status, headers, body, end):
        self.status = status
        self.headers = headers
        self.body = body
        self.end = end
        self.text = body

    @property
    def lines(self):
        return self.text.split("\n")

    def has(self, s):
        return s in self.text

    def key_for(self, name):
        """The key of the numbered line naming name ('3 Niwari' -> '3'), or None."""
        for line in self.lines:
            m = re.match(r"^(\d+) (.*)$", line)
            if m and (m.group(2) == name or m.group(2).startswith(name + " (")):
                return m.group(1)
        return None

    def items(self):
        """The numbered lines 1-9 as (key, text)."""
        out = []
        for line in self.lines:
            m = re.match(r"^([1-9]) (.*)$", line)
            if m:
                out.append((m.group(1), m.group(2)))
        return out

    def __repr__(self):
        return "<%s %r>" % ("END" if self.end else "CON", self.text)


class _Conn:
    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def send(self, method, path, body=None, headers=None):
        for attempt in range(2):
            try:
                self.c.request(method, path, body=body, headers=headers or {})
                r = self.c.getresponse()
                return r.status, dict(r.getheaders()), r.read().decode("utf-8")
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.c.close()
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                if attempt:
                    raise

    def close(self):
        self.c.close()


class AtSession:
    def __init__(self, port, session_id, number, code="*123*6#", network="40401"):
        self.conn = _Conn(port)
        self.session_id = session_id
        self.number = number
        self.code = code
        self.network = network
        self.answers = []
        self.last = None

    def text(self):
        return "*".join(self.answers)

    def post(self, text):
        form = urllib.parse.urlencode({"sessionId": self.session_id, "serviceCode": self.code,
                                       "phoneNumber": self.number, "networkCode": self.network,
                                       "text": text})
        st, h, body = self.conn.send("POST", "/ussd/at", form,
                                     {"Content-Type": "application/x-www-form-urlencoded"})
        if st != 200:
            return Screen(st, h, body, True)
        assert body.startswith("CON ") or body.startswith("END "), body
        s = Screen(st, h, body[4:], body.startswith("END "))
        return s

    def start(self):
        self.answers = []
        self.last = self.post("")
        return self.last

    def press(self, answer):
        self.answers.append(answer)
        self.last = self.post(self.text())
        return self.last

    def retry(self):
        """The gateway sends the last request again (it thinks the answer was lost)."""
        self.last = self.post(self.text())
        return self.last

    def close(self):
        self.conn.close()


class SessionGateway:
    def __init__(self, port, session_id, number, method="POST"):
        self.conn = _Conn(port)
        self.session_id = session_id
        self.number = number
        self.method = method
        self.last_input = None
        self.last_type = None

    def send(self, msg, new):
        self.last_input, self.last_type = msg, "1" if new else "2"
        q = urllib.parse.urlencode({"sessionid": self.session_id, "msisdn": self.number,
                                    "msg": msg, "type": self.last_type})
        if self.method == "GET":
            st, h, body = self.conn.send("GET", "/ussd/session?" + q)
        else:
            st, h, body = self.conn.send("POST", "/ussd/session", q,
                                         {"Content-Type": "application/x-www-form-urlencoded"})
        flag = h.get("X-USSD-Continue")
        return Screen(st, h, body, flag == "0")

    def start(self, dialled="*123*6#"):
        return self.send(dialled, True)

    def press(self, msg):
        return self.send(msg, False)

    def retry(self):
        q = urllib.parse.urlencode({"sessionid": self.session_id, "msisdn": self.number,
                                    "msg": self.last_input, "type": self.last_type})
        st, h, body = self.conn.send("POST", "/ussd/session", q,
                                     {"Content-Type": "application/x-www-form-urlencoded"})
        return Screen(st, h, body, h.get("X-USSD-Continue") == "0")

    def close(self):
        self.conn.close()
