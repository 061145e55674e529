/*
 * Unit tests for src/text/smscmd.c: a table of real-looking inbound texts (English, romanised
 * Hindi, Devanagari, keywords, codes, punctuation, STOP in every form) with the command,
 * argument and script each must give; invalid UTF-8; and that the argument is a slice of
 * the input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "text/smscmd.h"

#define L SMSCMD_SCRIPT_LATIN
#define D SMSCMD_SCRIPT_DEVANAGARI
#define N SMSCMD_SCRIPT_NONE

static const struct {
    const char *text;
    enum smscmd_kind kind;
    const char *arg; /* NULL: no argument */
    enum smscmd_script script;
} cases[] = {
    /* district queries, with and without keywords */
    {"NREGA Niwari", SMSCMD_QUERY, "Niwari", L},
    {"niwari", SMSCMD_QUERY, "niwari", L},
    {"निवाड़ी", SMSCMD_QUERY, "निवाड़ी", D},
    {"1752", SMSCMD_QUERY, "1752", N},
    {"nrega 1752", SMSCMD_QUERY, "1752", L},
    {"MGNREGA  Tikamgarh ", SMSCMD_QUERY, "Tikamgarh", L},
    {"Mnrega tikamgarh.", SMSCMD_QUERY, "tikamgarh", L},
    {"नरेगा निवाड़ी", SMSCMD_QUERY, "निवाड़ी", D},
    {"मनरेगा छिंदवाड़ा।", SMSCMD_QUERY, "छिंदवाड़ा", D},
    {"Agar Malwa NREGA", SMSCMD_QUERY, "Agar Malwa", L},
    {"nrega: agar-malwa!", SMSCMD_QUERY, "agar-malwa", L},
    {"\"Niwari\"", SMSCMD_QUERY, "Niwari", L},
    {"NREGA\tEast Nimar\r\n", SMSCMD_QUERY, "East Nimar", L},
    {"nivadi", SMSCMD_QUERY, "nivadi", L},
    {"NREGA NIWARI MP", SMSCMD_QUERY, "NIWARI MP", L},
    {"Hindi Niwari", SMSCMD_QUERY, "Hindi Niwari", L},
    {"niwari \xC2\xA0", SMSCMD_QUERY, "niwari", L},
    /* help */
    {"HELP", SMSCMD_HELP, NULL, L},
    {"help", SMSCMD_HELP, NULL, L},
    {"Help?", SMSCMD_HELP, NULL, L},
    {"NREGA HELP", SMSCMD_HELP, NULL, L},
    {"मदद", SMSCMD_HELP, NULL, D},
    {"मदद।", SMSCMD_HELP, NULL, D},
    /* language */
    {"HINDI", SMSCMD_LANG_HI, NULL, L},
    {"hindi.", SMSCMD_LANG_HI, NULL, L},
    {"हिंदी", SMSCMD_LANG_HI, NULL, D},
    {"हिन्दी", SMSCMD_LANG_HI, NULL, D},
    {"ENGLISH", SMSCMD_LANG_EN, NULL, L},
    {"English", SMSCMD_LANG_EN, NULL, L},
    {"अंग्रेजी", SMSCMD_LANG_EN, NULL, D},
    {"अंग्रेज़ी", SMSCMD_LANG_EN, NULL, D}, /* with nukta */
    {"\xE0\xA4\x85\xE0\xA4\x82\xE0\xA4\x97\xE0\xA5\x8D\xE0\xA4\xB0\xE0\xA5\x87\xE0\xA5\x9B"
     "\xE0\xA5\x80",
     SMSCMD_LANG_EN, NULL, D}, /* precomposed ज़ (U+095B) */
    /* subscribe */
    {"SUB Niwari", SMSCMD_SUB, "Niwari", L},
    {"sub niwari", SMSCMD_SUB, "niwari", L},
    {"Sub NREGA Agar Malwa.", SMSCMD_SUB, "Agar Malwa", L},
    {"SUB 1752", SMSCMD_SUB, "1752", L}, /* the keyword is written in Latin */
    {"SUB", SMSCMD_SUB, NULL, L},
    {"subscribe निवाड़ी", SMSCMD_SUB, "निवाड़ी", D},
    /* stop, in any case, language and punctuation, anywhere */
    {"STOP", SMSCMD_STOP, NULL, L},
    {"stop", SMSCMD_STOP, NULL, L},
    {"Stop.", SMSCMD_STOP, NULL, L},
    {"STOP ", SMSCMD_STOP, NULL, L},
    {"  sToP!!", SMSCMD_STOP, NULL, L},
    {"please stop", SMSCMD_STOP, NULL, L},
    {"NREGA STOP", SMSCMD_STOP, NULL, L},
    {"SUB STOP", SMSCMD_STOP, NULL, L},
    {"unsubscribe", SMSCMD_STOP, NULL, L},
    {"रोकें", SMSCMD_STOP, NULL, D},
    {"बंद", SMSCMD_STOP, NULL, D},
    {"बन्द करो।", SMSCMD_STOP, NULL, D},
    {"संदेश बंद करें", SMSCMD_STOP, NULL, D},
    {"(STOP)", SMSCMD_STOP, NULL, L},
    /* nothing usable */
    {"", SMSCMD_EMPTY, NULL, N},
    {"   ", SMSCMD_EMPTY, NULL, N},
    {"...?!", SMSCMD_EMPTY, NULL, N},
    {"NREGA", SMSCMD_EMPTY, NULL, L},
    {"नरेगा।", SMSCMD_EMPTY, NULL, D},
    /* words that only look like keywords stay queries */
    {"Stopwatch", SMSCMD_QUERY, "Stopwatch", L},
    {"Banda", SMSCMD_QUERY, "Banda", L},
    {"Subarnapur", SMSCMD_QUERY, "Subarnapur", L},
    {"Helpline", SMSCMD_QUERY, "Helpline", L},
    /* the script of the district typed decides; Devanagari when it has more letters */
    {"NREGA निवाड़ी", SMSCMD_QUERY, "निवाड़ी", D},
    {"नरेगा Niwari", SMSCMD_QUERY, "Niwari", L},
    {"नरेगा 1752", SMSCMD_QUERY, "1752", D}, /* no letters in the code: the keyword's script */
    {"Niwari निवाड़ी", SMSCMD_QUERY, "Niwari निवाड़ी", D},
};

static void test_table(void **state)
{
    struct smscmd c;
    size_t i;
    (void)state;

    assert_true(sizeof(cases) / sizeof(cases[0]) >= 30);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *t = cases[i].text;
        size_t len = strlen(t);

        if (smscmd_parse(t, len, &c) != 0)
            fail_msg("case %zu '%s': parse failed", i, t);
        if (c.kind != cases[i].kind)
            fail_msg("case %zu '%s': kind %s, want %s", i, t, smscmd_kind_name(c.kind),
                     smscmd_kind_name(cases[i].kind));
        if (cases[i].arg == NULL) {
            if (c.arg.len != 0 || c.arg.ptr != NULL)
                fail_msg("case %zu '%s': unexpected arg '%.*s'", i, t, (int)c.arg.len, c.arg.ptr);
        } else {
            if (c.arg.len != strlen(cases[i].arg) ||
                memcmp(c.arg.ptr, cases[i].arg, c.arg.len) != 0)
                fail_msg("case %zu '%s': arg '%.*s', want '%s'", i, t, (int)c.arg.len,
                         c.arg.ptr == NULL ? "" : c.arg.ptr, cases[i].arg);
            /* borrowed from the input */
            assert_true(c.arg.ptr >= t && c.arg.ptr + c.arg.len <= t + len);
        }
        if (c.script != cases[i].script)
            fail_msg("case %zu '%s': script %d, want %d", i, t, c.script, cases[i].script);
    }
}

static void test_invalid_utf8(void **state)
{
    struct smscmd c;
    (void)state;

    assert_int_equal(smscmd_parse("STOP \xFF", 6, &c), -1);
    assert_int_equal(c.kind, SMSCMD_EMPTY);
    assert_null(c.arg.ptr);
    assert_int_equal(smscmd_parse("\xE0\xA4", 2, &c), -1);
    /* not NUL-terminated: only len bytes are read */
    assert_int_equal(smscmd_parse("STOPXYZ", 4, &c), 0);
    assert_int_equal(c.kind, SMSCMD_STOP);
}

static void test_long_text(void **state)
{
    char text[2000];
    struct smscmd c;
    size_t n = 0, i;
    (void)state;

    /* more words than the parser tracks: the query still covers the whole text */
    for (i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "w%zu ", i);
    assert_int_equal(smscmd_parse(text, n, &c), 0);
    assert_int_equal(c.kind, SMSCMD_QUERY);
    assert_ptr_equal(c.arg.ptr, text);
    assert_int_equal(c.arg.len, n - 1);

    /* a trailing STOP after many words is still seen */
    n = 0;
    for (i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "w%zu ", i);
    n += (size_t)snprintf(text + n, sizeof(text) - n, "STOP");
    assert_int_equal(smscmd_parse(text, n, &c), 0);
    assert_int_equal(c.kind, SMSCMD_STOP);
}

static void test_kind_names(void **state)
{
    (void)state;
    assert_string_equal(smscmd_kind_name(SMSCMD_STOP), "stop");
    assert_string_equal(smscmd_kind_name(SMSCMD_QUERY), "query");
    assert_string_equal(smscmd_kind_name((enum smscmd_kind)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_long_text),
        cmocka_unit_test(test_kind_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
