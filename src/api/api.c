/*
 * The district REST API handlers; see api.h. Each handler checks what the router could
 * not (required parameters, India's box, the id in the path), asks district_store for the
 * data as JSON text and wraps it in the envelope. Replies are sent from the store's
 * callback; a client that went away meanwhile is handled by http.c.
 */
#include "api/api.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api/api_admin.h"
#include "api/api_cache.h"
#include "api/api_limit.h"
#include "api/api_reply.h"
#include "core/buf.h"
#include "net/config.h"
#include "data/directory.h"
#include "data/district_store.h"
#include "data/geo.h"
#include "data/version.h"
#include "net/http.h"
#include "core/log.h"
#include "net/metrics.h"
#include "net/serve.h"
#include "core/mem.h"
#include "backend/rds.h"
#include "text/search.h"

/* Largest JSON body we build (60 months of history is ~150 KB). */
#define BODY_MAX (8u << 20)
/* Answers shared between workers in Redis: key prefix and lifetime (seconds). Keys carry
 * the data version, so a new version never sees an old answer. */
#define SHARED_PREFIX "hisaab:api:v"
#define SHARED_TTL 3600

static struct {
    long long max_age_s;
    char cache_control[64];
} ac = {.max_age_s = 2160LL * 3600};

/* Which query a JSON request needs. */
enum api_kind { Q_STATES, Q_DISTRICTS, Q_NEARBY, Q_SUMMARY, Q_HISTORY, Q_COMPARISON, Q_PINCODE };

/* What a JSON handler is waiting for: its query's arguments (copied) and cache key. */
struct api_call {
    struct http_request *req;
    const char *not_found;  /* 404 code for this endpoint */
    unsigned long long gen; /* cache generation when the request started */
    enum api_kind kind;
    char lang[4];
    char a[80], b[80]; /* id / state / q / months / metric, by kind */
    int has_a, has_b;  /* 0 = parameter absent (SQL NULL) */
    double lat, lon;
    char key[API_CACHE_KEY_MAX];
};

/* Headers every cacheable answer carries. */
static void cache_headers(struct http_request *req, const char *etag)
{
    http_add_header(req, "Cache-Control", ac.cache_control);
    http_add_header(req, "Vary",
                    api_limit_cors_enabled() ? "Accept-Encoding, Origin" : "Accept-Encoding");
    http_add_header(req, "ETag", etag);
}

/* Answer from the cache when key is there; returns 1 if answered. */
static int serve_cached(struct http_request *req, const char *key)
{
    const struct api_cache_entry *e = api_cache_get(key);
    int gz;

    if (e == NULL)
        return 0;
    metrics_cache_hit();
    gz = e->gz != NULL && serve_accepts_gzip(http_header(req, "Accept-Encoding"));
    cache_headers(req, gz ? e->gz_etag : e->etag);
    if (serve_etag_match(http_header(req, "If-None-Match"), gz ? e->gz_etag : e->etag)) {
        http_reply(req, 304, NULL, NULL, 0);
        return 1;
    }
    if (gz) {
        http_add_header(req, "Content-Encoding", "gzip");
        http_reply(req, 200, "application/json; charset=utf-8", e->gz, e->gz_len);
    } else {
        http_reply(req, 200, "application/json; charset=utf-8", e->body, e->body_len);
    }
    return 1;
}

/*
 * Labels of the metrics and trend words in both languages, added to summary, history and
 * comparison answers as `labels` (in the requested language).
 */
static const struct {
    const char *name, *en, *hi;
} label_table[] = {
    {"households_worked", "Households that worked", "काम करने वाले परिवार"},
    {"individuals_worked", "People who worked", "काम करने वाले लोग"},
    {"persondays", "Person-days of work", "कुल मानव दिवस (काम के दिन)"},
    {"women_persondays", "Person-days worked by women", "महिलाओं के मानव दिवस"},
    {"sc_persondays", "Person-days worked by Scheduled Castes", "अनुसूचित जाति के मानव दिवस"},
    {"st_persondays", "Person-days worked by Scheduled Tribes", "अनुसूचित जनजाति के मानव दिवस"},
    {"avg_days_per_household", "Average days of work per household", "प्रति परिवार औसत काम के दिन"},
    {"avg_wage_rate", "Average daily wage (Rs)", "औसत दैनिक मज़दूरी (रुपये)"},
    {"hh_completed_100_days", "Households that got 100 days of work", "100 दिन काम पाने वाले परिवार"},
    {"works_completed", "Works completed", "पूरे हुए काम"},
    {"works_ongoing", "Works in progress", "चल रहे काम"},
    {"works_taken_up", "Works taken up", "शुरू किए गए काम"},
    {"payments_within_15_days_pct", "Wages paid within 15 days (%)",
     "15 दिन के अंदर मज़दूरी भुगतान (%)"},
    {"active_job_cards", "Active job cards", "सक्रिय जॉब कार्ड"},
    {"active_workers", "Active workers", "सक्रिय श्रमिक"},
    {"total_expenditure_lakh", "Total spending (Rs lakh)", "कुल खर्च (लाख रुपये)"},
    {"wages_lakh", "Wages paid (Rs lakh)", "मज़दूरी पर खर्च (लाख रुपये)"},
    {"trend_up", "Better than the state", "राज्य से बेहतर"},
    {"trend_down", "Worse than the state", "राज्य से कम"},
    {"trend_steady", "About the same as the state", "राज्य के लगभग बराबर"},
};

/* `"labels":{...},` for lang into b. Returns 0 or -1. */
static int put_labels(struct buf *b, const char *lang)
{
    json_t *o = json_object();
    char *text;
    size_t i;
    int rc = -1;

    for (i = 0; i < sizeof(label_table) / sizeof(label_table[0]); i++)
        json_object_set_new(
            o, label_table[i].name,
            json_string(strcmp(lang, "hi") == 0 ? label_table[i].hi : label_table[i].en));
    text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (text != NULL && buf_puts(b, "\"labels\":") == 0 && buf_puts(b, text) == 0 &&
        buf_puts(b, ",") == 0)
        rc = 0;
    free(text);
    return rc;
}

/*
 * The data text of call's answer: Postgres' object with `labels` spliced in first for the
 * endpoints that show metrics. Returns 0 with the text in b, or -1.
 */
static int with_labels(const struct api_call *call, const char *text, size_t len, struct buf *b)
{
    if (call->kind != Q_SUMMARY && call->kind != Q_HISTORY && call->kind != Q_COMPARISON)
        return buf_append(b, text, len);
    if (len < 2 || text[0] != '{')
        return -1;
    return buf_puts(b, "{") == 0 && put_labels(b, call->lang) == 0 &&
                   buf_append(b, text + 1, len - 1) == 0
               ? 0
               : -1;
}

/*
 * An answer not in this worker's cache (from Postgres, or from Redis when cached is 1):
 * store it in the cache, then reply (304, gzip or plain).
 */
static void reply_fresh(struct api_call *call, const char *raw, size_t raw_len, int cached)
{
    struct http_request *req = call->req;
    char etag[48], gz_etag[52];
    char *zbody = NULL;
    size_t zlen = 0, len;
    struct buf b, data;
    const char *text, *inm, *tag;
    int gz;

    buf_init(&b, BODY_MAX);
    buf_init(&data, BODY_MAX);
    if (with_labels(call, raw, raw_len, &data) != 0) {
        http_reply_error(req, 500, "internal", "The answer is too large.");
        goto out;
    }
    text = data.data;
    len = data.len;
    api_cache_etag(api_cache_version(), text, len, etag, sizeof(etag));
    snprintf(gz_etag, sizeof(gz_etag), "%.*s-gz\"", (int)(strlen(etag) - 1), etag);
    if (api_envelope(&b, text, len, 1) == 0)
        (void)api_cache_put(call->key, call->gen, b.data, b.len, etag);
    buf_reset(&b);
    if (api_envelope(&b, text, len, cached) != 0) {
        http_reply_error(req, 500, "internal", "The answer is too large.");
        goto out;
    }
    inm = http_header(req, "If-None-Match");
    gz = serve_accepts_gzip(http_header(req, "Accept-Encoding"));
    if (gz && !serve_etag_match(inm, gz_etag))
        zbody = serve_gzip(b.data, b.len, 6, &zlen);
    /* The gzip tag only when the gzip form is what goes out (or is what the client has). */
    tag = gz && (zbody != NULL || serve_etag_match(inm, gz_etag)) ? gz_etag : etag;
    cache_headers(req, tag);
    if (serve_etag_match(inm, tag)) {
        http_reply(req, 304, NULL, NULL, 0);
    } else if (zbody != NULL) {
        http_add_header(req, "Content-Encoding", "gzip");
        http_reply(req, 200, "application/json; charset=utf-8", zbody, zlen);
    } else {
        http_reply(req, 200, "application/json; charset=utf-8", b.data, b.len);
    }
out:
    free(zbody);
    buf_free(&b);
    buf_free(&data);
}

static void ignore_reply(void *arg, const redisReply *reply, const char *err)
{
    (void)arg;
    (void)reply;
    (void)err;
}

/* The Redis key of a shared answer; -1 when it cannot be shared. */
static int shared_key(const struct api_call *call, char *out, size_t n)
{
    int w;

    /* Nearby, PIN and search answers stay in this worker's memory: coordinates and PIN
     * codes (a search may be one), even rounded, never go to Redis. Every worker has them
     * in its directory anyway. */
    if (call->kind == Q_NEARBY || call->kind == Q_PINCODE ||
        (call->kind == Q_DISTRICTS && call->has_b) || call->gen != api_cache_generation() ||
        api_cache_version() < 0)
        return -1;
    w = snprintf(out, n, SHARED_PREFIX "%lld.%lld:%s", api_cache_version(), api_admin_epoch(),
                 call->key);
    return w < 0 || (size_t)w >= n ? -1 : 0;
}

/* A fresh answer (data text of len bytes): shared with the other workers through Redis,
 * then sent. */
static void answer_ok(struct api_call *call, const char *text, size_t len)
{
    char rkey[API_CACHE_KEY_MAX + 64];

    if (shared_key(call, rkey, sizeof(rkey)) == 0 &&
        rds_command(ignore_reply, NULL, "SET %s %b EX %d", rkey, text, len, SHARED_TTL) != 0)
        log_debug("api: answer not shared (redis not configured)");
    reply_fresh(call, text, len, 0);
}

static void json_done(void *arg, enum district_store_status st, const char *text, size_t len,
                      const char *err)
{
    struct api_call *call = arg;
    struct http_request *req = call->req;

    switch (st) {
    case DISTRICT_STORE_OK:
        answer_ok(call, text, len);
        break;
    case DISTRICT_STORE_NOT_FOUND:
        api_reply_not_found(req, call->not_found);
        break;
    case DISTRICT_STORE_NO_DATA:
        api_reply_no_data(req);
        break;
    case DISTRICT_STORE_ERROR:
    default:
        log_warn("api: %s: %s", http_path(req), err != NULL ? err : "?");
        api_reply_unavailable(req);
        break;
    }
    free(call);
}

/*
 * A district search: the search index (search.c: typos, romanised Hindi, Devanagari)
 * picks and orders the districts, Postgres renders them. Until the index is built the
 * simple SQL match of district_store_districts() answers.
 */
static int search_districts(struct api_call *c, const char *state, const char *q)
{
    struct search_result res[SEARCH_MAX_RESULTS];
    char codes[SEARCH_MAX_RESULTS * 12 + 4];
    size_t n = 0, i, used;

    const struct directory *d = directory_current();

    if (d == NULL || search_find_memo(d->memo, d->index, q, res, SEARCH_MAX_RESULTS, &n) != 0) {
        c->gen = ~0ULL; /* a stopgap answer: neither kept nor shared */
        return district_store_districts(c->lang, state, q, json_done, c);
    }
    used = (size_t)snprintf(codes, sizeof(codes), "{");
    for (i = 0; i < n; i++)
        used += (size_t)snprintf(codes + used, sizeof(codes) - used, "%s%d", i > 0 ? "," : "",
                                 res[i].district_code);
    snprintf(codes + used, sizeof(codes) - used, "}");
    return district_store_districts_by_code(c->lang, state, codes, json_done, c);
}

/* Start the Postgres query for call. Returns 0 or -1 (pg not started). */
static int query(struct api_call *c)
{
    const char *a = c->has_a ? c->a : NULL, *b = c->has_b ? c->b : NULL;

    switch (c->kind) {
    case Q_STATES:
        return district_store_states(c->lang, json_done, c);
    case Q_DISTRICTS:
        if (b != NULL)
            return search_districts(c, a, b);
        return district_store_districts(c->lang, a, b, json_done, c);
    case Q_NEARBY:
        return district_store_nearby(c->lang, c->lat, c->lon, json_done, c);
    case Q_SUMMARY:
        return district_store_summary(c->lang, c->a, ac.max_age_s, json_done, c);
    case Q_HISTORY:
        return district_store_history(c->lang, c->a, b != NULL ? b : "12", json_done, c);
    case Q_COMPARISON:
    default:
        return district_store_comparison(c->lang, c->a, c->b, json_done, c);
    }
}

/* A district as every endpoint shows it (DISTRICT_OBJ of data/district_sql.h), and
 * has_data. A district known only from the LGD reference has no id. */
json_t *api_district_json(const struct dir_district *row, int lang)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", row->has_id ? json_integer(row->district_code) : json_null());
    json_object_set_new(o, "name", json_string(row->name[lang]));
    json_object_set_new(o, "name_en", json_string(row->name[I18N_EN]));
    json_object_set_new(o, "name_hi",
                        row->has_hindi_name ? json_string(row->name[I18N_HI]) : json_null());
    json_object_set_new(o, "state_code",
                        row->has_id            ? json_integer(row->state_code)
                        : row->nrega_state > 0 ? json_integer(row->nrega_state)
                                               : json_null());
    json_object_set_new(o, "state_en", json_string(row->state[I18N_EN]));
    json_object_set_new(o, "state_hi",
                        row->state[I18N_HI] != row->state[I18N_EN]
                            ? json_string(row->state[I18N_HI])
                            : json_null());
    json_object_set_new(o, "has_data", json_boolean(geo_has_data(row)));
    return o;
}

/* Answer call with data (stolen), rendered once and cached in this worker. */
static void answer_json(struct api_call *call, json_t *data)
{
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;

    json_decref(data);
    if (text == NULL) {
        http_reply_error(call->req, 500, "internal", "The answer could not be rendered.");
        return;
    }
    answer_ok(call, text, strlen(text));
    free(text);
}

static double km1(double km)
{
    return round(km * 10.0) / 10.0;
}

/* A district search: the directory's index, names and PIN codes (data/geo.h). */
static void search_answer(struct api_call *c, const struct directory *d, int lang)
{
    int state = c->has_a ? (int)strtol(c->a, NULL, 10) : 0; /* validated digits */
    struct geo_lookup g;
    json_t *list;
    size_t i;
    int known = state == 0;

    for (i = 0; i < d->n && !known; i++)
        known = d->rows[i].has_id && d->rows[i].state_code == state;
    if (!known) {
        api_reply_not_found(c->req, "unknown_state");
        return;
    }
    geo_lookup(d, c->b, &g);
    list = json_array();
    for (i = 0; i < g.n; i++) {
        const struct dir_district *row = g.m[i].row;

        if (state != 0 && (row->has_id ? row->state_code : row->nrega_state) != state)
            continue;
        json_array_append_new(list, api_district_json(row, lang));
    }
    answer_json(c, list);
}

/* The nearest district of all India; when it has no figures, also the nearest that has. */
static void nearby_answer(struct api_call *c, const struct directory *d, int lang)
{
    const struct dir_district *row, *near;
    double km = 0, km2 = 0;
    json_t *data;

    row = geo_nearest(d, c->lat, c->lon, 0, &km);
    if (row == NULL) {
        api_reply_not_found(c->req, c->not_found);
        return;
    }
    data = json_pack("{s:o, s:f, s:b}", "district", api_district_json(row, lang), "distance_km",
                     km1(km), "has_data", geo_has_data(row));
    near = geo_has_data(row) ? NULL : geo_nearest(d, c->lat, c->lon, 1, &km2);
    json_object_set_new(data, "nearest_with_data",
                        near != NULL
                            ? json_pack("{s:o, s:f}", "district", api_district_json(near, lang),
                                        "distance_km", km1(km2))
                            : json_null());
    answer_json(c, data);
}

/* The districts of a PIN code, most post offices first. */
static void pincode_answer(struct api_call *c, const struct directory *d, int lang)
{
    const struct dir_district *rows[GEO_MAX_MATCHES];
    double shares[GEO_MAX_MATCHES];
    json_t *list, *o;
    size_t n, i;

    n = geo_pin(d, (int)strtol(c->a, NULL, 10), rows, shares, GEO_MAX_MATCHES);
    if (n == 0) {
        api_reply_not_found(c->req, c->not_found);
        return;
    }
    if (n > GEO_MAX_MATCHES)
        n = GEO_MAX_MATCHES;
    list = json_array();
    for (i = 0; i < n; i++) {
        o = api_district_json(rows[i], lang);
        json_object_set_new(o, "share", json_real(round(shares[i] * 10000.0) / 10000.0));
        json_array_append_new(list, o);
    }
    answer_json(c, json_pack("{s:s, s:o}", "pincode", c->a, "districts", list));
}

/*
 * An answer from the worker's directory instead of Postgres: summaries (every district's
 * is there, so they answer while Postgres is down), searches, nearby and PIN codes.
 * Returns 0 when answered, -1 when Postgres must answer (no directory yet, or a kind the
 * directory does not hold).
 */
static int from_directory(struct api_call *call)
{
    const struct directory *d = directory_current();
    const struct dir_district *row;
    int lang = strcmp(call->lang, "hi") == 0 ? I18N_HI : I18N_EN;

    if (d == NULL) {
        if (call->kind != Q_PINCODE)
            return -1;
        api_reply_unavailable(call->req); /* PIN codes live in the directory only */
        return 0;
    }
    if (call->kind != Q_SUMMARY && call->kind != Q_NEARBY && call->kind != Q_PINCODE &&
        !(call->kind == Q_DISTRICTS && call->has_b))
        return -1;
    if (!d->loaded && call->kind != Q_PINCODE) {
        api_reply_no_data(call->req);
        return 0;
    }
    switch (call->kind) {
    case Q_SUMMARY:
        row = directory_find(d, (int)strtol(call->a, NULL, 10)); /* validated digits */
        if (row == NULL || row->summary[lang] == NULL)
            api_reply_not_found(call->req, call->not_found);
        else
            answer_ok(call, row->summary[lang], row->summary_len[lang]);
        break;
    case Q_DISTRICTS:
        search_answer(call, d, lang);
        break;
    case Q_NEARBY:
        nearby_answer(call, d, lang);
        break;
    case Q_PINCODE:
    default:
        pincode_answer(call, d, lang);
        break;
    }
    return 0;
}

static void run_query(struct api_call *call)
{
    metrics_cache_miss(); /* neither this worker nor Redis had the answer */
    if (from_directory(call) == 0) {
        free(call);
        return;
    }
    if (query(call) != 0) {
        api_reply_unavailable(call->req);
        free(call);
    }
}

static void shared_got(void *arg, const redisReply *reply, const char *err)
{
    struct api_call *call = arg;

    (void)err;
    if (reply != NULL && reply->type == REDIS_REPLY_STRING && reply->len > 0 &&
        call->gen == api_cache_generation()) {
        metrics_cache_hit();
        reply_fresh(call, reply->str, (size_t)reply->len, 1);
        free(call);
        return;
    }
    run_query(call); /* not shared yet, Redis down, or the cache was dropped meanwhile */
}

/* Answer call: from Redis when another worker shared it, else from Postgres. */
static void fetch(struct api_call *call)
{
    char rkey[API_CACHE_KEY_MAX + 64];

    if (rds_is_up() && shared_key(call, rkey, sizeof(rkey)) == 0 &&
        rds_command(shared_got, call, "GET %s", rkey) == 0)
        return;
    run_query(call);
}

static const char *lang_of(struct http_request *req)
{
    const char *lang = http_param(req, "lang");

    return lang != NULL ? lang : "en";
}

/*
 * The cache key of this request: its path and the values of the parameters it may have
 * (names, NULL-terminated), in that order. Returns -1 when too long (not cached then).
 */
static int cache_key(struct http_request *req, const char *const *names, char *out, size_t n)
{
    const char *v = http_path(req);
    size_t used = strlen(v), len;

    if (used >= n)
        return -1;
    memcpy(out, v, used);
    for (; *names != NULL; names++) {
        v = http_param(req, *names);
        len = v != NULL ? strlen(v) : 0;
        if (len + 1 >= n - used)
            return -1;
        out[used++] = '|';
        memcpy(out + used, v, len);
        used += len;
    }
    out[used] = '\0';
    return 0;
}

/*
 * A call context for a cacheable request, or NULL when the request was answered from the
 * cache (checked before anything is allocated). names are the parameters that make the
 * answer differ.
 */
static struct api_call *call_new(struct http_request *req, enum api_kind kind,
                                 const char *not_found, const char *const *names)
{
    char key[API_CACHE_KEY_MAX];
    int keyed = cache_key(req, names, key, sizeof(key)) == 0;
    struct api_call *call;

    if (keyed && serve_cached(req, key))
        return NULL;
    call = xcalloc(1, sizeof(*call));
    call->req = req;
    call->kind = kind;
    call->not_found = not_found;
    call->gen = api_cache_generation();
    snprintf(call->lang, sizeof(call->lang), "%s", lang_of(req));
    if (keyed)
        memcpy(call->key, key, sizeof(key));
    else
        call->gen = ~0ULL; /* never stored */
    return call;
}

/* Copy an optional parameter into dst (has = 0 when absent). */
static void copy_param(const char *v, char *dst, size_t n, int *has)
{
    *has = v != NULL;
    snprintf(dst, n, "%s", v != NULL ? v : "");
}

/*
 * The numeric path segment after `prefix` (e.g. "/api/v1/districts/") into out; 0, or -1
 * when it is not 1..9 digits.
 */
static int path_id(struct http_request *req, const char *prefix, char *out, size_t n)
{
    const char *p = http_path(req);
    size_t plen = strlen(prefix), i;

    if (strncmp(p, prefix, plen) != 0)
        return -1;
    p += plen;
    for (i = 0; p[i] >= '0' && p[i] <= '9'; i++)
        ;
    if (i == 0 || i > 9 || i >= n || (p[i] != '/' && p[i] != '\0'))
        return -1;
    memcpy(out, p, i);
    out[i] = '\0';
    return 0;
}

static const char *const p_lang[] = {"lang", NULL};
static const char *const p_districts[] = {"lang", "state", "q", NULL};
static const char *const p_history[] = {"lang", "months", NULL};
static const char *const p_comparison[] = {"lang", "metric", NULL};

static void states_run(struct http_request *req)
{
    struct api_call *call = call_new(req, Q_STATES, "unknown_state", p_lang);

    if (call != NULL)
        fetch(call);
}

static void districts_run(struct http_request *req)
{
    struct api_call *call = call_new(req, Q_DISTRICTS, "unknown_state", p_districts);

    if (call == NULL)
        return;
    copy_param(http_param(req, "state"), call->a, sizeof(call->a), &call->has_a);
    copy_param(http_param(req, "q"), call->b, sizeof(call->b), &call->has_b);
    fetch(call);
}

/* A validated coordinate, rounded to 2 decimals; -1 when missing or outside [lo, hi]. */
static int coordinate(struct http_request *req, const char *name, double lo, double hi, double *out)
{
    const char *s = http_param(req, name);
    char *end = NULL;
    double d;

    if (s == NULL)
        return -1;
    errno = 0;
    d = strtod(s, &end); /* v_lat/v_lon accepted plain decimal notation */
    if (errno != 0 || end == s || *end != '\0' || !isfinite(d))
        return -1;
    d = round(d * 100.0) / 100.0;
    if (d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}

static void nearby_run(struct http_request *req)
{
    struct api_call *call;
    double lat, lon;

    if (coordinate(req, "lat", API_LAT_MIN, API_LAT_MAX, &lat) != 0) {
        api_reply_bad_param(req, "lat");
        return;
    }
    if (coordinate(req, "lon", API_LON_MIN, API_LON_MAX, &lon) != 0) {
        api_reply_bad_param(req, "lon");
        return;
    }
    call = xcalloc(1, sizeof(*call));
    call->req = req;
    call->kind = Q_NEARBY;
    call->not_found = "unknown_district";
    call->gen = api_cache_generation();
    snprintf(call->lang, sizeof(call->lang), "%s", lang_of(req));
    call->lat = lat;
    call->lon = lon;
    /* Keyed by the rounded coordinates only, so the cache holds no more than they say. */
    snprintf(call->key, sizeof(call->key), "%s|%s|%.2f|%.2f", http_path(req), call->lang, lat, lon);
    if (serve_cached(req, call->key)) {
        free(call);
        return;
    }
    fetch(call);
}

static void pincode_run(struct http_request *req)
{
    const char *p = http_path(req) + strlen("/api/v1/pincodes/");
    struct api_call *call;
    size_t i;

    /* Six digits, the first 1-9 (the route only gives the segment). */
    for (i = 0; p[i] >= '0' && p[i] <= '9'; i++)
        ;
    if (i != 6 || p[i] != '\0' || p[0] == '0') {
        api_reply_bad_param(req, "pincode");
        return;
    }
    call = call_new(req, Q_PINCODE, "unknown_pincode", p_lang);
    if (call == NULL)
        return;
    copy_param(p, call->a, sizeof(call->a), &call->has_a);
    fetch(call);
}

static void summary_run(struct http_request *req)
{
    struct api_call *call;
    char id[16];

    if (path_id(req, "/api/v1/districts/", id, sizeof(id)) != 0) {
        api_reply_not_found(req, "unknown_district");
        return;
    }
    call = call_new(req, Q_SUMMARY, "unknown_district", p_lang);
    if (call == NULL)
        return;
    copy_param(id, call->a, sizeof(call->a), &call->has_a);
    fetch(call);
}

static void history_run(struct http_request *req)
{
    const char *months = http_param(req, "months");
    struct api_call *call;
    char id[16];

    if (path_id(req, "/api/v1/districts/", id, sizeof(id)) != 0) {
        api_reply_not_found(req, "unknown_district");
        return;
    }
    call = call_new(req, Q_HISTORY, "unknown_district", p_history);
    if (call == NULL)
        return;
    copy_param(id, call->a, sizeof(call->a), &call->has_a);
    copy_param(months, call->b, sizeof(call->b), &call->has_b);
    fetch(call);
}

static void comparison_run(struct http_request *req)
{
    const char *metric = http_param(req, "metric");
    struct api_call *call;
    char code[16];

    if (path_id(req, "/api/v1/states/", code, sizeof(code)) != 0) {
        api_reply_not_found(req, "unknown_state");
        return;
    }
    if (metric == NULL || !district_store_is_metric(metric)) {
        api_reply_bad_param(req, "metric");
        return;
    }
    call = call_new(req, Q_COMPARISON, "unknown_state", p_comparison);
    if (call == NULL)
        return;
    copy_param(code, call->a, sizeof(call->a), &call->has_a);
    copy_param(metric, call->b, sizeof(call->b), &call->has_b);
    fetch(call);
}

/* The public handlers: rate limits and CORS first (api_limit.h). */
void api_states(struct http_request *req)
{
    api_limit_run_cached(req, states_run);
}

void api_districts(struct http_request *req)
{
    api_limit_run_cached(req, districts_run);
}

void api_nearby(struct http_request *req)
{
    api_limit_run_cached(req, nearby_run);
}

void api_pincode(struct http_request *req)
{
    api_limit_run_cached(req, pincode_run);
}

void api_summary(struct http_request *req)
{
    api_limit_run_cached(req, summary_run);
}

void api_history(struct http_request *req)
{
    api_limit_run_cached(req, history_run);
}

void api_comparison(struct http_request *req)
{
    api_limit_run(req, comparison_run);
}

/* A new directory (data/directory.h): answers cached from the one before go, and the
 * cache follows its data version (which also names the answers shared in Redis). */
static void on_directory(void *arg, const struct directory *d)
{
    (void)arg;
    api_cache_set_version(d->version);
    api_cache_clear();
}

int api_init(struct event_base *base, const struct config *cfg)
{
    int rc = -1;

    (void)base;
    ac.max_age_s = (long long)(cfg->max_data_age_hours > 0 ? cfg->max_data_age_hours : 2160) * 3600;
    snprintf(ac.cache_control, sizeof(ac.cache_control), "public, max-age=%d",
             cfg->cache_max_age >= 0 ? cfg->cache_max_age : 300);
    api_limit_init(cfg);
    api_cache_clear();
    if (api_admin_init(cfg) != 0 || directory_listen(on_directory, NULL) != 0) {
        log_error("api: cannot follow the data version");
        goto out;
    }
    rc = 0;
out:
    return rc;
}

void api_exit(void)
{
    api_cache_clear();
    api_limit_exit();
}
