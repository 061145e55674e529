/*
 * Prometheus metrics shared by every worker: a block of C11 atomic counters in an anonymous
 * MAP_SHARED mapping that the master creates before forking, so each worker's updates are
 * seen by whichever worker answers GET /metrics. Route labels are registered by the
 * master before the fork (one slot per route pattern, slot 0 is "-" for unmatched
 * requests). Before metrics_init() every call works on a private in-process block, so
 * tools that never call it (hisaab-etl, unit tests) may still call the setters.
 */
#ifndef HISAAB_METRICS_H
#define HISAAB_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

struct http_request;

#define METRICS_MAX_ROUTES 64
#define METRICS_ROUTE_LEN 128

/*
 * Map the shared block (call once, in the master, before forking). Returns 0 or -1.
 * Counters start at zero; registered routes are kept.
 */
int metrics_init(void) WUR;

/*
 * Register a route label (its pattern) and return its slot (1..63), the existing slot if
 * already registered, or 0 ("-") when the table is full or pattern is NULL. Call before
 * forking: labels are written without synchronisation.
 */
int metrics_route_register(const char *pattern);

/* Count one answered request on route slot `slot` with `status`, taking `usec` us. */
void metrics_request(int slot, int status, uint64_t usec);

/* Cache lookups (later users: the summary cache). */
void metrics_cache_hit(void);
void metrics_cache_miss(void);

/* ETL gauges: unix time of the last run, 1 if it succeeded, totals so far. */
void metrics_set_etl(int64_t last_run_unix, int last_status_ok, uint64_t rows_loaded_total,
                     uint64_t failures_total);

/*
 * The journal (data/journal.h): records written to Postgres, written to a spool file at
 * shutdown, refused by Postgres and kept in the rejected file, and requests a channel
 * refused (503) because the journal had no room.
 */
void metrics_journal_written(uint64_t n);
void metrics_journal_spooled(uint64_t n);
void metrics_journal_rejected(uint64_t n);
void metrics_journal_refused(void);

/* One more worker restarted by the master. */
void metrics_worker_restart(void);

/*
 * Append the Prometheus text exposition format (0.0.4) of every metric to out.
 * Returns 0, or -1 if out's cap was reached (out then holds a truncated text).
 */
int metrics_render(struct buf *out) WUR;

/* Handler for GET /metrics: text/plain; version=0.0.4. */
void metrics_handler(struct http_request *req);

#endif
