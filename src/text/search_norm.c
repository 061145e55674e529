/*
 * Normalisation, tokens and phonetic keys for the district search (see search_norm.h for
 * the functions, search.c for how the index and the matching use them). Every name of a
 * district (English, Hindi, each alias) and every query go through the same two steps:
 *
 * 1. Normalisation to "plain" text: the UTF-8 is decoded (an invalid byte is a separator);
 *    ASCII letters are lower-cased, common accented Latin letters (ā, ṇ, é, ...) lose their
 *    marks, and Devanagari is transliterated word by word to rough Latin: a consonant map
 *    (क k, छ chh, ड़ r, फ ph, फ़ f, श/ष sh, ...), matras and independent vowels (long and
 *    short alike: ा a, ी i, ै ai, ौ au), anusvara/chandrabindu as n (m before p/b/m),
 *    nukta applied to the consonant before it, and the inherent vowel 'a' written unless a
 *    virama or matra follows. Hindi drops that 'a' at the end of a word and between
 *    VC_CV (Ohala's rule, applied right to left: खरगोन -> khargon, टीकमगढ़ -> tikamgarh),
 *    so we do too, treating a final नगर as a word of its own (अशोकनगर -> ashoknagar);
 *    anusvara before ह is "ng" (सिंह -> singh). On request (drop_nukta) a letter with a
 *    nukta is read as its base letter (निवाड़ी: nivadi, not nivari): the index stores each
 *    Hindi name both ways (search.c), so that the many who type निवाडी find it exactly.
 *    Devanagari digits become ASCII digits. Everything else (punctuation, spaces,
 *    symbols, other scripts) separates tokens, and a letter/digit boundary separates
 *    tokens too. Tokens that are only the scheme's name (nrega,
 *    mgnrega, narega, manrega, ..., so also नरेगा and मनरेगा) or the word "district"
 *    (district, distt, jila, zila, जिला) are dropped.
 *
 * 2. A phonetic key from the plain letters (spaces removed), which makes spellings that
 *    sound alike equal: w->v, z->j, q->k, f->p, x->ks, c->k unless ch; ee->i, oo->u,
 *    ai/ei/ay->e, au/ou->o; y between vowels dropped; h after a consonant dropped (chh, ch
 *    -> c, sh -> s, bh -> b); doubled letters single; a final h after a vowel, then a
 *    final a or e, dropped. So "Niwari", "nivari" and "निवाड़ी" all give "nivari", and
 *    "Chhindwara", "chindwara", "chhindvara" and "छिंदवाड़ा" all give "cindvar".
 *
 * Both steps work in fixed buffers on the stack (an absurdly long Devanagari word is
 * transliterated in pieces of at most DEV_MAX items), so their work is linear in the
 * input, which the callers cap at SEARCH_QUERY_MAX bytes.
 */
#include "text/search_norm.h"

#include <stdint.h>
#include <string.h>

#include "core/utf8.h"
#include "text/search.h"

#define DEV_MAX 64 /* Devanagari items per word before an early flush */

/* ---- Small helpers ---- */

static int is_vowel_ch(char c)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* An output string with a fixed capacity: appends past it are dropped. */
struct sbuf {
    char *p;
    size_t len, cap; /* cap includes the NUL */
};

static void sb_putc(struct sbuf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
    }
}

static void sb_puts(struct sbuf *b, const char *s)
{
    while (*s)
        sb_putc(b, *s++);
}

/* A separator: one space, never leading, never doubled. */
static void sb_space(struct sbuf *b)
{
    if (b->len > 0 && b->p[b->len - 1] != ' ')
        sb_putc(b, ' ');
}

/* Accented Latin letters people may type (IAST, French keyboards): their base letter. */
static char latin_fold(uint32_t cp)
{
    static const struct {
        uint32_t cp;
        char c;
    } extra[] = {
        {0x101, 'a'},  {0x100, 'a'},  {0x113, 'e'},  {0x112, 'e'},  {0x12b, 'i'},  {0x12a, 'i'},
        {0x14d, 'o'},  {0x14c, 'o'},  {0x16b, 'u'},  {0x16a, 'u'},  {0x15b, 's'},  {0x15a, 's'},
        {0x1e63, 's'}, {0x1e62, 's'}, {0x1e43, 'm'}, {0x1e42, 'm'}, {0x1e45, 'n'}, {0x1e44, 'n'},
        {0x1e47, 'n'}, {0x1e46, 'n'}, {0x1e6d, 't'}, {0x1e6c, 't'}, {0x1e0d, 'd'}, {0x1e0c, 'd'},
        {0x1e5b, 'r'}, {0x1e5a, 'r'}, {0x1e25, 'h'}, {0x1e24, 'h'},
    };
    /* U+00C0..U+00FF, index cp - 0xC0; 0 = not a letter we fold. */
    static const char latin1[] = "aaaaaaaceeeeiiii"
                                 "dnooooo\0ouuuuy\0s"
                                 "aaaaaaaceeeeiiii"
                                 "dnooooo\0ouuuuy\0y";
    size_t i;

    if (cp >= 0xc0 && cp <= 0xff)
        return latin1[cp - 0xc0];
    for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        if (extra[i].cp == cp)
            return extra[i].c;
    }
    return 0;
}

/* ---- Devanagari transliteration ---- */

enum { PH_CONS, PH_SCHWA, PH_VOWEL, PH_NASAL, PH_VISARGA };
#define PH_DELETED 1 /* an inherent 'a' Hindi does not pronounce here */

struct ph {
    char text[4];
    unsigned char kind;
    unsigned char flags;
};

struct dev {
    struct ph items[DEV_MAX];
    size_t n;
    int drop_nukta; /* read ड़ as ड, ज़ as ज, ...: the spelling of people who omit it */
};

_Static_assert(sizeof(struct ph) == 6, "struct ph is packed small");

/* U+0915..U+0939. */
static const char *const dev_cons[] = {
    "k",  "kh", "g", "gh", "n", "ch", "chh", "j",  "jh", "n",  "t", "th", "d",
    "dh", "n",  "t", "th", "d", "dh", "n",   "n",  "p",  "ph", "b", "bh", "m",
    "y",  "r",  "r", "l",  "l", "l",  "v",   "sh", "sh", "s",  "h",
};
/* U+0958..U+095F: the precomposed nukta letters, with and without the nukta. */
static const char *const dev_nukta_cons[] = {"k", "kh", "g", "z", "r", "rh", "f", "y"};
static const char *const dev_nukta_base[] = {"k", "kh", "g", "j", "d", "dh", "ph", "y"};
/* U+0904..U+0914: independent vowels. */
static const char *const dev_vowels[] = {"a", "a", "a", "i",  "i", "u", "u", "ri", "li",
                                         "e", "e", "e", "ai", "o", "o", "o", "au"};
/* U+093E..U+094C: vowel signs. */
static const char *const dev_matras[] = {"a", "i", "i",  "u", "u", "ri", "ri", "e",
                                         "e", "e", "ai", "o", "o", "o",  "au"};

static int ph_is_vowel(const struct ph *p)
{
    return p->kind == PH_VOWEL || (p->kind == PH_SCHWA && !(p->flags & PH_DELETED));
}

static int is_devanagari(uint32_t cp)
{
    return cp >= 0x900 && cp <= 0x97f && !(cp >= 0x964 && cp <= 0x96f);
}

static void ph_set(struct ph *p, int kind, const char *text, int flags)
{
    size_t n = strlen(text);

    if (n >= sizeof(p->text))
        n = sizeof(p->text) - 1;
    memcpy(p->text, text, n);
    p->text[n] = '\0';
    p->kind = (unsigned char)kind;
    p->flags = (unsigned char)flags;
}

/* Mark the inherent vowels of the word it[0..n) that Hindi does not pronounce. */
static void dev_schwa_rules(struct ph *it, size_t n)
{
    size_t i;

    /* Word-final 'a' is silent, except after a conjunct (इन्द्र) or in a one-letter word. */
    if (n >= 2 && it[n - 1].kind == PH_SCHWA && !(n >= 3 && it[n - 3].kind == PH_CONS)) {
        int earlier_vowel = 0;
        for (i = 0; i + 2 < n; i++) {
            if (it[i].kind == PH_VOWEL || it[i].kind == PH_SCHWA)
                earlier_vowel = 1;
        }
        if (earlier_vowel)
            it[n - 1].flags |= PH_DELETED;
    }
    /* Medial 'a' in V C _ C V is silent; right to left so a deletion blocks its left
     * neighbour's (कमला -> kamla, not kmala). */
    for (i = n - 1; i-- > 1;) {
        size_t j;
        if (it[i].kind != PH_SCHWA || (it[i].flags & PH_DELETED) || it[i - 1].kind != PH_CONS)
            continue;
        if (i + 2 >= n || it[i + 1].kind != PH_CONS || !ph_is_vowel(&it[i + 2]))
            continue;
        if (i < 2)
            continue;
        j = i - 2;
        /* A nasal after the vowel counts with it, as anusvara or as a half letter. */
        if (it[j].kind == PH_NASAL || (it[j].kind == PH_CONS && (strcmp(it[j].text, "n") == 0 ||
                                                                 strcmp(it[j].text, "m") == 0))) {
            if (j == 0)
                continue;
            j--;
        }
        if (ph_is_vowel(&it[j]))
            it[i].flags |= PH_DELETED;
    }
}

/* 1 if it[0..6) is नगर ("nagar", all three with their inherent vowel). */
static int is_nagar(const struct ph *it)
{
    return it[0].kind == PH_CONS && strcmp(it[0].text, "n") == 0 && it[1].kind == PH_SCHWA &&
           it[2].kind == PH_CONS && strcmp(it[2].text, "g") == 0 && it[3].kind == PH_SCHWA &&
           it[4].kind == PH_CONS && strcmp(it[4].text, "r") == 0 && it[5].kind == PH_SCHWA;
}

/* Apply the inherent-vowel rules to the word in d and write it to out; d is emptied. */
static void dev_flush(struct dev *d, struct sbuf *out)
{
    struct ph *it = d->items;
    size_t n = d->n, k;

    if (n == 0)
        return;
    /* A name ending in नगर is a compound: the rules apply to each part (अशोकनगर is
     * ashok-nagar, not ashoka-ngar). */
    if (n >= 8 && is_nagar(it + n - 6)) {
        dev_schwa_rules(it, n - 6);
        dev_schwa_rules(it + n - 6, 6);
    } else {
        dev_schwa_rules(it, n);
    }
    for (k = 0; k < n; k++) {
        const struct ph *p = &it[k];
        const struct ph *next = k + 1 < n ? &it[k + 1] : NULL;
        switch (p->kind) {
        case PH_SCHWA:
            if (!(p->flags & PH_DELETED))
                sb_putc(out, 'a');
            break;
        case PH_NASAL:
            /* As the following consonant is said: सिंह singh, चंपा champa. */
            if (next != NULL && next->kind == PH_CONS &&
                (next->text[0] == 'p' || next->text[0] == 'b' || next->text[0] == 'm'))
                sb_putc(out, 'm');
            else if (next != NULL && next->kind == PH_CONS && strcmp(next->text, "h") == 0)
                sb_puts(out, "ng");
            else
                sb_putc(out, 'n');
            break;
        default:
            sb_puts(out, p->text);
            break;
        }
    }
    d->n = 0;
}

/* Feed one Devanagari code point (is_devanagari(cp)) to the word being built. */
static void dev_push(struct dev *d, struct sbuf *out, uint32_t cp)
{
    struct ph *last;

    if (d->n + 2 > DEV_MAX)
        dev_flush(d, out); /* absurdly long word: cut it, stay bounded */
    last = d->n > 0 ? &d->items[d->n - 1] : NULL;
    if (cp >= 0x915 && cp <= 0x939) {
        ph_set(&d->items[d->n++], PH_CONS, dev_cons[cp - 0x915], 0);
        ph_set(&d->items[d->n++], PH_SCHWA, "a", 0);
    } else if (cp >= 0x958 && cp <= 0x95f) {
        ph_set(&d->items[d->n++], PH_CONS,
               d->drop_nukta ? dev_nukta_base[cp - 0x958] : dev_nukta_cons[cp - 0x958], 0);
        ph_set(&d->items[d->n++], PH_SCHWA, "a", 0);
    } else if (cp == 0x93c) { /* nukta */
        if (d->n >= 2 && last->kind == PH_SCHWA && !d->drop_nukta) {
            struct ph *c = &d->items[d->n - 2];
            /* Only ड and ढ take a nukta in Hindi; द or ध with one is read the same. */
            if (strcmp(c->text, "d") == 0)
                ph_set(c, PH_CONS, "r", 0);
            else if (strcmp(c->text, "dh") == 0)
                ph_set(c, PH_CONS, "rh", 0);
            else if (strcmp(c->text, "j") == 0)
                ph_set(c, PH_CONS, "z", 0);
            else if (strcmp(c->text, "ph") == 0)
                ph_set(c, PH_CONS, "f", 0);
        }
    } else if ((cp >= 0x93e && cp <= 0x94c) || cp == 0x962 || cp == 0x963) {
        const char *v = (cp >= 0x93e && cp <= 0x94c) ? dev_matras[cp - 0x93e] : "li";
        if (last != NULL && last->kind == PH_SCHWA)
            ph_set(last, PH_VOWEL, v, 0);
        else
            ph_set(&d->items[d->n++], PH_VOWEL, v, 0);
    } else if (cp == 0x94d) { /* virama */
        if (last != NULL && last->kind == PH_SCHWA)
            d->n--;
    } else if (cp >= 0x904 && cp <= 0x914) {
        ph_set(&d->items[d->n++], PH_VOWEL, dev_vowels[cp - 0x904], 0);
    } else if (cp == 0x960 || cp == 0x961) {
        ph_set(&d->items[d->n++], PH_VOWEL, cp == 0x960 ? "ri" : "li", 0);
    } else if (cp == 0x901 || cp == 0x902) {
        ph_set(&d->items[d->n++], PH_NASAL, "n", 0);
    } else if (cp == 0x903) {
        ph_set(&d->items[d->n++], PH_VISARGA, "h", 0);
    }
    /* Anything else in the block (avagraha, Vedic signs, ...) is ignored. */
}

/* ---- Normalisation ---- */

size_t search_norm_plain(const char *s, size_t len, char *out, size_t cap, int drop_nukta)
{
    const unsigned char *u = (const unsigned char *)s;
    struct sbuf b = {out, 0, cap};
    struct dev d;
    size_t i = 0;
    int last_class = 0; /* 1 Latin letter, 2 digit, 3 Devanagari letter */

    d.n = 0;
    d.drop_nukta = drop_nukta;
    out[0] = '\0';
    while (i < len) {
        uint32_t cp;
        int n = utf8_decode((const char *)u + i, len - i, &cp);
        char c = 0;
        int cls = 0;

        if (n < 0) {
            n = 1;
            cp = 0xfffd;
        }
        i += (size_t)n;
        if (cp == 0x200c || cp == 0x200d) /* ZWNJ/ZWJ only shape conjuncts */
            continue;
        if (is_devanagari(cp)) {
            if (last_class != 0 && last_class != 3)
                sb_space(&b);
            dev_push(&d, &b, cp);
            last_class = 3;
            continue;
        }
        dev_flush(&d, &b);
        if (cp >= 'A' && cp <= 'Z') {
            c = (char)(cp - 'A' + 'a');
            cls = 1;
        } else if (cp >= 'a' && cp <= 'z') {
            c = (char)cp;
            cls = 1;
        } else if (cp >= '0' && cp <= '9') {
            c = (char)cp;
            cls = 2;
        } else if (cp >= 0x966 && cp <= 0x96f) {
            c = (char)('0' + (cp - 0x966));
            cls = 2;
        } else if ((c = latin_fold(cp)) != 0) {
            cls = 1;
        } else if (cp == '\'' || cp == 0x2019) {
            continue; /* "Ma'am" stays one word */
        }
        if (cls == 0) {
            sb_space(&b);
        } else {
            if (last_class != 0 && last_class != cls)
                sb_space(&b);
            sb_putc(&b, c);
        }
        last_class = cls;
    }
    dev_flush(&d, &b);
    if (b.len > 0 && out[b.len - 1] == ' ')
        out[--b.len] = '\0';
    return b.len;
}

size_t search_norm_key(const char *plain, size_t n, char *key, size_t cap)
{
    char a[2 * SEARCH_KEY_MAX + 2], b[2 * SEARCH_KEY_MAX + 2];
    size_t na = 0, nb = 0, i;

    /* 1: letters only, with the consonant mergers. */
    for (i = 0; i < n && na + 2 < sizeof(a); i++) {
        char c = plain[i];
        if (c < 'a' || c > 'z')
            continue;
        switch (c) {
        case 'w':
            c = 'v';
            break;
        case 'z':
            c = 'j';
            break;
        case 'q':
            c = 'k';
            break;
        case 'f':
            c = 'p';
            break;
        case 'c':
            if (!(i + 1 < n && plain[i + 1] == 'h'))
                c = 'k';
            break;
        case 'x':
            a[na++] = 'k';
            c = 's';
            break;
        default:
            break;
        }
        a[na++] = c;
    }
    /* 2: vowel digraphs; y between vowels; h after a consonant. */
    for (i = 0; i < na && nb + 1 < sizeof(b); i++) {
        char c = a[i], next = i + 1 < na ? a[i + 1] : '\0';
        if (c == 'e' && next == 'e') {
            b[nb++] = 'i';
            i++;
        } else if (c == 'o' && next == 'o') {
            b[nb++] = 'u';
            i++;
        } else if ((c == 'a' || c == 'e') && next == 'i') {
            b[nb++] = 'e';
            i++;
        } else if (c == 'a' && next == 'y' && !(i + 2 < na && is_vowel_ch(a[i + 2]))) {
            b[nb++] = 'e';
            i++;
        } else if ((c == 'a' || c == 'o') && next == 'u') {
            b[nb++] = 'o';
            i++;
        } else if (c == 'y' && nb > 0 && is_vowel_ch(b[nb - 1]) && is_vowel_ch(next)) {
            continue;
        } else if (c == 'h' && nb > 0 && !is_vowel_ch(b[nb - 1])) {
            continue;
        } else {
            b[nb++] = c;
        }
    }
    /* 3: doubled letters single; then a final a/e dropped. */
    na = 0;
    for (i = 0; i < nb; i++) {
        if (na > 0 && a[na - 1] == b[i])
            continue;
        a[na++] = b[i];
    }
    if (na > 2 && a[na - 1] == 'h' && is_vowel_ch(a[na - 2]))
        na--; /* Etah = एटा, Damoh = दमोह said "damo" */
    if (na > 2 && (a[na - 1] == 'a' || a[na - 1] == 'e'))
        na--;
    if (na > cap - 1)
        na = cap - 1;
    memcpy(key, a, na);
    key[na] = '\0';
    return na;
}

/* ---- Tokens ---- */

size_t search_norm_join(const char *plain, const struct search_token *t, size_t from, size_t to,
                        char *out, size_t cap)
{
    size_t n = 0, i, j;

    for (i = from; i < to; i++) {
        if (t[i].digits)
            continue;
        for (j = 0; j < t[i].len && n + 1 < cap; j++)
            out[n++] = plain[t[i].off + j];
    }
    out[n] = '\0';
    return n;
}

int search_norm_is_stop_word(const char *w, size_t n)
{
    static const char *const words[] = {
        "nrega", "mgnrega", "mnrega", "narega",  "manrega", "manarega", "mgnarega",
        "nregs", "mgnregs", "mgnrea", "mahatma", "gandhi",  "district", "dist",
        "distt", "jila",    "zila",   "zilla",   "jilla",   "jile",     "zile",
    };
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strlen(words[i]) == n && memcmp(words[i], w, n) == 0)
            return 1;
    }
    return 0;
}

size_t search_norm_tokenise(const char *plain, size_t len, struct search_token *t)
{
    size_t i = 0, n = 0;

    while (i < len && n < SEARCH_MAX_TOKENS) {
        size_t start = i;
        while (i < len && plain[i] != ' ')
            i++;
        if (i > start && !search_norm_is_stop_word(plain + start, i - start)) {
            t[n].off = start;
            t[n].len = i - start;
            t[n].digits = plain[start] >= '0' && plain[start] <= '9';
            n++;
        }
        i++;
    }
    return n;
}
