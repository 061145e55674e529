/*
 * GSM 03.38 coding decision, SMS length counting and splitting (see smsenc.h for the
 * rules). The GSM-7 tables are written out from 3GPP TS 23.038 section 6.2.1 (default
 * alphabet) and 6.2.1.1 (extension table); the extension table's euro sign and form feed
 * are the only non-ASCII / control members. Where a part may end inside a word is
 * grapheme.h's rule, the same one every other clipping of text follows.
 */
#include "text/smsenc.h"

#include <string.h>

#include "core/utf8.h"
#include "text/grapheme.h"

/* Non-ASCII members of the GSM 03.38 default alphabet. */
static const unsigned short gsm_basic_nonascii[] = {
    0x00A1, 0x00A3, 0x00A4, 0x00A5, 0x00A7, 0x00BF, 0x00C4, 0x00C5, 0x00C6, 0x00C7,
    0x00C9, 0x00D1, 0x00D6, 0x00D8, 0x00DC, 0x00DF, 0x00E0, 0x00E4, 0x00E5, 0x00E6,
    0x00E8, 0x00E9, 0x00EC, 0x00F1, 0x00F2, 0x00F6, 0x00F8, 0x00F9, 0x00FC, 0x0393,
    0x0394, 0x0398, 0x039B, 0x039E, 0x03A0, 0x03A3, 0x03A6, 0x03A8, 0x03A9,
};

/* Septets a code point takes in GSM-7: 1 (default alphabet), 2 (extension table), or 0
 * when it has no GSM-7 form at all. */
static unsigned gsm_cost(unsigned cp)
{
    size_t i;

    /* The common cases first: letters, digits and the blank; and every script above
     * Greek (Devanagari), which has no GSM-7 form. */
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') ||
        cp == ' ')
        return 1;
    if (cp >= 0x0400)
        return cp == 0x20AC ? 2 : 0;
    if (cp < 0x80) {
        if (cp == '\n' || cp == '\r')
            return 1;
        if (cp == 0x0C)
            return 2; /* form feed: extension table (page break) */
        switch (cp) {
        case '^':
        case '{':
        case '}':
        case '\\':
        case '[':
        case '~':
        case ']':
        case '|':
            return 2;
        case '`':
        case 0x7F:
            return 0;
        default:
            return cp < 0x20 ? 0 : 1;
        }
    }
    for (i = 0; i < sizeof(gsm_basic_nonascii) / sizeof(gsm_basic_nonascii[0]); i++)
        if (gsm_basic_nonascii[i] == cp)
            return 1;
    return 0;
}

int smsenc_analyse(const char *utf8, size_t len, struct smsenc_info *out)
{
    size_t i = 0, septets = 0, units = 0, chars = 0;
    int gsm = 1, rc = -1, n;
    unsigned cp, cost;

    memset(out, 0, sizeof(*out));
    while (i < len) {
        if ((unsigned char)utf8[i] < 0x80) {
            cp = (unsigned char)utf8[i];
            n = 1;
        } else if ((n = utf8_decode(utf8 + i, len - i, &cp)) < 0) {
            goto out;
        }
        i += (size_t)n;
        chars++;
        units += cp > 0xFFFF ? 2 : 1;
        cost = gsm_cost(cp);
        if (cost == 0)
            gsm = 0;
        septets += cost;
    }
    out->chars = chars;
    if (gsm) {
        out->coding = SMSENC_GSM7;
        out->units = septets;
        out->parts =
            septets <= SMSENC_GSM7_SINGLE ? 1 : (septets + SMSENC_GSM7_PART - 1) / SMSENC_GSM7_PART;
    } else {
        out->coding = SMSENC_UCS2;
        out->units = units;
        out->parts =
            units <= SMSENC_UCS2_SINGLE ? 1 : (units + SMSENC_UCS2_PART - 1) / SMSENC_UCS2_PART;
    }
    rc = 0;
out:
    return rc;
}

/* Units a code point takes under `coding` (the text is known to fit that coding). */
static size_t unit_cost(enum smsenc_coding coding, unsigned cp)
{
    if (coding == SMSENC_GSM7)
        return gsm_cost(cp);
    return cp > 0xFFFF ? 2 : 1;
}

/*
 * Where the part starting at `pos` ends, given at most `limit` units per part: the input
 * end if the rest fits, else the last break after a space or line break, else the last
 * cluster boundary, else (a single cluster longer than a part, which no real text has)
 * the last character boundary. The text is valid UTF-8 (checked by the caller).
 */
static size_t part_end(const char *s, size_t len, size_t pos, enum smsenc_coding coding,
                       size_t limit)
{
    size_t i = pos, used = 0, cost, at_space = 0, at_cluster = 0;
    unsigned cp, prev = 0;
    int n;

    while (i < len) {
        n = utf8_decode(s + i, len - i, &cp);
        if (n < 0)
            break;
        if (i > pos && grapheme_can_break(prev, cp)) {
            at_cluster = i;
            if (prev == ' ' || prev == '\n')
                at_space = i;
        }
        cost = unit_cost(coding, cp);
        if (used + cost > limit)
            break;
        used += cost;
        prev = cp;
        i += (size_t)n;
    }
    if (i >= len)
        return len;
    if (at_space > pos)
        return at_space;
    if (at_cluster > pos)
        return at_cluster;
    return i;
}

int smsenc_split(const char *utf8, size_t len, struct slice *parts, size_t max_parts,
                 size_t *nparts)
{
    struct smsenc_info info;
    size_t pos = 0, end, n = 0, limit;
    int rc = -1;

    *nparts = 0;
    if (smsenc_analyse(utf8, len, &info) != 0 || max_parts == 0)
        goto out;
    if (info.parts == 1) {
        parts[0].ptr = utf8;
        parts[0].len = len;
        n = 1;
        rc = 0;
        goto out;
    }
    limit = info.coding == SMSENC_GSM7 ? SMSENC_GSM7_PART : SMSENC_UCS2_PART;
    while (pos < len) {
        if (n == max_parts)
            goto out;
        end = part_end(utf8, len, pos, info.coding, limit);
        parts[n].ptr = utf8 + pos;
        parts[n].len = end - pos;
        n++;
        pos = end;
    }
    rc = 0;
out:
    if (rc == 0)
        *nparts = n;
    return rc;
}
