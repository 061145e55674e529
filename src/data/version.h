/*
 * The data version a worker knows: data_version.version, which the ETL bumps and publishes
 * on the Redis channel DATA_VERSION_CHANNEL after every load that changed figures. Each
 * worker learns it from that message and, in case a message was missed (Redis away, a
 * worker started later), from a poll of Postgres every poll_seconds. Whoever derives
 * something from the figures (the district directory, the API's caches) listens here and
 * rebuilds when the version moves. One tracker per worker process.
 */
#ifndef HISAAB_DATA_VERSION_H
#define HISAAB_DATA_VERSION_H

#include "core/buf.h"

struct event_base;

#define DATA_VERSION_CHANNEL "hisaab:data-version"
#define DATA_VERSION_LISTENERS 8
/* The query a read replica's probe runs to learn which version it has replayed. */
#define DATA_VERSION_SQL "SELECT version FROM data_version WHERE id = 1"

/*
 * A listener: called with the version after every successful poll and every published
 * message, changed or not (so that a listener whose last rebuild failed can try again);
 * `changed` is 1 when it differs from the version known before.
 */
typedef void (*data_version_fn)(void *arg, long long version, int changed);

/*
 * Per worker, after pg_init() and rds_init(): poll now and every poll_seconds (>= 1), and
 * subscribe to DATA_VERSION_CHANNEL when subscribe is 1 (Redis configured). Returns 0 or
 * -1 (timer not started).
 */
int data_version_init(struct event_base *base, int poll_seconds, int subscribe) WUR;

/* Per worker, when stopping: the timer and the listeners go. */
void data_version_exit(void);

/* Add a listener (at most DATA_VERSION_LISTENERS). Returns 0 or -1. */
int data_version_listen(data_version_fn fn, void *arg) WUR;

/* The version last seen, or -1 before the first answer. */
long long data_version_current(void);

/* Ask Postgres now (besides the timer), e.g. after a published message that did not parse. */
void data_version_poll(void);

#endif
