/*
 * The journal's files in its spool directory, internal to the data layer (journal.c and
 * the unit tests; the contract and the file formats are in journal.h and docs/journal.md):
 *  - spool files, journal-<unix time>-<pid>-<n>.spool, one JSON line per record
 *    ({"stream":"...","fields":[...]}), written at exit under a hidden temporary name,
 *    flushed and linked into place (never replacing another file), so one is always
 *    complete;
 *  - claiming them at start by an atomic rename to <name>.claimed-<pid> (so each file is
 *    taken by exactly one process), also taking back claims of processes that are gone,
 *    and handing their records to the journal through a callback;
 *  - a claimed file's lines that no registered stream takes (or that do not parse), copied
 *    to a journal-<...>.kept file when its records are done, which only a start claims;
 *  - files that cannot be read whole, set aside as <name>.bad;
 *  - the rejected file, journal-rejected.jsonl, one line per record Postgres refused.
 * Per worker, like the journal; every function here runs on the worker's loop.
 */
#ifndef HISAAB_DATA_JOURNAL_SPOOL_H
#define HISAAB_DATA_JOURNAL_SPOOL_H

#include <stddef.h>
#include <stdio.h>

#include "core/buf.h"
#include "data/journal.h"
#include "data/journal_rec.h"

#define JOURNAL_SPOOL_PATH_MAX 4096 /* bytes of a path in the spool directory, with the NUL */

/* Takes r, a record of stream s read from a claimed file (r->file set), and queues it. */
typedef void (*journal_spool_queue_fn)(const struct journal_stream *s, struct journal_rec *r);

/* A spool file being written (journal_spool_open() to _commit() or _abort()). */
struct journal_spool_out {
    FILE *f;
    char tmp[JOURNAL_SPOOL_PATH_MAX]; /* its temporary name */
    size_t records;                   /* records written to it */
    size_t lines;                     /* lines: records and kept lines */
};

/*
 * Use dir (created with its parents, mode 0700, if missing; copied) for the files of this
 * worker. Lines of a claimed file are taken for the streams[0..nstreams-1] (borrowed until
 * journal_spool_exit()) and handed to queue. Returns 0, or -1 when dir is not usable
 * (logged).
 */
int journal_spool_init(const char *dir, const struct journal_stream *const *streams,
                       size_t nstreams, journal_spool_queue_fn queue) WUR;

/* The spool directory (borrowed; "" before journal_spool_init()). */
const char *journal_spool_dir(void);

/*
 * Claim spool files, oldest first, and hand their records to queue, while the records the
 * journal holds (held now, plus those queued by this call) are below limit. .kept files
 * only when at_start. A file that cannot be read whole is set aside and nothing of it
 * queued; a file with no record for a registered stream is done at once. Returns 1 when
 * files were left for later (no room), else 0.
 */
int journal_spool_claim(int at_start, size_t held, size_t limit);

/* One record of file (r->file; NULL does nothing) is written or rejected; once all of
 * them are, the file's kept lines go to a .kept file and the file is deleted. */
void journal_spool_resolved(struct journal_spool_file *file);

/* Claimed files whose records are not all resolved. */
size_t journal_spool_claimed(void);

/* Start a spool file under a temporary name. Returns 0, or -1 (logged). */
int journal_spool_open(struct journal_spool_out *so) WUR;

/* Append r, a record of stream s, as one line. Returns 0, or -1 (a write error, or a line
 * over the longest one a claim reads). */
int journal_spool_put(struct journal_spool_out *so, const struct journal_stream *s,
                      const struct journal_rec *r) WUR;

/* Append the kept lines of every claimed file. Returns 0, or -1. */
int journal_spool_put_kept(struct journal_spool_out *so) WUR;

/*
 * Make so's file complete and durable (fsync), then link it to its final name
 * journal-<unix time>-<pid>-<n>.spool (never replacing another file), written into final
 * (len bytes; "" when the file held nothing and was removed). Returns 0, or -1 (logged;
 * nothing left behind). so is closed either way.
 */
int journal_spool_commit(struct journal_spool_out *so, char *final, size_t len) WUR;

/* Give up so's file: close and remove it. */
void journal_spool_abort(struct journal_spool_out *so);

/*
 * Append one line to the rejected file for a record of stream s that Postgres refused:
 * the stream, the fields, sqlstate (NULL as null), error (the server's message, valid
 * UTF-8) and the time. One write(2) with O_APPEND, so the lines of several workers never
 * interleave. Returns 0, or -1 (errno set; the record is lost).
 */
int journal_spool_reject(const struct journal_stream *s, const struct journal_rec *r,
                         const char *sqlstate, const char *error) WUR;

/* The rejected file's path (borrowed; "" before journal_spool_init()). */
const char *journal_spool_rejected_path(void);

/* Forget the claimed files, deleting them first when delete_files (their records and kept
 * lines were spooled again), and the directory. Safe to call when not started. */
void journal_spool_exit(int delete_files);

#endif
