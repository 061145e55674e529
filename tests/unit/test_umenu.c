/*
 * Unit tests for the USSD menu (ussd/umenu.c) on a directory built by hand and the
 * shipped wording set (assets/templates/ussd), the USSD gateway formats (gateway/ussd.c)
 * and wording sets (text/i18n.c): the main menu with and without a remembered district,
 * PIN codes with one district, several, none and a bad one, names, states and districts
 * in pages that fit tight limits and are walked forward and back, the summary and its SMS
 * key, wrong keys, the state's round trip; AT paths holding '*', session-style field
 * names, the JSON reply; a wording set whose files disagree.
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
#include <sys/stat.h>
#include <unistd.h>

#include "gateway/ussd.h"
#include "text/search.h"
#include "ussd/umenu.h"

#define NROWS 34
static struct dir_district rows[NROWS];
static char names[NROWS][32];
static struct dir_pin pins[4];
static struct directory dir;
static struct i18n_set *words;
static char root[4096];

static void find_root(void)
{
    char exe[4096];
    ssize_t n;
    const char *env = getenv("HISAAB_ROOT");

    if (env != NULL) {
        snprintf(root, sizeof(root), "%s", env);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    snprintf(root, sizeof(root), "%s", dirname(dirname(dirname(exe))));
}

/* Rows: Bhopal, Bhind, Niwari (MP, 17) with figures; Lucknow (reference only); and 30
 * districts "Zila 01".."Zila 30" of state 99 ("Test Pradesh"), for the pages. */
static void build(void)
{
    struct search_district sd;
    size_t i;

    memset(rows, 0, sizeof(rows));
    for (i = 0; i < NROWS; i++) {
        rows[i].has_id = 1;
        rows[i].has_facts = 1;
        rows[i].facts = (struct summary_facts){.year = 2025,
                                               .month = 3,
                                               .have_families = 1,
                                               .have_days = 1,
                                               .have_wage = 1,
                                               .have_paid = 1,
                                               .have_state_days = 1,
                                               .families = 1234567,
                                               .days = 44.6,
                                               .wage = 243.4,
                                               .paid_pct = 99.96,
                                               .state_days = 48.2};
        rows[i].state[0] = "Madhya Pradesh";
        rows[i].state[1] = "मध्य प्रदेश";
        rows[i].state_code = 17;
        snprintf(rows[i].state_short, sizeof(rows[i].state_short), "MP");
    }
    /* Sorted by district code, as the directory keeps its rows. */
    rows[0] = (struct dir_district){.state_code = -9, .district_code = -162, .lgd_code = 162};
    rows[0].name[0] = rows[0].name[1] = "Lucknow";
    rows[0].state[0] = rows[0].state[1] = "Uttar Pradesh";
    rows[1].district_code = 1705;
    rows[1].name[0] = "Bhopal";
    rows[1].name[1] = "भोपाल";
    rows[2].district_code = 1723;
    rows[2].name[0] = "Bhind";
    rows[2].name[1] = "भिंड";
    rows[3].district_code = 1752;
    rows[3].name[0] = "Niwari";
    rows[3].name[1] = "निवाड़ी";
    for (i = 4; i < NROWS; i++) {
        /* in reverse, so that the menu must sort them */
        snprintf(names[i], sizeof(names[i]), "Zila %02zu", NROWS - i);
        rows[i].name[0] = rows[i].name[1] = names[i];
        rows[i].state_code = 99;
        rows[i].district_code = 9900 + (int)i;
        rows[i].state[0] = "Test Pradesh";
        rows[i].state[1] = "परीक्षा प्रदेश";
    }
    pins[0] = (struct dir_pin){226001, 0, 1.0f};
    pins[1] = (struct dir_pin){462001, 1, 1.0f};
    pins[2] = (struct dir_pin){472001, 2, 0.6f};
    pins[3] = (struct dir_pin){472001, 3, 0.4f};
    memset(&dir, 0, sizeof(dir));
    dir.rows = rows;
    dir.n = NROWS;
    dir.pins = pins;
    dir.npins = 4;
    dir.loaded = 1;
    dir.index = search_index_new();
    for (i = 0; i < NROWS; i++) {
        memset(&sd, 0, sizeof(sd));
        sd.state_code = rows[i].state_code;
        sd.district_code = rows[i].district_code;
        sd.name_en = rows[i].name[0];
        sd.name_hi = rows[i].name[1];
        assert_int_equal(search_index_add(dir.index, &sd), 0);
    }
}

static int setup(void **state)
{
    char path[4200], err[512];

    (void)state;
    find_root();
    snprintf(path, sizeof(path), "%s/assets/templates/ussd", root);
    if (i18n_set_load(path, umenu_lang_codes, UL_NLANGS, &words, err, sizeof(err)) != 0) {
        fprintf(stderr, "wording set: %s\n", err);
        return -1;
    }
    build();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    i18n_set_free(words);
    search_index_free(dir.index);
    return 0;
}

static struct umenu_env env_plain(void)
{
    struct umenu_env e;

    memset(&e, 0, sizeof(e));
    e.dir = &dir;
    e.words = words;
    return e;
}

static int has_line(const struct umenu_out *o, const char *line)
{
    const char *s = o->screen.data, *p;
    size_t n = strlen(line);

    for (p = s; p != NULL && *p != '\0'; p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, line, n) == 0 && (p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

/* One step; the screen checked against the limits of env. */
static void step(struct umenu_state *st, const char *in, const struct umenu_env *e,
                 struct umenu_out *o)
{
    int ucs2;
    size_t n;

    assert_int_equal(umenu_step(st, in, e, o), 0);
    n = umenu_screen_len(o->screen.data, o->screen.len, &ucs2);
    assert_true(o->screen.len > 0);
    if (ucs2)
        assert_true(n <= (e->ucs2_limit ? e->ucs2_limit : UMENU_UCS2_LIMIT));
    else
        assert_true(n <= (e->gsm_limit ? e->gsm_limit : UMENU_GSM_LIMIT));
}

static void test_main_menu(void **state)
{
    struct umenu_env e = env_plain();
    struct umenu_state st;
    struct umenu_out o;

    (void)state;
    umenu_out_init(&o);
    memset(&st, 0, sizeof(st));
    step(&st, NULL, &e, &o);
    assert_string_equal(o.screen.data, "Hisaab NREGA\n2 PIN code\n3 Zila ka naam\n"
                                       "4 Rajya se chune\n5 Hindi / English");
    assert_int_equal(st.screen, UM_MAIN);
    assert_false(o.end);
    /* Key 1 without a remembered district is a wrong key. */
    step(&st, "1", &e, &o);
    assert_true(o.wrong);
    assert_true(has_line(&o, "Kripya 2-5 dabayein"));
    /* Remembered Bhopal and English. */
    e.has_district = 1;
    e.state_code = 17;
    e.district_code = 1705;
    e.has_lang = 1;
    e.lang = I18N_EN;
    memset(&st, 0, sizeof(st));
    step(&st, NULL, &e, &o);
    assert_true(has_line(&o, "1 My district (Bhopal)"));
    step(&st, "1", &e, &o);
    assert_int_equal(st.screen, UM_SUMMARY);
    assert_true(has_line(&o, "NREGA Bhopal Mar 2025"));
    assert_true(has_line(&o, "12,34,567 families got work"));
    assert_true(has_line(&o, "Avg 45 of 100 days"));
    assert_true(has_line(&o, "Wage Rs 243/day"));
    assert_true(has_line(&o, "100% paid in 15 days"));
    assert_true(has_line(&o, "State avg 48 days"));
    assert_true(has_line(&o, "1 Send by SMS"));
    assert_true(o.summary);
    assert_true(o.remember_district);
    umenu_out_free(&o);
}

static void test_pin_codes(void **state)
{
    struct umenu_env e = env_plain();
    struct umenu_state st;
    struct umenu_out o;

    (void)state;
    umenu_out_init(&o);
    memset(&st, 0, sizeof(st));
    step(&st, NULL, &e, &o);
    step(&st, "2", &e, &o);
    assert_int_equal(st.screen, UM_PIN);
    step(&st, "46200", &e, &o);
    assert_true(has_line(&o, "PIN code 6 ank ka hota hai"));
    assert_int_equal(st.screen, UM_PIN);
    step(&st, "999999", &e, &o);
    assert_true(has_line(&o, "Yeh PIN code nahi mila"));
    step(&st, "462001", &e, &o);
    assert_true(o.pin_step);
    assert_int_equal(st.screen, UM_SUMMARY);
    assert_int_equal(st.district_code, 1705);
    step(&st, "0", &e, &o);
    step(&st, "2", &e, &o);
    /* Two districts: a choice. */
    step(&st, "472001", &e, &o);
    assert_int_equal(st.screen, UM_CHOICES);
    assert_true(has_line(&o, "1 Bhind (MP)"));
    assert_true(has_line(&o, "2 Niwari (MP)"));
    step(&st, "3", &e, &o);
    assert_true(o.wrong);
    step(&st, "2", &e, &o);
    assert_int_equal(st.district_code, 1752);
    /* A district without figures loaded: said so. */
    step(&st, "0", &e, &o);
    step(&st, "2", &e, &o);
    step(&st, "226001", &e, &o);
    assert_true(has_line(&o, "Lucknow: is zile ke aankde abhi nahi"));
    assert_false(o.remember_district);
    step(&st, "1", &e, &o); /* no SMS for no figures */
    assert_true(o.wrong);
    assert_false(o.send_sms);
    umenu_out_free(&o);
}

static void test_names(void **state)
{
    struct umenu_env e = env_plain();
    struct umenu_state st;
    struct umenu_out o;

    (void)state;
    umenu_out_init(&o);
    memset(&st, 0, sizeof(st));
    step(&st, NULL, &e, &o);
    step(&st, "3", &e, &o);
    step(&st, "niwaari", &e, &o);
    assert_int_equal(st.district_code, 1752);
    step(&st, "0", &e, &o);
    step(&st, "3", &e, &o);
    step(&st, "भोपाल", &e, &o);
    assert_int_equal(st.district_code, 1705);
    step(&st, "0", &e, &o);
    step(&st, "3", &e, &o);
    step(&st, "qqqqqq", &e, &o);
    assert_int_equal(st.screen, UM_NAME);
    assert_true(has_line(&o, "Yeh zila nahi mila. Phir likhein"));
    step(&st, "0", &e, &o);
    assert_int_equal(st.screen, UM_MAIN);
    umenu_out_free(&o);
}

/* Walk the pages of the test state's districts under tight limits, every language. */
static void test_pages_forward_and_back(void **state)
{
    static const char *const lang_keys[] = {"3", "1", "2"};
    struct umenu_env e = env_plain();
    struct umenu_state st;
    struct umenu_out o;
    char seen[NROWS][32], key[24], *pages[32];
    size_t nseen, npages, i, l;
    char *p;

    (void)state;
    e.gsm_limit = 90;
    e.ucs2_limit = 70;
    umenu_out_init(&o);
    for (l = 0; l < 3; l++) {
        memset(&st, 0, sizeof(st));
        step(&st, NULL, &e, &o);
        step(&st, "5", &e, &o);
        step(&st, lang_keys[l], &e, &o);
        step(&st, "4", &e, &o);
        assert_int_equal(st.screen, UM_STATES);
        /* States sorted in the screen's script: Madhya Pradesh, Test Pradesh; in
         * Devanagari परीक्षा (प) before मध्य (म). */
        step(&st, l == 1 ? "1" : "2", &e, &o);
        assert_int_equal(st.screen, UM_DISTRICTS);
        nseen = npages = 0;
        for (;;) {
            pages[npages++] = strdup(o.screen.data);
            for (p = o.screen.data; p != NULL; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (p[0] >= '1' && p[0] <= '9' && p[1] == ' ' && strncmp(p + 2, "Zila", 4) == 0)
                    snprintf(seen[nseen++], sizeof(seen[0]), "%.7s", p + 2);
            if (strstr(o.screen.data, "98 ") == NULL)
                break;
            step(&st, "98", &e, &o);
            assert_true(npages < 32);
        }
        assert_int_equal(nseen, NROWS - 4);
        for (i = 0; i < nseen; i++) {
            snprintf(key, sizeof(key), "%02zu", i + 1);
            assert_memory_equal(seen[i] + 5, key, 2); /* in order, each once */
        }
        assert_true(npages > 3);
        step(&st, "98", &e, &o); /* past the last page: wrong */
        assert_true(o.wrong);
        for (i = npages - 1; i > 0; i--) {
            step(&st, "0", &e, &o);
            assert_string_equal(o.screen.data, pages[i - 1]);
        }
        step(&st, "0", &e, &o);
        assert_int_equal(st.screen, UM_STATES);
        for (i = 0; i < npages; i++)
            free(pages[i]);
    }
    umenu_out_free(&o);
}

static void test_summary_sms_and_languages(void **state)
{
    struct umenu_env e = env_plain();
    struct umenu_state st;
    struct umenu_out o;

    (void)state;
    umenu_out_init(&o);
    memset(&st, 0, sizeof(st));
    step(&st, NULL, &e, &o);
    step(&st, "5", &e, &o);
    assert_true(has_line(&o, "Bhasha / Language"));
    step(&st, "1", &e, &o);
    assert_true(o.remember_lang);
    assert_int_equal(o.lang, I18N_HI);
    assert_true(has_line(&o, "हिसाब नरेगा"));
    step(&st, "2", &e, &o);
    step(&st, "462001", &e, &o);
    assert_true(has_line(&o, "भोपाल मार्च 2025"));
    assert_true(has_line(&o, "काम: 12,34,567 परिवार"));
    /* The rest of the figures on the next page, without the head. */
    if (strstr(o.screen.data, "98 आगे") != NULL) {
        step(&st, "98", &e, &o);
        assert_null(strstr(o.screen.data, "भोपाल"));
        assert_non_null(strstr(o.screen.data, "राज्य औसत 48 दिन"));
    }
    step(&st, "1", &e, &o);
    assert_true(o.end);
    assert_true(o.send_sms);
    assert_int_equal(o.lang, I18N_HI);
    assert_int_equal(o.district_code, 1705);
    /* Romanised Hindi: the SMS comes in English (the phone may not show Devanagari). */
    memset(&st, 0, sizeof(st));
    step(&st, NULL, &e, &o);
    step(&st, "2", &e, &o);
    step(&st, "462001", &e, &o);
    step(&st, "1", &e, &o);
    assert_true(o.send_sms);
    assert_int_equal(o.lang, I18N_EN);
    umenu_out_free(&o);
}

static void test_state_round_trip(void **state)
{
    struct umenu_state a, b;
    struct buf t;

    (void)state;
    memset(&a, 0, sizeof(a));
    a.screen = UM_CHOICES;
    a.lang = UL_HI;
    a.step = 7;
    a.nchoices = 2;
    a.choice_state[0] = 17;
    a.choice_code[0] = 1723;
    a.choice_state[1] = 17;
    a.choice_code[1] = 1752;
    buf_init(&t, 256);
    assert_int_equal(umenu_encode(&a, &t), 0);
    assert_int_equal(umenu_decode(t.data, t.len, &b), 0);
    assert_memory_equal(&a, &b, sizeof(a));
    assert_int_equal(umenu_decode("u1 3 0", 6, &b), -1);
    assert_int_equal(umenu_decode("u1 99 0 1 0 0 0 0 0", 19, &b), -1);
    assert_int_equal(umenu_decode("u1 1 0 1 0 0 0 0 9", 18, &b), -1);
    assert_int_equal(umenu_decode("x", 1, &b), -1);
    buf_free(&t);
}

static void test_at_paths(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(ussd_at_next("", "", out, sizeof(out)), 0);
    assert_int_equal(ussd_at_next("", "3", out, sizeof(out)), 1);
    assert_string_equal(out, "3");
    assert_int_equal(ussd_at_next("3", "3*Ni*wari", out, sizeof(out)), 1);
    assert_string_equal(out, "Ni*wari");
    assert_int_equal(ussd_at_next("3*Ni*wari", "3*Ni*wari", out, sizeof(out)), 0);
    assert_int_equal(ussd_at_next("3*Ni*wari", "3*Ni*wari*1", out, sizeof(out)), 1);
    assert_string_equal(out, "1");
    assert_int_equal(ussd_at_next("3", "4*1", out, sizeof(out)), -1);
    assert_int_equal(ussd_at_next("3", "31", out, sizeof(out)), -1);
}

static void test_gateway_forms(void **state)
{
    static const char at[] = "sessionId=ATx1&serviceCode=%2A123%2A6%23&phoneNumber=%2B919800000001"
                             "&networkCode=40401&text=3%2AKatni";
    struct ussd_fields f = {"sid", "from",   "input",  "new",      "yes",
                            1,     "action", "screen", "continue", "end"};
    struct gateway_error e;
    struct ussd_in in;
    struct buf b;

    (void)state;
    assert_int_equal(ussd_at_parse_form((struct slice){at, sizeof(at) - 1}, &in, &e), 0);
    assert_string_equal(in.session, "ATx1");
    assert_string_equal(in.service, "*123*6#");
    assert_string_equal(in.from, "+919800000001");
    assert_string_equal(in.input, "3*Katni");
    assert_false(in.is_new);
    assert_int_equal(ussd_at_parse_form((struct slice){"text=1", 6}, &in, &e), -1);
    assert_int_equal(e.status, 400);
    assert_int_equal(
        ussd_at_parse_form((struct slice){"sessionId=a%20b&phoneNumber=1", 29}, &in, &e), -1);
    /* Session style under configured names, query and form. */
    assert_int_equal(ussd_session_parse_form("sid=S9&from=9800000002&input=*123%23&new=yes",
                                             (struct slice){NULL, 0}, &f, &in, &e),
                     0);
    assert_true(in.is_new);
    assert_string_equal(in.session, "S9");
    assert_int_equal(
        ussd_session_parse_form(NULL, (struct slice){"sid=S9&from=1&input=2", 21}, &f, &in, &e), 0);
    assert_false(in.is_new);
    assert_string_equal(in.input, "2");
    assert_int_equal(
        ussd_session_parse_form("from=1&input=2", (struct slice){NULL, 0}, &f, &in, &e), -1);
    buf_init(&b, 1024);
    assert_int_equal(ussd_session_body(&f, "Hisaab\n2 PIN", 1, &b), 0);
    assert_string_equal(b.data, "{\"screen\":\"Hisaab\\n2 PIN\",\"action\":\"end\"}");
    buf_reset(&b);
    assert_int_equal(ussd_at_body("Hisaab", 0, &b), 0);
    assert_string_equal(b.data, "CON Hisaab");
    buf_free(&b);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_wording_set_must_agree(void **state)
{
    static const char *const codes[] = {"aa", "bb"};
    char tmp[] = "/tmp/hisaab-words-XXXXXX", p[256], err[256];
    struct i18n_set *set = NULL;
    struct buf b;
    const char *v = "x";

    (void)state;
    assert_non_null(mkdtemp(tmp));
    snprintf(p, sizeof(p), "%s/aa.txt", tmp);
    write_file(p, "A = one {#var#}\nB = two\n");
    snprintf(p, sizeof(p), "%s/bb.txt", tmp);
    write_file(p, "A = uno\nB = dos\n");
    assert_int_equal(i18n_set_load(tmp, codes, 2, &set, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "template A"));
    write_file(p, "A = uno {#var#}\nB = dos\n");
    assert_int_equal(i18n_set_load(tmp, codes, 2, &set, err, sizeof(err)), 0);
    buf_init(&b, 64);
    assert_int_equal(i18n_set_render(set, 1, "A", &v, 1, &b), 0);
    assert_string_equal(b.data, "uno x");
    assert_int_equal(i18n_set_render(set, 2, "A", &v, 1, &b), -1);
    assert_int_equal((int)i18n_set_count(set), 2);
    buf_free(&b);
    i18n_set_free(set);
    unlink(p);
    snprintf(p, sizeof(p), "%s/aa.txt", tmp);
    unlink(p);
    rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_main_menu),
        cmocka_unit_test(test_pin_codes),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_pages_forward_and_back),
        cmocka_unit_test(test_summary_sms_and_languages),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_at_paths),
        cmocka_unit_test(test_gateway_forms),
        cmocka_unit_test(test_wording_set_must_agree),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
