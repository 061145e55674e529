/*
 * One rate limiter for the API and every channel: a fixed window per caller that starts
 * with the caller's first request (so callers do not all reset at the same moment),
 * counted in Redis by one Lua function, LIMIT_LUA_FN, that every script which counts
 * uses (the API's limit script below, the channel gate's in channel/gate.c), and, while
 * Redis is down or slow, per worker in a bounded table (a caller may then get up to
 * workers x limit). An id is a short string naming the caller and what is limited:
 * "api:ip:1.2.3.4", "api:key:partner-1", "sms:<phone hash>".
 */
#ifndef HISAAB_CHANNEL_LIMIT_H
#define HISAAB_CHANNEL_LIMIT_H

#include <stddef.h>

#include "core/buf.h"

#define LIMIT_KEY_PREFIX "hisaab:rl:"
#define LIMIT_ID_MAX 96
#define LIMIT_LOCAL_SLOTS 4096 /* callers tracked per worker while Redis is away */

/*
 * Lua: hisaab_limit(key, window) counts one request in key's window (which starts, with
 * its expiry, at the first) and returns the count and the seconds left. window 0 counts
 * nothing and returns 0, 0.
 */
#define LIMIT_LUA_FN                                                                               \
    "local function hisaab_limit(key, window) "                                                    \
    "if window <= 0 then return 0, 0 end "                                                         \
    "local c = redis.call('INCR', key) "                                                           \
    "local t = redis.call('TTL', key) "                                                            \
    "if t < 0 then redis.call('EXPIRE', key, window) t = window end "                              \
    "return c, t end "

struct limit_policy {
    long long limit; /* requests per window; 0 = unlimited */
    int window_s;    /* > 0 */
};

/* What a count means for the request. */
struct limit_verdict {
    long long limit;
    long long count;     /* this request included */
    long long remaining; /* limit - count, not below 0 */
    long long reset_s;   /* seconds until the window ends, >= 1 */
    int over;            /* count > limit */
    int local;           /* counted by this worker (Redis away) */
};

/* The Redis key of id into out (n bytes). Returns 0 or -1 (too long). */
int limit_key(const char *id, char *out, size_t n) WUR;

/* Count one request of id in this worker's table (window_s seconds); *ttl_s gets the
 * seconds left. Returns the count (>= 1). */
long long limit_local(const char *id, int window_s, long long *ttl_s);

/* The verdict of count with ttl seconds left under p. */
void limit_judge(const struct limit_policy *p, long long count, long long ttl_s, int local,
                 struct limit_verdict *v);

/*
 * Count one request of id under p: in Redis, or in this worker when Redis fails. cb gets
 * the verdict exactly once, from the loop, or at once (from here) when Redis is not
 * configured. With p->limit 0 the verdict is never over and nothing is counted.
 */
typedef void (*limit_fn)(void *arg, const struct limit_verdict *v);
void limit_count(const char *id, const struct limit_policy *p, limit_fn cb, void *arg);

/* Per worker, when stopping: forget the local counts. */
void limit_exit(void);

#endif
