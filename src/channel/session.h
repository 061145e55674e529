/*
 * What a channel keeps of a conversation between two of its requests, when the gateway
 * cannot carry it: a USSD session (the session-style gateways send only this screen's
 * input), an Exotel call (its applets call fixed URLs), a callback before the provider
 * names its call. A short text per (space, id), in Redis (hisaab:<space>:<id>, with the
 * TTL the channel gives) so that any worker of any instance continues the conversation,
 * and in this worker's table, which answers while Redis is away or slow (the
 * conversation then continues only on the worker that kept it).
 */
#ifndef HISAAB_CHANNEL_SESSION_H
#define HISAAB_CHANNEL_SESSION_H

#include <stddef.h>

#include "core/buf.h"

struct event_base;

#define SESSION_LOCAL 8192     /* conversations kept per worker */
#define SESSION_VALUE_MAX 8192 /* bytes of one conversation's text */
#define SESSION_WAIT_MS 300    /* then the worker's own table answers */

/* cb(arg, ok) once from the loop: ok 1 when Redis has the value, 0 when only this worker. */
typedef void (*session_put_fn)(void *arg, int ok);
/* cb(arg, value) once from the loop: the value (borrowed for the call) or NULL. */
typedef void (*session_get_fn)(void *arg, const char *value);

/* Per worker. */
int session_init(struct event_base *base) WUR;
void session_exit(void);

/*
 * Keep value for (space, id) for ttl_s seconds. space names the channel's keys
 * ("vcall:exotel", "ussd"); id is the gateway's printable id. cb may be NULL. Returns 0,
 * or -1 (cb never called) for a value too long or an id that is not printable.
 */
int session_put(const char *space, const char *id, const char *value, int ttl_s, session_put_fn cb,
                void *arg) WUR;

/* What is kept for (space, id). Returns 0, or -1 (cb never called) when not started. */
int session_get(const char *space, const char *id, session_get_fn cb, void *arg) WUR;

/* Forget (space, id) here and in Redis (best effort). */
void session_drop(const char *space, const char *id);

#endif
