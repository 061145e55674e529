/*
 * The size of a regex once compiled; see regex_cost.h.
 */
#include "net/regex_cost.h"

#include <ctype.h>
#include <stddef.h>

#define REGEX_DEPTH_MAX 64

static size_t regex_bracket_end(const char *s, size_t i)
{
    i++; /* past '[' */
    if (s[i] == '^')
        i++;
    if (s[i] == ']')
        i++;
    while (s[i] != '\0' && s[i] != ']') {
        if (s[i] == '[' && (s[i + 1] == ':' || s[i + 1] == '=' || s[i + 1] == '.')) {
            char kind = s[i + 1];
            i += 2;
            while (s[i] != '\0' && !(s[i] == kind && s[i + 1] == ']'))
                i++;
            if (s[i] != '\0')
                i += 2;
        } else {
            i++;
        }
    }
    return s[i] == ']' ? i + 1 : i;
}

/* the largest count a quantifier at s[*i] allows, 1 when there is none */
static size_t regex_repeat(const char *s, size_t *i)
{
    size_t lo = 0, hi = 0, j = *i + 1;
    int open = 0;

    if (s[*i] == '*' || s[*i] == '+' || s[*i] == '?') {
        (*i)++;
        return 2;
    }
    if (s[*i] != '{' || !isdigit((unsigned char)s[j]))
        return 1;
    while (isdigit((unsigned char)s[j]) && lo < REGEX_PARTS_MAX)
        lo = lo * 10 + (size_t)(s[j++] - '0');
    hi = lo;
    if (s[j] == ',') {
        j++;
        open = !isdigit((unsigned char)s[j]);
        hi = 0;
        while (isdigit((unsigned char)s[j]) && hi < REGEX_PARTS_MAX)
            hi = hi * 10 + (size_t)(s[j++] - '0');
    }
    while (isdigit((unsigned char)s[j]))
        j++;
    if (s[j] != '}')
        return 1; /* regcomp() will say what is wrong with it */
    *i = j + 1;
    if (open)
        return lo + 1;
    return (hi > lo ? hi : lo) + 1;
}

/* parts of the sequence starting at s[*i], up to ')' or the end */
static size_t regex_parts_seq(const char *s, size_t *i, int depth)
{
    size_t total = 0;

    if (depth > REGEX_DEPTH_MAX)
        return REGEX_PARTS_MAX + 1;
    while (s[*i] != '\0' && s[*i] != ')' && total <= REGEX_PARTS_MAX) {
        size_t atom = 1, rep;
        if (s[*i] == '(') {
            (*i)++;
            atom = regex_parts_seq(s, i, depth + 1) + 1;
            if (s[*i] == ')')
                (*i)++;
        } else if (s[*i] == '[') {
            *i = regex_bracket_end(s, *i);
        } else if (s[*i] == '\\' && s[*i + 1] != '\0') {
            *i += 2;
        } else {
            (*i)++;
        }
        while ((rep = regex_repeat(s, i)) > 1 && atom <= REGEX_PARTS_MAX)
            atom *= rep;
        total += atom > REGEX_PARTS_MAX ? REGEX_PARTS_MAX + 1 : atom;
    }
    return total;
}

int regex_cost_too_big(const char *re)
{
    size_t i = 0, parts = 0;

    while (parts <= REGEX_PARTS_MAX) {
        parts += regex_parts_seq(re, &i, 0);
        if (re[i] == '\0')
            break;
        i++; /* an unmatched ')': regcomp() refuses it */
    }
    return parts > REGEX_PARTS_MAX;
}
