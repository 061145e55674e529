/*
 * API keys, roles and the audit log in the server; see api_auth.h.
 */
#include "api/api_auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "api/api_limit.h"
#include "api/api_reply.h"
#include "backend/pg.h"
#include "backend/rds.h"
#include "core/apikey_sql.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/journal.h"
#include "net/config.h"
#include "net/http.h"

/* Redis channel that tells every worker to reread the keys. */
#define KEYS_CHANNEL "hisaab:keys-changed"
/* Most live keys a worker holds; more are refused at load with a warning. */
#define AUTH_MAX_KEYS 4096
/* Audit pages. */
#define AUDIT_PAGE_DEFAULT 50
#define AUDIT_PAGE_MAX 200

struct live_key {
    char id[APIKEY_ID_MAX];
    enum apikey_role role;
    char hash[APIKEY_HASH_HEX];
};

static struct {
    char legacy[80]; /* HISAAB_ADMIN_KEY, "" = none */
    char *secret;
    struct live_key *keys;
    size_t nkeys;
    int loaded;  /* the keys were read at least once */
    int loading; /* a read is in flight */
    struct event *timer;
} au;

/* ---- the table of live keys ---------------------------------------------------------- */

static void keys_read(void *arg, const PGresult *res, const char *err)
{
    struct live_key *k;
    size_t i, n;

    (void)arg;
    au.loading = 0;
    if (res == NULL) {
        log_warn("auth: API keys not reread (%s); keeping %zu", err != NULL ? err : "?", au.nkeys);
        return;
    }
    n = (size_t)PQntuples(res);
    if (n > AUTH_MAX_KEYS) {
        log_warn("auth: %zu live API keys; only the first %d are used", n, AUTH_MAX_KEYS);
        n = AUTH_MAX_KEYS;
    }
    k = n > 0 ? xcalloc(n, sizeof(*k)) : NULL;
    for (i = 0; i < n; i++) {
        snprintf(k[i].id, sizeof(k[i].id), "%s", PQgetvalue(res, (int)i, 0));
        k[i].role = apikey_role_parse(PQgetvalue(res, (int)i, 1));
        snprintf(k[i].hash, sizeof(k[i].hash), "%s", PQgetvalue(res, (int)i, 2));
    }
    free(au.keys);
    au.keys = k;
    au.nkeys = n;
    au.loaded = 1;
}

static void keys_reload(void)
{
    if (au.loading)
        return;
    au.loading = 1;
    if (pg_query("SELECT id, role, key_hash FROM api_keys WHERE revoked_at IS NULL ORDER BY id", 0,
                 NULL, keys_read, NULL) != 0)
        au.loading = 0;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    keys_reload();
}

static void on_keys_msg(void *arg, const char *msg, size_t len)
{
    (void)arg;
    (void)msg;
    (void)len;
    keys_reload();
}

int api_auth_lookup(const char *key, struct api_identity *who)
{
    char id[APIKEY_ID_MAX], hash[APIKEY_HASH_HEX];
    size_t i;

    if (!apikey_parse(key, id))
        return 0;
    if (!au.loaded)
        return -1;
    for (i = 0; i < au.nkeys; i++) {
        if (strcmp(au.keys[i].id, id) != 0)
            continue;
        if (au.secret == NULL || apikey_hash(au.secret, strlen(au.secret), key, hash) != 0 ||
            !apikey_hash_eq(hash, au.keys[i].hash) || au.keys[i].role == APIKEY_NONE)
            return 0;
        snprintf(who->key_id, sizeof(who->key_id), "%s", id);
        who->role = au.keys[i].role;
        return 1;
    }
    return 0;
}

/* ---- checks and audit ---------------------------------------------------------------- */

const char *api_auth_bearer(struct http_request *req)
{
    const char *auth = http_header(req, "Authorization");

    if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
        return NULL;
    auth += 7;
    while (*auth == ' ')
        auth++;
    return auth;
}

/* The key a request presents: the Bearer token, else X-API-Key; NULL when none. */
static const char *presented(struct http_request *req)
{
    const char *bearer = api_auth_bearer(req);

    return bearer != NULL ? bearer : http_header(req, "X-API-Key");
}

static int is_legacy(const char *key)
{
    size_t n = strlen(au.legacy);

    return n > 0 && strlen(key) == n && CRYPTO_memcmp(key, au.legacy, n) == 0;
}

static void audit_done(void *arg, const PGresult *res, const char *err)
{
    char *line = arg;

    if (res == NULL)
        log_error("audit: row not written (%s): %s", err != NULL ? err : "?", line);
    free(line);
}

void api_auth_audit(struct http_request *req, const struct api_identity *who, const char *action,
                    const char *target, const char *result)
{
    char source[APIKEY_SOURCE_MAX], line[256];
    const char *p[6];

    apikey_source(http_peer(req), source, sizeof(source));
    p[0] = who->key_id;
    p[1] = apikey_role_name(who->role);
    p[2] = action;
    p[3] = target;
    p[4] = source;
    p[5] = result;
    snprintf(line, sizeof(line), "key=%s role=%s action=%s target=%s source=%s result=%s", p[0],
             p[1], action, target != NULL ? target : "-", source, result);
    if (pg_query(APIKEY_SQL_AUDIT, 6, p, audit_done, xstrdup(line)) != 0)
        log_error("audit: row not written (no database): %s", line);
}

int api_auth_require(struct http_request *req, enum apikey_role min, const char *action,
                     struct api_identity *who)
{
    const char *key = presented(req);
    int r;

    memset(who, 0, sizeof(*who));
    if (key != NULL && is_legacy(key)) {
        snprintf(who->key_id, sizeof(who->key_id), "legacy");
        who->role = APIKEY_ADMIN;
        http_add_header(req, "Deprecation", "true");
        log_warn("auth: HISAAB_ADMIN_KEY used for %s; it is deprecated: make a key with "
                 "hisaab-admin keys create",
                 action);
        r = 1;
    } else {
        r = key != NULL ? api_auth_lookup(key, who) : 0;
    }
    if (r < 0) {
        http_add_header(req, "Retry-After", "2");
        http_reply_error(req, 503, "database_unavailable",
                         "Keys cannot be checked right now; try again shortly.");
        return 0;
    }
    if (r == 0) {
        http_add_header(req, "WWW-Authenticate", "Bearer");
        http_reply_error(req, 401, "unauthorized", "A valid key is required.");
        return 0;
    }
    if (who->role < min) {
        api_auth_audit(req, who, action, NULL, "denied");
        http_reply_error(req, 403, "forbidden", "This key's role does not allow this.");
        return 0;
    }
    http_add_header(req, "Cache-Control", "no-store");
    return 1;
}

/* ---- handlers ------------------------------------------------------------------------ */

static void reply_data(struct http_request *req, int status, json_t *data)
{
    char ts[32];

    api_now_iso(ts, sizeof(ts));
    http_reply_json(req, status,
                    json_pack("{s:s, s:o, s:s, s:b, s:s}", "status", "ok", "data", data,
                              "timestamp", ts, "cached", 0, "version", API_VERSION));
}

static void db_failed(struct http_request *req, const char *what, const char *err)
{
    log_warn("auth: %s: %s", what, err != NULL ? err : "?");
    api_reply_unavailable(req);
}

/* A text column or JSON null. */
static json_t *col(const PGresult *res, int row, int c)
{
    return PQgetisnull(res, row, c) ? json_null() : json_string(PQgetvalue(res, row, c));
}

static void list_done(void *arg, const PGresult *res, const char *err)
{
    struct http_request *req = arg;
    json_t *keys;
    int i;

    if (res == NULL) {
        db_failed(req, "keys not listed", err);
        return;
    }
    keys = json_array();
    for (i = 0; i < PQntuples(res); i++)
        json_array_append_new(
            keys, json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "id", col(res, i, 0), "name",
                            col(res, i, 1), "role", col(res, i, 2), "created_at", col(res, i, 3),
                            "created_by", col(res, i, 4), "revoked_at", col(res, i, 5)));
    reply_data(req, 200, json_pack("{s:o}", "keys", keys));
}

#define ISO(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static void keys_list(struct http_request *req)
{
    struct api_identity who;

    if (!api_auth_require(req, APIKEY_ADMIN, "key.list", &who))
        return;
    if (pg_query("SELECT id, name, role, " ISO("created_at") ", created_by, " ISO(
                     "revoked_at") " FROM api_keys ORDER BY created_at, id",
                 0, NULL, list_done, req) != 0)
        api_reply_unavailable(req);
}

struct change {
    struct http_request *req;
    struct api_identity who;
    char id[APIKEY_ID_MAX];
    char key[APIKEY_LEN];
    char name[40];
    char role[16];
};

static void published(void *arg, const redisReply *reply, const char *err)
{
    (void)arg;
    (void)reply;
    (void)err;
}

/* Every worker rereads the keys: this one now, the others when Redis tells them. */
static void keys_changed(void)
{
    keys_reload();
    if (rds_is_up() && rds_command(published, NULL, "PUBLISH %s 1", KEYS_CHANNEL) != 0)
        log_debug("auth: key change not published; workers reread on their timer");
}

static void created(void *arg, const PGresult *res, const char *err)
{
    struct change *c = arg;

    if (res == NULL || PQntuples(res) != 1) {
        db_failed(c->req, "key not created", err);
    } else {
        log_info("auth: key %s (%s) created by %s", c->id, c->role, c->who.key_id);
        keys_changed();
        reply_data(c->req, 201,
                   json_pack("{s:s, s:s, s:s, s:s}", "id", c->id, "key", c->key, "name", c->name,
                             "role", c->role));
    }
    OPENSSL_cleanse(c->key, sizeof(c->key));
    free(c);
}

static void keys_create(struct http_request *req)
{
    struct api_identity who;
    struct slice body;
    struct change *c;
    json_t *doc = NULL;
    const char *name, *role, *p[7];
    char hash[APIKEY_HASH_HEX], source[APIKEY_SOURCE_MAX];

    if (!api_auth_require(req, APIKEY_ADMIN, "key.create", &who))
        return;
    body = http_body(req);
    doc = json_loadb(body.ptr, body.len, JSON_REJECT_DUPLICATES, NULL);
    name = json_string_value(json_object_get(doc, "name"));
    role = json_string_value(json_object_get(doc, "role"));
    if (!apikey_name_ok(name)) {
        api_reply_bad_param(req, "name");
        goto out;
    }
    if (apikey_role_parse(role) == APIKEY_NONE) {
        api_reply_bad_param(req, "role");
        goto out;
    }
    c = xcalloc(1, sizeof(*c));
    c->req = req;
    c->who = who;
    snprintf(c->name, sizeof(c->name), "%s", name);
    snprintf(c->role, sizeof(c->role), "%s", role);
    if (au.secret == NULL || apikey_generate(c->key, c->id) != 0 ||
        apikey_hash(au.secret, strlen(au.secret), c->key, hash) != 0) {
        free(c);
        http_reply_error(req, 500, "internal", "A key could not be made.");
        goto out;
    }
    apikey_source(http_peer(req), source, sizeof(source));
    p[0] = c->id;
    p[1] = c->name;
    p[2] = c->role;
    p[3] = hash;
    p[4] = who.key_id;
    p[5] = apikey_role_name(who.role);
    p[6] = source;
    if (pg_query(APIKEY_SQL_CREATE, 7, p, created, c) != 0) {
        OPENSSL_cleanse(c->key, sizeof(c->key));
        free(c);
        api_reply_unavailable(req);
    }
out:
    json_decref(doc);
}

void api_admin_keys(struct http_request *req)
{
    api_limit_run(req, http_method(req) == CFG_METHOD_POST ? keys_create : keys_list);
}

static void revoked(void *arg, const PGresult *res, const char *err)
{
    struct change *c = arg;

    if (res == NULL) {
        db_failed(c->req, "key not revoked", err);
    } else if (strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
        api_reply_not_found(c->req, "unknown_key");
    } else {
        log_info("auth: key %s revoked by %s", c->id, c->who.key_id);
        keys_changed();
        reply_data(c->req, 200, json_pack("{s:s, s:b}", "id", c->id, "revoked", 1));
    }
    free(c);
}

static void key_revoke(struct http_request *req)
{
    struct api_identity who;
    struct change *c;
    const char *path = http_path(req), *id;
    char source[APIKEY_SOURCE_MAX];
    const char *p[4];

    if (!api_auth_require(req, APIKEY_ADMIN, "key.revoke", &who))
        return;
    id = strrchr(path, '/');
    if (id == NULL || strlen(id + 1) != APIKEY_ID_HEX) {
        api_reply_bad_param(req, "id");
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->req = req;
    c->who = who;
    snprintf(c->id, sizeof(c->id), "%s", id + 1);
    apikey_source(http_peer(req), source, sizeof(source));
    p[0] = c->id;
    p[1] = who.key_id;
    p[2] = apikey_role_name(who.role);
    p[3] = source;
    if (pg_query(APIKEY_SQL_REVOKE, 4, p, revoked, c) != 0) {
        free(c);
        api_reply_unavailable(req);
    }
}

void api_admin_key(struct http_request *req)
{
    api_limit_run(req, key_revoke);
}

struct page {
    struct http_request *req;
    int limit;
};

static void audit_read(void *arg, const PGresult *res, const char *err)
{
    struct page *pg = arg;
    json_t *rows, *next = json_null();
    int i, n;

    if (res == NULL) {
        db_failed(pg->req, "audit not read", err);
        free(pg);
        return;
    }
    rows = json_array();
    n = PQntuples(res);
    for (i = 0; i < n; i++)
        json_array_append_new(rows, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
                                              (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                              "at", col(res, i, 1), "key_id", col(res, i, 2),
                                              "role", col(res, i, 3), "action", col(res, i, 4),
                                              "target", col(res, i, 5), "source", col(res, i, 6),
                                              "result", col(res, i, 7)));
    if (n == pg->limit && n > 0) {
        json_decref(next);
        next = json_integer((json_int_t)strtoll(PQgetvalue(res, n - 1, 0), NULL, 10));
    }
    reply_data(pg->req, 200, json_pack("{s:o, s:o}", "entries", rows, "next_before", next));
    free(pg);
}

/* A parameter as a number in min..max; def when absent; -1 when malformed. */
static long long param_num(struct http_request *req, const char *name, long long min, long long max,
                           long long def)
{
    const char *s = http_param(req, name);
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return def;
    errno = 0;
    v = strtoll(s, &end, 10);
    return errno != 0 || *end != '\0' || v < min || v > max ? -1 : v;
}

static void audit_page(struct http_request *req)
{
    struct api_identity who;
    struct page *pg;
    long long before, limit;
    char b[24], l[24];
    const char *p[2] = {NULL, l};

    if (!api_auth_require(req, APIKEY_ADMIN, "audit.read", &who))
        return;
    before = param_num(req, "before", 1, 9000000000000000000LL, 0);
    limit = param_num(req, "limit", 1, AUDIT_PAGE_MAX, AUDIT_PAGE_DEFAULT);
    if (before < 0) {
        api_reply_bad_param(req, "before");
        return;
    }
    if (limit < 0) {
        api_reply_bad_param(req, "limit");
        return;
    }
    if (before > 0) {
        snprintf(b, sizeof(b), "%lld", before);
        p[0] = b;
    }
    snprintf(l, sizeof(l), "%lld", limit);
    pg = xcalloc(1, sizeof(*pg));
    pg->req = req;
    pg->limit = (int)limit;
    if (pg_query("SELECT id, " ISO("at") ", key_id, role, action, target, source, result"
                                         " FROM audit_log WHERE ($1::bigint IS NULL OR id < $1)"
                                         " ORDER BY id DESC LIMIT $2::int",
                 2, p, audit_read, pg) != 0) {
        free(pg);
        api_reply_unavailable(req);
    }
}

void api_admin_audit(struct http_request *req)
{
    api_limit_run(req, audit_page);
}

static void queues_read(void *arg, const PGresult *res, const char *err)
{
    struct http_request *req = arg;

    if (res == NULL) {
        db_failed(req, "queues not read", err);
        return;
    }
    reply_data(req, 200,
               json_pack("{s:I, s:I, s:I, s:I}", "journal_queued_this_worker",
                         (json_int_t)journal_queued(), "callbacks_queued",
                         (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10), "callbacks_overdue",
                         (json_int_t)strtoll(PQgetvalue(res, 0, 1), NULL, 10), "sms_outbox_pending",
                         (json_int_t)strtoll(PQgetvalue(res, 0, 2), NULL, 10)));
}

static void queues(struct http_request *req)
{
    struct api_identity who;

    if (!api_auth_require(req, APIKEY_OPERATOR, "queues.read", &who))
        return;
    if (pg_query("SELECT (SELECT count(*) FROM voice_callbacks WHERE state = 'queued'),"
                 " (SELECT count(*) FROM voice_callbacks WHERE state = 'queued'"
                 "  AND due_at < now() - interval '5 minutes'),"
                 " (SELECT count(*) FROM sms_outbox WHERE status = 'pending')",
                 0, NULL, queues_read, req) != 0)
        api_reply_unavailable(req);
}

void api_admin_queues(struct http_request *req)
{
    api_limit_run(req, queues);
}

/* ---- start and stop ------------------------------------------------------------------ */

int api_auth_init(struct event_base *base, const struct config *cfg)
{
    const char *env = getenv("HISAAB_ADMIN_KEY");
    struct timeval tv = {cfg->auth_refresh_seconds > 0 ? cfg->auth_refresh_seconds : 10, 0};

    au.legacy[0] = '\0';
    if (env != NULL && env[0] != '\0') {
        if (strlen(env) < 16 || strlen(env) >= sizeof(au.legacy))
            log_warn("auth: HISAAB_ADMIN_KEY must be 16 to %zu characters; ignored",
                     sizeof(au.legacy) - 1);
        else
            snprintf(au.legacy, sizeof(au.legacy), "%s", env);
    }
    free(au.secret);
    au.secret = cfg->secret != NULL && cfg->secret[0] != '\0' ? xstrdup(cfg->secret) : NULL;
    au.timer = event_new(base, -1, EV_PERSIST, on_timer, NULL);
    if (au.timer == NULL || event_add(au.timer, &tv) != 0)
        return -1;
    keys_reload();
    if (cfg->redis_url != NULL && cfg->redis_url[0] != '\0' &&
        rds_subscribe(KEYS_CHANNEL, on_keys_msg, NULL) != 0)
        log_warn("auth: cannot subscribe to Redis; keys are reread every %ld s", (long)tv.tv_sec);
    return 0;
}

void api_auth_exit(void)
{
    if (au.timer != NULL)
        event_free(au.timer);
    free(au.keys);
    free(au.secret);
    OPENSSL_cleanse(au.legacy, sizeof(au.legacy));
    memset(&au, 0, sizeof(au));
}
