/*
 * Charset conversion of inbound SMS text; see charset.h. One cached iconv descriptor per
 * non-UTF-8 charset, converting through a stack buffer in chunks into the caller's capped
 * buffer, so the input length never decides an allocation size by itself.
 */
#include "text/charset.h"

#include <errno.h>
#include <iconv.h>
#include <strings.h>

#include "core/utf8.h"

enum cs { CS_UTF8, CS_UTF16BE, CS_LATIN1, CS_CP1252, CS_ASCII, CS_COUNT };

static const struct {
    const char *name;
    enum cs cs;
} names[] = {
    {"UTF-8", CS_UTF8},     {"UTF8", CS_UTF8},           {"UTF-16BE", CS_UTF16BE},
    {"UTF-16", CS_UTF16BE}, {"UCS-2", CS_UTF16BE},       {"UCS-2BE", CS_UTF16BE},
    {"UCS2", CS_UTF16BE},   {"ISO-8859-1", CS_LATIN1},   {"ISO8859-1", CS_LATIN1},
    {"LATIN1", CS_LATIN1},  {"WINDOWS-1252", CS_CP1252}, {"CP1252", CS_CP1252},
    {"US-ASCII", CS_ASCII}, {"ASCII", CS_ASCII},
};

/* glibc's names for the source side. UCS-2 must not be handed to glibc as "UCS-2": that
 * one is host-endian and refuses surrogates. */
static const char *const iconv_names[CS_COUNT] = {
    [CS_UTF16BE] = "UTF-16BE",
    [CS_LATIN1] = "ISO-8859-1",
    [CS_CP1252] = "WINDOWS-1252",
    [CS_ASCII] = "US-ASCII",
};

/* Opened on first use; NULL until then (iconv_open never returns NULL). */
static iconv_t cds[CS_COUNT];

/* The charset a Kannel name stands for, or -1. */
static int lookup(const char *charset)
{
    size_t i;

    if (charset == NULL || charset[0] == '\0')
        return CS_UTF8;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(charset, names[i].name) == 0)
            return (int)names[i].cs;
    return -1;
}

static int validate_utf8(const char *s, size_t len)
{
    size_t i = 0;
    uint32_t cp;
    int n;

    while (i < len) {
        n = utf8_decode(s + i, len - i, &cp);
        if (n < 0)
            return -1;
        i += (size_t)n;
    }
    return 0;
}

/* The cached descriptor for cs, in its initial state, or (iconv_t)-1. */
static iconv_t descriptor(enum cs cs)
{
    iconv_t cd;

    if (cds[cs] == NULL) {
        cd = iconv_open("UTF-8", iconv_names[cs]);
        if (cd == (iconv_t)-1)
            return cd; /* not cached: a later call tries again */
        cds[cs] = cd;
    }
    /* A failed conversion can leave a descriptor mid-sequence. */
    (void)iconv(cds[cs], NULL, NULL, NULL, NULL);
    return cds[cs];
}

/* Convert through iconv in chunks, appending to out. */
static int convert(iconv_t cd, const char *bytes, size_t len, struct buf *out)
{
    char chunk[1024], *in = (char *)bytes, *o;
    size_t inleft = len, oleft, r;
    int rc = -1;

    while (inleft > 0) {
        o = chunk;
        oleft = sizeof(chunk);
        errno = 0;
        r = iconv(cd, &in, &inleft, &o, &oleft);
        if (o > chunk && buf_append(out, chunk, (size_t)(o - chunk)) != 0)
            goto out;
        /* EILSEQ: a byte undefined in the charset or a lone surrogate; EINVAL: the text
         * ends inside a character (odd UTF-16 length, a high surrogate at the end). Only
         * E2BIG, a full chunk, means go on; a chunk holds many characters, so it never
         * comes without progress, but a loop must not rely on that. */
        if (r == (size_t)-1 && (errno != E2BIG || o == chunk))
            goto out;
    }
    /* The source charsets are stateless, so this writes nothing; it closes the
     * conversion as iconv(3) asks. */
    o = chunk;
    oleft = sizeof(chunk);
    if (iconv(cd, NULL, NULL, &o, &oleft) == (size_t)-1)
        goto out;
    if (o > chunk && buf_append(out, chunk, (size_t)(o - chunk)) != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

int charset_to_utf8(const char *bytes, size_t len, const char *charset, struct buf *out)
{
    size_t at = out->len;
    int cs, rc = -1;
    iconv_t cd;

    if (bytes == NULL)
        len = 0;
    cs = lookup(charset);
    if (cs < 0)
        goto out;
    if (cs == CS_UTF8) {
        if (validate_utf8(bytes, len) != 0 || buf_append(out, bytes, len) != 0)
            goto out;
    } else {
        cd = descriptor((enum cs)cs);
        if (cd == (iconv_t)-1 || convert(cd, bytes, len, out) != 0)
            goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        out->len = at;
        if (out->data != NULL)
            out->data[at] = '\0';
    }
    return rc;
}
