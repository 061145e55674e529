/*
 * Inbound SMS command parsing (see smscmd.h for the rules). The text is split once into
 * at most MAX_WORDS word slices; every decision is then a comparison of words against
 * small keyword lists.
 */
#include "text/smscmd.h"

#include <string.h>

#include "text/smsenc.h"
#include "core/utf8.h"

/* Words kept as slices; later words are still checked for STOP and stay in the query
 * text (the last slot grows to cover them). */
#define MAX_WORDS 64

static const char *const kw_nrega[] = {"NREGA", "MGNREGA", "MNREGA", "NAREGA",
                                       "नरेगा",  "मनरेगा",   NULL};
static const char *const kw_stop[] = {"STOP", "UNSUBSCRIBE", "UNSUB", "रोकें", "रोके",
                                      "रोको", "बंद",          "बन्द",   NULL};
static const char *const kw_help[] = {"HELP", "मदद", "सहायता", NULL};
static const char *const kw_hindi[] = {"HINDI", "हिंदी", "हिन्दी", NULL};
static const char *const kw_english[] = {"ENGLISH", "अंग्रेजी", "इंग्लिश", NULL};
static const char *const kw_sub[] = {"SUB", "SUBSCRIBE", NULL};

/* Length of the separator at s (ASCII whitespace or U+00A0), 0 if none. */
static size_t sep_len(const char *s, size_t len)
{
    if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
        return 1;
    if (len >= 2 && (unsigned char)s[0] == 0xC2 && (unsigned char)s[1] == 0xA0)
        return 2;
    return 0;
}

/* Length of the punctuation mark at the start of s, 0 if none. */
static size_t punct_at(const char *s, size_t len)
{
    if (len >= 1 && strchr(".,!?;:'\"()[]<>*-_/", s[0]) != NULL && s[0] != '\0')
        return 1;
    /* U+0964 DEVANAGARI DANDA, U+0965 DOUBLE DANDA */
    if (len >= 3 && (unsigned char)s[0] == 0xE0 && (unsigned char)s[1] == 0xA5 &&
        ((unsigned char)s[2] == 0xA4 || (unsigned char)s[2] == 0xA5))
        return 3;
    return 0;
}

/* Length of the punctuation mark ending at s[len-1], 0 if none. */
static size_t punct_before(const char *s, size_t len)
{
    if (len >= 1 && strchr(".,!?;:'\"()[]<>*-_/", s[len - 1]) != NULL && s[len - 1] != '\0')
        return 1;
    if (len >= 3 && punct_at(s + len - 3, 3) == 3)
        return 3;
    return 0;
}

/* The word with its outer punctuation removed (may become empty). */
static struct slice strip_punct(struct slice w)
{
    size_t n;

    while (w.len > 0 && (n = punct_at(w.ptr, w.len)) > 0) {
        w.ptr += n;
        w.len -= n;
    }
    while (w.len > 0 && (n = punct_before(w.ptr, w.len)) > 0)
        w.len -= n;
    return w;
}

/* Next code point of s for comparison, skipping ZWJ/ZWNJ and nukta and folding ASCII
 * case and precomposed nukta letters; 0 at the end. *i advances. */
static unsigned next_folded(const char *s, size_t len, size_t *i)
{
    unsigned cp;
    int n;

    while (*i < len) {
        n = utf8_decode(s + *i, len - *i, &cp);
        if (n < 0) {
            (*i)++;
            return 0xFFFD;
        }
        *i += (size_t)n;
        if (cp == 0x200C || cp == 0x200D || cp == 0x093C)
            continue;
        if (cp >= 'a' && cp <= 'z')
            return cp - 'a' + 'A';
        /* U+0958..095F are consonant + nukta; compare as the plain consonant */
        if (cp >= 0x0958 && cp <= 0x095F) {
            static const unsigned base[8] = {0x0915, 0x0916, 0x0917, 0x091C,
                                             0x0921, 0x0922, 0x092B, 0x092F};
            return base[cp - 0x0958];
        }
        return cp;
    }
    return 0;
}

static int word_eq(struct slice w, const char *kw)
{
    size_t i = 0, j = 0, klen = strlen(kw);
    unsigned a, b;

    do {
        a = next_folded(w.ptr, w.len, &i);
        b = next_folded(kw, klen, &j);
        if (a != b)
            return 0;
    } while (a != 0);
    return 1;
}

static int word_in(struct slice w, const char *const *list)
{
    for (; *list != NULL; list++)
        if (word_eq(w, *list))
            return 1;
    return 0;
}

static enum smscmd_script detect_script(const char *s, size_t len)
{
    size_t i = 0, deva = 0, latin = 0;
    unsigned cp;
    int n;

    while (i < len) {
        n = utf8_decode(s + i, len - i, &cp);
        if (n < 0)
            break;
        i += (size_t)n;
        if ((cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
            (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7))
            latin++;
        else if (cp >= 0x0900 && cp <= 0x097F && !(cp >= 0x0964 && cp <= 0x096F))
            deva++; /* letters and signs, not the danda or Devanagari digits */
    }
    if (deva > 0 && deva >= latin)
        return SMSCMD_SCRIPT_DEVANAGARI;
    if (latin > 0)
        return SMSCMD_SCRIPT_LATIN;
    return SMSCMD_SCRIPT_NONE;
}

/* The text from the start of words[a] to the end of words[b] (inclusive, a <= b). */
static struct slice span(const struct slice *words, size_t a, size_t b)
{
    struct slice s;

    s.ptr = words[a].ptr;
    s.len = (size_t)(words[b].ptr + words[b].len - words[a].ptr);
    return s;
}

int smscmd_parse(const char *text, size_t len, struct smscmd *out)
{
    struct slice words[MAX_WORDS], w;
    struct smsenc_info info;
    size_t nw = 0, i = 0, start, first, last, k;
    int rc = -1, stop = 0;

    memset(out, 0, sizeof(*out));
    if (smsenc_analyse(text, len, &info) != 0)
        goto out;
    out->script = detect_script(text, len);

    /* split into words with outer punctuation removed; punctuation-only words vanish */
    while (i < len) {
        k = sep_len(text + i, len - i);
        if (k > 0) {
            i += k;
            continue;
        }
        start = i;
        while (i < len && sep_len(text + i, len - i) == 0)
            i++;
        w.ptr = text + start;
        w.len = i - start;
        w = strip_punct(w);
        if (w.len > 0 && word_in(w, kw_stop))
            stop = 1;
        if (w.len > 0) {
            if (nw == MAX_WORDS) {
                /* keep the last slot growing so the query still covers the whole text */
                words[MAX_WORDS - 1].len = (size_t)(w.ptr + w.len - words[MAX_WORDS - 1].ptr);
                continue;
            }
            words[nw++] = w;
        }
    }

    if (stop) {
        out->kind = SMSCMD_STOP;
        rc = 0;
        goto out;
    }

    first = 0;
    last = nw;
    while (first < last && word_in(words[first], kw_nrega))
        first++;
    while (last > first && word_in(words[last - 1], kw_nrega))
        last--;
    if (first == last) {
        out->kind = SMSCMD_EMPTY;
        rc = 0;
        goto out;
    }

    if (word_in(words[first], kw_help)) {
        out->kind = SMSCMD_HELP;
    } else if (last - first == 1 && word_in(words[first], kw_hindi)) {
        out->kind = SMSCMD_LANG_HI;
    } else if (last - first == 1 && word_in(words[first], kw_english)) {
        out->kind = SMSCMD_LANG_EN;
    } else if (word_in(words[first], kw_sub)) {
        out->kind = SMSCMD_SUB;
        first++;
        while (first < last && word_in(words[first], kw_nrega))
            first++;
        if (first < last)
            out->arg = span(words, first, last - 1);
    } else {
        out->kind = SMSCMD_QUERY;
        out->arg = span(words, first, last - 1);
    }
    /* the district is what the person wrote themselves; keywords are often copied from a
     * poster, so the argument's script decides when it has letters */
    if (out->arg.len > 0) {
        enum smscmd_script s = detect_script(out->arg.ptr, out->arg.len);
        if (s != SMSCMD_SCRIPT_NONE)
            out->script = s;
    }
    rc = 0;
out:
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

const char *smscmd_kind_name(enum smscmd_kind kind)
{
    switch (kind) {
    case SMSCMD_EMPTY:
        return "empty";
    case SMSCMD_HELP:
        return "help";
    case SMSCMD_LANG_HI:
        return "lang_hi";
    case SMSCMD_LANG_EN:
        return "lang_en";
    case SMSCMD_SUB:
        return "sub";
    case SMSCMD_STOP:
        return "stop";
    case SMSCMD_QUERY:
        return "query";
    }
    return "unknown";
}
