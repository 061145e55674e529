/*
 * The SMS channel; see sms.h. A message (struct msg) is one channel turn (channel/turn.h):
 * the gate's callback, a wait for the first directory and a deferred sendsms each hold a
 * reference, and the turn answers the webhook exactly once. In the order a message goes:
 * the webhooks (gateway parsing, room in the journal), the gate (duplicates, limit,
 * language), the command, the district, the reply, the records.
 */
#include "sms/sms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel/gate.h"
#include "channel/memory.h"
#include "channel/outbox.h"
#include "channel/phone.h"
#include "channel/turn.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/directory.h"
#include "data/geo.h"
#include "data/journal.h"
#include "gateway/generic.h"
#include "gateway/kannel.h"
#include "gateway/twilio.h"
#include "net/config.h"
#include "net/http.h"
#include "text/grapheme.h"
#include "text/i18n.h"
#include "text/pin.h"
#include "text/search.h"
#include "text/smscmd.h"
#include "text/smsenc.h"
#include "text/summary.h"

enum gw { GW_KANNEL = 0, GW_TWILIO, GW_GENERIC };
static const char *const gw_names[] = {"kannel", "twilio", "generic"};

/* clang-format off */

/* SUB and STOP, in the order they came: $1 'sub' or 'stop', $2 phone, $3 hash, $4 state,
 * $5 district, $6 lang. */
static const struct journal_stream subscriptions_stream = {
    "sms_subscriptions", JOURNAL_EACH, 1, 6,
    "WITH s AS (INSERT INTO sms_subscriptions (phone, phone_hash, state_code, district_code, lang)"
    "  SELECT $2, $3, $4::int, $5::int, $6 WHERE $1 = 'sub'"
    "  ON CONFLICT (phone_hash, district_code) DO UPDATE SET active = true, stopped_at = NULL,"
    "  phone = EXCLUDED.phone, state_code = EXCLUDED.state_code, lang = EXCLUDED.lang"
    "  RETURNING 1),"
    " t AS (UPDATE sms_subscriptions SET active = false, stopped_at = now()"
    "  WHERE $1 = 'stop' AND phone_hash = $3 AND active RETURNING 1)"
    " SELECT (SELECT count(*) FROM s), (SELECT count(*) FROM t)",
};

/* clang-format on */

static struct {
    struct event_base *base;
    int started;
    struct limit_policy limit;
    char *secret;
    size_t secret_len;
    char *twilio_token;
    char *public_url;
    struct generic_fields json;
    char *json_from, *json_text, *json_id;
} S;

struct msg {
    struct turn turn; /* first: the turn's callbacks get it back as a msg */
    enum gw gw;
    char id[GATEWAY_ID_MAX];
    char e164[PHONE_E164_MAX];
    char hash[PHONE_HASH_HEX];
    char *text; /* UTF-8, NUL-terminated */
    size_t text_len;
    struct smscmd cmd;
    enum i18n_lang lang;
    struct memory mem;       /* what the gate found remembered of the number */
    const char *kind;        /* for the record: smscmd kind or "limited" */
    int row_state, row_code; /* the district of the reply, if any */
    int waiting;             /* for the first directory */
};

static void msg_free(struct turn *t)
{
    struct msg *m = (struct msg *)t;

    free(m->text);
    free(m);
}

/* ---- records ------------------------------------------------------------------------- */

/* One sms_messages record of m in direction dir. */
static void record_one(const struct msg *m, const char *dir, const char *text, int parts,
                       int coding, long long latency)
{
    struct outbox_rec r;

    memset(&r, 0, sizeof(r));
    r.at = m->turn.at;
    r.direction = dir;
    r.gateway = gw_names[m->gw];
    r.id = m->id;
    r.hash = m->hash;
    r.text = text;
    r.state_code = m->row_state;
    r.district_code = m->row_code;
    r.lang = i18n_lang_code(m->lang);
    r.kind = m->kind;
    r.parts = parts;
    r.coding = coding;
    r.latency_ms = latency;
    (void)!outbox_record(&r); /* logged there */
}

/* The inbound text as recorded: clipped, and a PIN code in it never kept in the clear. */
static void record_in(const struct msg *m, long long latency)
{
    char clipped[SMS_TEXT_MAX * 4 + 1];
    struct buf kept;

    if (grapheme_clip(m->text, SMS_TEXT_MAX, clipped, sizeof(clipped)) != 0)
        snprintf(clipped, sizeof(clipped), "%s", m->text); /* the journal repairs it */
    buf_init(&kept, sizeof(clipped) * 2);
    if (pin_redact(clipped, strlen(clipped), &kept) != 0)
        buf_reset(&kept);
    record_one(m, "in", buf_cstr(&kept), 0, 0, latency);
    buf_free(&kept);
}

static void record_out(const struct msg *m, const char *reply, long long latency)
{
    struct smsenc_info info;

    if (reply == NULL || reply[0] == '\0' || smsenc_analyse(reply, strlen(reply), &info) != 0)
        return;
    record_one(m, "out", reply, (int)info.parts, info.coding, latency);
}

/* ---- answers ------------------------------------------------------------------------- */

static void gateway_reply(enum gw gw, struct http_request *req, const char *reply)
{
    switch (gw) {
    case GW_KANNEL:
        kannel_reply(req, reply);
        break;
    case GW_TWILIO:
        twilio_reply(req, reply);
        break;
    case GW_GENERIC:
        generic_reply(req, reply);
        break;
    }
}

static void log_msg_line(const struct msg *m, const char *what, long long latency)
{
    log_queue(LOG_DEBUG, "sms: %s %s from %.16s kind=%s district=%d lang=%s %s %lldms",
              gw_names[m->gw], m->id[0] != '\0' ? m->id : "-", m->hash,
              m->kind != NULL ? m->kind : "-", m->row_code, i18n_lang_code(m->lang), what, latency);
}

/* Answer the webhook with reply (NULL or "" = send nothing), recording both directions
 * when record_it. */
static void answer(struct msg *m, const char *reply, int record_it)
{
    struct http_request *req = turn_take(&m->turn);
    long long latency = turn_age_ms(&m->turn);

    if (req == NULL)
        return;
    gateway_reply(m->gw, req, reply);
    log_msg_line(m, "answered", latency);
    if (record_it) {
        record_in(m, latency);
        record_out(m, reply, latency);
    }
    turn_release(&m->turn); /* the reply's */
}

static void sent(void *arg, enum sendsms_outcome outcome, const char *err)
{
    struct msg *m = arg;

    if (outcome != SENDSMS_SENT)
        log_warn("sms: deferred answer to %.16s not sent: %s", m->hash, err != NULL ? err : "?");
    turn_release(&m->turn); /* the send's */
}

/* The answer: in the webhook's reply while it waits, else, for a deferred turn, through
 * Kannel's sendsms (the inbound record was written when it was acknowledged). */
static void deliver(struct msg *m, const char *reply)
{
    struct outbox_rec r;

    if (m->turn.req != NULL) {
        answer(m, reply, 1);
        return;
    }
    if (!m->turn.deferred || reply == NULL || reply[0] == '\0')
        return;
    m->turn.deferred = 0;
    turn_hold(&m->turn);
    memset(&r, 0, sizeof(r));
    r.at = m->turn.at;
    r.gateway = gw_names[m->gw];
    r.id = m->id;
    r.hash = m->hash;
    r.state_code = m->row_state;
    r.district_code = m->row_code;
    r.lang = i18n_lang_code(m->lang);
    r.kind = m->kind;
    r.latency_ms = turn_age_ms(&m->turn);
    if (outbox_send(m->e164, reply, &r, sent, m) != 0) {
        log_warn("sms: deferred answer to %.16s not sent", m->hash);
        turn_release(&m->turn);
        return;
    }
    log_msg_line(m, "deferred answer sent", turn_age_ms(&m->turn));
}

/* Render template id with n values in the message's language and deliver it. */
static void answer_tpl(struct msg *m, const char *id, const char *const *vals, size_t n)
{
    struct buf b;

    buf_init(&b, 4096);
    if (i18n_render(m->lang, id, vals, n, &b) != 0) {
        log_error("sms: template %s does not render", id);
        buf_reset(&b);
    }
    deliver(m, buf_cstr(&b));
    buf_free(&b);
}

static void on_deadline(struct turn *t)
{
    struct msg *m = (struct msg *)t;

    if (m->waiting && m->gw == GW_KANNEL && outbox_can_send()) {
        /* Acknowledge now (an empty body sends nothing) and record the message; the
         * answer follows through sendsms once the directory is there. */
        struct http_request *req = turn_take(&m->turn);

        turn_defer(&m->turn);
        kannel_reply(req, "");
        record_in(m, turn_age_ms(&m->turn));
        turn_release(&m->turn); /* the reply's */
        return;
    }
    answer_tpl(m, "TRY_LATER", NULL, 0);
}

/* ---- districts ----------------------------------------------------------------------- */

/* A district's name in the message's language, clipped for a template. */
static void district_name(const struct msg *m, const struct dir_district *row, char *out,
                          size_t outlen)
{
    if (grapheme_clip(row->name[m->lang], I18N_VAR_MAX_CHARS, out, outlen) != 0)
        snprintf(out, outlen, "%d", row->district_code);
}

/* "1752 Niwari MP" (at most 30 characters). */
static void choice_text(const struct dir_district *row, enum i18n_lang lang, char *out,
                        size_t outlen)
{
    const char *st = lang == I18N_HI ? row->state[I18N_HI] : row->state_short;
    char full[256];

    if (lang == I18N_HI && row->state[I18N_HI] == row->state[I18N_EN])
        st = row->state_short; /* no Hindi name for the state */
    snprintf(full, sizeof(full), "%d %s %s", row->district_code, row->name[lang], st);
    if (grapheme_clip(full, I18N_VAR_MAX_CHARS, out, outlen) != 0 || strlen(out) < strlen(full)) {
        snprintf(full, sizeof(full), "%d %s", row->district_code, row->name[lang]);
        if (grapheme_clip(full, I18N_VAR_MAX_CHARS, out, outlen) != 0)
            snprintf(out, outlen, "%d", row->district_code);
    }
}

/*
 * Find the district arg names in d: a name (any script, typos, a former name) or a PIN
 * code (data/geo.h). Returns its row when it has figures, or NULL when the message was
 * answered (ambiguous, not found, or a district whose figures are not loaded).
 */
static const struct dir_district *match_district(struct msg *m, const struct directory *d,
                                                 struct slice arg)
{
    char q[SEARCH_QUERY_MAX + 1], choices[3][64], name[128];
    const struct dir_district *row;
    const char *vals[3];
    struct geo_lookup g;
    size_t i, k = 0;

    snprintf(q, sizeof(q), "%.*s", (int)(arg.len < SEARCH_QUERY_MAX ? arg.len : SEARCH_QUERY_MAX),
             arg.ptr);
    geo_lookup(d, q, &g);
    if (g.n == 0) {
        /* Someone who wrote the keyword or a number meant a district; else say what to send. */
        int digits = 1;

        for (i = 0; i < arg.len; i++)
            if (arg.ptr[i] < '0' || arg.ptr[i] > '9')
                digits = 0;
        answer_tpl(m, g.pin != 0 || digits || arg.len + 4 <= m->text_len ? "NOT_FOUND" : "UNKNOWN",
                   NULL, 0);
        return NULL;
    }
    if (g.close > 1) {
        /* Choices to send back by code: only districts with figures have one. */
        for (i = 0; i < g.close && k < 3; i++) {
            if (!g.m[i].row->has_id)
                continue;
            choice_text(g.m[i].row, m->lang, choices[k], sizeof(choices[k]));
            vals[k] = choices[k];
            k++;
        }
        if (k >= 2) {
            if (k == 2)
                vals[2] = NULL;
            m->kind = "ambiguous";
            answer_tpl(m, "AMBIGUOUS", vals, 3);
            return NULL;
        }
    }
    row = g.m[0].row;
    if (!row->has_id || !geo_has_data(row)) {
        /* Known, but its state's figures are not in the database: say so, in plain words. */
        if (row->has_id) {
            m->row_state = row->state_code;
            m->row_code = row->district_code;
        }
        district_name(m, row, name, sizeof(name));
        vals[0] = name;
        m->kind = "not_loaded";
        answer_tpl(m, row->has_id ? "NODATA" : "NOT_LOADED", vals, 1);
        return NULL;
    }
    m->row_state = row->state_code;
    m->row_code = row->district_code;
    /* Remembered for the other channels (a missed call answers with it); only a change is
     * written. */
    if ((!m->mem.has_district || m->mem.state_code != row->state_code ||
         m->mem.district_code != row->district_code) &&
        memory_set_district(m->hash, m->turn.at, row->state_code, row->district_code) != 0)
        log_warn("sms: district of %.16s not remembered", m->hash);
    return row;
}

static void subscription_change(struct msg *m, const char *op)
{
    char s[16] = "", d[16] = "";
    const char *f[6] = {op, m->e164, m->hash, NULL, NULL, i18n_lang_code(m->lang)};

    if (m->row_code > 0) {
        snprintf(s, sizeof(s), "%d", m->row_state);
        snprintf(d, sizeof(d), "%d", m->row_code);
        f[3] = s;
        f[4] = d;
    }
    if (journal_append(&subscriptions_stream, f) != 0)
        log_error("sms: journal refused a subscription change");
}

static void proceed_with(struct msg *m, const struct directory *d);

static void directory_came(void *arg, const struct directory *d)
{
    struct msg *m = arg;

    m->waiting = 0;
    if (d != NULL && (m->turn.req != NULL || m->turn.deferred))
        proceed_with(m, d);
    turn_release(&m->turn); /* the wait's */
}

/* What needs a district: wait for the first directory when there is none yet. */
static void proceed_district(struct msg *m)
{
    const struct directory *d = directory_current();

    if (d != NULL) {
        proceed_with(m, d);
        return;
    }
    m->waiting = 1;
    turn_hold(&m->turn);
    if (directory_when_ready(directory_came, m) != 0) {
        m->waiting = 0;
        turn_release(&m->turn);
        answer_tpl(m, "TRY_LATER", NULL, 0);
    }
}

/*
 * The summary replies this worker rendered, by directory, district row and language: the
 * same text for everyone who asks about that district in that language until the data
 * changes (a new directory). Direct-mapped, REPLIES slots, each a malloc'd copy.
 */
#define REPLIES 128

static struct {
    const struct directory *d;
    long long built_ms;
    const struct dir_district *row;
    enum i18n_lang lang;
    char *text;
} replies[REPLIES];

static size_t reply_slot(const struct dir_district *row, enum i18n_lang lang)
{
    return ((size_t)row->district_code * 2 + (size_t)lang) % REPLIES;
}

static const char *reply_cached(const struct directory *d, const struct dir_district *row,
                                enum i18n_lang lang)
{
    size_t i = reply_slot(row, lang);

    if (replies[i].text != NULL && replies[i].d == d && replies[i].built_ms == d->built_ms &&
        replies[i].row == row && replies[i].lang == lang)
        return replies[i].text;
    return NULL;
}

static void reply_keep(const struct directory *d, const struct dir_district *row,
                       enum i18n_lang lang, const char *text)
{
    size_t i = reply_slot(row, lang);

    free(replies[i].text);
    replies[i].d = d;
    replies[i].built_ms = d->built_ms;
    replies[i].row = row;
    replies[i].lang = lang;
    replies[i].text = xstrdup(text);
}

static void proceed_with(struct msg *m, const struct directory *d)
{
    const char *cached;
    const struct dir_district *row;
    char name[128];
    const char *vals[1];
    struct buf b;

    if (m->cmd.kind == SMSCMD_SUB) {
        if ((row = match_district(m, d, m->cmd.arg)) == NULL)
            return;
        subscription_change(m, "sub");
        district_name(m, row, name, sizeof(name));
        vals[0] = name;
        answer_tpl(m, "SUB_OK", vals, 1);
        return;
    }
    if ((row = match_district(m, d, m->cmd.arg)) == NULL)
        return;
    if (row->has_facts && (cached = reply_cached(d, row, m->lang)) != NULL) {
        deliver(m, cached);
        return;
    }
    buf_init(&b, 4096);
    if (row->has_facts) {
        district_name(m, row, name, sizeof(name));
        if (summary_render(m->lang, name, &row->facts, &b) != 0) {
            log_error("sms: summary of %d does not render", row->district_code);
            buf_reset(&b);
        } else {
            reply_keep(d, row, m->lang, buf_cstr(&b));
        }
    }
    if (b.len == 0) {
        district_name(m, row, name, sizeof(name));
        vals[0] = name;
        if (i18n_render(m->lang, "NODATA", vals, 1, &b) != 0)
            buf_reset(&b);
    }
    deliver(m, buf_cstr(&b));
    buf_free(&b);
}

/* The message past the gate: decide and answer. */
static void proceed(struct msg *m)
{
    m->kind = smscmd_kind_name(m->cmd.kind);
    switch (m->cmd.kind) {
    case SMSCMD_HELP:
        answer_tpl(m, "HELP", NULL, 0);
        return;
    case SMSCMD_STOP:
        subscription_change(m, "stop");
        answer_tpl(m, "STOP_OK", NULL, 0);
        return;
    case SMSCMD_LANG_HI:
    case SMSCMD_LANG_EN:
        m->lang = m->cmd.kind == SMSCMD_LANG_HI ? I18N_HI : I18N_EN;
        if ((!m->mem.has_lang || m->mem.lang != m->lang) &&
            memory_set_lang(m->hash, m->turn.at, m->lang) != 0)
            log_warn("sms: language of %.16s not remembered", m->hash);
        answer_tpl(m, m->lang == I18N_HI ? "LANG_HI" : "LANG_EN", NULL, 0);
        return;
    case SMSCMD_SUB:
        if (m->cmd.arg.len == 0) {
            answer_tpl(m, "SUB_USAGE", NULL, 0);
            return;
        }
        proceed_district(m);
        return;
    case SMSCMD_QUERY:
        proceed_district(m);
        return;
    case SMSCMD_EMPTY:
    default:
        m->kind = "unknown";
        answer_tpl(m, "UNKNOWN", NULL, 0);
        return;
    }
}

/* ---- the gate ------------------------------------------------------------------------ */

static void gate_done(void *arg, const struct gate_result *r)
{
    struct msg *m = arg;
    const char *vals[1];
    char mins[32];

    if (m->turn.req == NULL)
        goto out; /* answered at the deadline */
    if (r->duplicate) {
        /* A retry of a message we already answered: no second SMS. */
        m->kind = "duplicate";
        answer(m, "", 0);
        goto out;
    }
    m->mem = r->memory;
    if (r->memory.has_lang)
        m->lang = r->memory.lang;
    if (r->limit.over && m->cmd.kind != SMSCMD_STOP) {
        /* The first message over the limit is told when to come back; later ones get
         * nothing. STOP always goes through. */
        m->kind = "limited";
        if (r->limit.count == r->limit.limit + 1) {
            snprintf(mins, sizeof(mins), "%lld", (r->limit.reset_s + 59) / 60);
            vals[0] = mins;
            answer_tpl(m, "RATE_LIMIT", vals, 1);
        } else {
            answer(m, "", 1);
        }
        goto out;
    }
    proceed(m);
out:
    turn_release(&m->turn); /* the gate's */
}

/*
 * Start handling a message (text already UTF-8; copied). Answers req exactly once.
 */
static void msg_start(struct http_request *req, enum gw gw, const struct gateway_msg *in)
{
    struct gate_request q;
    struct msg *m;
    size_t len = in->text.len;

    m = xcalloc(1, sizeof(*m));
    m->gw = gw;
    snprintf(m->id, sizeof(m->id), "%s", in->id);
    m->text = xmalloc(len + 1);
    if (len > 0)
        memcpy(m->text, in->text.data, len);
    m->text[len] = '\0';
    m->text_len = len;
    if (phone_hash_raw(S.secret, S.secret_len, in->from, m->e164, m->hash, sizeof(m->hash)) != 0) {
        http_reply_error(req, 400, "bad_parameter", "The sender is not a phone number.");
        msg_free(&m->turn);
        return;
    }
    if (smscmd_parse(m->text, m->text_len, &m->cmd) != 0)
        m->cmd.kind = SMSCMD_EMPTY;
    m->lang = m->cmd.script == SMSCMD_SCRIPT_DEVANAGARI ? I18N_HI : I18N_EN;
    turn_start(&m->turn, S.base, req, SMS_DEADLINE_MS, on_deadline, msg_free);
    turn_hold(&m->turn); /* msg_start's own: the gate may answer before it returns */

    memset(&q, 0, sizeof(q));
    q.channel = "sms";
    q.gateway = gw_names[gw];
    q.id = m->id;
    q.hash = m->hash;
    q.limit = S.limit;
    q.wait_ms = SMS_REDIS_WAIT_MS;
    turn_hold(&m->turn);
    if (gate_pass(&q, gate_done, m) != 0) {
        turn_release(&m->turn);
        answer_tpl(m, "TRY_LATER", NULL, 0);
    }
    turn_release(&m->turn); /* msg_start's own */
}

/* ---- webhooks ------------------------------------------------------------------------ */

/* 1 when the channel can take a message now; else req was answered 503. */
static int can_take(struct http_request *req)
{
    if (!S.started) {
        http_reply_error(req, 503, "unavailable", "SMS is not available.");
        return 0;
    }
    return turn_room(req, SMS_RECORDS_MAX, "messages");
}

static void webhook(struct http_request *req, enum gw gw)
{
    struct gateway_msg in;
    struct gateway_error e;
    int rc;

    if (!can_take(req))
        return;
    gateway_msg_init(&in, gw_names[gw]);
    switch (gw) {
    case GW_KANNEL:
        rc = kannel_parse(req, &in, &e);
        break;
    case GW_TWILIO:
        rc = twilio_parse(req, S.twilio_token, S.public_url, &in, &e);
        if (rc != 0 && e.status == 403 && S.twilio_token == NULL)
            log_warn("sms: twilio request refused: TWILIO_AUTH_TOKEN is not set");
        break;
    case GW_GENERIC:
    default:
        rc = generic_parse(req, &S.json, &in, &e);
        break;
    }
    if (rc != 0)
        http_reply_error(req, e.status, e.code, e.message);
    else
        msg_start(req, gw, &in);
    gateway_msg_free(&in);
}

void sms_kannel(struct http_request *req)
{
    webhook(req, GW_KANNEL);
}

void sms_twilio(struct http_request *req)
{
    webhook(req, GW_TWILIO);
}

void sms_generic(struct http_request *req)
{
    webhook(req, GW_GENERIC);
}

/* ---- set-up -------------------------------------------------------------------------- */

int sms_register(void)
{
    static int registered;

    if (registered)
        return 0;
    if (outbox_register() != 0 || journal_register(&subscriptions_stream) != 0)
        return -1;
    registered = 1;
    return 0;
}

int sms_init(struct event_base *base, const struct config *cfg)
{
    char dir[1024], err[256];

    memset(&S, 0, sizeof(S));
    /* The templates: loaded here when start-up has not (once per process). */
    if (i18n_count() == 0) {
        snprintf(dir, sizeof(dir), "%s/templates",
                 cfg->assets_dir != NULL ? cfg->assets_dir : "assets");
        if (i18n_load(dir, err, sizeof(err)) != 0) {
            /* The rest of the server works without SMS: its webhooks answer 503. */
            log_error("sms: templates: %s; SMS webhooks disabled", err);
            return 0;
        }
    }
    S.base = base;
    S.secret = xstrdup(cfg->secret != NULL ? cfg->secret : "");
    S.secret_len = strlen(S.secret);
    S.limit.limit = cfg->sms_rate_per_hour > 0 ? cfg->sms_rate_per_hour : 10;
    S.limit.window_s = SMS_RATE_WINDOW;
    S.twilio_token = cfg->twilio_auth_token != NULL ? xstrdup(cfg->twilio_auth_token) : NULL;
    S.public_url = cfg->public_url != NULL ? xstrdup(cfg->public_url) : NULL;
    S.json_from = xstrdup(cfg->sms_json_from != NULL ? cfg->sms_json_from : "from");
    S.json_text = xstrdup(cfg->sms_json_text != NULL ? cfg->sms_json_text : "text");
    S.json_id = xstrdup(cfg->sms_json_id != NULL ? cfg->sms_json_id : "id");
    S.json.from = S.json_from;
    S.json.text = S.json_text;
    S.json.id = S.json_id;
    outbox_init(cfg);
    S.started = 1;
    return 0;
}

void sms_exit(void)
{
    size_t i;

    for (i = 0; i < REPLIES; i++)
        free(replies[i].text);
    memset(replies, 0, sizeof(replies));
    free(S.secret);
    free(S.twilio_token);
    free(S.public_url);
    free(S.json_from);
    free(S.json_text);
    free(S.json_id);
    memset(&S, 0, sizeof(S));
}
