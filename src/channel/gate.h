/*
 * The channel gate: what every conversational channel asks before it answers a caller,
 * in one Redis round trip (plain commands in one pipeline, see gate.c):
 *  - dedupe: has this gateway delivered this message / session step id before? (SET NX,
 *    remembered GATE_DEDUPE_TTL_S; gateways retry what they think was lost);
 *  - the caller's limit: the shared limiter (limit.h) counts the request in its window;
 *  - memory: the caller's remembered language and district (memory.h).
 * When Redis is slow (no answer within the wait the channel gives) or down, the gate
 * answers from this worker instead: a memory of the last GATE_LOCAL_IDS ids for dedupe,
 * limit_local() for the limit, and no memory. A late Redis answer is then dropped.
 */
#ifndef HISAAB_CHANNEL_GATE_H
#define HISAAB_CHANNEL_GATE_H

#include "channel/limit.h"
#include "channel/memory.h"
#include "core/buf.h"

struct event_base;

#define GATE_DEDUPE_TTL_S 86400 /* a message id is remembered a day */
#define GATE_LOCAL_IDS 4096     /* ids remembered per worker while Redis is away */
#define GATE_ID_MAX 72

struct gate_request {
    const char *channel;       /* "sms", "ussd", "voice": names the keys */
    const char *gateway;       /* "kannel", "twilio", ... */
    const char *id;            /* the gateway's message id, or NULL / "": no dedupe */
    const char *hash;          /* the caller's hash */
    struct limit_policy limit; /* limit 0: not limited */
    int wait_ms;               /* how long Redis may take before the local answer */
};

struct gate_result {
    int duplicate; /* seen before: answer nothing new */
    struct limit_verdict limit;
    struct memory memory;
    int local; /* answered by this worker (Redis down or slow) */
};

/* cb runs exactly once: from the loop, or at once (from gate_pass()) when Redis is not
 * configured. */
typedef void (*gate_fn)(void *arg, const struct gate_result *r);

/* Per worker. */
int gate_init(struct event_base *base) WUR;
void gate_exit(void);

/* Pass q through the gate (q is copied). Returns 0, or -1 (cb never called) when the gate
 * is not started. */
int gate_pass(const struct gate_request *q, gate_fn cb, void *arg) WUR;

/* Remember an id in this worker's table (also done for ids Redis saw), so that a retry
 * while Redis is away is still caught. Returns 1 when it was there already. Public for
 * the unit tests. */
int gate_local_seen(const char *gateway, const char *id);

#endif
