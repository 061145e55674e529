/*
 * data.gov.in fetcher; see fetch.h. One CURL easy handle is reused across pages and
 * attempts (keep-alive). Two URLs are built per request: the one sent, which carries the
 * api-key, and the public one, which is the only one ever logged or stored.
 */
#include "fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"

#define URL_MAX 8192
#define MAX_PAGES 100000
#define MAX_BACKOFF_MS (5L * 60 * 1000)

struct response {
    struct buf body;
    int too_big;
    long retry_after_ms; /* -1 when absent */
};

static long env_long(const char *name, long def, long min, long max)
{
    const char *s = getenv(name);
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return def;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max) {
        log_warn("fetch: ignoring %s=%s (expected %ld..%ld)", name, s, min, max);
        return def;
    }
    return v;
}

void etl_fetch_opts_init(struct etl_fetch_opts *o)
{
    const char *base = getenv("DATA_GOV_API_BASE");

    memset(o, 0, sizeof(*o));
    o->base = base && *base ? base : ETL_DEFAULT_API_BASE;
    o->api_key = getenv("DATA_GOV_API_KEY");
    o->format = ETL_FORMAT_JSON;
    o->limit = env_long("HISAAB_ETL_LIMIT", 1000, 1, 100000);
    o->timeout_ms = env_long("HISAAB_ETL_TIMEOUT_MS", 30000, 10, 3600000);
    o->connect_timeout_ms = o->timeout_ms < 10000 ? o->timeout_ms : 10000;
    o->backoff_ms = env_long("HISAAB_ETL_BACKOFF_MS", 1000, 0, 600000);
    o->max_attempts = (int)env_long("HISAAB_ETL_ATTEMPTS", 4, 1, 20);
    o->max_bytes =
        (size_t)env_long("HISAAB_ETL_MAX_BYTES", 64L * 1024 * 1024, 1024, 1024L * 1024 * 1024);
    o->retry_after_max_ms = 60000;
}

/* Append "name=value" (value URL-encoded) to the query, with '&' between. */
static int add_param(CURL *h, struct buf *q, const char *name, const char *value)
{
    char *esc = curl_easy_escape(h, value, 0);
    int rc;

    if (esc == NULL)
        return -1;
    rc = buf_printf(q, "%s%s=%s", q->len ? "&" : "", name, esc);
    curl_free(esc);
    return rc;
}

/* The query without the key. */
static int build_query(CURL *h, const struct etl_fetch_opts *o, const char *state,
                       const char *fin_year, long offset, struct buf *q)
{
    char num[32];

    if (add_param(h, q, "format", etl_format_name(o->format)) != 0)
        return -1;
    snprintf(num, sizeof(num), "%ld", offset);
    if (add_param(h, q, "offset", num) != 0)
        return -1;
    snprintf(num, sizeof(num), "%ld", o->limit);
    if (add_param(h, q, "limit", num) != 0)
        return -1;
    if (state && *state && add_param(h, q, "filters[state_name]", state) != 0)
        return -1;
    if (fin_year && *fin_year && add_param(h, q, "filters[fin_year]", fin_year) != 0)
        return -1;
    return 0;
}

/* Build the public URL (pub) and the one sent (real, with the key). */
static int build_urls(CURL *h, const struct etl_fetch_opts *o, const char *state,
                      const char *fin_year, long offset, struct buf *pub, struct buf *real)
{
    const char *sep = strchr(o->base, '?') ? "&" : "?";
    size_t blen = strlen(o->base);
    struct buf q, base;
    int rc = -1;

    buf_init(&q, URL_MAX);
    buf_init(&base, URL_MAX);
    buf_reset(pub);
    buf_reset(real);
    if (strstr(o->base, "/resource/") == NULL && strchr(o->base, '?') == NULL) {
        /* A bare API host: the resource path is ours to add. */
        while (blen > 0 && o->base[blen - 1] == '/')
            blen--;
        if (buf_append(&base, o->base, blen) != 0 ||
            buf_puts(&base, "/resource/" ETL_RESOURCE_ID) != 0)
            goto out;
    } else if (buf_puts(&base, o->base) != 0) {
        goto out;
    }
    if (build_query(h, o, state, fin_year, offset, &q) != 0)
        goto out;
    if (buf_printf(pub, "%s%s%s", buf_cstr(&base), sep, buf_cstr(&q)) != 0)
        goto out;
    if (buf_printf(real, "%s%s", buf_cstr(&base), sep) != 0)
        goto out;
    if (o->api_key && *o->api_key) {
        struct buf k;

        buf_init(&k, URL_MAX);
        if (add_param(h, &k, "api-key", o->api_key) != 0 || buf_puts(real, buf_cstr(&k)) != 0 ||
            buf_puts(real, "&") != 0) {
            buf_free(&k);
            goto out;
        }
        buf_free(&k);
    }
    if (buf_puts(real, buf_cstr(&q)) != 0)
        goto out;
    rc = 0;
out:
    buf_free(&q);
    buf_free(&base);
    return rc;
}

char *etl_fetch_public_url(const struct etl_fetch_opts *o, const char *state, const char *fin_year)
{
    CURL *h = curl_easy_init();
    struct buf pub, real;
    char *s = NULL;

    buf_init(&pub, URL_MAX);
    buf_init(&real, URL_MAX);
    if (h != NULL && build_urls(h, o, state, fin_year, 0, &pub, &real) == 0)
        s = buf_steal(&pub, NULL);
    else
        s = xstrdup(o->base);
    buf_free(&pub);
    buf_free(&real);
    if (h)
        curl_easy_cleanup(h);
    return s;
}

/* Replace every occurrence of the key in s (in place) by '*'. */
static void scrub(char *s, const char *key)
{
    size_t klen = key ? strlen(key) : 0;
    char *p;

    if (klen == 0)
        return;
    while ((p = strstr(s, key)) != NULL)
        memset(p, '*', klen);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct response *r = arg;
    size_t n = size * nmemb;

    if (buf_append(&r->body, ptr, n) != 0) {
        r->too_big = 1;
        return 0;
    }
    return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct response *r = arg;
    size_t n = size * nmemb;
    static const char name[] = "retry-after:";

    if (n > sizeof(name) - 1 && strncasecmp(ptr, name, sizeof(name) - 1) == 0) {
        char tmp[32];
        size_t len = n - (sizeof(name) - 1);
        char *end;
        long v;

        if (len >= sizeof(tmp))
            len = sizeof(tmp) - 1;
        memcpy(tmp, ptr + sizeof(name) - 1, len);
        tmp[len] = '\0';
        errno = 0;
        v = strtol(tmp, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n' || *end == '\t')
            end++;
        /* Only the delta-seconds form; an HTTP-date falls back to our own backoff. */
        if (!errno && end != tmp && *end == '\0' && v >= 0)
            r->retry_after_ms = v > 86400 ? 86400000L : v * 1000;
    }
    return n;
}

static long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void log_attempt(PGconn *db, long long run_id, const char *url, int attempt, long status,
                        size_t bytes, long duration, const char *error)
{
    char run[24], att[16], st[16], by[24], du[24];
    const char *params[7];
    PGresult *res;

    if (db == NULL || run_id <= 0)
        return;
    snprintf(run, sizeof(run), "%lld", run_id);
    snprintf(att, sizeof(att), "%d", attempt);
    snprintf(st, sizeof(st), "%ld", status);
    snprintf(by, sizeof(by), "%zu", bytes);
    snprintf(du, sizeof(du), "%ld", duration);
    params[0] = run;
    params[1] = url;
    params[2] = att;
    params[3] = status > 0 ? st : NULL;
    params[4] = by;
    params[5] = du;
    params[6] = error && *error ? error : NULL;
    res = PQexecParams(db,
                       "INSERT INTO etl_fetch_log (run_id, url, attempt, http_status, bytes, "
                       "duration_ms, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       7, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        log_warn("fetch: cannot write etl_fetch_log: %s", PQerrorMessage(db));
    PQclear(res);
}

enum outcome { OUT_OK, OUT_RETRY, OUT_FAIL };

/* A 64-bit FNV-1a digest, to notice a server that returns the same page again. */
static uint64_t fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h ^ n;
}

/* Fetch one page (with retries) and hand it to fn. */
static int fetch_page(CURL *h, PGconn *db, long long run_id, const struct etl_fetch_opts *o,
                      const char *real, const char *pub, etl_page_fn fn, void *arg,
                      struct etl_page_info *info, uint64_t *digest, long *requests, char *err,
                      size_t errlen)
{
    char curlerr[CURL_ERROR_SIZE], msg[512];
    struct response r;
    int attempt, rc = -1;

    buf_init(&r.body, o->max_bytes);
    for (attempt = 1; attempt <= o->max_attempts; attempt++) {
        enum outcome oc = OUT_FAIL;
        long status = 0, t0, delay;
        CURLcode cc;

        buf_reset(&r.body);
        r.too_big = 0;
        r.retry_after_ms = -1;
        curlerr[0] = '\0';
        msg[0] = '\0';
        curl_easy_setopt(h, CURLOPT_URL, real);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
        t0 = now_ms();
        cc = curl_easy_perform(h);
        (*requests)++;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (r.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
            snprintf(msg, sizeof(msg), "response larger than %zu bytes", o->max_bytes);
            oc = OUT_FAIL;
        } else if (cc != CURLE_OK) {
            snprintf(msg, sizeof(msg), "%s", curlerr[0] ? curlerr : curl_easy_strerror(cc));
            oc = cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ? OUT_FAIL
                                                                               : OUT_RETRY;
        } else if (status == 429 || (status >= 500 && status <= 599)) {
            snprintf(msg, sizeof(msg), "HTTP %ld", status);
            oc = OUT_RETRY;
        } else if (status < 200 || status > 299) {
            snprintf(msg, sizeof(msg), "HTTP %ld", status);
            oc = OUT_FAIL;
        } else {
            char perr[256] = "";

            memset(info, 0, sizeof(*info));
            info->total = info->count = -1;
            if (fn(arg, r.body.data ? r.body.data : "", r.body.len, info, perr, sizeof(perr)) ==
                0) {
                oc = OUT_OK;
            } else {
                snprintf(msg, sizeof(msg), "truncated or malformed body: %s", perr);
                oc = OUT_RETRY;
            }
        }
        scrub(msg, o->api_key);
        log_attempt(db, run_id, pub, attempt, status, r.body.len, now_ms() - t0, msg);
        if (oc == OUT_OK) {
            *digest = fnv1a(r.body.data, r.body.len);
            rc = 0;
            goto out;
        }
        log_warn("fetch: %s attempt %d/%d: %s", pub, attempt, o->max_attempts, msg);
        snprintf(err, errlen, "%s: %s", pub, msg);
        if (oc == OUT_FAIL)
            goto out;
        if (attempt == o->max_attempts)
            break;
        delay = o->backoff_ms << (attempt - 1 < 16 ? attempt - 1 : 16);
        if (delay > MAX_BACKOFF_MS)
            delay = MAX_BACKOFF_MS;
        if (r.retry_after_ms >= 0)
            delay =
                r.retry_after_ms < o->retry_after_max_ms ? r.retry_after_ms : o->retry_after_max_ms;
        sleep_ms(delay);
    }
    snprintf(err, errlen, "%s: failed after %d attempts: %s", pub, o->max_attempts, msg);
out:
    buf_free(&r.body);
    return rc;
}

int etl_fetch_all(PGconn *db, long long run_id, const struct etl_fetch_opts *o, const char *state,
                  const char *fin_year, etl_page_fn fn, void *arg, long *pages, long *requests,
                  char *err, size_t errlen)
{
    struct buf pub, real;
    long offset = 0, npages = 0, nreq = 0;
    uint64_t digest = 0, prev_digest = 0;
    CURL *h = curl_easy_init();
    int rc = -1;

    buf_init(&pub, URL_MAX);
    buf_init(&real, URL_MAX);
    if (h == NULL) {
        snprintf(err, errlen, "curl_easy_init failed");
        goto out;
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hisaab-etl/1");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    for (;;) {
        struct etl_page_info info;

        if (npages >= MAX_PAGES) {
            snprintf(err, errlen, "more than %d pages; giving up", MAX_PAGES);
            goto out;
        }
        if (build_urls(h, o, state, fin_year, offset, &pub, &real) != 0) {
            snprintf(err, errlen, "URL too long");
            goto out;
        }
        if (fetch_page(h, db, run_id, o, buf_cstr(&real), buf_cstr(&pub), fn, arg, &info, &digest,
                       &nreq, err, errlen) != 0)
            goto out;
        if (npages > 0 && info.records > 0 && digest == prev_digest) {
            /* Paging would never end: the offset is being ignored. */
            snprintf(err, errlen, "%s: the same page came back for a new offset", buf_cstr(&pub));
            goto out;
        }
        prev_digest = digest;
        npages++;
        offset += (long)info.records;
        if (info.records <= 0)
            break;
        if (o->format != ETL_FORMAT_CSV && info.total >= 0) {
            if (offset >= info.total)
                break;
        } else if (info.records < o->limit) {
            break;
        }
    }
    log_info("fetch: %s: %ld pages, %ld records, %ld requests", buf_cstr(&pub), npages, offset,
             nreq);
    rc = 0;
out:
    if (pages)
        *pages = npages;
    if (requests)
        *requests = nreq;
    if (h)
        curl_easy_cleanup(h);
    buf_free(&pub);
    buf_free(&real);
    return rc;
}
