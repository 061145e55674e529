"""Operations and security end to end: API keys made by hisaab-admin and by the admin
endpoints, their roles at the endpoints, the legacy HISAAB_ADMIN_KEY, the audit log (its
grants tried for real against Postgres as the owner and as a member of hisaab_service,
and its paging), `hisaab-admin forget` and the retention rule.
"""
import hashlib
import hmac
import json
import os
import subprocess
import unittest

import harness

ADMIN = os.path.join(harness.BUILD, "hisaab-admin")
SECRET = "harness-test-secret"
LEGACY = "legacy-admin-token-0123456789"


def admin(svc, *args, check=True, env=None):
    p = subprocess.run([ADMIN] + list(args), env=svc.env(**(env or {})), capture_output=True,
                       text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError("hisaab-admin %s exited %d:\n%s%s" % (" ".join(args), p.returncode,
                                                                   p.stdout, p.stderr))
    return p


def phone_hash(e164, secret=SECRET):
    return hmac.new(secret.encode(), e164.encode(), hashlib.sha256).hexdigest()


def seal_key(secret):
    return hmac.new(secret.encode(), b"hisaab phone seal v1", hashlib.sha256).digest()


def seal(e164, secret):
    """channel/phone.h's phone_seal(): hex of nonce, AES-256-GCM ciphertext and tag."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    nonce = os.urandom(12)
    return (nonce + AESGCM(seal_key(secret)).encrypt(nonce, e164.encode(), None)).hex()


def unseal(sealed, secret):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    raw = bytes.fromhex(sealed)
    return AESGCM(seal_key(secret)).decrypt(raw[:12], raw[12:], None).decode()


class AdminTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.svc = harness.Services()
        harness.etl(cls.svc, "migrate")
        cls.srv = harness.HisaabServer(
            cls.svc, extra_hisaab="\tauth_refresh_seconds 1\n",
            env={"HISAAB_ADMIN_KEY": LEGACY}).start()
        cls.keys = {}
        for role in ("reader", "operator", "admin"):
            p = admin(cls.svc, "keys", "create", "--name", "test-" + role, "--role", role)
            cls.keys[role] = p.stdout.strip()
        # Every worker has read the new keys once this answers for each of them.
        for _ in range(8):
            harness.wait_for(lambda: cls.call("POST", "/api/v1/cache/invalidate",
                                              cls.keys["admin"])[0] == 200, timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.svc.close()

    @classmethod
    def call(cls, method, path, key=None, body=None, header="Authorization"):
        h = {}
        if key is not None:
            h[header] = ("Bearer " + key) if header == "Authorization" else key
        if body is not None:
            h["Content-Type"] = "application/json"
            body = json.dumps(body) if not isinstance(body, (bytes, str)) else body
        st, hdrs, raw = cls.srv.request(method, path, body=body, headers=h)
        try:
            doc = json.loads(raw)
        except ValueError:
            doc = None
        return st, {k.lower(): v for k, v in hdrs.items()}, doc

    def audit_rows(self, action):
        return self.svc.psql("SELECT key_id, role, target, source, result FROM audit_log "
                             "WHERE action = '%s' ORDER BY id" % action)

    def test_keys_are_stored_as_hashes_only(self):
        key = self.keys["reader"]
        self.assertRegex(key, r"^hk_[0-9a-f]{8}_[0-9a-f]{32}$")
        kid = key[3:11]
        rows = self.svc.psql("SELECT id, name, role, key_hash FROM api_keys WHERE id = '%s'" % kid)
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][1:3], ["test-reader", "reader"])
        want = hmac.new(SECRET.encode(), b"hisaab-api-key-v1:" + key.encode(),
                        hashlib.sha256).hexdigest()
        self.assertEqual(rows[0][3], want)
        dump = "\n".join("\t".join(r) for r in self.svc.psql("SELECT * FROM api_keys"))
        dump += "\n".join("\t".join(r) for r in self.svc.psql("SELECT * FROM audit_log"))
        for k in self.keys.values():
            self.assertNotIn(k[12:], dump)
        out = admin(self.svc, "keys", "list").stdout
        self.assertIn(kid, out)
        self.assertIn("test-reader", out)
        self.assertNotIn(rows[0][3], out)
        created = self.audit_rows("key.create")
        self.assertGreaterEqual(len(created), 3)
        self.assertEqual(created[0][3], "cli")
        self.assertTrue(created[0][0].startswith("cli:"))

    def test_roles_at_the_endpoints(self):
        st, _, doc = self.call("POST", "/api/v1/cache/invalidate")
        self.assertEqual(st, 401)
        self.assertEqual(doc["error"]["code"], "unauthorized")
        st, _, _ = self.call("POST", "/api/v1/cache/invalidate", "hk_00000000_" + "0" * 32)
        self.assertEqual(st, 401)
        # A real id with a wrong secret part.
        st, _, _ = self.call("POST", "/api/v1/cache/invalidate", self.keys["operator"][:-1] +
                             ("0" if self.keys["operator"][-1] != "0" else "1"))
        self.assertEqual(st, 401)
        st, _, doc = self.call("POST", "/api/v1/cache/invalidate", self.keys["reader"])
        self.assertEqual(st, 403)
        self.assertEqual(doc["error"]["code"], "forbidden")
        st, h, doc = self.call("POST", "/api/v1/cache/invalidate", self.keys["operator"])
        self.assertEqual(st, 200, doc)
        # Counted under the key's budget, not the address's.
        self.assertEqual(h.get("ratelimit-limit"), "1000")
        st, h, _ = self.call("POST", "/api/v1/cache/invalidate", LEGACY)
        self.assertEqual(h.get("ratelimit-limit"), "100")
        st, _, _ = self.call("GET", "/api/v1/admin/keys", self.keys["operator"])
        self.assertEqual(st, 403)
        st, _, doc = self.call("GET", "/api/v1/admin/queues", self.keys["operator"])
        self.assertEqual(st, 200, doc)
        self.assertEqual(doc["data"]["callbacks_queued"], int(self.svc.psql1(
            "SELECT count(*) FROM voice_callbacks WHERE state = 'queued'")))
        self.assertEqual(doc["data"]["sms_outbox_pending"], int(self.svc.psql1(
            "SELECT count(*) FROM sms_outbox WHERE status = 'pending'")))
        st, _, _ = self.call("GET", "/api/v1/admin/queues", self.keys["reader"])
        self.assertEqual(st, 403)
        rid = self.keys["reader"][3:11]
        oid = self.keys["operator"][3:11]
        rows = harness.wait_for(lambda: [r for r in self.audit_rows("cache.invalidate")
                                         if r[0] in (rid, oid)])
        self.assertIn([rid, "reader", "", "127.0.0.0/24", "denied"], rows)
        self.assertTrue(any(r[0] == oid and r[1] == "operator" and r[4].startswith("ok")
                            for r in rows), rows)

    def test_reader_key_gets_the_key_limit(self):
        st, h, _ = self.call("GET", "/api/v1/states", self.keys["reader"], header="X-API-Key")
        self.assertIn(st, (200, 503))
        self.assertEqual(h.get("ratelimit-limit"), "1000")
        st, _, doc = self.call("GET", "/api/v1/states", "hk_1234abcd_" + "f" * 32,
                               header="X-API-Key")
        self.assertEqual(st, 401)
        self.assertEqual(doc["error"]["code"], "invalid_api_key")

    def test_keys_through_the_api(self):
        st, _, doc = self.call("POST", "/api/v1/admin/keys", self.keys["admin"],
                               {"name": "partner-bot", "role": "operator"})
        self.assertEqual(st, 201, doc)
        key, kid = doc["data"]["key"], doc["data"]["id"]
        self.assertEqual(key[3:11], kid)
        self.assertEqual(harness.wait_for(
            lambda: self.call("POST", "/api/v1/cache/invalidate", key)[0] == 200
            and self.call("POST", "/api/v1/cache/invalidate", key)[0] == 200), True)
        st, _, doc = self.call("GET", "/api/v1/admin/keys", self.keys["admin"])
        self.assertEqual(st, 200)
        listed = {k["id"]: k for k in doc["data"]["keys"]}
        self.assertEqual(listed[kid]["role"], "operator")
        self.assertIsNone(listed[kid]["revoked_at"])
        self.assertNotIn("key_hash", listed[kid])
        self.assertNotIn(key, json.dumps(doc))
        for bad in ({"name": "x", "role": "root"}, {"name": "Bad Name", "role": "reader"},
                    {"role": "reader"}, "not json"):
            st, _, doc = self.call("POST", "/api/v1/admin/keys", self.keys["admin"], bad)
            self.assertEqual(st, 400, bad)
            self.assertEqual(doc["error"]["code"], "bad_parameter")
        st, _, _ = self.call("POST", "/api/v1/admin/keys", self.keys["operator"],
                             {"name": "y", "role": "admin"})
        self.assertEqual(st, 403)
        st, _, doc = self.call("DELETE", "/api/v1/admin/keys/" + kid, self.keys["admin"])
        self.assertEqual(st, 200, doc)
        self.assertTrue(doc["data"]["revoked"])
        # Every worker forgets it (this one at once, the other by Redis or its timer).
        self.assertTrue(harness.wait_for(lambda: all(
            self.call("POST", "/api/v1/cache/invalidate", key)[0] == 401 for _ in range(6))))
        st, _, doc = self.call("DELETE", "/api/v1/admin/keys/" + kid, self.keys["admin"])
        self.assertEqual(st, 404)
        st, _, _ = self.call("DELETE", "/api/v1/admin/keys/zzzz", self.keys["admin"])
        self.assertEqual(st, 404)
        rows = self.audit_rows("key.revoke")
        self.assertIn([self.keys["admin"][3:11], "admin", "key:" + kid, "127.0.0.0/24", "ok"],
                      rows)
        self.assertIn([self.keys["admin"][3:11], "admin", "key:" + kid, "127.0.0.0/24",
                       "not_found"], rows)

    def test_cli_revoke(self):
        p = admin(self.svc, "keys", "create", "--name", "short-lived", "--role", "operator")
        key = p.stdout.strip()
        self.assertTrue(harness.wait_for(lambda: all(
            self.call("POST", "/api/v1/cache/invalidate", key)[0] == 200 for _ in range(4))))
        admin(self.svc, "keys", "revoke", key[3:11])
        self.assertTrue(harness.wait_for(lambda: all(
            self.call("POST", "/api/v1/cache/invalidate", key)[0] == 401 for _ in range(4)),
            timeout=5))
        self.assertEqual(admin(self.svc, "keys", "revoke", key[3:11], check=False).returncode, 4)
        p = admin(self.svc, "keys", "create", "--name", "x", "--role", "god", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, "")
        self.assertEqual(admin(self.svc, "keys", "frobnicate", check=False).returncode, 2)

    def test_legacy_token_is_deprecated(self):
        st, h, doc = self.call("POST", "/api/v1/cache/invalidate", LEGACY)
        self.assertEqual(st, 200, doc)
        self.assertEqual(h.get("deprecation"), "true")
        self.assertTrue(harness.wait_for(lambda: "deprecated" in self.srv.stderr()))
        self.assertNotIn(LEGACY, self.srv.stderr())
        self.assertTrue(harness.wait_for(
            lambda: ["legacy", "admin", "api-cache", "127.0.0.0/24"] in
            [r[:4] for r in self.audit_rows("cache.invalidate")]))

    def test_audit_pages(self):
        for _ in range(3):
            self.assertEqual(self.call("POST", "/api/v1/cache/invalidate",
                                       self.keys["admin"])[0], 200)
        total = int(harness.wait_for(lambda: int(self.svc.psql1(
            "SELECT count(*) FROM audit_log")) >= 6 and self.svc.psql1(
            "SELECT count(*) FROM audit_log")))
        seen, before = [], None
        while True:
            path = "/api/v1/admin/audit?limit=2" + ("&before=%d" % before if before else "")
            st, _, doc = self.call("GET", path, self.keys["admin"])
            self.assertEqual(st, 200, doc)
            seen += doc["data"]["entries"]
            before = doc["data"]["next_before"]
            if before is None:
                break
            self.assertLessEqual(len(seen), total + 10)
        ids = [e["id"] for e in seen]
        self.assertEqual(ids, sorted(ids, reverse=True))
        self.assertGreaterEqual(len(ids), total)
        self.assertEqual(len(set(ids)), len(ids))
        e = seen[-1]
        self.assertEqual(set(e), {"id", "at", "key_id", "role", "action", "target", "source",
                                  "result"})
        for bad in ("limit=abc", "limit=0", "limit=999", "before=-1"):
            st, _, doc = self.call("GET", "/api/v1/admin/audit?" + bad, self.keys["admin"])
            self.assertEqual(st, 400, bad)
        self.assertEqual(self.call("GET", "/api/v1/admin/audit", self.keys["operator"])[0], 403)
        self.assertEqual(self.call("GET", "/api/v1/admin/audit")[0], 401)

    def test_audit_log_is_append_only(self):
        # The owner (the migrating role) is stopped by the trigger.
        for sql in ("UPDATE audit_log SET result = 'x'", "DELETE FROM audit_log",
                    "TRUNCATE audit_log"):
            p = subprocess.run(["psql", self.svc.dsn, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                               capture_output=True, text=True)
            self.assertNotEqual(p.returncode, 0, sql)
            self.assertIn("append-only", p.stderr)
        # A login role in hisaab_service, as the service should run, lacks the grant.
        self.svc.psql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
                      "'hisaab_app') THEN CREATE ROLE hisaab_app LOGIN IN ROLE hisaab_service; "
                      "END IF; END $$")
        dsn = self.svc.dsn.replace("postgres@", "hisaab_app@")

        def as_app(sql):
            return subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                                  capture_output=True, text=True)

        p = as_app("INSERT INTO audit_log (key_id, role, action, source, result) "
                   "VALUES ('t', 'admin', 'grant.test', 'test', 'ok') RETURNING id")
        self.assertEqual(p.returncode, 0, p.stderr)
        for sql in ("UPDATE audit_log SET result = 'x'", "DELETE FROM audit_log",
                    "TRUNCATE audit_log"):
            p = as_app(sql)
            self.assertNotEqual(p.returncode, 0, sql)
            self.assertIn("permission denied", p.stderr)
        self.assertEqual(as_app("SELECT count(*) FROM audit_log").returncode, 0)
        # ... while the rest stays writable for it.
        p = as_app("INSERT INTO sms_messages (direction, gateway, phone_hash, text) VALUES "
                   "('in', 'grant-test', 'x', 'x'); DELETE FROM sms_messages WHERE "
                   "gateway = 'grant-test'")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM audit_log WHERE action = "
                                        "'grant.test'"), "1")

    def insert_person(self, h, calls):
        """One row in every table that keeps a phone hash, for hash h."""
        self.svc.psql(
            "INSERT INTO sms_messages (direction, gateway, phone_hash, text) VALUES "
            "('in', 'kannel', '{h}', 'NREGA Niwari'), ('out', 'kannel', '{h}', 'reply');"
            "INSERT INTO sms_subscriptions (phone, phone_hash, state_code, district_code) "
            "VALUES ('+91', '{h}', 17, 1752);"
            "INSERT INTO sms_outbox (phone_hash, phone, district_code, fin_year, month, lang, "
            "text) VALUES ('{h}', '+91', 1752, '2024-2025', 12, 'en', 't');"
            "INSERT INTO callers (phone_hash, lang) VALUES ('{h}', 'hi');"
            "INSERT INTO voice_calls (provider, call_id, phone_hash) VALUES ('twilio', '{c}', '{h}');"
            "INSERT INTO voice_steps (provider, call_id, step, at, direction, phone_hash, stage) "
            "VALUES ('twilio', '{c}', 1, now(), 'in', '{h}', 'start'),"
            " ('twilio', '{c}', 2, now(), 'in', NULL, 'lang');"
            "INSERT INTO voice_callbacks (provider, trigger_gateway, trigger_id, phone_hash, "
            "requested_at, due_at) VALUES ('twilio', 'twilio', '{c}', '{h}', now(), now());"
            "INSERT INTO ussd_sessions (session_hash, gateway, phone_hash, started_at, last_at, "
            "steps, last_step) VALUES ('s{c}', 'at', '{h}', now(), now(), 2, 2);"
            "INSERT INTO ussd_steps (session_hash, step, at, gateway, phone_hash, screen, shown, "
            "ended) VALUES ('s{c}', 1, now(), 'at', '{h}', 'start', 'main', false),"
            " ('s{c}', 2, now(), 'at', NULL, 'main', 'end', true)".format(h=h, c=calls))

    TABLES = ("sms_messages", "sms_subscriptions", "sms_outbox", "callers", "voice_calls",
              "voice_callbacks", "ussd_sessions")

    def count_for(self, h):
        n = {t: int(self.svc.psql1("SELECT count(*) FROM %s WHERE phone_hash = '%s'" % (t, h)))
             for t in self.TABLES}
        return n

    def test_forget_one_person(self):
        me, other = phone_hash("+919876543210"), phone_hash("+919811122233")
        self.insert_person(me, "CA-me")
        self.insert_person(other, "CA-other")
        before_other = self.count_for(other)
        self.svc.redis.cli("HSET", "hisaab:caller:" + me, "lang", "hi")
        self.svc.redis.cli("HSET", "hisaab:caller:" + other, "lang", "en")
        p = admin(self.svc, "forget", "098765 43210")
        self.assertRegex(p.stdout, r"redis caller +1")
        self.assertEqual(self.svc.redis.cli("EXISTS", "hisaab:caller:" + me), "0")
        self.assertEqual(self.svc.redis.cli("EXISTS", "hisaab:caller:" + other), "1")
        self.assertIn("forgotten: 12 rows", p.stdout)
        for t in self.TABLES + ("voice_steps", "ussd_steps"):
            self.assertIn(t, p.stdout)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM voice_steps WHERE call_id = "
                                        "'CA-me'"), "0")
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM ussd_steps WHERE session_hash = "
                                        "'sCA-me'"), "0")
        self.assertTrue(all(v == 0 for v in self.count_for(me).values()), self.count_for(me))
        self.assertEqual(self.count_for(other), before_other)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM ussd_steps WHERE session_hash = "
                                        "'sCA-other'"), "2")
        rows = self.audit_rows("subscriber.forget")
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][4], "ok: 12 rows")
        log = "\n".join("\t".join(r) for r in self.svc.psql("SELECT * FROM audit_log"))
        self.assertNotIn(me, log)
        self.assertNotIn("9876543210", log)
        p = admin(self.svc, "forget", "not-a-number", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a phone number", p.stderr)
        admin(self.svc, "forget", "+919811122233")

    def test_retention_rule(self):
        h = phone_hash("+919700000001")
        self.svc.psql(
            "INSERT INTO sms_messages (at, direction, gateway, phone_hash, text) VALUES "
            "(now() - interval '13 months', 'in', 'ret', '{h}', 'old'),"
            "(now() - interval '11 months', 'in', 'ret', '{h}', 'new');"
            "INSERT INTO ussd_steps (session_hash, step, at, gateway, phone_hash, screen, shown, "
            "ended) VALUES ('ret-old', 1, now() - interval '13 months', 'at', '{h}', 's', 'm', "
            "true), ('ret-new', 1, now(), 'at', '{h}', 's', 'm', true);"
            "INSERT INTO voice_callbacks (provider, trigger_gateway, trigger_id, phone_hash, "
            "requested_at, due_at, state, finished_at) VALUES "
            "('twilio', 'ret', 'old-done', '{h}', now() - interval '14 months', now(), 'done', "
            "now() - interval '14 months'),"
            "('twilio', 'ret', 'old-queued', '{h}', now() - interval '14 months', now(), "
            "'queued', NULL)".format(h=h))
        p = harness.etl(self.svc, "maintain")
        self.assertIn("journal retention 12 months", p.stdout + p.stderr)
        self.assertEqual(self.svc.psql("SELECT text FROM sms_messages WHERE gateway = 'ret'"),
                         [["new"]])
        self.assertEqual(self.svc.psql("SELECT session_hash FROM ussd_steps WHERE session_hash "
                                       "LIKE 'ret-%'"), [["ret-new"]])
        # A callback still waiting is not history.
        self.assertEqual(self.svc.psql("SELECT trigger_id FROM voice_callbacks WHERE "
                                       "trigger_gateway = 'ret'"), [["old-queued"]])
        rows = self.audit_rows("journal.retention")
        self.assertEqual(rows[-1][2], "older than 12 months")
        p = admin(self.svc, "retention", "--months", "1")
        self.assertIn("deleted:", p.stdout)
        self.assertEqual(self.svc.psql1("SELECT count(*) FROM sms_messages WHERE gateway = "
                                        "'ret'"), "0")
        self.assertEqual(admin(self.svc, "retention", "--months", "0", check=False).returncode, 2)

    def test_rehash_after_rotation(self):
        num = "+919812300001"
        self.svc.psql(
            "INSERT INTO sms_subscriptions (phone, phone_hash, state_code, district_code) VALUES "
            "('{n}', '{h}', 17, 1752);"
            "INSERT INTO sms_outbox (phone_hash, phone, district_code, fin_year, month, lang, "
            "text) VALUES ('{h}', '{n}', 1752, '2024-2025', 11, 'en', 't');"
            "INSERT INTO voice_callbacks (provider, trigger_gateway, trigger_id, phone_hash, "
            "phone_sealed, requested_at, due_at) VALUES ('twilio', 'rehash', 'r1', '{h}', '{s}', "
            "now(), now() + interval '1 day')".format(n=num, h=phone_hash(num), s=seal(num, SECRET)))
        new = "the-rotated-secret-2027"
        p = admin(self.svc, "rehash", env={"HISAAB_SECRET": new, "HISAAB_SECRET_OLD": SECRET})
        self.assertIn("rehashed:", p.stdout)
        self.assertEqual(self.svc.psql1("SELECT phone_hash FROM sms_subscriptions WHERE phone = "
                                        "'%s'" % num), phone_hash(num, new))
        self.assertEqual(self.svc.psql1("SELECT phone_hash FROM sms_outbox WHERE phone = '%s'"
                                        % num), phone_hash(num, new))
        h, sealed = self.svc.psql("SELECT phone_hash, phone_sealed FROM voice_callbacks WHERE "
                                  "trigger_id = 'r1'")[0]
        self.assertEqual(h, phone_hash(num, new))
        self.assertEqual(unseal(sealed, new), num)
        self.assertEqual(self.audit_rows("secret.rehash")[-1][2],
                         "subscriptions, outbox, callbacks")
        # A wrong old secret changes nothing: one transaction.
        p = admin(self.svc, "rehash", check=False,
                  env={"HISAAB_SECRET": SECRET, "HISAAB_SECRET_OLD": "not-the-old-one"})
        self.assertEqual(p.returncode, 1)
        self.assertIn("does not open", p.stderr)
        self.assertEqual(self.svc.psql1("SELECT phone_hash FROM sms_subscriptions WHERE phone = "
                                        "'%s'" % num), phone_hash(num, new))
        # And back, for the other tests.
        admin(self.svc, "rehash", env={"HISAAB_SECRET": SECRET, "HISAAB_SECRET_OLD": new})
        self.assertEqual(self.svc.psql1("SELECT phone_hash FROM voice_callbacks WHERE trigger_id "
                                        "= 'r1'"), phone_hash(num))
        self.svc.psql("DELETE FROM voice_callbacks WHERE trigger_gateway = 'rehash'")

    def test_etl_runs_are_audited(self):
        harness.etl(self.svc, "run", "--source", harness.SAMPLE + "?api-key=abc", "--format",
                    "csv", check=False)
        rows = self.audit_rows("etl.run")
        self.assertGreaterEqual(len(rows), 2)
        self.assertEqual(rows[-2][4], "started")
        self.assertIn(rows[-1][4], ("ok", "failed"))
        self.assertEqual(rows[-1][2], harness.SAMPLE)
        self.assertTrue(rows[-1][0].startswith("cli:"))

    def metrics(self):
        import re
        st, _, body = self.srv.get("/metrics")
        self.assertEqual(st, 200)
        return {m.group(1): float(m.group(2)) for m in re.finditer(
            r"(?m)^(hisaab_[a-z0-9_]+(?:\{[^}]*\})?) (-?[0-9.e+]+)$", body.decode())}

    def test_operations_gauges(self):
        self.svc.psql("INSERT INTO voice_callbacks (provider, trigger_gateway, trigger_id, "
                      "phone_hash, requested_at, due_at, state, finished_at, duration_s) VALUES "
                      "('twilio', 'gauge', 'g1', 'x', now(), now(), 'done', now(), 125),"
                      "('twilio', 'gauge', 'g2', 'x', now(), now() - interval '1 hour', "
                      "'queued', NULL, NULL)")
        m = self.metrics()
        self.assertEqual(m["hisaab_postgres_up"], 1)
        self.assertEqual(m["hisaab_redis_up"], 1)
        self.assertEqual(m["hisaab_data_max_age_seconds"], 2160 * 3600)
        self.assertEqual(m["hisaab_journal_queue_max"], 200000)
        self.assertEqual(m["hisaab_call_minutes_daily_cap"], 600)
        self.assertNotIn("hisaab_data_age_seconds", m)  # nothing loaded yet
        q = lambda sql: int(self.svc.psql1(sql))
        self.assertEqual(m["hisaab_callbacks_queued"],
                         q("SELECT count(*) FROM voice_callbacks WHERE state = 'queued'"))
        self.assertGreaterEqual(m["hisaab_callbacks_overdue"], 1)
        self.assertEqual(m["hisaab_call_minutes_today"], -(-q(
            "SELECT sum(duration_s) FROM voice_callbacks WHERE state = 'done' AND "
            "finished_at > now() - interval '1 hour'") // 60))
        self.assertGreaterEqual(m['hisaab_voice_callbacks_finished_1h{result="ok"}'], 1)
        self.svc.psql("DELETE FROM voice_callbacks WHERE trigger_gateway = 'gauge'")
        harness.etl(self.svc, "run", "--source", harness.SAMPLE, "--format", "csv")
        m = self.metrics()
        self.assertLess(m["hisaab_data_age_seconds"], 600)
        self.assertGreaterEqual(m["hisaab_data_age_seconds"], 0)


if __name__ == "__main__":
    unittest.main()
