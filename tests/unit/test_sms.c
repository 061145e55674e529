/*
 * Unit tests for the pure helpers of src/sms.c: Twilio's signature (Twilio's documented
 * example), TwiML escaping, inbound text decoding in Kannel's charsets, summary
 * formatting (Indian grouping, rounding, missing figures left out, NODATA, the 100% cap),
 * clipping to the DLT 30-character limit, and Postgres array elements.
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
#include "text/i18n.h"
#include "sms/sms.h"

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

/* Twilio's documented example (docs "Webhooks security"): token 12345. */
static const struct sms_kv example[] = {
    {"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
    {"From", "+12349013030"},         {"To", "+18005551212"},
};
#define EXAMPLE_URL "https://mycompany.com/myapp.php?foo=1&bar=2"

static void test_twilio_signature(void **state)
{
    struct sms_kv shuffled[5] = {example[4], example[2], example[0], example[3], example[1]};
    char sig[32];

    (void)state;
    assert_int_equal(sms_twilio_signature("12345", EXAMPLE_URL, example, 5, sig, sizeof(sig)), 0);
    assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    /* The order the form had does not matter: parameters are sorted. */
    assert_int_equal(sms_twilio_signature("12345", EXAMPLE_URL, shuffled, 5, sig, sizeof(sig)), 0);
    assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    assert_true(sms_twilio_check("12345", EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    /* Wrong token, wrong URL, a changed value, a missing header, no token configured. */
    assert_false(
        sms_twilio_check("12346", EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(sms_twilio_check("12345", "https://mycompany.com/myapp.php?foo=1", example, 5,
                                  "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    shuffled[1].value = "1235";
    assert_false(
        sms_twilio_check("12345", EXAMPLE_URL, shuffled, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(sms_twilio_check("12345", EXAMPLE_URL, example, 5, NULL));
    assert_false(sms_twilio_check(NULL, EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(sms_twilio_check("", EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(sms_twilio_check("12345", EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
    assert_int_equal(sms_twilio_signature("12345", EXAMPLE_URL, example, 5, sig, 10), -1);
}

static void test_twiml(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(sms_twiml("Rs <5> & \"more\" निवाड़ी", &b), 0);
    assert_string_equal(buf_cstr(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                      "<Response><Message>Rs &lt;5&gt; &amp; &quot;more&quot; "
                                      "निवाड़ी</Message></Response>\n");
    buf_reset(&b);
    assert_int_equal(sms_twiml("", &b), 0);
    assert_string_equal(buf_cstr(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response/>\n");
    buf_free(&b);
    buf_init(&b, 20);
    assert_int_equal(sms_twiml("hello", &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_decode(void **state)
{
    /* "निवाड़ी" as UTF-16BE, and a character outside the BMP as a surrogate pair. */
    static const char u16[] = "\x09\x28\x09\x3f\x09\x35\x09\x3e\x09\x21\x09\x3c\x09\x40";
    static const char emoji[] = "\xd8\x3d\xde\x00";
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(sms_decode_text(u16, sizeof(u16) - 1, "UTF-16BE", &b), 0);
    assert_string_equal(buf_cstr(&b), "निवाड़ी");
    buf_reset(&b);
    assert_int_equal(sms_decode_text(emoji, 4, "UCS-2", &b), 0);
    assert_string_equal(buf_cstr(&b), "\xf0\x9f\x98\x80");
    buf_reset(&b);
    assert_int_equal(sms_decode_text("\x00N", 2, "utf-16be", &b), 0);
    assert_string_equal(buf_cstr(&b), "N");
    buf_reset(&b);
    assert_int_equal(sms_decode_text("caf\xe9", 4, "ISO-8859-1", &b), 0);
    assert_string_equal(buf_cstr(&b), "café");
    buf_reset(&b);
    assert_int_equal(sms_decode_text("NREGA Niwari", 12, NULL, &b), 0);
    assert_string_equal(buf_cstr(&b), "NREGA Niwari");
    buf_reset(&b);
    assert_int_equal(sms_decode_text("निवाड़ी", strlen("निवाड़ी"), "UTF-8", &b), 0);
    assert_string_equal(buf_cstr(&b), "निवाड़ी");
    /* Invalid input leaves out unchanged. */
    buf_reset(&b);
    assert_int_equal(sms_decode_text("caf\xe9", 4, "UTF-8", &b), -1);
    assert_int_equal(sms_decode_text("\x09", 1, "UTF-16BE", &b), -1);
    assert_int_equal(sms_decode_text("\xdc\x00\x00\x41", 4, "UTF-16BE", &b), -1);
    assert_int_equal(sms_decode_text("\xd8\x3d\x00\x41", 4, "UTF-16BE", &b), -1);
    assert_int_equal(sms_decode_text("abc", 3, "KOI8-R", &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

#define SUMMARY_JSON(metrics, state)                                                               \
    "{\"district\":{\"id\":1752,\"name\":\"Niwari\",\"name_en\":\"Niwari\"},"                      \
    "\"fin_year\":\"2024-2025\",\"month\":\"2025-03\",\"metrics\":" metrics ",\"state\":" state    \
    "}"

static void render(enum i18n_lang lang, const char *json, const char *want)
{
    struct buf b;

    buf_init(&b, 4096);
    assert_int_equal(sms_format_summary(lang, json, strlen(json), &b), 0);
    assert_string_equal(buf_cstr(&b), want);
    buf_free(&b);
}

static void test_format_summary(void **state)
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
    assert_int_equal(sms_format_summary(I18N_EN, "[]", 2, &b), -1);
    assert_int_equal(sms_format_summary(
                         I18N_EN, "{\"district\":{\"name\":\"X\"},\"month\":\"2025-13\"}", 44, &b),
                     -1);
    assert_int_equal(sms_format_summary(I18N_EN, "not json", 8, &b), -1);
    buf_free(&b);
}

static void test_clip_and_array(void **state)
{
    char out[64];
    struct buf b;

    (void)state;
    assert_int_equal(sms_clip("Niwari", 30, out, sizeof(out)), 0);
    assert_string_equal(out, "Niwari");
    assert_int_equal(sms_clip("abcdef", 3, out, sizeof(out)), 0);
    assert_string_equal(out, "abc");
    /* "निवाड़ी" is 7 code points; a cut at 4 would split "वा" from its sign: cut before "वा". */
    assert_int_equal(sms_clip("निवाड़ी", 4, out, sizeof(out)), 0);
    assert_string_equal(out, "निवा");
    assert_int_equal(sms_clip("निवाड़ी", 3, out, sizeof(out)), 0);
    assert_string_equal(out, "नि");
    assert_int_equal(sms_clip("ab\xff", 30, out, sizeof(out)), -1);
    buf_init(&b, 256);
    assert_int_equal(sms_pg_array_elem("a\"b\\c,{}", &b), 0);
    assert_int_equal(sms_pg_array_elem(NULL, &b), 0);
    assert_string_equal(buf_cstr(&b), "\"a\\\"b\\\\c,{}\"NULL");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twilio_signature), cmocka_unit_test(test_twiml),
        cmocka_unit_test(test_decode),           cmocka_unit_test(test_format_summary),
        cmocka_unit_test(test_clip_and_array),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
