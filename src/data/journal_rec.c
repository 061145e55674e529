/*
 * Journal records: repair the fields, then copy them into one allocation; see
 * journal_rec.h. The fields are repaired into one scratch buffer first (so the record's
 * size is known before it is allocated); the buffer is kept for the process's life, so a
 * record costs one allocation.
 */
#include "data/journal_rec.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "core/utf8.h"
#include "data/journal.h"

/* Every field of a record at its cap: utf8_repair() can never reach this one's. */
static struct buf scratch = {.max = (size_t)JOURNAL_MAX_COLS * JOURNAL_FIELD_MAX};

struct journal_rec *journal_rec_new(int ncols, const struct slice *fields)
{
    size_t at[JOURNAL_MAX_COLS], lens[JOURNAL_MAX_COLS];
    size_t total = 0, bytes = 0;
    struct journal_rec *r;
    char *p;
    int i;

    buf_reset(&scratch);
    for (i = 0; i < ncols; i++) {
        at[i] = scratch.len;
        lens[i] = 0;
        if (fields[i].ptr == NULL) {
            bytes += 5; /* NULL, */
            continue;
        }
        /* -1 (scratch's cap) cannot happen: the field stays empty. */
        if (utf8_repair(fields[i].ptr, fields[i].len, JOURNAL_FIELD_MAX, &scratch) >= 0)
            lens[i] = scratch.len - at[i];
        total += lens[i] + 1;
        bytes += 2 * lens[i] + 3; /* quotes, every byte escaped at worst, the comma */
    }
    r = xmalloc(sizeof(*r) + (size_t)ncols * sizeof(char *) + total);
    r->next = NULL;
    r->file = NULL;
    r->bytes = bytes;
    p = (char *)&r->f[ncols];
    for (i = 0; i < ncols; i++) {
        if (fields[i].ptr == NULL) {
            r->f[i] = NULL;
            continue;
        }
        if (lens[i] > 0)
            memcpy(p, scratch.data + at[i], lens[i]);
        p[lens[i]] = '\0';
        r->f[i] = p;
        p += lens[i] + 1;
    }
    return r;
}

void journal_rec_free_list(struct journal_rec *r)
{
    struct journal_rec *next;

    for (; r != NULL; r = next) {
        next = r->next;
        free(r);
    }
}
