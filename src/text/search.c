/*
 * District search; see search.h for the interface.
 *
 * Every name of a district (English, Hindi, each alias) and every query go through the
 * same two steps, described at the top of search_norm.c: normalisation to "plain" text
 * (lower-case Latin letters and digits in space-separated tokens, Devanagari
 * transliterated to rough Latin, the scheme's name and the word "district" dropped as
 * tokens), then a phonetic key from the plain letters, which makes spellings that sound
 * alike equal: "Niwari", "nivari" and "निवाड़ी" all give "nivari". Each Hindi name is
 * indexed twice, as written and without its nuktas (निवाड़ी: nivari and nivadi), so that
 * the many who type निवाडी find it exactly. This file holds the index and the matching:
 *
 * First, up to three trailing or leading words that name a state, in either script,
 * whole or by its first word(s) or a common short form ("Bilaspur Himachal", "MP Niwari",
 * "हमीरपुर उत्तर प्रदेश", "Hamirpur, H.P.") are taken as a hint and removed; districts of
 * other states then score x 0.9, and if the hinted search finds nothing exact the whole
 * query is searched too ("West Nimar" is not in West Bengal). What remains, if it is a
 * single number, is a district code and matches exactly ("1752", "MP 1752"). Otherwise
 * the query's words, joined, are compared with every key of every district:
 *   - plain text equal                               score 1.00, exact
 *   - phonetic key equal                             score 0.95, exact
 *   - one word of a several-word name, equal         score 0.80 ("nimar": East and West
 *     Nimar; generic words such as nagar, east, uttar are not indexed alone)
 *   - query key a prefix of the name's (>= 3 letters) 0.50 + 0.35 * share of the name
 *   - restricted Damerau-Levenshtein distance d <= k  0.90 * (1 - d / longer length)
 *     where k is 0 for keys of up to 3 letters, 1 up to 5, 2 up to 8, else 3.
 * The distance is only computed for keys whose length differs by at most k and whose
 * letter sets differ in at most 2k letters (each edit changes at most two), with Hyyrö's
 * bit-parallel algorithm (one 64-bit word per key). Each district keeps its best key.
 *
 * If nothing matched exactly and the query had several words, each single word and each
 * pair of neighbouring words is tried too, scoring x 0.85 for a word and x 0.9 for a
 * pair, without prefix matches, and without edits in pairs or in words of up to 4
 * letters (those are looked up in a hash table of the keys): "Niwari ka data" still
 * finds Niwari, but "job card" does not find Harda. Scores below 0.6 are dropped. The
 * best SEARCH_MAX_RESULTS are kept in a fixed array on the stack: a lookup allocates
 * nothing, and its work is bounded by the query cap (SEARCH_QUERY_MAX bytes, 16 words,
 * word tries over the first 8) times the number of keys.
 *
 * The index keeps its keys in buckets by phonetic key length, so a lookup visits only
 * the lengths within k of the query's (and the longer ones when it may be a prefix).
 * Per key a small "hot" record (hashes of plain text and key, letter mask, first bytes,
 * length) is scanned and the text is read only to confirm a hit. With all ~760 districts
 * of India (~1,200 keys) a lookup takes a few microseconds (tests/unit/test_search.c
 * prints the figure).
 */
#include "text/search.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "text/search_norm.h"

#define MAX_WINDOW_TOKENS 8
#define MAX_STATE_KEYS 512
#define MIN_SCORE 0.5999  /* the weakest full-query match: 3 edits in 9 letters */
#define PARTIAL_SCORE 0.8 /* "nimar" for "East Nimar": below exact, above most typos */

struct key_hot {
    uint32_t hplain;   /* FNV-1a of the plain text */
    uint32_t hkey;     /* FNV-1a of the phonetic key */
    uint32_t mask;     /* letters a..z present in the key */
    uint32_t district; /* index into districts[] */
    char head[4];      /* first bytes of the key, NUL-padded */
    uint8_t len;       /* key length */
    uint8_t partial;   /* one word of a several-word name: equal matches only */
};

struct key_text {
    char plain[SEARCH_KEY_MAX + 1];
    char key[SEARCH_KEY_MAX + 1];
};

struct district_ent {
    int state_code;
    int district_code;
};

struct state_key {
    int state_code;
    uint8_t len;
    char key[SEARCH_KEY_MAX + 1];
};

/* The keys of one length: a lookup visits only the lengths that can match. */
struct bucket {
    struct key_hot *hot;
    struct key_text *text;
    size_t n, cap;
};

/* A slot of the hash table of phonetic keys (open addressing, linear probing): where
 * a key sits in by_len[]. Lets the word-by-word tries of a long query find equal keys
 * without a scan. */
struct slot {
    uint32_t hkey;
    uint32_t pos; /* index in by_len[len] */
    uint8_t len;  /* 0 = empty */
};

struct search_index {
    struct district_ent *districts;
    size_t ndistricts, districts_cap;
    struct bucket by_len[SEARCH_KEY_MAX + 1];
    size_t nkeys;
    struct slot *slots;
    size_t slots_cap; /* a power of two, at least twice nkeys */
    struct state_key *states;
    size_t nstates;
};

/*
 * A memo: answers remembered by query text for one index, for one thread (see search.h).
 * Direct-mapped by a hash of the query as given; a collision replaces the slot.
 */
#define MEMO_SLOTS 256
#define MEMO_QUERY 48

struct memo_slot {
    uint32_t hash;
    unsigned char len; /* query length + 1; 0 = empty */
    unsigned char n;   /* results kept (the first SEARCH_MAX_RESULTS) */
    char query[MEMO_QUERY];
    struct search_result r[SEARCH_MAX_RESULTS];
};

struct search_memo {
    const struct search_index *idx; /* the index the answers are from, */
    size_t nkeys, ndistricts;       /* with this many keys and districts */
    struct memo_slot slot[MEMO_SLOTS];
};

/* ---- Small helpers ---- */

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t letter_mask(const char *s, size_t n)
{
    uint32_t m = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] >= 'a' && s[i] <= 'z')
            m |= 1u << (s[i] - 'a');
    }
    return m;
}

static int popcount32(uint32_t v)
{
    return __builtin_popcount(v);
}

/* ---- The index ---- */

struct search_index *search_index_new(void)
{
    return xcalloc(1, sizeof(struct search_index));
}

size_t search_index_count(const struct search_index *idx)
{
    return idx ? idx->ndistricts : 0;
}

void search_index_free(struct search_index *idx)
{
    size_t i;

    if (idx == NULL)
        return;
    free(idx->districts);
    for (i = 0; i <= SEARCH_KEY_MAX; i++) {
        free(idx->by_len[i].hot);
        free(idx->by_len[i].text);
    }
    free(idx->states);
    free(idx->slots);
    free(idx);
}

/* The keys of the district being added, gathered first so that duplicates (an alias
 * equal to the English name) are dropped. */
#define MAX_PENDING 64
struct pending {
    struct key_text t[MAX_PENDING];
    uint8_t partial[MAX_PENDING];
    size_t n;
};

/* Note the key of letters[0..n) unless it is empty or already noted. */
static void put_key(struct pending *pk, const char *letters, size_t n, int partial)
{
    char joined[SEARCH_KEY_MAX + 1], key[SEARCH_KEY_MAX + 1];
    size_t nj = 0, nk, i;

    for (i = 0; i < n && nj < SEARCH_KEY_MAX; i++) {
        if (letters[i] >= 'a' && letters[i] <= 'z')
            joined[nj++] = letters[i];
    }
    joined[nj] = '\0';
    nk = search_norm_key(joined, nj, key, sizeof(key));
    if (nj == 0 || nk == 0 || pk->n == MAX_PENDING)
        return;
    for (i = 0; i < pk->n; i++) {
        if (strcmp(pk->t[i].plain, joined) == 0)
            return;
    }
    memcpy(pk->t[pk->n].plain, joined, nj + 1);
    memcpy(pk->t[pk->n].key, key, nk + 1);
    pk->partial[pk->n] = (uint8_t)partial;
    pk->n++;
}

static void slot_insert(struct slot *slots, size_t cap, uint32_t hkey, uint8_t len, uint32_t pos)
{
    size_t i = hkey & (cap - 1);

    while (slots[i].len != 0)
        i = (i + 1) & (cap - 1);
    slots[i].hkey = hkey;
    slots[i].len = len;
    slots[i].pos = pos;
}

/* Make room in the hash table for one more key, keeping it at most half full. */
static void slots_reserve(struct search_index *idx)
{
    size_t cap, len, k;
    struct slot *slots;

    if (2 * (idx->nkeys + 1) <= idx->slots_cap)
        return;
    cap = idx->slots_cap ? 2 * idx->slots_cap : 1024;
    slots = xcalloc(cap, sizeof(*slots));
    for (len = 1; len <= SEARCH_KEY_MAX; len++) {
        const struct bucket *b = &idx->by_len[len];
        for (k = 0; k < b->n; k++)
            slot_insert(slots, cap, b->hot[k].hkey, (uint8_t)len, (uint32_t)k);
    }
    free(idx->slots);
    idx->slots = slots;
    idx->slots_cap = cap;
}

/* Move the noted keys of district `di` into the index. */
static void store_keys(struct search_index *idx, uint32_t di, const struct pending *pk)
{
    size_t i;

    for (i = 0; i < pk->n; i++) {
        const struct key_text *t = &pk->t[i];
        size_t nk = strlen(t->key);
        struct bucket *b = &idx->by_len[nk];
        struct key_hot *h;

        if (b->n == b->cap) {
            b->cap = b->cap ? 2 * b->cap : 32;
            b->hot = xrealloc(b->hot, b->cap * sizeof(*b->hot));
            b->text = xrealloc(b->text, b->cap * sizeof(*b->text));
        }
        b->text[b->n] = *t;
        h = &b->hot[b->n];
        memset(h, 0, sizeof(*h));
        h->hplain = fnv1a(t->plain, strlen(t->plain));
        h->hkey = fnv1a(t->key, nk);
        h->mask = letter_mask(t->key, nk);
        h->district = di;
        memcpy(h->head, t->key, nk < sizeof(h->head) ? nk : sizeof(h->head));
        h->len = (uint8_t)nk;
        h->partial = pk->partial[i];
        slots_reserve(idx);
        slot_insert(idx->slots, idx->slots_cap, h->hkey, h->len, (uint32_t)b->n);
        b->n++;
        idx->nkeys++;
    }
}

/* Words of a several-word name that say nothing on their own. */
static int is_generic_word(const char *w, size_t n)
{
    static const char *const words[] = {
        "east",  "west",    "north", "south", "central", "nagar", "purvi", "pashchim", "purba",
        "uttar", "dakshin", "kalan", "khurd", "city",    "rural", "urban", "and",
    };
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strlen(words[i]) == n && memcmp(words[i], w, n) == 0)
            return 1;
    }
    return 0;
}

/* The keys of one name: the whole name (words joined) or, with `words`, each word of a
 * several-word name that has 4 letters or more and is not generic ("Nimar" of "East
 * Nimar"), as partial keys. */
static void add_name(struct pending *pk, const char *name, int words)
{
    char plain[SEARCH_PLAIN_MAX + 1];
    size_t np, i = 0;

    if (!words) {
        /* The name as written and as written by someone who leaves out the nukta
         * (duplicates are dropped by put_key). */
        np = search_norm_plain(name, strnlen(name, SEARCH_QUERY_MAX), plain, sizeof(plain), 0);
        put_key(pk, plain, np, 0);
        np = search_norm_plain(name, strnlen(name, SEARCH_QUERY_MAX), plain, sizeof(plain), 1);
        put_key(pk, plain, np, 0);
        return;
    }
    np = search_norm_plain(name, strnlen(name, SEARCH_QUERY_MAX), plain, sizeof(plain), 0);
    if (memchr(plain, ' ', np) == NULL)
        return;
    while (i < np) {
        size_t start = i;
        while (i < np && plain[i] != ' ')
            i++;
        if (i - start >= 4 && plain[start] >= 'a' && plain[start] <= 'z' &&
            !is_generic_word(plain + start, i - start) &&
            !search_norm_is_stop_word(plain + start, i - start))
            put_key(pk, plain + start, i - start, 1);
        i++;
    }
}

static void add_state(struct search_index *idx, int state_code, const char *name)
{
    char plain[SEARCH_PLAIN_MAX + 1], key[SEARCH_KEY_MAX + 1];
    size_t np, nk, i;

    if (name == NULL)
        return;
    np = search_norm_plain(name, strnlen(name, SEARCH_QUERY_MAX), plain, sizeof(plain), 0);
    nk = search_norm_key(plain, np, key, sizeof(key));
    if (nk < 2)
        return;
    for (i = 0; i < idx->nstates; i++) {
        if (idx->states[i].state_code == state_code && strcmp(idx->states[i].key, key) == 0)
            return;
    }
    if (idx->nstates >= MAX_STATE_KEYS)
        return;
    if (idx->states == NULL)
        idx->states = xcalloc(MAX_STATE_KEYS, sizeof(*idx->states));
    idx->states[idx->nstates].state_code = state_code;
    idx->states[idx->nstates].len = (uint8_t)nk;
    memcpy(idx->states[idx->nstates].key, key, nk + 1);
    idx->nstates++;
}

int search_index_add(struct search_index *idx, const struct search_district *d)
{
    int rc = -1, words;
    size_t i;
    uint32_t di;
    struct pending *pk = NULL;

    if (idx == NULL || d == NULL || d->name_en == NULL)
        goto out;
    if (idx->ndistricts >= SEARCH_MAX_DISTRICTS)
        goto out;
    if (idx->ndistricts == idx->districts_cap) {
        idx->districts_cap = idx->districts_cap ? 2 * idx->districts_cap : 64;
        idx->districts = xrealloc(idx->districts, idx->districts_cap * sizeof(*idx->districts));
    }
    di = (uint32_t)idx->ndistricts++;
    idx->districts[di].state_code = d->state_code;
    idx->districts[di].district_code = d->district_code;
    pk = xmalloc(sizeof(*pk));
    pk->n = 0;
    for (words = 0; words <= 1; words++) {
        add_name(pk, d->name_en, words);
        if (d->name_hi != NULL)
            add_name(pk, d->name_hi, words);
        for (i = 0; i < SEARCH_MAX_ALIASES && d->aliases != NULL && d->aliases[i] != NULL; i++)
            add_name(pk, d->aliases[i], words);
    }
    store_keys(idx, di, pk);
    add_state(idx, d->state_code, d->state_en);
    add_state(idx, d->state_code, d->state_hi);
    rc = 0;
out:
    free(pk);
    return rc;
}

/* ---- Matching ---- */

_Static_assert(SEARCH_KEY_MAX <= 64, "osa_bitpar() holds a key in one 64-bit word");

/* Restricted Damerau-Levenshtein (optimal string alignment) distance between the
 * pattern whose match vectors are peq (bit i of peq[c] set when pattern[i] == 'a' + c;
 * length m, 1..64) and the text b[0..n) of letters a..z. Hyyrö's bit-parallel form of
 * the dynamic programme: one column per text letter in a few word operations, so a
 * comparison costs about as much as reading the key. */
static int osa_bitpar(const uint64_t *peq, size_t m, const char *b, size_t n)
{
    uint64_t pv = ~(uint64_t)0, mv = 0, d0_prev = 0, pm_prev = 0;
    uint64_t top = (uint64_t)1 << (m - 1);
    int score = (int)m;
    size_t j;

    for (j = 0; j < n; j++) {
        uint64_t pm = peq[b[j] - 'a'];
        uint64_t tr = (((~d0_prev) & pm) << 1) & pm_prev;
        uint64_t d0 = (((pm & pv) + pv) ^ pv) | pm | mv | tr;
        uint64_t hp = mv | ~(d0 | pv);
        uint64_t hn = d0 & pv;

        if (hp & top)
            score++;
        else if (hn & top)
            score--;
        hp = (hp << 1) | 1;
        hn <<= 1;
        pv = hn | ~(d0 | hp);
        mv = hp & d0;
        d0_prev = d0;
        pm_prev = pm;
    }
    return score;
}

static int max_edits(size_t len)
{
    if (len <= 3)
        return 0;
    if (len <= 5)
        return 1;
    if (len <= 8)
        return 2;
    return 3;
}

struct cand {
    uint32_t district;
    double score;
    int exact;
};

struct cands {
    struct cand c[SEARCH_MAX_RESULTS];
    size_t n;
};

/* Keep the SEARCH_MAX_RESULTS best, one entry per district. */
static void cands_offer(struct cands *cs, uint32_t district, double score, int exact)
{
    size_t i, worst = 0;

    if (score < MIN_SCORE)
        return;
    for (i = 0; i < cs->n; i++) {
        if (cs->c[i].district == district) {
            if (score > cs->c[i].score) {
                cs->c[i].score = score;
                cs->c[i].exact |= exact;
            }
            return;
        }
    }
    if (cs->n < SEARCH_MAX_RESULTS) {
        cs->c[cs->n].district = district;
        cs->c[cs->n].score = score;
        cs->c[cs->n].exact = exact;
        cs->n++;
        return;
    }
    for (i = 1; i < cs->n; i++) {
        if (cs->c[i].score < cs->c[worst].score)
            worst = i;
    }
    if (score > cs->c[worst].score) {
        cs->c[worst].district = district;
        cs->c[worst].score = score;
        cs->c[worst].exact = exact;
    }
}

struct query {
    const char *plain;
    size_t plen;
    uint32_t hplain;
    char key[SEARCH_KEY_MAX + 1];
    size_t klen;
    uint32_t hkey;
    uint32_t mask;
    uint64_t peq[26]; /* match vectors of key for osa_bitpar() */
    int maxd;
    int allow_prefix;
    double factor;
    int hint_state; /* or -1 */
    int have_hint;
};

static int query_prepare(struct query *q, const char *plain, size_t plen)
{
    size_t i;

    q->plain = plain;
    q->plen = plen;
    q->hplain = fnv1a(plain, plen);
    q->klen = search_norm_key(plain, plen, q->key, sizeof(q->key));
    q->hkey = fnv1a(q->key, q->klen);
    q->mask = letter_mask(q->key, q->klen);
    q->maxd = max_edits(q->klen);
    memset(q->peq, 0, sizeof(q->peq));
    for (i = 0; i < q->klen; i++)
        q->peq[q->key[i] - 'a'] |= (uint64_t)1 << i;
    return q->klen > 0;
}

/* Score one key against the query; 0 if it does not match. */
static double score_key(const struct key_hot *h, const struct key_text *t, const struct query *q,
                        int *exact)
{
    int d, diff;

    *exact = 0;
    if (h->partial) {
        if ((h->hplain == q->hplain && strcmp(t->plain, q->plain) == 0) ||
            (h->hkey == q->hkey && h->len == q->klen && memcmp(t->key, q->key, q->klen) == 0))
            return PARTIAL_SCORE;
        return 0.0;
    }
    if (h->hplain == q->hplain && strcmp(t->plain, q->plain) == 0) {
        *exact = 1;
        return 1.0;
    }
    if (h->hkey == q->hkey && h->len == q->klen && memcmp(t->key, q->key, q->klen) == 0) {
        *exact = 1;
        return 0.95;
    }
    if (q->allow_prefix && q->klen >= 3 && h->len > q->klen &&
        memcmp(h->head, q->key, q->klen < 4 ? q->klen : 4) == 0) {
        if (memcmp(t->key, q->key, q->klen) == 0)
            return 0.5 + 0.35 * (double)q->klen / (double)h->len;
    }
    if (q->maxd == 0)
        return 0.0;
    diff = (int)h->len - (int)q->klen;
    if (diff > q->maxd || -diff > q->maxd)
        return 0.0;
    if (popcount32(h->mask ^ q->mask) > 2 * q->maxd)
        return 0.0;
    d = osa_bitpar(q->peq, q->klen, t->key, h->len);
    if (d > q->maxd)
        return 0.0;
    return 0.9 * (1.0 - (double)d / (double)(h->len > q->klen ? h->len : q->klen));
}

/* One pass over the keys whose length can match; offers each match to cs (which keeps
 * a district's best). Returns 1 if some district matched exactly. */
static int scan(const struct search_index *idx, const struct query *q, struct cands *cs)
{
    size_t len, lo, hi, k;
    int any_exact = 0;

    lo = q->klen > (size_t)q->maxd ? q->klen - (size_t)q->maxd : 1;
    hi = q->allow_prefix ? SEARCH_KEY_MAX : q->klen + (size_t)q->maxd;
    if (hi > SEARCH_KEY_MAX)
        hi = SEARCH_KEY_MAX;
    for (len = lo; len <= hi; len++) {
        const struct bucket *b = &idx->by_len[len];
        for (k = 0; k < b->n; k++) {
            const struct key_hot *h = &b->hot[k];
            int exact;
            double sc = score_key(h, &b->text[k], q, &exact), f = q->factor;
            if (sc <= 0.0)
                continue;
            if (q->have_hint && idx->districts[h->district].state_code != q->hint_state)
                f *= 0.9;
            cands_offer(cs, h->district, sc * f, exact);
            any_exact |= exact;
        }
    }
    return any_exact;
}

/* Like scan(), but only for keys equal to the query's (plain text, phonetic key or one
 * word of a longer name), found through the hash table. */
static int scan_equal(const struct search_index *idx, const struct query *q, struct cands *cs)
{
    struct query eq = *q;
    size_t i;
    int any_exact = 0;

    if (idx->slots_cap == 0)
        return 0;
    eq.maxd = 0;
    eq.allow_prefix = 0;
    for (i = q->hkey & (idx->slots_cap - 1); idx->slots[i].len != 0;
         i = (i + 1) & (idx->slots_cap - 1)) {
        const struct slot *sl = &idx->slots[i];
        const struct bucket *b;
        const struct key_hot *h;
        double sc, f = q->factor;
        int exact;

        if (sl->hkey != q->hkey || sl->len != q->klen)
            continue;
        b = &idx->by_len[sl->len];
        h = &b->hot[sl->pos];
        sc = score_key(h, &b->text[sl->pos], &eq, &exact);
        if (sc <= 0.0)
            continue;
        if (q->have_hint && idx->districts[h->district].state_code != q->hint_state)
            f *= 0.9;
        cands_offer(cs, h->district, sc * f, exact);
        any_exact |= exact;
    }
    return any_exact;
}

/* Known short forms of state names, matched against the state's English key. */
static const struct {
    const char *abbr;
    const char *name;
} state_abbr[] = {
    {"mp", "madhya pradesh"}, {"up", "uttar pradesh"}, {"hp", "himachal pradesh"},
    {"cg", "chhattisgarh"},   {"rj", "rajasthan"},     {"mh", "maharashtra"},
    {"uk", "uttarakhand"},    {"jh", "jharkhand"},     {"br", "bihar"},
};

/* The state whose name the tokens [from, to) spell (whole, or the first word(s) of it
 * with at least 4 letters: "himachal"), or -1 with *found = 0. */
static int match_state(const struct search_index *idx, const char *plain,
                       const struct search_token *t, size_t from, size_t to, int *found)
{
    char joined[SEARCH_KEY_MAX + 1], key[SEARCH_KEY_MAX + 1];
    size_t nj, nk, i, a;

    *found = 0;
    nj = search_norm_join(plain, t, from, to, joined, sizeof(joined));
    for (i = from; i < to; i++) {
        if (t[i].digits)
            return -1;
    }
    for (a = 0; a < sizeof(state_abbr) / sizeof(state_abbr[0]); a++) {
        if (strcmp(joined, state_abbr[a].abbr) == 0) {
            nj = strlen(state_abbr[a].name);
            memcpy(joined, state_abbr[a].name, nj + 1);
            break;
        }
    }
    nk = search_norm_key(joined, nj, key, sizeof(key));
    if (nk < 2)
        return -1;
    for (i = 0; i < idx->nstates; i++) {
        const struct state_key *s = &idx->states[i];
        if ((s->len == nk || (nk >= 4 && s->len > nk)) && memcmp(s->key, key, nk) == 0) {
            *found = 1;
            return s->state_code;
        }
    }
    return -1;
}

static int cand_cmp(const void *pa, const void *pb, const struct search_index *idx)
{
    const struct cand *a = pa, *b = pb;
    const struct district_ent *da = &idx->districts[a->district];
    const struct district_ent *db = &idx->districts[b->district];

    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (da->district_code != db->district_code)
        return da->district_code < db->district_code ? -1 : 1;
    if (da->state_code != db->state_code)
        return da->state_code < db->state_code ? -1 : 1;
    return 0;
}

/* Insertion sort: at most SEARCH_MAX_RESULTS entries, and qsort has no context pointer. */
static void cands_sort(struct cands *cs, const struct search_index *idx)
{
    size_t i, j;

    for (i = 1; i < cs->n; i++) {
        struct cand x = cs->c[i];
        for (j = i; j > 0 && cand_cmp(&cs->c[j - 1], &x, idx) > 0; j--)
            cs->c[j] = cs->c[j - 1];
        cs->c[j] = x;
    }
}

static void find_code(const struct search_index *idx, const char *digits, size_t len,
                      struct cands *cs)
{
    long code = 0;
    size_t i;

    if (len > 9)
        return;
    for (i = 0; i < len; i++)
        code = code * 10 + (digits[i] - '0');
    for (i = 0; i < idx->ndistricts; i++) {
        if (idx->districts[i].district_code == code)
            cands_offer(cs, (uint32_t)i, 1.0, 1);
    }
}

/* Search the word tokens [from, to): all of them joined, then (if nothing matched
 * exactly) single words and neighbouring pairs. Returns 1 if some district matched
 * exactly. */
static int find_words(const struct search_index *idx, const char *plain,
                      const struct search_token *t, size_t from, size_t to, int have_hint,
                      int hint_state, struct cands *cs)
{
    char joined[SEARCH_KEY_MAX + 1];
    struct query q;
    size_t nj, w, i;
    int any_exact = 0;

    memset(&q, 0, sizeof(q));
    q.have_hint = have_hint;
    q.hint_state = hint_state;
    q.factor = 1.0;
    q.allow_prefix = 1;
    nj = search_norm_join(plain, t, from, to, joined, sizeof(joined));
    if (query_prepare(&q, joined, nj) && scan(idx, &q, cs))
        return 1;
    if (to - from < 2)
        return 0;
    if (to - from > MAX_WINDOW_TOKENS)
        to = from + MAX_WINDOW_TOKENS;
    q.allow_prefix = 0;
    for (w = 1; w <= 2; w++) {
        for (i = from; i + w <= to; i++) {
            char part[SEARCH_KEY_MAX + 1];
            size_t np;
            if (w == to - from)
                continue; /* that is the whole query, done above */
            np = search_norm_join(plain, t, i, i + w, part, sizeof(part));
            if (np < 3)
                continue;
            if (!query_prepare(&q, part, np))
                continue;
            /* Two words that name a district say more than one ("ashok nagar" is not
             * Nayagarh, whose key is "nagar" too). */
            q.factor = w == 2 ? 0.9 : 0.85;
            /* A short word among others is more likely chatter ("job card") than a
             * misspelt district, and so is a misspelt pair: they must match without
             * edits, which the hash table answers at once. */
            if (w == 1 && q.klen > 4)
                any_exact |= scan(idx, &q, cs);
            else
                any_exact |= scan_equal(idx, &q, cs);
        }
    }
    return any_exact;
}

int search_find(const struct search_index *idx, const char *query, struct search_result *out,
                size_t max, size_t *n)
{
    char plain[SEARCH_PLAIN_MAX + 1];
    struct search_token t[SEARCH_MAX_TOKENS];
    struct cands cs;
    size_t np, nt, i, nwords = 0, from, to;
    int rc = -1, hint = -1, found = 0;

    if (n != NULL)
        *n = 0;
    if (idx == NULL || query == NULL || out == NULL || n == NULL)
        goto out;
    cs.n = 0;
    np = search_norm_plain(query, strnlen(query, SEARCH_QUERY_MAX), plain, sizeof(plain), 0);
    nt = search_norm_tokenise(plain, np, t);
    if (nt == 0) {
        rc = 0;
        goto out;
    }
    from = 0;
    to = nt;
    /* A state named at the end ("Bilaspur Himachal Pradesh") or start ("MP Niwari"),
     * leaving at least one token. */
    for (i = 3; i >= 1 && !found; i--) {
        if (i < nt)
            hint = match_state(idx, plain, t, nt - i, nt, &found);
        if (found)
            to = nt - i;
    }
    for (i = 3; i >= 1 && !found; i--) {
        if (i < nt)
            hint = match_state(idx, plain, t, 0, i, &found);
        if (found)
            from = i;
    }
    for (i = from; i < to; i++)
        nwords += !t[i].digits;
    if (nwords == 0) {
        /* One number is a district code ("1752", "MP 1752"); several are not. */
        if (to - from == 1)
            find_code(idx, plain + t[from].off, t[from].len, &cs);
    } else if (!found || !find_words(idx, plain, t, from, to, 1, hint, &cs)) {
        /* A district may begin like a state ("West Nimar"): unless the hint gave an
         * exact match, the whole query is tried as well and the best of both kept. */
        (void)find_words(idx, plain, t, 0, nt, 0, -1, &cs);
    }
    cands_sort(&cs, idx);
    for (i = 0; i < cs.n && i < max; i++) {
        const struct district_ent *d = &idx->districts[cs.c[i].district];
        out[i].state_code = d->state_code;
        out[i].district_code = d->district_code;
        out[i].score = cs.c[i].score;
        out[i].exact = cs.c[i].exact;
    }
    *n = i;
    rc = 0;
out:
    return rc;
}

size_t search_close_count(const struct search_result *results, size_t n)
{
    size_t i;

    if (results == NULL || n == 0)
        return 0;
    for (i = 1; i < n; i++) {
        /* Inclusive, with room for rounding: 1.0 and 0.95 are close. */
        if (results[i].score < results[0].score - SEARCH_AMBIGUOUS_GAP - 1e-9)
            break;
    }
    return i;
}

int search_is_ambiguous(const struct search_result *results, size_t n)
{
    return search_close_count(results, n) >= 2;
}

struct search_memo *search_memo_new(void)
{
    return xcalloc(1, sizeof(struct search_memo));
}

void search_memo_free(struct search_memo *m)
{
    free(m);
}

int search_find_memo(struct search_memo *m, const struct search_index *idx, const char *query,
                     struct search_result *out, size_t max, size_t *n)
{
    struct search_result all[SEARCH_MAX_RESULTS];
    struct memo_slot *sl;
    size_t len, got = 0, i;
    uint32_t h;

    if (m == NULL || idx == NULL || query == NULL || out == NULL || n == NULL ||
        (len = strnlen(query, MEMO_QUERY)) >= MEMO_QUERY)
        return search_find(idx, query, out, max, n);
    if (m->idx != idx || m->nkeys != idx->nkeys || m->ndistricts != idx->ndistricts) {
        memset(m->slot, 0, sizeof(m->slot)); /* another index: forget everything */
        m->idx = idx;
        m->nkeys = idx->nkeys;
        m->ndistricts = idx->ndistricts;
    }
    h = fnv1a(query, len);
    sl = &m->slot[h & (MEMO_SLOTS - 1)];
    if (!(sl->len == len + 1 && sl->hash == h && memcmp(sl->query, query, len) == 0)) {
        if (search_find(idx, query, all, SEARCH_MAX_RESULTS, &got) != 0)
            return -1;
        sl->hash = h;
        sl->len = (unsigned char)(len + 1);
        memcpy(sl->query, query, len);
        sl->n = (unsigned char)got;
        memcpy(sl->r, all, got * sizeof(all[0]));
    }
    for (i = 0; i < sl->n && i < max; i++)
        out[i] = sl->r[i];
    *n = i;
    return 0;
}
