/*
 * The shared rate limiter; see limit.h. One Redis round trip per counted request (the
 * limit script by its SHA1), a small open-addressing table per worker otherwise.
 */
#include "channel/limit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/rds.h"
#include "backend/rds_script.h"
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

static struct rds_script limit_script = {
    LIMIT_LUA_FN "local c, t = hisaab_limit(KEYS[1], tonumber(ARGV[1])) return {c, t}", ""};

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

struct count_call {
    limit_fn cb;
    void *arg;
    struct limit_policy policy;
    char id[LIMIT_ID_MAX];
};

static void counted_local(struct count_call *c)
{
    struct limit_verdict v;
    long long ttl = 0, n = limit_local(c->id, c->policy.window_s, &ttl);

    limit_judge(&c->policy, n, ttl, 1, &v);
    c->cb(c->arg, &v);
}

static void counted(void *arg, const redisReply *reply, const char *err)
{
    struct count_call *c = arg;
    struct limit_verdict v;

    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER &&
        reply->element[1]->type == REDIS_REPLY_INTEGER) {
        redis_warned = 0;
        limit_judge(&c->policy, reply->element[0]->integer, reply->element[1]->integer, 0, &v);
        c->cb(c->arg, &v);
    } else {
        if (!redis_warned)
            log_warn("rate limit: redis unavailable (%s); counting per worker",
                     err != NULL ? err : "unexpected reply");
        redis_warned = 1;
        counted_local(c);
    }
    free(c);
}

void limit_count(const char *id, const struct limit_policy *p, limit_fn cb, void *arg)
{
    struct count_call *c;
    struct limit_verdict v;
    char key[LIMIT_ID_MAX + 16], window[16];
    const char *args[2];

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
    snprintf(window, sizeof(window), "%d", p->window_s);
    if (limit_key(c->id, key, sizeof(key)) != 0) {
        counted(c, NULL, "id too long");
        return;
    }
    args[0] = key;
    args[1] = window;
    if (rds_eval(&limit_script, counted, c, 1, args, 2) != 0)
        counted(c, NULL, "redis not configured");
}

void limit_exit(void)
{
    free(slots);
    slots = NULL;
    redis_warned = 0;
}
