/*
 * UTF-8 decoding shared by every module that reads text from outside (validators, the
 * ETL's name cleaning, district search, SMS commands and encodings), so that they all agree
 * on what is valid: no overlong forms, no surrogates, nothing above U+10FFFF, no truncated
 * sequence (the same rules Postgres applies to text).
 */
#ifndef HISAAB_UTF8_H
#define HISAAB_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decode one character at s[0..len). Returns its length in bytes (1..4) and stores the
 * code point in *cp, or returns -1 (and leaves *cp alone) if the bytes are not a valid
 * UTF-8 sequence or len is 0. */
int utf8_decode(const char *s, size_t len, uint32_t *cp);

#endif
