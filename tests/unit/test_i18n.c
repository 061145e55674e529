/*
 * Unit tests for src/i18n.c and the shipped templates (assets/templates/en.txt, hi.txt).
 * Every template is rendered, in every combination of its optional segments, with the
 * longest real values: district names and figures taken from data/mgnrega_mp_2024-25.csv
 * and data/reference/districts_hi.csv, formatted as the SMS channel formats them, and
 * checked against the length rules (English: one GSM-7 SMS of 160; Hindi: two UCS-2 parts,
 * 134 units; HELP in one SMS) and the DLT pattern (only {#var#} placeholders, each value at
 * most 30 characters). Also: rendering rules, loader errors with file:line, Indian digit
 * grouping and month names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <libgen.h>

#include <cmocka.h>

#include "text/i18n.h"
#include "text/smsenc.h"

static char root[4096];
static char tmpl_dir[4200];

/* The repository root: $HISAAB_ROOT, else two levels above build/tests/<binary>. */
static void find_root(void)
{
    char exe[4096];
    ssize_t n;
    const char *env = getenv("HISAAB_ROOT");

    if (env != NULL) {
        snprintf(root, sizeof(root), "%s", env);
    } else {
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        assert_true(n > 0);
        exe[n] = '\0';
        snprintf(root, sizeof(root), "%s", dirname(dirname(dirname(exe))));
    }
    snprintf(tmpl_dir, sizeof(tmpl_dir), "%s/assets/templates", root);
}

static int setup(void **state)
{
    char err[512];
    (void)state;

    find_root();
    if (i18n_load(tmpl_dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "i18n_load: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    i18n_free();
    return 0;
}

/* --- the longest real values --- */

enum kind { K_DISTRICT, K_MONTH, K_FAMILIES, K_DAYS, K_WAGE, K_PCT, K_CHOICE, K_MINUTES };

struct longest {
    char district[I18N_NLANGS][128];
    char month[I18N_NLANGS][64];
    char families[32];
    char days[16];
    char wage[16];
    char pct[16];
    char choice[I18N_NLANGS][128];
};
static struct longest lv;

static size_t units_of(const char *s)
{
    struct smsenc_info info;

    assert_int_equal(smsenc_analyse(s, strlen(s), &info), 0);
    return info.coding == SMSENC_UCS2 ? info.units : info.chars;
}

/* Field `col` (0-based) of a comma-separated line without quotes before that field. */
static int field(const char *line, int col, char *out, size_t outlen)
{
    const char *p = line, *e;
    int c;

    for (c = 0; c < col; c++) {
        p = strchr(p, ',');
        if (p == NULL)
            return -1;
        p++;
    }
    e = p + strcspn(p, ",\r\n");
    if ((size_t)(e - p) >= outlen)
        return -1;
    memcpy(out, p, (size_t)(e - p));
    out[e - p] = '\0';
    return 0;
}

static void keep_longer(char *dst, size_t dstlen, const char *cand)
{
    size_t n = strlen(cand);

    if (units_of(cand) > units_of(dst)) {
        assert_true(n < dstlen);
        memcpy(dst, cand, n + 1);
    }
}

static void load_longest(void)
{
    char path[4300], line[4096], f[256], s[64];
    FILE *fp;
    int m, rows = 0;
    double v;
    long long maxfam = 0;

    memset(&lv, 0, sizeof(lv));
    snprintf(path, sizeof(path), "%s/data/mgnrega_mp_2024-25.csv", root);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof(line), fp)); /* header */
    while (fgets(line, sizeof(line), fp) != NULL) {
        rows++;
        assert_int_equal(field(line, 5, f, sizeof(f)), 0); /* district_name */
        keep_longer(lv.district[I18N_EN], sizeof(lv.district[0]), f);
        assert_int_equal(field(line, 8, f, sizeof(f)), 0); /* average days */
        snprintf(s, sizeof(s), "%.0f", strtod(f, NULL));
        keep_longer(lv.days, sizeof(lv.days), s);
        assert_int_equal(field(line, 7, f, sizeof(f)), 0); /* average wage rate */
        snprintf(s, sizeof(s), "%.0f", strtod(f, NULL));
        keep_longer(lv.wage, sizeof(lv.wage), s);
        assert_int_equal(field(line, 21, f, sizeof(f)), 0); /* households worked */
        if (strtoll(f, NULL, 10) > maxfam)
            maxfam = strtoll(f, NULL, 10);
        assert_int_equal(field(line, 34, f, sizeof(f)), 0); /* % paid within 15 days */
        v = strtod(f, NULL);
        /* the channel caps the source's >100 values at 100 and shows one decimal below */
        snprintf(s, sizeof(s), "%.1f", v);
        if (v >= 99.95)
            snprintf(s, sizeof(s), "100");
        keep_longer(lv.pct, sizeof(lv.pct), s);
    }
    fclose(fp);
    assert_true(rows > 10000);
    assert_int_equal(strlen(lv.district[I18N_EN]), 12); /* NARMADAPURAM */

    /* families: the real maximum, but at least the 7-digit 12,34,567 */
    assert_int_equal(i18n_group_indian(maxfam, lv.families, sizeof(lv.families)), 0);
    assert_true(strlen(lv.families) <= 9);
    snprintf(lv.families, sizeof(lv.families), "12,34,567");
    assert_true(strlen(lv.days) >= 2);
    assert_int_equal(strlen(lv.wage), 3);
    assert_int_equal(strlen(lv.pct), 4);

    /* Hindi district names of Madhya Pradesh (LGD state 23) */
    snprintf(path, sizeof(path), "%s/data/reference/districts_hi.csv", root);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof(line), fp));
    rows = 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        assert_int_equal(field(line, 1, f, sizeof(f)), 0);
        if (strcmp(f, "23") != 0)
            continue;
        rows++;
        assert_int_equal(field(line, 3, f, sizeof(f)), 0);
        keep_longer(lv.district[I18N_HI], sizeof(lv.district[0]), f);
    }
    fclose(fp);
    assert_true(rows >= 52);
    assert_true(units_of(lv.district[I18N_HI]) >= 10);

    for (m = 1; m <= 12; m++) {
        snprintf(s, sizeof(s), "%s 2024", i18n_month_short(I18N_EN, m));
        keep_longer(lv.month[I18N_EN], sizeof(lv.month[0]), s);
        snprintf(s, sizeof(s), "%s 2024", i18n_month_short(I18N_HI, m));
        keep_longer(lv.month[I18N_HI], sizeof(lv.month[0]), s);
    }
    assert_string_equal(lv.month[I18N_HI], "अक्टूबर 2024");

    /* choices for an ambiguous name: the longest a DLT variable may be (30 characters) */
    snprintf(lv.choice[I18N_EN], sizeof(lv.choice[0]), "3153 Aurangabad Maharashtra XX");
    snprintf(lv.choice[I18N_HI], sizeof(lv.choice[0]), "%s", "0512 औरंगाबाद महाराष्ट्र राज्य");
    assert_int_equal(units_of(lv.choice[I18N_EN]), 30);
    assert_int_equal(units_of(lv.choice[I18N_HI]), 30);
}

/* What each template's variables hold, in order. */
struct tvars {
    const char *id;
    int n;
    enum kind k[8];
};
static const struct tvars tvars[] = {
    {"SUMMARY", 7, {K_DISTRICT, K_MONTH, K_FAMILIES, K_DAYS, K_WAGE, K_PCT, K_DAYS}},
    {"NODATA", 1, {K_DISTRICT}},
    {"NOT_LOADED", 1, {K_DISTRICT}},
    {"MONTHLY", 5, {K_DISTRICT, K_MONTH, K_FAMILIES, K_DAYS, K_WAGE}},
    {"HELP", 0, {0}},
    {"LANG_EN", 0, {0}},
    {"LANG_HI", 0, {0}},
    {"SUB_OK", 1, {K_DISTRICT}},
    {"SUB_USAGE", 0, {0}},
    {"STOP_OK", 0, {0}},
    {"UNKNOWN", 0, {0}},
    {"NOT_FOUND", 0, {0}},
    {"AMBIGUOUS", 3, {K_CHOICE, K_CHOICE, K_CHOICE}},
    {"RATE_LIMIT", 1, {K_MINUTES}},
    {"TRY_LATER", 0, {0}},
};

static const char *value_for(enum kind k, enum i18n_lang lang)
{
    switch (k) {
    case K_DISTRICT:
        return lv.district[lang];
    case K_MONTH:
        return lv.month[lang];
    case K_FAMILIES:
        return lv.families;
    case K_DAYS:
        return lv.days;
    case K_WAGE:
        return lv.wage;
    case K_PCT:
        return lv.pct;
    case K_CHOICE:
        return lv.choice[lang];
    case K_MINUTES:
        return "1440";
    }
    return NULL;
}

/* Only {#var#} placeholders (and the {? ?} segment marks of the file format). */
static void check_dlt_pattern(const char *text, int nvars)
{
    const char *p = text;
    int vars = 0;

    while (*p != '\0') {
        if (strncmp(p, "{#var#}", 7) == 0) {
            vars++;
            p += 7;
        } else if (strncmp(p, "{?", 2) == 0 || strncmp(p, "?}", 2) == 0) {
            p += 2;
        } else {
            assert_false(*p == '{' || *p == '}');
            assert_false(p[0] == '#' && p[1] == '}');
            p++;
        }
    }
    assert_int_equal(vars, nvars);
}

static void test_every_template_longest_values(void **state)
{
    struct buf out;
    const char *vals[8];
    struct smsenc_info info;
    size_t i, j, variants = 0;
    int l, v, nsegs, mask;
    (void)state;

    load_longest();
    assert_int_equal(i18n_count(), sizeof(tvars) / sizeof(tvars[0]));
    buf_init(&out, 4096);
    for (i = 0; i < i18n_count(); i++) {
        const char *id = i18n_id_at(i);
        const struct tvars *tv = NULL;
        for (j = 0; j < sizeof(tvars) / sizeof(tvars[0]); j++)
            if (strcmp(tvars[j].id, id) == 0)
                tv = &tvars[j];
        if (tv == NULL)
            fail_msg("template %s has no test values: add it to tvars[]", id);
        assert_int_equal(i18n_nvars(id), tv->n);
        nsegs = i18n_nsegments(id);
        assert_true(nsegs >= 0 && nsegs <= 8);
        for (l = 0; l < I18N_NLANGS; l++) {
            check_dlt_pattern(i18n_text((enum i18n_lang)l, id), tv->n);
            for (mask = 0; mask < (1 << nsegs); mask++) {
                for (v = 0; v < tv->n; v++) {
                    int seg = i18n_var_segment(id, (size_t)v);
                    vals[v] = (seg < 0 || (mask & (1 << seg))) ? value_for(tv->k[v], l) : NULL;
                    assert_true(vals[v] == NULL || units_of(vals[v]) <= 30);
                }
                buf_reset(&out);
                assert_int_equal(i18n_render((enum i18n_lang)l, id, vals, (size_t)tv->n, &out), 0);
                assert_int_equal(smsenc_analyse(out.data, out.len, &info), 0);
                assert_null(strstr(buf_cstr(&out), "{#"));
                assert_null(strstr(buf_cstr(&out), "{?"));
                assert_null(strstr(buf_cstr(&out), "?}"));
                assert_null(strstr(buf_cstr(&out), "  "));
                if (l == I18N_EN) {
                    if (info.coding != SMSENC_GSM7 || info.units > 160)
                        fail_msg("en %s.%d: %zu septets, coding %d: %s", id, mask, info.units,
                                 info.coding, buf_cstr(&out));
                } else {
                    size_t limit = strcmp(id, "HELP") == 0 ? 70 : 134;
                    assert_int_equal(info.coding, SMSENC_UCS2);
                    if (info.units > limit)
                        fail_msg("hi %s.%d: %zu units > %zu: %s", id, mask, info.units, limit,
                                 buf_cstr(&out));
                }
                variants++;
            }
        }
    }
    assert_true(variants > 2 * 14);
    buf_free(&out);
}

/* English summaries fit one SMS even for a district name of the full 30 characters. */
static void test_english_fits_any_district(void **state)
{
    const char *d30 = "Mohla Manpur Ambagarh Chouki X";
    const char *vals[7] = {d30, "Sep 2024", "12,34,567", "64", "680", "99.9", "64"};
    struct smsenc_info info;
    struct buf out;
    (void)state;

    assert_int_equal(strlen(d30), 30);
    buf_init(&out, 1024);
    assert_int_equal(i18n_render(I18N_EN, "SUMMARY", vals, 7, &out), 0);
    assert_int_equal(smsenc_analyse(out.data, out.len, &info), 0);
    assert_int_equal(info.coding, SMSENC_GSM7);
    assert_true(info.units <= 160);
    buf_reset(&out);
    assert_int_equal(i18n_render(I18N_EN, "MONTHLY", vals, 5, &out), 0);
    assert_int_equal(smsenc_analyse(out.data, out.len, &info), 0);
    assert_true(info.units <= 160);
    buf_free(&out);
}

static void test_render_rules(void **state)
{
    struct buf out;
    const char *vals[7] = {"Niwari", "Dec 2024", "17,219", "43", "245", "99.9", "48"};
    const char *v31[1] = {"abcdefghijklmnopqrstuvwxyzABCDE"};
    const char *deva30[1] = {"कखगघङचछजझञटठडढणतथदधनपफबभमयरलवश"};
    const char *deva31[1] = {"कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशष"};
    const char *ctl[1] = {"Niwari\nSTOP"};
    const char *badutf[1] = {"Niw\xC3"};
    (void)state;

    buf_init(&out, 1024);
    assert_int_equal(i18n_render(I18N_EN, "SUMMARY", vals, 7, &out), 0);
    assert_string_equal(buf_cstr(&out),
                        "NREGA Niwari Dec 2024: 17,219 families got work. Avg 43 of 100 days "
                        "each. Wage Rs 245/day. 99.9% paid in 15 days. State avg 48 days.");

    /* a NULL figure leaves its segment out: no "Wage", no 0 */
    vals[4] = NULL;
    buf_reset(&out);
    assert_int_equal(i18n_render(I18N_EN, "SUMMARY", vals, 7, &out), 0);
    assert_null(strstr(buf_cstr(&out), "Wage"));
    assert_non_null(strstr(buf_cstr(&out), "days each. 99.9% paid"));
    vals[4] = "245";

    /* Hindi, with Latin digits */
    buf_reset(&out);
    vals[0] = "निवाड़ी";
    vals[1] = "दिसंबर 2024";
    assert_int_equal(i18n_render(I18N_HI, "SUMMARY", vals, 7, &out), 0);
    assert_string_equal(buf_cstr(&out), "निवाड़ी दिसंबर 2024: 17,219 परिवारों को काम। औसत 43 दिन "
                                        "(100 में से)। मजदूरी 245 रु रोज। समय पर भुगतान 99.9%। "
                                        "राज्य औसत 48 दिन।");
    /* every figure missing: only the heading is left */
    vals[2] = vals[3] = vals[4] = vals[5] = vals[6] = NULL;
    buf_reset(&out);
    assert_int_equal(i18n_render(I18N_HI, "SUMMARY", vals, 7, &out), 0);
    assert_string_equal(buf_cstr(&out), "निवाड़ी दिसंबर 2024:");

    /* a NULL for a mandatory variable, wrong counts, unknown ids: refused, out unchanged */
    buf_reset(&out);
    assert_int_equal(buf_puts(&out, "keep"), 0);
    vals[0] = NULL;
    assert_int_equal(i18n_render(I18N_EN, "SUMMARY", vals, 7, &out), -1);
    vals[0] = "Niwari";
    assert_int_equal(i18n_render(I18N_EN, "SUMMARY", vals, 6, &out), -1);
    assert_int_equal(i18n_render(I18N_EN, "SUMMARY", vals, 8, &out), -1);
    assert_int_equal(i18n_render(I18N_EN, "HELP", vals, 1, &out), -1);
    assert_int_equal(i18n_render(I18N_EN, "NO_SUCH", NULL, 0, &out), -1);
    assert_int_equal(i18n_render((enum i18n_lang)7, "HELP", NULL, 0, &out), -1);
    /* over 30 characters; 30 Devanagari characters (90 bytes) are fine, 31 are not */
    assert_int_equal(i18n_render(I18N_EN, "NODATA", v31, 1, &out), -1);
    assert_int_equal(i18n_render(I18N_EN, "NODATA", deva31, 1, &out), -1);
    assert_int_equal(i18n_render(I18N_EN, "NODATA", ctl, 1, &out), -1);
    assert_int_equal(i18n_render(I18N_EN, "NODATA", badutf, 1, &out), -1);
    assert_string_equal(buf_cstr(&out), "keep");
    assert_int_equal(i18n_render(I18N_HI, "NODATA", deva30, 1, &out), 0);
    assert_true(strncmp(buf_cstr(&out), "keepकखग", strlen("keepकखग")) == 0);
    buf_free(&out);

    /* the output cap: refused, buffer unchanged */
    buf_init(&out, 20);
    assert_int_equal(buf_puts(&out, "x"), 0);
    assert_int_equal(i18n_render(I18N_EN, "HELP", NULL, 0, &out), -1);
    assert_string_equal(buf_cstr(&out), "x");
    buf_free(&out);
}

static void test_dlt_list(void **state)
{
    struct buf out;
    size_t lines = 0, expect = 0, i;
    const char *p;
    (void)state;

    buf_init(&out, 64 * 1024);
    assert_int_equal(i18n_dlt_list(&out), 0);
    for (p = buf_cstr(&out); *p != '\0'; p++)
        lines += *p == '\n';
    for (i = 0; i < i18n_count(); i++)
        expect += (size_t)I18N_NLANGS << i18n_nsegments(i18n_id_at(i));
    assert_int_equal(lines, expect);
    /* SUMMARY has 5 optional segments: variants 0..31 */
    assert_non_null(
        strstr(buf_cstr(&out), "\nen SUMMARY.31 NREGA {#var#} {#var#}: {#var#} families"));
    assert_non_null(strstr(buf_cstr(&out), "en SUMMARY.0 NREGA {#var#} {#var#}:\n"));
    assert_non_null(strstr(buf_cstr(&out), "\nhi HELP जिले का नाम भेजें"));
    assert_null(strstr(buf_cstr(&out), "{?"));

    /* assets/templates/dlt.txt, the list an operator registers, is up to date
     * (HISAAB_UPDATE_DLT=1 rewrites it) */
    {
        char path[4300], *file;
        FILE *f;
        long size;

        snprintf(path, sizeof(path), "%s/dlt.txt", tmpl_dir);
        if (getenv("HISAAB_UPDATE_DLT") != NULL) {
            f = fopen(path, "w");
            assert_non_null(f);
            assert_int_equal(fwrite(out.data, 1, out.len, f), out.len);
            fclose(f);
        }
        f = fopen(path, "r");
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        size = ftell(f);
        rewind(f);
        file = calloc(1, (size_t)size + 1);
        assert_non_null(file);
        assert_int_equal(fread(file, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        if (strcmp(file, buf_cstr(&out)) != 0)
            fail_msg("%s is stale: run HISAAB_UPDATE_DLT=1 build/tests/test_i18n", path);
        free(file);
    }
    buf_free(&out);
}

/* --- loader errors --- */

static char tdir[64];

static void write_file(const char *name, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loading en/hi texts fails with an error containing `want`. */
static void expect_error(const char *en, const char *hi, const char *want)
{
    char err[512];

    write_file("en.txt", en);
    write_file("hi.txt", hi);
    assert_int_equal(i18n_load(tdir, err, sizeof(err)), -1);
    if (strstr(err, want) == NULL)
        fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_loader_errors(void **state)
{
    const char *ok = "# c\n\nA = Hello {#var#}.\nB = Bye{? {#var#} days?}.\n";
    char err[512];
    struct buf out;
    const char *one[1] = {"x"};
    (void)state;

    snprintf(tdir, sizeof(tdir), "/tmp/hisaab_i18n_XXXXXX");
    assert_non_null(mkdtemp(tdir));

    expect_error("A = x\nno equals here\n", ok, "en.txt:2: expected 'ID = text'");
    expect_error("A = x\nb = y\n", ok, "en.txt:2: template ID may only hold");
    expect_error("A = x\nB = \n", ok, "en.txt:2: empty template text");
    expect_error("A = {var}\n", ok, "en.txt:1: stray brace");
    expect_error("A = {#val#}\n", ok, "en.txt:1: stray brace");
    expect_error("A = x{? y\n", ok, "en.txt:1: '{?' not closed");
    expect_error("A = x{? {? {#var#}?}?}\n", ok, "en.txt:1: optional segments do not nest");
    expect_error("A = x{? y?}\n", ok, "en.txt:1: optional segment without a variable");
    expect_error("A = x?}\n", ok, "en.txt:1: '?}' without '{?'");
    expect_error("A = x\xC3\n", ok, "en.txt:1: invalid UTF-8");
    expect_error("A = x\tb\n", ok, "en.txt:1: control character");
    expect_error("\n\nA = x\nA = y\n", ok, "en.txt:4: duplicate template ID");
    expect_error(ok, "A = Hallo {#var#}.\n", "hi.txt: template B missing");
    expect_error("A = Hello {#var#}.\n", ok, "en.txt: template B missing");
    expect_error(ok, "A = Hallo {#var#} {#var#}.\nB = Tschuess{? {#var#}?}.\n",
                 "hi.txt: template A: variables or optional segments differ");
    expect_error(ok, "A = Hallo {#var#}.\nB = Tschuess {#var#}.\n",
                 "hi.txt: template B: variables or optional segments differ");
    expect_error("", ok, "en.txt: no templates");
    assert_int_equal(i18n_load("/tmp/nonexistent_hisaab_dir", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/tmp/nonexistent_hisaab_dir/en.txt: "));

    /* a failed load kept the shipped tables */
    assert_non_null(i18n_text(I18N_EN, "SUMMARY"));

    /* a good pair replaces them; a BOM and CRLF line ends are accepted */
    write_file("en.txt", "\xEF\xBB\xBF"
                         "A = Hello {#var#}.\r\nB = Bye{? {#var#} days?}.\r\n");
    write_file("hi.txt", ok);
    assert_int_equal(i18n_load(tdir, err, sizeof(err)), 0);
    assert_int_equal(i18n_count(), 2);
    assert_null(i18n_text(I18N_EN, "SUMMARY"));
    buf_init(&out, 100);
    assert_int_equal(i18n_render(I18N_EN, "A", one, 1, &out), 0);
    assert_string_equal(buf_cstr(&out), "Hello x.");
    buf_free(&out);

    snprintf(err, sizeof(err), "%s/en.txt", tdir);
    unlink(err);
    snprintf(err, sizeof(err), "%s/hi.txt", tdir);
    unlink(err);
    rmdir(tdir);
    /* back to the shipped templates for the other tests */
    assert_int_equal(i18n_load(tmpl_dir, err, sizeof(err)), 0);
}

static void test_group_indian(void **state)
{
    static const struct {
        long long v;
        const char *s;
    } cases[] = {
        {0, "0"},
        {7, "7"},
        {999, "999"},
        {1000, "1,000"},
        {12345, "12,345"},
        {99999, "99,999"},
        {100000, "1,00,000"},
        {123456, "1,23,456"},
        {1234567, "12,34,567"},
        {17219, "17,219"},
        {194491, "1,94,491"},
        {10000000, "1,00,00,000"},
        {123456789, "12,34,56,789"},
        {-5, "-5"},
        {-999, "-999"},
        {-1000, "-1,000"},
        {-123456, "-1,23,456"},
        {LLONG_MAX, "92,23,37,20,36,85,47,75,807"},
        {LLONG_MIN, "-92,23,37,20,36,85,47,75,808"},
    };
    char out[32];
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(i18n_group_indian(cases[i].v, out, sizeof(out)), 0);
        assert_string_equal(out, cases[i].s);
    }
    /* too small: refused, empty string */
    assert_int_equal(i18n_group_indian(123456, out, 8), -1);
    assert_string_equal(out, "");
    assert_int_equal(i18n_group_indian(123456, out, 9), 0);
    assert_string_equal(out, "1,23,456");
    assert_int_equal(i18n_group_indian(1, out, 0), -1);
}

static void test_months_and_langs(void **state)
{
    enum i18n_lang l;
    (void)state;

    assert_string_equal(i18n_month_name(I18N_EN, 1), "January");
    assert_string_equal(i18n_month_name(I18N_EN, 12), "December");
    assert_string_equal(i18n_month_name(I18N_HI, 1), "जनवरी");
    assert_string_equal(i18n_month_name(I18N_HI, 12), "दिसंबर");
    assert_string_equal(i18n_month_short(I18N_EN, 9), "Sep");
    assert_string_equal(i18n_month_short(I18N_HI, 9), "सितंबर");
    assert_null(i18n_month_name(I18N_EN, 0));
    assert_null(i18n_month_name(I18N_HI, 13));
    assert_null(i18n_month_short(I18N_EN, -1));
    assert_null(i18n_month_name((enum i18n_lang)5, 3));

    assert_string_equal(i18n_lang_code(I18N_HI), "hi");
    assert_null(i18n_lang_code((enum i18n_lang)9));
    assert_int_equal(i18n_lang_parse("EN", &l), 0);
    assert_int_equal(l, I18N_EN);
    assert_int_equal(i18n_lang_parse("hi", &l), 0);
    assert_int_equal(l, I18N_HI);
    assert_int_equal(i18n_lang_parse("fr", &l), -1);
    assert_int_equal(i18n_lang_parse(NULL, &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_template_longest_values),
        cmocka_unit_test(test_english_fits_any_district),
        cmocka_unit_test(test_render_rules),
        cmocka_unit_test(test_dlt_list),
        cmocka_unit_test(test_loader_errors),
        cmocka_unit_test(test_group_indian),
        cmocka_unit_test(test_months_and_langs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
