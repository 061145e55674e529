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
/* Most read replicas pg_replicas_init() takes. */
#define PG_MAX_REPLICAS 8
/* How often each replica's lag and mark are read. */
#define PG_PROBE_MS 1000
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
 * Read replicas: urls is one or more libpq URLs separated by blanks (copied), each opened
 * as a pool of pool_size connections (1..64) next to the primary's, so a worker holds at
 * most pg_init()'s pool_size + replicas * pool_size connections. Every PG_PROBE_MS each
 * replica is asked its replay lag (0 when it has replayed all it received, else the age
 * of pg_last_xact_replay_timestamp()) and mark_sql, a query of one bigint (the data
 * version); one more than max_lag_ms behind, not answering, or without a connection is
 * left out of reads until a probe finds it well again. Call after pg_init(). Returns 0,
 * or -1 (nothing opened) when not started, already called, or an argument or URL is
 * invalid.
 */
int pg_replicas_init(const char *urls, int pool_size, int max_lag_ms, const char *mark_sql)
    __attribute__((warn_unused_result));

/*
 * A read: like pg_query(), on a replica whose last probe saw mark >= min_mark and lag
 * within bounds (round robin), else on the primary. A read that fails on its replica for a
 * reason of the replica's (connection lost or down, timeout, shutdown, too many
 * connections, a recovery conflict) runs again on the primary, so its callback sees
 * the primary's answer; an error the statement itself caused is delivered as is. The SQL
 * must not write. Same returns as pg_query().
 */
int pg_query_read(long long min_mark, const char *sql, int nparams, const char *const *params,
                  pg_result_fn cb, void *arg) __attribute__((warn_unused_result));

/* Replicas configured, and those whose last probe made them serve reads. */
int pg_replicas_configured(void);
int pg_replicas_usable(void);

/*
 * The SQLSTATE of the failure being delivered ("23514"), valid only inside a pg_result_fn
 * while it runs (owned by pg). NULL outside a callback, on success, and
 * when the failure is not an error the server sent (timeout, connection lost, queue full,
 * shutdown, postgres unavailable): callers can tell "retry later" from "the server
 * refused this statement" without parsing messages.
 */
const char *pg_last_sqlstate(void);

/* 1 when at least one connection to the primary is established, else 0. */
int pg_is_up(void);

/*
 * Close every connection and free the pool. Pending and queued queries get "shutdown"
 * (synchronously, from here). pg_init() may be called again afterwards.
 */
void pg_shutdown(void);

#endif
