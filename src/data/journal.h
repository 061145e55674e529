/*
 * The journal: every record a channel owes Postgres (a message, a session step, a call, a
 * subscription change, a caller's remembered language or district) goes through here,
 * exactly once, whatever Postgres does meanwhile.
 *
 * A record belongs to a stream, declared once by the module that owns the table (a static
 * struct journal_stream). Records are queued per worker and written from the event loop:
 *  - JOURNAL_BATCH streams: up to JOURNAL_BATCH_MAX records per statement, the stream's
 *    SQL taking one array parameter per column ($1 the first column's values as a
 *    Postgres array literal, ...; typically INSERT ... SELECT * FROM unnest($1::text[],
 *    ...) ON CONFLICT ... DO NOTHING). `ordered` streams have one batch in flight at a
 *    time (each batch commits after the one before: upserts where the last write wins);
 *    others up to JOURNAL_INFLIGHT batches at once.
 *  - JOURNAL_EACH streams: one statement per record with the fields as $1..$n, one at a
 *    time, in order (low-volume changes whose order matters: SUB then STOP).
 * Every text field is repaired before it is queued (invalid UTF-8 replaced by U+FFFD, NUL
 * bytes dropped), so no record can fail for its bytes. When a batch fails for a reason
 * that retrying will not fix, it is split and its records written on their own, so one
 * bad record never costs the others theirs; a record that still fails alone is written to
 * the rejected file in the spool directory (with the error) and logged, never silently
 * dropped. While Postgres is away (timeout, connection lost, queue full) records wait and
 * the writer retries every second.
 *
 * Back-pressure: the queue holds at most JOURNAL_QUEUE_MAX records per worker. A channel
 * asks journal_room() before it acknowledges anything; without room it answers 503 (the
 * gateway retries later), so nothing acknowledged is ever lost to a full queue.
 *
 * Shutdown: journal_exit() keeps writing for up to its drain time while Postgres answers,
 * then writes whatever is left to a spool file (spool_dir/journal-<pid>-<time>.spool, one
 * JSON line per record, created under a temporary name and renamed when complete). At
 * start, journal_init() claims every spool file (an atomic rename, so each file is taken
 * by exactly one worker), queues its records and deletes the file once all of them are
 * written: a record spooled at shutdown is written once at the next start.
 */
#ifndef HISAAB_DATA_JOURNAL_H
#define HISAAB_DATA_JOURNAL_H

#include <stddef.h>

#include "core/buf.h"

struct event_base;

#define JOURNAL_QUEUE_MAX 200000 /* records waiting per worker before journal_room() says no */
#define JOURNAL_BATCH_MAX 1000   /* records per statement of a JOURNAL_BATCH stream */
#define JOURNAL_INFLIGHT 2       /* batches of one unordered stream in flight at once */
#define JOURNAL_MAX_COLS 16      /* fields per record */
#define JOURNAL_FIELD_MAX 8192   /* bytes kept of one field (longer ones are cut, UTF-8 safe) */

enum journal_mode { JOURNAL_BATCH, JOURNAL_EACH };

struct journal_stream {
    const char *name; /* unique; names the stream in spool files and logs: "sms_messages" */
    enum journal_mode mode;
    int ordered;     /* JOURNAL_BATCH: one batch in flight at a time */
    int ncols;       /* 1..JOURNAL_MAX_COLS */
    const char *sql; /* BATCH: $1..$ncols are array literals; EACH: $1..$ncols the fields */
};

struct journal_opts {
    const char *spool_dir; /* created if missing; NULL = "var/spool" */
};

/*
 * Per worker, after pg_init(): start the writer on base, then claim and queue the spool
 * files left by earlier runs for the streams registered so far (register every stream
 * before calling this). Returns 0 or -1 (the spool directory is unusable; logged).
 */
int journal_init(struct event_base *base, const struct journal_opts *o) WUR;

/* Declare a stream (s is borrowed for the process's life). Before journal_init().
 * Returns 0, or -1 for a bad declaration or a name already taken. */
int journal_register(const struct journal_stream *s) WUR;

/* 1 when n more records can be taken now, 0 when the queue is full (answer 503). */
int journal_room(size_t n);

/*
 * Queue one record of stream s: fields[0..s->ncols-1] (NULL = SQL NULL) are copied and
 * repaired. Always takes the record (journal_room() is the caller's check; a record
 * over the limit is still kept, never dropped). Returns 0, or -1 when s is not registered
 * or the journal is not started (then nothing is queued and the caller must not
 * acknowledge).
 */
int journal_append(const struct journal_stream *s, const char *const *fields) WUR;

/* Records queued (all streams), for metrics and tests. */
size_t journal_queued(void);

/*
 * Per worker, when stopping, after the HTTP server has drained: keep the loop turning for
 * up to drain_ms while records can still be written, spool the rest, and free everything.
 */
void journal_exit(int drain_ms);

/*
 * Pure helpers, public for the unit tests.
 */

/* Append s (len bytes) as one element of a Postgres array literal ("..." with \ and "
 * escaped; NULL as NULL). Returns 0 or -1 (out's cap). */
int journal_array_elem(const char *s, size_t len, struct buf *out) WUR;

#endif
