/*
 * One turn of a conversation: a gateway's HTTP request (an SMS, a USSD screen, an IVR
 * step) that the channel must answer exactly once and in time, however many backend
 * calls it starts. A channel embeds struct turn at the start of its own context and:
 *  - turn_start() arms the deadline (on_deadline runs once if the turn is still
 *    unanswered by then: answer with what is known, or acknowledge and defer);
 *  - turn_hold()/turn_release() count the callbacks outstanding (a backend answers
 *    exactly once, also after the reply went out), and the last release calls on_free;
 *  - turn_take() hands over the request for the one reply and disarms the deadline.
 * A deferred turn (turn_defer()) was acknowledged with an empty answer and delivers its
 * real answer later by another path (Kannel's sendsms for SMS).
 */
#ifndef HISAAB_CHANNEL_TURN_H
#define HISAAB_CHANNEL_TURN_H

#include <stddef.h>

struct event;
struct event_base;
struct http_request;
struct turn;

typedef void (*turn_fn)(struct turn *t);

struct turn {
    int refs;
    struct http_request *req; /* NULL once answered */
    int deferred;
    long long t0; /* monotonic ms at arrival */
    char at[64];  /* arrival, UTC "YYYY-MM-DD HH:MM:SS.mmmZ", for records */
    struct event *deadline;
    turn_fn on_deadline;
    turn_fn on_free;
};

/*
 * Start t for req: one reference (the reply's), the deadline in deadline_ms (0 = none).
 * on_deadline may be NULL; on_free frees the channel's context (required).
 */
void turn_start(struct turn *t, struct event_base *base, struct http_request *req, int deadline_ms,
                turn_fn on_deadline, turn_fn on_free);

void turn_hold(struct turn *t);
void turn_release(struct turn *t);

/* The request to answer now (the reply's reference passes to the caller, who releases it
 * after replying), or NULL when the turn was answered already. Disarms the deadline. */
struct http_request *turn_take(struct turn *t);

/* Mark t as acknowledged and continuing: its answer goes by another path. */
void turn_defer(struct turn *t);

/*
 * Before a channel acknowledges anything: 1 when the journal has room for n more records
 * (data/journal.h); else req is answered 503 with Retry-After (the gateway retries),
 * journal_refused() is counted and 0 is returned. what names the traffic for the message
 * ("messages", "calls").
 */
int turn_room(struct http_request *req, size_t n, const char *what);

/* Milliseconds since t started. */
long long turn_age_ms(const struct turn *t);

/* Monotonic milliseconds. */
long long turn_now_ms(void);

#endif
