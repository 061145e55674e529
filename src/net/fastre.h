/*
 * A matcher for the simple regexes validators are mostly written in, checked without
 * regexec(): an anchored sequence of character sets, each repeated a bounded or open
 * number of times, such as ^[0-9]{1,2}$ or ^[+]?[0-9[:space:]()-]{1,24}$. Each set is a
 * bracket expression of ASCII characters, ranges and classes, or one literal character;
 * the repeat is ?, *, +, {m}, {m,} or {m,n}; no two sets of one regex share a character,
 * so taking each set's run greedily decides the same as POSIX matching does (the server
 * runs in the C locale, where a character is a byte).
 *
 * fastre_compile() says whether a regex is of this form; any other (alternation, groups,
 * negated sets, back-references, overlapping sets) is left to regexec(). The unit tests
 * compare both on every regex of kore.conf and on generated ones.
 */
#ifndef HISAAB_FASTRE_H
#define HISAAB_FASTRE_H

#include <stdint.h>

#define FASTRE_ITEMS 8
#define FASTRE_REPEAT_MAX 1000
#define FASTRE_UNBOUNDED UINT32_MAX

struct fastre {
    int ok; /* 1 when compiled: fastre_match() decides */
    unsigned nitems;
    struct {
        uint8_t set[32]; /* bit c: byte c belongs */
        uint32_t min, max;
    } items[FASTRE_ITEMS];
};

/* Compile the POSIX extended regex `re` into f when it has the form above: 1, and f->ok
 * is 1; else 0 (f->ok 0: use regexec()). */
int fastre_compile(const char *re, struct fastre *f);

/* 1 when the NUL-terminated value matches the compiled regex, else 0. */
int fastre_match(const struct fastre *f, const char *value);

#endif
