/*
 * Two string types, both binary-safe (curl's dynbuf, Redis's sds in spirit):
 *  - struct slice: a borrowed {ptr, len} view for parsing; never owns memory;
 *  - struct buf: an owned growable buffer with a mandatory cap (`max`), for building
 *    output. Appending past the cap fails with -1 and leaves the buffer unchanged, so no
 *    input can make us allocate without bound.
 */
#ifndef HISAAB_BUF_H
#define HISAAB_BUF_H

#include <stdarg.h>
#include <stddef.h>

#define WUR __attribute__((warn_unused_result))

struct slice {
    const char *ptr;
    size_t len;
};

struct buf {
    char *data; /* NUL-terminated whenever len > 0 or after buf_cstr() */
    size_t len;
    size_t cap;
    size_t max; /* hard cap on len */
};

/* A slice over a NUL-terminated string (borrowed). */
struct slice slice_from_cstr(const char *s);
/* 1 if the slice equals the C string exactly / ignoring ASCII case. */
int slice_eq(struct slice s, const char *cstr);
int slice_eq_nocase(struct slice s, const char *cstr);
/* The slice with leading and trailing ASCII whitespace removed. */
struct slice slice_trim(struct slice s);
/* A malloc'd NUL-terminated copy; caller frees. */
char *slice_dup(struct slice s);

/* Initialise an empty buffer that may hold at most `max` bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Append n bytes. Returns 0, or -1 if the result would exceed b->max (b unchanged). */
int buf_append(struct buf *b, const void *p, size_t n) WUR;
/* Append a NUL-terminated string. Same returns as buf_append(). */
int buf_puts(struct buf *b, const char *s) WUR;
/* Append formatted text. Same returns as buf_append(). */
int buf_printf(struct buf *b, const char *fmt, ...) WUR __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) WUR;
/* The contents as a C string (never NULL; "" when empty). Owned by b. */
const char *buf_cstr(struct buf *b);
/* Give up ownership of the data: returns a malloc'd NUL-terminated string (caller frees)
 * and leaves b empty with the same cap. */
char *buf_steal(struct buf *b, size_t *len);
/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Release the memory; b may be reused after buf_init(). */
void buf_free(struct buf *b);

#endif
