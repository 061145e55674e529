/*
 * Asynchronous Redis for a worker's event loop: hiredis (0.14) attached to libevent. One
 * connection carries commands; a second one, opened on the first rds_subscribe(),
 * carries subscriptions. Both reconnect with a capped exponential backoff and the
 * subscriber re-subscribes every channel after a reconnect. hiredis 0.14 has no command
 * timeout, so each command has its own timer: on expiry the caller gets "timeout" and the
 * late reply, if it ever comes, is dropped. A connection whose timed-out command is still
 * unanswered long after is considered hung and reopened.
 *
 * Callbacks always run from the event loop, never from inside rds_command(), and each is
 * called exactly once. State is per process (one loop per worker).
 */
#ifndef HISAAB_RDS_H
#define HISAAB_RDS_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "core/buf.h"

struct event_base;

/* Commands in flight on the connection beyond this fail at once with "busy". */
#define RDS_MAX_PENDING 4096
/* Most sentinels rds_init_sentinel() takes. */
#define RDS_MAX_SENTINELS 8
/* Most channels rds_subscribe() accepts. */
#define RDS_MAX_SUBS 16

/*
 * A command's completion. On success reply is the reply and err is NULL; on failure
 * reply is NULL and err says why: "timeout", "redis unavailable", "connection lost",
 * "busy", "shutdown", or the server's error reply (e.g. "ERR unknown command"). Both
 * are owned by rds and freed after the callback returns.
 */
typedef void (*rds_reply_fn)(void *arg, const redisReply *reply, const char *err);

/* A message published on a subscribed channel (msg is len bytes, borrowed). */
typedef void (*rds_message_fn)(void *arg, const char *msg, size_t len);

/*
 * Parse url ("redis://[[user]:password@]host[:port][/db]", port 6379 and db 0 by default)
 * and start connecting on base; Redis being down is not an error here. Every command is
 * bounded by timeout_ms (> 0). Host names are resolved synchronously by hiredis, so give
 * an address or a name in /etc/hosts. Returns 0, or -1 when already started or the URL or
 * an argument is invalid.
 */
int rds_init(struct event_base *base, const char *url, int timeout_ms)
    __attribute__((warn_unused_result));

/*
 * The same behind Redis Sentinel: the master named master (copied) is asked of the
 * sentinels "host:port,host:port" (at most RDS_MAX_SENTINELS; one at a time, the next
 * when one does not answer within timeout_ms) at start and every second, and whenever a
 * connection breaks or fails; url gives only the database number and credentials (its
 * host is not used). Both connections check with ROLE that the server is the master, and
 * move to a new master as soon as a sentinel names it (the subscriber re-subscribes).
 * While no sentinel names a master, commands fail fast with "redis unavailable", as when
 * Redis is down. Same returns as rds_init().
 */
int rds_init_sentinel(struct event_base *base, const char *url, int timeout_ms,
                      const char *sentinels, const char *master)
    __attribute__((warn_unused_result));

/*
 * Send a command formatted hiredis-style ("GET %s", "SET %b %b" with pointer and
 * length). Not for SUBSCRIBE/PSUBSCRIBE/MONITOR (use rds_subscribe()). cb is called exactly once,
 * later, from the loop; when Redis is down it fails fast (next loop iteration) rather than waiting
 * for the timeout. Returns 0 when cb will be called; -1 (cb never called) when rds_init() was not
 * called or after rds_shutdown(), or when cb or fmt is NULL.
 */
int rds_command(rds_reply_fn cb, void *arg, const char *fmt, ...)
    __attribute__((warn_unused_result));

/*
 * Send a command whose answer nobody waits for (a cache write): no callback and no timer,
 * so it costs only its bytes. Returns 0 when it was handed to the connection (also while
 * the connection is still being made: it is written once it is, after AUTH and SELECT),
 * -1 when Redis is down or not started (then nothing is sent). A failure later is not
 * reported.
 */
int rds_send(const char *fmt, ...) WUR;

/* rds_send() with the command as argc arguments (argv[i] of argvlen[i] bytes,
 * binary-safe; copied), written out without printf. */
int rds_send_argv(int argc, const char *const *argv, const size_t *argvlen) WUR;

/*
 * The same with the command as argc arguments (argv[i] of argvlen[i] bytes, binary-safe;
 * copied). Same returns as rds_command().
 */
int rds_command_argv(rds_reply_fn cb, void *arg, int argc, const char *const *argv,
                     const size_t *argvlen) WUR;

/* Most commands rds_pipeline() takes. */
#define RDS_PIPELINE_MAX 8

/* One command of a pipeline: argc arguments, argv[i] of argvlen[i] bytes. */
struct rds_argv {
    int argc;
    const char *const *argv;
    const size_t *argvlen;
};

/*
 * Part i (0..n-1) of a pipeline's answer: the reply to its command i, or why there is
 * none (as for rds_reply_fn; reply and err are rds's, freed after the call).
 */
typedef void (*rds_part_fn)(void *arg, int i, const redisReply *reply, const char *err);

/*
 * Send n commands (1..RDS_PIPELINE_MAX; copied) together, written without printf, with one
 * timeout and one record for all of them: cheaper than n rds_command_argv() calls and,
 * unlike a Lua script, nothing for Redis to interpret. They are not a transaction: other
 * clients' commands may run between them. cb runs once for every i, in order, from the
 * loop; when the timeout passes first, every part not yet answered gets "timeout" at
 * once and the late replies are dropped. Returns 0 when cb will be called n times; -1 (cb
 * never called) when rds is not started or an argument is invalid.
 */
int rds_pipeline(rds_part_fn cb, void *arg, int n, const struct rds_argv *cmds) WUR;

/* 1 when the command connection is established (and the database selected), else 0. */
int rds_is_up(void);

/*
 * Call fn(arg, msg, len) for every message published on channel (copied), from now on
 * and again after reconnects, until rds_shutdown(). Returns 0, or -1 when not started,
 * the channel is empty or longer than 256 bytes, or RDS_MAX_SUBS are taken.
 */
int rds_subscribe(const char *channel, rds_message_fn fn, void *arg)
    __attribute__((warn_unused_result));

/*
 * Close both connections and free everything. Commands still pending get "shutdown"
 * (synchronously, from here). rds_init() may be called again afterwards.
 */
void rds_shutdown(void);

#endif
