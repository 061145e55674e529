/*
 * The USSD channel; see ussd.h. A request (struct ustep) is one channel turn
 * (channel/turn.h): the conversation store and, at a session's start, the gate each hold
 * a reference. In the order a request goes: the webhook (gateway parsing, room in the
 * journal), what the store kept of the session (a retry is answered from it), the gate
 * at the start, the menu, the side effects (remember, SMS), the record, the store, the
 * answer.
 */
#include "ussd/ussd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel/gate.h"
#include "channel/memory.h"
#include "channel/outbox.h"
#include "channel/phone.h"
#include "channel/session.h"
#include "channel/turn.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/directory.h"
#include "data/journal.h"
#include "gateway/ussd.h"
#include "net/config.h"
#include "net/http.h"
#include "text/grapheme.h"
#include "text/i18n.h"
#include "text/pin.h"
#include "text/summary.h"
#include "ussd/umenu.h"

#define RATE_WINDOW_S 3600

/* clang-format off */

/* Every screen once; its session kept up to date from the steps that are new (sql/010). */
static const struct journal_stream steps_stream = {
    "ussd_steps", JOURNAL_BATCH, 0, 15,
    "WITH s AS (INSERT INTO ussd_steps (session_hash, step, at, gateway, phone_hash, screen,"
    "  event, input, shown, lang, state_code, district_code, ended, latency_ms)"
    "  SELECT sh, n, a, g, h, sc, ev, i, sw, l, st, dc, e, ms FROM unnest($1::text[],"
    "  $2::int[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[],"
    "  $8::text[], $9::text[], $10::text[], $11::int[], $12::int[], $13::boolean[],"
    "  $14::int[], $15::boolean[]) AS u(sh, n, a, g, h, sc, ev, i, sw, l, st, dc, e, ms, sm)"
    "  ON CONFLICT (session_hash, step) DO NOTHING"
    "  RETURNING session_hash, step, at, gateway, phone_hash, event, lang, state_code,"
    "  district_code, ended),"
    " shown AS (SELECT sh, n FROM unnest($1::text[], $2::int[], $15::boolean[]) AS v(sh, n, sm)"
    "  WHERE sm),"
    " g AS (SELECT s.session_hash, min(s.gateway) AS gateway, min(s.phone_hash) AS phone_hash,"
    "  min(s.at) AS first_at, max(s.at) AS last_at, count(*) AS n, max(s.step) AS last_step,"
    "  (array_agg(s.event ORDER BY s.step DESC))[1] AS last_event,"
    "  (array_agg(s.lang ORDER BY s.step DESC) FILTER (WHERE s.lang IS NOT NULL))[1] AS lang,"
    "  (array_agg(s.state_code ORDER BY s.step DESC)"
    "    FILTER (WHERE s.district_code IS NOT NULL))[1] AS sc,"
    "  (array_agg(s.district_code ORDER BY s.step DESC)"
    "    FILTER (WHERE s.district_code IS NOT NULL))[1] AS dc,"
    "  count(sw.n) AS summaries, bool_or(s.ended) AS ended"
    "  FROM s LEFT JOIN shown sw ON sw.sh = s.session_hash AND sw.n = s.step"
    "  GROUP BY s.session_hash)"
    " INSERT INTO ussd_sessions AS u (session_hash, gateway, phone_hash, started_at, last_at,"
    "  steps, last_step, last_event, lang, state_code, district_code, summaries, ended)"
    " SELECT session_hash, gateway, phone_hash, first_at, last_at, n, last_step, last_event,"
    "  lang, sc, dc, summaries, ended FROM g"
    " ON CONFLICT (session_hash) DO UPDATE SET"
    "  phone_hash = COALESCE(u.phone_hash, EXCLUDED.phone_hash),"
    "  started_at = LEAST(u.started_at, EXCLUDED.started_at),"
    "  last_at = GREATEST(u.last_at, EXCLUDED.last_at),"
    "  steps = u.steps + EXCLUDED.steps,"
    "  last_event = CASE WHEN EXCLUDED.last_step > u.last_step THEN EXCLUDED.last_event"
    "   ELSE u.last_event END,"
    "  lang = CASE WHEN EXCLUDED.last_step > u.last_step THEN COALESCE(EXCLUDED.lang, u.lang)"
    "   ELSE COALESCE(u.lang, EXCLUDED.lang) END,"
    "  state_code = CASE WHEN EXCLUDED.last_step > u.last_step AND EXCLUDED.district_code IS NOT NULL"
    "   OR u.district_code IS NULL THEN EXCLUDED.state_code ELSE u.state_code END,"
    "  district_code = CASE WHEN EXCLUDED.last_step > u.last_step AND EXCLUDED.district_code IS NOT NULL"
    "   OR u.district_code IS NULL THEN EXCLUDED.district_code ELSE u.district_code END,"
    "  last_step = GREATEST(u.last_step, EXCLUDED.last_step),"
    "  summaries = u.summaries + EXCLUDED.summaries,"
    "  ended = u.ended OR EXCLUDED.ended",
};

/* clang-format on */

enum step_col {
    K_SESSION = 0,
    K_STEP,
    K_AT,
    K_GATEWAY,
    K_HASH,
    K_SCREEN,
    K_EVENT,
    K_INPUT,
    K_SHOWN,
    K_LANG,
    K_STATE,
    K_DISTRICT,
    K_ENDED,
    K_LATENCY,
    K_SUMMARY,
    K_NCOLS
};

enum ugw { UG_AT = 0, UG_SESSION };

static struct {
    struct event_base *base;
    int started;
    char *secret;
    size_t secret_len;
    struct i18n_set *words;
    struct limit_policy limit;
    int deadline_ms, retry_ms;
    size_t gsm_limit, ucs2_limit;
    struct ussd_fields fields;
} S;

/* What the store keeps of a session: the state after the last step, what that step
 * answered (AT: the path; session style: the input), when, and the screen shown. */
struct kept {
    struct umenu_state st;
    struct memory mem;
    int ended;
    long long at_ms;
    char prev[USSD_INPUT_MAX];
    char screen[UMENU_SCREEN_MAX];
};

struct ustep {
    struct turn turn; /* first: the turn's callbacks get it back as a ustep */
    enum ugw gw;
    struct ussd_in in;
    char e164[PHONE_E164_MAX];
    char hash[PHONE_HASH_HEX];
    char shash[PHONE_HASH_HEX]; /* the session's name */
    struct kept kept;
    int has_kept;
    struct memory mem;
    int replay; /* AT: rebuild the state from the whole path */
    char input[USSD_INPUT_MAX];
    struct umenu_state st; /* before the step */
    struct kept next;      /* what is kept after it */
};

static void ustep_free(struct turn *t)
{
    free(t);
}

/* ---- the kept text ------------------------------------------------------------------- */

/* Lines: the state; "ended at_ms has_lang lang has_district sc dc"; prev; the screen
 * (which may hold line breaks: the rest of the text). */
static int kept_encode(const struct kept *k, struct buf *out)
{
    if (umenu_encode(&k->st, out) != 0 ||
        buf_printf(out, "\n%d %lld %d %d %d %d %d\n%s\n%s", k->ended, k->at_ms, k->mem.has_lang,
                   (int)k->mem.lang, k->mem.has_district, k->mem.state_code, k->mem.district_code,
                   k->prev, k->screen) != 0)
        return -1;
    return 0;
}

static int kept_decode(const char *text, struct kept *k)
{
    const char *l1 = strchr(text, '\n'), *l2, *l3;
    int ended, hl, lang, hd, sc, dc;
    long long at;
    size_t n;

    memset(k, 0, sizeof(*k));
    if (l1 == NULL || umenu_decode(text, (size_t)(l1 - text), &k->st) != 0)
        return -1;
    l2 = strchr(l1 + 1, '\n');
    if (l2 == NULL ||
        sscanf(l1 + 1, "%d %lld %d %d %d %d %d", &ended, &at, &hl, &lang, &hd, &sc, &dc) != 7)
        return -1;
    l3 = strchr(l2 + 1, '\n');
    if (l3 == NULL)
        return -1;
    n = (size_t)(l3 - (l2 + 1));
    if (n >= sizeof(k->prev) || strlen(l3 + 1) >= sizeof(k->screen))
        return -1;
    memcpy(k->prev, l2 + 1, n);
    k->prev[n] = '\0';
    snprintf(k->screen, sizeof(k->screen), "%s", l3 + 1);
    k->ended = ended != 0;
    k->at_ms = at;
    k->mem.has_lang = hl != 0;
    k->mem.lang = lang == I18N_HI ? I18N_HI : I18N_EN;
    k->mem.has_district = hd != 0;
    k->mem.state_code = sc;
    k->mem.district_code = dc;
    return 0;
}

static void record_step(struct ustep *u, enum umenu_screen was, const struct umenu_state *st,
                        const struct umenu_out *o, const char *input);

/* ---- answers ------------------------------------------------------------------------- */

static void answer(struct ustep *u, const char *screen, int end)
{
    struct http_request *req = turn_take(&u->turn);

    if (req == NULL)
        return;
    if (u->gw == UG_AT)
        ussd_at_reply(req, screen, end);
    else
        ussd_session_reply(req, &S.fields, screen, end);
    turn_release(&u->turn); /* the reply's */
}

/* A one-line END in the session's language (or romanised Hindi), journaled as the
 * session's next step (event names why). */
static void answer_end(struct ustep *u, enum umenu_lang lang, const char *id, const char *var,
                       const char *event)
{
    struct umenu_state st;
    struct umenu_out o;
    struct buf b;

    if (u->turn.req == NULL)
        return;
    memset(&st, 0, sizeof(st));
    memset(&o, 0, sizeof(o));
    st.screen = UM_END;
    st.lang = lang;
    /* The next step. A session not known (run out) has none: a negative step from the
     * arrival time, so that it never takes the place of a step the session had and two
     * such answers are two records. */
    st.step = u->has_kept ? u->kept.st.step + 1 : 1;
    if (strcmp(event, "expired") == 0) {
        static unsigned seq;
        long long t = u->turn.t0 % 10000000; /* ms, a 2.7-hour cycle */

        st.step = -1 - (int)(t * 128 + (getpid() & 15) * 8 + (seq++ & 7));
    }
    o.end = 1;
    o.event = event;
    record_step(u, u->has_kept ? u->kept.st.screen : UM_START, &st, &o, u->input);

    buf_init(&b, UMENU_SCREEN_MAX);
    if (i18n_set_render(S.words, lang, id, &var, var != NULL ? 1 : 0, &b) != 0) {
        buf_reset(&b);
        if (buf_puts(&b, "Sorry.") != 0)
            b.len = 0;
    }
    answer(u, buf_cstr(&b), 1);
    buf_free(&b);
}

static void on_deadline(struct turn *t)
{
    struct ustep *u = (struct ustep *)t;

    log_warn("ussd: %s session %.16s not answered in %d ms: END", u->in.gateway, u->shash,
             S.deadline_ms);
    answer_end(u, u->has_kept ? u->kept.st.lang : UL_HL, "SORRY", NULL, "deadline");
}

/* ---- records ------------------------------------------------------------------------- */

static void record_step(struct ustep *u, enum umenu_screen was, const struct umenu_state *st,
                        const struct umenu_out *o, const char *input)
{
    char step[16], lat[24], sc[16], dc[16];
    const char *f[K_NCOLS] = {NULL};
    struct buf in;

    buf_init(&in, USSD_INPUT_MAX * 2);
    f[K_SESSION] = u->shash;
    snprintf(step, sizeof(step), "%d", st->step);
    f[K_STEP] = step;
    f[K_AT] = u->turn.at;
    f[K_GATEWAY] = u->in.gateway;
    f[K_HASH] = u->hash;
    f[K_SCREEN] = umenu_screen_name(was);
    f[K_EVENT] = o->event;
    if (was != UM_START) {
        if (o->pin_step)
            f[K_INPUT] = PIN_REDACTED;
        else if (pin_redact(input, strlen(input), &in) == 0)
            f[K_INPUT] = buf_cstr(&in);
    }
    f[K_SHOWN] = umenu_screen_name(st->screen);
    f[K_LANG] = umenu_lang_codes[st->lang];
    if (o->summary || st->screen == UM_SUMMARY) {
        snprintf(sc, sizeof(sc), "%d", st->state_code);
        snprintf(dc, sizeof(dc), "%d", st->district_code);
        f[K_STATE] = sc;
        f[K_DISTRICT] = dc;
    }
    f[K_ENDED] = o->end ? "t" : "f";
    snprintf(lat, sizeof(lat), "%lld", turn_age_ms(&u->turn));
    f[K_LATENCY] = lat;
    f[K_SUMMARY] = o->summary ? "t" : "f";
    if (journal_append(&steps_stream, f) != 0)
        log_error("ussd: journal refused a step record");
    buf_free(&in);
}

/* ---- side effects -------------------------------------------------------------------- */

static void sms_sent(void *arg, enum sendsms_outcome outcome, const char *err)
{
    (void)arg;
    if (outcome != SENDSMS_SENT)
        log_warn("ussd: summary SMS not sent: %s", err != NULL ? err : "?");
}

/* Key 1 on a summary: the SMS summary of the district. Returns 0 when sending started. */
static int send_summary_sms(struct ustep *u, const struct umenu_out *o, int step)
{
    const struct directory *d = directory_current();
    const struct dir_district *row =
        d != NULL ? directory_get(d, o->state_code, o->district_code) : NULL;
    char name[128], id[GATEWAY_ID_MAX + 16];
    struct outbox_rec r;
    struct buf b;
    int rc = -1;

    if (row == NULL || !row->has_facts || u->e164[0] == '\0' || !outbox_can_send())
        return -1;
    if (grapheme_clip(row->name[o->lang], I18N_VAR_MAX_CHARS, name, sizeof(name)) != 0)
        snprintf(name, sizeof(name), "%d", row->district_code);
    buf_init(&b, 4096);
    if (summary_render(o->lang, name, &row->facts, &b) != 0)
        goto out;
    memset(&r, 0, sizeof(r));
    r.at = u->turn.at;
    r.gateway = "kannel";
    snprintf(id, sizeof(id), "ussd:%.32s:%d", u->shash, step);
    r.id = id;
    r.hash = u->hash;
    r.state_code = row->state_code;
    r.district_code = row->district_code;
    r.lang = i18n_lang_code(o->lang);
    r.kind = "ussd_sms";
    rc = outbox_send(u->e164, buf_cstr(&b), &r, sms_sent, NULL);
out:
    buf_free(&b);
    return rc;
}

static void side_effects(struct ustep *u, const struct umenu_out *o)
{
    if (o->remember_lang && (!u->mem.has_lang || u->mem.lang != o->lang)) {
        if (memory_set_lang(u->hash, u->turn.at, o->lang) != 0)
            log_warn("ussd: language of %.16s not remembered", u->hash);
        u->mem.has_lang = 1;
        u->mem.lang = o->lang;
    }
    if (o->remember_district && (!u->mem.has_district || u->mem.state_code != o->state_code ||
                                 u->mem.district_code != o->district_code)) {
        if (memory_set_district(u->hash, u->turn.at, o->state_code, o->district_code) != 0)
            log_warn("ussd: district of %.16s not remembered", u->hash);
        u->mem.has_district = 1;
        u->mem.state_code = o->state_code;
        u->mem.district_code = o->district_code;
    }
}

/* ---- the menu ------------------------------------------------------------------------ */

static void kept_stored(void *arg, int ok)
{
    (void)arg;
    if (!ok)
        log_debug("ussd: a session is kept in this worker only (Redis away or slow)");
}

static void menu_env(struct umenu_env *env, const struct memory *m)
{
    memset(env, 0, sizeof(*env));
    env->dir = directory_current();
    env->words = S.words;
    env->gsm_limit = S.gsm_limit;
    env->ucs2_limit = S.ucs2_limit;
    if (m->has_lang) {
        env->has_lang = 1;
        env->lang = m->lang;
    }
    if (m->has_district) {
        env->has_district = 1;
        env->state_code = m->state_code;
        env->district_code = m->district_code;
    }
}

/* Rebuild the state of an AT session from its path (every answer but the last), into
 * *st. The state lost, the answers that hold '*' cannot be told apart: each piece is one
 * answer. */
static void replay(struct ustep *u, struct umenu_state *st, const char **last)
{
    struct umenu_env env;
    struct umenu_out o;
    char *p = u->in.input, *star;

    menu_env(&env, &u->mem);
    memset(st, 0, sizeof(*st));
    umenu_out_init(&o);
    if (umenu_step(st, NULL, &env, &o) != 0)
        log_warn("ussd: session %.16s: the menu did not start", u->shash);
    for (star = strchr(p, '*'); star != NULL && st->screen != UM_END; star = strchr(p, '*')) {
        *star = '\0';
        if (umenu_step(st, p, &env, &o) != 0)
            break;
        p = star + 1;
    }
    umenu_out_free(&o);
    *last = p;
}

static void run(struct ustep *u)
{
    struct umenu_state st = u->st;
    struct umenu_env env;
    struct umenu_out o;
    enum umenu_screen was;
    const char *input = u->input;
    struct buf b;

    if (u->turn.req == NULL)
        return;
    if (u->replay)
        replay(u, &st, &input);
    was = st.screen;
    menu_env(&env, &u->mem);
    umenu_out_init(&o);
    if (umenu_step(&st, input, &env, &o) != 0 && o.screen.len == 0) {
        umenu_out_free(&o);
        answer_end(u, st.lang, "SORRY", NULL, "failed");
        return;
    }
    side_effects(u, &o);
    if (o.send_sms && send_summary_sms(u, &o, st.step) != 0) {
        buf_reset(&o.screen);
        if (i18n_set_render(S.words, st.lang, "SMS_FAILED", NULL, 0, &o.screen) != 0)
            log_warn("ussd: no SMS_FAILED text");
    }
    record_step(u, was, &st, &o, input);
    log_queue(LOG_DEBUG, "ussd: %s %.16s %s -> %s %s %lldms", u->in.gateway, u->shash,
              umenu_screen_name(was), umenu_screen_name(st.screen), o.event != NULL ? o.event : "-",
              turn_age_ms(&u->turn));
    /* Keep the session for its next request, then answer. */
    memset(&u->next, 0, sizeof(u->next));
    u->next.st = st;
    u->next.mem = u->mem;
    u->next.ended = o.end;
    u->next.at_ms = turn_now_ms();
    snprintf(u->next.prev, sizeof(u->next.prev), "%s", u->gw == UG_AT ? u->in.input : u->input);
    snprintf(u->next.screen, sizeof(u->next.screen), "%s", buf_cstr(&o.screen));
    umenu_out_free(&o);
    /* The SET is on its way to Redis before the answer is: the next step, which comes
     * only after the caller read this screen and typed, finds it (and this worker's copy
     * is there at once), so the answer need not wait for Redis. */
    buf_init(&b, SESSION_VALUE_MAX);
    if (kept_encode(&u->next, &b) != 0 || session_put(USSD_SESSION_SPACE, u->shash, buf_cstr(&b),
                                                      USSD_SESSION_TTL_S, kept_stored, NULL) != 0)
        log_warn("ussd: session %.16s not kept", u->shash);
    answer(u, u->next.screen, u->next.ended);
    buf_free(&b);
}

static void recalled(void *arg, const struct memory *m)
{
    struct ustep *u = arg;

    if (m != NULL)
        u->mem = *m;
    run(u);
    turn_release(&u->turn); /* the recall's */
}

static void gated(void *arg, const struct gate_result *r)
{
    struct ustep *u = arg;
    char mins[24];

    if (u->turn.req == NULL)
        goto out;
    if (r->limit.over) {
        snprintf(mins, sizeof(mins), "%lld", (r->limit.reset_s + 59) / 60);
        log_queue(LOG_INFO, "ussd: %.16s over the session limit", u->hash);
        answer_end(u, r->memory.has_lang && r->memory.lang == I18N_EN ? UL_EN : UL_HL, "RATE_LIMIT",
                   mins, "rate_limited");
        goto out;
    }
    u->mem = r->memory;
    if (r->local) {
        /* Redis is away: what Postgres remembers, within the deadline. */
        turn_hold(&u->turn);
        if (memory_recall(u->hash, recalled, u) != 0) {
            turn_release(&u->turn);
            run(u);
        }
        goto out;
    }
    run(u);
out:
    turn_release(&u->turn); /* the gate's */
}

/* A new session (or one rebuilt from its path): the gate first. */
static void start(struct ustep *u)
{
    struct gate_request q;

    memset(&q, 0, sizeof(q));
    q.channel = "ussd";
    q.gateway = u->in.gateway;
    q.id = NULL; /* retries are caught by the store, not by an id */
    q.hash = u->hash;
    q.limit = S.limit;
    q.wait_ms = USSD_GATE_WAIT_MS;
    turn_hold(&u->turn);
    if (gate_pass(&q, gated, u) != 0) {
        turn_release(&u->turn);
        run(u);
    }
}

/* What the store kept decides: a retry, the next step, or a (re)start. */
static void kept_came(void *arg, const char *value)
{
    struct ustep *u = arg;
    struct kept *k = &u->kept;
    int r;

    if (u->turn.req == NULL)
        goto out;
    if (value != NULL && kept_decode(value, k) == 0)
        u->has_kept = 1;
    if (u->has_kept)
        u->mem = k->mem;
    if (u->gw == UG_AT) {
        if (!u->has_kept) {
            if (u->in.input[0] == '\0') {
                start(u);
            } else {
                u->replay = 1;
                start(u);
            }
            goto out;
        }
        r = ussd_at_next(k->prev, u->in.input, u->input, sizeof(u->input));
        if (r == 0) {
            answer(u, k->screen, k->ended); /* a retry: the same screen */
        } else if (r < 0 || k->ended) {
            u->replay = u->in.input[0] != '\0';
            memset(&u->st, 0, sizeof(u->st));
            start(u);
        } else {
            u->st = k->st;
            run(u);
        }
        goto out;
    }
    /* Session style. */
    snprintf(u->input, sizeof(u->input), "%s", u->in.input);
    if (u->has_kept && strcmp(k->prev, u->input) == 0 &&
        turn_now_ms() - k->at_ms <= (long long)S.retry_ms && (u->in.is_new == (k->st.step == 1))) {
        answer(u, k->screen, k->ended); /* a retry: the same screen */
    } else if (!u->in.is_new && (!u->has_kept || k->ended)) {
        /* Run out (the network's limit passed), ended, or lost with Redis away on
         * another worker: this screen's input alone cannot go on. */
        log_queue(LOG_INFO, "ussd: %s session %.16s is not known here: goodbye (input %zu bytes)",
                  u->in.gateway, u->shash, strlen(u->input));
        answer_end(u, u->has_kept ? k->st.lang : UL_HL, "BYE", NULL, "expired");
    } else if (u->in.is_new) {
        memset(&u->st, 0, sizeof(u->st));
        start(u);
    } else {
        u->st = k->st;
        run(u);
    }
out:
    turn_release(&u->turn); /* the store's */
}

/* ---- webhooks ------------------------------------------------------------------------ */

static void webhook(struct http_request *req, enum ugw gw)
{
    struct gateway_error e;
    struct ussd_in in;
    struct ustep *u;
    struct buf name;
    int rc;

    if (!S.started) {
        http_reply_error(req, 503, "unavailable", "USSD is not available.");
        return;
    }
    if (!turn_room(req, USSD_RECORDS_MAX, "sessions"))
        return;
    rc = gw == UG_AT ? ussd_at_parse(req, &in, &e) : ussd_session_parse(req, &S.fields, &in, &e);
    if (rc != 0) {
        http_reply_error(req, e.status, e.code, e.message);
        return;
    }
    u = xcalloc(1, sizeof(*u));
    u->gw = gw;
    u->in = in;
    if (phone_hash_raw(S.secret, S.secret_len, in.from, u->e164, u->hash, sizeof(u->hash)) != 0) {
        free(u);
        http_reply_error(req, 400, "bad_parameter", "The caller is not a phone number.");
        return;
    }
    buf_init(&name, 256);
    if (buf_printf(&name, "ussd:%s:%s:%s", in.gateway, in.session, u->e164) != 0 ||
        phone_hash(S.secret, S.secret_len, buf_cstr(&name), u->shash, sizeof(u->shash)) != 0) {
        buf_free(&name);
        free(u);
        http_reply_error(req, 500, "internal", "The session could not be named.");
        return;
    }
    buf_free(&name);
    turn_start(&u->turn, S.base, req, S.deadline_ms, on_deadline, ustep_free);
    turn_hold(&u->turn);
    if (session_get(USSD_SESSION_SPACE, u->shash, kept_came, u) != 0)
        kept_came(u, NULL); /* releases the store's reference */
}

void ussd_at(struct http_request *req)
{
    webhook(req, UG_AT);
}

void ussd_session(struct http_request *req)
{
    webhook(req, UG_SESSION);
}

/* ---- set-up -------------------------------------------------------------------------- */

int ussd_register(void)
{
    static int registered;

    if (registered)
        return 0;
    if (outbox_register() != 0 || journal_register(&steps_stream) != 0)
        return -1;
    registered = 1;
    return 0;
}

static const char *or_default(const char *v, const char *d)
{
    return v != NULL && v[0] != '\0' ? v : d;
}

int ussd_init(struct event_base *base, const struct config *cfg)
{
    char dir[1024], err[256];

    memset(&S, 0, sizeof(S));
    snprintf(dir, sizeof(dir), "%s/templates/ussd",
             cfg->assets_dir != NULL ? cfg->assets_dir : "assets");
    if (i18n_set_load(dir, umenu_lang_codes, UL_NLANGS, &S.words, err, sizeof(err)) != 0) {
        log_error("ussd: screens: %s; USSD webhooks disabled", err);
        return 0;
    }
    S.base = base;
    S.secret = xstrdup(cfg->secret != NULL ? cfg->secret : "");
    S.secret_len = strlen(S.secret);
    S.limit.limit = cfg->ussd_sessions_per_hour > 0 ? cfg->ussd_sessions_per_hour : 30;
    S.limit.window_s = RATE_WINDOW_S;
    /* The turn ends a little before the gateway's own deadline, so the END arrives. */
    S.deadline_ms = (cfg->ussd_deadline_ms > 0 ? cfg->ussd_deadline_ms : 5000) * 4 / 5;
    S.retry_ms = cfg->ussd_retry_ms;
    S.gsm_limit = cfg->ussd_gsm_limit > 0 ? (size_t)cfg->ussd_gsm_limit : UMENU_GSM_LIMIT;
    S.ucs2_limit = cfg->ussd_ucs2_limit > 0 ? (size_t)cfg->ussd_ucs2_limit : UMENU_UCS2_LIMIT;
    S.fields.session = or_default(cfg->ussd_session_id, "sessionid");
    S.fields.msisdn = or_default(cfg->ussd_session_msisdn, "msisdn");
    S.fields.input = or_default(cfg->ussd_session_input, "msg");
    S.fields.new_flag = or_default(cfg->ussd_session_new, "type");
    S.fields.new_value = or_default(cfg->ussd_session_new_value, "1");
    S.fields.reply_json =
        cfg->ussd_session_reply != NULL && strcmp(cfg->ussd_session_reply, "json") == 0;
    S.fields.flag = or_default(cfg->ussd_session_flag, "X-USSD-Continue");
    S.fields.text = or_default(cfg->ussd_session_text, "msg");
    S.fields.cont_value = or_default(cfg->ussd_session_continue, "1");
    S.fields.end_value = or_default(cfg->ussd_session_end, "0");
    outbox_init(cfg);
    S.started = 1;
    return 0;
}

void ussd_exit(void)
{
    free(S.secret);
    i18n_set_free(S.words);
    memset(&S, 0, sizeof(S));
}
