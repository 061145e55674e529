/*
 * The conversation store; see session.h. The worker's table is a fixed array: a key
 * hashes to a run of PROBE slots, in which it lives or replaces the oldest or an expired
 * one; each request waits at most SESSION_WAIT_MS for Redis, then the table answers.
 */
#include "channel/session.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/rds.h"
#include "core/log.h"
#include "core/mem.h"

#define KEY_MAX 160
#define PROBE 8

struct local {
    char key[KEY_MAX];
    char *value;
    long long expires; /* monotonic s */
    unsigned long long used;
};

static struct {
    struct event_base *base;
    struct local t[SESSION_LOCAL];
    unsigned long long tick;
    int started;
} V;

struct pending {
    int get;
    char key[KEY_MAX];
    session_put_fn put_cb;
    session_get_fn get_cb;
    void *arg;
    int done;
    int refs; /* Redis's answer and the timer */
    struct event *timer;
};

static long long now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

static int make_key(const char *space, const char *id, char *out)
{
    size_t i;
    int n;

    if (space == NULL || id == NULL || id[0] == '\0')
        return -1;
    for (i = 0; id[i] != '\0'; i++)
        if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 127)
            return -1;
    n = snprintf(out, KEY_MAX, "hisaab:%s:%s", space, id);
    return n > 0 && n < KEY_MAX ? 0 : -1;
}

/* FNV-1a of the key: the first slot of its run. */
static size_t first_slot(const char *key)
{
    unsigned long long h = 1469598103934665603ULL;

    for (; *key != '\0'; key++) {
        h ^= (unsigned char)*key;
        h *= 1099511628211ULL;
    }
    return (size_t)(h % SESSION_LOCAL);
}

static void local_put(const char *key, const char *value, int ttl_s)
{
    size_t i, at, first = first_slot(key), slot = first;
    long long now = now_s();

    for (i = 0; i < PROBE; i++) {
        at = (first + i) % SESSION_LOCAL;
        if (strcmp(V.t[at].key, key) == 0) {
            slot = at;
            break;
        }
        if (V.t[at].used < V.t[slot].used || V.t[at].expires < now)
            slot = at;
    }
    free(V.t[slot].value);
    snprintf(V.t[slot].key, sizeof(V.t[slot].key), "%s", key);
    V.t[slot].value = xstrdup(value);
    V.t[slot].expires = now + ttl_s;
    V.t[slot].used = ++V.tick;
}

static struct local *local_find(const char *key)
{
    size_t i, at, first = first_slot(key);

    for (i = 0; i < PROBE; i++) {
        at = (first + i) % SESSION_LOCAL;
        if (V.t[at].value != NULL && strcmp(V.t[at].key, key) == 0)
            return &V.t[at];
    }
    return NULL;
}

static const char *local_get(const char *key)
{
    struct local *l = local_find(key);

    return l != NULL && l->expires >= now_s() ? l->value : NULL;
}

static void release(struct pending *p)
{
    if (--p->refs > 0)
        return;
    if (p->timer != NULL)
        event_free(p->timer);
    free(p);
}

static void finish(struct pending *p, const char *value, int ok)
{
    if (p->done)
        return;
    p->done = 1;
    if (p->timer != NULL)
        event_del(p->timer);
    if (p->get)
        p->get_cb(p->arg, value != NULL ? value : local_get(p->key));
    else if (p->put_cb != NULL)
        p->put_cb(p->arg, ok);
}

static void on_reply(void *arg, const redisReply *r, const char *err)
{
    struct pending *p = arg;

    if (p->get) {
        finish(p, err == NULL && r != NULL && r->type == REDIS_REPLY_STRING ? r->str : NULL, 0);
    } else {
        if (err != NULL)
            log_debug("session: redis: %s", err);
        finish(p, NULL, err == NULL);
    }
    release(p);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct pending *p = arg;

    (void)fd;
    (void)what;
    finish(p, NULL, 0);
    release(p);
}

static struct pending *pending_new(int get, const char *key)
{
    struct pending *p = xcalloc(1, sizeof(*p));
    struct timeval tv = {0, SESSION_WAIT_MS * 1000};

    p->get = get;
    snprintf(p->key, sizeof(p->key), "%s", key);
    p->refs = 1; /* the timer's */
    p->timer = evtimer_new(V.base, on_timeout, p);
    if (p->timer == NULL || evtimer_add(p->timer, &tv) != 0) {
        if (p->timer != NULL)
            event_free(p->timer);
        p->timer = NULL;
        /* Without a timer: answer from the loop at once. */
        p->timer = evtimer_new(V.base, on_timeout, p);
        if (p->timer != NULL)
            event_active(p->timer, EV_TIMEOUT, 0);
    }
    return p;
}

int session_put(const char *space, const char *id, const char *value, int ttl_s, session_put_fn cb,
                void *arg)
{
    char key[KEY_MAX], ttl[16];
    struct pending *p;

    if (!V.started || value == NULL || strlen(value) > SESSION_VALUE_MAX || ttl_s <= 0 ||
        make_key(space, id, key) != 0)
        return -1;
    local_put(key, value, ttl_s);
    p = pending_new(0, key);
    p->put_cb = cb;
    p->arg = arg;
    snprintf(ttl, sizeof(ttl), "%d", ttl_s);
    p->refs++;
    if (rds_command(on_reply, p, "SET %s %s EX %s", key, value, ttl) != 0)
        p->refs--; /* the timer answers (ok 0) */
    return 0;
}

int session_get(const char *space, const char *id, session_get_fn cb, void *arg)
{
    char key[KEY_MAX];
    struct pending *p;

    if (!V.started || cb == NULL)
        return -1;
    if (make_key(space, id, key) != 0) {
        key[0] = '\0'; /* nothing can be kept under it: answers NULL */
    }
    p = pending_new(1, key);
    p->get_cb = cb;
    p->arg = arg;
    if (key[0] != '\0') {
        p->refs++;
        if (rds_command(on_reply, p, "GET %s", key) != 0)
            p->refs--;
    }
    return 0;
}

static void dropped(void *arg, const redisReply *r, const char *err)
{
    (void)arg;
    (void)r;
    if (err != NULL)
        log_debug("session: redis: %s", err);
}

void session_drop(const char *space, const char *id)
{
    char key[KEY_MAX];
    struct local *l;

    if (!V.started || make_key(space, id, key) != 0)
        return;
    l = local_find(key);
    if (l != NULL) {
        free(l->value);
        memset(l, 0, sizeof(*l));
    }
    if (rds_command(dropped, NULL, "DEL %s", key) != 0)
        log_debug("session: %s not dropped from redis", key);
}

int session_init(struct event_base *base)
{
    memset(&V, 0, sizeof(V));
    V.base = base;
    V.started = 1;
    return 0;
}

void session_exit(void)
{
    size_t i;

    if (!V.started)
        return;
    for (i = 0; i < SESSION_LOCAL; i++)
        free(V.t[i].value);
    memset(&V, 0, sizeof(V));
}
