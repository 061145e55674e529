/*
 * Query strings and application/x-www-form-urlencoded bodies: the one splitter and the
 * one percent-decoder of the server (Kore keeps this in one place too), used by the router
 * for declared parameters and by the gateways, which must see every byte of a text (a
 * UTF-16 SMS holds NUL bytes) and every parameter (Twilio signs them all).
 *
 * Pairs are separated by '&'; a pair without '=' is a key with an empty value; empty
 * pairs are skipped. Decoding turns '+' into a blank and "%XY" (two hex digits) into that
 * byte; a '%' not followed by two hex digits stays as it is. Decoded text is binary:
 * callers that want C strings must refuse NUL bytes themselves.
 *
 * The other way, for the requests the server sends (sendsms's query, the voice providers'
 * REST forms): every byte but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~) is
 * written as %XY, so a value never splits a pair and decodes back byte for byte.
 */
#ifndef HISAAB_NET_FORM_H
#define HISAAB_NET_FORM_H

#include <stddef.h>

#include "core/buf.h"

/* Append the decoding of n bytes at s to out. Returns 0, or -1 at out's cap (out keeps
 * what fitted). */
int form_decode(const char *s, size_t n, struct buf *out) WUR;

/*
 * The next pair of s[0..len) from *pos (start at 0): the raw (still encoded) key and
 * value. Returns 1 and advances *pos, or 0 when there is none left.
 */
int form_next(const char *s, size_t len, size_t *pos, struct slice *key, struct slice *value);

/*
 * The value of the first pair named `name` (compared decoded), decoded into out (reset
 * first). Returns 1 when found, 0 when absent, -1 when the value is over out's cap.
 */
int form_get(const char *s, size_t len, const char *name, struct buf *out) WUR;

/* Append the percent-encoding of the C string s to out. Returns 0, or -1 at out's cap (out
 * is then as it was). */
int form_encode(const char *s, struct buf *out) WUR;

/* Append the pair name=value, both encoded, after a '&' when out is not empty. Returns 0,
 * or -1 at out's cap (out is then as it was). */
int form_add(struct buf *out, const char *name, const char *value) WUR;

#endif
