/*
 * The journal: every record a channel owes Postgres (a message, a session step, a call, a
 * subscription change, a caller's remembered language or district) goes through here,
 * exactly once, whatever Postgres does meanwhile.
 *
 * A record belongs to a stream, declared once by the module that owns the table (a static
 * struct journal_stream). Records are queued per worker and written from the event loop:
 *  - JOURNAL_BATCH streams: up to JOURNAL_BATCH_MAX records (and JOURNAL_BATCH_BYTES) per
 *    statement, the stream's SQL taking one array parameter per column ($1 the first
 *    column's values as a Postgres array literal, ...; typically INSERT ... SELECT * FROM
 *    unnest($1::text[], ...) ON CONFLICT ... DO NOTHING). `ordered` streams have one batch
 *    in flight at a time (each batch commits after the one before: upserts where the last
 *    write wins); others up to JOURNAL_INFLIGHT batches at once.
 *  - JOURNAL_EACH streams: one statement per record with the fields as $1..$n, one at a
 *    time, in order (low-volume changes whose order matters: SUB then STOP).
 * Every text field is repaired before it is queued by utf8_repair() (core/utf8.h: each
 * maximal invalid UTF-8 subsequence replaced by one U+FFFD, NUL bytes dropped), cut to
 * JOURNAL_FIELD_MAX bytes on a character boundary, so no record can fail for its bytes.
 * When a statement fails with an error the server sent about the data (any SQLSTATE
 * outside the classes 08, 40, 53, 57 and 58 and the codes 25006 and 55P03), its batch is
 * split in halves until the good records are written, so one bad record never costs the
 * others theirs; a record that still fails alone is appended to the rejected file
 * (spool_dir/journal-rejected.jsonl: one JSON object per line with the stream, the fields,
 * the SQLSTATE and the error) and logged, never silently dropped. Any other failure
 * (timeout, connection lost, queue full, Postgres unavailable, those classes) means
 * Postgres is away: records wait and the writer retries once a second. A statement that
 * timed out may have committed and is sent again, so a stream whose table has a key should
 * say ON CONFLICT ... DO NOTHING.
 *
 * Back-pressure: the queue holds at most JOURNAL_QUEUE_MAX records per worker (waiting,
 * in flight, and replayed from spool files). A channel asks journal_room() before it
 * acknowledges anything; without room it answers 503 (the gateway retries later) and
 * calls journal_refused(), so nothing acknowledged is ever lost to a full queue.
 *
 * Shutdown: journal_exit() keeps the loop turning for up to its drain time while
 * Postgres answers, then writes whatever is left to a spool file
 * (spool_dir/journal-<unix time>-<pid>-<n>.spool, one JSON line per record, created
 * under a temporary name and linked into place when complete). journal_init() claims
 * spool files by renaming them to <name>.claimed-<pid> (an atomic rename, so each file is
 * taken by exactly one worker), also taking back files claimed by a process that is no
 * longer alive, while the queue is below JOURNAL_QUEUE_MAX; later, once a second, more
 * while it is below half of it. A claimed file's records are queued and the file deleted
 * once all of them are written: a record spooled at shutdown is written once at the next
 * start. Lines for a stream this build does not register (or that do not parse) are
 * logged and kept in a <...>.kept file that the next journal_init() claims again.
 */
#ifndef HISAAB_DATA_JOURNAL_H
#define HISAAB_DATA_JOURNAL_H

#include <stddef.h>

#include "core/buf.h"

struct event_base;

#define JOURNAL_QUEUE_MAX 200000 /* records waiting per worker before journal_room() says no */
#define JOURNAL_BATCH_MAX 1000   /* records per statement of a JOURNAL_BATCH stream */
#define JOURNAL_BATCH_BYTES (8u << 20) /* bytes of array literals per statement, at most */
#define JOURNAL_LINGER_MS 50           /* a batch stream waits this long for a fuller statement */
#define JOURNAL_INFLIGHT 2             /* batches of one unordered stream in flight at once */
#define JOURNAL_MAX_COLS 16            /* fields per record */
#define JOURNAL_MAX_STREAMS 32         /* streams registered per process */
#define JOURNAL_FIELD_MAX 8192 /* bytes kept of one field (longer ones are cut, UTF-8 safe) */
#define JOURNAL_RETRY_MS 1000  /* while Postgres is away, the writer tries again this often */

enum journal_mode { JOURNAL_BATCH, JOURNAL_EACH };

struct journal_stream {
    const char *name; /* unique; names the stream in spool files and logs: "sms_messages" */
    enum journal_mode mode;
    int ordered;     /* JOURNAL_BATCH: one batch in flight at a time */
    int ncols;       /* 1..JOURNAL_MAX_COLS */
    const char *sql; /* BATCH: $1..$ncols are array literals; EACH: $1..$ncols the fields */
};

struct journal_opts {
    const char *spool_dir; /* created (mode 0700, with its parents) if missing; NULL =
                              "var/spool" */
    size_t queue_max;      /* records held before journal_room() says no; 0 =
                              JOURNAL_QUEUE_MAX (kore.conf: journal_queue_max) */
};

/*
 * Per worker, after pg_init(): start the writer on base, then claim and queue the spool
 * files left by earlier runs for the streams registered so far (register every stream
 * before calling this). o may be NULL (defaults). Returns 0, or -1 when already started or
 * the spool directory is unusable (logged).
 */
int journal_init(struct event_base *base, const struct journal_opts *o) WUR;

/* Declare a stream (s is borrowed for the process's life). Before journal_init().
 * Returns 0, or -1 for a bad declaration, a name already taken, too many streams, or when
 * the journal is already started. journal_exit() forgets every declaration. */
int journal_register(const struct journal_stream *s) WUR;

/* 1 when n more records can be taken now, 0 when the queue is full or the journal is not
 * started (answer 503 and call journal_refused()). */
int journal_room(size_t n);

/* Count one request a channel refused (503) because journal_room() said no. */
void journal_refused(void);

/*
 * Queue one record of stream s: fields[0..s->ncols-1] (NULL = SQL NULL) are copied and
 * repaired. Always takes the record (journal_room() is the caller's check; a record
 * over the limit is still kept, never dropped). Returns 0, or -1 when s is not registered
 * or the journal is not started (then nothing is queued and the caller must not
 * acknowledge).
 */
int journal_append(const struct journal_stream *s, const char *const *fields) WUR;

/* The same with binary-safe fields (a NUL byte inside is dropped by the repair):
 * fields[i].ptr == NULL is SQL NULL. Same returns as journal_append(). */
int journal_append_slices(const struct journal_stream *s, const struct slice *fields) WUR;

/* Records held (all streams: waiting, in flight, replayed), for metrics and tests. */
size_t journal_queued(void);

/*
 * Per worker, when stopping, after the HTTP server has drained and before pg_shutdown():
 * keep the loop turning (base must not be running its loop: call it after
 * event_base_dispatch() returned) for up to drain_ms while records can still be written,
 * stopping early when everything is written or Postgres is down; then spool the rest
 * (including batches still in flight, which may have committed: see ON CONFLICT above)
 * with the records of claimed files not yet written, delete those files, and free
 * everything. Safe to call when not started (it still forgets the declarations).
 */
void journal_exit(int drain_ms);

/*
 * Pure helpers, public for the unit tests.
 */

/* Append s (len bytes) as one element of a Postgres array literal ("..." with \ and "
 * escaped; s NULL as NULL). Returns 0, or -1 (out's cap; out unchanged). */
int journal_array_elem(const char *s, size_t len, struct buf *out) WUR;

/* Copy s (len bytes) into out (outlen bytes, at most JOURNAL_FIELD_MAX of them used) as
 * valid UTF-8, repaired as every field is (utf8_repair(): one U+FFFD for each maximal
 * invalid subsequence, NUL bytes dropped); the copy ends before a character that would
 * not fit. Not NUL-terminated. Returns the bytes written. */
size_t journal_repair(const char *s, size_t len, char *out, size_t outlen);

#endif
