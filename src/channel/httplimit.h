/*
 * The shared limiter (channel/limit.h) in front of an HTTP handler, for the API and the
 * web app alike: count the request under an id and a policy, add the RateLimit headers,
 * then run the handler or answer 429 with Retry-After.
 *
 * The figures every channel uses for a client address behind carrier NAT (many phones of
 * a village on one public IPv4 address) are kore.conf's rate_limit_ip_cached and
 * rate_limit_ip_cached_window_seconds, counted under HTTPLIMIT_NAT_PREFIX + the address,
 * one budget for the app's files and the API's cached GETs together.
 */
#ifndef HISAAB_CHANNEL_HTTPLIMIT_H
#define HISAAB_CHANNEL_HTTPLIMIT_H

#include "channel/limit.h"

struct http_request;

/* The limiter id prefix of the per-address budget for cached GETs. */
#define HTTPLIMIT_NAT_PREFIX "nat:ip:"

/* What runs once a request is allowed. */
typedef void (*httplimit_next_fn)(struct http_request *req);

/*
 * Count req under id (copied) with policy p (limit 0: not counted, next runs at once).
 * Adds RateLimit-Limit, -Remaining, -Reset and -Policy, then calls next(req), possibly
 * later from a Redis callback, or answers 429 rate_limited with Retry-After. The request
 * is answered exactly once either way.
 */
void httplimit_run(struct http_request *req, const char *id, const struct limit_policy *p,
                   httplimit_next_fn next);

#endif
