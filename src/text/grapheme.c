/*
 * The cut rule of grapheme.h. The mark ranges follow the Devanagari block's layout; the
 * other Indic blocks from Bengali to Malayalam place their signs at the same offsets (the
 * ISCII heritage), so one test on the low seven bits covers them all.
 */
#include "text/grapheme.h"

#include <string.h>

#include "core/utf8.h"

/* 1 if cp must stay attached to the character before it. */
static int is_mark(uint32_t cp)
{
    uint32_t off;

    if (cp == 0x200C || cp == 0x200D) /* ZWNJ, ZWJ */
        return 1;
    if (cp >= 0x0900 && cp <= 0x097F) {
        return (cp <= 0x0903) || (cp >= 0x093A && cp <= 0x093C) || (cp >= 0x093E && cp <= 0x094F) ||
               (cp >= 0x0951 && cp <= 0x0957) || (cp >= 0x0962 && cp <= 0x0963);
    }
    if (cp >= 0x0980 && cp <= 0x0D7F) {
        off = cp & 0x7F;
        return (off >= 0x01 && off <= 0x03) || off == 0x3C || (off >= 0x3E && off <= 0x4D) ||
               (off >= 0x55 && off <= 0x57) || (off >= 0x62 && off <= 0x63);
    }
    return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
           (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
           (cp >= 0xA8E0 && cp <= 0xA8F1) || (cp >= 0xFE00 && cp <= 0xFE0F) ||
           (cp >= 0xFE20 && cp <= 0xFE2F) || (cp >= 0x1F3FB && cp <= 0x1F3FF) ||
           (cp >= 0xE0100 && cp <= 0xE01EF);
}

/* 1 if cp joins the following character (a virama makes a conjunct; ZWJ/ZWNJ shape it). */
static int joins_next(uint32_t cp)
{
    if (cp == 0x200C || cp == 0x200D)
        return 1;
    return cp >= 0x0900 && cp <= 0x0D7F && (cp & 0x7F) == 0x4D;
}

int grapheme_can_break(uint32_t prev, uint32_t cp)
{
    if (is_mark(cp) || joins_next(prev))
        return 0;
    return !(prev == '\r' && cp == '\n');
}

int grapheme_clip(const char *s, size_t max_chars, char *out, size_t outlen)
{
    size_t len, i = 0, chars = 0, cut = 0, end = 0;
    int n, rc = -1, stopped = 0;
    uint32_t cp, prev = 0;

    if (outlen == 0)
        goto out;
    out[0] = '\0';
    if (s == NULL)
        goto out;
    len = strlen(s);
    while (i < len) {
        n = utf8_decode(s + i, len - i, &cp);
        if (n < 0)
            goto out;
        if (!stopped) {
            if (i > 0 && grapheme_can_break(prev, cp))
                cut = i;
            if (chars == max_chars || (size_t)n > outlen - 1 - i) {
                /* cp does not fit: end at the last boundary before it. */
                end = cut;
                stopped = 1;
            } else {
                chars++;
                prev = cp;
            }
        }
        /* Past the cut the text is still read, so that validity never depends on
         * max_chars. */
        i += (size_t)n;
    }
    if (!stopped)
        end = len;
    memcpy(out, s, end);
    out[end] = '\0';
    rc = 0;
out:
    return rc;
}
