/*
 * Unit tests for text/speech.c: numbers in the Indian system as clip ids (every value's ids
 * read back to the value, the edge cases), the summary's clip sequence for full and missing
 * figures in both languages with the SMS's rounding, and the clip library's manifest
 * (audio/clips.tsv): every id the module can return is there in both languages, and the
 * words of the clips, joined, say the numbers and the summary as a person would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text/speech.h"

/* ---- helpers ------------------------------------------------------------------------ */

/* ids[0..n) joined by single spaces into out. */
static void join(const char **ids, size_t n, char *out, size_t len)
{
    size_t i, used = 0;

    out[0] = '\0';
    for (i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? " " : "", ids[i]);
    assert_true(used < len);
}

static void number_is(long long v, const char *want)
{
    const char *ids[SPEECH_NUMBER_IDS];
    char got[256];
    size_t n = 99;

    assert_int_equal(speech_number(v, ids, SPEECH_NUMBER_IDS, &n), 0);
    join(ids, n, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("%lld: got \"%s\", want \"%s\"", v, got, want);
}

/* The value ids[0..n) say, or -1 when they are not a well-formed Indian-system number:
 * groups highest first, each once, no zero group, a group's count in its range. */
static long long value_of(const char **ids, size_t n)
{
    static const char *const words[] = {"crore", "lakh", "thousand", "hundred"};
    static const long long unit[] = {10000000, 100000, 1000, 100};
    static const int most[] = {99, 99, 99, 9};
    long long v = 0;
    size_t i = 0, g = 0;
    int k;

    if (n == 1 && strcmp(ids[0], "n0") == 0)
        return 0;
    while (i < n) {
        if (ids[i][0] != 'n' || sscanf(ids[i], "n%d", &k) != 1 || k < 1 || k > 99)
            return -1;
        if (i + 1 == n) {
            v += k;
            break;
        }
        while (g < 4 && strcmp(ids[i + 1], words[g]) != 0)
            g++;
        if (g == 4 || k > most[g])
            return -1;
        v += k * unit[g];
        g++;
        i += 2;
    }
    return v;
}

static void number_round_trips(long long v)
{
    const char *ids[SPEECH_NUMBER_IDS];
    size_t n;

    if (speech_number(v, ids, SPEECH_NUMBER_IDS, &n) != 0)
        fail_msg("%lld: speech_number failed", v);
    if (n == 0 || n > SPEECH_NUMBER_IDS || value_of(ids, n) != v)
        fail_msg("%lld: ids say %lld", v, value_of(ids, n));
}

static struct summary_facts full_facts(void)
{
    struct summary_facts f;

    memset(&f, 0, sizeof(f));
    f.year = 2025;
    f.month = 3;
    f.have_families = f.have_days = f.have_wage = f.have_paid = f.have_state_days = 1;
    f.families = 22629;
    f.days = 48.5;
    f.wage = 243.2;
    f.paid_pct = 99.4;
    f.state_days = 45.49;
    return f;
}

static void summary_is(enum i18n_lang lang, const struct summary_facts *f, const char *want)
{
    const char *ids[SPEECH_SUMMARY_IDS];
    char got[2048];
    size_t n = 99;

    assert_int_equal(speech_summary(lang, "d1752", f, ids, SPEECH_SUMMARY_IDS, &n), 0);
    join(ids, n, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fail_msg("got  \"%s\"\nwant \"%s\"", got, want);
}

/* ---- numbers -------------------------------------------------------------------------- */

static void test_number_examples(void **state)
{
    (void)state;
    number_is(0, "n0");
    number_is(9, "n9");
    number_is(10, "n10");
    number_is(99, "n99");
    number_is(100, "n1 hundred");
    number_is(101, "n1 hundred n1");
    number_is(999, "n9 hundred n99");
    number_is(1000, "n1 thousand");
    number_is(1001, "n1 thousand n1");
    number_is(22629, "n22 thousand n6 hundred n29");
    number_is(99999, "n99 thousand n9 hundred n99");
    number_is(100000, "n1 lakh");
    number_is(100001, "n1 lakh n1");
    number_is(200005, "n2 lakh n5");
    number_is(1000000, "n10 lakh");
    number_is(9999999, "n99 lakh n99 thousand n9 hundred n99");
    number_is(10000000, "n1 crore");
    number_is(12345678, "n1 crore n23 lakh n45 thousand n6 hundred n78");
    number_is(100000100, "n10 crore n1 hundred");
    number_is(999999999, "n99 crore n99 lakh n99 thousand n9 hundred n99");
    number_is(2025, "n2 thousand n25");
}

static void test_number_range(void **state)
{
    long long v;

    (void)state;
    /* every value up to two lakh, then a stride (prime) over the rest of the range */
    for (v = 0; v <= 200000; v++)
        number_round_trips(v);
    for (v = 200000; v <= SPEECH_NUMBER_MAX; v += 9973)
        number_round_trips(v);
    number_round_trips(SPEECH_NUMBER_MAX);
}

static void test_number_errors(void **state)
{
    const char *ids[SPEECH_NUMBER_IDS];
    size_t n = 5;

    (void)state;
    assert_int_equal(speech_number(-1, ids, SPEECH_NUMBER_IDS, &n), -1);
    assert_int_equal(n, 0);
    assert_int_equal(speech_number(SPEECH_NUMBER_MAX + 1, ids, SPEECH_NUMBER_IDS, &n), -1);
    /* nine ids: eight places are too few, nine are enough */
    assert_int_equal(speech_number(999999999, ids, 8, &n), -1);
    assert_int_equal(n, 0);
    assert_int_equal(speech_number(999999999, ids, 9, &n), 0);
    assert_int_equal(n, 9);
    assert_int_equal(speech_number(0, ids, 0, &n), -1);
    assert_int_equal(speech_number(0, ids, 1, &n), 0);
    assert_int_equal(n, 1);
}

static void test_single_ids(void **state)
{
    char d[SPEECH_ID_MAX];

    (void)state;
    assert_string_equal(speech_number_id(0), "n0");
    assert_string_equal(speech_number_id(45), "n45");
    assert_string_equal(speech_number_id(99), "n99");
    assert_null(speech_number_id(-1));
    assert_null(speech_number_id(100));
    assert_string_equal(speech_month_id(1), "m1");
    assert_string_equal(speech_month_id(12), "m12");
    assert_null(speech_month_id(0));
    assert_null(speech_month_id(13));
    assert_int_equal(speech_district_id(1752, d, sizeof(d)), 0);
    assert_string_equal(d, "d1752");
    assert_int_equal(speech_district_id(0, d, sizeof(d)), -1);
    assert_int_equal(speech_district_id(1752, d, 5), -1);
    assert_string_equal(d, "");
}

/* ---- the summary ---------------------------------------------------------------------- */

#define HEAD "d1752 sil250 m3 n2 thousand n25"
#define FAM " sil500 n22 thousand n6 hundred n29 s_families"
#define DAYS " sil500 s_days_a n49 s_days_b"
#define WAGE " sil500 s_wage_a n2 hundred n43 s_wage_b"
#define PAID " sil500 n99 s_paid"
#define STATE " sil500 s_state_a n45 s_state_b"

static void test_summary_full(void **state)
{
    struct summary_facts f = full_facts();

    (void)state;
    /* days 48.5 -> 49 and state days 45.49 -> 45 (summary_round), paid 99.4 -> 99 */
    summary_is(I18N_EN, &f, HEAD FAM DAYS WAGE PAID STATE);
    summary_is(I18N_HI, &f, HEAD FAM DAYS WAGE PAID STATE);
    /* the name in the facts is not said: the district's clip is */
    snprintf(f.name, sizeof(f.name), "Niwari");
    summary_is(I18N_HI, &f, HEAD FAM DAYS WAGE PAID STATE);
}

static void test_summary_missing(void **state)
{
    struct summary_facts f;
    enum i18n_lang langs[2] = {I18N_EN, I18N_HI};
    int i;

    (void)state;
    for (i = 0; i < 2; i++) {
        f = full_facts();
        f.have_families = 0;
        summary_is(langs[i], &f, HEAD " sil500 s_no_families" DAYS WAGE PAID STATE);
        f = full_facts();
        f.have_days = 0;
        summary_is(langs[i], &f, HEAD FAM " sil500 s_no_days" WAGE PAID STATE);
        f = full_facts();
        f.have_wage = 0;
        summary_is(langs[i], &f, HEAD FAM DAYS " sil500 s_no_wage" PAID STATE);
        f = full_facts();
        f.have_paid = 0;
        summary_is(langs[i], &f, HEAD FAM DAYS WAGE " sil500 s_no_paid" STATE);
        f = full_facts();
        f.have_state_days = 0;
        summary_is(langs[i], &f, HEAD FAM DAYS WAGE PAID " sil500 s_no_state");
        /* one figure left: the others each get their sentence */
        f = full_facts();
        f.have_families = f.have_days = f.have_paid = f.have_state_days = 0;
        summary_is(langs[i], &f,
                   HEAD " sil500 s_no_families sil500 s_no_days" WAGE
                        " sil500 s_no_paid sil500 s_no_state");
        /* none at all: what the SMS's NODATA says */
        f.have_wage = 0;
        summary_is(langs[i], &f, "d1752 sil250 s_nodata");
    }
}

static void test_summary_rounding(void **state)
{
    struct summary_facts f;

    (void)state;
    f = full_facts();
    /* the share paid: whole, half away from zero, 100 from 99.5 up and never over it */
    f.paid_pct = 99.87;
    summary_is(I18N_EN, &f, HEAD FAM DAYS WAGE " sil500 n1 hundred s_paid" STATE);
    f.paid_pct = 99.5;
    summary_is(I18N_EN, &f, HEAD FAM DAYS WAGE " sil500 n1 hundred s_paid" STATE);
    f.paid_pct = 99.49;
    summary_is(I18N_EN, &f, HEAD FAM DAYS WAGE PAID STATE);
    f.paid_pct = 104.2;
    summary_is(I18N_EN, &f, HEAD FAM DAYS WAGE " sil500 n1 hundred s_paid" STATE);
    f.paid_pct = 0.4;
    summary_is(I18N_EN, &f, HEAD FAM DAYS WAGE " sil500 n0 s_paid" STATE);
    f.paid_pct = 12.5;
    summary_is(I18N_EN, &f, HEAD FAM DAYS WAGE " sil500 n13 s_paid" STATE);
    /* days, wage and state days as summary_round() (the SMS) rounds them */
    f = full_facts();
    f.days = 48.49;
    f.wage = 236.5;
    f.state_days = 0.5;
    assert_int_equal(summary_round(48.49), 48);
    summary_is(I18N_HI, &f,
               HEAD FAM " sil500 s_days_a n48 s_days_b sil500 s_wage_a n2 hundred n37 s_wage_b" PAID
                        " sil500 s_state_a n1 s_state_b1");
    /* one family, one day: the singular parts */
    f = full_facts();
    f.families = 1;
    f.days = 1.2;
    summary_is(I18N_EN, &f,
               HEAD " sil500 n1 s_families1 sil500 s_days_a n1 s_days_b1" WAGE PAID STATE);
    /* the largest figures that can be said, and a date in another month and year */
    f = full_facts();
    f.month = 12;
    f.year = 2024;
    f.families = SPEECH_NUMBER_MAX;
    summary_is(I18N_EN, &f,
               "d1752 sil250 m12 n2 thousand n24 sil500 n99 crore n99 lakh n99 thousand n9 "
               "hundred n99 s_families" DAYS WAGE PAID STATE);
}

static void test_summary_errors(void **state)
{
    const char *ids[SPEECH_SUMMARY_IDS];
    struct summary_facts f;
    size_t n = 7;

    (void)state;
    f = full_facts();
    assert_int_equal(speech_summary((enum i18n_lang)5, "d1752", &f, ids, 64, &n), -1);
    assert_int_equal(n, 0);
    assert_int_equal(speech_summary(I18N_EN, NULL, &f, ids, 64, &n), -1);
    assert_int_equal(speech_summary(I18N_EN, "", &f, ids, 64, &n), -1);
    assert_int_equal(speech_summary(I18N_EN, "d1752", NULL, ids, 64, &n), -1);
    f.month = 13;
    assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, 64, &n), -1);
    f = full_facts();
    f.year = 0;
    assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, 64, &n), -1);
    f = full_facts();
    f.families = SPEECH_NUMBER_MAX + 1;
    assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, 64, &n), -1);
    f = full_facts();
    f.days = -1;
    assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, 64, &n), -1);
    f = full_facts();
    f.wage = NAN;
    assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, 64, &n), -1);
    f = full_facts();
    f.state_days = 1e12;
    assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, 64, &n), -1);
    /* a missing figure's value is not looked at */
    f.have_state_days = 0;
    assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, 64, &n), 0);
    /* too few places: fails whole, whatever the cut */
    f = full_facts();
    assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, 64, &n), 0);
    while (n-- > 0) {
        size_t m = 3;

        assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, n, &m), -1);
        assert_int_equal(m, 0);
    }
}

static void test_summary_longest(void **state)
{
    const char *ids[SPEECH_SUMMARY_IDS];
    struct summary_facts f = full_facts();
    size_t n;

    (void)state;
    /* every figure at its longest said form still fits SPEECH_SUMMARY_IDS */
    f.year = 9999;
    f.families = 999999999;
    f.days = 999999999;
    f.wage = 999999999;
    f.paid_pct = 99;
    f.state_days = 999999999;
    assert_int_equal(speech_summary(I18N_HI, "d1752", &f, ids, SPEECH_SUMMARY_IDS, &n), 0);
    assert_true(n <= SPEECH_SUMMARY_IDS);
}

/* ---- the manifest --------------------------------------------------------------------- */

#define MAX_CLIPS 1024

struct clip {
    char id[SPEECH_ID_MAX];
    char lang[8];
    char words[512];
};

static struct clip clips[MAX_CLIPS];
static size_t nclips;

/* s into out (len bytes); -1 when it does not fit. */
static int copy(char *out, size_t len, const char *s)
{
    size_t n = strlen(s);

    if (n >= len)
        return -1;
    memcpy(out, s, n + 1);
    return 0;
}

static int load_manifest(void **state)
{
    char exe[1024], root[1024], path[1100], line[1024];
    const char *env = getenv("HISAAB_ROOT");
    char *tab1, *tab2, *tab3;
    ssize_t len;
    FILE *fp;

    (void)state;
    if (env != NULL) {
        snprintf(root, sizeof(root), "%s", env);
    } else {
        len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (len <= 0)
            return -1;
        exe[len] = '\0';
        snprintf(root, sizeof(root), "%s", dirname(dirname(dirname(exe))));
    }
    snprintf(path, sizeof(path), "%s/audio/clips.tsv", root);
    fp = fopen(path, "r");
    if (fp == NULL) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    nclips = 0;
    while (fgets(line, sizeof(line), fp) != NULL && nclips < MAX_CLIPS) {
        line[strcspn(line, "\n")] = '\0';
        tab1 = strchr(line, '\t');
        tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        tab3 = tab2 ? strchr(tab2 + 1, '\t') : NULL;
        if (tab3 == NULL)
            continue;
        *tab1 = *tab2 = *tab3 = '\0';
        if (copy(clips[nclips].id, sizeof(clips[nclips].id), line) != 0 ||
            copy(clips[nclips].lang, sizeof(clips[nclips].lang), tab1 + 1) != 0 ||
            copy(clips[nclips].words, sizeof(clips[nclips].words), tab2 + 1) != 0) {
            fprintf(stderr, "%s: a field is too long: %s\n", path, line);
            fclose(fp);
            return -1;
        }
        nclips++;
    }
    fclose(fp);
    return nclips > 1 ? 0 : -1;
}

static const char *words_of(const char *lang, const char *id)
{
    size_t i;

    for (i = 0; i < nclips; i++)
        if (strcmp(clips[i].id, id) == 0 && strcmp(clips[i].lang, lang) == 0)
            return clips[i].words;
    return NULL;
}

/* The words of ids[0..n) in lang, silences left out, joined by spaces. */
static void said(const char *lang, const char **ids, size_t n, char *out, size_t len)
{
    const char *w;
    size_t i, used = 0;

    out[0] = '\0';
    for (i = 0; i < n; i++) {
        w = words_of(lang, ids[i]);
        if (w == NULL)
            fail_msg("%s/%s is not in audio/clips.tsv", lang, ids[i]);
        if (w[0] == '\0')
            continue;
        used += (size_t)snprintf(out + used, len - used, "%s%s", used ? " " : "", w);
        assert_true(used < len);
    }
}

static void number_says(long long v, const char *en, const char *hi)
{
    const char *ids[SPEECH_NUMBER_IDS];
    char got[512];
    size_t n;

    assert_int_equal(speech_number(v, ids, SPEECH_NUMBER_IDS, &n), 0);
    said("en", ids, n, got, sizeof(got));
    assert_string_equal(got, en);
    said("hi", ids, n, got, sizeof(got));
    assert_string_equal(got, hi);
}

static void test_manifest_has_every_id(void **state)
{
    const char *id;
    size_t i;

    (void)state;
    for (i = 0; (id = speech_clip_at(i)) != NULL; i++) {
        if (words_of("en", id) == NULL || words_of("hi", id) == NULL)
            fail_msg("%s is not in audio/clips.tsv in both languages", id);
    }
    /* 100 numbers, 4 group words, 12 months, 3 silences, 15 prompts, 17 sentence parts */
    assert_int_equal(i, 100 + 4 + 12 + 3 + 15 + 17);
    /* the prompts of speech.h */
    assert_non_null(words_of("hi", SPEECH_Q_WELCOME));
    assert_non_null(words_of("en", SPEECH_Q_TRY_LATER));
    /* the district of the examples */
    assert_string_equal(words_of("en", "d1752"), "Niwari");
    assert_string_equal(words_of("hi", "d1752"), "निवाड़ी");
}

static void test_manifest_numbers(void **state)
{
    (void)state;
    number_says(0, "zero", "शून्य");
    number_says(45, "forty-five", "पैंतालीस");
    number_says(71, "seventy-one", "इकहत्तर");
    number_says(99, "ninety-nine", "निन्यानवे");
    number_says(22629, "twenty-two thousand six hundred twenty-nine", "बाईस हज़ार छह सौ उनतीस");
    number_says(12345678,
                "one crore twenty-three lakh forty-five thousand six hundred seventy-eight",
                "एक करोड़ तेईस लाख पैंतालीस हज़ार छह सौ अठहत्तर");
    number_says(200005, "two lakh five", "दो लाख पाँच");
    number_says(2025, "two thousand twenty-five", "दो हज़ार पच्चीस");
}

static void test_manifest_summary(void **state)
{
    const char *ids[SPEECH_SUMMARY_IDS];
    struct summary_facts f = full_facts();
    char got[2048];
    size_t n;

    (void)state;
    f.paid_pct = 99.87;
    assert_int_equal(speech_summary(I18N_EN, "d1752", &f, ids, SPEECH_SUMMARY_IDS, &n), 0);
    said("en", ids, n, got, sizeof(got));
    assert_string_equal(got, "Niwari March two thousand twenty-five twenty-two thousand six "
                             "hundred twenty-nine families got work. On average, each family "
                             "got forty-nine days of work, out of a hundred. The average wage "
                             "was two hundred forty-three rupees a day. one hundred percent of "
                             "wages were paid within fifteen days. For the whole state, the "
                             "average was forty-five days of work.");
    assert_int_equal(speech_summary(I18N_HI, "d1752", &f, ids, SPEECH_SUMMARY_IDS, &n), 0);
    said("hi", ids, n, got, sizeof(got));
    assert_string_equal(got, "निवाड़ी मार्च दो हज़ार पच्चीस बाईस हज़ार छह सौ उनतीस परिवारों को "
                             "काम मिला। औसतन हर परिवार को सौ में से उनचास दिन काम मिला। एक दिन "
                             "की मज़दूरी औसतन दो सौ तैंतालीस रुपये रही। एक सौ प्रतिशत मज़दूरी "
                             "पंद्रह दिन के अंदर मिली। पूरे राज्य में हर परिवार को औसतन "
                             "पैंतालीस दिन काम मिला।");
    /* every missing figure's sentence and NODATA are in the library */
    f.have_families = f.have_days = f.have_wage = f.have_paid = f.have_state_days = 0;
    f.have_wage = 1;
    assert_int_equal(speech_summary(I18N_HI, "d1752", &f, ids, SPEECH_SUMMARY_IDS, &n), 0);
    said("hi", ids, n, got, sizeof(got)); /* fails if a clip is missing in Hindi */
    said("en", ids, n, got, sizeof(got));
    assert_string_equal(got, "Niwari March two thousand twenty-five The number of families is "
                             "not available yet. The average days of work are not available "
                             "yet. The average wage was two hundred forty-three rupees a day. "
                             "The share of wages paid within fifteen days is not available "
                             "yet. The state average is not available yet.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_examples),
        cmocka_unit_test(test_number_range),
        cmocka_unit_test(test_number_errors),
        cmocka_unit_test(test_single_ids),
        cmocka_unit_test(test_summary_full),
        cmocka_unit_test(test_summary_missing),
        cmocka_unit_test(test_summary_rounding),
        cmocka_unit_test(test_summary_errors),
        cmocka_unit_test(test_summary_longest),
        cmocka_unit_test_setup(test_manifest_has_every_id, load_manifest),
        cmocka_unit_test_setup(test_manifest_numbers, load_manifest),
        cmocka_unit_test_setup(test_manifest_summary, load_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
