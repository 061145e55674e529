/*
 * The inbound SMS channel; see sms.h for the contract. Layout of this file, in the order
 * a message goes through it:
 *  - pure helpers (text decoding, Twilio signature, TwiML, summary formatting), unit
 *    tested in tests/unit/test_sms.c;
 *  - the per-worker district table and search index, rebuilt when the data version that
 *    worker knows (data/version.h) changes, with a cached rendered reply per district
 *    and language;
 *  - the record writer: message rows batched into one INSERT ... unnest() per loop turn,
 *    and subscription/preference changes in order, both kept in bounded queues while
 *    Postgres is away;
 *  - deferred answers through Kannel's sendsms (libcurl multi on the worker's loop);
 *  - the message core (struct msg): Redis script (or this worker's memory without Redis),
 *    command, district, reply, records;
 *  - the three gateway front ends.
 * A struct msg is reference counted: the HTTP reply, the Redis call, the summary query
 * and the timers each hold a reference, because libpq and hiredis call back exactly once
 * even after we have answered (a late answer is then only dropped).
 */
#include "sms/sms.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "net/config.h"
#include "data/district_store.h"
#include "data/version.h"
#include "net/http.h"
#include "core/log.h"
#include "core/mem.h"
#include "backend/pg.h"
#include "channel/phone.h"
#include "backend/rds.h"
#include "text/search.h"
#include "text/smscmd.h"
#include "text/smsenc.h"
#include "core/utf8.h"

/* ------------------------------------------------------------------------------------ */
/* Pure helpers                                                                          */
/* ------------------------------------------------------------------------------------ */

static int put_utf8(struct buf *out, unsigned cp)
{
    char b[4];
    size_t n;

    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(out, b, n);
}

static int charset_is(const char *cs, const char *const *names)
{
    size_t i;

    for (i = 0; names[i] != NULL; i++)
        if (strcasecmp(cs, names[i]) == 0)
            return 1;
    return 0;
}

int sms_decode_text(const char *bytes, size_t len, const char *charset, struct buf *out)
{
    static const char *const utf8[] = {"UTF-8", "UTF8", NULL};
    static const char *const utf16[] = {"UTF-16BE", "UTF-16", "UCS-2", "UCS-2BE", "UCS2", NULL};
    static const char *const latin1[] = {"ISO-8859-1", "ISO8859-1", "LATIN1", "WINDOWS-1252",
                                         "CP1252",     "US-ASCII",  "ASCII",  NULL};
    size_t at = out->len, i;
    unsigned cp;
    int n, rc = -1;

    if (bytes == NULL)
        len = 0;
    if (charset == NULL || charset[0] == '\0' || charset_is(charset, utf8)) {
        for (i = 0; i < len; i += (size_t)n) {
            n = utf8_decode(bytes + i, len - i, &cp);
            if (n < 0)
                goto out;
        }
        if (buf_append(out, bytes, len) != 0)
            goto out;
    } else if (charset_is(charset, utf16)) {
        if (len % 2 != 0)
            goto out;
        for (i = 0; i < len; i += 2) {
            cp = ((unsigned)(unsigned char)bytes[i] << 8) | (unsigned char)bytes[i + 1];
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;

                if (i + 3 >= len)
                    goto out;
                lo = ((unsigned)(unsigned char)bytes[i + 2] << 8) | (unsigned char)bytes[i + 3];
                if (lo < 0xDC00 || lo > 0xDFFF)
                    goto out;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                goto out;
            }
            if (put_utf8(out, cp) != 0)
                goto out;
        }
    } else if (charset_is(charset, latin1)) {
        for (i = 0; i < len; i++)
            if (put_utf8(out, (unsigned char)bytes[i]) != 0)
                goto out;
    } else {
        goto out;
    }
    rc = 0;
out:
    if (rc != 0)
        out->len = at;
    if (out->data != NULL)
        out->data[out->len] = '\0';
    return rc;
}

static int kv_cmp(const void *a, const void *b)
{
    const struct sms_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->value, y->value);
}

int sms_twilio_signature(const char *token, const char *url, const struct sms_kv *params, size_t n,
                         char *out, size_t outlen)
{
    struct sms_kv sorted[64];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct buf data;
    size_t i;
    int rc = -1;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (token == NULL || url == NULL || out == NULL || outlen < 29 || n > 64 ||
        (n > 0 && params == NULL))
        return -1;
    buf_init(&data, 256 * 1024);
    if (n > 0)
        memcpy(sorted, params, n * sizeof(*params));
    qsort(sorted, n, sizeof(*sorted), kv_cmp);
    if (buf_puts(&data, url) != 0)
        goto out;
    for (i = 0; i < n; i++)
        if (buf_puts(&data, sorted[i].name) != 0 || buf_puts(&data, sorted[i].value) != 0)
            goto out;
    if (HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)data.data, data.len, md,
             &mdlen) == NULL ||
        mdlen != 20)
        goto out;
    /* 20 bytes -> 28 base64 characters + NUL. */
    if (EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen) != 28)
        goto out;
    rc = 0;
out:
    buf_free(&data);
    if (rc != 0)
        out[0] = '\0';
    return rc;
}

int sms_twilio_check(const char *token, const char *url, const struct sms_kv *params, size_t n,
                     const char *sig)
{
    char want[32];

    if (sig == NULL || token == NULL || token[0] == '\0' ||
        sms_twilio_signature(token, url, params, n, want, sizeof(want)) != 0)
        return 0;
    return strlen(sig) == strlen(want) && CRYPTO_memcmp(sig, want, strlen(want)) == 0;
}

int sms_twiml(const char *text, struct buf *out)
{
    xmlChar *esc = NULL;
    size_t at = out->len;
    int rc = -1;

    if (buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") != 0)
        goto out;
    if (text == NULL || text[0] == '\0') {
        rc = buf_puts(out, "<Response/>\n");
        goto out;
    }
    /* Escapes & < > " and CR: the text is element content. */
    esc = xmlEncodeSpecialChars(NULL, (const xmlChar *)text);
    if (esc == NULL)
        goto out;
    if (buf_printf(out, "<Response><Message>%s</Message></Response>\n", (const char *)esc) != 0)
        goto out;
    rc = 0;
out:
    xmlFree(esc);
    if (rc != 0)
        out->len = at;
    return rc;
}

/* A combining mark that must stay with the character before it (Devanagari signs,
 * ZWJ/ZWNJ, variation selectors, combining diacritics). */
static int is_combining(unsigned cp)
{
    return (cp >= 0x0900 && cp <= 0x0903) || cp == 0x093A || cp == 0x093B || cp == 0x093C ||
           (cp >= 0x093E && cp <= 0x094F) || (cp >= 0x0951 && cp <= 0x0957) || cp == 0x0962 ||
           cp == 0x0963 || cp == 0x200C || cp == 0x200D || (cp >= 0xFE00 && cp <= 0xFE0F) ||
           (cp >= 0x0300 && cp <= 0x036F);
}

int sms_clip(const char *s, size_t max_chars, char *out, size_t outlen)
{
    size_t len = strlen(s), i = 0, chars = 0, cut = 0;
    unsigned cp;
    int n;

    if (outlen == 0)
        return -1;
    out[0] = '\0';
    while (i < len) {
        n = utf8_decode(s + i, len - i, &cp);
        if (n < 0)
            return -1;
        if (!is_combining(cp))
            cut = i; /* a cut before a base character keeps clusters whole */
        if (chars == max_chars || i + (size_t)n >= outlen) {
            /* Cut before the cluster this character belongs to. */
            if (is_combining(cp))
                i = cut;
            break;
        }
        chars++;
        i += (size_t)n;
    }
    if (i >= outlen)
        return -1;
    memcpy(out, s, i);
    out[i] = '\0';
    return 0;
}

int sms_pg_array_elem(const char *s, struct buf *out)
{
    size_t at = out->len;
    const char *p;

    if (s == NULL)
        return buf_puts(out, "NULL");
    if (buf_append(out, "\"", 1) != 0)
        goto fail;
    for (p = s; *p != '\0'; p++) {
        if ((*p == '"' || *p == '\\') && buf_append(out, "\\", 1) != 0)
            goto fail;
        if (buf_append(out, p, 1) != 0)
            goto fail;
    }
    if (buf_append(out, "\"", 1) != 0)
        goto fail;
    return 0;
fail:
    out->len = at;
    return -1;
}

/* A JSON number as a double into *v; 0 when it is one, -1 for null/missing/other. */
static int json_num(const json_t *o, const char *key, double *v)
{
    const json_t *x = o != NULL ? json_object_get(o, key) : NULL;

    if (x == NULL || !json_is_number(x))
        return -1;
    *v = json_number_value(x);
    return isfinite(*v) ? 0 : -1;
}

int sms_format_summary(enum i18n_lang lang, const char *json, size_t len, struct buf *out)
{
    char name[128], month[64], fam[32], days[32], wage[32], paid[32], sdays[32];
    const char *vals[7];
    const json_t *d, *metrics, *st, *x;
    json_t *root = NULL;
    const char *ym, *mname;
    double v;
    int year, mon, have = 0, rc = -1;

    root = json_loadb(json, len, 0, NULL);
    if (root == NULL || !json_is_object(root))
        goto out;
    d = json_object_get(root, "district");
    x = d != NULL ? json_object_get(d, "name") : NULL;
    if (x == NULL || !json_is_string(x) ||
        sms_clip(json_string_value(x), I18N_VAR_MAX_CHARS, name, sizeof(name)) != 0)
        goto out;
    x = json_object_get(root, "month");
    ym = x != NULL ? json_string_value(x) : NULL;
    if (ym == NULL || sscanf(ym, "%4d-%2d", &year, &mon) != 2 || mon < 1 || mon > 12)
        goto out;
    mname = lang == I18N_EN ? i18n_month_short(lang, mon) : i18n_month_name(lang, mon);
    if (mname == NULL)
        goto out;
    snprintf(month, sizeof(month), "%s %d", mname, year);
    metrics = json_object_get(root, "metrics");
    st = json_object_get(root, "state");
    vals[0] = name;
    vals[1] = month;
    vals[2] = vals[3] = vals[4] = vals[5] = vals[6] = NULL;
    if (json_num(metrics, "households_worked", &v) == 0 && v >= 0 && v < 1e15 &&
        i18n_group_indian(llround(v), fam, sizeof(fam)) == 0) {
        vals[2] = fam;
        have++;
    }
    if (json_num(metrics, "avg_days_per_household", &v) == 0 && v >= 0 && v < 1e6) {
        snprintf(days, sizeof(days), "%lld", llround(v));
        vals[3] = days;
        have++;
    }
    if (json_num(metrics, "avg_wage_rate", &v) == 0 && v >= 0 && v < 1e9) {
        snprintf(wage, sizeof(wage), "%lld", llround(v));
        vals[4] = wage;
        have++;
    }
    if (json_num(metrics, "payments_within_15_days_pct", &v) == 0 && v >= 0) {
        /* The source can report over 100: shown as 100. */
        if (v >= 99.95)
            snprintf(paid, sizeof(paid), "100");
        else
            snprintf(paid, sizeof(paid), "%.1f", v);
        vals[5] = paid;
        have++;
    }
    if (json_num(st, "avg_days_per_household", &v) == 0 && v >= 0 && v < 1e6) {
        snprintf(sdays, sizeof(sdays), "%lld", llround(v));
        vals[6] = sdays;
        have++;
    }
    if (have == 0)
        rc = i18n_render(lang, "NODATA", vals, 1, out);
    else
        rc = i18n_render(lang, "SUMMARY", vals, 7, out);
out:
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* Per-worker state: settings, districts and their search index                          */
/* ------------------------------------------------------------------------------------ */

enum gateway { GW_KANNEL = 0, GW_TWILIO, GW_GENERIC };
static const char *const gw_names[] = {"kannel", "twilio", "generic"};

struct district_row {
    int state_code;
    int district_code;
    char name_en[96];
    char name_hi[96];
    char state_en[32]; /* short form for AMBIGUOUS: "MP" */
    char state_hi[96];
    char *reply[I18N_NLANGS]; /* the cached summary reply (malloc'd), or NULL */
    long long reply_born[I18N_NLANGS];
};

struct districts {
    struct search_index *idx;
    struct district_row *rows; /* sorted by district_code, state_code */
    size_t n;
    long long version;
};

struct rec; /* a message record waiting to be written */
struct op;  /* a subscription / preference change waiting to be written */

static struct {
    struct event_base *base;
    int started;
    char *secret;
    size_t secret_len;
    int rate_per_hour;
    long long max_age_s;
    char *twilio_token;
    char *public_url;
    char *json_from, *json_to, *json_text, *json_id;
    struct districts *dist; /* current table, or NULL before the first load */
    int building;
    long long build_version;
    struct timespec last_build_try;
    struct event *tick; /* checks the data version, retries the writer */
    /* record writer */
    struct rec *rec_head, *rec_tail;
    size_t rec_n;
    size_t rec_inflight; /* records of rec_head.. being written */
    struct op *op_head, *op_tail;
    size_t op_n;
    int op_inflight;
    struct event *flush_ev;
    long long pg_retry_at; /* monotonic ms: do not retry before */
    unsigned long long dropped;
    char script_sha[41]; /* SHA1 of redis_script, hex */
    /* Kannel sendsms for deferred answers: libcurl multi on the loop */
    char *sendsms_url, *sendsms_user, *sendsms_password;
    CURLM *multi;
    struct event *curl_timer;
    int curl_global;
    /* dedupe of the last ids when Redis is away */
    uint64_t seen[4096];
} S;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void districts_free(struct districts *d)
{
    size_t i;
    int l;

    if (d == NULL)
        return;
    search_index_free(d->idx);
    for (i = 0; i < d->n; i++)
        for (l = 0; l < I18N_NLANGS; l++)
            free(d->rows[i].reply[l]);
    free(d->rows);
    free(d);
}

static int row_cmp(const void *a, const void *b)
{
    const struct district_row *x = a, *y = b;

    if (x->district_code != y->district_code)
        return x->district_code < y->district_code ? -1 : 1;
    return x->state_code < y->state_code ? -1 : x->state_code > y->state_code;
}

static struct district_row *row_find(int state_code, int district_code)
{
    struct district_row key;

    if (S.dist == NULL)
        return NULL;
    key.state_code = state_code;
    key.district_code = district_code;
    return bsearch(&key, S.dist->rows, S.dist->n, sizeof(key), row_cmp);
}

/* "Madhya Pradesh" -> "MP"; a one-word name stays (clipped). */
static void state_short(const char *name, char *out, size_t outlen)
{
    size_t n = 0, words = 0;
    const char *p;
    int start = 1;

    for (p = name; *p != '\0'; p++) {
        if (*p == ' ') {
            start = 1;
            continue;
        }
        if (start) {
            words++;
            /* "Jammu And Kashmir" -> "JK", "Dadra & Nagar Haveli" -> "DNH". */
            if (strncasecmp(p, "and ", 4) != 0 && *p != '&' && n + 1 < outlen &&
                ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
                out[n++] = (char)(*p >= 'a' ? *p - 32 : *p);
        }
        start = 0;
    }
    out[n] = '\0';
    if (words < 2 && sms_clip(name, 12, out, outlen) != 0)
        out[0] = '\0';
}

static const char districts_sql[] =
    "SELECT d.state_code, d.district_code, d.name_en, d.name_hi, s.name_en, s.name_hi,"
    " array_to_string(d.aliases, chr(31))"
    " FROM districts d JOIN states s USING (state_code)";

static void copy_field(const PGresult *res, int r, int c, char *out, size_t outlen)
{
    if (PQgetisnull(res, r, c) || sms_clip(PQgetvalue(res, r, c), 64, out, outlen) != 0)
        out[0] = '\0';
}

static void build_done(void *arg, const PGresult *res, const char *err)
{
    long long version = S.build_version;
    struct districts *d = NULL;
    int i, nrows;

    (void)arg;
    S.building = 0;
    if (res == NULL) {
        log_warn("sms: district list: %s", err != NULL ? err : "?");
        return;
    }
    nrows = PQntuples(res);
    if (nrows > SEARCH_MAX_DISTRICTS)
        nrows = SEARCH_MAX_DISTRICTS;
    d = xcalloc(1, sizeof(*d));
    d->idx = search_index_new();
    d->rows = xcalloc((size_t)(nrows > 0 ? nrows : 1), sizeof(*d->rows));
    d->version = version;
    for (i = 0; i < nrows; i++) {
        struct district_row *row = &d->rows[d->n];
        struct search_district sd;
        const char *aliases[SEARCH_MAX_ALIASES + 1];
        char al[1024], *p, *sep;
        size_t na = 0;

        row->state_code = (int)strtol(PQgetvalue(res, i, 0), NULL, 10);
        row->district_code = (int)strtol(PQgetvalue(res, i, 1), NULL, 10);
        copy_field(res, i, 2, row->name_en, sizeof(row->name_en));
        copy_field(res, i, 3, row->name_hi, sizeof(row->name_hi));
        state_short(PQgetvalue(res, i, 4), row->state_en, sizeof(row->state_en));
        copy_field(res, i, 5, row->state_hi, sizeof(row->state_hi));
        snprintf(al, sizeof(al), "%s", PQgetisnull(res, i, 6) ? "" : PQgetvalue(res, i, 6));
        for (p = al; *p != '\0' && na < SEARCH_MAX_ALIASES; p = sep + 1) {
            sep = strchr(p, 31);
            aliases[na++] = p;
            if (sep == NULL)
                break;
            *sep = '\0';
        }
        aliases[na] = NULL;
        memset(&sd, 0, sizeof(sd));
        sd.state_code = row->state_code;
        sd.district_code = row->district_code;
        sd.name_en = PQgetvalue(res, i, 2);
        sd.name_hi = PQgetisnull(res, i, 3) ? NULL : PQgetvalue(res, i, 3);
        sd.state_en = PQgetvalue(res, i, 4);
        sd.state_hi = PQgetisnull(res, i, 5) ? NULL : PQgetvalue(res, i, 5);
        sd.aliases = aliases;
        if (row->name_en[0] == '\0' || search_index_add(d->idx, &sd) != 0)
            continue;
        d->n++;
    }
    qsort(d->rows, d->n, sizeof(*d->rows), row_cmp);
    districts_free(S.dist);
    S.dist = d;
    log_info("sms: %zu districts indexed (data version %lld)", d->n, version);
}

/* Rebuild the table when the data version moved, or when there is none yet (at most once a
 * second while Postgres is away). */
static void maybe_rebuild(void)
{
    long long v = data_version_current();
    struct timespec now;

    if (S.building || (S.dist != NULL && S.dist->version == v))
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec == S.last_build_try.tv_sec)
        return;
    S.last_build_try = now;
    S.build_version = v;
    if (pg_query(districts_sql, 0, NULL, build_done, NULL) == 0)
        S.building = 1;
}

/* ------------------------------------------------------------------------------------ */
/* The record writer                                                                     */
/* ------------------------------------------------------------------------------------ */

enum rec_col {
    C_AT = 0,
    C_DIR,
    C_GATEWAY,
    C_MSGID,
    C_HASH,
    C_TEXT,
    C_DISTRICT,
    C_STATE,
    C_LANG,
    C_KIND,
    C_PARTS,
    C_CODING,
    C_LATENCY,
    C_NCOLS
};

struct rec {
    struct rec *next;
    char *f[C_NCOLS]; /* malloc'd, or NULL for SQL NULL */
};

static const char insert_sql[] =
    "INSERT INTO sms_messages (at, direction, gateway, gateway_message_id, phone_hash, text,"
    " district_code, state_code, lang, kind, parts, coding, latency_ms)"
    " SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::int[], $8::int[], $9::text[], $10::text[], $11::smallint[],"
    " $12::smallint[], $13::int[])"
    /* a batch retried after a timeout that had in fact committed (sql/006) */
    " ON CONFLICT (gateway, gateway_message_id, direction)"
    " WHERE gateway_message_id IS NOT NULL DO NOTHING";

#define OP_MAX_PARAMS 6

struct op {
    struct op *next;
    const char *sql; /* static */
    int n;
    char *p[OP_MAX_PARAMS];
};

static void writer_kick(void);

static void rec_free(struct rec *r)
{
    int i;

    for (i = 0; i < C_NCOLS; i++)
        free(r->f[i]);
    free(r);
}

static void op_free(struct op *o)
{
    int i;

    for (i = 0; i < o->n; i++)
        free(o->p[i]);
    free(o);
}

/* An error that retrying will not fix (a bad row): drop it rather than block the queue. */
static int permanent_error(const char *err)
{
    return pg_is_up() && err != NULL && strcmp(err, "timeout") != 0 &&
           strncmp(err, "connection", 10) != 0 && strcmp(err, "queue full") != 0 &&
           strcmp(err, "postgres unavailable") != 0 && strcmp(err, "shutdown") != 0;
}

static void recs_done(void *arg, const PGresult *res, const char *err)
{
    size_t i, n = S.rec_inflight;

    (void)arg;
    S.rec_inflight = 0;
    if (res == NULL && !permanent_error(err)) {
        /* Postgres is away: keep the rows, try again in a second. */
        S.pg_retry_at = now_ms() + 1000;
        log_debug("sms: records wait (%zu queued): %s", S.rec_n, err != NULL ? err : "?");
        return;
    }
    if (res == NULL)
        log_error("sms: %zu records dropped: %s", n, err);
    for (i = 0; i < n && S.rec_head != NULL; i++) {
        struct rec *r = S.rec_head;

        S.rec_head = r->next;
        if (S.rec_head == NULL)
            S.rec_tail = NULL;
        S.rec_n--;
        rec_free(r);
    }
    writer_kick();
}

static void ops_done(void *arg, const PGresult *res, const char *err)
{
    struct op *o = S.op_head;

    (void)arg;
    S.op_inflight = 0;
    if (res == NULL && !permanent_error(err)) {
        S.pg_retry_at = now_ms() + 1000;
        return;
    }
    if (res == NULL)
        log_error("sms: change dropped: %s", err);
    if (o != NULL) {
        S.op_head = o->next;
        if (S.op_head == NULL)
            S.op_tail = NULL;
        S.op_n--;
        op_free(o);
    }
    writer_kick();
}

static void flush_recs(void)
{
    struct buf cols[C_NCOLS];
    const char *params[C_NCOLS];
    struct rec *r;
    size_t n = 0;
    int i, ok = 1;

    for (i = 0; i < C_NCOLS; i++) {
        buf_init(&cols[i], 8u << 20);
        ok &= buf_append(&cols[i], "{", 1) == 0;
    }
    for (r = S.rec_head; r != NULL && n < SMS_BATCH_MAX && ok; r = r->next, n++) {
        for (i = 0; i < C_NCOLS; i++) {
            if (n > 0)
                ok &= buf_append(&cols[i], ",", 1) == 0;
            ok &= sms_pg_array_elem(r->f[i], &cols[i]) == 0;
        }
    }
    for (i = 0; i < C_NCOLS; i++) {
        ok &= buf_append(&cols[i], "}", 1) == 0;
        params[i] = buf_cstr(&cols[i]);
    }
    if (ok && n > 0 && pg_query(insert_sql, C_NCOLS, params, recs_done, NULL) == 0)
        S.rec_inflight = n;
    else if (n > 0)
        S.pg_retry_at = now_ms() + 1000;
    for (i = 0; i < C_NCOLS; i++)
        buf_free(&cols[i]);
}

static void flush_ops(void)
{
    struct op *o = S.op_head;

    if (o == NULL)
        return;
    if (pg_query(o->sql, o->n, (const char *const *)o->p, ops_done, NULL) == 0)
        S.op_inflight = 1;
    else
        S.pg_retry_at = now_ms() + 1000;
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (now_ms() < S.pg_retry_at)
        return; /* the tick calls again */
    if (S.rec_inflight == 0 && S.rec_head != NULL)
        flush_recs();
    if (!S.op_inflight && S.op_head != NULL)
        flush_ops();
}

/* Write what is queued at the end of this loop turn (rows of one turn share a query). */
static void writer_kick(void)
{
    if (S.flush_ev != NULL && (S.rec_head != NULL || S.op_head != NULL))
        event_active(S.flush_ev, EV_TIMEOUT, 0);
}

static void rec_push(struct rec *r)
{
    if (S.rec_n >= SMS_REC_QUEUE_MAX) {
        if (S.dropped++ % 1000 == 0)
            log_error("sms: record queue full (%d): %llu records dropped", SMS_REC_QUEUE_MAX,
                      S.dropped);
        rec_free(r);
        return;
    }
    r->next = NULL;
    if (S.rec_tail != NULL)
        S.rec_tail->next = r;
    else
        S.rec_head = r;
    S.rec_tail = r;
    S.rec_n++;
    writer_kick();
}

static void op_push(const char *sql, int n, const char *const *p)
{
    struct op *o;
    int i;

    if (S.op_n >= SMS_OP_QUEUE_MAX) {
        log_error("sms: change queue full (%d): change dropped", SMS_OP_QUEUE_MAX);
        return;
    }
    o = xcalloc(1, sizeof(*o));
    o->sql = sql;
    o->n = n;
    for (i = 0; i < n; i++)
        o->p[i] = p[i] != NULL ? xstrdup(p[i]) : NULL;
    if (S.op_tail != NULL)
        S.op_tail->next = o;
    else
        S.op_head = o;
    S.op_tail = o;
    S.op_n++;
    writer_kick();
}

/* ------------------------------------------------------------------------------------ */
/* Deferred answers through Kannel's sendsms (libcurl multi on the worker's loop)         */
/* ------------------------------------------------------------------------------------ */

#define SENDSMS_TIMEOUT_MS 10000

struct send_job {
    char hash[20]; /* the start of the phone hash, for the log */
    CURL *easy;
    struct send_job *prev, *next; /* the transfers running (for sender_exit) */
};

static struct send_job *jobs;

static void job_unlink(struct send_job *job)
{
    if (job->prev != NULL)
        job->prev->next = job->next;
    else
        jobs = job->next;
    if (job->next != NULL)
        job->next->prev = job->prev;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static void curl_check_done(void)
{
    CURLMsg *cm;
    int left;

    while ((cm = curl_multi_info_read(S.multi, &left)) != NULL) {
        struct send_job *job = NULL;
        long code = 0;

        if (cm->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE, (char **)&job);
        curl_easy_getinfo(cm->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        if (cm->data.result != CURLE_OK || code < 200 || code > 299)
            log_warn("sms: sendsms to %s failed: %s, HTTP %ld", job != NULL ? job->hash : "?",
                     curl_easy_strerror(cm->data.result), code);
        else
            log_debug("sms: sendsms to %s: HTTP %ld", job != NULL ? job->hash : "?", code);
        curl_multi_remove_handle(S.multi, cm->easy_handle);
        curl_easy_cleanup(cm->easy_handle);
        if (job != NULL) {
            job_unlink(job);
            free(job);
        }
    }
}

static void on_curl_sock(evutil_socket_t fd, short what, void *arg)
{
    int running = 0, action = 0;

    (void)arg;
    if (what & EV_READ)
        action |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        action |= CURL_CSELECT_OUT;
    curl_multi_socket_action(S.multi, fd, action, &running);
    curl_check_done();
}

static void on_curl_timer(evutil_socket_t fd, short what, void *arg)
{
    int running = 0;

    (void)fd;
    (void)what;
    (void)arg;
    curl_multi_socket_action(S.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    curl_check_done();
}

/* libcurl tells which socket to watch for what; one event per socket, replaced on change. */
static int curl_sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
    struct event *ev = sockp;
    short kind;

    (void)e;
    (void)userp;
    if (ev != NULL) {
        event_free(ev);
        ev = NULL;
    }
    if (what != CURL_POLL_REMOVE) {
        kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                       ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
        ev = event_new(S.base, s, kind, on_curl_sock, NULL);
        if (ev != NULL && event_add(ev, NULL) != 0) {
            event_free(ev);
            ev = NULL;
        }
    }
    curl_multi_assign(S.multi, s, ev);
    return 0;
}

static int curl_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct timeval tv;

    (void)multi;
    (void)userp;
    if (timeout_ms < 0) {
        evtimer_del(S.curl_timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    evtimer_add(S.curl_timer, &tv);
    return 0;
}

/* Send text to e164 through Kannel's sendsms (UCS-2 when it needs it). 0 or -1. */
static int sendsms(const char *e164, const char *hash, const char *text, enum smsenc_coding coding)
{
    struct send_job *job = NULL;
    char *to = NULL, *tx = NULL, *user = NULL, *pw = NULL;
    CURL *e = NULL;
    struct buf url;
    int rc = -1;

    buf_init(&url, 16384);
    if (S.multi == NULL || S.sendsms_url == NULL)
        goto out;
    e = curl_easy_init();
    if (e == NULL)
        goto out;
    to = curl_easy_escape(e, e164, 0);
    tx = curl_easy_escape(e, text, 0);
    user = curl_easy_escape(e, S.sendsms_user != NULL ? S.sendsms_user : "", 0);
    pw = curl_easy_escape(e, S.sendsms_password != NULL ? S.sendsms_password : "", 0);
    if (to == NULL || tx == NULL || user == NULL || pw == NULL ||
        buf_printf(&url, "%s%susername=%s&password=%s&to=%s&text=%s&charset=UTF-8&coding=%d",
                   S.sendsms_url, strchr(S.sendsms_url, '?') != NULL ? "&" : "?", user, pw, to, tx,
                   coding == SMSENC_UCS2 ? 2 : 0) != 0)
        goto out;
    job = xcalloc(1, sizeof(*job));
    snprintf(job->hash, sizeof(job->hash), "%.16s", hash);
    if (curl_easy_setopt(e, CURLOPT_URL, buf_cstr(&url)) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, job) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)SENDSMS_TIMEOUT_MS) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_multi_add_handle(S.multi, e) != CURLM_OK)
        goto out;
    job->easy = e;
    job->next = jobs;
    if (jobs != NULL)
        jobs->prev = job;
    jobs = job;
    e = NULL; /* owned by the multi handle until curl_check_done() */
    job = NULL;
    rc = 0;
out:
    curl_free(to);
    curl_free(tx);
    curl_free(user);
    curl_free(pw);
    if (e != NULL)
        curl_easy_cleanup(e);
    free(job);
    buf_free(&url);
    return rc;
}

static void sender_init(const struct config *cfg)
{
    if (cfg->kannel_sendsms_url == NULL)
        return;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_warn("sms: libcurl does not start: no deferred answers");
        return;
    }
    S.curl_global = 1;
    S.multi = curl_multi_init();
    S.curl_timer = evtimer_new(S.base, on_curl_timer, NULL);
    if (S.multi == NULL || S.curl_timer == NULL) {
        log_warn("sms: no deferred answers (libcurl multi)");
        return;
    }
    curl_multi_setopt(S.multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
    curl_multi_setopt(S.multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
    S.sendsms_url = xstrdup(cfg->kannel_sendsms_url);
    S.sendsms_user = xstrdup(cfg->kannel_sendsms_user != NULL ? cfg->kannel_sendsms_user : "");
    S.sendsms_password =
        cfg->kannel_sendsms_password != NULL ? xstrdup(cfg->kannel_sendsms_password) : NULL;
}

static void sender_exit(void)
{
    struct send_job *job;

    if (S.multi != NULL) {
        /* Transfers still running are abandoned. */
        while ((job = jobs) != NULL) {
            jobs = job->next;
            curl_multi_remove_handle(S.multi, job->easy);
            curl_easy_cleanup(job->easy);
            free(job);
        }
        curl_multi_cleanup(S.multi);
    }
    if (S.curl_timer != NULL)
        event_free(S.curl_timer);
    if (S.curl_global)
        curl_global_cleanup();
    free(S.sendsms_url);
    free(S.sendsms_user);
    free(S.sendsms_password);
}

/* ------------------------------------------------------------------------------------ */
/* The message core                                                                      */
/* ------------------------------------------------------------------------------------ */

struct msg {
    int refs;
    struct http_request *req; /* NULL once answered */
    enum gateway gw;
    char id[72];
    char e164[PHONE_E164_MAX];
    char hash[PHONE_HASH_HEX];
    char *text; /* UTF-8, NUL-terminated, malloc'd */
    size_t text_len;
    struct smscmd cmd;
    long long t0; /* monotonic ms at arrival */
    char at[64];  /* wall-clock arrival, for the record */
    int lang_set; /* the number's stored language is known */
    enum i18n_lang lang;
    int redis_done; /* the Redis step is over (answered or given up) */
    struct event *redis_timer;
    struct event *deadline;
    struct district_row *row; /* the district of the reply, if any */
    int row_state, row_code;  /* kept: the table may be rebuilt meanwhile */
    const char *kind;         /* for the record: smscmd kind or "limited"/"duplicate" */
    int script_sent;          /* 1 by SHA1, 2 whole */
    int awaiting;             /* a summary query is out */
    int deferred;             /* acknowledged empty; the answer goes by sendsms */
    long long version;        /* data version of the summary query */
};

static void msg_unref(struct msg *m)
{
    if (--m->refs > 0)
        return;
    if (m->redis_timer != NULL)
        event_free(m->redis_timer);
    if (m->deadline != NULL)
        event_free(m->deadline);
    free(m->text);
    free(m);
}

static void set_field(struct rec *r, enum rec_col c, const char *v)
{
    r->f[c] = v != NULL ? xstrdup(v) : NULL;
}

static void set_int(struct rec *r, enum rec_col c, long long v)
{
    char b[32];

    snprintf(b, sizeof(b), "%lld", v);
    r->f[c] = xstrdup(b);
}

/* Record the inbound message and, when there is one, the reply. */
/* A record of m in one direction, with the fields both directions share. */
static struct rec *rec_of(const struct msg *m, const char *dir, const char *text, long long latency)
{
    struct rec *r = xcalloc(1, sizeof(*r));

    set_field(r, C_AT, m->at);
    set_field(r, C_DIR, dir);
    set_field(r, C_GATEWAY, gw_names[m->gw]);
    set_field(r, C_MSGID, m->id[0] != '\0' ? m->id : NULL);
    set_field(r, C_HASH, m->hash);
    set_field(r, C_TEXT, text);
    if (m->row_code > 0) {
        set_int(r, C_DISTRICT, m->row_code);
        set_int(r, C_STATE, m->row_state);
    }
    set_field(r, C_LANG, i18n_lang_code(m->lang));
    set_field(r, C_KIND, m->kind);
    set_int(r, C_LATENCY, latency);
    return r;
}

static void record(struct msg *m, const char *reply, const struct smsenc_info *info,
                   long long latency)
{
    struct rec *out;
    char clipped[SMS_TEXT_MAX + 1];
    size_t n = m->text_len < SMS_TEXT_MAX ? m->text_len : SMS_TEXT_MAX;

    if (sms_clip(m->text, SMS_TEXT_MAX, clipped, sizeof(clipped)) != 0) {
        memcpy(clipped, m->text, n);
        clipped[n] = '\0';
    }
    rec_push(rec_of(m, "in", clipped, latency));
    if (reply != NULL && reply[0] != '\0') {
        out = rec_of(m, "out", reply, latency);
        set_int(out, C_PARTS, (long long)info->parts);
        set_int(out, C_CODING, info->coding);
        rec_push(out);
    }
}

/* Once answered, the timers' references go at once, so m is freed as soon as no backend
 * call is outstanding. */
static void disarm(struct msg *m)
{
    if (m->deadline != NULL && evtimer_pending(m->deadline, NULL)) {
        evtimer_del(m->deadline);
        msg_unref(m);
    }
    if (m->redis_timer != NULL && evtimer_pending(m->redis_timer, NULL)) {
        evtimer_del(m->redis_timer);
        msg_unref(m);
    }
}

/* Send the gateway's reply (reply NULL or "" = send nothing) and record. */
static void answer(struct msg *m, const char *reply, int record_it)
{
    struct http_request *req = m->req;
    struct smsenc_info info = {SMSENC_GSM7, 0, 0, 0};
    struct slice parts[SMSENC_MAX_PARTS];
    size_t nparts = 0, i;
    long long latency;
    struct buf b;
    json_t *doc, *arr;

    if (req == NULL)
        return;
    m->req = NULL;
    if (reply == NULL)
        reply = "";
    if (reply[0] != '\0' &&
        (smsenc_analyse(reply, strlen(reply), &info) != 0 ||
         smsenc_split(reply, strlen(reply), parts, SMSENC_MAX_PARTS, &nparts) != 0)) {
        log_error("sms: reply is not valid UTF-8 or too long");
        reply = "";
        nparts = 0;
    }
    buf_init(&b, 16384);
    switch (m->gw) {
    case GW_KANNEL:
        /* The whole reply in the body: smsbox sends a long one as concatenated parts
         * (concatenation = true, max-messages = 3), which the phone shows as one text. */
        if (info.coding == SMSENC_UCS2 && reply[0] != '\0')
            http_add_header(req, "X-Kannel-Coding", "2");
        http_reply(req, 200, "text/plain; charset=UTF-8", reply, strlen(reply));
        break;
    case GW_TWILIO:
        if (sms_twiml(reply, &b) != 0)
            buf_reset(&b);
        http_reply(req, 200, "text/xml; charset=UTF-8", b.data, b.len);
        break;
    case GW_GENERIC:
        arr = json_array();
        for (i = 0; i < nparts; i++)
            json_array_append_new(arr, json_stringn(parts[i].ptr, parts[i].len));
        doc =
            json_pack("{s:s, s:o, s:i}", "reply", reply, "parts", arr, "coding", (int)info.coding);
        http_reply_json(req, 200, doc);
        break;
    }
    buf_free(&b);
    latency = now_ms() - m->t0;
    log_queue(LOG_DEBUG, "sms: %s %s from %.16s kind=%s district=%d lang=%s parts=%zu %lldms",
              gw_names[m->gw], m->id[0] != '\0' ? m->id : "-", m->hash,
              m->kind != NULL ? m->kind : "-", m->row_code, i18n_lang_code(m->lang), nparts,
              latency);
    if (record_it)
        record(m, reply, &info, latency);
    disarm(m);
    msg_unref(m); /* the reply's reference */
}

/* The answer: in the HTTP reply while the webhook waits, else (acknowledged already) through
 * Kannel's sendsms; recorded either way. */
static void deliver(struct msg *m, const char *reply)
{
    struct smsenc_info info = {SMSENC_GSM7, 0, 0, 0};

    if (m->req != NULL) {
        answer(m, reply, 1);
        return;
    }
    if (!m->deferred || reply == NULL || reply[0] == '\0')
        return;
    m->deferred = 0;
    if (smsenc_analyse(reply, strlen(reply), &info) != 0)
        return;
    if (sendsms(m->e164, m->hash, reply, info.coding) != 0)
        log_warn("sms: deferred answer to %.16s not sent", m->hash);
    log_queue(LOG_DEBUG, "sms: %s %s from %.16s deferred answer sent %lldms", gw_names[m->gw],
              m->id[0] != '\0' ? m->id : "-", m->hash, now_ms() - m->t0);
    record(m, reply, &info, now_ms() - m->t0);
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

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct msg *m = arg;
    struct district_row *row;

    (void)fd;
    (void)what;
    if (m->req != NULL) {
        /* The figures did not come in time: an old reply beats none. */
        row = m->row_code > 0 ? row_find(m->row_state, m->row_code) : NULL;
        if (row != NULL && row->reply[m->lang] != NULL) {
            answer(m, row->reply[m->lang], 1);
        } else if (m->awaiting && m->gw == GW_KANNEL && S.multi != NULL) {
            /* Acknowledge now (nothing is sent for an empty body); the figures follow
             * through sendsms when they come. */
            m->deferred = 1;
            answer(m, "", 0);
        } else {
            answer_tpl(m, "TRY_LATER", NULL, 0);
        }
    }
    msg_unref(m); /* the deadline's reference */
}

static void summary_done(void *arg, enum district_store_status st, const char *text, size_t len,
                         const char *err)
{
    struct msg *m = arg;
    struct district_row *row;
    struct buf b;

    m->awaiting = 0;
    buf_init(&b, 4096);
    row = row_find(m->row_state, m->row_code);
    if (st == DISTRICT_STORE_OK && sms_format_summary(m->lang, text, len, &b) == 0) {
        if (row != NULL && S.dist != NULL && S.dist->version == m->version) {
            free(row->reply[m->lang]);
            row->reply[m->lang] = xstrdup(buf_cstr(&b));
            row->reply_born[m->lang] = now_ms();
        }
        deliver(m, buf_cstr(&b));
    } else if (st == DISTRICT_STORE_NOT_FOUND || st == DISTRICT_STORE_NO_DATA ||
               st == DISTRICT_STORE_OK) {
        const char *name =
            row != NULL
                ? (m->lang == I18N_HI && row->name_hi[0] != '\0' ? row->name_hi : row->name_en)
                : "?";
        char clipped[128];
        const char *vals[1];

        if (st == DISTRICT_STORE_OK)
            log_error("sms: summary of %d does not format", m->row_code);
        if (sms_clip(name, I18N_VAR_MAX_CHARS, clipped, sizeof(clipped)) != 0)
            snprintf(clipped, sizeof(clipped), "%d", m->row_code);
        vals[0] = clipped;
        answer_tpl(m, "NODATA", vals, 1);
    } else {
        log_warn("sms: summary of %d: %s", m->row_code, err != NULL ? err : "?");
        if (row != NULL && row->reply[m->lang] != NULL)
            deliver(m, row->reply[m->lang]);
        else
            answer_tpl(m, "TRY_LATER", NULL, 0);
    }
    buf_free(&b);
    msg_unref(m); /* the query's reference */
}

/* "1752 Niwari MP" (at most 30 characters). */
static void choice_text(const struct district_row *row, enum i18n_lang lang, char *out,
                        size_t outlen)
{
    const char *name = lang == I18N_HI && row->name_hi[0] != '\0' ? row->name_hi : row->name_en;
    const char *st = lang == I18N_HI && row->state_hi[0] != '\0' ? row->state_hi : row->state_en;
    char full[256];

    snprintf(full, sizeof(full), "%d %s %s", row->district_code, name, st);
    if (sms_clip(full, I18N_VAR_MAX_CHARS, out, outlen) != 0 || strlen(out) < strlen(full)) {
        snprintf(full, sizeof(full), "%d %s", row->district_code, name);
        if (sms_clip(full, I18N_VAR_MAX_CHARS, out, outlen) != 0)
            snprintf(out, outlen, "%d", row->district_code);
    }
}

/* Find the district of arg. Returns 1 (m->row set), 0 when the message was answered
 * (ambiguous, not found, or no district list yet). */
static int match_district(struct msg *m, struct slice arg)
{
    struct search_result res[SEARCH_MAX_RESULTS];
    char q[SEARCH_QUERY_MAX + 1], choices[3][64];
    const char *vals[3];
    size_t n = 0, close, i, k = 0;

    if (S.dist == NULL) {
        answer_tpl(m, "TRY_LATER", NULL, 0);
        return 0;
    }
    snprintf(q, sizeof(q), "%.*s", (int)(arg.len < SEARCH_QUERY_MAX ? arg.len : SEARCH_QUERY_MAX),
             arg.ptr);
    if (search_find(S.dist->idx, q, res, SEARCH_MAX_RESULTS, &n) != 0 || n == 0) {
        /* Someone who wrote the keyword or a number meant a district; else say what to send. */
        int digits = 1;

        for (i = 0; i < arg.len; i++)
            if (arg.ptr[i] < '0' || arg.ptr[i] > '9')
                digits = 0;
        answer_tpl(m, digits || arg.len + 4 <= m->text_len ? "NOT_FOUND" : "UNKNOWN", NULL, 0);
        return 0;
    }
    if (search_is_ambiguous(res, n)) {
        close = search_close_count(res, n);
        for (i = 0; i < close && k < 3; i++) {
            struct district_row *row = row_find(res[i].state_code, res[i].district_code);

            if (row == NULL)
                continue;
            choice_text(row, m->lang, choices[k], sizeof(choices[k]));
            vals[k] = choices[k];
            k++;
        }
        if (k >= 2) {
            if (k == 2)
                vals[2] = NULL;
            m->kind = "ambiguous";
            answer_tpl(m, "AMBIGUOUS", vals, 3);
            return 0;
        }
    }
    m->row = row_find(res[0].state_code, res[0].district_code);
    if (m->row == NULL) {
        answer_tpl(m, "NOT_FOUND", NULL, 0);
        return 0;
    }
    m->row_state = m->row->state_code;
    m->row_code = m->row->district_code;
    return 1;
}

static const char sub_sql[] =
    "INSERT INTO sms_subscriptions (phone, phone_hash, state_code, district_code, lang)"
    " VALUES ($1, $2, $3::int, $4::int, $5)"
    " ON CONFLICT (phone_hash, district_code) DO UPDATE SET active = true, stopped_at = NULL,"
    " phone = EXCLUDED.phone, state_code = EXCLUDED.state_code, lang = EXCLUDED.lang";
static const char stop_sql[] = "UPDATE sms_subscriptions SET active = false, stopped_at = now()"
                               " WHERE phone_hash = $1 AND active";
static const char pref_sql[] =
    "INSERT INTO sms_prefs (phone_hash, lang) VALUES ($1, $2)"
    " ON CONFLICT (phone_hash) DO UPDATE SET lang = EXCLUDED.lang, updated_at = now()";

static void ignore_reply(void *arg, const redisReply *reply, const char *err)
{
    (void)arg;
    (void)reply;
    if (err != NULL)
        log_debug("sms: redis: %s", err);
}

static void district_name(const struct msg *m, char *out, size_t outlen)
{
    const struct district_row *row = m->row;
    const char *name = m->lang == I18N_HI && row->name_hi[0] != '\0' ? row->name_hi : row->name_en;

    if (sms_clip(name, I18N_VAR_MAX_CHARS, out, outlen) != 0)
        snprintf(out, outlen, "%d", row->district_code);
}

/* The message with Redis done (or given up): decide and answer. */
static void proceed(struct msg *m)
{
    const char *vals[2];
    char a[16], b[16], name[128];
    struct district_row *row;
    long long age;

    maybe_rebuild();
    m->kind = smscmd_kind_name(m->cmd.kind);
    switch (m->cmd.kind) {
    case SMSCMD_HELP:
        answer_tpl(m, "HELP", NULL, 0);
        return;
    case SMSCMD_STOP:
        vals[0] = m->hash;
        op_push(stop_sql, 1, vals);
        answer_tpl(m, "STOP_OK", NULL, 0);
        return;
    case SMSCMD_LANG_HI:
    case SMSCMD_LANG_EN:
        m->lang = m->cmd.kind == SMSCMD_LANG_HI ? I18N_HI : I18N_EN;
        vals[0] = m->hash;
        vals[1] = i18n_lang_code(m->lang);
        op_push(pref_sql, 2, vals);
        if (rds_command(ignore_reply, NULL, "SET hisaab:sms:lang:%s %s", m->hash, vals[1]) != 0)
            log_debug("sms: language not cached");
        answer_tpl(m, m->lang == I18N_HI ? "LANG_HI" : "LANG_EN", NULL, 0);
        return;
    case SMSCMD_SUB:
        if (m->cmd.arg.len == 0) {
            answer_tpl(m, "SUB_USAGE", NULL, 0);
            return;
        }
        if (!match_district(m, m->cmd.arg))
            return;
        snprintf(a, sizeof(a), "%d", m->row_state);
        snprintf(b, sizeof(b), "%d", m->row_code);
        {
            const char *p[5] = {m->e164, m->hash, a, b, i18n_lang_code(m->lang)};

            op_push(sub_sql, 5, p);
        }
        district_name(m, name, sizeof(name));
        vals[0] = name;
        answer_tpl(m, "SUB_OK", vals, 1);
        return;
    case SMSCMD_QUERY:
        if (!match_district(m, m->cmd.arg))
            return;
        row = m->row;
        age = now_ms() - row->reply_born[m->lang];
        if (row->reply[m->lang] != NULL && age < SMS_REPLY_TTL * 1000LL) {
            answer(m, row->reply[m->lang], 1);
            return;
        }
        snprintf(b, sizeof(b), "%d", m->row_code);
        m->version = S.dist->version;
        m->awaiting = 1;
        m->refs++;
        if (district_store_summary(i18n_lang_code(m->lang), b, S.max_age_s, summary_done, m) != 0) {
            m->refs--;
            m->awaiting = 0;
            if (row->reply[m->lang] != NULL)
                answer(m, row->reply[m->lang], 1);
            else
                answer_tpl(m, "TRY_LATER", NULL, 0);
        }
        return;
    case SMSCMD_EMPTY:
    default:
        m->kind = "unknown";
        answer_tpl(m, "UNKNOWN", NULL, 0);
        return;
    }
}

/* FNV-1a of gateway + id, for the fallback dedupe. */
static uint64_t id_hash(const struct msg *m)
{
    uint64_t h = 1469598103934665603ULL;
    const char *p;

    for (p = gw_names[m->gw]; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (p = m->id; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h | 1;
}

/* Without Redis: a per-worker memory of the last ids. Returns 1 if already seen. */
static int local_seen(const struct msg *m)
{
    uint64_t h = id_hash(m);
    size_t slot = (size_t)(h % (sizeof(S.seen) / sizeof(S.seen[0])));

    if (S.seen[slot] == h)
        return 1;
    S.seen[slot] = h;
    return 0;
}

/* Over the per-number limit (count in this window, ttl seconds left of it): the first
 * message over gets RATE_LIMIT, later ones nothing. Returns 1 when m was answered. STOP
 * always goes through. */
static int limited(struct msg *m, long long count, long long ttl)
{
    char mins[32];
    const char *vals[1];

    if (count <= S.rate_per_hour || m->cmd.kind == SMSCMD_STOP)
        return 0;
    m->kind = "limited";
    if (count == S.rate_per_hour + 1) {
        snprintf(mins, sizeof(mins), "%lld", ttl > 0 ? (ttl + 59) / 60 : 1);
        vals[0] = mins;
        answer_tpl(m, "RATE_LIMIT", vals, 1);
    } else {
        answer(m, "", 1);
    }
    return 1;
}

/* Without Redis: this worker's count of the number in its own hour window (a table of
 * SMS_LOCAL_SLOTS numbers; a collision restarts a window, so it errs on answering). */
#define SMS_LOCAL_SLOTS 4096
static struct {
    char hash[17];
    long long start_ms;
    long long count;
} local_rate[SMS_LOCAL_SLOTS];

static long long local_count(const struct msg *m, long long *ttl)
{
    uint64_t h = 1469598103934665603ULL;
    const char *p;
    size_t slot;
    long long now = now_ms();

    for (p = m->hash; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    slot = (size_t)(h % SMS_LOCAL_SLOTS);
    if (strncmp(local_rate[slot].hash, m->hash, 16) != 0 ||
        now - local_rate[slot].start_ms >= SMS_RATE_WINDOW * 1000LL) {
        memcpy(local_rate[slot].hash, m->hash, 16);
        local_rate[slot].hash[16] = '\0';
        local_rate[slot].start_ms = now;
        local_rate[slot].count = 0;
    }
    *ttl = (local_rate[slot].start_ms + SMS_RATE_WINDOW * 1000LL - now) / 1000;
    return ++local_rate[slot].count;
}

/* Go on without Redis: dedupe and limits from this worker's memory, the language from the
 * script. */
static void without_redis(struct msg *m)
{
    long long ttl = 0, count;

    if (m->id[0] != '\0' && local_seen(m)) {
        m->kind = "duplicate";
        answer(m, "", 0);
        return;
    }
    count = local_count(m, &ttl);
    if (!limited(m, count, ttl))
        proceed(m);
}

/*
 * One round trip: dedupe, count, language. KEYS: seen, rate, lang; ARGV: dedupe (1/0),
 * dedupe TTL, window. Returns {-1} for a duplicate, else {count, ttl of the window, lang}.
 */
static const char redis_script[] =
    "if ARGV[1] == '1' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then"
    " return {-1, 0, ''} end "
    "local c = redis.call('INCR', KEYS[2]) "
    "local t = redis.call('TTL', KEYS[2]) "
    "if t < 0 then redis.call('EXPIRE', KEYS[2], ARGV[3]) t = tonumber(ARGV[3]) end "
    "local l = redis.call('GET', KEYS[3]) "
    "return {c, t, l or ''}";

static void redis_done(void *arg, const redisReply *reply, const char *err);

/* Send the script by its SHA1 (cached by Redis), or whole when Redis does not know it yet
 * (after a restart or SCRIPT FLUSH), which also caches it. Returns rds_command()'s. */
static int redis_send(struct msg *m, int by_sha)
{
    char seen[128];
    int dedupe = m->id[0] != '\0';

    m->script_sent = 1 + !by_sha;
    snprintf(seen, sizeof(seen), "hisaab:sms:seen:%s:%s", gw_names[m->gw], dedupe ? m->id : "-");
    return rds_command(redis_done, m, "%s %s 3 %s hisaab:sms:rate:%s hisaab:sms:lang:%s %s %d %d",
                       by_sha ? "EVALSHA" : "EVAL", by_sha ? S.script_sha : redis_script, seen,
                       m->hash, m->hash, dedupe ? "1" : "0", SMS_DEDUPE_TTL, SMS_RATE_WINDOW);
}

static void redis_done(void *arg, const redisReply *reply, const char *err)
{
    struct msg *m = arg;
    long long count, ttl;

    if (m->redis_done || m->req == NULL)
        goto out;
    if (err != NULL && strncmp(err, "NOSCRIPT", 8) == 0 && m->script_sent == 1) {
        /* The reference passes to the second call. */
        if (redis_send(m, 0) == 0)
            return;
    }
    m->redis_done = 1;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        log_debug("sms: redis: %s", err != NULL ? err : "unexpected reply");
        without_redis(m);
        goto out;
    }
    count = reply->element[0]->integer;
    ttl = reply->element[1]->type == REDIS_REPLY_INTEGER ? reply->element[1]->integer : 0;
    if (count < 0) {
        /* A retry of a message we already answered: no second SMS. */
        m->kind = "duplicate";
        answer(m, "", 0);
        goto out;
    }
    if (m->id[0] != '\0')
        (void)local_seen(m);
    if (reply->element[2]->type == REDIS_REPLY_STRING &&
        i18n_lang_parse(reply->element[2]->str, &m->lang) == 0)
        m->lang_set = 1;
    if (!m->lang_set)
        m->lang = m->cmd.script == SMSCMD_SCRIPT_DEVANAGARI ? I18N_HI : I18N_EN;
    if (!limited(m, count, ttl))
        proceed(m);
out:
    msg_unref(m); /* the Redis call's reference */
}

static void on_redis_timer(evutil_socket_t fd, short what, void *arg)
{
    struct msg *m = arg;

    (void)fd;
    (void)what;
    if (!m->redis_done && m->req != NULL) {
        m->redis_done = 1;
        log_debug("sms: redis slow; going on without it");
        without_redis(m);
    }
    msg_unref(m); /* the timer's reference */
}

/*
 * Start handling a message: text (len bytes of UTF-8, copied), sender raw, id (may be
 * NULL). Answers req exactly once.
 */
static void msg_start(struct http_request *req, enum gateway gw, const char *from, const char *id,
                      const char *text, size_t len)
{
    struct msg *m;
    struct timeval tv;
    struct timespec wall;
    struct tm tm;

    m = xcalloc(1, sizeof(*m));
    m->refs = 2; /* the reply, and this function's until it returns */
    m->req = req;
    m->gw = gw;
    m->t0 = now_ms();
    clock_gettime(CLOCK_REALTIME, &wall);
    gmtime_r(&wall.tv_sec, &tm);
    snprintf(m->at, sizeof(m->at), "%04d-%02d-%02d %02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, wall.tv_nsec / 1000000);
    if (id != NULL)
        snprintf(m->id, sizeof(m->id), "%s", id);
    if (len > SMS_TEXT_MAX * 2)
        len = SMS_TEXT_MAX * 2;
    m->text = xmalloc(len + 1);
    memcpy(m->text, text, len);
    m->text[len] = '\0';
    m->text_len = len;
    if (phone_hash_raw(S.secret, S.secret_len, from, m->e164, m->hash, sizeof(m->hash)) != 0) {
        http_reply_error(req, 400, "bad_parameter", "The sender is not a phone number.");
        m->req = NULL;
        m->refs = 1;
        msg_unref(m);
        return;
    }
    if (smscmd_parse(m->text, m->text_len, &m->cmd) != 0)
        m->cmd.kind = SMSCMD_EMPTY;
    m->lang = m->cmd.script == SMSCMD_SCRIPT_DEVANAGARI ? I18N_HI : I18N_EN;

    m->deadline = evtimer_new(S.base, on_deadline, m);
    m->redis_timer = evtimer_new(S.base, on_redis_timer, m);
    tv.tv_sec = 0;
    tv.tv_usec = SMS_DEADLINE_MS * 1000;
    if (m->deadline == NULL || evtimer_add(m->deadline, &tv) != 0)
        log_error("sms: deadline timer not armed");
    else
        m->refs++;
    tv.tv_usec = SMS_REDIS_WAIT_MS * 1000;
    if (m->redis_timer == NULL || evtimer_add(m->redis_timer, &tv) != 0)
        log_error("sms: redis timer not armed");
    else
        m->refs++;

    m->refs++;
    if (redis_send(m, 1) != 0) {
        m->refs--;
        m->redis_done = 1;
        without_redis(m);
    }
    msg_unref(m); /* msg_start's own reference */
}

/* ------------------------------------------------------------------------------------ */
/* Gateways                                                                              */
/* ------------------------------------------------------------------------------------ */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode (with '+' as a blank) n bytes at s into out, NULs allowed. */
static int urldecode(const char *s, size_t n, struct buf *out)
{
    size_t i;
    char c;

    for (i = 0; i < n; i++) {
        c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (buf_append(out, &c, 1) != 0)
            return -1;
    }
    return 0;
}

/* The raw bytes of parameter name in a query/form string (percent-decoded into out).
 * Returns 1 when found, 0 when absent, -1 when too long. */
static int raw_param(const char *qs, size_t len, const char *name, struct buf *out)
{
    size_t nl = strlen(name), i = 0, j, eq;

    while (qs != NULL && i < len) {
        for (j = i; j < len && qs[j] != '&'; j++)
            ;
        for (eq = i; eq < j && qs[eq] != '='; eq++)
            ;
        if (eq - i == nl && memcmp(qs + i, name, nl) == 0) {
            buf_reset(out);
            if (eq < j && urldecode(qs + eq + 1, j - eq - 1, out) != 0)
                return -1;
            return 1;
        }
        i = j + 1;
    }
    return 0;
}

static int is_form(const char *ct)
{
    return ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

/* The charset= of a Content-Type into out, or "". */
static void ct_charset(const char *ct, char *out, size_t outlen)
{
    const char *p = ct != NULL ? strcasestr(ct, "charset=") : NULL;
    size_t n = 0;

    out[0] = '\0';
    if (p == NULL)
        return;
    p += 8;
    if (*p == '"')
        p++;
    while (p[n] != '\0' && p[n] != '"' && p[n] != ';' && p[n] != ' ' && n + 1 < outlen)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
}

void sms_kannel(struct http_request *req)
{
    const char *from = http_param(req, "from");
    const char *id = http_param(req, "id");
    const char *charset = http_param(req, "charset");
    const char *ct = http_header(req, "Content-Type");
    const char *qs = http_query(req);
    struct slice body = http_body(req);
    struct buf raw, text;
    char cs[40];
    int found;

    buf_init(&raw, SMS_TEXT_MAX * 4);
    buf_init(&text, SMS_TEXT_MAX * 4);
    if (!S.started) {
        http_reply_error(req, 503, "unavailable", "SMS is not available.");
        goto out;
    }
    if (from == NULL) {
        http_reply_error(req, 400, "bad_parameter",
                         "The parameter 'from' is missing or not valid.");
        goto out;
    }
    /* The text is read from the raw query (or body) so that any charset, even UTF-16 with
     * its NUL bytes, reaches the decoder. post-url sends it as the body. */
    found = raw_param(qs, qs != NULL ? strlen(qs) : 0, "text", &raw);
    if (found <= 0 && http_method(req) == CFG_METHOD_POST && body.len > 0) {
        buf_reset(&raw);
        if (is_form(ct))
            found = raw_param(body.ptr, body.len, "text", &raw);
        else
            found = buf_append(&raw, body.ptr, body.len) == 0 ? 1 : -1;
        ct_charset(ct, cs, sizeof(cs));
        if (charset == NULL && cs[0] != '\0')
            charset = cs;
    }
    if (found < 0) {
        http_reply_error(req, 400, "bad_parameter", "The text is too long.");
        goto out;
    }
    if (found == 0 || sms_decode_text(raw.data, raw.len, charset, &text) != 0) {
        /* Undecodable: treated as an empty text, which gets the "what to send" reply. */
        buf_reset(&text);
    }
    msg_start(req, GW_KANNEL, from, id, text.data != NULL ? text.data : "", text.len);
out:
    buf_free(&raw);
    buf_free(&text);
}

/* Split a form body into decoded pairs (at most max). Strings are allocated from req. */
static size_t form_pairs(struct http_request *req, struct slice body, struct sms_kv *kv, size_t max)
{
    size_t i = 0, j, eq, n = 0;
    struct buf k, v;

    buf_init(&k, 256);
    buf_init(&v, SMS_TEXT_MAX * 4);
    while (i < body.len && n < max) {
        for (j = i; j < body.len && body.ptr[j] != '&'; j++)
            ;
        for (eq = i; eq < j && body.ptr[eq] != '='; eq++)
            ;
        buf_reset(&k);
        buf_reset(&v);
        if (j > i && urldecode(body.ptr + i, eq - i, &k) == 0 &&
            (eq >= j || urldecode(body.ptr + eq + 1, j - eq - 1, &v) == 0) &&
            memchr(buf_cstr(&k), '\0', k.len) == NULL &&
            memchr(buf_cstr(&v), '\0', v.len) == NULL) {
            char *kn = http_alloc(req, k.len + 1), *vn = http_alloc(req, v.len + 1);

            memcpy(kn, buf_cstr(&k), k.len + 1);
            memcpy(vn, buf_cstr(&v), v.len + 1);
            kv[n].name = kn;
            kv[n].value = vn;
            n++;
        }
        i = j + 1;
    }
    buf_free(&k);
    buf_free(&v);
    return n;
}

static const char *kv_get(const struct sms_kv *kv, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(kv[i].name, name) == 0)
            return kv[i].value;
    return NULL;
}

void sms_twilio(struct http_request *req)
{
    struct sms_kv kv[64];
    struct buf url;
    const char *host = http_header(req, "Host"), *qs = http_query(req), *body_text;
    size_t n;

    buf_init(&url, 4096);
    if (!S.started) {
        http_reply_error(req, 503, "unavailable", "SMS is not available.");
        goto out;
    }
    n = form_pairs(req, http_body(req), kv, 64);
    /* The URL as Twilio called it: the configured public base (behind a proxy), else the
     * Host header; then the path and the raw query. */
    if (S.public_url != NULL) {
        size_t bl = strlen(S.public_url);

        if (buf_append(&url, S.public_url, bl > 0 && S.public_url[bl - 1] == '/' ? bl - 1 : bl) !=
            0)
            goto bad;
    } else if (buf_printf(&url, "http://%s", host != NULL ? host : "") != 0) {
        goto bad;
    }
    if (buf_puts(&url, http_path(req)) != 0 ||
        (qs != NULL && qs[0] != '\0' && buf_printf(&url, "?%s", qs) != 0))
        goto bad;
    if (!sms_twilio_check(S.twilio_token, buf_cstr(&url), kv, n,
                          http_header(req, "X-Twilio-Signature"))) {
        if (S.twilio_token == NULL)
            log_warn("sms: twilio request refused: TWILIO_AUTH_TOKEN is not set");
        http_reply_error(req, 403, "forbidden", "The request signature is not valid.");
        goto out;
    }
    body_text = kv_get(kv, n, "Body");
    if (kv_get(kv, n, "From") == NULL) {
        http_reply_error(req, 400, "bad_parameter", "The parameter 'From' is missing.");
        goto out;
    }
    if (body_text == NULL)
        body_text = "";
    {
        const char *sid = kv_get(kv, n, "MessageSid");
        char id[72];

        snprintf(id, sizeof(id), "%s", sid != NULL ? sid : "");
        msg_start(req, GW_TWILIO, kv_get(kv, n, "From"), id[0] != '\0' ? id : NULL, body_text,
                  strlen(body_text));
    }
    goto out;
bad:
    http_reply_error(req, 400, "bad_request", "The request URL is too long.");
out:
    buf_free(&url);
}

/* A JSON field as text into out: a string, or an integer (ids are sometimes numbers). */
static const char *json_text(const json_t *o, const char *key, char *num, size_t numlen)
{
    const json_t *x = json_object_get(o, key);

    if (json_is_string(x))
        return json_string_value(x);
    if (json_is_integer(x)) {
        snprintf(num, numlen, "%lld", (long long)json_integer_value(x));
        return num;
    }
    return NULL;
}

void sms_generic(struct http_request *req)
{
    struct slice body = http_body(req);
    json_t *doc = NULL;
    const char *from, *text, *id;
    char fnum[32], inum[32], tnum[32];

    if (!S.started) {
        http_reply_error(req, 503, "unavailable", "SMS is not available.");
        goto out;
    }
    doc = json_loadb(body.ptr != NULL ? body.ptr : "", body.len, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL || !json_is_object(doc)) {
        http_reply_error(req, 400, "bad_request", "The body is not a JSON object.");
        goto out;
    }
    from = json_text(doc, S.json_from, fnum, sizeof(fnum));
    text = json_text(doc, S.json_text, tnum, sizeof(tnum));
    id = json_text(doc, S.json_id, inum, sizeof(inum));
    if (from == NULL) {
        http_reply_error(req, 400, "bad_parameter", "The sender field is missing.");
        goto out;
    }
    if (text == NULL)
        text = "";
    if (id != NULL && strlen(id) > 64) {
        http_reply_error(req, 400, "bad_parameter", "The message id is too long.");
        goto out;
    }
    {
        struct buf t;

        /* Validated as UTF-8 by jansson already; copied because doc is released here. */
        buf_init(&t, SMS_TEXT_MAX * 4);
        if (buf_append(&t, text, strlen(text)) != 0) {
            http_reply_error(req, 400, "bad_parameter", "The text is too long.");
        } else {
            char idc[72];

            snprintf(idc, sizeof(idc), "%s", id != NULL ? id : "");
            msg_start(req, GW_GENERIC, from, idc[0] != '\0' ? idc : NULL, buf_cstr(&t), t.len);
        }
        buf_free(&t);
    }
out:
    json_decref(doc);
}

/* ------------------------------------------------------------------------------------ */
/* Set-up                                                                                */
/* ------------------------------------------------------------------------------------ */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    maybe_rebuild();
    if (S.rec_head != NULL || S.op_head != NULL)
        on_flush(-1, 0, NULL);
}

int sms_init(struct event_base *base, const struct config *cfg)
{
    struct timeval tv = {1, 0};
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
    if (S.secret_len == 0)
        log_warn("sms: HISAAB_SECRET is not set: phone hashes are unkeyed");
    S.rate_per_hour = cfg->sms_rate_per_hour > 0 ? cfg->sms_rate_per_hour : 10;
    S.max_age_s = (long long)cfg->max_data_age_hours * 3600;
    S.twilio_token = cfg->twilio_auth_token != NULL ? xstrdup(cfg->twilio_auth_token) : NULL;
    S.public_url = cfg->sms_public_url != NULL ? xstrdup(cfg->sms_public_url) : NULL;
    S.json_from = xstrdup(cfg->sms_json_from != NULL ? cfg->sms_json_from : "from");
    S.json_to = xstrdup(cfg->sms_json_to != NULL ? cfg->sms_json_to : "to");
    S.json_text = xstrdup(cfg->sms_json_text != NULL ? cfg->sms_json_text : "text");
    S.json_id = xstrdup(cfg->sms_json_id != NULL ? cfg->sms_json_id : "id");
    S.flush_ev = event_new(base, -1, 0, on_flush, NULL);
    S.tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    if (S.flush_ev == NULL || S.tick == NULL || event_add(S.tick, &tv) != 0) {
        log_error("sms: cannot start timers");
        sms_exit();
        return -1;
    }
    {
        unsigned char md[20];
        size_t i;

        SHA1((const unsigned char *)redis_script, strlen(redis_script), md);
        for (i = 0; i < 20; i++)
            snprintf(S.script_sha + 2 * i, 3, "%02x", md[i]);
    }
    sender_init(cfg);
    S.started = 1;
    maybe_rebuild();
    return 0;
}

void sms_exit(void)
{
    struct rec *r;
    struct op *o;

    if (S.rec_n > 0 || S.op_n > 0)
        log_warn("sms: %zu records and %zu changes not written at exit", S.rec_n, S.op_n);
    while ((r = S.rec_head) != NULL) {
        S.rec_head = r->next;
        rec_free(r);
    }
    while ((o = S.op_head) != NULL) {
        S.op_head = o->next;
        op_free(o);
    }
    if (S.flush_ev != NULL)
        event_free(S.flush_ev);
    if (S.tick != NULL)
        event_free(S.tick);
    sender_exit();
    districts_free(S.dist);
    free(S.secret);
    free(S.twilio_token);
    free(S.public_url);
    free(S.json_from);
    free(S.json_to);
    free(S.json_text);
    free(S.json_id);
    memset(&S, 0, sizeof(S));
}
