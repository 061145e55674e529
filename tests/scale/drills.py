#!/usr/bin/env python3
"""Failure drills (issue 13): a primary and a streaming replica, Redis with three sentinels,
two hisaab instances behind nginx, all on loopback, under a steady mixed load (API reads,
SMS webhooks, USSD steps, missed calls). One at a time: kill the replica; kill (SIGTERM)
an instance; fail Redis over and kill the old master; restart the primary.

For each drill: requests answered, errors clients saw, the longest gap between two
answers, and the records written against those acknowledged (2xx): SMS messages
(sms_messages by the gateway's id), USSD steps (ussd_steps) and callbacks
(voice_callbacks by the missed call's id). Written must equal acknowledged, each once;
the run exits 1 when it does not. Prints a Markdown table (README "Scale-out").

    python3 tests/scale/drills.py [--seconds 12] [--only NAME]
"""
import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
import replica  # noqa: E402
import sentinel  # noqa: E402

KEY = "drill-key"
THREADS = 8

NGINX_CONF = """
worker_processes 2;
error_log %(dir)s/error.log warn;
pid %(dir)s/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(dir)s/body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    upstream hisaab {
        server 127.0.0.1:%(a)d max_fails=1 fail_timeout=2s;
        server 127.0.0.1:%(b)d max_fails=1 fail_timeout=2s;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:%(port)d;
        location / {
            proxy_pass http://hisaab;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            # Webhooks are safe to send again: SMS deduplicate by the gateway's id, USSD
            # steps by session and input, missed calls by their id.
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 2;
            proxy_connect_timeout 1s;
            proxy_read_timeout 10s;
        }
    }
}
"""


class Nginx:
    def __init__(self, ports):
        self.dir = tempfile.mkdtemp(prefix="hisaab-nginx-")
        self.port = harness.free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % {"dir": self.dir, "a": ports[0], "b": ports[1],
                                  "port": self.port})
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_port(self.port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class Load:
    """THREADS clients in a closed loop through nginx, each a mix of the four kinds."""

    def __init__(self, port, tag):
        self.port = port
        self.tag = tag
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.answered = 0
        self.errors = 0
        self.error_kinds = {}
        self.times = []
        self.sms_acked = 0
        self.ussd_acked = 0
        self.calls_acked = 0
        self.n = 0

    def next_no(self):
        with self.lock:
            self.n += 1
            return self.n

    def one(self, conn, kind, i):
        num = "91%s%07d" % (self.tag, i)
        if kind == 0:
            path = "/api/v1/districts/%d/summary" % (1701, 1707, 1728, 1752)[i % 4]
            conn.request("GET", path)
        elif kind == 1:
            conn.request("GET", "/api/v1/districts/1752/history?months=%d" % (1 + i % 12))
        elif kind == 2:
            q = urllib.parse.urlencode({"from": num, "to": "56767", "text": "NREGA Niwari",
                                        "id": "%s-%d" % (self.tag, i), "charset": "UTF-8",
                                        "coding": "0"})
            conn.request("GET", "/sms/kannel?" + q)
        elif kind == 3:
            q = urllib.parse.urlencode({"sessionid": "%s-%d" % (self.tag, i), "msisdn": num,
                                        "msg": "*123*6#", "type": "1"})
            conn.request("POST", "/ussd/session", q,
                         {"Content-Type": "application/x-www-form-urlencoded"})
        else:
            body = json.dumps({"from": num[2:], "id": "%s-%d" % (self.tag, i)})
            conn.request("POST", "/missedcall/generic?key=" + KEY, body,
                         {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        return r.status

    def worker(self):
        conn = None
        while not self.stop.is_set():
            i = self.next_no()
            kind = i % 5
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                status = self.one(conn, kind, i)
                err = None if 200 <= status < 300 else "HTTP %d" % status
            except (OSError, http.client.HTTPException) as e:
                err = type(e).__name__
                conn.close()
                conn = None
            with self.lock:
                if err is None:
                    self.answered += 1
                    self.times.append(time.monotonic())
                    if kind == 2:
                        self.sms_acked += 1
                    elif kind == 3:
                        self.ussd_acked += 1
                    elif kind == 4:
                        self.calls_acked += 1
                else:
                    self.errors += 1
                    self.error_kinds[err] = self.error_kinds.get(err, 0) + 1

    def run(self, seconds, action, at=3.0):
        threads = [threading.Thread(target=self.worker) for _ in range(THREADS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(at)
        action()
        left = seconds - (time.monotonic() - t0)
        if left > 0:
            time.sleep(left)
        self.stop.set()
        for t in threads:
            t.join()
        ts = sorted(self.times)
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        return max(gaps) if gaps else seconds


def set_once(conf):
    """Drop the shipped kore.conf's lines for the keys the drill sets (each key once)."""
    import re
    with open(conf) as f:
        text = f.read()
    for key in ("rate_limit_ip", "rate_limit_client", "rate_limit_ip_cached",
                "sms_rate_per_hour", "ussd_sessions_per_hour", "drain_ready_seconds"):
        lines = [m.start() for m in re.finditer(r"(?m)^\s*%s\s+\S+\s*$" % key, text)]
        for start in reversed(lines[1:]):
            end = text.index("\n", start)
            text = text[:start] + text[end:]
    with open(conf, "w") as f:
        f.write(text)


class Cluster:
    def __init__(self):
        self.svc = harness.Services()
        harness.etl(self.svc, "migrate")
        harness.etl(self.svc, "run", "--source", harness.SAMPLE, "--format", "csv")
        self.rep = replica.Replica(self.svc.pg)
        self.rs = sentinel.SentinelSet(self.svc.redis)
        extra = ("\tdatabase_replicas %s\n\tredis_sentinels %s\n\tredis_sentinel_master hisaab\n"
                 "\tdrain_ready_seconds 2\n\trate_limit_ip 0\n\trate_limit_ip_cached 0\n"
                 "\trate_limit_client 0\n\tsms_rate_per_hour 100000\n"
                 "\tussd_sessions_per_hour 100000\n" % (self.rep.dsn, self.rs.addrs))
        env = {"VOICE_WEBHOOK_KEY": KEY}
        self.inst = [harness.HisaabServer(self.svc, workers=2, extra_hisaab=extra, env=env)
                     for _ in range(2)]
        for s in self.inst:
            set_once(s.conf)
            s.start()
        self.nginx = Nginx([s.port for s in self.inst])
        harness.wait_for(lambda: all(self.ready(s) for s in self.inst), timeout=20)

    def ready(self, s):
        try:
            st, doc = s.get_json("/api/v1/health")
            return doc["data"]["loaded"] and doc.get("replicas", {}).get("serving") == 1 \
                and doc["checks"]["redis"]["status"] == "up"
        except (OSError, ValueError, KeyError):
            return False

    def counts(self, tag):
        like = tag + "-%"
        sms = self.svc.psql("SELECT count(*), count(DISTINCT gateway_message_id) FROM sms_messages"
                            " WHERE direction = 'in' AND gateway_message_id LIKE '%s'" % like)[0]
        calls = self.svc.psql("SELECT count(*), count(DISTINCT trigger_id) FROM voice_callbacks"
                              " WHERE trigger_id LIKE '%s'" % like)[0]
        ussd = self.svc.psql1("SELECT count(*) FROM ussd_steps")
        return int(sms[0]), int(sms[1]), int(calls[0]), int(calls[1]), int(ussd)

    def close(self):
        self.nginx.stop()
        for s in self.inst:
            s.stop()
        self.rs.close()
        self.rep.stop(mode="immediate")
        self.svc.close()


def drill_replica(c):
    c.rep.stop(mode="immediate")
    threading.Timer(4.0, c.rep.start).start()


def drill_instance(c):
    c.inst[0].proc.send_signal(signal.SIGTERM)

    def back():
        c.inst[0].proc.wait(timeout=30)
        c.inst[0].start()
    threading.Timer(0.1, back).start()


def drill_redis(c):
    old = c.rs.master_port()
    c.rs.failover()
    for s in [c.svc.redis, c.rs.replica]:
        if isinstance(s, sentinel.Server) and s.port == old:
            s.stop(kill=True)
        elif not isinstance(s, sentinel.Server) and s.port == old:
            s.stop()


def drill_primary(c):
    c.svc.pg.stop()
    c.svc.pg.start()


DRILLS = [("kill the replica", "rep", drill_replica),
          ("kill an instance (SIGTERM, restarted)", "ins", drill_instance),
          ("Redis failover, then kill the old master", "rds", drill_redis),
          ("restart the primary", "pri", drill_primary)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--only")
    args = ap.parse_args()
    c = Cluster()
    rows, ok = [], True
    try:
        for n, (name, tag, fn) in enumerate(DRILLS):
            if args.only and args.only != tag:
                continue
            harness.wait_for(lambda: all(c.ready(s) for s in c.inst), timeout=30)
            tag = "%s%d" % (tag, n)
            ussd_before = c.counts(tag)[4]
            load = Load(c.nginx.port, "9%d" % (n + 1))
            load.tag = str(9 * 10 + n + 1)
            gap = load.run(args.seconds, lambda: fn(c))
            # What was acknowledged is written once the journals flush (a restarted
            # primary, a drained instance): give them time, then count.
            want = (load.sms_acked, load.calls_acked, load.ussd_acked)

            def written():
                s, sd, k, kd, u = c.counts(load.tag)
                return (s, k, u - ussd_before), (sd, kd)
            harness.wait_for(lambda: written()[0] == want, timeout=30, step=0.5)
            got, distinct = written()
            good = got == want and distinct == got[:2]
            ok = ok and good
            rows.append((name, load.answered, load.errors, dict(load.error_kinds), gap, got, want,
                         good))
            print("drill %-45s answered %6d errors %4d %s gap %5.0f ms written %s acked %s %s"
                  % (name, load.answered, load.errors, load.error_kinds or "", gap * 1000, got,
                     want, "ok" if good else "MISMATCH"), flush=True)
    finally:
        c.close()
    print()
    print("| Drill | Requests answered | Client errors | Longest gap | SMS written / acked |"
          " USSD steps written / acked | Callbacks written / acked |")
    print("|---|---|---|---|---|---|---|")
    for name, ans, err, kinds, gap, got, want, good in rows:
        e = "%d" % err + (" (%s)" % ", ".join("%s: %d" % kv for kv in kinds.items())
                          if kinds else "")
        print("| %s | %d | %s | %.0f ms | %d / %d | %d / %d | %d / %d |"
              % (name, ans, e, gap * 1000, got[0], want[0], got[2], want[2], got[1], want[1]))
    print("drills: %d passed, %d failed" % (sum(1 for r in rows if r[7]),
                                           sum(1 for r in rows if not r[7])))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
