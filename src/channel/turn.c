/*
 * A conversation turn; see turn.h.
 */
#include "channel/turn.h"

#include <stdio.h>
#include <time.h>

#include <event2/event.h>

#include "core/log.h"
#include "data/journal.h"
#include "net/http.h"

long long turn_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct turn *t = arg;

    (void)fd;
    (void)what;
    if (t->req != NULL && t->on_deadline != NULL)
        t->on_deadline(t);
    turn_release(t); /* the deadline's */
}

void turn_start(struct turn *t, struct event_base *base, struct http_request *req, int deadline_ms,
                turn_fn on_deadline, turn_fn on_free)
{
    struct timespec wall;
    struct timeval tv;
    struct tm tm;

    t->refs = 1;
    t->req = req;
    t->deferred = 0;
    t->t0 = turn_now_ms();
    t->on_deadline = on_deadline;
    t->on_free = on_free;
    t->deadline = NULL;
    clock_gettime(CLOCK_REALTIME, &wall);
    gmtime_r(&wall.tv_sec, &tm);
    snprintf(t->at, sizeof(t->at), "%04d-%02d-%02d %02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, wall.tv_nsec / 1000000);
    if (deadline_ms <= 0)
        return;
    t->deadline = evtimer_new(base, on_timer, t);
    tv.tv_sec = deadline_ms / 1000;
    tv.tv_usec = (deadline_ms % 1000) * 1000;
    if (t->deadline == NULL || evtimer_add(t->deadline, &tv) != 0)
        log_error("turn: deadline timer not armed");
    else
        t->refs++;
}

void turn_hold(struct turn *t)
{
    t->refs++;
}

void turn_release(struct turn *t)
{
    if (--t->refs > 0)
        return;
    if (t->deadline != NULL)
        event_free(t->deadline);
    t->deadline = NULL;
    t->on_free(t);
}

struct http_request *turn_take(struct turn *t)
{
    struct http_request *req = t->req;

    if (req == NULL)
        return NULL;
    t->req = NULL;
    if (t->deadline != NULL && evtimer_pending(t->deadline, NULL)) {
        evtimer_del(t->deadline);
        t->refs--; /* the deadline's; the reply's stays with the caller */
    }
    return req;
}

void turn_defer(struct turn *t)
{
    t->deferred = 1;
}

long long turn_age_ms(const struct turn *t)
{
    return turn_now_ms() - t->t0;
}

int turn_room(struct http_request *req, size_t n, const char *what)
{
    char msg[96];

    if (journal_room(n))
        return 1;
    /* Nothing is acknowledged that could not be recorded: the gateway retries. */
    journal_refused();
    snprintf(msg, sizeof(msg), "Too many %s right now; please retry.", what);
    http_add_header(req, "Retry-After", "5");
    http_reply_error(req, 503, "busy", msg);
    return 0;
}
