/*
 * District search: finds districts from what a person types, in English, romanised Hindi
 * (with typos), Devanagari or as a district code, with or without the words NREGA /
 * MGNREGA / नरेगा / मनरेगा. The REST API (/api/v1/districts?q=) and the SMS channel both
 * use it. An index is built once per data version (search_index_new + search_index_add
 * for every district) and is then read-only: search_find() may be called from any number
 * of threads at once, allocates nothing and does a bounded amount of work per query.
 * The algorithm is described at the top of search.c (matching) and search_norm.c (text).
 */
#ifndef HISAAB_SEARCH_H
#define HISAAB_SEARCH_H

#include <stddef.h>

#define SEARCH_WUR __attribute__((warn_unused_result))

/* Limits. Queries longer than SEARCH_QUERY_MAX bytes are cut there; names longer than
 * SEARCH_KEY_MAX bytes once normalised are cut there (still searchable by their start). */
#define SEARCH_QUERY_MAX 256
#define SEARCH_KEY_MAX 48
#define SEARCH_MAX_DISTRICTS 8192
#define SEARCH_MAX_ALIASES 12
/* At most this many results are ranked internally; search_find() returns the best
 * min(max, SEARCH_MAX_RESULTS). */
#define SEARCH_MAX_RESULTS 16

/* One district as given to search_index_add(). Every string is UTF-8 and borrowed for the
 * duration of the call only (the index keeps its own normalised copies). */
struct search_district {
    int state_code;             /* NREGA MIS state code, e.g. 17 */
    int district_code;          /* NREGA MIS district code, e.g. 1752 */
    const char *name_en;        /* "Niwari" or "NIWARI"; required */
    const char *name_hi;        /* "निवाड़ी"; may be NULL */
    const char *state_en;       /* "Madhya Pradesh"; may be NULL */
    const char *state_hi;       /* "मध्य प्रदेश"; may be NULL */
    const char *const *aliases; /* other spellings; NULL-terminated array, or NULL */
};

struct search_result {
    int state_code;
    int district_code;
    double score; /* 0..1; 1 = the query is one of the district's names */
    int exact;    /* 1 if the query equals a name or sounds exactly like one (no typo) */
};

struct search_index;

/* A new empty index. Never NULL (allocation failure aborts). Free with search_index_free. */
struct search_index *search_index_new(void);

/* Add one district (copies what it needs; `d` stays the caller's). Names that normalise to
 * nothing and aliases past SEARCH_MAX_ALIASES are skipped. Returns 0, or -1 if d or
 * d->name_en is NULL or the index already holds SEARCH_MAX_DISTRICTS districts. */
int search_index_add(struct search_index *idx, const struct search_district *d) SEARCH_WUR;

/* Number of districts in the index. */
size_t search_index_count(const struct search_index *idx);

/* Release the index and everything it owns. NULL is a no-op. */
void search_index_free(struct search_index *idx);

/* Find the districts that best match `query` (any bytes, NUL-terminated; invalid UTF-8 is
 * treated as a separator). Writes up to `max` results to `out`, best first (score
 * descending, then district code ascending), and their number to *n (0 when nothing
 * matches well enough, e.g. for "", "hello" or an unknown code). A query that is one
 * number (after the NREGA keywords and a state name are removed) matches district codes
 * exactly. Pass max >= 2 so
 * that search_is_ambiguous() can compare the top two. Allocates nothing; safe to call
 * concurrently on a shared index. Returns 0, or -1 if idx, query, out or n is NULL. */
/*
 * Answers remembered by query text, for a caller that asks one index the same things
 * over and over (a worker's channels ask for the same few hundred names; a fuzzy query
 * visits every key of the national index). One memo serves one thread and one index at a
 * time (given another index, or the same one with more districts, it starts empty);
 * search_find_memo() answers exactly as search_find() would, from the memo when it has
 * that query text (up to 47 bytes; longer ones are not kept). A NULL memo just searches.
 * search_memo_new() aborts on out-of-memory; search_memo_free(NULL) is a no-op.
 */
struct search_memo;
struct search_memo *search_memo_new(void);
void search_memo_free(struct search_memo *m);
int search_find_memo(struct search_memo *m, const struct search_index *idx, const char *query,
                     struct search_result *out, size_t max, size_t *n);

int search_find(const struct search_index *idx, const char *query, struct search_result *out,
                size_t max, size_t *n) SEARCH_WUR;

/* 1 if the caller should list choices rather than pick results[0]: at least two results
 * and the second scores within SEARCH_AMBIGUOUS_GAP of the first (for example the same
 * name in two states, or two equally close misspellings). 0 otherwise, also for n < 2. */
#define SEARCH_AMBIGUOUS_GAP 0.05
int search_is_ambiguous(const struct search_result *results, size_t n);

/* How many leading results score within SEARCH_AMBIGUOUS_GAP of the first: the choices
 * to list when search_is_ambiguous() (1 when it is not, 0 when n is 0). */
size_t search_close_count(const struct search_result *results, size_t n);

#endif
