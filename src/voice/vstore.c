/*
 * The call store; see vstore.h. The worker's table is a fixed array, replaced oldest
 * first; each request waits at most VSTORE_WAIT_MS for Redis, then the table answers.
 */
#include "voice/vstore.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/rds.h"
#include "core/log.h"
#include "core/mem.h"

#define KEY_MAX 160

struct local {
    char key[KEY_MAX];
    char *value;
    long long expires; /* monotonic s */
    unsigned long long used;
};

static struct {
    struct event_base *base;
    struct local t[VSTORE_LOCAL];
    unsigned long long tick;
    int started;
} V;

struct pending {
    int get;
    char key[KEY_MAX];
    vstore_put_fn put_cb;
    vstore_get_fn get_cb;
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

static int make_key(const char *provider, const char *id, char *out)
{
    size_t i;
    int n;

    if (provider == NULL || id == NULL || id[0] == '\0')
        return -1;
    for (i = 0; id[i] != '\0'; i++)
        if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 127)
            return -1;
    n = snprintf(out, KEY_MAX, "hisaab:vcall:%s:%s", provider, id);
    return n > 0 && n < KEY_MAX ? 0 : -1;
}

static void local_put(const char *key, const char *value)
{
    size_t i, slot = 0;
    long long now = now_s();

    for (i = 0; i < VSTORE_LOCAL; i++) {
        if (strcmp(V.t[i].key, key) == 0) {
            slot = i;
            break;
        }
        if (V.t[i].used < V.t[slot].used || V.t[i].expires < now)
            slot = i;
    }
    free(V.t[slot].value);
    snprintf(V.t[slot].key, sizeof(V.t[slot].key), "%s", key);
    V.t[slot].value = xstrdup(value);
    V.t[slot].expires = now + VSTORE_TTL_S;
    V.t[slot].used = ++V.tick;
}

static const char *local_get(const char *key)
{
    size_t i;

    for (i = 0; i < VSTORE_LOCAL; i++)
        if (V.t[i].value != NULL && strcmp(V.t[i].key, key) == 0)
            return V.t[i].expires >= now_s() ? V.t[i].value : NULL;
    return NULL;
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
            log_debug("vstore: redis: %s", err);
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
    struct timeval tv = {0, VSTORE_WAIT_MS * 1000};

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

int vstore_put(const char *provider, const char *id, const char *value, vstore_put_fn cb, void *arg)
{
    char key[KEY_MAX], ttl[16];
    struct pending *p;

    if (!V.started || value == NULL || strlen(value) > VSTORE_VALUE_MAX ||
        make_key(provider, id, key) != 0)
        return -1;
    local_put(key, value);
    p = pending_new(0, key);
    p->put_cb = cb;
    p->arg = arg;
    snprintf(ttl, sizeof(ttl), "%d", VSTORE_TTL_S);
    p->refs++;
    if (rds_command(on_reply, p, "SET %s %s EX %s", key, value, ttl) != 0)
        p->refs--; /* the timer answers (ok 0) */
    return 0;
}

int vstore_get(const char *provider, const char *id, vstore_get_fn cb, void *arg)
{
    char key[KEY_MAX];
    struct pending *p;

    if (!V.started || cb == NULL)
        return -1;
    if (make_key(provider, id, key) != 0) {
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

int vstore_init(struct event_base *base)
{
    memset(&V, 0, sizeof(V));
    V.base = base;
    V.started = 1;
    return 0;
}

void vstore_exit(void)
{
    size_t i;

    for (i = 0; i < VSTORE_LOCAL; i++)
        free(V.t[i].value);
    memset(&V, 0, sizeof(V));
}
