/*
 * One rate limiter for the API and every channel: a fixed window per caller that starts
 * with the caller's first request (so callers do not all reset at the same moment),
 * counted in Redis by three plain commands, the same wherever a request is counted
 * (limit_count() below, and the channel gate in channel/gate.c, which sends them with its
 * own: limit_redis_cmds()), and, while
 * Redis is down or slow, per worker in a bounded table (a caller may then get up to
 * workers x limit). An id is a short string naming the caller and what is limited:
 * "api:ip:1.2.3.4", "api:key:partner-1", "sms:<phone hash>".
 */
#ifndef HISAAB_CHANNEL_LIMIT_H
#define HISAAB_CHANNEL_LIMIT_H

#include <stddef.h>

#include "backend/rds.h"
#include "core/buf.h"

#define LIMIT_KEY_PREFIX "hisaab:rl:"
#define LIMIT_ID_MAX 96
#define LIMIT_LOCAL_SLOTS 4096 /* callers tracked per worker while Redis is away */

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

/*
 * Counting one request in Redis: three commands for a pipeline (rds_pipeline()), INCR key,
 * EXPIRE key window NX (the window starts with the count; NX needs Redis >= 7.0) and TTL
 * key, and what their replies say.
 */
#define LIMIT_REDIS_CMDS 3

struct limit_redis {
    char key[LIMIT_ID_MAX + 16];
    char window[24];
    const char *incr[2], *expire[4], *ttl[2];
    size_t incr_len[2], expire_len[4], ttl_len[2];
    int window_s;
    long long count; /* INCR's reply: this request included */
    long long ttl_s; /* TTL's reply; -1 until read */
};

/* Set r up for one request of id in a window of window_s seconds and put its commands in
 * cmds[0..LIMIT_REDIS_CMDS-1]; they point into r, which must stay where it is until they
 * are sent. Returns 0, or -1 when id is too long for a key. */
int limit_redis_cmds(struct limit_redis *r, const char *id, int window_s,
                     struct rds_argv *cmds) WUR;

/* Read the reply to cmds[i]. Returns 0, or -1 when it is not what that command returns. */
int limit_redis_read(struct limit_redis *r, int i, const redisReply *reply) WUR;

/* The seconds left in the window, once every reply was read. */
long long limit_redis_ttl(const struct limit_redis *r);

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
