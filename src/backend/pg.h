/*
 * Asynchronous PostgreSQL for a worker's event loop: a small pool of libpq connections
 * driven by events on PQsocket(), never blocking the loop. Connections are opened with
 * PQconnectStartParams()/PQconnectPoll() and reopened with a capped exponential backoff
 * when they break or when Postgres is down at start. Queries go out with
 * PQsendQueryParams() (text results); when every connection is busy they wait in a
 * bounded queue. Every query has a timeout: on expiry its callback gets "timeout" and the
 * connection running it is closed and reopened (PQcancel() would block the loop), so a
 * late result is never delivered. A server-side statement_timeout slightly longer than
 * ours is set on each connection so an abandoned query does not run on.
 *
 * Callbacks always run from the event loop, never from inside pg_query(), and each is
 * called exactly once. State is per process (one loop per worker).
 */
#ifndef HISAAB_PG_H
#define HISAAB_PG_H

#include <libpq-fe.h>

struct event_base;

/* Queries waiting for a free connection beyond this fail at once with "queue full". */
#define PG_QUEUE_MAX 1024
/* Most parameters a query may take. */
#define PG_MAX_PARAMS 64

/*
 * A query's completion. On success res is the result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK) and err is NULL; on failure res is NULL and err says why: the
 * server's error message, "timeout", "postgres unavailable", "connection lost: ...",
 * "queue full" or "shutdown". res and err are owned by pg and freed after the callback
 * returns. The callback may call pg_query() again.
 */
typedef void (*pg_result_fn)(void *arg, const PGresult *res, const char *err);

/*
 * Start the pool on base: pool_size connections (1..64) to conninfo (a libpq URI or
 * key=value string; copied), each query bounded by timeout_ms (> 0). Connecting happens
 * in the background: Postgres being down is not an error here. Host names are resolved
 * by libpq synchronously, so give an address or a name in /etc/hosts. Returns 0, or -1
 * when already started, an argument is invalid or conninfo does not parse.
 */
int pg_init(struct event_base *base, const char *conninfo, int pool_size, int timeout_ms)
    __attribute__((warn_unused_result));

/*
 * Send one SQL statement with nparams text parameters $1..$n (params[i] NULL = SQL NULL;
 * sql and params are copied). cb is called exactly once, later, from the loop. When
 * Postgres is known to be down the query fails fast (next loop iteration) instead of
 * waiting for the timeout. Returns 0 when cb will be called; -1 (cb never called) when
 * pg_init() was not called or after pg_shutdown(), or when sql is NULL or nparams is out
 * of range.
 */
int pg_query(const char *sql, int nparams, const char *const *params, pg_result_fn cb, void *arg)
    __attribute__((warn_unused_result));

/*
 * The SQLSTATE of the failure being delivered ("23514"), valid only inside a pg_result_fn
 * while it runs (owned by pg). NULL outside a callback, on success, and
 * when the failure is not an error the server sent (timeout, connection lost, queue full,
 * shutdown, postgres unavailable): callers can tell "retry later" from "the server
 * refused this statement" without parsing messages.
 */
const char *pg_last_sqlstate(void);

/* 1 when at least one connection is established, else 0. */
int pg_is_up(void);

/*
 * Close every connection and free the pool. Pending and queued queries get "shutdown"
 * (synchronously, from here). pg_init() may be called again afterwards.
 */
void pg_shutdown(void);

#endif
