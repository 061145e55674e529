/*
 * Phone numbers: the SMS channel never logs or records a number in the clear. It
 * normalises the sender to E.164 (Indian numbers written as 98..., 098..., 9198...,
 * +9198... or 009198... all become +9198...) and identifies it everywhere (logs, rate
 * limits, language preference, message records) by a keyed hash:
 * HMAC-SHA256(HISAAB_SECRET, normalised number) as 64 lower-case hex digits. Only the
 * subscriptions table keeps the number itself, because sending needs it. Pure functions.
 */
#ifndef HISAAB_PHONE_H
#define HISAAB_PHONE_H

#include <stddef.h>

#include "core/buf.h"

/* Longest E.164 number (15 digits) plus '+' and NUL. */
#define PHONE_E164_MAX 17
/* A hash as hex plus NUL. */
#define PHONE_HASH_HEX 65

/*
 * Normalise `raw` (NUL-terminated) into out (PHONE_E164_MAX bytes): spaces, dashes, dots
 * and parentheses are dropped; 10 digits starting 6-9, 0 + 10 digits, 91 + 10 digits,
 * +91 + 10 digits and 0091 + 10 digits become +91 and the 10 digits; any other "+" or
 * "00" number of 6 to 15 digits keeps its digits ("+" prefixed); other numbers of 3 to 15
 * digits (short codes, test numbers) become "+" and the digits. Returns 0, or -1 for
 * anything else (letters, empty, too long): out is then "".
 */
int phone_normalise(const char *raw, char *out, size_t outlen) WUR;

/*
 * HMAC-SHA256 of `e164` keyed with secret (secret_len bytes; may be 0) as lower-case hex
 * into out (PHONE_HASH_HEX bytes). Returns 0, or -1 on a libcrypto failure or a short out.
 */
int phone_hash(const char *secret, size_t secret_len, const char *e164, char *out,
               size_t outlen) WUR;

/* phone_normalise() then phone_hash(); returns 0 or -1. e164 may be NULL when the caller
 * does not need the number (else PHONE_E164_MAX bytes). */
int phone_hash_raw(const char *secret, size_t secret_len, const char *raw, char *e164, char *out,
                   size_t outlen) WUR;

/*
 * Sealing a number that must be dialled later (a callback after a missed call): the one
 * place a number is kept outside a request, and then only sealed and only until the
 * callback is finished. AES-256-GCM under a key derived from the secret
 * (HMAC-SHA256(secret, "hisaab phone seal v1")), a random 96-bit nonce per number; the
 * sealed form is lower-case hex of nonce, ciphertext and tag (PHONE_SEALED_MAX with NUL).
 */
#define PHONE_SEALED_MAX (2 * (12 + PHONE_E164_MAX + 16) + 1)

/* Seal e164 into out (outlen bytes). Returns 0, or -1 (libcrypto, short out). */
int phone_seal(const char *secret, size_t secret_len, const char *e164, char *out,
               size_t outlen) WUR;

/* Open a sealed number into e164 (PHONE_E164_MAX bytes). Returns 0, or -1 when it does
 * not open under this secret (tampered, another secret, not hex). */
int phone_unseal(const char *secret, size_t secret_len, const char *sealed, char *e164,
                 size_t outlen) WUR;

#endif
