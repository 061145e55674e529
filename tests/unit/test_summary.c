/*
 * Unit tests for text/summary.c: a district's figures as the replies show them (Indian
 * grouping, rounding, missing figures left out, NODATA, the 100% cap), from the summary
 * JSON the directory holds; and directory_state_short().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "data/directory.h"
#include "text/i18n.h"
#include "text/summary.h"

static int setup(void **state)
{
    char exe[1024], root[1024], dir[1100], err[512];
    const char *env = getenv("HISAAB_ROOT");
    ssize_t n;

    (void)state;
    if (env != NULL) {
        snprintf(root, sizeof(root), "%s", env);
    } else {
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
            return -1;
        exe[n] = '\0';
        snprintf(root, sizeof(root), "%s", dirname(dirname(dirname(exe))));
    }
    snprintf(dir, sizeof(dir), "%s/assets/templates", root);
    if (i18n_load(dir, err, sizeof(err)) != 0) {
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

#define SUMMARY_JSON(metrics, state)                                                               \
    "{\"district\":{\"id\":1752,\"name\":\"Niwari\",\"name_en\":\"Niwari\"},"                      \
    "\"fin_year\":\"2024-2025\",\"month\":\"2025-03\",\"metrics\":" metrics ",\"state\":" state    \
    "}"

static void render(enum i18n_lang lang, const char *json, const char *want)
{
    struct buf b;

    buf_init(&b, 4096);
    assert_int_equal(summary_format(lang, json, strlen(json), &b), 0);
    assert_string_equal(buf_cstr(&b), want);
    buf_free(&b);
}

static void test_format(void **state)
{
    struct buf b;

    (void)state;
    render(I18N_EN,
           SUMMARY_JSON("{\"households_worked\":1234567,\"avg_days_per_household\":48.6,"
                        "\"avg_wage_rate\":236.5,\"payments_within_15_days_pct\":99.87}",
                        "{\"avg_days_per_household\":49.49}"),
           "NREGA Niwari Mar 2025: 12,34,567 families got work. Avg 49 of 100 days each. Wage Rs "
           "237/day. 99.9% paid in 15 days. State avg 49 days.");
    /* A NULL figure is left out, never shown as 0; over 100% is shown as 100. */
    render(I18N_EN,
           SUMMARY_JSON("{\"households_worked\":null,\"avg_days_per_household\":0,"
                        "\"avg_wage_rate\":null,\"payments_within_15_days_pct\":104.2}",
                        "null"),
           "NREGA Niwari Mar 2025: Avg 0 of 100 days each. 100% paid in 15 days.");
    render(I18N_HI,
           SUMMARY_JSON("{\"households_worked\":22629}", "{\"avg_days_per_household\":null}"),
           "Niwari मार्च 2025: 22,629 परिवारों को काम।");
    /* Every figure missing: NODATA. */
    render(I18N_EN, SUMMARY_JSON("{\"households_worked\":null}", "null"),
           "NREGA Niwari: no figures yet. Please try again next month.");
    buf_init(&b, 4096);
    assert_int_equal(summary_format(I18N_EN, "[]", 2, &b), -1);
    assert_int_equal(
        summary_format(I18N_EN, "{\"district\":{\"name\":\"X\"},\"month\":\"2025-13\"}", 44, &b),
        -1);
    assert_int_equal(summary_format(I18N_EN, "not json", 8, &b), -1);
    buf_free(&b);
}

static void test_render_with_name(void **state)
{
    struct summary_facts f;
    const char *json =
        SUMMARY_JSON("{\"households_worked\":22629,\"avg_days_per_household\":49.4}", "null");
    struct buf b;

    (void)state;
    assert_int_equal(summary_facts_parse(json, strlen(json), &f), 0);
    assert_int_equal(f.year, 2025);
    assert_int_equal(f.month, 3);
    assert_true(f.have_families && f.have_days && !f.have_wage && !f.have_state_days);
    assert_true(summary_facts_any(&f));
    buf_init(&b, 4096);
    /* The channel's own name for the district (the Hindi one here) wins over the JSON's. */
    assert_int_equal(summary_render(I18N_HI, "निवाड़ी", &f, &b), 0);
    assert_string_equal(buf_cstr(&b), "निवाड़ी मार्च 2025: 22,629 परिवारों को काम। औसत 49 दिन "
                                      "(100 में से)।");
    buf_reset(&b);
    /* Rounding half away from zero, as everywhere a figure is shown. */
    assert_int_equal(summary_round(48.5), 49);
    assert_int_equal(summary_round(48.49), 48);
    assert_int_equal(summary_round(0.5), 1);
    buf_free(&b);
}

static void test_state_short(void **state)
{
    char out[16];

    (void)state;
    directory_state_short("Madhya Pradesh", out, sizeof(out));
    assert_string_equal(out, "MP");
    directory_state_short("Jammu And Kashmir", out, sizeof(out));
    assert_string_equal(out, "JK");
    directory_state_short("Dadra & Nagar Haveli", out, sizeof(out));
    assert_string_equal(out, "DNH");
    directory_state_short("Bihar", out, sizeof(out));
    assert_string_equal(out, "Bihar");
    directory_state_short("Chhattisgarhxyz", out, sizeof(out));
    assert_string_equal(out, "Chhattisgarh");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_render_with_name),
        cmocka_unit_test(test_state_short),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
