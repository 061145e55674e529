/*
 * The worker's data version; see version.h. One poll timer, one Redis subscription, a
 * short list of listeners called from the loop.
 */
#include "data/version.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "backend/rds.h"
#include "core/log.h"
#include "data/district_store.h"

static struct {
    long long version;
    struct event *poll_ev;
    struct {
        data_version_fn fn;
        void *arg;
    } listeners[DATA_VERSION_LISTENERS];
    size_t nlisteners;
} vs = {.version = -1};

static void publish(long long version, const char *how)
{
    int changed = version != vs.version;
    size_t i;

    if (changed)
        log_info("data version %lld (%s)", version, how);
    vs.version = version;
    for (i = 0; i < vs.nlisteners; i++)
        vs.listeners[i].fn(vs.listeners[i].arg, version, changed);
}

static void version_done(void *arg, long long version, const char *err)
{
    (void)arg;
    if (version < 0) {
        log_warn("data version poll: %s", err != NULL ? err : "?");
        return;
    }
    publish(version, "polled");
}

void data_version_poll(void)
{
    if (district_store_version(version_done, NULL) != 0)
        log_warn("data version poll: postgres not started");
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    data_version_poll();
}

/* The ETL's message: the new version as decimal text. */
static void on_message(void *arg, const char *msg, size_t len)
{
    char text[32];
    long long v;
    char *end;

    (void)arg;
    if (len == 0 || len >= sizeof(text)) {
        data_version_poll();
        return;
    }
    memcpy(text, msg, len);
    text[len] = '\0';
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0) {
        /* Not a number: make sure by asking Postgres. */
        data_version_poll();
        return;
    }
    publish(v, "published");
}

int data_version_init(struct event_base *base, int poll_seconds, int subscribe)
{
    struct timeval tv = {poll_seconds > 0 ? poll_seconds : 30, 0};

    vs.version = -1;
    vs.poll_ev = event_new(base, -1, EV_PERSIST, on_poll, NULL);
    if (vs.poll_ev == NULL || event_add(vs.poll_ev, &tv) != 0) {
        log_error("data version: cannot start the poll");
        data_version_exit();
        return -1;
    }
    /* Without Redis the poll alone keeps every worker current. */
    if (subscribe && rds_subscribe(DATA_VERSION_CHANNEL, on_message, NULL) != 0)
        log_warn("data version: cannot subscribe to Redis; relying on the poll");
    data_version_poll();
    return 0;
}

void data_version_exit(void)
{
    if (vs.poll_ev != NULL)
        event_free(vs.poll_ev);
    memset(&vs, 0, sizeof(vs));
    vs.version = -1;
}

int data_version_listen(data_version_fn fn, void *arg)
{
    if (fn == NULL || vs.nlisteners >= DATA_VERSION_LISTENERS)
        return -1;
    vs.listeners[vs.nlisteners].fn = fn;
    vs.listeners[vs.nlisteners].arg = arg;
    vs.nlisteners++;
    return 0;
}

long long data_version_current(void)
{
    return vs.version;
}
