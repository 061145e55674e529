/*
 * The channel gate; see gate.h. A pass is a small context held by both the Redis call
 * and the wait timer: whichever comes first answers, the other only releases it.
 */
#include "channel/gate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "backend/rds.h"
#include "backend/rds_script.h"
#include "core/log.h"
#include "core/mem.h"

/*
 * KEYS: seen, rate, caller; ARGV: dedupe (1/0), dedupe TTL, window (0 = no limit).
 * Returns {-1} for a duplicate, else {count, ttl, lang, district}.
 */
static struct rds_script gate_script = {
    LIMIT_LUA_FN
    "if ARGV[1] == '1' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then"
    " return {-1, 0, '', ''} end "
    "local c, t = hisaab_limit(KEYS[2], tonumber(ARGV[3])) "
    "local m = redis.call('HMGET', KEYS[3], 'lang', 'district') "
    "return {c, t, m[1] or '', m[2] or ''}",
    ""};

struct pass {
    int refs; /* the Redis call and the timer */
    int answered;
    gate_fn cb;
    void *arg;
    struct event *timer;
    struct limit_policy limit;
    char gateway[32];
    char id[GATE_ID_MAX];
    char rate_id[LIMIT_ID_MAX];
};

static struct {
    struct event_base *base;
    uint64_t seen[GATE_LOCAL_IDS];
} g;

static uint64_t id_hash(const char *gateway, const char *id)
{
    uint64_t h = 1469598103934665603ULL;
    const char *p;

    for (p = gateway; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (p = id; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h | 1;
}

int gate_local_seen(const char *gateway, const char *id)
{
    uint64_t h = id_hash(gateway, id);
    size_t slot = (size_t)(h % GATE_LOCAL_IDS);

    if (g.seen[slot] == h)
        return 1;
    g.seen[slot] = h;
    return 0;
}

static void release(struct pass *p)
{
    if (--p->refs > 0)
        return;
    if (p->timer != NULL)
        event_free(p->timer);
    free(p);
}

static void answer(struct pass *p, const struct gate_result *r)
{
    if (p->answered)
        return;
    p->answered = 1;
    if (p->timer != NULL && evtimer_pending(p->timer, NULL)) {
        evtimer_del(p->timer);
        p->refs--; /* the timer's */
    }
    p->cb(p->arg, r);
}

/* This worker's answer: local dedupe and count, no memory. */
static void answer_local(struct pass *p)
{
    struct gate_result r;
    long long ttl = 0, n = 0;

    memset(&r, 0, sizeof(r));
    r.local = 1;
    if (p->id[0] != '\0' && gate_local_seen(p->gateway, p->id)) {
        r.duplicate = 1;
    } else if (p->limit.limit > 0) {
        n = limit_local(p->rate_id, p->limit.window_s, &ttl);
        limit_judge(&p->limit, n, ttl, 1, &r.limit);
    } else {
        limit_judge(&p->limit, 0, p->limit.window_s, 1, &r.limit);
    }
    answer(p, &r);
}

static const char *str_of(const redisReply *e)
{
    return e->type == REDIS_REPLY_STRING ? e->str : NULL;
}

static void redis_done(void *arg, const redisReply *reply, const char *err)
{
    struct pass *p = arg;
    struct gate_result r;

    if (p->answered)
        goto out;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER) {
        log_debug("gate: redis: %s", err != NULL ? err : "unexpected reply");
        answer_local(p);
        goto out;
    }
    memset(&r, 0, sizeof(r));
    if (reply->element[0]->integer < 0) {
        r.duplicate = 1;
    } else {
        if (p->id[0] != '\0')
            (void)gate_local_seen(p->gateway, p->id);
        limit_judge(&p->limit, reply->element[0]->integer,
                    reply->element[1]->type == REDIS_REPLY_INTEGER ? reply->element[1]->integer : 0,
                    0, &r.limit);
        memory_parse(str_of(reply->element[2]), str_of(reply->element[3]), &r.memory);
    }
    answer(p, &r);
out:
    release(p);
}

static void on_wait(evutil_socket_t fd, short what, void *arg)
{
    struct pass *p = arg;

    (void)fd;
    (void)what;
    if (!p->answered) {
        log_debug("gate: redis slow; answering from this worker");
        answer_local(p);
    }
    release(p); /* the timer's */
}

int gate_pass(const struct gate_request *q, gate_fn cb, void *arg)
{
    char seen[GATE_ID_MAX + 80], rate[LIMIT_ID_MAX + 16], caller[128], ttl[16], window[16];
    const char *args[6] = {seen, rate,  caller, q->id != NULL && q->id[0] != '\0' ? "1" : "0",
                           ttl,  window};
    struct timeval tv;
    struct pass *p;

    if (g.base == NULL || cb == NULL)
        return -1;
    p = xcalloc(1, sizeof(*p));
    p->cb = cb;
    p->arg = arg;
    p->limit = q->limit;
    snprintf(p->gateway, sizeof(p->gateway), "%s", q->gateway);
    snprintf(p->id, sizeof(p->id), "%s", q->id != NULL ? q->id : "");
    snprintf(p->rate_id, sizeof(p->rate_id), "%s:%s", q->channel, q->hash);
    snprintf(seen, sizeof(seen), "hisaab:%s:seen:%s:%s", q->channel, p->gateway,
             p->id[0] != '\0' ? p->id : "-");
    snprintf(ttl, sizeof(ttl), "%d", GATE_DEDUPE_TTL_S);
    snprintf(window, sizeof(window), "%d", q->limit.limit > 0 ? q->limit.window_s : 0);
    if (limit_key(p->rate_id, rate, sizeof(rate)) != 0 ||
        memory_key(q->hash, caller, sizeof(caller)) != 0) {
        /* Names too long for Redis keys: this worker decides. */
        p->refs = 1;
        answer_local(p);
        release(p);
        return 0;
    }
    p->timer = evtimer_new(g.base, on_wait, p);
    tv.tv_sec = q->wait_ms / 1000;
    tv.tv_usec = (q->wait_ms % 1000) * 1000;
    if (p->timer != NULL && evtimer_add(p->timer, &tv) == 0)
        p->refs++;
    p->refs++;
    if (rds_eval(&gate_script, redis_done, p, 3, args, 6) != 0) {
        p->refs--;
        answer_local(p);
        /* answer_local() dropped the timer's reference; nothing else holds p now. */
        if (p->refs == 0) {
            p->refs = 1;
            release(p);
        }
    }
    return 0;
}

int gate_init(struct event_base *base)
{
    memset(&g, 0, sizeof(g));
    g.base = base;
    return 0;
}

void gate_exit(void)
{
    g.base = NULL;
}
