/*
 * libFuzzer target for the text layer's handling of outside bytes: charset_to_utf8 in each
 * charset Kannel names (when it returns 0 the output is valid UTF-8 and was only
 * appended), grapheme_clip on the result and on the raw bytes (a prefix, valid UTF-8,
 * never more code points than asked nor more bytes than the room, ending where
 * grapheme_can_break allows) and utf8_repair on the raw bytes (valid UTF-8, no NUL, within
 * max_bytes; valid text without NULs comes back as it was). The first byte picks the
 * charset, the second the limits.
 *
 *   make fuzz && build/fuzz/fuzz_charset -max_total_time=60 tests/fuzz/corpus/fuzz_charset
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/utf8.h"
#include "text/charset.h"
#include "text/grapheme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Code points in the len bytes at s, or -1 if they are not valid UTF-8. */
static long count_utf8(const char *s, size_t len)
{
    size_t i = 0;
    long chars = 0;
    uint32_t cp;
    int n;

    while (i < len) {
        n = utf8_decode(s + i, len - i, &cp);
        if (n < 0)
            return -1;
        i += (size_t)n;
        chars++;
    }
    return chars;
}

/* The code point just before s[end] (0 < end, s valid up to end). */
static uint32_t cp_before(const char *s, size_t end)
{
    size_t start = end - 1;
    uint32_t cp = 0;

    while (start > 0 && ((unsigned char)s[start] & 0xC0) == 0x80)
        start--;
    if (utf8_decode(s + start, end - start, &cp) < 0)
        abort();
    return cp;
}

/* Clip the NUL-terminated UTF-8 s (valid, len bytes) and check the result. */
static void check_clip(const char *s, size_t len, size_t max_chars, size_t outlen)
{
    char out[512];
    size_t got;
    uint32_t next;
    long chars;

    if (outlen == 0 || outlen > sizeof(out))
        return;
    if (grapheme_clip(s, max_chars, out, outlen) != 0)
        abort(); /* s is valid UTF-8 */
    got = strlen(out);
    chars = count_utf8(out, got);
    if (got >= outlen || got > len || memcmp(out, s, got) != 0 || chars < 0 ||
        (size_t)chars > max_chars)
        abort();
    /* The cut is the end of the text or a boundary of the rule. */
    if (got > 0 && got < len) {
        if (utf8_decode(s + got, len - got, &next) < 0 ||
            !grapheme_can_break(cp_before(s, got), next))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const charsets[] = {
        "UTF-8",  "UTF-16BE", "UCS-2", "ISO-8859-1", "WINDOWS-1252",
        "CP1252", "US-ASCII", "",      "utf-16",     "KOI8-R",
    };
    const char *text = (const char *)data + 2, *cs;
    size_t len, max_chars, outlen, max_bytes;
    struct buf out, fixed;
    char raw[512];
    int reps;

    if (size < 2)
        return 0;
    len = size - 2;
    cs = charsets[data[0] % (sizeof(charsets) / sizeof(charsets[0]))];
    max_chars = data[1] & 0x3F;
    outlen = 1 + (size_t)(data[1] >> 2) * 8;
    max_bytes = (size_t)data[1] * 4;
    buf_init(&out, 16384);
    buf_init(&fixed, 16384);

    /* Conversion: appended after what is there, valid UTF-8, or nothing. */
    if (buf_puts(&out, "x") != 0)
        abort();
    if (charset_to_utf8(text, len, cs, &out) == 0) {
        if (out.data[0] != 'x' || count_utf8(out.data + 1, out.len - 1) < 0)
            abort();
        if (memchr(out.data, '\0', out.len) == NULL)
            check_clip(out.data + 1, out.len - 1, max_chars, outlen);
    } else if (out.len != 1 || strcmp(buf_cstr(&out), "x") != 0) {
        abort();
    }

    /* Repair: always valid, no NUL, within max_bytes. */
    reps = utf8_repair(text, len, max_bytes, &fixed);
    if (reps < 0 || fixed.len > max_bytes || count_utf8(buf_cstr(&fixed), fixed.len) < 0 ||
        memchr(buf_cstr(&fixed), '\0', fixed.len) != NULL)
        abort();
    if (count_utf8(text, len) >= 0 && memchr(text, '\0', len) == NULL && len <= max_bytes &&
        (reps != 0 || fixed.len != len || memcmp(buf_cstr(&fixed), text, len) != 0))
        abort();
    /* The repaired text clips like any valid text. */
    if (fixed.len > 0)
        check_clip(fixed.data, fixed.len, max_chars, outlen);

    /* Clipping the raw bytes: -1 exactly when they are not valid UTF-8. */
    if (len < sizeof(raw) && memchr(text, '\0', len) == NULL) {
        char clipped[512];

        memcpy(raw, text, len);
        raw[len] = '\0';
        if (grapheme_clip(raw, max_chars, clipped, sizeof(clipped)) == 0) {
            if (count_utf8(raw, len) < 0)
                abort();
            check_clip(raw, len, max_chars, outlen);
        } else if (count_utf8(raw, len) >= 0 || clipped[0] != '\0') {
            abort();
        }
    }
    buf_free(&out);
    buf_free(&fixed);
    return 0;
}
