/*
 * Rate limits and CORS for the district API, run in front of every API handler.
 *
 * Limits: the shared limiter's fixed windows (channel/limit.h: a window starts with a
 * client's first request; one Redis round trip per request), by default 100 requests per
 * 15 minutes per client IP for what is expensive (comparison, export, admin), 6000 for
 * the cached GETs (api_limit_run_cached(), sized for carrier NAT: docs/web.md), or 1000 per hour
 * per API key when the request carries a valid `X-API-Key` (kore.conf: rate_limit_ip,
 * rate_limit_ip_window_seconds, rate_limit_client, rate_limit_client_window_seconds; 0 =
 * no limit). Every limited answer carries RateLimit-Limit, RateLimit-Remaining,
 * RateLimit-Reset (seconds) and RateLimit-Policy ("100;w=900"); over the limit the answer
 * is 429 rate_limited with Retry-After. When Redis is down or slow the same limits are
 * counted per worker in memory (so a client may get up to workers x limit), and
 * /api/v1/health reports Redis down (degraded). The client IP is the TCP peer: behind a
 * reverse proxy, limit there or give each client its own key.
 *
 * API keys: a key of the key table (api_auth.h, "hk_<id>_<secret>", any role; in X-API-Key
 * or as a Bearer token) is counted under its id with the key limit. The older stateless keys still
 * work: "<name>.<hex>" where name is 1 to 32 of [a-z0-9-] and hex the first 32 hex digits of
 * HMAC-SHA256(HISAAB_SECRET, "hisaab-client:" + name). A bad key is answered 401 invalid_api_key
 * (without HISAAB_SECRET no key is valid).
 *
 * CORS: when the request's Origin is one of kore.conf's cors_origins (comma-separated,
 * exact match), Access-Control-Allow-Origin echoes it; other origins get no CORS headers
 * (the browser then refuses the answer). Cacheable answers then say Vary: Origin too.
 * OPTIONS (a preflight) is answered 204 here, with Access-Control-Allow-Methods/-Headers/
 * -Max-Age for an allowed Origin, and is not counted.
 */
#ifndef HISAAB_API_LIMIT_H
#define HISAAB_API_LIMIT_H

#include <stddef.h>

struct config;
struct http_request;

/* What runs once a request is allowed. */
typedef void (*api_limit_next_fn)(struct http_request *req);

/* Per worker: keep the limits, the CORS allowlist and the key secret from cfg. */
void api_limit_init(const struct config *cfg);

/* Per worker, when stopping. */
void api_limit_exit(void);

/*
 * Add CORS headers, count the request against its limit, then call next(req), or answer
 * 401 / 429 (or an OPTIONS preflight) itself. next may run later, from a Redis callback; the
 * request is answered exactly once either way.
 */
void api_limit_run(struct http_request *req, api_limit_next_fn next);

/*
 * The same for a cached GET (an answer from memory, per data version): an address's
 * requests count against the carrier-NAT budget (rate_limit_ip_cached per
 * rate_limit_ip_cached_window_seconds, default 6000 per 15 minutes, shared with the web
 * app's files: channel/httplimit.h), an API key's against its own limit as above.
 */
void api_limit_run_cached(struct http_request *req, api_limit_next_fn next);

/* 1 when a CORS allowlist is configured (answers vary by Origin). */
int api_limit_cors_enabled(void);

/*
 * The API key for client name under secret into out (n >= 66): returns 0, or -1 when the
 * name is not 1..32 of [a-z0-9-] or secret is empty. For issuing keys and for tests.
 */
int api_limit_make_key(const char *secret, const char *name, char *out, size_t n)
    __attribute__((warn_unused_result));

#endif
