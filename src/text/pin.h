/*
 * Indian PIN codes (postal index numbers) in what people type: "462001", "NREGA 462001",
 * "462 001", "पिन 462001" with the scheme's name around it. A PIN is six digits, the first
 * 1-9. Villagers often know their PIN better than their district's spelling, and a caller
 * on a keypad can only type digits, so every channel reads a PIN as a way to name a
 * district (data/directory.h maps it). A PIN a person sends is never stored or logged in
 * the clear: pin_redact() is what a record keeps instead. Pure functions.
 */
#ifndef HISAAB_TEXT_PIN_H
#define HISAAB_TEXT_PIN_H

#include <stddef.h>

#include "core/buf.h"

#define PIN_REDACTED "[PIN]"

/* 1 if n (any int) is a PIN: 100000..999999. */
int pin_valid(long n);

/*
 * The PIN that the text s[0..len) consists of, once the scheme's name and the word for
 * district are dropped (search_norm's stop words): six digits, or three and three
 * ("462 001"). Returns the PIN, or 0 when the text is anything else.
 */
int pin_parse(const char *s, size_t len);

/*
 * Append s[0..len) to out with every run of exactly six digits that could be a PIN (first
 * digit 1-9, not part of a longer number; also "ddd ddd") replaced by PIN_REDACTED.
 * Returns 0 or -1 (out's cap).
 */
int pin_redact(const char *s, size_t len, struct buf *out) WUR;

#endif
