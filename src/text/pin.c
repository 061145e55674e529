/*
 * PIN codes in text; see pin.h. The query is read through search_norm's plain form, so the
 * scheme's name in any script and Devanagari digits are handled as the search does.
 */
#include "text/pin.h"

#include <string.h>

#include "text/search_norm.h"

int pin_valid(long n)
{
    return n >= 100000 && n <= 999999;
}

static int digits_value(const char *p, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

int pin_parse(const char *s, size_t len)
{
    char plain[SEARCH_PLAIN_MAX];
    struct search_token t[SEARCH_MAX_TOKENS];
    size_t n, pn;
    int v;

    if (s == NULL || len > SEARCH_QUERY_MAX)
        return 0;
    pn = search_norm_plain(s, len, plain, sizeof(plain), 0);
    n = search_norm_tokenise(plain, pn, t);
    if (n == 1 && t[0].digits && t[0].len == 6)
        v = digits_value(plain + t[0].off, 6);
    else if (n == 2 && t[0].digits && t[1].digits && t[0].len == 3 && t[1].len == 3)
        v = digits_value(plain + t[0].off, 3) * 1000 + digits_value(plain + t[1].off, 3);
    else
        return 0;
    return pin_valid(v) ? v : 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Length of the PIN-like run at s[i] ("dddddd" or "ddd ddd"), or 0. */
static size_t pin_at(const char *s, size_t len, size_t i)
{
    size_t k;

    if ((i > 0 && is_digit(s[i - 1])) || s[i] < '1' || s[i] > '9')
        return 0;
    for (k = 0; k < 6 && i + k < len && is_digit(s[i + k]); k++)
        ;
    if (k == 6 && (i + 6 >= len || !is_digit(s[i + 6])))
        return 6;
    if (k == 3 && i + 7 <= len && s[i + 3] == ' ' && is_digit(s[i + 4]) && is_digit(s[i + 5]) &&
        is_digit(s[i + 6]) && (i + 7 == len || !is_digit(s[i + 7])))
        return 7;
    return 0;
}

int pin_redact(const char *s, size_t len, struct buf *out)
{
    size_t i, from = 0, n;

    for (i = 0; i < len; i++) {
        n = pin_at(s, len, i);
        if (n == 0)
            continue;
        if (buf_append(out, s + from, i - from) != 0 || buf_puts(out, PIN_REDACTED) != 0)
            return -1;
        i += n - 1;
        from = i + 1;
    }
    return buf_append(out, s + from, len - from);
}
