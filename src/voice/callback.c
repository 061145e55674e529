/*
 * Missed-call callbacks; see callback.h. The webhooks (struct missed: a channel turn
 * through the gate), the queue's records, then the dialer (a timer per worker: claim due
 * rows, place each call, record how it went) and the status callbacks.
 */
#include "voice/callback.h"

#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/pg.h"
#include "channel/gate.h"
#include "channel/phone.h"
#include "channel/session.h"
#include "channel/turn.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/journal.h"
#include "gateway/exotel.h"
#include "gateway/exotel_calls.h"
#include "gateway/twilio_calls.h"
#include "gateway/twilio_voice.h"
#include "net/config.h"
#include "net/form.h"
#include "net/http.h"
#include "voice/vflow.h"
#include "voice/voice.h"

/* clang-format off */

/* A missed call's callback, once per missed call, and not when the number had one
 * within its window ($7 minutes). */
static const struct journal_stream enqueue_stream = {
    "voice_callbacks", JOURNAL_BATCH, 0, 7,
    "INSERT INTO voice_callbacks (provider, trigger_gateway, trigger_id, phone_hash,"
    " phone_sealed, requested_at, due_at)"
    " SELECT DISTINCT ON (u.h) u.p, u.g, u.i, u.h, u.s, u.a, u.a"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
    " $6::timestamptz[], $7::int[]) AS u(p, g, i, h, s, a, w)"
    /* The number's last callback by its index, whatever the table's statistics say (a
     * plain NOT EXISTS became a scan of the whole table under a burst). */
    " LEFT JOIN LATERAL (SELECT v.requested_at AS last FROM voice_callbacks v"
    "  WHERE v.phone_hash = u.h ORDER BY v.requested_at DESC LIMIT 1) r ON true"
    " WHERE r.last IS NULL OR r.last <= u.a - make_interval(mins => u.w)"
    " ORDER BY u.h, u.a"
    " ON CONFLICT (trigger_gateway, trigger_id) DO NOTHING",
};

/* How a placed call went at the provider's REST API: $1 id, $2 'placed' | 'down' |
 * 'refused', $3 the provider's call id, $4 error, $5 retry minutes ('{5,30}'). */
static const struct journal_stream dialled_stream = {
    "voice_callback_dialled", JOURNAL_EACH, 1, 5,
    "UPDATE voice_callbacks SET"
    " state = CASE WHEN $2 = 'placed' THEN 'ringing'"
    "  WHEN $2 = 'down' THEN 'queued'"
    "  WHEN attempts <= cardinality($5::int[]) THEN 'queued' ELSE 'failed' END,"
    " attempts = CASE WHEN $2 = 'down' THEN greatest(attempts - 1, 0) ELSE attempts END,"
    " due_at = CASE WHEN $2 = 'down' THEN now() + interval '1 minute'"
    "  WHEN $2 = 'refused' AND attempts <= cardinality($5::int[])"
    "  THEN now() + make_interval(mins => ($5::int[])[attempts]) ELSE due_at END,"
    " call_id = CASE WHEN $2 = 'placed' THEN NULLIF($3, '') ELSE call_id END,"
    " last_error = $4,"
    " finished_at = CASE WHEN $2 = 'refused' AND attempts > cardinality($5::int[])"
    "  THEN now() ELSE finished_at END,"
    " phone_sealed = CASE WHEN $2 = 'refused' AND attempts > cardinality($5::int[])"
    "  THEN NULL ELSE phone_sealed END"
    " WHERE id = $1::bigint AND state = 'dialing'",
};

/* A provider's status callback: $1 provider, $2 call id, $3 status, $4 duration, $5 at,
 * $6 retry minutes. Closes or requeues the callback whose call it is, and the call. */
static const struct journal_stream status_stream = {
    "voice_call_status", JOURNAL_EACH, 1, 6,
    "WITH t AS (SELECT $3 IN ('completed', 'busy', 'failed', 'no-answer', 'canceled')"
    "  AS final, $3 IN ('busy', 'failed', 'no-answer', 'canceled') AS missed),"
    " c AS (UPDATE voice_callbacks v SET"
    "  state = CASE WHEN NOT t.final THEN v.state WHEN NOT t.missed THEN 'done'"
    "   WHEN v.attempts <= cardinality($6::int[]) THEN 'queued' ELSE 'failed' END,"
    "  due_at = CASE WHEN t.missed AND v.attempts <= cardinality($6::int[])"
    "   THEN now() + make_interval(mins => ($6::int[])[v.attempts]) ELSE v.due_at END,"
    "  last_status = $3, duration_s = COALESCE($4::int, v.duration_s),"
    "  finished_at = CASE WHEN t.final AND NOT (t.missed AND v.attempts <= cardinality($6::int[]))"
    "   THEN now() ELSE v.finished_at END,"
    "  phone_sealed = CASE WHEN t.final AND NOT (t.missed AND v.attempts <= cardinality($6::int[]))"
    "   THEN NULL ELSE v.phone_sealed END"
    "  FROM t WHERE v.provider = $1 AND v.call_id = $2 AND v.state IN ('ringing', 'dialing')"
    "  RETURNING v.id)"
    " INSERT INTO voice_calls AS w (provider, call_id, direction, status, duration_s, ended_at,"
    "  callback_id)"
    " SELECT $1, $2, CASE WHEN (SELECT id FROM c LIMIT 1) IS NOT NULL THEN 'out' END, $3, $4::int,"
    "  CASE WHEN t.final THEN $5::timestamptz END, (SELECT id FROM c LIMIT 1) FROM t"
    " ON CONFLICT (provider, call_id) DO UPDATE SET status = EXCLUDED.status,"
    "  duration_s = COALESCE(EXCLUDED.duration_s, w.duration_s),"
    "  ended_at = COALESCE(EXCLUDED.ended_at, w.ended_at),"
    "  callback_id = COALESCE(EXCLUDED.callback_id, w.callback_id),"
    "  direction = COALESCE(w.direction, EXCLUDED.direction)",
};

/* Take due callbacks: $1 calls per minute, $2 daily minutes (0: no cap), $3 most to take,
 * $4 the providers that can dial now.
 * One dialer at a time (the advisory lock), so the minute's count holds across workers. */
static const char claim_sql[] =
    "WITH lk AS (SELECT pg_try_advisory_xact_lock(727001) AS ok),"
    " used AS (SELECT count(*) AS n FROM voice_callbacks"
    "  WHERE dialed_at > now() - interval '1 minute'),"
    " mins AS (SELECT COALESCE(sum(duration_s), 0) AS s FROM voice_callbacks"
    "  WHERE finished_at >= (date_trunc('day', now() AT TIME ZONE 'Asia/Kolkata')"
    "  AT TIME ZONE 'Asia/Kolkata')),"
    " pick AS (SELECT c.id FROM voice_callbacks c"
    "  WHERE (SELECT ok FROM lk) AND c.state = 'queued' AND c.due_at <= now()"
    "  AND c.provider = ANY ($4::text[])"
    "  AND ($2::int = 0 OR (SELECT s FROM mins) < $2::int * 60)"
    "  ORDER BY c.due_at, c.id"
    "  LIMIT GREATEST(0, LEAST($3::int, $1::int - (SELECT n FROM used)))"
    "  FOR UPDATE OF c SKIP LOCKED)"
    " UPDATE voice_callbacks v SET state = 'dialing', attempts = v.attempts + 1,"
    "  dialed_at = now()"
    " FROM pick WHERE v.id = pick.id"
    " RETURNING v.id, v.provider, v.phone_hash, v.phone_sealed, v.attempts";

/* Rows a dead worker or a silent provider left behind, and callbacks too old to place. */
static const char tidy_sql[] =
    "WITH a AS (UPDATE voice_callbacks SET state = 'queued', due_at = now(),"
    "  attempts = greatest(attempts - 1, 0), last_error = 'no answer from the dialler'"
    "  WHERE state = 'dialing' AND dialed_at < now() - make_interval(secs => $1::int)"
    "  RETURNING 1),"
    " b AS (UPDATE voice_callbacks SET state = 'failed', last_status = 'lost',"
    "  phone_sealed = NULL, finished_at = now()"
    "  WHERE state = 'ringing' AND dialed_at < now() - make_interval(secs => $2::int)"
    "  RETURNING 1),"
    " c AS (UPDATE voice_callbacks SET state = 'failed', last_status = 'expired',"
    "  phone_sealed = NULL, finished_at = now()"
    "  WHERE state = 'queued' AND requested_at < now() - make_interval(secs => $3::int)"
    "  RETURNING 1)"
    " SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b), (SELECT count(*) FROM c)";

/* clang-format on */

enum gw { MC_TWILIO = 0, MC_EXOTEL, MC_GENERIC };
static const char *const gw_names[] = {"twilio", "exotel", "generic"};

static struct {
    struct event_base *base;
    int started;
    char *secret;
    size_t secret_len;
    char *twilio_token;
    char *public_url;
    char *key;
    char *provider; /* callback_provider, or NULL */
    int per_number_minutes;
    int calls_per_minute;
    int daily_minutes;
    char retry[64]; /* "{5,30}" */
    int quiet_from, quiet_to;
    struct twilio_calls_opts twilio;
    struct exotel_calls_opts exotel;
    int can_twilio, can_exotel;
    struct event *tick;
    int claiming;
    int dialling;            /* calls whose REST request is out */
    long long down_until[2]; /* monotonic ms: a provider that is down is left alone */
    long long last_tidy_ms;
    int warned_no_url;
} C;

/* ---- webhooks ------------------------------------------------------------------------ */

struct missed {
    struct turn turn;
    enum gw gw;
    char id[VOICE_CALL_ID_MAX];
    char e164[PHONE_E164_MAX];
    char hash[PHONE_HASH_HEX];
    char sealed[PHONE_SEALED_MAX];
    const char *provider; /* who dials */
};

static void missed_free(struct turn *t)
{
    free(t);
}

static void missed_reply(struct missed *m, struct http_request *req, int queued)
{
    switch (m->gw) {
    case MC_TWILIO:
        twilio_voice_reply_reject(req);
        break;
    case MC_EXOTEL:
        http_reply(req, 200, "text/plain; charset=utf-8", "", 0);
        break;
    case MC_GENERIC:
    default:
        http_reply(req, 202, "application/json; charset=utf-8",
                   queued ? "{\"status\":\"queued\"}" : "{\"status\":\"not_queued\"}",
                   queued ? 19 : 23);
        break;
    }
}

static void answer(struct missed *m, int queued)
{
    struct http_request *req = turn_take(&m->turn);

    if (req == NULL)
        return;
    missed_reply(m, req, queued);
    turn_release(&m->turn);
}

static int enqueue(struct missed *m)
{
    char window[16];
    const char *f[7];

    snprintf(window, sizeof(window), "%d", C.per_number_minutes);
    f[0] = m->provider;
    f[1] = gw_names[m->gw];
    f[2] = m->id;
    f[3] = m->hash;
    f[4] = m->sealed;
    f[5] = m->turn.at;
    f[6] = window;
    return journal_append(&enqueue_stream, f);
}

static void gate_done(void *arg, const struct gate_result *r)
{
    struct missed *m = arg;

    if (m->turn.req == NULL)
        goto out;
    if (r->duplicate) {
        answer(m, 1); /* a retry of a missed call already queued */
        goto out;
    }
    if (r->limit.over) {
        log_queue(LOG_DEBUG, "callback: %.16s had a callback within %d minutes", m->hash,
                  C.per_number_minutes);
        answer(m, 0);
        goto out;
    }
    if (enqueue(m) != 0) {
        struct http_request *req = turn_take(&m->turn);

        if (req != NULL) {
            http_add_header(req, "Retry-After", "5");
            http_reply_error(req, 503, "busy", "The callback could not be queued; please retry.");
            turn_release(&m->turn);
        }
        goto out;
    }
    log_queue(LOG_DEBUG, "callback: queued for %.16s via %s", m->hash, m->provider);
    answer(m, 1);
out:
    turn_release(&m->turn); /* the gate's */
}

static void on_deadline(struct turn *t)
{
    struct missed *m = (struct missed *)t;

    /* Redis is slow: the gate answers locally anyway; never keep a provider waiting. */
    if (enqueue(m) == 0)
        answer(m, 1);
    else {
        struct http_request *req = turn_take(t);

        if (req != NULL) {
            http_reply_error(req, 503, "busy", "The callback could not be queued; please retry.");
            turn_release(t);
        }
    }
}

static const char *dialler_for(enum gw gw)
{
    if (C.provider != NULL)
        return C.provider;
    return gw == MC_EXOTEL ? "exotel" : "twilio";
}

/* A missed call from raw (the provider's form of the number) with the provider's id. */
static void missed_start(struct http_request *req, enum gw gw, const char *raw, const char *id)
{
    struct gate_request q;
    struct missed *m;

    if (id == NULL || id[0] == '\0' || strlen(id) >= VOICE_CALL_ID_MAX) {
        http_reply_error(req, 400, "bad_parameter", "The call id is missing or too long.");
        return;
    }
    m = xcalloc(1, sizeof(*m));
    m->gw = gw;
    snprintf(m->id, sizeof(m->id), "%s", id);
    m->provider = dialler_for(gw);
    if (phone_hash_raw(C.secret, C.secret_len, raw, m->e164, m->hash, sizeof(m->hash)) != 0 ||
        phone_seal(C.secret, C.secret_len, m->e164, m->sealed, sizeof(m->sealed)) != 0) {
        free(m);
        http_reply_error(req, 400, "bad_parameter", "The caller is not a phone number.");
        return;
    }
    turn_start(&m->turn, C.base, req, 2 * CALLBACK_GATE_WAIT_MS + 100, on_deadline, missed_free);
    turn_hold(&m->turn); /* missed_start's own */
    memset(&q, 0, sizeof(q));
    q.channel = "callback";
    q.gateway = gw_names[gw];
    q.id = m->id;
    q.hash = m->hash;
    q.limit.limit = 1;
    q.limit.window_s = C.per_number_minutes * 60;
    q.wait_ms = CALLBACK_GATE_WAIT_MS;
    turn_hold(&m->turn);
    if (gate_pass(&q, gate_done, m) != 0) {
        turn_release(&m->turn);
        on_deadline(&m->turn);
    }
    turn_release(&m->turn); /* missed_start's own */
}

static int can_take(struct http_request *req)
{
    if (!C.started) {
        http_reply_error(req, 503, "unavailable", "Missed calls are not taken now.");
        return 0;
    }
    return turn_room(req, 2, "calls");
}

void callback_twilio(struct http_request *req)
{
    struct voice_call_in in;
    struct gateway_error e;

    if (!can_take(req))
        return;
    if (twilio_voice_parse(req, C.twilio_token, C.public_url, &in, &e) != 0) {
        if (e.status == 403 && C.twilio_token == NULL)
            log_warn("callback: twilio request refused: TWILIO_AUTH_TOKEN is not set");
        http_reply_error(req, e.status, e.code, e.message);
        return;
    }
    missed_start(req, MC_TWILIO, in.from, in.call_id);
}

void callback_exotel(struct http_request *req)
{
    struct voice_call_in in;
    struct gateway_error e;
    enum exotel_question q;

    if (!can_take(req))
        return;
    if (exotel_parse(req, C.key, &in, &q, &e) != 0) {
        http_reply_error(req, e.status, e.code, e.message);
        return;
    }
    missed_start(req, MC_EXOTEL, in.from, in.call_id);
}

void callback_generic(struct http_request *req)
{
    struct slice body = http_body(req);
    json_error_t err;
    json_t *doc, *from, *id;
    char idbuf[VOICE_CALL_ID_MAX], frombuf[VOICE_CALL_NUMBER_MAX];

    if (!can_take(req))
        return;
    if (!voice_call_key_ok(http_query(req), C.key)) {
        http_reply_error(req, 403, "forbidden", "The key is missing or wrong.");
        return;
    }
    doc = json_loadb(body.ptr, body.len, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL || !json_is_object(doc)) {
        json_decref(doc);
        http_reply_error(req, 400, "bad_json",
                         "Send a JSON object: {\"from\": \"<number>\", \"id\": \"<call id>\"}.");
        return;
    }
    from = json_object_get(doc, "from");
    id = json_object_get(doc, "id");
    if (json_is_integer(from))
        snprintf(frombuf, sizeof(frombuf), "%lld", (long long)json_integer_value(from));
    else if (json_is_string(from) && json_string_length(from) < sizeof(frombuf))
        snprintf(frombuf, sizeof(frombuf), "%s", json_string_value(from));
    else
        frombuf[0] = '\0';
    if (json_is_integer(id))
        snprintf(idbuf, sizeof(idbuf), "%lld", (long long)json_integer_value(id));
    else if (json_is_string(id) && json_string_length(id) < sizeof(idbuf) &&
             strlen(json_string_value(id)) == json_string_length(id))
        snprintf(idbuf, sizeof(idbuf), "%s", json_string_value(id));
    else
        idbuf[0] = '\0';
    json_decref(doc);
    if (frombuf[0] == '\0') {
        http_reply_error(req, 400, "bad_parameter", "The field 'from' (the caller) is missing.");
        return;
    }
    if (idbuf[0] == '\0') {
        http_reply_error(req, 400, "bad_parameter",
                         "The field 'id' (the missed call's id) is missing or too long.");
        return;
    }
    missed_start(req, MC_GENERIC, frombuf, idbuf);
}

/* ---- status callbacks ---------------------------------------------------------------- */

int callback_status(const char *provider, const struct voice_call_in *in)
{
    char dur[16], at[64];
    const char *f[6];
    time_t now = time(NULL);
    struct tm tm;

    if (in->call_id[0] == '\0')
        return 0; /* nothing to close */
    gmtime_r(&now, &tm);
    strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%SZ", &tm);
    snprintf(dur, sizeof(dur), "%d", in->duration_s);
    f[0] = provider;
    f[1] = in->call_id;
    f[2] = in->status[0] != '\0' ? in->status : "unknown";
    f[3] = in->duration_s >= 0 ? dur : NULL;
    f[4] = at;
    f[5] = C.retry;
    return journal_append(&status_stream, f);
}

/* ---- the dialer ---------------------------------------------------------------------- */

int callback_quiet(time_t now, int from_min, int to_min)
{
    long long m;

    if (from_min < 0 || to_min < 0 || from_min == to_min)
        return 0;
    m = (((long long)now + 19800) / 60) % 1440; /* India: UTC+5:30, no summer time */
    if (from_min < to_min)
        return m >= from_min && m < to_min;
    return m >= from_min || m < to_min;
}

struct dial {
    long long id;
    int exotel;
    int attempts;
};

static void record_dialled(long long id, const char *outcome, const char *call_id,
                           const char *error)
{
    char ids[24];
    const char *f[5];

    snprintf(ids, sizeof(ids), "%lld", id);
    f[0] = ids;
    f[1] = outcome;
    f[2] = call_id != NULL ? call_id : "";
    f[3] = error;
    f[4] = C.retry;
    if (journal_append(&dialled_stream, f) != 0)
        log_error("callback: journal refused the outcome of callback %lld", id);
}

static void dialled(void *arg, const struct dial_result *r)
{
    struct dial *d = arg;

    C.dialling--;
    switch (r->outcome) {
    case DIAL_PLACED:
        log_info("callback %lld: placed via %s (%s) in %ldms", d->id,
                 d->exotel ? "exotel" : "twilio", r->call_id, r->ms);
        if (d->exotel && r->call_id[0] != '\0') {
            /* The app's Passthru will ask about this call: it is a callback. */
            struct vflow_state st;
            struct buf b;

            memset(&st, 0, sizeof(st));
            st.callback = 1;
            buf_init(&b, 256);
            if (vflow_encode(&st, &b) != 0 ||
                session_put(VOICE_SESSION_SPACE, r->call_id, buf_cstr(&b), VOICE_SESSION_TTL_S,
                            NULL, NULL) != 0)
                log_warn("callback %lld: exotel call %s not marked as a callback", d->id,
                         r->call_id);
            buf_free(&b);
        }
        record_dialled(d->id, "placed", r->call_id, r->error);
        break;
    case DIAL_PROVIDER_DOWN:
        log_warn("callback %lld: %s is not taking calls (%s); retrying later", d->id,
                 d->exotel ? "exotel" : "twilio", r->error != NULL ? r->error : "?");
        C.down_until[d->exotel] = turn_now_ms() + CALLBACK_DOWN_BACKOFF_S * 1000LL;
        record_dialled(d->id, "down", NULL, r->error);
        break;
    case DIAL_REFUSED:
    default:
        log_warn("callback %lld: refused by %s (%s)", d->id, d->exotel ? "exotel" : "twilio",
                 r->error != NULL ? r->error : "?");
        record_dialled(d->id, "refused", NULL, r->error);
        break;
    }
    free(d);
}

/* Place callback row i of res. */
static void place(const PGresult *res, int i)
{
    struct dial *d = xcalloc(1, sizeof(*d));
    const char *provider = PQgetvalue(res, i, 1), *sealed = PQgetvalue(res, i, 3);
    char e164[PHONE_E164_MAX];
    struct buf url, status;
    struct vflow_state st;
    int rc = -1;

    d->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
    d->attempts = atoi(PQgetvalue(res, i, 4));
    d->exotel = strcmp(provider, "exotel") == 0;
    if (PQgetisnull(res, i, 3) ||
        phone_unseal(C.secret, C.secret_len, sealed, e164, sizeof(e164)) != 0) {
        log_error("callback %lld: the number does not open (another HISAAB_SECRET?)", d->id);
        record_dialled(d->id, "refused", NULL, "the number does not open");
        free(d);
        return;
    }
    buf_init(&url, VOICE_STEP_URL_MAX);
    buf_init(&status, VOICE_STEP_URL_MAX);
    memset(&st, 0, sizeof(st));
    st.callback = 1;
    if (buf_puts(&url, C.public_url) != 0 || buf_puts(&url, "/ivr/twilio/voice?") != 0 ||
        vflow_encode(&st, &url) != 0 ||
        buf_printf(&status, "%s/ivr/%s/status?cb=%lld", C.public_url, provider, d->id) != 0 ||
        (C.key != NULL && d->exotel && form_add(&status, "key", C.key) != 0))
        goto out;
    C.dialling++;
    if (d->exotel)
        rc = exotel_calls_start(&C.exotel, e164, buf_cstr(&status), dialled, d);
    else
        rc = twilio_calls_start(&C.twilio, e164, buf_cstr(&url), buf_cstr(&status), dialled, d);
    if (rc != 0)
        C.dialling--;
out:
    memset(e164, 0, sizeof(e164));
    buf_free(&url);
    buf_free(&status);
    if (rc != 0) {
        log_error("callback %lld: the request could not be made", d->id);
        record_dialled(d->id, "down", NULL, "the request could not be made");
        free(d);
    }
}

static void claimed(void *arg, const PGresult *res, const char *err)
{
    int i, n;

    (void)arg;
    C.claiming = 0;
    if (err != NULL) {
        log_debug("callback: claim: %s", err);
        return;
    }
    n = PQntuples(res);
    for (i = 0; i < n; i++)
        place(res, i);
}

static void tidied(void *arg, const PGresult *res, const char *err)
{
    (void)arg;
    if (err != NULL || PQntuples(res) != 1)
        return;
    if (strcmp(PQgetvalue(res, 0, 0), "0") != 0 || strcmp(PQgetvalue(res, 0, 1), "0") != 0 ||
        strcmp(PQgetvalue(res, 0, 2), "0") != 0)
        log_info("callback: requeued %s stuck, closed %s without status, gave up %s too old",
                 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    char cpm[16], daily[16], most[16], stale[16], ringing[16], expire[16], provs[32];
    const char *p[4];
    long long now = turn_now_ms();
    int can;

    (void)fd;
    (void)what;
    (void)arg;
    if (!pg_is_up())
        return;
    if (now - C.last_tidy_ms > 60000) {
        const char *t[3] = {stale, ringing, expire};

        C.last_tidy_ms = now;
        snprintf(stale, sizeof(stale), "%d", CALLBACK_STALE_S);
        snprintf(ringing, sizeof(ringing), "%d", CALLBACK_RINGING_S);
        snprintf(expire, sizeof(expire), "%d", CALLBACK_EXPIRE_S);
        if (pg_query(tidy_sql, 3, t, tidied, NULL) != 0)
            log_debug("callback: tidy not started");
    }
    if (C.claiming || C.dialling > CALLBACK_CLAIM_MAX || !journal_room(CALLBACK_CLAIM_MAX * 2))
        return;
    if (callback_quiet(time(NULL), C.quiet_from, C.quiet_to))
        return;
    /* Only providers that can dial now: a provider's rows wait while it is down. */
    can = 0;
    provs[0] = '\0';
    if (C.can_twilio && now >= C.down_until[0]) {
        strcat(provs, "twilio");
        can = 1;
    }
    if (C.can_exotel && now >= C.down_until[1]) {
        strcat(provs, can ? ",exotel" : "exotel");
        can = 1;
    }
    if (!can)
        return;
    memmove(provs + 1, provs, strlen(provs) + 1);
    provs[0] = '{';
    strcat(provs, "}");
    snprintf(cpm, sizeof(cpm), "%d", C.calls_per_minute);
    snprintf(daily, sizeof(daily), "%d", C.daily_minutes);
    snprintf(most, sizeof(most), "%d", CALLBACK_CLAIM_MAX);
    p[0] = cpm;
    p[1] = daily;
    p[2] = most;
    p[3] = provs;
    C.claiming = 1;
    if (pg_query(claim_sql, 4, p, claimed, NULL) != 0)
        C.claiming = 0;
}

/* ---- set-up -------------------------------------------------------------------------- */

int callback_register(void)
{
    static int registered;

    if (registered)
        return 0;
    if (journal_register(&enqueue_stream) != 0 || journal_register(&dialled_stream) != 0 ||
        journal_register(&status_stream) != 0)
        return -1;
    registered = 1;
    return 0;
}

int callback_init(struct event_base *base, const struct config *cfg)
{
    int retry[CONFIG_RETRIES_MAX], n, i;
    size_t used;
    struct timeval tv = {0, CALLBACK_TICK_MS * 1000};

    memset(&C, 0, sizeof(C));
    C.base = base;
    C.secret = xstrdup(cfg->secret != NULL ? cfg->secret : "");
    C.secret_len = strlen(C.secret);
    C.twilio_token = cfg->twilio_auth_token != NULL ? xstrdup(cfg->twilio_auth_token) : NULL;
    C.public_url = cfg->public_url != NULL ? xstrdup(cfg->public_url) : NULL;
    if (C.public_url != NULL) {
        size_t l = strlen(C.public_url);

        if (l > 0 && C.public_url[l - 1] == '/')
            C.public_url[l - 1] = '\0';
    }
    C.key = cfg->voice_webhook_key != NULL ? xstrdup(cfg->voice_webhook_key) : NULL;
    C.provider = cfg->callback_provider != NULL ? xstrdup(cfg->callback_provider) : NULL;
    C.per_number_minutes =
        cfg->callback_per_number_minutes > 0 ? cfg->callback_per_number_minutes : 60;
    C.calls_per_minute = cfg->callback_calls_per_minute > 0 ? cfg->callback_calls_per_minute : 30;
    C.daily_minutes = cfg->callback_daily_minutes;
    if (config_quiet_hours(cfg->callback_quiet_hours, &C.quiet_from, &C.quiet_to) != 0)
        C.quiet_from = C.quiet_to = -1;
    n = config_minutes_list(cfg->callback_retry_minutes, retry, CONFIG_RETRIES_MAX);
    used = (size_t)snprintf(C.retry, sizeof(C.retry), "{");
    for (i = 0; i < n && used < sizeof(C.retry); i++)
        used += (size_t)snprintf(C.retry + used, sizeof(C.retry) - used, "%s%d", i > 0 ? "," : "",
                                 retry[i]);
    if (used < sizeof(C.retry))
        snprintf(C.retry + used, sizeof(C.retry) - used, "}");
    twilio_calls_opts_init(&C.twilio, cfg);
    exotel_calls_opts_init(&C.exotel);
    C.can_twilio =
        C.twilio.account_sid != NULL && C.twilio.auth_token != NULL && C.twilio.caller_id != NULL;
    C.can_exotel = C.exotel.account_sid != NULL && C.exotel.api_key != NULL &&
                   C.exotel.api_token != NULL && C.exotel.caller_id != NULL &&
                   C.exotel.app_id != NULL;
    if (C.public_url == NULL) {
        /* Without our own address there is nothing to give a provider to call back. */
        C.can_twilio = C.can_exotel = 0;
        log_info("callback: public_url is not set: missed calls are queued, not dialled");
    }
    C.tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    if (C.tick == NULL || event_add(C.tick, &tv) != 0)
        return -1;
    C.started = 1;
    return 0;
}

void callback_exit(void)
{
    if (C.tick != NULL)
        event_free(C.tick);
    free(C.secret);
    free(C.twilio_token);
    free(C.public_url);
    free(C.key);
    free(C.provider);
    memset(&C, 0, sizeof(C));
}
