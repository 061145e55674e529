/*
 * Rate limits and CORS for the district API; see api_limit.h. The counting is the shared
 * limiter's (channel/limit.h): one Redis round trip per limited request, or this worker's
 * table when Redis fails, so the API keeps serving.
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

#include "api/api_auth.h"
#include "net/config.h"
#include "net/http.h"
#include "core/log.h"
#include "core/mem.h"
#include "channel/httplimit.h"

#define KEY_NAME_MAX 32
#define KEY_HEX 32
#define KEY_LABEL "hisaab-client:"

static struct {
    int ip_limit, ip_window;
    int key_limit, key_window;
    int nat_limit, nat_window;
    char *secret;
    char *origins; /* comma-separated */
} lc;

void api_limit_init(const struct config *cfg)
{
    lc.ip_limit = cfg->rate_ip;
    lc.ip_window = cfg->rate_ip_window > 0 ? cfg->rate_ip_window : 900;
    lc.key_limit = cfg->rate_key;
    lc.key_window = cfg->rate_key_window > 0 ? cfg->rate_key_window : 3600;
    lc.nat_limit = cfg->rate_nat;
    lc.nat_window = cfg->rate_nat_window > 0 ? cfg->rate_nat_window : 900;
    free(lc.secret);
    lc.secret = cfg->secret != NULL && cfg->secret[0] != '\0' ? xstrdup(cfg->secret) : NULL;
    free(lc.origins);
    lc.origins = cfg->cors_origins != NULL ? xstrdup(cfg->cors_origins) : NULL;
}

void api_limit_exit(void)
{
    free(lc.secret);
    free(lc.origins);
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

/* An OPTIONS request (a CORS preflight or a plain OPTIONS): answered here, not counted. */
static void options(struct http_request *req)
{
    if (cors(req)) {
        http_add_header(req, "Access-Control-Allow-Methods", "GET, HEAD");
        http_add_header(req, "Access-Control-Allow-Headers",
                        "X-API-Key, If-None-Match, Accept-Language");
        http_add_header(req, "Access-Control-Max-Age", "600");
    }
    http_add_header(req, "Allow", "GET, HEAD, OPTIONS");
    http_reply(req, 204, NULL, NULL, 0);
}

/* Count req under its API key (when it has one) or else under its address with
 * ip_policy and prefix; 401 for a bad key. */
static void run(struct http_request *req, api_limit_next_fn next, const char *prefix,
                const struct limit_policy *ip_policy)
{
    const char *key = http_header(req, "X-API-Key"), *bearer = api_auth_bearer(req);
    struct limit_policy policy;
    struct api_identity who;
    char name[KEY_NAME_MAX + 1], id[LIMIT_ID_MAX], kid[APIKEY_ID_MAX];
    int r;

    if (http_method(req) == CFG_METHOD_OPTIONS) {
        options(req);
        return;
    }
    (void)cors(req);
    /* A key of the table given as a Bearer token (the admin endpoints) counts the same. */
    if (key == NULL && bearer != NULL && apikey_parse(bearer, kid))
        key = bearer;
    if (key != NULL && (r = api_auth_lookup(key, &who)) != 0) {
        if (r < 0) {
            http_add_header(req, "Retry-After", "2");
            http_reply_error(req, 503, "database_unavailable",
                             "Keys cannot be checked right now; try again shortly.");
            return;
        }
        /* Every role has a key's limit; the id names the budget. */
        policy.limit = lc.key_limit;
        policy.window_s = lc.key_window;
        snprintf(id, sizeof(id), "api:key:hk_%s", who.key_id);
    } else if (key != NULL) {
        if (!check_key(key, name, sizeof(name))) {
            http_reply_error(req, 401, "invalid_api_key", "This API key is not valid.");
            return;
        }
        policy.limit = lc.key_limit;
        policy.window_s = lc.key_window;
        snprintf(id, sizeof(id), "api:key:%s", name);
    } else {
        policy = *ip_policy;
        if (policy.limit > 0) /* else the id is never used */
            snprintf(id, sizeof(id), "%s%s", prefix, http_peer(req));
        else
            id[0] = '\0';
    }
    httplimit_run(req, id, &policy, next);
}

void api_limit_run(struct http_request *req, api_limit_next_fn next)
{
    struct limit_policy p = {lc.ip_limit, lc.ip_window};

    run(req, next, "api:ip:", &p);
}

void api_limit_run_cached(struct http_request *req, api_limit_next_fn next)
{
    struct limit_policy p = {lc.nat_limit, lc.nat_window};

    run(req, next, HTTPLIMIT_NAT_PREFIX, &p);
}
