/*
 * Strict UTF-8 decoding and repair; see utf8.h.
 */
#include "core/utf8.h"

#include <limits.h>

int utf8_decode(const char *s, size_t len, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c, min;
    size_t n, i;

    if (len == 0)
        return -1;
    c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        c &= 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        c &= 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        c &= 0x07;
        min = 0x10000;
    } else {
        return -1;
    }
    if (len < n)
        return -1;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *cp = c;
    return (int)n;
}

/* Bytes in the maximal subpart at p (len > 0), a position utf8_decode() rejects: the lead
 * byte, if it can start a sequence, and each following byte that keeps the sequence a
 * prefix of a valid one (Unicode 15, table 3-7: the second byte's range depends on the
 * lead, which is what rules out overlong forms, surrogates and values past U+10FFFF). */
static size_t maximal_subpart(const unsigned char *p, size_t len)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n, i;

    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        if (p[0] == 0xE0)
            lo = 0xA0;
        else if (p[0] == 0xED)
            hi = 0x9F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        if (p[0] == 0xF0)
            lo = 0x90;
        else if (p[0] == 0xF4)
            hi = 0x8F;
    } else {
        return 1;
    }
    for (i = 1; i < n && i < len; i++) {
        if (p[i] < lo || p[i] > hi)
            break;
        lo = 0x80;
        hi = 0xBF;
    }
    /* A full sequence here would be valid, which the caller has ruled out. */
    return i < n ? i : 1;
}

int utf8_repair(const char *s, size_t len, size_t max_bytes, struct buf *out)
{
    static const char fffd[] = "\xEF\xBF\xBD";
    size_t at = out->len, i = 0, run = 0, used = 0;
    int n, rc = -1, reps = 0;
    uint32_t cp;

    /* Valid characters are copied in runs; a run ends at a NUL, an invalid sequence or
     * the cut. */
    while (i < len) {
        if ((unsigned char)s[i] - 1u < 0x7Fu) { /* ASCII but NUL, most of what comes */
            if (used == max_bytes)
                break;
            used++;
            i++;
            continue;
        }
        n = utf8_decode(s + i, len - i, &cp);
        if (n > 0 && cp != 0) {
            if ((size_t)n > max_bytes - used)
                break;
            used += (size_t)n;
            i += (size_t)n;
            continue;
        }
        if (i > run && buf_append(out, s + run, i - run) != 0)
            goto out;
        run = i;
        if (n < 0) {
            if (max_bytes - used < 3)
                break;
            if (buf_append(out, fffd, 3) != 0)
                goto out;
            used += 3;
            if (reps < INT_MAX)
                reps++;
            i += maximal_subpart((const unsigned char *)s + i, len - i);
        } else {
            i++; /* NUL */
        }
        run = i;
    }
    if (i > run && buf_append(out, s + run, i - run) != 0)
        goto out;
    rc = reps;
out:
    if (rc < 0) {
        out->len = at;
        if (out->data != NULL)
            out->data[at] = '\0';
    }
    return rc;
}
