/*
 * Function validators for kore.conf (`validator NAME function FUNC`).
 *
 * Kore resolves such a FUNC with dlsym() in the loaded module; we have no modules, so the
 * functions live in one static table here and config.c resolves names through
 * validator_lookup() at start-up. Each function sees an already percent-decoded value
 * (a C string) and returns 1 to accept it, 0 to reject it. None of them allocate.
 */
#include "net/validator.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

/* Longest value any numeric validator looks at; anything longer is rejected outright. */
#define NUM_MAX_LEN 32

static int all_digits(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

/* Interface language: "hi" (Hindi) or "en" (English). */
static int v_lang(const char *value)
{
    return strcmp(value, "hi") == 0 || strcmp(value, "en") == 0;
}

/* Unsigned decimal integer of 1 to 9 digits (fits an int; e.g. a district code). */
static int v_int(const char *value)
{
    size_t n = strlen(value);

    return n <= 9 && all_digits(value, n);
}

/*
 * Decimal degrees within [lo, hi]. Only plain decimal notation is accepted: strtod()
 * would also take leading blanks, hex floats, "inf" and "nan", none of which a browser's
 * geolocation sends.
 */
static int degrees(const char *value, double lo, double hi)
{
    size_t i, n = strlen(value);
    int digits = 0;
    char *end = NULL;
    double d;

    if (n == 0 || n > NUM_MAX_LEN)
        return 0;
    for (i = 0; i < n; i++) {
        char c = value[i];
        if (c >= '0' && c <= '9')
            digits++;
        else if (c == '-' || c == '+') {
            if (i != 0)
                return 0;
        } else if (c != '.')
            return 0;
    }
    if (digits == 0)
        return 0;
    errno = 0;
    d = strtod(value, &end);
    if (errno != 0 || end == value || *end != '\0' || !isfinite(d))
        return 0;
    return d >= lo && d <= hi;
}

static int v_lat(const char *value)
{
    return degrees(value, -90.0, 90.0);
}

static int v_lon(const char *value)
{
    return degrees(value, -180.0, 180.0);
}

/* Indian financial year "YYYY-YYYY" where the second year is the first plus one. */
static int v_fin_year(const char *value)
{
    long a, b;

    if (strlen(value) != 9 || value[4] != '-' || !all_digits(value, 4) || !all_digits(value + 5, 4))
        return 0;
    a = strtol(value, NULL, 10);     /* exactly 4 digits: cannot overflow */
    b = strtol(value + 5, NULL, 10); /* idem */
    return a >= 1950 && a <= 2100 && b == a + 1;
}

/* A number of months for trend views: 1 to 60, one or two digits. */
static int v_months(const char *value)
{
    size_t n = strlen(value);
    long m;

    if (n > 2 || !all_digits(value, n))
        return 0;
    m = strtol(value, NULL, 10);
    return m >= 1 && m <= 60;
}

/* A search term: 1 to 64 bytes of well-formed UTF-8 without control characters. */
static int v_search(const char *value)
{
    size_t n = strlen(value), i = 0;

    if (n == 0 || n > 64)
        return 0;
    while (i < n) {
        uint32_t cp;
        int len = utf8_decode(value + i, n - i, &cp);
        if (len < 0)
            return 0;
        /* C0 controls, DEL and the C1 controls U+0080..U+009F. */
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return 0;
        i += (size_t)len;
    }
    return 1;
}

static const struct {
    const char *name;
    validator_fn fn;
} validators[] = {
    {"v_lang", v_lang},         {"v_int", v_int},       {"v_lat", v_lat},       {"v_lon", v_lon},
    {"v_fin_year", v_fin_year}, {"v_months", v_months}, {"v_search", v_search},
};

validator_fn validator_lookup(const char *name)
{
    size_t i;

    if (name == NULL)
        return NULL;
    for (i = 0; i < sizeof(validators) / sizeof(validators[0]); i++) {
        if (strcmp(validators[i].name, name) == 0)
            return validators[i].fn;
    }
    return NULL;
}
