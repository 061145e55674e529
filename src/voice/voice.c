/*
 * The voice channel; see voice.h. A step (struct vcall) is one channel turn
 * (channel/turn.h): what is remembered of the caller (first step only) and the call
 * store (Exotel) each hold a reference. In the order a step goes: the webhooks (provider
 * parsing, room in the journal), the state (URL or store), the caller, the flow, the
 * side effects (remember, SMS), the step in the provider's format, the record.
 */
#include "voice/voice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel/memory.h"
#include "channel/outbox.h"
#include "channel/phone.h"
#include "channel/session.h"
#include "channel/turn.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/directory.h"
#include "data/geo.h"
#include "data/journal.h"
#include "gateway/exotel.h"
#include "gateway/plivo.h"
#include "gateway/twilio_voice.h"
#include "gateway/voice_call.h"
#include "gateway/voice_step.h"
#include "gateway/vxml.h"
#include "media/clips.h"
#include "media/voicesum.h"
#include "net/config.h"
#include "net/form.h"
#include "net/http.h"
#include "text/grapheme.h"
#include "text/speech.h"
#include "text/summary.h"
#include "voice/callback.h"
#include "voice/vflow.h"

enum vprov { VP_TWILIO = 0, VP_PLIVO, VP_VXML, VP_EXOTEL };
static const char *const prov_names[] = {"twilio", "plivo", "vxml", "exotel"};
static const char *const prov_paths[] = {"/ivr/twilio/voice", "/ivr/plivo/voice", "/ivr/vxml/voice",
                                         "/ivr/exotel/passthru"};

#define URL_MAX VOICE_STEP_URL_MAX

/* clang-format off */

/* Every step once; its call kept up to date from the steps that are new (sql/009). */
static const struct journal_stream steps_stream = {
    "voice_steps", JOURNAL_BATCH, 0, 14,
    "WITH s AS (INSERT INTO voice_steps (provider, call_id, step, at, direction, phone_hash,"
    "  stage, event, keys, lang, state_code, district_code, latency_ms)"
    "  SELECT p, c, n, a, d, h, st, ev, k, l, sc, dc, ms FROM unnest($1::text[], $2::text[],"
    "  $3::int[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],"
    "  $10::text[], $11::int[], $12::int[], $13::int[], $14::boolean[])"
    "  AS u(p, c, n, a, d, h, st, ev, k, l, sc, dc, ms, sm)"
    "  ON CONFLICT (provider, call_id, step) DO NOTHING"
    "  RETURNING provider, call_id, step, at, direction, phone_hash, event, lang, state_code,"
    "  district_code),"
    " played AS (SELECT p, c, n FROM unnest($1::text[], $2::text[], $3::int[], $14::boolean[])"
    "  AS v(p, c, n, sm) WHERE sm),"
    " g AS (SELECT s.provider, s.call_id, min(s.direction) AS direction,"
    "  min(s.phone_hash) AS phone_hash, min(s.at) AS first_at, max(s.at) AS last_at,"
    "  count(*) AS n, max(s.step) AS last_step,"
    "  (array_agg(s.event ORDER BY s.step DESC))[1] AS last_event,"
    "  (array_agg(s.lang ORDER BY s.step DESC) FILTER (WHERE s.lang IS NOT NULL))[1] AS lang,"
    "  (array_agg(s.state_code ORDER BY s.step DESC)"
    "    FILTER (WHERE s.district_code IS NOT NULL))[1] AS sc,"
    "  (array_agg(s.district_code ORDER BY s.step DESC)"
    "    FILTER (WHERE s.district_code IS NOT NULL))[1] AS dc,"
    "  count(pl.n) AS summaries"
    "  FROM s LEFT JOIN played pl ON pl.p = s.provider AND pl.c = s.call_id AND pl.n = s.step"
    "  GROUP BY s.provider, s.call_id)"
    " INSERT INTO voice_calls AS v (provider, call_id, direction, phone_hash, started_at,"
    "  last_at, steps, last_step, last_event, lang, state_code, district_code, summaries)"
    " SELECT provider, call_id, direction, phone_hash, first_at, last_at, n, last_step,"
    "  last_event, lang, sc, dc, summaries FROM g"
    " ON CONFLICT (provider, call_id) DO UPDATE SET"
    "  direction = COALESCE(v.direction, EXCLUDED.direction),"
    "  phone_hash = COALESCE(v.phone_hash, EXCLUDED.phone_hash),"
    "  started_at = LEAST(v.started_at, EXCLUDED.started_at),"
    "  last_at = GREATEST(v.last_at, EXCLUDED.last_at),"
    "  steps = v.steps + EXCLUDED.steps,"
    "  last_event = CASE WHEN EXCLUDED.last_step > v.last_step THEN EXCLUDED.last_event"
    "   ELSE v.last_event END,"
    "  lang = CASE WHEN EXCLUDED.last_step > v.last_step THEN COALESCE(EXCLUDED.lang, v.lang)"
    "   ELSE COALESCE(v.lang, EXCLUDED.lang) END,"
    "  state_code = CASE WHEN EXCLUDED.last_step > v.last_step AND EXCLUDED.district_code IS NOT NULL"
    "   OR v.district_code IS NULL THEN EXCLUDED.state_code ELSE v.state_code END,"
    "  district_code = CASE WHEN EXCLUDED.last_step > v.last_step AND EXCLUDED.district_code IS NOT NULL"
    "   OR v.district_code IS NULL THEN EXCLUDED.district_code ELSE v.district_code END,"
    "  last_step = GREATEST(v.last_step, EXCLUDED.last_step),"
    "  summaries = v.summaries + EXCLUDED.summaries",
};

/* clang-format on */

enum step_col {
    K_PROVIDER = 0,
    K_CALL,
    K_STEP,
    K_AT,
    K_DIR,
    K_HASH,
    K_STAGE,
    K_EVENT,
    K_KEYS,
    K_LANG,
    K_STATE,
    K_DISTRICT,
    K_LATENCY,
    K_SUMMARY,
    K_NCOLS
};

static struct {
    struct event_base *base;
    int started;
    char *secret;
    size_t secret_len;
    char *twilio_token;
    char *public_url;
    char *key; /* ?key= of the unsigned providers */
} S;

/* A step kept in the call store (Exotel): the state after it and the step itself. */
struct kept {
    struct vflow_state st;
    struct voice_step step;
    int has_step;
};

struct vcall {
    struct turn turn; /* first: the turn's callbacks get it back as a vcall */
    enum vprov prov;
    enum exotel_question q;
    int greeting; /* Exotel: a Greeting applet asks for the kept step's audio */
    struct voice_call_in in;
    struct vflow_state st; /* before the step */
    struct kept kept;      /* Exotel: what the store had */
    int has_kept;
    char e164[PHONE_E164_MAX];
    char hash[PHONE_HASH_HEX];
    int has_number;
    char sealed[PHONE_SEALED_MAX]; /* VoiceXML: the number, sealed, for the next URL */
    struct memory mem;
    int recalling; /* waiting for memory_recall() */
    int ran;
};

static void vcall_free(struct turn *t)
{
    free(t);
}

/* ---- URLs ---------------------------------------------------------------------------- */

/* base into out: public_url or http://<Host>. */
static int base_url(struct vcall *c, struct buf *out)
{
    return http_base_url(c->turn.req, S.public_url, out);
}

/* A copy of b's text in the request's memory (freed with the reply). */
static const char *keep(struct vcall *c, struct buf *b)
{
    char *p = http_alloc(c->turn.req, b->len + 1);

    memcpy(p, b->data != NULL ? b->data : "", b->len);
    p[b->len] = '\0';
    return p;
}

/* The URL of clip item it, or NULL when the library has no such clip (logged). */
static const char *clip_url(struct vcall *c, const struct vflow_item *it)
{
    char did[SPEECH_ID_MAX];
    const char *id = it->id;
    struct buf u;
    const char *r = NULL;

    if (id == NULL) {
        if (speech_district_id(it->district_code, did, sizeof(did)) != 0)
            return NULL;
        id = did;
    }
    if (clips_get(it->lang, id) == NULL) {
        log_warn("voice: clip %s/%s is missing: left out", i18n_lang_code(it->lang), id);
        return NULL;
    }
    buf_init(&u, URL_MAX);
    if (base_url(c, &u) == 0 &&
        buf_printf(&u, "/audio/clips/%s/%s.wav", i18n_lang_code(it->lang), id) == 0)
        r = keep(c, &u);
    buf_free(&u);
    return r;
}

/* The URL of the summary of item it, or NULL when there is none (then the flow's
 * q_not_loaded is said instead). */
static const char *summary_url(struct vcall *c, const struct vflow_item *it)
{
    const struct directory *d = directory_current();
    const struct dir_district *row =
        d != NULL ? directory_get(d, it->state_code, it->district_code) : NULL;
    enum voicesum_status st;
    const struct voicesum *vs = voicesum_get(d, row, it->lang, &st);
    struct buf u;
    const char *r = NULL;

    if (vs == NULL)
        return NULL;
    buf_init(&u, URL_MAX);
    /* The data version in the URL: a provider that caches by URL never plays old figures. */
    if (base_url(c, &u) == 0 &&
        buf_printf(&u, "/audio/districts/%d/%s.wav?v=%lld", it->district_code,
                   i18n_lang_code(it->lang), d->version) == 0)
        r = keep(c, &u);
    buf_free(&u);
    return r;
}

/* The action URL: our path and the state after the step (and the key, the VoiceXML
 * call's identity). */
static const char *action_url(struct vcall *c, const struct vflow_state *st)
{
    struct buf u;
    const char *r = NULL;

    buf_init(&u, URL_MAX);
    if (base_url(c, &u) != 0 || buf_printf(&u, "%s?", prov_paths[c->prov]) != 0 ||
        vflow_encode(st, &u) != 0)
        goto out;
    if (c->prov != VP_TWILIO && S.key != NULL && form_add(&u, "key", S.key) != 0)
        goto out;
    if (c->prov == VP_VXML && (form_add(&u, "vc", c->in.call_id) != 0 ||
                               (c->sealed[0] != '\0' && form_add(&u, "vu", c->sealed) != 0)))
        goto out;
    r = keep(c, &u);
out:
    buf_free(&u);
    return r;
}

/* The step for the provider from the flow's out (URLs in the request's memory). */
static void make_step(struct vcall *c, const struct vflow_state *st, const struct vflow_out *o,
                      struct voice_step *s)
{
    size_t i;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < o->nplay && s->nplay < VOICE_STEP_MAX_PLAY; i++) {
        const char *u;

        if (o->play[i].kind == VI_SUMMARY) {
            u = summary_url(c, &o->play[i]);
            if (u == NULL) {
                struct vflow_item nl = {VI_CLIP, o->play[i].lang, "q_not_loaded", 0, 0};

                u = clip_url(c, &nl);
            }
        } else {
            u = clip_url(c, &o->play[i]);
        }
        if (u != NULL)
            s->play[s->nplay++] = u;
    }
    if (o->gather) {
        s->gather = 1;
        s->num_digits = o->num_digits;
        s->finish_on_hash = o->finish_on_hash;
        s->timeout_s = o->timeout_s;
        s->action = action_url(c, st);
        if (s->action == NULL) { /* cannot go on: end politely */
            s->gather = 0;
            s->hangup = 1;
        }
    } else {
        s->hangup = 1;
    }
}

/* ---- records ------------------------------------------------------------------------- */

static void record_step(struct vcall *c, enum vflow_stage stage, const struct vflow_state *st,
                        const struct vflow_out *o)
{
    char step[16], lat[24], sc[16], dc[16];
    const char *f[K_NCOLS] = {NULL};

    if (c->in.call_id[0] == '\0')
        return;
    f[K_PROVIDER] = prov_names[c->prov];
    f[K_CALL] = c->in.call_id;
    snprintf(step, sizeof(step), "%d", st->step);
    f[K_STEP] = step;
    f[K_AT] = c->turn.at;
    f[K_DIR] = st->callback ? "out" : "in";
    f[K_HASH] = c->has_number ? c->hash : NULL;
    f[K_STAGE] = vflow_stage_name(stage);
    f[K_EVENT] = o->event;
    f[K_KEYS] = o->pin_step && c->in.has_digits ? "[PIN]" : c->in.digits;
    f[K_LANG] = st->has_lang ? i18n_lang_code(st->lang) : NULL;
    if (st->district_code > 0) {
        snprintf(sc, sizeof(sc), "%d", st->state_code);
        snprintf(dc, sizeof(dc), "%d", st->district_code);
        f[K_STATE] = sc;
        f[K_DISTRICT] = dc;
    }
    snprintf(lat, sizeof(lat), "%lld", turn_age_ms(&c->turn));
    f[K_LATENCY] = lat;
    f[K_SUMMARY] = o->summary ? "t" : "f";
    if (journal_append(&steps_stream, f) != 0)
        log_error("voice: journal refused a step record");
}

/* ---- side effects -------------------------------------------------------------------- */

static void sms_sent(void *arg, enum sendsms_outcome outcome, const char *err)
{
    (void)arg;
    if (outcome != SENDSMS_SENT)
        log_warn("voice: summary SMS not sent: %s", err != NULL ? err : "?");
}

/* Key 2: the same summary by SMS, through the SMS channel's sending and record. */
static void send_summary_sms(struct vcall *c, const struct vflow_state *st)
{
    const struct directory *d = directory_current();
    const struct dir_district *row =
        d != NULL ? directory_get(d, st->state_code, st->district_code) : NULL;
    enum i18n_lang lang = st->has_lang ? st->lang : I18N_HI;
    char name[128], id[GATEWAY_ID_MAX + 16];
    struct outbox_rec r;
    struct buf b;

    if (row == NULL || !row->has_facts || !c->has_number || c->e164[0] == '\0') {
        log_warn("voice: no summary SMS for %.16s: no district or number", c->hash);
        return;
    }
    if (grapheme_clip(row->name[lang], I18N_VAR_MAX_CHARS, name, sizeof(name)) != 0)
        snprintf(name, sizeof(name), "%d", row->district_code);
    buf_init(&b, 4096);
    if (summary_render(lang, name, &row->facts, &b) != 0) {
        buf_free(&b);
        return;
    }
    memset(&r, 0, sizeof(r));
    r.at = c->turn.at;
    r.gateway = "kannel";
    snprintf(id, sizeof(id), "voice:%s:%d", c->in.call_id, st->step);
    r.id = id;
    r.hash = c->hash;
    r.state_code = row->state_code;
    r.district_code = row->district_code;
    r.lang = i18n_lang_code(lang);
    r.kind = "voice_sms";
    if (outbox_send(c->e164, buf_cstr(&b), &r, sms_sent, NULL) != 0)
        log_warn("voice: summary SMS for %.16s not sent (no sendsms configured?)", c->hash);
    buf_free(&b);
}

static void side_effects(struct vcall *c, const struct vflow_state *st, const struct vflow_out *o)
{
    if (!c->has_number)
        return;
    if (o->remember_lang && (!c->mem.has_lang || c->mem.lang != st->lang) &&
        memory_set_lang(c->hash, c->turn.at, st->lang) != 0)
        log_warn("voice: language of %.16s not remembered", c->hash);
    if (o->remember_district &&
        (!c->mem.has_district || c->mem.state_code != st->state_code ||
         c->mem.district_code != st->district_code) &&
        memory_set_district(c->hash, c->turn.at, st->state_code, st->district_code) != 0)
        log_warn("voice: district of %.16s not remembered", c->hash);
    if (o->send_sms)
        send_summary_sms(c, st);
}

/* ---- answers ------------------------------------------------------------------------- */

/* Answer the provider with s. */
static void reply_step(struct vcall *c, struct http_request *req, const struct voice_step *s)
{
    int rc = 0;

    switch (c->prov) {
    case VP_TWILIO:
        rc = twilio_voice_reply(req, s);
        break;
    case VP_PLIVO:
        rc = plivo_reply(req, s);
        break;
    case VP_VXML:
        rc = vxml_reply(req, s);
        break;
    case VP_EXOTEL:
        rc = c->greeting ? exotel_greeting_reply(req, s) : exotel_passthru_reply(req, s, c->q);
        break;
    }
    if (rc != 0)
        log_error("voice: a %s step could not be rendered", prov_names[c->prov]);
}

/* The kept step as a line-based text: the state's query, then "g d h t x", then the URLs. */
static int kept_encode(const struct vflow_state *st, const struct voice_step *s, struct buf *out)
{
    size_t i;

    if (vflow_encode(st, out) != 0 ||
        buf_printf(out, "\n%d %d %d %d %d\n", s->gather, s->num_digits, s->finish_on_hash,
                   s->timeout_s, s->hangup) != 0)
        return -1;
    for (i = 0; i < s->nplay; i++)
        if (buf_printf(out, "%s\n", s->play[i]) != 0)
            return -1;
    return 0;
}

/* Parse a kept text into k (its URLs in req's memory). Returns 0 or -1. */
static int kept_decode(struct vcall *c, const char *text, struct kept *k)
{
    const char *nl = strchr(text, '\n'), *p;
    char *copy;
    int g, nd, fh, to, hu;

    memset(k, 0, sizeof(*k));
    if (vflow_decode(text, nl != NULL ? (size_t)(nl - text) : strlen(text), &k->st) != 0)
        return -1;
    if (nl == NULL)
        return 0; /* a state only (a callback we placed): no step yet */
    if (sscanf(nl + 1, "%d %d %d %d %d", &g, &nd, &fh, &to, &hu) != 5)
        return -1;
    k->step.gather = g;
    k->step.num_digits = nd;
    k->step.finish_on_hash = fh;
    k->step.timeout_s = to;
    k->step.hangup = hu;
    k->has_step = 1;
    p = strchr(nl + 1, '\n');
    copy = http_alloc(c->turn.req, strlen(p != NULL ? p : "") + 1);
    strcpy(copy, p != NULL ? p + 1 : "");
    for (p = strtok(copy, "\n"); p != NULL && k->step.nplay < VOICE_STEP_MAX_PLAY;
         p = strtok(NULL, "\n"))
        k->step.play[k->step.nplay++] = p;
    if (k->step.gather) {
        struct buf u;

        buf_init(&u, URL_MAX);
        if (base_url(c, &u) == 0 && buf_puts(&u, prov_paths[VP_EXOTEL]) == 0)
            k->step.action = keep(c, &u);
        buf_free(&u);
        if (k->step.action == NULL)
            return -1;
    }
    return 0;
}

static void stored(void *arg, int ok)
{
    struct vcall *c = arg;
    struct http_request *req = turn_take(&c->turn);

    if (!ok)
        log_debug("voice: exotel call %s kept in this worker only", c->in.call_id);
    if (req != NULL) {
        struct kept *k = &c->kept;

        reply_step(c, req, &k->step);
        turn_release(&c->turn); /* the reply's */
    }
    turn_release(&c->turn); /* the store's */
}

/* ---- the flow ------------------------------------------------------------------------ */

static void run(struct vcall *c)
{
    struct vflow_state st = c->st;
    struct vflow_input in;
    struct vflow_env env;
    struct vflow_out o;
    struct voice_step s;
    struct http_request *req;
    enum vflow_stage stage = st.stage;

    if (c->ran || c->turn.req == NULL)
        return;
    c->ran = 1;
    memset(&env, 0, sizeof(env));
    env.dir = directory_current();
    if (c->mem.has_lang) {
        env.has_lang = 1;
        env.lang = c->mem.lang;
    }
    if (c->mem.has_district) {
        env.has_district = 1;
        env.state_code = c->mem.state_code;
        env.district_code = c->mem.district_code;
    }
    in.digits = c->in.has_digits ? c->in.digits : NULL;
    /* The '#' that ends a PIN, where the provider passes it on. */
    if (in.digits != NULL) {
        size_t n = strlen(c->in.digits);

        if (n > 0 && c->in.digits[n - 1] == '#')
            c->in.digits[n - 1] = '\0';
        in.digits = c->in.digits;
    }
    if (vflow_step(&st, &in, &env, &o) != 0)
        log_warn("voice: %s call %s came with a state that is not valid", prov_names[c->prov],
                 c->in.call_id);
    side_effects(c, &st, &o);
    make_step(c, &st, &o, &s);
    record_step(c, stage, &st, &o);
    log_queue(LOG_DEBUG, "voice: %s %s %.16s %s -> %s %s %lldms", prov_names[c->prov],
              c->in.call_id, c->has_number ? c->hash : "-", vflow_stage_name(stage),
              vflow_stage_name(st.stage), o.event != NULL ? o.event : "-", turn_age_ms(&c->turn));
    if (c->prov == VP_EXOTEL) {
        /* Keep the step for the applets that ask about it, then answer. */
        struct buf b;

        c->kept.st = st;
        c->kept.step = s;
        c->kept.has_step = 1;
        buf_init(&b, SESSION_VALUE_MAX);
        turn_hold(&c->turn);
        if (kept_encode(&st, &s, &b) != 0 ||
            session_put(VOICE_SESSION_SPACE, c->in.call_id, buf_cstr(&b), VOICE_SESSION_TTL_S,
                        stored, c) != 0) {
            turn_release(&c->turn);
            log_warn("voice: exotel call %s not kept", c->in.call_id);
        } else {
            buf_free(&b);
            return;
        }
        buf_free(&b);
    }
    req = turn_take(&c->turn);
    if (req == NULL)
        return;
    reply_step(c, req, &s);
    turn_release(&c->turn); /* the reply's */
}

static void recalled(void *arg, const struct memory *m)
{
    struct vcall *c = arg;

    c->recalling = 0;
    if (m != NULL)
        c->mem = *m;
    run(c);
    turn_release(&c->turn); /* the recall's */
}

static void on_deadline(struct turn *t)
{
    struct vcall *c = (struct vcall *)t;

    /* Memory (or the store) is late: go on without it. */
    run(c);
}

/* The caller of c: the one who called in, or the one a callback calls. */
static void caller(struct vcall *c)
{
    const char *raw = c->st.callback ? c->in.to : c->in.from;

    if (raw[0] == '\0' && c->prov == VP_VXML) {
        /* A VoiceXML platform names the caller only on the first fetch: the number
         * travels sealed in our URLs. */
        struct buf v;
        const char *qs = http_query(c->turn.req);

        buf_init(&v, PHONE_SEALED_MAX + 1);
        if (qs != NULL && form_get(qs, strlen(qs), "vu", &v) == 1 &&
            phone_unseal(S.secret, S.secret_len, buf_cstr(&v), c->e164, sizeof(c->e164)) == 0 &&
            phone_hash(S.secret, S.secret_len, c->e164, c->hash, sizeof(c->hash)) == 0) {
            c->has_number = 1;
            snprintf(c->sealed, sizeof(c->sealed), "%s", buf_cstr(&v));
        }
        buf_free(&v);
        return;
    }
    if (phone_hash_raw(S.secret, S.secret_len, raw, c->e164, c->hash, sizeof(c->hash)) == 0) {
        c->has_number = 1;
        if (c->prov == VP_VXML &&
            phone_seal(S.secret, S.secret_len, c->e164, c->sealed, sizeof(c->sealed)) != 0)
            c->sealed[0] = '\0';
    }
}

/* Start the step: recall the caller on the first step, then run. */
static void begin(struct vcall *c)
{
    caller(c);
    turn_hold(&c->turn); /* begin's own: run may answer before it returns */
    if (c->st.stage == VF_START && c->has_number) {
        c->recalling = 1;
        turn_hold(&c->turn);
        if (memory_recall(c->hash, recalled, c) != 0) {
            c->recalling = 0;
            turn_release(&c->turn);
            run(c);
        }
    } else {
        run(c);
    }
    turn_release(&c->turn); /* begin's own */
}

/* ---- webhooks ------------------------------------------------------------------------ */

static int can_take(struct http_request *req)
{
    if (!S.started) {
        http_reply_error(req, 503, "unavailable", "Voice is not available.");
        return 0;
    }
    return turn_room(req, VOICE_RECORDS_MAX, "calls");
}

static struct vcall *vcall_new(struct http_request *req, enum vprov prov)
{
    struct vcall *c = xcalloc(1, sizeof(*c));

    c->prov = prov;
    turn_start(&c->turn, S.base, req, VOICE_DEADLINE_MS, on_deadline, vcall_free);
    return c;
}

/* Twilio, Plivo, VoiceXML: the state is in our URL's query. */
static void url_webhook(struct http_request *req, enum vprov prov)
{
    struct gateway_error e;
    struct voice_call_in in;
    struct vcall *c;
    const char *qs = http_query(req);
    int rc;

    if (!can_take(req))
        return;
    switch (prov) {
    case VP_TWILIO:
        rc = twilio_voice_parse(req, S.twilio_token, S.public_url, &in, &e);
        if (rc != 0 && e.status == 403 && S.twilio_token == NULL)
            log_warn("voice: twilio request refused: TWILIO_AUTH_TOKEN is not set");
        break;
    case VP_PLIVO:
        rc = plivo_parse(req, S.key, &in, &e);
        break;
    case VP_VXML:
    default:
        rc = vxml_parse(req, S.key, &in, &e);
        break;
    }
    if (rc != 0) {
        http_reply_error(req, e.status, e.code, e.message);
        return;
    }
    c = vcall_new(req, prov);
    c->in = in;
    if (vflow_decode(qs, qs != NULL ? strlen(qs) : 0, &c->st) != 0) {
        log_warn("voice: %s call with a state that does not parse: starting again",
                 prov_names[prov]);
        memset(&c->st, 0, sizeof(c->st));
    }
    if (prov == VP_VXML && c->in.call_id[0] == '\0') {
        /* A platform that names no call: our own id, kept in the URLs from now on. */
        struct buf v;

        buf_init(&v, VOICE_CALL_ID_MAX);
        if (qs != NULL && form_get(qs, strlen(qs), "vc", &v) == 1 && v.len > 0 &&
            v.len < VOICE_CALL_ID_MAX &&
            strspn(buf_cstr(&v), "abcdefghijklmnopqrstuvwxyz"
                                 "0123456789-") == v.len)
            snprintf(c->in.call_id, sizeof(c->in.call_id), "%s", buf_cstr(&v));
        else
            snprintf(c->in.call_id, sizeof(c->in.call_id), "vx-%lld-%d-%u", turn_now_ms(),
                     (int)getpid(), (unsigned)rand());
        buf_free(&v);
    }
    begin(c);
}

void voice_twilio(struct http_request *req)
{
    url_webhook(req, VP_TWILIO);
}

void voice_plivo(struct http_request *req)
{
    url_webhook(req, VP_PLIVO);
}

void voice_vxml(struct http_request *req)
{
    url_webhook(req, VP_VXML);
}

/* Exotel: what the store keeps of the call decides. */
static void exotel_got(void *arg, const char *value)
{
    struct vcall *c = arg;
    struct http_request *req;

    if (c->turn.req == NULL)
        goto out; /* answered at the deadline */
    if (value != NULL && kept_decode(c, value, &c->kept) == 0)
        c->has_kept = 1;
    if (c->greeting || c->q != EXOTEL_ASK_GATHER) {
        /* A question about the kept step: answer from it (nothing kept: goodbye). */
        struct voice_step bye;

        req = turn_take(&c->turn);
        if (req == NULL)
            goto out;
        if (!c->has_kept || !c->kept.has_step) {
            memset(&bye, 0, sizeof(bye));
            bye.hangup = 1;
            reply_step(c, req, &bye);
        } else {
            reply_step(c, req, &c->kept.step);
        }
        turn_release(&c->turn); /* the reply's */
        goto out;
    }
    /* The flow goes on from the kept state; digits count only after a gathering step
     * (Exotel repeats an earlier Gather's digits to later Passthrus). */
    if (c->has_kept) {
        c->st = c->kept.st;
        if (!c->kept.has_step || !c->kept.step.gather) {
            c->in.digits[0] = '\0';
            c->in.has_digits = 0;
        }
    } else {
        memset(&c->st, 0, sizeof(c->st));
        c->in.digits[0] = '\0';
        c->in.has_digits = 0;
    }
    begin(c);
out:
    turn_release(&c->turn); /* the store's */
}

static void exotel_deadline(struct turn *t)
{
    struct vcall *c = (struct vcall *)t;
    struct http_request *req = turn_take(t);
    struct voice_step bye;

    /* The store did not answer in time: end the call politely rather than hang. */
    if (req == NULL)
        return;
    (void)c;
    memset(&bye, 0, sizeof(bye));
    bye.hangup = 1;
    reply_step(c, req, &bye);
    turn_release(t);
}

static void exotel_webhook(struct http_request *req, int greeting)
{
    struct gateway_error e;
    struct vcall *c;
    enum exotel_question q;
    struct voice_call_in in;

    if (!can_take(req))
        return;
    if (exotel_parse(req, S.key, &in, &q, &e) != 0) {
        http_reply_error(req, e.status, e.code, e.message);
        return;
    }
    c = vcall_new(req, VP_EXOTEL);
    c->in = in;
    c->q = q;
    c->greeting = greeting;
    if (greeting || q != EXOTEL_ASK_GATHER)
        c->turn.on_deadline = exotel_deadline;
    turn_hold(&c->turn);
    if (session_get(VOICE_SESSION_SPACE, c->in.call_id, exotel_got, c) != 0)
        exotel_got(c, NULL); /* releases the store's reference */
}

void voice_exotel_passthru(struct http_request *req)
{
    exotel_webhook(req, 0);
}

void voice_exotel_greeting(struct http_request *req)
{
    exotel_webhook(req, 1);
}

/* ---- status callbacks ---------------------------------------------------------------- */

static void status_webhook(struct http_request *req, enum vprov prov)
{
    struct gateway_error e;
    struct voice_call_in in;
    enum exotel_question q;
    int rc;

    if (!can_take(req))
        return;
    switch (prov) {
    case VP_TWILIO:
        rc = twilio_voice_parse(req, S.twilio_token, S.public_url, &in, &e);
        break;
    case VP_EXOTEL:
        rc = exotel_parse(req, S.key, &in, &q, &e);
        break;
    case VP_PLIVO:
    default:
        rc = plivo_parse(req, S.key, &in, &e);
        break;
    }
    if (rc != 0) {
        http_reply_error(req, e.status, e.code, e.message);
        return;
    }
    if (callback_status(prov_names[prov], &in) != 0) {
        http_reply_error(req, 503, "busy", "The status could not be recorded; please retry.");
        return;
    }
    http_reply(req, 204, NULL, NULL, 0);
}

void voice_twilio_status(struct http_request *req)
{
    status_webhook(req, VP_TWILIO);
}

void voice_exotel_status(struct http_request *req)
{
    status_webhook(req, VP_EXOTEL);
}

void voice_plivo_status(struct http_request *req)
{
    status_webhook(req, VP_PLIVO);
}

/* ---- set-up -------------------------------------------------------------------------- */

const char *voice_clip_at(unsigned i)
{
    unsigned n = 0;

    while (vflow_clip_ids[n] != NULL)
        n++;
    if (i < n)
        return vflow_clip_ids[i];
    return speech_clip_at(i - n);
}

int voice_register(void)
{
    static int registered;

    if (registered)
        return 0;
    if (outbox_register() != 0 || journal_register(&steps_stream) != 0 || callback_register() != 0)
        return -1;
    registered = 1;
    return 0;
}

int voice_init(struct event_base *base, const struct config *cfg)
{
    memset(&S, 0, sizeof(S));
    if (!clips_loaded()) {
        log_error("voice: no clip library loaded; IVR webhooks disabled");
        return 0;
    }
    S.base = base;
    S.secret = xstrdup(cfg->secret != NULL ? cfg->secret : "");
    S.secret_len = strlen(S.secret);
    S.twilio_token = cfg->twilio_auth_token != NULL ? xstrdup(cfg->twilio_auth_token) : NULL;
    S.public_url = cfg->public_url != NULL ? xstrdup(cfg->public_url) : NULL;
    S.key = cfg->voice_webhook_key != NULL ? xstrdup(cfg->voice_webhook_key) : NULL;
    outbox_init(cfg);
    if (callback_init(base, cfg) != 0)
        return -1;
    S.started = 1;
    return 0;
}

void voice_exit(void)
{
    callback_exit();
    free(S.secret);
    free(S.twilio_token);
    free(S.public_url);
    free(S.key);
    memset(&S, 0, sizeof(S));
}
