/*
 * Test-only handlers; see debug.h. They exercise the runtime's asynchronous path (a
 * reply from a later callback) without any backend.
 */
#include "net/debug.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "net/http.h"
#include "core/log.h"

struct sleeper {
    struct http_request *req;
    struct event *ev;
    long ms;
};

int debug_handlers_enabled(void)
{
    const char *v = getenv("HISAAB_TEST_HANDLERS");

    return v != NULL && strcmp(v, "1") == 0;
}

static void wake(evutil_socket_t fd, short what, void *arg)
{
    struct sleeper *s = arg;
    json_t *doc;

    (void)fd;
    (void)what;
    event_free(s->ev);
    doc = json_pack("{s:s,s:i}", "status", "ok", "slept_ms", (json_int_t)s->ms);
    http_reply_json(s->req, 200, doc); /* frees s: it lives in the request's arena */
}

void debug_sleep(struct http_request *req)
{
    const char *v = http_param(req, "ms");
    struct sleeper *s;
    struct timeval tv;
    char *end = NULL;
    long ms = 0;

    if (v != NULL) {
        errno = 0;
        ms = strtol(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || ms < 0 || ms > 60000) {
            http_reply_error(req, 400, "bad_parameter", "ms must be 0..60000");
            return;
        }
    }
    s = http_alloc(req, sizeof(*s));
    s->req = req;
    s->ms = ms;
    s->ev = evtimer_new(http_base(req), wake, s);
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    if (s->ev == NULL || evtimer_add(s->ev, &tv) != 0) {
        if (s->ev != NULL)
            event_free(s->ev);
        http_reply_error(req, 500, "internal", "cannot start a timer");
    }
}
