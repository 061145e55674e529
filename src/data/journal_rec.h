/*
 * One journal record in memory, internal to the data layer (journal.c, journal_spool.c and
 * the unit tests). A record is one allocation: the struct, the field pointers and the
 * repaired bytes of every field. journal.c makes one for each append and queues it;
 * journal_spool.c makes one for each line of a claimed spool file and writes records back
 * as lines at exit. The repair is utf8_repair() (core/utf8.h), cut at JOURNAL_FIELD_MAX.
 */
#ifndef HISAAB_DATA_JOURNAL_REC_H
#define HISAAB_DATA_JOURNAL_REC_H

#include <stddef.h>

#include "core/buf.h"

struct journal_spool_file; /* journal_spool.h */

struct journal_rec {
    struct journal_rec *next;
    struct journal_spool_file *file; /* the claimed file it was read from, or NULL */
    size_t bytes;                    /* its size in array literals, at most, with commas */
    char *f[];                       /* ncols fields, NULL = SQL NULL; the bytes follow */
};

/*
 * A record of ncols (1..JOURNAL_MAX_COLS) fields copied from fields (ptr NULL = SQL NULL;
 * the bytes are borrowed for the call), each made valid UTF-8 without NUL bytes by
 * utf8_repair() and cut to JOURNAL_FIELD_MAX bytes. Never fails (aborts on out of memory).
 * Returns a malloc'd record with next and file NULL; the caller frees it with free().
 */
struct journal_rec *journal_rec_new(int ncols, const struct slice *fields);

/* Free r and every record after it on its next list. r may be NULL. */
void journal_rec_free_list(struct journal_rec *r);

#endif
