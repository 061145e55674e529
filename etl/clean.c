/*
 * The data rules: turn one raw MGNREGA record (borrowed string slices from any of the
 * three formats) into a cleaned struct etl_row for the loader. Every value in the source
 * is a string; this module decides what each one means. Numbers are checked with a strict
 * syntax and kept as exact text (no float round trip, so a numeric column gets the digits
 * the source gave); "NA", empty, garbage and negative numbers become NULL; percentages
 * outside 0..100 become NULL with a flag; names are trimmed, their inner blanks collapsed
 * and their text made valid UTF-8 for Postgres. Pure functions, no allocation.
 */
#include "record.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"

static const char *const month_names[12] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december",
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_blank(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* The slice without surrounding ASCII whitespace (slice_trim without the ctype calls:
 * this runs for every value of every record). */
static struct slice trimmed(struct slice s)
{
    if (s.ptr == NULL)
        return s;
    while (s.len > 0 && is_blank(s.ptr[0])) {
        s.ptr++;
        s.len--;
    }
    while (s.len > 0 && is_blank(s.ptr[s.len - 1]))
        s.len--;
    return s;
}

/* 1 for the source's ways of saying "no value". t is trimmed. */
static int is_na(struct slice t)
{
    if (t.len == 0)
        return 1;
    /* Fast path: every such word is short and starts with 'n' or '-'. */
    if (t.len > 4 || ((t.ptr[0] | 0x20) != 'n' && t.ptr[0] != '-'))
        return 0;
    return slice_eq_nocase(t, "NA") || slice_eq_nocase(t, "N/A") || slice_eq(t, "-") ||
           slice_eq_nocase(t, "null");
}

/*
 * Scan t (trimmed) as a whole number: [+]digits with an optional all-zero fraction
 * ("123", "+123", "0517", "123.0", "123."). Sets *v and the significant digits (no sign,
 * no leading zeros except a lone "0"). Returns 0, or -1 for anything else, overflow or
 * text too long to be a value.
 */
static int int_scan(struct slice t, long long *v, struct slice *digits)
{
    size_t i = 0, start;
    long long acc = 0;

    if (t.ptr == NULL || t.len == 0 || t.len >= ETL_MAX_VALUE)
        return -1;
    if (t.ptr[0] == '+')
        i++;
    start = i;
    for (; i < t.len && is_digit(t.ptr[i]); i++) {
        int d = t.ptr[i] - '0';
        if (acc > (LLONG_MAX - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    if (i == start)
        return -1;
    digits->ptr = t.ptr + start;
    digits->len = i - start;
    if (i < t.len && t.ptr[i] == '.') {
        for (i++; i < t.len && t.ptr[i] == '0'; i++)
            ;
    }
    if (i != t.len)
        return -1;
    while (digits->len > 1 && digits->ptr[0] == '0') {
        digits->ptr++;
        digits->len--;
    }
    *v = acc;
    return 0;
}

/* A decimal's parts: integer digits (leading zeros kept) and fraction digits. */
struct decimal {
    struct slice ip;
    struct slice fp;
};

/* Scan t (trimmed) as [+]digits[.digits] or [+].digits. Returns 0, or -1 (garbage, a
 * sign other than '+', exponents, commas, NaN/inf, too long). */
static int decimal_scan(struct slice t, struct decimal *d)
{
    size_t i = 0;

    if (t.ptr == NULL || t.len == 0 || t.len >= ETL_MAX_VALUE)
        return -1;
    if (t.ptr[0] == '+')
        i++;
    d->ip.ptr = t.ptr + i;
    for (; i < t.len && is_digit(t.ptr[i]); i++)
        ;
    d->ip.len = (size_t)(t.ptr + i - d->ip.ptr);
    d->fp.ptr = t.ptr + i;
    d->fp.len = 0;
    if (i < t.len && t.ptr[i] == '.') {
        i++;
        d->fp.ptr = t.ptr + i;
        for (; i < t.len && is_digit(t.ptr[i]); i++)
            ;
        d->fp.len = (size_t)(t.ptr + i - d->fp.ptr);
    }
    if (i != t.len || d->ip.len + d->fp.len == 0)
        return -1;
    return 0;
}

/* Canonical text of a scanned decimal: no '+', "0" before a bare fraction, no dangling
 * '.'. Returns 0, or -1 if it does not fit in cap bytes with its NUL. */
static int decimal_text(const struct decimal *d, char *out, size_t cap)
{
    size_t o = 0;
    size_t need = (d->ip.len ? d->ip.len : 1) + (d->fp.len ? d->fp.len + 1 : 0);

    if (need + 1 > cap)
        return -1;
    if (d->ip.len) {
        memcpy(out, d->ip.ptr, d->ip.len);
        o = d->ip.len;
    } else {
        out[o++] = '0';
    }
    if (d->fp.len) {
        out[o++] = '.';
        memcpy(out + o, d->fp.ptr, d->fp.len);
        o += d->fp.len;
    }
    out[o] = '\0';
    return 0;
}

/* 1 if a scanned (non-negative) decimal is greater than 100, compared on its text. */
static int decimal_over_100(const struct decimal *d)
{
    struct slice ip = d->ip;
    size_t i;
    int cmp;

    while (ip.len > 0 && ip.ptr[0] == '0') {
        ip.ptr++;
        ip.len--;
    }
    if (ip.len != 3)
        return ip.len > 3;
    cmp = memcmp(ip.ptr, "100", 3);
    if (cmp != 0)
        return cmp > 0;
    for (i = 0; i < d->fp.len; i++) {
        if (d->fp.ptr[i] != '0')
            return 1;
    }
    return 0;
}

/*
 * Copy text into out (cap bytes with the NUL): trimmed, runs of blanks and control
 * characters collapsed to one space, invalid UTF-8 bytes replaced by '?', cut at a
 * character boundary if too long. Returns the length written.
 */
static size_t text_copy(struct slice s, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0, o = 0;
    int pending_space = 0;

    if (cap == 0)
        return 0;
    while (p != NULL && i < s.len) {
        uint32_t cp;
        int len;
        size_t n;
        if (p[i] <= 0x20 || p[i] == 0x7F) {
            pending_space = o > 0;
            i++;
            continue;
        }
        len = utf8_decode(s.ptr + i, s.len - i, &cp);
        n = len < 0 ? 0 : (size_t)len;
        if (o + pending_space + (n ? n : 1) + 1 > cap)
            break;
        if (pending_space)
            out[o++] = ' ';
        pending_space = 0;
        if (n == 0) {
            out[o++] = '?';
            i++;
        } else {
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
        }
    }
    out[o] = '\0';
    return o;
}

int etl_parse_int(struct slice s, long long *out)
{
    struct slice digits;
    long long v;

    if (int_scan(trimmed(s), &v, &digits) != 0)
        return -1;
    *out = v;
    return 0;
}

int etl_parse_decimal(struct slice s, double *out)
{
    struct decimal d;
    char text[ETL_MAX_VALUE + 1];

    if (decimal_scan(trimmed(s), &d) != 0 || decimal_text(&d, text, sizeof(text)) != 0)
        return -1;
    *out = strtod(text, NULL);
    return 0;
}

int etl_parse_month(struct slice s)
{
    struct slice t = trimmed(s);
    int m;

    if (t.ptr == NULL)
        return 0;
    if (t.len > 0 && t.ptr[t.len - 1] == '.')
        t.len--;
    if (t.len >= 1 && t.len <= 2 && is_digit(t.ptr[0]) && is_digit(t.ptr[t.len - 1])) {
        m = t.len == 1 ? t.ptr[0] - '0' : (t.ptr[0] - '0') * 10 + (t.ptr[1] - '0');
        return m >= 1 && m <= 12 ? m : 0;
    }
    if (t.len < 3)
        return 0;
    for (m = 0; m < 12; m++) {
        /* A prefix of the full name: "Dec", "December", "Sept", "july"; not "Decxyz". */
        if (t.len <= strlen(month_names[m]) && strncasecmp(month_names[m], t.ptr, t.len) == 0)
            return m + 1;
    }
    return 0;
}

/* Exactly n digits at p as a number, or -1. */
static int digits_n(const char *p, size_t n)
{
    int v = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int etl_parse_fin_year(struct slice s)
{
    struct slice t = trimmed(s);
    int y1, y2;

    if (t.ptr == NULL || (t.len != 9 && t.len != 7) || t.ptr[4] != '-')
        return -1;
    y1 = digits_n(t.ptr, 4);
    if (y1 < 2000 || y1 > 2100)
        return -1;
    y2 = digits_n(t.ptr + 5, t.len - 5);
    if (t.len == 9 && y2 != y1 + 1)
        return -1;
    if (t.len == 7 && y2 != (y1 + 1) % 100)
        return -1;
    return y1;
}

int etl_fy_month(int month)
{
    if (month < 1 || month > 12)
        return 0;
    return month >= 4 ? month - 3 : month + 9;
}

/* A state or district code: a whole number in 1..INT_MAX ("17", "1752", "0517"). */
static int parse_code(struct slice s, int *out)
{
    struct slice digits;
    long long v;

    if (int_scan(trimmed(s), &v, &digits) != 0 || v <= 0 || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

/* "2024-2025" for 2024 (y in 2000..2100, so always 9 characters). */
static void year_text(char out[10], int y)
{
    int k, v;

    for (k = 3, v = y; k >= 0; k--, v /= 10)
        out[k] = (char)('0' + v % 10);
    out[4] = '-';
    for (k = 8, v = y + 1; k >= 5; k--, v /= 10)
        out[k] = (char)('0' + v % 10);
    out[9] = '\0';
}

static void set_null(struct etl_row *row, int i)
{
    row->is_null[i] = 1;
    row->value[i][0] = '\0';
}

static void clean_figure(struct slice s, enum etl_kind kind, struct etl_row *row, int i)
{
    struct slice t = trimmed(s), digits;
    struct decimal d;
    long long v;

    if (t.ptr == NULL || is_na(t)) {
        set_null(row, i);
        return;
    }
    switch (kind) {
    case ETL_KIND_INT:
        if (int_scan(t, &v, &digits) != 0) {
            set_null(row, i);
            return;
        }
        /* digits is at most ETL_MAX_VALUE - 1 long: int_scan refused longer text. */
        memcpy(row->value[i], digits.ptr, digits.len);
        row->value[i][digits.len] = '\0';
        break;
    case ETL_KIND_DECIMAL:
        if (decimal_scan(t, &d) != 0 || decimal_text(&d, row->value[i], ETL_MAX_VALUE) != 0)
            set_null(row, i);
        break;
    case ETL_KIND_PERCENT:
        if (decimal_scan(t, &d) != 0 || decimal_text(&d, row->value[i], ETL_MAX_VALUE) != 0) {
            set_null(row, i);
        } else if (decimal_over_100(&d)) {
            set_null(row, i);
            row->flagged[i] = 1;
            text_copy(t, row->flag_raw[i], ETL_MAX_VALUE);
            row->flag_problem[i] = "out_of_range";
        }
        break;
    case ETL_KIND_TEXT:
        text_copy(t, row->value[i], ETL_MAX_VALUE);
        break;
    }
}

int etl_clean_record(const struct etl_raw_record *raw, struct etl_row *row, const char **why)
{
    const char *reason = NULL;
    struct slice t;
    long long pd;
    int rc = -1, i, fy;

    /* Reset only what the loader reads; the row is large and cleaned 10^5 times a run. */
    memset(row->is_null, 0, sizeof(row->is_null));
    memset(row->flagged, 0, sizeof(row->flagged));
    for (i = 0; i < ETL_NFIELDS; i++) {
        row->value[i][0] = '\0';
        row->flag_raw[i][0] = '\0';
        row->flag_problem[i] = NULL;
    }
    row->fin_year[0] = '\0';
    row->fy_start = 0;
    row->month = 0;
    row->fy_month = 0;
    row->state_code = 0;
    row->district_code = 0;
    row->state_name[0] = '\0';
    row->district_name[0] = '\0';
    row->remarks[0] = '\0';
    row->persondays = -1;

    fy = etl_parse_fin_year(raw->v[ETL_F_FIN_YEAR]);
    if (fy < 0) {
        reason = raw->v[ETL_F_FIN_YEAR].ptr ? "bad fin_year" : "missing fin_year";
        goto out;
    }
    row->fy_start = fy;
    year_text(row->fin_year, fy);

    row->month = etl_parse_month(raw->v[ETL_F_MONTH]);
    if (row->month == 0) {
        reason = raw->v[ETL_F_MONTH].ptr ? "bad month" : "missing month";
        goto out;
    }
    row->fy_month = etl_fy_month(row->month);

    if (parse_code(raw->v[ETL_F_STATE_CODE], &row->state_code) != 0) {
        reason = raw->v[ETL_F_STATE_CODE].ptr ? "bad state_code" : "missing state_code";
        goto out;
    }
    if (parse_code(raw->v[ETL_F_DISTRICT_CODE], &row->district_code) != 0) {
        reason = raw->v[ETL_F_DISTRICT_CODE].ptr ? "bad district_code" : "missing district_code";
        goto out;
    }

    t = trimmed(raw->v[ETL_F_DISTRICT_NAME]);
    if (t.ptr == NULL || is_na(t) || text_copy(t, row->district_name, ETL_MAX_NAME) == 0) {
        reason = "missing district_name";
        goto out;
    }
    t = trimmed(raw->v[ETL_F_STATE_NAME]);
    if (t.ptr != NULL && !is_na(t))
        text_copy(t, row->state_name, ETL_MAX_NAME);

    for (i = ETL_F_FIRST_FIGURE; i < ETL_F_REMARKS; i++)
        clean_figure(raw->v[i], etl_fields[i].kind, row, i);

    t = trimmed(raw->v[ETL_F_REMARKS]);
    if (t.ptr == NULL || is_na(t) || text_copy(t, row->remarks, ETL_MAX_REMARKS) == 0)
        row->is_null[ETL_F_REMARKS] = 1;
    else
        text_copy(t, row->value[ETL_F_REMARKS], ETL_MAX_VALUE); /* short form; see remarks */

    if (!row->is_null[ETL_F_PERSONDAYS]) {
        pd = strtoll(row->value[ETL_F_PERSONDAYS], NULL, 10);
        row->persondays = pd;
    }
    rc = 0;
out:
    if (why != NULL)
        *why = reason;
    return rc;
}
