/*
 * Allocation wrappers. Out-of-memory aborts the process (the master restarts a worker),
 * so callers never handle a NULL from these. Every buffer that input can grow must still
 * be capped by its owner (see buf.h): these wrappers bound nothing.
 */
#ifndef HISAAB_MEM_H
#define HISAAB_MEM_H

#include <stddef.h>

/* malloc/calloc/realloc that abort on failure. Caller frees with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);

/* Copies of a C string / the first n bytes (NUL-terminated). Caller frees. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
