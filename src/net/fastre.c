/*
 * Simple anchored regexes without regexec(); see fastre.h.
 */
#include "net/fastre.h"

#include <ctype.h>
#include <string.h>

static void set_add(uint8_t *set, unsigned c)
{
    set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static int set_has(const uint8_t *set, unsigned c)
{
    return (set[c >> 3] >> (c & 7)) & 1;
}

/* The C locale's members of [:name:], added to set; -1 for a class not known here. */
static int add_class(uint8_t *set, const char *name, size_t len)
{
    static const struct {
        const char *name;
        int (*is)(int);
    } classes[] = {
        {"alnum", isalnum}, {"alpha", isalpha}, {"blank", isblank}, {"cntrl", iscntrl},
        {"digit", isdigit}, {"graph", isgraph}, {"lower", islower}, {"print", isprint},
        {"punct", ispunct}, {"space", isspace}, {"upper", isupper}, {"xdigit", isxdigit},
    };
    size_t i;
    unsigned c;

    for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
        if (strlen(classes[i].name) == len && memcmp(classes[i].name, name, len) == 0) {
            for (c = 1; c < 0x80; c++)
                if (classes[i].is((int)c))
                    set_add(set, c);
            return 0;
        }
    }
    return -1;
}

/* A bracket expression at re[*i] == '['; 0 with *i past its ']', or -1. */
static int bracket(const char *re, size_t *i, uint8_t *set)
{
    size_t j = *i + 1;
    int first = 1;

    if (re[j] == '^')
        return -1; /* a negated set would hold bytes past ASCII */
    while (re[j] != '\0' && (re[j] != ']' || first)) {
        unsigned lo = (unsigned char)re[j], hi, c;

        first = 0;
        if (re[j] == '[' && re[j + 1] == ':') {
            const char *end = strstr(re + j + 2, ":]");
            if (end == NULL || add_class(set, re + j + 2, (size_t)(end - (re + j + 2))) != 0)
                return -1;
            j = (size_t)(end - re) + 2;
            continue;
        }
        if (re[j] == '[' && (re[j + 1] == '.' || re[j + 1] == '='))
            return -1;
        if (lo == 0 || lo >= 0x80)
            return -1;
        hi = lo;
        if (re[j + 1] == '-' && re[j + 2] != ']' && re[j + 2] != '\0') {
            if (re[j + 2] == '[')
                return -1;
            hi = (unsigned char)re[j + 2];
            if (hi >= 0x80 || hi < lo)
                return -1;
            j += 2;
        }
        for (c = lo; c <= hi; c++)
            set_add(set, c);
        j++;
    }
    if (re[j] != ']')
        return -1;
    *i = j + 1;
    return 0;
}

static int number(const char *re, size_t *i, uint32_t *out)
{
    uint32_t v = 0;

    if (!isdigit((unsigned char)re[*i]))
        return -1;
    while (isdigit((unsigned char)re[*i])) {
        v = v * 10 + (uint32_t)(re[(*i)++] - '0');
        if (v > FASTRE_REPEAT_MAX)
            return -1;
    }
    *out = v;
    return 0;
}

/* The repeat after an item, if any: 0 with min and max set, or -1. */
static int repeat(const char *re, size_t *i, uint32_t *min, uint32_t *max)
{
    *min = *max = 1;
    switch (re[*i]) {
    case '?':
        *min = 0;
        break;
    case '*':
        *min = 0;
        *max = FASTRE_UNBOUNDED;
        break;
    case '+':
        *max = FASTRE_UNBOUNDED;
        break;
    case '{':
        (*i)++;
        if (number(re, i, min) != 0)
            return -1;
        *max = *min;
        if (re[*i] == ',') {
            (*i)++;
            *max = FASTRE_UNBOUNDED;
            if (re[*i] != '}' && (number(re, i, max) != 0 || *max < *min))
                return -1;
        }
        if (re[*i] != '}')
            return -1;
        break;
    default:
        return 0;
    }
    (*i)++;
    return strchr("?*+{", re[*i]) != NULL && re[*i] != '\0' ? -1 : 0; /* a{2}{3}, a+? */
}

int fastre_compile(const char *re, struct fastre *f)
{
    size_t i = 1, len = strlen(re), a, b;
    unsigned k;

    memset(f, 0, sizeof(*f));
    if (len < 2 || re[0] != '^' || re[len - 1] != '$')
        return 0;
    while (i < len - 1) {
        uint8_t *set;

        if (f->nitems == FASTRE_ITEMS)
            return 0;
        set = f->items[f->nitems].set;
        if (re[i] == '[') {
            if (bracket(re, &i, set) != 0)
                return 0;
        } else if (re[i] == '\\') {
            /* \1 (a back-reference), \< \> \` \' (anchors) and the like are regexec()'s */
            if (!ispunct((unsigned char)re[i + 1]) || strchr("<>`'", re[i + 1]) != NULL)
                return 0;
            set_add(set, (unsigned char)re[i + 1]);
            i += 2;
        } else if (strchr("^$.()|*+?{}]", re[i]) == NULL && (unsigned char)re[i] < 0x80) {
            set_add(set, (unsigned char)re[i]);
            i++;
        } else {
            return 0;
        }
        if (repeat(re, &i, &f->items[f->nitems].min, &f->items[f->nitems].max) != 0)
            return 0;
        f->nitems++;
    }
    if (i != len - 1 || f->nitems == 0)
        return 0; /* an escaped $ took the place of the anchor */
    /* No character in two sets: then each set's run is the only way to split a value. */
    for (a = 0; a < f->nitems; a++)
        for (b = a + 1; b < f->nitems; b++)
            for (k = 0; k < 32; k++)
                if (f->items[a].set[k] & f->items[b].set[k])
                    return 0;
    f->ok = 1;
    return 1;
}

int fastre_match(const struct fastre *f, const char *value)
{
    const unsigned char *p = (const unsigned char *)value;
    unsigned k;

    for (k = 0; k < f->nitems; k++) {
        uint32_t n = 0;

        while (*p != '\0' && n < f->items[k].max && set_has(f->items[k].set, *p)) {
            p++;
            n++;
        }
        if (n < f->items[k].min)
            return 0;
    }
    return *p == '\0';
}
