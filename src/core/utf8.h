/*
 * UTF-8 decoding shared by every module that reads text from outside (validators, the
 * ETL's name cleaning, district search, SMS commands and encodings), so that they all agree
 * on what is valid: no overlong forms, no surrogates, nothing above U+10FFFF, no truncated
 * sequence (the same rules Postgres applies to text). utf8_repair() makes any bytes valid
 * by those same rules, for text that must be stored or shown whatever came in.
 */
#ifndef HISAAB_UTF8_H
#define HISAAB_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Decode one character at s[0..len). Returns its length in bytes (1..4) and stores the
 * code point in *cp, or returns -1 (and leaves *cp alone) if the bytes are not a valid
 * UTF-8 sequence or len is 0. */
int utf8_decode(const char *s, size_t len, uint32_t *cp);

/*
 * Append the len bytes at s to out as valid UTF-8 without NUL bytes: every invalid
 * sequence (as utf8_decode() judges it) becomes one U+FFFD per maximal subpart (the lead
 * byte and the continuation bytes that could still begin a valid sequence, as ICU, WHATWG
 * and Python decode: "\xE0\x80" is two replacements, a truncated "\xE0\xA4" one), and NUL
 * bytes are dropped. At most max_bytes bytes are appended: the text is cut before the
 * first character (or replacement) that would not fit, never inside one.
 * Returns the number of U+FFFD written (0 for valid text; dropped NULs do not count), or
 * -1 if out's cap is reached (out unchanged).
 */
int utf8_repair(const char *s, size_t len, size_t max_bytes, struct buf *out) WUR;

#endif
