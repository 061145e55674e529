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
#include "core/log.h"
#include "core/mem.h"

/*
 * What each command of a pass's pipeline asks, in this order (the first two only when
 * needed):
 *   SET seen 1 NX EX ttl          the id is new (OK) or a retry (nil): the dedupe;
 *   INCR, EXPIRE NX, TTL of rate  the caller's count in the window (limit_redis_cmds());
 *   HMGET caller lang district    what we remember of the caller.
 * Plain commands, not a script: Redis runs them in about half the time a Lua script doing
 * the same takes (docs/hotpath.md). A retry is counted by INCR like any message, so its
 * count is given back (DECR) when SET finds the id.
 */
enum part { PART_SEEN, PART_LIMIT, PART_MEMORY };
#define PARTS_MAX (2 + LIMIT_REDIS_CMDS)

struct pass {
    int refs; /* the Redis call and the timer */
    int answered;
    int nparts;
    enum part role[PARTS_MAX];
    int limit_at;             /* the index of the first limit command, or -1 */
    int failed;               /* a part had no usable reply */
    int duplicate;            /* SET found the id */
    struct limit_redis count; /* count.count > 0: INCR counted this message */
    struct memory memory;
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

/* What Redis said, once every part is in. */
static void redis_answer(struct pass *p)
{
    struct gate_result r;
    const char *decr[2] = {"DECR", p->count.key};
    size_t decr_len[2] = {4, strlen(p->count.key)};

    if (p->duplicate && p->count.count > 0 && rds_send_argv(2, decr, decr_len) != 0)
        log_debug("gate: a retry stays counted");
    if (p->answered)
        return;
    if (p->failed) {
        answer_local(p);
        return;
    }
    memset(&r, 0, sizeof(r));
    if (p->duplicate) {
        r.duplicate = 1;
    } else {
        if (p->id[0] != '\0')
            (void)gate_local_seen(p->gateway, p->id);
        if (p->limit_at >= 0)
            limit_judge(&p->limit, p->count.count, limit_redis_ttl(&p->count), 0, &r.limit);
        else
            limit_judge(&p->limit, 0, 0, 0, &r.limit);
        r.memory = p->memory;
    }
    answer(p, &r);
}

static void part_done(void *arg, int i, const redisReply *reply, const char *err)
{
    static int warned;
    struct pass *p = arg;
    int ok = 0;

    if (reply != NULL) {
        switch (p->role[i]) {
        case PART_SEEN:
            p->duplicate = reply->type == REDIS_REPLY_NIL;
            ok = p->duplicate || reply->type == REDIS_REPLY_STATUS;
            break;
        case PART_LIMIT:
            ok = limit_redis_read(&p->count, i - p->limit_at, reply) == 0;
            break;
        case PART_MEMORY:
            if ((ok = reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) != 0)
                memory_parse(str_of(reply->element[0]), str_of(reply->element[1]), &p->memory);
            break;
        }
    }
    if (!ok) {
        /* A refused command (an error reply, not a timeout) is said once: a Redis older
         * than 7.0 refuses EXPIRE ... NX, and every caller is then counted per worker. */
        if (err != NULL && strncmp(err, "ERR", 3) == 0 && !warned) {
            log_warn("gate: redis refused a command (%s); answering from each worker", err);
            warned = 1;
        }
        log_debug("gate: redis: %s", err != NULL ? err : "unexpected reply");
        p->failed = 1;
    }
    if (i == p->nparts - 1) {
        redis_answer(p);
        release(p);
    }
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

/* parts[0..k-1] joined into out (n bytes). Returns the length, or -1 when it does not fit. */
static int join(char *out, size_t n, const char *const *parts, int k)
{
    size_t at = 0, len;
    int i;

    for (i = 0; i < k; i++) {
        len = strlen(parts[i]);
        if (at + len >= n) {
            out[at] = '\0';
            return -1;
        }
        memcpy(out + at, parts[i], len);
        at += len;
    }
    out[at] = '\0';
    return (int)at;
}

#define NUM_TEXT_(n) #n
#define NUM_TEXT(n) NUM_TEXT_(n)

int gate_pass(const struct gate_request *q, gate_fn cb, void *arg)
{
    static const char dedupe_ttl[] = NUM_TEXT(GATE_DEDUPE_TTL_S);
    char seen[GATE_ID_MAX + 80], caller[128];
    const char *seen_parts[6], *rate_parts[3];
    const char *set[6] = {"SET", seen, "1", "NX", "EX", dedupe_ttl};
    size_t set_len[6] = {3, 0, 1, 2, 2, sizeof(dedupe_ttl) - 1};
    const char *hmget[4] = {"HMGET", caller, "lang", "district"};
    size_t hmget_len[4] = {5, 0, 4, 8};
    struct rds_argv cmds[PARTS_MAX];
    struct timeval tv;
    struct pass *p;
    int n = 0, klen = 0, dedupe;

    if (g.base == NULL || cb == NULL)
        return -1;
    p = xcalloc(1, sizeof(*p));
    p->cb = cb;
    p->arg = arg;
    p->limit = q->limit;
    p->limit_at = -1;
    snprintf(p->gateway, sizeof(p->gateway), "%s", q->gateway);
    snprintf(p->id, sizeof(p->id), "%s", q->id != NULL ? q->id : "");
    rate_parts[0] = q->channel;
    rate_parts[1] = ":";
    rate_parts[2] = q->hash;
    seen_parts[0] = "hisaab:";
    seen_parts[1] = q->channel;
    seen_parts[2] = ":seen:";
    seen_parts[3] = p->gateway;
    seen_parts[4] = ":";
    seen_parts[5] = p->id;
    dedupe = p->id[0] != '\0';
    if (join(p->rate_id, sizeof(p->rate_id), rate_parts, 3) < 0 ||
        (q->limit.limit > 0 &&
         limit_redis_cmds(&p->count, p->rate_id, q->limit.window_s, cmds + dedupe) != 0) ||
        memory_key(q->hash, caller, sizeof(caller)) != 0 ||
        (dedupe && (klen = join(seen, sizeof(seen), seen_parts, 6)) < 0)) {
        /* Names too long for Redis keys: this worker decides. */
        p->refs = 1;
        answer_local(p);
        release(p);
        return 0;
    }
    if (dedupe) {
        set_len[1] = (size_t)klen;
        p->role[n] = PART_SEEN;
        cmds[n++] = (struct rds_argv){6, set, set_len};
    }
    if (q->limit.limit > 0) {
        /* limit_redis_cmds() put them in place, after the SET. */
        p->limit_at = n;
        for (int k = 0; k < LIMIT_REDIS_CMDS; k++)
            p->role[n++] = PART_LIMIT;
    }
    hmget_len[1] = strlen(caller);
    p->role[n] = PART_MEMORY;
    cmds[n++] = (struct rds_argv){4, hmget, hmget_len};
    p->nparts = n;
    p->timer = evtimer_new(g.base, on_wait, p);
    tv.tv_sec = q->wait_ms / 1000;
    tv.tv_usec = (q->wait_ms % 1000) * 1000;
    if (p->timer != NULL && evtimer_add(p->timer, &tv) == 0)
        p->refs++;
    p->refs++;
    if (rds_pipeline(part_done, p, n, cmds) != 0) {
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
