/*
 * Unit tests for the monthly subscription messages (etl/notify.c): the IST sending window
 * around its edges and across UTC midnight, the HISAAB_NOW time parser, and the rendering
 * of the MONTHLY text (month label from the financial year, Indian grouping, missing
 * figures left out), and where the options come from (kore.conf and the environment, as
 * for the server's sendsms). Queueing and sending against Postgres and a gateway are covered by
 * tests/blackbox/test_notify.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <libgen.h>

#include "../../etl/notify.c"
#include "net/config.h"

/* UTC time of a "YYYY-MM-DDTHH:MM:SSZ" string (must parse). */
static time_t utc(const char *s)
{
    time_t t = 0;

    assert_int_equal(etl_notify_parse_time(s, &t), 0);
    return t;
}

static void test_parse_time(void **state)
{
    time_t t = 0;
    (void)state;

    assert_int_equal(etl_notify_parse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal((long long)t, 0);
    assert_int_equal(etl_notify_parse_time("2025-04-10T10:00:00Z", &t), 0);
    assert_int_equal((long long)t, 1744279200LL);
    /* no zone: UTC; no seconds; a space for the T */
    assert_int_equal(etl_notify_parse_time("2025-04-10 10:00", &t), 0);
    assert_int_equal((long long)t, 1744279200LL);
    /* an offset: 15:30 IST is 10:00 UTC */
    assert_int_equal(etl_notify_parse_time("2025-04-10T15:30:00+05:30", &t), 0);
    assert_int_equal((long long)t, 1744279200LL);
    assert_int_equal(etl_notify_parse_time("2025-04-10T05:00:00-05:00", &t), 0);
    assert_int_equal((long long)t, 1744279200LL);

    assert_int_equal(etl_notify_parse_time(NULL, &t), -1);
    assert_int_equal(etl_notify_parse_time("", &t), -1);
    assert_int_equal(etl_notify_parse_time("2025-04-10", &t), -1);
    assert_int_equal(etl_notify_parse_time("2025-13-10T10:00:00Z", &t), -1);
    assert_int_equal(etl_notify_parse_time("2025-04-31T10:00:00Z", &t), -1);
    assert_int_equal(etl_notify_parse_time("2025-04-10T24:00:00Z", &t), -1);
    assert_int_equal(etl_notify_parse_time("2025-04-10T10:60:00Z", &t), -1);
    assert_int_equal(etl_notify_parse_time("2025-04-10T10:00:00Zjunk", &t), -1);
    assert_int_equal(etl_notify_parse_time("2025-04-10T10:00:00+0530", &t), -1);
    assert_int_equal(etl_notify_parse_time("25-04-10T10:00:00Z", &t), -1);
    assert_int_equal(etl_notify_parse_time("2025-04-1xT10:00:00Z", &t), -1);
}

static void test_ist_minutes(void **state)
{
    (void)state;

    assert_int_equal(etl_notify_ist_minutes(utc("2025-04-10T00:00:00Z")), 5 * 60 + 30);
    assert_int_equal(etl_notify_ist_minutes(utc("2025-04-10T18:29:00Z")), 23 * 60 + 59);
    assert_int_equal(etl_notify_ist_minutes(utc("2025-04-10T18:30:00Z")), 0);
    assert_int_equal(etl_notify_ist_minutes(utc("2025-04-10T23:59:59Z")), 5 * 60 + 29);
    /* before the epoch the remainder is negative: still a time of day */
    assert_int_equal(etl_notify_ist_minutes((time_t)-60), 5 * 60 + 29);
}

/* The edges, written as UTC: IST = UTC + 05:30. */
static void test_window_edges(void **state)
{
    (void)state;

    /* 08:59 IST = 03:29 UTC: no; 09:00 IST = 03:30 UTC: yes */
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T03:29:00Z")), 0);
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T03:29:59Z")), 0);
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T03:30:00Z")), 1);
    /* 20:59 IST = 15:29 UTC: yes; 21:00 IST = 15:30 UTC: no */
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T15:29:00Z")), 1);
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T15:29:59Z")), 1);
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T15:30:00Z")), 0);
    /* the same edges given in IST */
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T08:59:00+05:30")), 0);
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T09:00:00+05:30")), 1);
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T20:59:00+05:30")), 1);
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T21:00:00+05:30")), 0);
}

/* UTC midnight is 05:30 IST (closed); IST midnight is 18:30 UTC (closed); noon IST is
 * 06:30 UTC the same day. */
static void test_window_across_midnight(void **state)
{
    (void)state;

    assert_int_equal(etl_notify_in_window(utc("2025-04-10T23:59:00Z")), 0); /* 05:29 IST */
    assert_int_equal(etl_notify_in_window(utc("2025-04-11T00:00:00Z")), 0); /* 05:30 IST */
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T18:29:00Z")), 0); /* 23:59 IST */
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T18:30:00Z")), 0); /* 00:00 IST */
    assert_int_equal(etl_notify_in_window(utc("2025-04-10T06:30:00Z")), 1); /* 12:00 IST */
    /* 31 Dec 22:00 UTC is 1 Jan 03:30 IST: closed; 1 Jan 04:00 UTC is 09:30 IST: open */
    assert_int_equal(etl_notify_in_window(utc("2024-12-31T22:00:00Z")), 0);
    assert_int_equal(etl_notify_in_window(utc("2025-01-01T04:00:00Z")), 1);
    /* every minute of a day: exactly 12 hours open */
    {
        time_t t0 = utc("2025-04-10T00:00:00Z");
        int m, open = 0;

        for (m = 0; m < 24 * 60; m++)
            open += etl_notify_in_window(t0 + m * 60);
        assert_int_equal(open, 12 * 60);
    }
}

static void test_now_env(void **state)
{
    time_t t = 0;
    (void)state;

    setenv("HISAAB_NOW", "2025-04-10T10:00:00Z", 1);
    assert_int_equal(etl_notify_now(&t), 0);
    assert_int_equal((long long)t, 1744279200LL);
    setenv("HISAAB_NOW", "not a time", 1);
    assert_int_equal(etl_notify_now(&t), -1);
    unsetenv("HISAAB_NOW");
    assert_int_equal(etl_notify_now(&t), 0);
    assert_true(t > 1744279200LL);
}

/* ---- rendering ---- */

static int load_templates(void **state)
{
    char exe[4096], dir[4200], err[512];
    const char *env = getenv("HISAAB_ROOT");
    ssize_t n;
    (void)state;

    if (env != NULL) {
        snprintf(dir, sizeof(dir), "%s/assets/templates", env);
    } else {
        n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
            return -1;
        exe[n] = '\0';
        snprintf(dir, sizeof(dir), "%s/assets/templates", dirname(dirname(dirname(exe))));
    }
    if (i18n_load(dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "i18n_load: %s\n", err);
        return -1;
    }
    return 0;
}

static int free_templates(void **state)
{
    (void)state;
    i18n_free();
    return 0;
}

static void render(enum i18n_lang lang, const struct etl_notify_figures *f, const char *want)
{
    struct buf out;

    buf_init(&out, 2048);
    assert_int_equal(etl_notify_render(lang, f, &out), 0);
    assert_string_equal(buf_cstr(&out), want);
    buf_free(&out);
}

static void test_render_en(void **state)
{
    struct etl_notify_figures f = {"Niwari", "2024-2025", 3, 17219, 43, 245};
    (void)state;

    render(I18N_EN, &f,
           "New NREGA figures for Niwari Mar 2025: 17,219 families got work. Avg 43 of 100 "
           "days each. Wage Rs 245/day. Send STOP to end.");
    /* April to December belong to the first year of the financial year */
    f.month = 12;
    f.families = 1234567;
    render(I18N_EN, &f,
           "New NREGA figures for Niwari Dec 2024: 12,34,567 families got work. Avg 43 of 100 "
           "days each. Wage Rs 245/day. Send STOP to end.");
    f.month = 4;
    f.fin_year = "2025-2026";
    render(I18N_EN, &f,
           "New NREGA figures for Niwari Apr 2025: 12,34,567 families got work. Avg 43 of 100 "
           "days each. Wage Rs 245/day. Send STOP to end.");
}

static void test_render_hi(void **state)
{
    struct etl_notify_figures f = {"निवाड़ी", "2024-2025", 1, 17219, 43, 245};
    struct smsenc_info info;
    struct buf out;
    (void)state;

    render(I18N_HI, &f,
           "निवाड़ी जनवरी 2025 के नए नरेगा आंकड़े: 17,219 परिवारों को काम। औसत 43 दिन (100 में "
           "से)। मजदूरी 245 रु रोज। बंद: STOP भेजें।");
    buf_init(&out, 2048);
    assert_int_equal(etl_notify_render(I18N_HI, &f, &out), 0);
    assert_int_equal(smsenc_analyse(out.data, out.len, &info), 0);
    assert_int_equal(info.coding, SMSENC_UCS2);
    assert_true(info.parts <= 2);
    buf_free(&out);
}

/* A missing figure is left out, never shown as 0; no figure at all: no message. */
static void test_render_missing(void **state)
{
    struct etl_notify_figures f = {"Niwari", "2024-2025", 3, -1, 43, -1};
    struct buf out;
    (void)state;

    render(I18N_EN, &f,
           "New NREGA figures for Niwari Mar 2025: Avg 43 of 100 days each. Send "
           "STOP to end.");
    f.days = -1;
    f.families = 0; /* a real zero is a figure */
    render(I18N_EN, &f,
           "New NREGA figures for Niwari Mar 2025: 0 families got work. Send STOP "
           "to end.");
    f.families = -1;
    buf_init(&out, 2048);
    assert_int_equal(etl_notify_render(I18N_EN, &f, &out), -1);
    assert_int_equal(out.len, 0);
    /* a bad month, a bad year, a name over the 30-character DLT limit */
    f.days = 40;
    f.month = 13;
    assert_int_equal(etl_notify_render(I18N_EN, &f, &out), -1);
    f.month = 5;
    f.fin_year = "20x4-2025";
    assert_int_equal(etl_notify_render(I18N_EN, &f, &out), -1);
    f.fin_year = "2024-2025";
    f.district = "A district name well over thirty characters";
    assert_int_equal(etl_notify_render(I18N_EN, &f, &out), -1);
    assert_int_equal(out.len, 0);
    buf_free(&out);
}

static void test_opts_env(void **state)
{
    struct etl_notify_opts o;
    (void)state;

    setenv("KANNEL_SENDSMS_URL", "http://127.0.0.1:13013/cgi-bin/sendsms", 1);
    setenv("HISAAB_NOTIFY_ATTEMPTS", "5", 1);
    setenv("HISAAB_NOTIFY_BATCH", "0", 1); /* out of range: default kept */
    setenv("HISAAB_NOTIFY_BACKOFF_MS", "25", 1);
    etl_notify_opts_init(&o, NULL);
    assert_string_equal(o.sendsms.url, "http://127.0.0.1:13013/cgi-bin/sendsms");
    assert_int_equal(o.max_attempts, 5);
    assert_int_equal(o.batch, 500);
    assert_int_equal(o.backoff_ms, 25);
    assert_int_equal(o.sendsms.timeout_ms, 10000);
    unsetenv("KANNEL_SENDSMS_URL");
    unsetenv("HISAAB_NOTIFY_ATTEMPTS");
    unsetenv("HISAAB_NOTIFY_BATCH");
    unsetenv("HISAAB_NOTIFY_BACKOFF_MS");
    etl_notify_opts_init(&o, NULL);
    assert_null(o.sendsms.url);
    assert_int_equal(o.max_attempts, 3);
}

/* The sendsms settings come from kore.conf as the server takes them, the environment
 * winning; HISAAB_NOTIFY_TIMEOUT_MS overrides their timeout (within 100..120000). */
static void test_opts_config(void **state)
{
    char url[] = "http://kannel.example:13013/cgi-bin/sendsms", user[] = "conf-user";
    struct etl_notify_opts o;
    struct config cfg;
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.kannel_sendsms_url = url;
    cfg.kannel_sendsms_user = user;
    unsetenv("KANNEL_SENDSMS_URL");
    unsetenv("KANNEL_SENDSMS_USER");
    unsetenv("KANNEL_SENDSMS_PASSWORD");
    unsetenv("KANNEL_SENDSMS_FROM");
    etl_notify_opts_init(&o, &cfg);
    assert_string_equal(o.sendsms.url, "http://kannel.example:13013/cgi-bin/sendsms");
    assert_string_equal(o.sendsms.user, "conf-user");
    assert_null(o.sendsms.password);
    assert_null(o.sendsms.from);
    assert_int_equal(o.sendsms.timeout_ms, SENDSMS_TIMEOUT_MS);

    setenv("KANNEL_SENDSMS_USER", "env-user", 1);
    setenv("KANNEL_SENDSMS_FROM", "HISAAB", 1);
    setenv("HISAAB_NOTIFY_TIMEOUT_MS", "5000", 1);
    etl_notify_opts_init(&o, &cfg);
    assert_string_equal(o.sendsms.user, "env-user");
    assert_string_equal(o.sendsms.from, "HISAAB");
    assert_int_equal(o.sendsms.timeout_ms, 5000);
    setenv("HISAAB_NOTIFY_TIMEOUT_MS", "50", 1); /* out of range: the sendsms default */
    etl_notify_opts_init(&o, &cfg);
    assert_int_equal(o.sendsms.timeout_ms, SENDSMS_TIMEOUT_MS);
    unsetenv("KANNEL_SENDSMS_USER");
    unsetenv("KANNEL_SENDSMS_FROM");
    unsetenv("HISAAB_NOTIFY_TIMEOUT_MS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_ist_minutes),
        cmocka_unit_test(test_window_edges),
        cmocka_unit_test(test_window_across_midnight),
        cmocka_unit_test(test_now_env),
        cmocka_unit_test_setup_teardown(test_render_en, load_templates, free_templates),
        cmocka_unit_test_setup_teardown(test_render_hi, load_templates, free_templates),
        cmocka_unit_test_setup_teardown(test_render_missing, load_templates, free_templates),
        cmocka_unit_test(test_opts_env),
        cmocka_unit_test(test_opts_config),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
