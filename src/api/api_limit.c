/*
 * Rate limits and CORS for the district API; see api_limit.h. One Redis round trip per
 * limited request (a Lua script, so INCR and EXPIRE are atomic); on any Redis failure the
 * request is counted in a small per-worker table instead, so the API keeps serving.
 */
#include "api/api_limit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "net/config.h"
#include "net/http.h"
#include "core/log.h"
#include "core/mem.h"
#include "backend/rds.h"

#define KEY_NAME_MAX 32
#define KEY_HEX 32
#define KEY_LABEL "hisaab-client:"
#define PROBES 8

static const char incr_script[] =
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end return n";

struct local_slot {
    char id[80];
    long long window;
    long long count;
};

static struct {
    int ip_limit, ip_window;
    int key_limit, key_window;
    char *secret;
    char *origins; /* comma-separated */
    struct local_slot *slots;
    int redis_warned;
} lc;

struct check {
    struct http_request *req;
    api_limit_next_fn next;
    long long limit;
    int window;
    long long reset;
    char id[80]; /* "ip:<addr>" or "key:<name>" */
};

void api_limit_init(const struct config *cfg)
{
    lc.ip_limit = cfg->rate_ip;
    lc.ip_window = cfg->rate_ip_window > 0 ? cfg->rate_ip_window : 900;
    lc.key_limit = cfg->rate_key;
    lc.key_window = cfg->rate_key_window > 0 ? cfg->rate_key_window : 3600;
    free(lc.secret);
    lc.secret = cfg->secret != NULL && cfg->secret[0] != '\0' ? xstrdup(cfg->secret) : NULL;
    free(lc.origins);
    lc.origins = cfg->cors_origins != NULL ? xstrdup(cfg->cors_origins) : NULL;
    if (lc.slots == NULL)
        lc.slots = xcalloc(API_LIMIT_LOCAL_SLOTS, sizeof(*lc.slots));
}

void api_limit_exit(void)
{
    free(lc.secret);
    free(lc.origins);
    free(lc.slots);
    memset(&lc, 0, sizeof(lc));
}

static int valid_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || n > KEY_NAME_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return 0;
    return 1;
}

/* hex of HMAC-SHA256(secret, KEY_LABEL + name[0..n)), first KEY_HEX digits, into out. */
static int key_mac(const char *secret, const char *name, size_t n, char out[KEY_HEX + 1])
{
    unsigned char msg[sizeof(KEY_LABEL) + KEY_NAME_MAX], mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0, i;
    size_t llen = sizeof(KEY_LABEL) - 1;

    if (secret == NULL || secret[0] == '\0' || !valid_name(name, n))
        return -1;
    memcpy(msg, KEY_LABEL, llen);
    memcpy(msg + llen, name, n);
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, llen + n, mac, &mlen) == NULL ||
        mlen * 2 < KEY_HEX)
        return -1;
    for (i = 0; i < KEY_HEX / 2; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

int api_limit_make_key(const char *secret, const char *name, char *out, size_t n)
{
    char mac[KEY_HEX + 1];
    size_t len = strlen(name);
    int rc = -1;

    if (key_mac(secret, name, len, mac) != 0 || n < len + 1 + KEY_HEX + 1)
        goto out;
    snprintf(out, n, "%s.%s", name, mac);
    rc = 0;
out:
    return rc;
}

/* 1 and the name into id when key is valid. */
static int check_key(const char *key, char *name, size_t n)
{
    const char *dot = strchr(key, '.');
    char mac[KEY_HEX + 1];
    size_t nlen;

    if (dot == NULL)
        return 0;
    nlen = (size_t)(dot - key);
    if (strlen(dot + 1) != KEY_HEX || nlen >= n || key_mac(lc.secret, key, nlen, mac) != 0)
        return 0;
    if (CRYPTO_memcmp(mac, dot + 1, KEY_HEX) != 0)
        return 0;
    memcpy(name, key, nlen);
    name[nlen] = '\0';
    return 1;
}

/* 1 when the request's Origin is on the allowlist. */
static int cors(struct http_request *req)
{
    const char *origin = http_header(req, "Origin");
    const char *p;
    size_t olen, n;

    if (lc.origins == NULL || origin == NULL)
        return 0;
    olen = strlen(origin);
    for (p = lc.origins; *p != '\0';) {
        n = strcspn(p, ",");
        if (n == olen && memcmp(p, origin, n) == 0) {
            http_add_header(req, "Access-Control-Allow-Origin", origin);
            http_add_header(req, "Access-Control-Expose-Headers",
                            "ETag, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
                            "RateLimit-Policy, Retry-After");
            return 1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

int api_limit_cors_enabled(void)
{
    return lc.origins != NULL;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ULL;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* Count one request of id in this worker's table; returns the count in this window. */
static long long local_count(const char *id, long long window)
{
    size_t start = (size_t)(fnv1a(id) % API_LIMIT_LOCAL_SLOTS), i;
    struct local_slot *s, *victim = NULL;

    for (i = 0; i < PROBES; i++) {
        s = &lc.slots[(start + i) % API_LIMIT_LOCAL_SLOTS];
        if (s->id[0] != '\0' && strcmp(s->id, id) == 0) {
            if (s->window != window) {
                s->window = window;
                s->count = 0;
            }
            return ++s->count;
        }
        /* A free slot, or one whose window is over, can be taken. */
        if (victim == NULL && (s->id[0] == '\0' || s->window != window))
            victim = s;
    }
    if (victim == NULL)
        victim = &lc.slots[start]; /* all busy: forget the first (it restarts at 1) */
    snprintf(victim->id, sizeof(victim->id), "%s", id);
    victim->window = window;
    victim->count = 1;
    return 1;
}

/* Headers, then either the handler or a 429. */
static void decide(struct check *c, long long count)
{
    char v[64];
    long long left = c->limit - count;

    snprintf(v, sizeof(v), "%lld", c->limit);
    http_add_header(c->req, "RateLimit-Limit", v);
    snprintf(v, sizeof(v), "%lld", left > 0 ? left : 0);
    http_add_header(c->req, "RateLimit-Remaining", v);
    snprintf(v, sizeof(v), "%lld", c->reset);
    http_add_header(c->req, "RateLimit-Reset", v);
    snprintf(v, sizeof(v), "%lld;w=%d", c->limit, c->window);
    http_add_header(c->req, "RateLimit-Policy", v);
    if (count > c->limit) {
        snprintf(v, sizeof(v), "%lld", c->reset);
        http_add_header(c->req, "Retry-After", v);
        http_reply_error(c->req, 429, "rate_limited",
                         "Too many requests; please wait before trying again.");
    } else {
        c->next(c->req);
    }
}

static void counted(void *arg, const redisReply *reply, const char *err)
{
    struct check *c = arg;
    long long count;

    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER) {
        count = reply->integer;
        lc.redis_warned = 0;
    } else {
        if (!lc.redis_warned)
            log_warn("rate limit: redis unavailable (%s); counting per worker",
                     err != NULL ? err : "unexpected reply");
        lc.redis_warned = 1;
        count = local_count(c->id, (long long)time(NULL) / c->window);
    }
    decide(c, count);
    free(c);
}

void api_limit_run(struct http_request *req, api_limit_next_fn next)
{
    const char *key = http_header(req, "X-API-Key");
    struct check *c;
    char name[KEY_NAME_MAX + 1], rkey[160];
    long long now = (long long)time(NULL), window;

    if (http_method(req) == CFG_METHOD_OPTIONS) {
        /* A CORS preflight (or a plain OPTIONS): answered here, not counted. */
        if (cors(req)) {
            http_add_header(req, "Access-Control-Allow-Methods", "GET, HEAD");
            http_add_header(req, "Access-Control-Allow-Headers",
                            "X-API-Key, If-None-Match, Accept-Language");
            http_add_header(req, "Access-Control-Max-Age", "600");
        }
        http_add_header(req, "Allow", "GET, HEAD, OPTIONS");
        http_reply(req, 204, NULL, NULL, 0);
        return;
    }
    (void)cors(req);
    c = xcalloc(1, sizeof(*c));
    c->req = req;
    c->next = next;
    if (key != NULL) {
        if (!check_key(key, name, sizeof(name))) {
            free(c);
            http_reply_error(req, 401, "invalid_api_key", "This API key is not valid.");
            return;
        }
        c->limit = lc.key_limit;
        c->window = lc.key_window;
        snprintf(c->id, sizeof(c->id), "key:%s", name);
    } else {
        c->limit = lc.ip_limit;
        c->window = lc.ip_window;
        snprintf(c->id, sizeof(c->id), "ip:%s", http_peer(req));
    }
    if (c->limit <= 0) {
        free(c);
        next(req);
        return;
    }
    window = now / c->window;
    c->reset = (window + 1) * c->window - now;
    snprintf(rkey, sizeof(rkey), "hisaab:rl:%s:%lld", c->id, window);
    if (rds_command(counted, c, "EVAL %s 1 %s %d", incr_script, rkey, c->window + 1) != 0)
        counted(c, NULL, "redis not configured");
}
