"""Test harness: a real Kannel (Debian's bearerbox and smsbox) wired to Kannel's own fake SMS
centre (kannel-extras' fakesmsc), all on free loopback ports in a temporary directory, so a
black-box test can play the phone network: inject a text "from a phone", see the HTTP call
smsbox makes to our sms-service URL, and read what Kannel sends back to the phone.

    k = Kannel(base_dir, "http://127.0.0.1:%d/sms/kannel" % port).start()
    k.send_from_phone("919812345678", "NREGA Niwari")         # GSM text
    k.send_from_phone("919812345678", "निवाड़ी")              # sent as UCS-2
    receiver, text, coding = k.wait_reply(timeout=10)         # what the phone got
    k.sendsms("919812345678", "नमस्ते", coding=2)             # -> 202
    k.stop()

How the pieces talk (found by experiment with Kannel 1.4.5, see kannel/README.md):
- bearerbox's `smsc = fake` listens on a port; fakesmsc connects to it. fakesmsc started
  without messages on its command line reads them from stdin, one line each:
  "sender receiver text <plain text>", "sender receiver ucs2 <url-encoded UTF-16BE>", or
  for one part of a long text "sender receiver udh-text <url-encoded UDH> <plain text>".
  Its stdin buffer is 256 bytes, so a longer line would be cut into two messages: we refuse.
- fakesmsc prints each message Kannel delivers to it as a log line
  "Got message N: <sender receiver text <text>>", "<... ucs-2 <url-encoded UTF-16BE>>",
  "<... data <url-encoded bytes>>" or, for a part of a concatenated message,
  "<... udh <url-encoded UDH> data <url-encoded bytes>>".
- fakesmsc waits up to 1 s on stdin before it reads from bearerbox, so a reply would show
  up to a second late; a thread writes an empty line every 50 ms (fakesmsc skips it) so
  replies are read at once.
- fakesmsc ends with "double free detected" when its stdin closes: harmless, we stop it
  with SIGINT/SIGKILL and do not look at its exit status.
- Kannel runs as root without complaint (no user switch is needed).
"""
import atexit
import collections
import os
import queue
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import harness

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"

# The query smsbox appends to our URL: sender, receiver, the message bytes as received (%b,
# URL-encoded) with the charset they are in (%C) and the coding (%c), Kannel's message id (%I,
# a UUID that stays the same when smsbox retries the HTTP call), the SMSC id (%i) and the
# time the SMSC received it (%T, Unix seconds). With `mo-recode = true` a UCS-2 text arrives
# recoded to UTF-8 (charset=UTF-8, coding=0); without it, charset=UTF-16BE and %b holds the
# UTF-16BE bytes. %a is not used: it splits words on bytes such as 0x09 (TAB), which is the
# high byte of every Devanagari letter in UTF-16BE, so it mangles an un-recoded Hindi text.
QUERY = "from=%p&to=%P&text=%b&charset=%C&coding=%c&id=%I&smsc=%i&time=%T"

SHORTCODE = "56767"

SAMPLE_CONF = os.path.join(harness.ROOT, "kannel", "kannel.conf")

# A fakesmsc line: every line it prints starts with a Kannel log prefix.
_LOG_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[\d+\] \[\d+\] [A-Z]+: ")
_GOT_RE = re.compile(r"Got message \d+: <(.*)>$")

# One message fakesmsc received. coding: 0 text (GSM), 1 data (8-bit), 2 UCS-2, None for a
# concatenated part (fakesmsc does not print the coding of a message with a UDH: text then
# holds the bytes decoded as UTF-16BE when that looks right, else as UTF-8). udh: bytes or
# None; data: the message bytes as Kannel held them.
Sms = collections.namedtuple("Sms", "sender receiver text coding udh data line")

# How long a received message waits before wait_message hands it out (see there).
SETTLE = 0.05

# Longest line fakesmsc reads from stdin in one go (fgets into 256 bytes, newline included).
FAKESMSC_MAX_LINE = 254


def _q(b):
    return urllib.parse.quote(b, safe="")


def _unq(s):
    """Kannel's URL decoding: '+' is a space (a real '+' comes as %2B)."""
    return urllib.parse.unquote_to_bytes(s.replace("+", " "))


def ucs2_encode(text):
    """How fakesmsc wants a UCS-2 text: UTF-16BE bytes, URL-encoded ('+' would be a space)."""
    return _q(text.encode("utf-16-be"))


def _guess_ucs2(data):
    """True when data looks like UTF-16BE text (even length, plausible high bytes)."""
    if len(data) % 2 or not data:
        return False
    highs = data[0::2]
    return all(h in (0x00, 0x09, 0x20) for h in highs) and any(h == 0x09 for h in highs)


def parse_fakesmsc(line):
    """Parses the inside of a 'Got message N: <...>' line into an Sms; None if malformed."""
    parts = line.split(" ", 3)
    if len(parts) < 4:
        # An empty text ("sender receiver text ") in case its trailing space is lost.
        if len(parts) == 3:
            parts.append("")
        else:
            return None
    sender, receiver, kind, rest = parts
    if kind == "text":
        return Sms(sender, receiver, rest, 0, None, rest.encode("utf-8"), line)
    if kind == "ucs-2":
        data = _unq(rest)
        return Sms(sender, receiver, data.decode("utf-16-be", "replace"), 2, None, data, line)
    if kind == "data":
        data = _unq(rest)
        return Sms(sender, receiver, data.decode("utf-8", "replace"), 1, None, data, line)
    if kind == "udh":
        m = re.match(r"(\S*) data (.*)$", rest)
        if not m:
            return None
        udh = _unq(m.group(1))
        data = _unq(m.group(2))
        enc = "utf-16-be" if _guess_ucs2(data) else "utf-8"
        return Sms(sender, receiver, data.decode(enc, "replace"), None, udh, data, line)
    return None


class Kannel:
    """bearerbox + smsbox + fakesmsc for one test, configured in base_dir/kannel.conf.

    sms_url: our sms-service URL; when it has no '%' escape, QUERY is appended to it.
    method: "get" (get-url) or "post" (post-url: smsbox POSTs the text as the body and
        still expands the escapes in the URL).
    max_messages, concatenation: the sms-service settings for a long reply (how many SMS
        one reply may become, and whether they are sent as one concatenated message with a
        UDH or as separate texts).
    mo_recode: smsbox's mo-recode (recode an inbound UCS-2 text to UTF-8 before the call).
    omit_empty: an empty reply body sends nothing (else smsbox texts its
        reply-emptymessage, "<Empty reply from service provider>").
    extra_service, extra_smsbox: more config lines for the sms-service / smsbox group.
    sample: use the repository's kannel/kannel.conf instead (ports, paths, passwords and
        the host:port of its get-url replaced; the other arguments are then ignored).
    """

    def __init__(self, base_dir, sms_url, method="get", max_messages=3, concatenation=True,
                 mo_recode=True, omit_empty=True, shortcode=SHORTCODE, http_timeout=10,
                 extra_service="", extra_smsbox="", sample=False):
        self.dir = os.path.join(base_dir, "kannel")
        os.makedirs(self.dir, exist_ok=True)
        self.shortcode = shortcode
        self.admin_port = harness.free_port()
        self.smsbox_port = harness.free_port()
        self.fake_port = harness.free_port()
        self.sendsms_port = harness.free_port()
        while len({self.admin_port, self.smsbox_port, self.fake_port,
                   self.sendsms_port}) < 4:
            self.sendsms_port = harness.free_port()
            self.fake_port = harness.free_port()
        self.admin_password = "adm-test"
        self.sendsms_user = "hisaab"
        self.sendsms_password = "send-test"
        base_url = sms_url
        if "%" not in sms_url:
            sms_url += ("&" if "?" in sms_url else "?") + QUERY
        self.sms_url = sms_url
        if method not in ("get", "post"):
            raise ValueError("method must be get or post")
        self.conf = os.path.join(self.dir, "kannel.conf")
        if sample:
            # The sample's get-url carries its own query: substitute the bare base URL.
            text = self._sample_config(base_url.split("?", 1)[0])
        else:
            text = self._config(method, max_messages, concatenation, mo_recode, omit_empty,
                                http_timeout, extra_service, extra_smsbox)
        with open(self.conf, "w") as f:
            f.write(text)
        self.procs = {}
        self.fake = None
        self._inbox = collections.deque()
        self._cond = threading.Condition()
        self.fake_log = []
        self._stdin_lock = threading.Lock()
        self._stopping = threading.Event()
        self.last_body = None
        atexit.register(self.stop)

    def _config(self, method, max_messages, concatenation, mo_recode, omit_empty,
                http_timeout, extra_service, extra_smsbox):
        yes = lambda b: "true" if b else "false"  # noqa: E731
        d = self.dir
        return """# Written by tests/kannel.py for one test run.
group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = "{admin_pw}"
admin-allow-ip = "127.0.0.1"
smsbox-port = {smsbox}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{d}/bearerbox.log"
log-level = 0
access-log = "{d}/access.log"

group = smsc
smsc = fake
smsc-id = fake
port = {fake}
our-host = 127.0.0.1
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
global-sender = "{shortcode}"
mo-recode = {mo_recode}
http-timeout = {http_timeout}
log-file = "{d}/smsbox.log"
log-level = 0
{extra_smsbox}

group = sendsms-user
username = "{user}"
password = "{password}"
user-allow-ip = "127.0.0.1"
user-deny-ip = "*.*.*.*"
max-messages = 3
concatenation = true

group = sms-service
keyword = default
catch-all = true
{method}-url = "{url}"
accept-x-kannel-headers = true
max-messages = {max_messages}
concatenation = {concatenation}
omit-empty = {omit_empty}
{extra}
""".format(admin=self.admin_port, admin_pw=self.admin_password, smsbox=self.smsbox_port,
           d=d, fake=self.fake_port, sendsms=self.sendsms_port, shortcode=self.shortcode,
           mo_recode=yes(mo_recode), http_timeout=int(http_timeout),
           user=self.sendsms_user, password=self.sendsms_password, method=method,
           url=self.sms_url, max_messages=int(max_messages),
           concatenation=yes(concatenation), omit_empty=yes(omit_empty),
           extra=extra_service, extra_smsbox=extra_smsbox)

    def _sample_config(self, sms_url):
        """kannel/kannel.conf made runnable here. sms_url: our service's base URL (no
        query). Each replaced setting must occur exactly once, so the sample and this
        harness cannot drift apart silently."""
        with open(SAMPLE_CONF) as f:
            text = f.read()
        subs = [
            (r"(?m)^admin-port = 13000$", "admin-port = %d" % self.admin_port),
            (r'(?m)^admin-password = "CHANGE-ME-admin"$',
             'admin-password = "%s"' % self.admin_password),
            (r"(?m)^smsbox-port = 13001$", "smsbox-port = %d" % self.smsbox_port),
            (r"(?m)^bearerbox-port = 13001$", "bearerbox-port = %d" % self.smsbox_port),
            (r"(?m)^port = 10000$", "port = %d" % self.fake_port),
            (r"(?m)^sendsms-port = 13013$", "sendsms-port = %d" % self.sendsms_port),
            (r'(?m)^store-location = "/var/spool/kannel/hisaab.store"$',
             'store-location = "%s/hisaab.store"' % self.dir),
            (r'(?m)^global-sender = "CHANGE-ME-shortcode"$',
             'global-sender = "%s"' % self.shortcode),
            (r'(?m)^username = "hisaab"$', 'username = "%s"' % self.sendsms_user),
            (r'(?m)^password = "CHANGE-ME-sendsms"$',
             'password = "%s"' % self.sendsms_password),
            (r'(?m)^get-url = "http://127\.0\.0\.1:8080/sms/kannel\?',
             'get-url = "%s?' % sms_url.replace("\\", "\\\\")),
        ]
        for pattern, repl in subs:
            text, n = re.subn(pattern, repl, text)
            if n != 1:
                raise RuntimeError("kannel.conf: %r matched %d times" % (pattern, n))
        text, n = re.subn(r'"/var/log/kannel/', '"%s/' % self.dir, text)
        if n == 0:
            raise RuntimeError("kannel.conf: no log path under /var/log/kannel")
        m = re.search(r'(?m)^get-url = "[^?]*\?(.*)"$', text)
        self.sms_url = sms_url + "?" + (m.group(1) if m else "")
        return text

    # ---- processes -----------------------------------------------------------------

    def _spawn(self, name, argv, **kw):
        out = open(os.path.join(self.dir, name + ".out"), "w")
        try:
            p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=self.dir,
                                 **kw)
        finally:
            out.close()
        self.procs[name] = p
        return p

    def _check_alive(self, name):
        p = self.procs.get(name)
        if p is None or p.poll() is not None:
            raise RuntimeError("%s exited (%s):\n%s" % (
                name, None if p is None else p.returncode, self.logs(name)))

    def status(self, timeout=2.0):
        """bearerbox's status.txt page (admin interface), '' when it does not answer."""
        url = "http://127.0.0.1:%d/status.txt?password=%s" % (self.admin_port,
                                                             self.admin_password)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.read().decode("utf-8", "replace")
        except (OSError, urllib.error.URLError):
            return ""

    def _wait(self, what, fn, timeout, names):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for n in names:
                self._check_alive(n)
            if fn():
                return
            time.sleep(0.05)
        raise RuntimeError("Kannel: %s not ready after %.0fs\n%s" % (
            what, timeout, self.logs()))

    def start(self, timeout=20.0):
        """Starts bearerbox, fakesmsc and smsbox, and waits until the fake SMSC is online
        and smsbox is connected and serving sendsms. Returns self."""
        self._spawn("bearerbox", [BEARERBOX, "-v", "0", self.conf])
        self._wait("bearerbox admin port", lambda: self.status() != "", timeout,
                   ["bearerbox"])
        # fakesmsc logs to stderr; its lines are read through a pipe (and kept in fake_log).
        self.fake = subprocess.Popen([FAKESMSC, "-H", "127.0.0.1", "-r", str(self.fake_port),
                                      "-i", "0"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        self.procs["fakesmsc"] = self.fake
        threading.Thread(target=self._read_fake, daemon=True).start()
        threading.Thread(target=self._poke_fake, daemon=True).start()
        self._wait("fake SMSC online", lambda: re.search(r"FAKE:\d+ \(online",
                                                          self.status()),
                   timeout, ["bearerbox", "fakesmsc"])
        self._spawn("smsbox", [SMSBOX, "-v", "0", self.conf])
        self._wait("smsbox", self._smsbox_ready, timeout, ["bearerbox", "fakesmsc", "smsbox"])
        return self

    def _smsbox_ready(self):
        if not re.search(r"smsbox:.*on-line", self.status()):
            return False
        try:
            harness.wait_port(self.sendsms_port, timeout=0.2)
        except RuntimeError:
            return False
        return True

    def _read_fake(self):
        for raw in self.fake.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.fake_log.append(line)
            m = _GOT_RE.search(line)
            if not (m and _LOG_RE.match(line)):
                continue
            sms = parse_fakesmsc(m.group(1))
            with self._cond:
                if sms is None and self._inbox:
                    # fakesmsc reads lines, so a text message with a newline arrives as
                    # two "Got message" lines: the second one continues the first.
                    last, t = self._inbox[-1]
                    text = last.text + "\n" + m.group(1)
                    self._inbox[-1] = (last._replace(text=text, data=text.encode("utf-8"),
                                                     line=last.line + "\n" + m.group(1)), t)
                elif sms is not None:
                    self._inbox.append((sms, time.monotonic()))
                self._cond.notify_all()

    def _poke_fake(self):
        # fakesmsc only reads from bearerbox after a line on stdin or a 1 s select timeout;
        # an empty line (which it skips) every 50 ms keeps replies prompt.
        while not self._stopping.wait(0.05):
            if not self._write_fake(b"\n"):
                return

    def _write_fake(self, data):
        with self._stdin_lock:
            if self.fake is None or self.fake.poll() is not None:
                return False
            try:
                self.fake.stdin.write(data)
                self.fake.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                return False
        return True

    def stop(self):
        """Stops fakesmsc, smsbox and bearerbox (each with a bounded wait, then SIGKILL)."""
        self._stopping.set()
        order = ["fakesmsc", "smsbox", "bearerbox"]
        for name in order:
            p = self.procs.get(name)
            if p is None or p.poll() is not None:
                continue
            p.send_signal(signal.SIGINT if name == "fakesmsc" else signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)
        if self.fake is not None and self.fake.stdin:
            try:
                self.fake.stdin.close()
            except OSError:
                pass
        self.procs = {}

    def logs(self, name=None, tail=40):
        """The last lines of each Kannel log (or only name's), for failure messages."""
        out = []
        names = [name] if name else ["bearerbox", "smsbox", "fakesmsc"]
        for n in names:
            if n == "fakesmsc":
                lines = self.fake_log[-tail:]
            else:
                lines = []
                for fn in (n + ".log", n + ".out"):
                    try:
                        with open(os.path.join(self.dir, fn), errors="replace") as f:
                            lines += f.read().splitlines()[-tail:]
                    except OSError:
                        pass
            out.append("--- %s\n%s" % (n, "\n".join(lines)))
        return "\n".join(out)

    # ---- the phone side ------------------------------------------------------------

    def send_from_phone(self, sender, text, unicode=None, receiver=None):
        """Injects one inbound SMS through fakesmsc: from sender to receiver (default the
        shortcode). unicode=None sends UCS-2 when text has a non-ASCII character, True
        always UCS-2, False always as a 'text' (7-bit) message. Raises ValueError for a text
        fakesmsc cannot carry (a newline, or a line over its 256-byte stdin buffer)."""
        receiver = receiver or self.shortcode
        if unicode is None:
            unicode = any(ord(c) > 127 for c in text)
        if " " in sender or " " in receiver or not sender or not receiver:
            raise ValueError("sender and receiver must be non-empty without spaces")
        if unicode:
            line = "%s %s ucs2 %s" % (sender, receiver, ucs2_encode(text))
        else:
            if "\n" in text or "\r" in text:
                raise ValueError("fakesmsc cannot carry a newline in a text message")
            line = "%s %s text %s" % (sender, receiver, text)
        data = line.encode("utf-8") + b"\n"
        if len(data) > FAKESMSC_MAX_LINE + 1:
            raise ValueError("line of %d bytes is over fakesmsc's %d" % (
                len(data), FAKESMSC_MAX_LINE))
        self._check_alive("fakesmsc")
        if not self._write_fake(data):
            raise RuntimeError("fakesmsc stdin closed\n" + self.logs("fakesmsc"))

    def send_parts_from_phone(self, sender, parts, ref=42, receiver=None):
        """Injects one long GSM text as concatenated parts (fakesmsc's 'udh-text' type,
        UDH 05 00 03 ref total seq), as a phone sends a text over 160 characters. bearerbox
        joins the parts (sms-combine-concatenated-mo) and smsbox calls the service once.
        fakesmsc has no UCS-2 form with a UDH, so the parts are plain text."""
        receiver = receiver or self.shortcode
        total = len(parts)
        for seq, text in enumerate(parts, 1):
            if "\n" in text:
                raise ValueError("fakesmsc cannot carry a newline in a text message")
            udh = _q(bytes([5, 0, 3, ref & 0xFF, total, seq]))
            data = ("%s %s udh-text %s %s\n" % (sender, receiver, udh, text)).encode("utf-8")
            if len(data) > FAKESMSC_MAX_LINE + 1:
                raise ValueError("part of %d bytes is over fakesmsc's %d" % (
                    len(data), FAKESMSC_MAX_LINE))
            self._check_alive("fakesmsc")
            if not self._write_fake(data):
                raise RuntimeError("fakesmsc stdin closed\n" + self.logs("fakesmsc"))

    def wait_message(self, timeout=10.0):
        """The next message Kannel delivered to the phone network, as an Sms; raises
        queue.Empty after timeout seconds. A message is handed out once it is SETTLE
        seconds old, so the continuation line of a text with a newline is joined first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                if self._inbox and now - self._inbox[0][1] >= SETTLE:
                    return self._inbox.popleft()[0]
                if now >= deadline:
                    raise queue.Empty()
                wait = deadline - now
                if self._inbox:
                    wait = min(wait, SETTLE - (now - self._inbox[0][1]))
                self._cond.wait(max(wait, 0.001))

    def wait_reply(self, timeout=10.0):
        """(receiver, text, coding) of the next message delivered to fakesmsc."""
        sms = self.wait_message(timeout)
        return sms.receiver, sms.text, sms.coding

    def no_message(self, within=1.5):
        """True when nothing reaches fakesmsc for `within` seconds (nothing is consumed)."""
        deadline = time.monotonic() + within
        with self._cond:
            while not self._inbox:
                left = deadline - time.monotonic()
                if left <= 0:
                    return True
                self._cond.wait(left)
        return False

    def drain(self):
        """Drops every message received so far; returns how many."""
        with self._cond:
            n = len(self._inbox)
            self._inbox.clear()
        return n

    # ---- the send API ---------------------------------------------------------------

    def sendsms_url(self):
        """Base URL of smsbox's sendsms interface."""
        return "http://127.0.0.1:%d/cgi-bin/sendsms" % self.sendsms_port

    def sendsms(self, to, text, coding=None, sender=None, password=None, timeout=10.0,
                **extra):
        """Sends text to `to` through smsbox's sendsms (GET, text as UTF-8, charset=UTF-8);
        coding=2 for UCS-2. Returns the HTTP status; the body is kept in self.last_body."""
        params = {"username": self.sendsms_user,
                  "password": self.sendsms_password if password is None else password,
                  "to": to, "text": text, "charset": "UTF-8"}
        if sender is not None:
            params["from"] = sender
        if coding is not None:
            params["coding"] = str(coding)
        params.update({k.replace("_", "-"): str(v) for k, v in extra.items()})
        url = self.sendsms_url() + "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                self.last_body = r.read().decode("utf-8", "replace")
                return r.status
        except urllib.error.HTTPError as e:
            self.last_body = e.read().decode("utf-8", "replace")
            return e.code
