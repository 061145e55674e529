/*
 * Journal records: repair the fields, then copy them into one allocation; see
 * journal_rec.h. The fields are repaired into a static scratch area first, so the
 * record's size is known before it is allocated and a record costs one allocation.
 */
#include "data/journal_rec.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "data/journal.h"

static char scratch[JOURNAL_MAX_COLS][JOURNAL_FIELD_MAX];

struct journal_rec *journal_rec_new(int ncols, const struct slice *fields)
{
    size_t lens[JOURNAL_MAX_COLS];
    size_t total = 0, bytes = 0;
    struct journal_rec *r;
    char *p;
    int i;

    for (i = 0; i < ncols; i++) {
        lens[i] = 0;
        if (fields[i].ptr == NULL) {
            bytes += 5; /* NULL, */
            continue;
        }
        lens[i] = journal_repair(fields[i].ptr, fields[i].len, scratch[i], JOURNAL_FIELD_MAX);
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
        memcpy(p, scratch[i], lens[i]);
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
