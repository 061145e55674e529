/*
 * The text side of the district search: what a district name or a query becomes before it
 * is compared. Normalisation turns any UTF-8 into "plain" text (lower-case Latin letters
 * and digits in space-separated tokens, Devanagari transliterated to rough Latin), the
 * tokeniser splits it and drops the scheme's name and the word "district", and the
 * phonetic key makes spellings that sound alike equal. The rules are described at the
 * top of search_norm.c. Used by search.c (the index and the matching) and its unit
 * tests; the search's interface for everyone else is search.h.
 *
 * Every function here is pure: no allocation, no global state, safe from any thread.
 */
#ifndef HISAAB_SEARCH_NORM_H
#define HISAAB_SEARCH_NORM_H

#include <stddef.h>

#include "text/search.h"

/* Plain text of at most SEARCH_QUERY_MAX input bytes fits in SEARCH_PLAIN_MAX bytes
 * (transliteration at most doubles them). */
#define SEARCH_PLAIN_MAX (2 * SEARCH_QUERY_MAX)
/* Most tokens kept from one text by search_norm_tokenise(). */
#define SEARCH_MAX_TOKENS 16

/* One token of a plain text: plain[off, off + len). */
struct search_token {
    size_t off, len;
    int digits; /* 1: a number (tokens are all digits or all letters) */
};

/*
 * Write the plain form of s[0..len) (any bytes; invalid UTF-8 separates tokens) to out:
 * lower-case Latin letters and digits in tokens separated by single spaces, no leading
 * or trailing space, cut to fit cap (which counts the NUL; at least 1). With drop_nukta,
 * Devanagari letters with a nukta are read as their base letter (निवाड़ी as निवाडी:
 * "nivadi" rather than "nivari"). Returns the length written.
 */
size_t search_norm_plain(const char *s, size_t len, char *out, size_t cap, int drop_nukta);

/*
 * Write the phonetic key of the letters in plain[0..n) (spaces and digits are skipped;
 * letters past 2 * SEARCH_KEY_MAX are ignored) to key, cut to fit cap (which counts the
 * NUL; at least 1): "niwari" and "nivari" both give "nivari". Returns its length.
 */
size_t search_norm_key(const char *plain, size_t n, char *key, size_t cap);

/* 1 if w[0..n) is only the scheme's name (nrega, mgnrega, manrega, ...) or the word
 * "district" (district, distt, jila, zila, ...), which searches ignore; else 0. */
int search_norm_is_stop_word(const char *w, size_t n);

/*
 * Split plain[0..len) (as written by search_norm_plain()) into at most SEARCH_MAX_TOKENS
 * tokens in t, dropping stop words. Returns their number.
 */
size_t search_norm_tokenise(const char *plain, size_t len, struct search_token *t);

/*
 * Write the letters of the word tokens t[from, to) of plain, joined without spaces (digit
 * tokens are skipped), to out, cut to fit cap (which counts the NUL; at least 1). Returns
 * the length written.
 */
size_t search_norm_join(const char *plain, const struct search_token *t, size_t from, size_t to,
                        char *out, size_t cap);

#endif
