/*
 * The shared rate limiter; see limit.h. One Redis round trip per counted request (three
 * commands in one pipeline), a small open-addressing table per worker otherwise.
 */
#include "channel/limit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/rds.h"
#include "core/dec.h"
#include "core/log.h"
#include "core/mem.h"

#define PROBES 8

struct local_slot {
    char id[LIMIT_ID_MAX];
    long long start_ms;
    long long end_ms;
    long long count;
};

static struct local_slot *slots;
static int redis_warned;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int limit_key(const char *id, char *out, size_t n)
{
    int w = snprintf(out, n, LIMIT_KEY_PREFIX "%s", id);

    return w < 0 || (size_t)w >= n ? -1 : 0;
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

long long limit_local(const char *id, int window_s, long long *ttl_s)
{
    long long now = now_ms();
    size_t start, i;
    struct local_slot *s, *victim = NULL;

    if (slots == NULL)
        slots = xcalloc(LIMIT_LOCAL_SLOTS, sizeof(*slots));
    if (window_s <= 0)
        window_s = 1;
    start = (size_t)(fnv1a(id) % LIMIT_LOCAL_SLOTS);
    for (i = 0; i < PROBES; i++) {
        s = &slots[(start + i) % LIMIT_LOCAL_SLOTS];
        if (s->id[0] != '\0' && strcmp(s->id, id) == 0) {
            if (now >= s->end_ms) {
                s->start_ms = now;
                s->end_ms = now + window_s * 1000LL;
                s->count = 0;
            }
            victim = s;
            goto count;
        }
        /* A free slot, or one whose window is over, can be taken. */
        if (victim == NULL && (s->id[0] == '\0' || now >= s->end_ms))
            victim = s;
    }
    if (victim == NULL)
        victim = &slots[start]; /* all busy: forget the first (it restarts at 1) */
    snprintf(victim->id, sizeof(victim->id), "%s", id);
    victim->start_ms = now;
    victim->end_ms = now + window_s * 1000LL;
    victim->count = 0;
count:
    *ttl_s = (victim->end_ms - now + 999) / 1000;
    return ++victim->count;
}

void limit_judge(const struct limit_policy *p, long long count, long long ttl_s, int local,
                 struct limit_verdict *v)
{
    v->limit = p->limit;
    v->count = count;
    v->remaining = p->limit > count ? p->limit - count : 0;
    v->reset_s = ttl_s > 0 ? ttl_s : 1;
    v->over = p->limit > 0 && count > p->limit;
    v->local = local;
}

int limit_redis_cmds(struct limit_redis *r, const char *id, int window_s, struct rds_argv *cmds)
{
    size_t klen;

    if (limit_key(id, r->key, sizeof(r->key)) != 0)
        return -1;
    klen = strlen(r->key);
    r->window_s = window_s > 0 ? window_s : 1;
    r->count = 0;
    r->ttl_s = -1;
    r->incr[0] = "INCR";
    r->expire[0] = "EXPIRE";
    r->ttl[0] = "TTL";
    r->incr[1] = r->expire[1] = r->ttl[1] = r->key;
    r->incr_len[0] = 4;
    r->expire_len[0] = 6;
    r->ttl_len[0] = 3;
    r->incr_len[1] = r->expire_len[1] = r->ttl_len[1] = klen;
    r->expire_len[2] = dec_u64((uint64_t)r->window_s, r->window);
    r->expire[2] = r->window;
    r->expire[3] = "NX";
    r->expire_len[3] = 2;
    cmds[0] = (struct rds_argv){2, r->incr, r->incr_len};
    cmds[1] = (struct rds_argv){4, r->expire, r->expire_len};
    cmds[2] = (struct rds_argv){2, r->ttl, r->ttl_len};
    return 0;
}

int limit_redis_read(struct limit_redis *r, int i, const redisReply *reply)
{
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER)
        return -1;
    if (i == 0)
        r->count = reply->integer;
    else if (i == 2)
        r->ttl_s = reply->integer;
    return 0;
}

long long limit_redis_ttl(const struct limit_redis *r)
{
    /* -1: no expiry (EXPIRE NX refused); -2: the key expired between the commands. */
    return r->ttl_s >= 0 ? r->ttl_s : r->window_s;
}

struct count_call {
    limit_fn cb;
    void *arg;
    struct limit_policy policy;
    char id[LIMIT_ID_MAX];
    struct limit_redis r;
    char why[80]; /* the first part that failed: why */
};

static void counted_local(struct count_call *c)
{
    struct limit_verdict v;
    long long ttl = 0, n = limit_local(c->id, c->policy.window_s, &ttl);

    limit_judge(&c->policy, n, ttl, 1, &v);
    c->cb(c->arg, &v);
}

/* The verdict, from Redis's replies or (c->why says why not) from this worker; frees c. */
static void count_done(struct count_call *c)
{
    struct limit_verdict v;

    if (c->why[0] == '\0') {
        redis_warned = 0;
        limit_judge(&c->policy, c->r.count, limit_redis_ttl(&c->r), 0, &v);
        c->cb(c->arg, &v);
    } else {
        if (!redis_warned)
            log_warn("rate limit: redis unavailable (%s); counting per worker", c->why);
        redis_warned = 1;
        counted_local(c);
    }
    free(c);
}

static void counted(void *arg, int i, const redisReply *reply, const char *err)
{
    struct count_call *c = arg;

    if (c->why[0] == '\0' && limit_redis_read(&c->r, i, reply) != 0)
        snprintf(c->why, sizeof(c->why), "%s", err != NULL ? err : "unexpected reply");
    if (i == LIMIT_REDIS_CMDS - 1)
        count_done(c);
}

void limit_count(const char *id, const struct limit_policy *p, limit_fn cb, void *arg)
{
    struct count_call *c;
    struct limit_verdict v;
    struct rds_argv cmds[LIMIT_REDIS_CMDS];

    if (p->limit <= 0) {
        limit_judge(p, 0, p->window_s, 0, &v);
        cb(arg, &v);
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->cb = cb;
    c->arg = arg;
    c->policy = *p;
    snprintf(c->id, sizeof(c->id), "%s", id);
    if (limit_redis_cmds(&c->r, c->id, p->window_s, cmds) != 0)
        snprintf(c->why, sizeof(c->why), "id too long");
    else if (rds_pipeline(counted, c, LIMIT_REDIS_CMDS, cmds) == 0)
        return;
    else
        snprintf(c->why, sizeof(c->why), "redis not configured");
    count_done(c);
}

void limit_exit(void)
{
    free(slots);
    slots = NULL;
    redis_warned = 0;
}
