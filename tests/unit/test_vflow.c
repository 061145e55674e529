/*
 * Unit tests for the voice channel's call flow (voice/vflow.c), on a directory built by
 * hand: the language menu, the remembered district offered or (on a callback) played at
 * once, PIN codes with one district, several, none known and one without figures, the
 * menu after the summary, wrong keys and silence twice then goodbye, and the state's
 * round trip through a query string.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "voice/vflow.h"

static struct dir_district rows[4];
static struct dir_pin pins[6];
static struct directory dir;
static const char summary[] = "{}";

static void build(void)
{
    memset(rows, 0, sizeof(rows));
    rows[0] = (struct dir_district){.state_code = -9, .district_code = -162, .lgd_code = 162};
    rows[0].name[0] = rows[0].name[1] = "Lucknow";
    rows[1] = (struct dir_district){.state_code = 17, .district_code = 1705, .has_id = 1};
    rows[1].name[0] = rows[1].name[1] = "Bhopal";
    rows[1].summary[0] = rows[1].summary[1] = summary;
    rows[2] = (struct dir_district){.state_code = 17, .district_code = 1723, .has_id = 1};
    rows[2].name[0] = rows[2].name[1] = "Bhind";
    rows[2].summary[0] = rows[2].summary[1] = summary;
    rows[3] = (struct dir_district){.state_code = 17, .district_code = 1752, .has_id = 1};
    rows[3].name[0] = rows[3].name[1] = "Niwari";
    rows[3].summary[0] = rows[3].summary[1] = summary;
    /* 226001: Lucknow only (no figures); 462001: Bhopal; 472001: Bhind 0.6, Niwari 0.4;
     * 475001: Bhind 0.95, Niwari 0.05 (too small a share to be offered). */
    pins[0] = (struct dir_pin){226001, 0, 1.0f};
    pins[1] = (struct dir_pin){462001, 1, 1.0f};
    pins[2] = (struct dir_pin){472001, 2, 0.6f};
    pins[3] = (struct dir_pin){472001, 3, 0.4f};
    pins[4] = (struct dir_pin){475001, 2, 0.95f};
    pins[5] = (struct dir_pin){475001, 3, 0.05f};
    memset(&dir, 0, sizeof(dir));
    dir.rows = rows;
    dir.n = 4;
    dir.pins = pins;
    dir.npins = 6;
    dir.loaded = 1;
}

/* What a step plays, as "hi/q_lang en/q_lang hi/d1705 SUM:hi/1705". */
static const char *played(const struct vflow_out *o)
{
    static char s[2048];
    size_t i, n = 0;

    s[0] = '\0';
    for (i = 0; i < o->nplay; i++) {
        const struct vflow_item *it = &o->play[i];
        const char *l = it->lang == I18N_HI ? "hi" : "en";

        if (it->kind == VI_SUMMARY)
            n += (size_t)snprintf(s + n, sizeof(s) - n, "%sSUM:%s/%d", n ? " " : "", l,
                                  it->district_code);
        else if (it->id == NULL)
            n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s/d%d", n ? " " : "", l,
                                  it->district_code);
        else
            n += (size_t)snprintf(s + n, sizeof(s) - n, "%s%s/%s", n ? " " : "", l, it->id);
    }
    return s;
}

static void step(struct vflow_state *st, const char *digits, const struct vflow_env *env,
                 struct vflow_out *o)
{
    struct vflow_input in = {digits};

    assert_int_equal(vflow_step(st, &in, env, o), 0);
}

static void test_new_caller_by_pin(void **state)
{
    struct vflow_state st;
    struct vflow_env env;
    struct vflow_out o;

    (void)state;
    build();
    memset(&st, 0, sizeof(st));
    memset(&env, 0, sizeof(env));
    env.dir = &dir;
    step(&st, NULL, &env, &o);
    assert_string_equal(played(&o), "hi/q_welcome hi/q_lang en/q_lang");
    assert_true(o.gather && o.num_digits == 1 && !o.finish_on_hash && !o.hangup);
    assert_int_equal(st.stage, VF_LANG);

    step(&st, "2", &env, &o);
    assert_true(o.remember_lang && st.has_lang && st.lang == I18N_EN);
    assert_string_equal(played(&o), "en/q_pin");
    assert_true(o.gather && o.num_digits == 6 && o.finish_on_hash);
    assert_int_equal(st.stage, VF_PIN);

    step(&st, "462001", &env, &o);
    assert_true(o.pin_step && o.summary && o.remember_district);
    assert_string_equal(played(&o), "SUM:en/1705 en/sil500 en/q_after");
    assert_int_equal(st.district_code, 1705);
    assert_int_equal(st.stage, VF_AFTER);

    step(&st, "1", &env, &o); /* repeat */
    assert_string_equal(played(&o), "SUM:en/1705 en/sil500 en/q_after");
    assert_string_equal(o.event, "repeat");

    step(&st, "2", &env, &o); /* by SMS */
    assert_true(o.send_sms && !o.summary);
    assert_string_equal(played(&o), "en/q_sms_sent en/q_after");

    step(&st, "3", &env, &o); /* another district */
    assert_string_equal(played(&o), "en/q_pin");
    assert_int_equal(st.district_code, 0);

    step(&st, "472001", &env, &o); /* two districts with figures: a choice */
    assert_int_equal(st.stage, VF_CHOOSE);
    assert_string_equal(played(&o), "en/q_choose_a en/d1723 en/q_choose_b en/n1 en/sil250 "
                                    "en/q_choose_a en/d1752 en/q_choose_b en/n2 en/sil250");
    step(&st, "2", &env, &o);
    assert_string_equal(played(&o), "SUM:en/1752 en/sil500 en/q_after");

    step(&st, "9", &env, &o);
    assert_true(o.hangup && !o.gather);
    assert_string_equal(played(&o), "en/q_goodbye");
    assert_int_equal(st.stage, VF_END);
    assert_int_equal(st.step, 9);
}

static void test_pin_cases(void **state)
{
    struct vflow_state st;
    struct vflow_env env;
    struct vflow_out o;

    (void)state;
    build();
    memset(&env, 0, sizeof(env));
    env.dir = &dir;
    memset(&st, 0, sizeof(st));
    st.stage = VF_PIN;
    st.has_lang = 1;
    st.lang = I18N_HI;
    step(&st, "999999", &env, &o); /* unknown */
    assert_string_equal(played(&o), "hi/q_pin_unknown hi/q_pin");
    assert_int_equal(st.tries, 1);
    step(&st, "226001", &env, &o); /* Lucknow: known, no figures */
    assert_string_equal(played(&o), "hi/q_not_loaded hi/q_pin");
    assert_string_equal(o.event, "not_loaded");
    assert_int_equal(st.tries, 2);
    step(&st, "475001", &env, &o); /* Niwari's 5% is no choice: Bhind at once */
    assert_string_equal(played(&o), "SUM:hi/1723 hi/sil500 hi/q_after");
    assert_int_equal(st.tries, 0);

    memset(&st, 0, sizeof(st));
    st.stage = VF_PIN;
    step(&st, "46200", &env, &o); /* five digits */
    assert_string_equal(played(&o), "hi/q_wrong_key hi/q_pin");
    step(&st, "062001", &env, &o); /* not a PIN */
    assert_string_equal(played(&o), "hi/q_wrong_key hi/q_pin");
    step(&st, "", &env, &o); /* a third failure: goodbye */
    assert_string_equal(played(&o), "hi/q_goodbye");
    assert_true(o.hangup);
}

static void test_retries_then_goodbye(void **state)
{
    struct vflow_state st;
    struct vflow_env env;
    struct vflow_out o;

    (void)state;
    build();
    memset(&env, 0, sizeof(env));
    env.dir = &dir;
    memset(&st, 0, sizeof(st));
    step(&st, NULL, &env, &o);
    step(&st, "7", &env, &o);
    assert_string_equal(played(&o), "hi/q_wrong_key hi/q_lang en/q_lang");
    step(&st, NULL, &env, &o);
    assert_string_equal(played(&o), "hi/q_no_input hi/q_lang en/q_lang");
    step(&st, "12", &env, &o); /* two keys for a one-key menu */
    assert_string_equal(played(&o), "hi/q_goodbye");
    assert_true(o.hangup);
    /* A finished call stays finished. */
    step(&st, "1", &env, &o);
    assert_true(o.hangup);
}

static void test_remembered(void **state)
{
    struct vflow_state st;
    struct vflow_env env;
    struct vflow_out o;

    (void)state;
    build();
    memset(&env, 0, sizeof(env));
    env.dir = &dir;
    env.has_lang = 1;
    env.lang = I18N_HI;
    env.has_district = 1;
    env.state_code = 17;
    env.district_code = 1752;
    /* Inbound: welcome, then the remembered district offered. */
    memset(&st, 0, sizeof(st));
    step(&st, NULL, &env, &o);
    assert_string_equal(played(&o), "hi/q_welcome hi/q_remembered_a hi/d1752 hi/q_remembered_b");
    step(&st, "1", &env, &o);
    assert_string_equal(played(&o), "SUM:hi/1752 hi/sil500 hi/q_after");
    assert_false(o.remember_district); /* nothing new to remember */
    /* 2: another district. */
    memset(&st, 0, sizeof(st));
    step(&st, NULL, &env, &o);
    step(&st, "2", &env, &o);
    assert_string_equal(played(&o), "hi/q_pin");

    /* A callback: the summary straight away. */
    memset(&st, 0, sizeof(st));
    st.callback = 1;
    step(&st, NULL, &env, &o);
    assert_string_equal(played(&o), "SUM:hi/1752 hi/sil500 hi/q_after");
    assert_string_equal(o.event, "remembered");

    /* A callback without a language: asked first, then the summary. */
    env.has_lang = 0;
    memset(&st, 0, sizeof(st));
    st.callback = 1;
    step(&st, NULL, &env, &o);
    assert_string_equal(played(&o), "hi/q_lang en/q_lang");
    env.has_district = 0; /* memory is read on the first step only: it travels in the state */
    step(&st, "2", &env, &o);
    assert_string_equal(played(&o), "SUM:en/1752 en/sil500 en/q_after");
    env.has_district = 1;

    /* A callback for a remembered district without figures: asked for a PIN. */
    env.has_lang = 1;
    env.state_code = -9;
    env.district_code = -162;
    memset(&st, 0, sizeof(st));
    st.callback = 1;
    step(&st, NULL, &env, &o);
    assert_string_equal(played(&o), "hi/q_pin");

    /* No directory yet: sorry, later. */
    env.has_district = 0;
    env.dir = NULL;
    memset(&st, 0, sizeof(st));
    st.callback = 1;
    step(&st, NULL, &env, &o);
    assert_string_equal(played(&o), "hi/q_try_later hi/q_goodbye");
    assert_true(o.hangup);
}

static void test_state_round_trip(void **state)
{
    struct vflow_state st, back;
    struct buf b;

    (void)state;
    memset(&st, 0, sizeof(st));
    st.stage = VF_CHOOSE;
    st.has_lang = 1;
    st.lang = I18N_EN;
    st.tries = 2;
    st.step = 7;
    st.callback = 1;
    st.state_code = 17;
    st.district_code = 1752;
    st.nchoices = 2;
    st.choice_state[0] = 17, st.choice_code[0] = 1723;
    st.choice_state[1] = 17, st.choice_code[1] = 1752;
    buf_init(&b, 512);
    assert_int_equal(vflow_encode(&st, &b), 0);
    assert_string_equal(buf_cstr(&b), "s=4&t=2&n=7&l=en&cb=1&d=17.1752&c=17.1723_17.1752");
    st.remembered = 1;
    buf_reset(&b);
    assert_int_equal(vflow_encode(&st, &b), 0);
    assert_int_equal(vflow_decode(b.data, b.len, &back), 0);
    assert_memory_equal(&st, &back, sizeof(st));
    st.remembered = 0;
    buf_reset(&b);
    assert_int_equal(vflow_encode(&st, &b), 0);
    assert_int_equal(vflow_decode(b.data, b.len, &back), 0);
    assert_memory_equal(&st, &back, sizeof(st));
    buf_free(&b);

    assert_int_equal(vflow_decode(NULL, 0, &back), 0); /* a first request */
    assert_int_equal(back.stage, VF_START);
    assert_int_equal(vflow_decode("s=9", 3, &back), -1);
    assert_int_equal(vflow_decode("s=1&t=3", 7, &back), -1);
    assert_int_equal(vflow_decode("s=1&l=fr", 8, &back), -1);
    assert_int_equal(vflow_decode("d=17", 4, &back), -1);
    assert_int_equal(vflow_decode("d=-1.5", 6, &back), -1);
    assert_int_equal(vflow_decode("c=1.1_2.2_3.3_4.4_5.5_6.6", 25, &back), -1);
    assert_int_equal(vflow_decode("s=1&key=abc&CallSid=CA1", 23, &back), 0); /* others ignored */
    assert_int_equal(back.stage, VF_LANG);
}

static void test_bad_state(void **state)
{
    struct vflow_state st;
    struct vflow_env env;
    struct vflow_out o;
    struct vflow_input in = {"1"};

    (void)state;
    build();
    memset(&env, 0, sizeof(env));
    env.dir = &dir;
    memset(&st, 0, sizeof(st));
    st.stage = (enum vflow_stage)42;
    assert_int_equal(vflow_step(&st, &in, &env, &o), -1);
    assert_true(o.hangup);
    /* A call that goes on and on ends. */
    memset(&st, 0, sizeof(st));
    st.stage = VF_AFTER;
    st.step = VFLOW_STEPS_MAX;
    assert_int_equal(vflow_step(&st, &in, &env, &o), 0);
    assert_true(o.hangup);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_caller_by_pin),    cmocka_unit_test(test_pin_cases),
        cmocka_unit_test(test_retries_then_goodbye), cmocka_unit_test(test_remembered),
        cmocka_unit_test(test_state_round_trip),     cmocka_unit_test(test_bad_state),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
