/*
 * Tests for gateway/sendsms.c: the request URL (percent-encoding of Hindi text and of the
 * characters that would split a query, coding=2 for UCS-2 only, from only when set, the
 * configured URL's own query, out's cap), the outcome of every kind of answer, where the
 * options come from (the environment over kore.conf), and both ways of sending, on the
 * loop (curlm) and blocking, against the tests' HTTP server (fake_http.c), where no error
 * ever carries the password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "backend/curlm.h"
#include "gateway/sendsms.h"
#include "net/config.h"

#include "fake_http.c"

#define KANNEL "http://127.0.0.1:13013/cgi-bin/sendsms"
/* नमस्ते in UTF-8, percent-encoded */
#define NAMASTE_ESC "%E0%A4%A8%E0%A4%AE%E0%A4%B8%E0%A5%8D%E0%A4%A4%E0%A5%87"

static struct event_base *base;

#include "loop.h"

static struct sendsms_opts opts(const char *url, const char *user, const char *password,
                                const char *from)
{
    struct sendsms_opts o;

    memset(&o, 0, sizeof(o));
    o.url = url;
    o.user = user;
    o.password = password;
    o.from = from;
    return o;
}

/* sendsms_url() into a fresh buffer; the URL (static) or NULL when it fails. */
static const char *build(const struct sendsms_opts *o, const char *to, const char *text,
                         enum smsenc_coding coding)
{
    static char url[SENDSMS_URL_MAX + 1];
    struct buf b;
    int rc;

    buf_init(&b, SENDSMS_URL_MAX);
    rc = sendsms_url(o, to, text, coding, &b);
    snprintf(url, sizeof(url), "%s", buf_cstr(&b));
    buf_free(&b);
    return rc == 0 ? url : NULL;
}

static void test_url_plain_text_gsm7(void **state)
{
    struct sendsms_opts o = opts(KANNEL, "hisaab", "s3cret", NULL);
    (void)state;

    assert_string_equal(build(&o, "919812345678", "Hello NREGA", SMSENC_GSM7),
                        KANNEL "?username=hisaab&password=s3cret&to=919812345678"
                               "&text=Hello%20NREGA&charset=UTF-8");
}

static void test_url_hindi_and_specials(void **state)
{
    struct sendsms_opts o = opts(KANNEL, "hisaab", "p&ss+w=rd?", NULL);
    (void)state;

    /* Hindi as UTF-8 bytes; '&' '+' '=' and spaces never reach the query raw */
    assert_string_equal(build(&o, "+919812345678", "नमस्ते & 1+1=2", SMSENC_UCS2),
                        KANNEL "?username=hisaab&password=p%26ss%2Bw%3Drd%3F&to=%2B919812345678"
                               "&text=" NAMASTE_ESC "%20%26%201%2B1%3D2&charset=UTF-8&coding=2");
    /* GSM-7: no coding at all */
    assert_string_equal(build(&o, "919812345678", "a&b", SMSENC_GSM7),
                        KANNEL "?username=hisaab&password=p%26ss%2Bw%3Drd%3F&to=919812345678"
                               "&text=a%26b&charset=UTF-8");
}

static void test_url_from_and_the_configured_query(void **state)
{
    struct sendsms_opts o = opts(KANNEL, "hisaab", "s3cret", "HISAAB");
    (void)state;

    assert_string_equal(build(&o, "919812345678", "x", SMSENC_GSM7),
                        KANNEL "?username=hisaab&password=s3cret&from=HISAAB&to=919812345678"
                               "&text=x&charset=UTF-8");
    /* no user, password or from: the first parameter is to=, still no stray '&' */
    o = opts(KANNEL, NULL, NULL, NULL);
    assert_string_equal(build(&o, "919812345678", "x", SMSENC_UCS2),
                        KANNEL "?to=919812345678&text=x&charset=UTF-8&coding=2");
    /* the configured URL's own query is kept */
    o = opts(KANNEL "?smsc=fake", NULL, NULL, "A B");
    assert_string_equal(build(&o, "1", "x", SMSENC_GSM7),
                        KANNEL "?smsc=fake&from=A%20B&to=1&text=x&charset=UTF-8");
    o = opts(KANNEL "?", "u", NULL, NULL);
    assert_string_equal(build(&o, "1", "x", SMSENC_GSM7),
                        KANNEL "?username=u&to=1&text=x&charset=UTF-8");
    o = opts(KANNEL "?smsc=fake&", "u", NULL, NULL);
    assert_string_equal(build(&o, "1", "x", SMSENC_GSM7),
                        KANNEL "?smsc=fake&username=u&to=1&text=x&charset=UTF-8");
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The value of name= in the query of url, percent-decoded into out; 0 or -1. */
static int param(const char *url, const char *name, char *out, size_t len)
{
    const char *p = strchr(url, '?');
    size_t n = strlen(name), j = 0;

    while (p != NULL) {
        p++;
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            for (p += n + 1; *p != '\0' && *p != '&' && j + 1 < len; p++) {
                if (*p == '%') {
                    int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
                    if (lo < 0)
                        return -1;
                    out[j++] = (char)(hi * 16 + lo);
                    p += 2;
                } else {
                    assert_true(strchr("+= ", *p) == NULL);
                    out[j++] = *p;
                }
            }
            out[j] = '\0';
            return 0;
        }
        p = strchr(p, '&');
    }
    return -1;
}

/* Every printable ASCII character and some Devanagari survive the trip through the URL. */
static void test_url_roundtrip_every_character(void **state)
{
    struct sendsms_opts o = opts(KANNEL, "us er", "&=+%", "F?");
    char text[256], got[512];
    const char *u;
    int i, n = 0;
    (void)state;

    for (i = 0x20; i < 0x7f; i++)
        text[n++] = (char)i;
    text[n] = '\0';
    snprintf(text + n, sizeof(text) - (size_t)n, "%s", " निवाड़ी ₹");
    u = build(&o, "+91 98", text, SMSENC_UCS2);
    assert_non_null(u);
    assert_int_equal(param(u, "text", got, sizeof(got)), 0);
    assert_string_equal(got, text);
    assert_int_equal(param(u, "to", got, sizeof(got)), 0);
    assert_string_equal(got, "+91 98");
    assert_int_equal(param(u, "username", got, sizeof(got)), 0);
    assert_string_equal(got, "us er");
    assert_int_equal(param(u, "password", got, sizeof(got)), 0);
    assert_string_equal(got, "&=+%");
    assert_int_equal(param(u, "from", got, sizeof(got)), 0);
    assert_string_equal(got, "F?");
    assert_int_equal(param(u, "charset", got, sizeof(got)), 0);
    assert_string_equal(got, "UTF-8");
    assert_int_equal(param(u, "coding", got, sizeof(got)), 0);
    assert_string_equal(got, "2");
    assert_int_not_equal(u[strlen(u) - 1], '&');
    /* only the parameters we meant: six '&' between seven of them */
    for (i = 0, n = 0; u[i] != '\0'; i++)
        n += u[i] == '&';
    assert_int_equal(n, 6);
}

static void test_url_errors_leave_out_as_it_was(void **state)
{
    struct sendsms_opts o = opts(NULL, "u", "p", NULL);
    struct buf b;
    (void)state;

    assert_null(build(&o, "1", "x", SMSENC_GSM7)); /* no URL */
    o.url = "";
    assert_null(build(&o, "1", "x", SMSENC_GSM7));
    o.url = KANNEL;
    assert_null(build(&o, NULL, "x", SMSENC_GSM7));
    assert_null(build(&o, "1", NULL, SMSENC_GSM7));
    assert_null(build(NULL, "1", "x", SMSENC_GSM7));
    /* over the cap: out is left as it was */
    buf_init(&b, 60);
    assert_int_equal(buf_puts(&b, "kept:"), 0);
    assert_int_equal(
        sendsms_url(&o, "919812345678", "a text too long for sixty bytes", SMSENC_GSM7, &b), -1);
    assert_int_equal(b.len, 5);
    assert_string_equal(buf_cstr(&b), "kept:");
    buf_free(&b);
}

static void test_classify_every_kind_of_answer(void **state)
{
    static const struct {
        int answered;
        long status;
        enum sendsms_outcome want;
    } table[] = {
        {0, 0, SENDSMS_GATEWAY_DOWN},   {0, 200, SENDSMS_GATEWAY_DOWN}, /* no answer */
        {1, 200, SENDSMS_SENT},         {1, 202, SENDSMS_SENT},
        {1, 299, SENDSMS_SENT},         {1, 500, SENDSMS_GATEWAY_DOWN},
        {1, 502, SENDSMS_GATEWAY_DOWN}, {1, 503, SENDSMS_GATEWAY_DOWN},
        {1, 599, SENDSMS_GATEWAY_DOWN}, {1, 429, SENDSMS_GATEWAY_DOWN},
        {1, 401, SENDSMS_GATEWAY_DOWN}, {1, 403, SENDSMS_GATEWAY_DOWN},
        {1, 404, SENDSMS_GATEWAY_DOWN}, {1, 400, SENDSMS_REFUSED},
        {1, 405, SENDSMS_REFUSED},      {1, 413, SENDSMS_REFUSED},
        {1, 422, SENDSMS_REFUSED},      {1, 100, SENDSMS_REFUSED},
        {1, 199, SENDSMS_REFUSED},      {1, 300, SENDSMS_REFUSED},
        {1, 302, SENDSMS_REFUSED},      {1, 304, SENDSMS_REFUSED},
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (sendsms_classify(table[i].answered, table[i].status) != table[i].want)
            fail_msg("answered %d, status %ld: %d, not %d", table[i].answered, table[i].status,
                     (int)sendsms_classify(table[i].answered, table[i].status), (int)table[i].want);
    }
}

static void clear_env(void)
{
    unsetenv("KANNEL_SENDSMS_URL");
    unsetenv("KANNEL_SENDSMS_USER");
    unsetenv("KANNEL_SENDSMS_PASSWORD");
    unsetenv("KANNEL_SENDSMS_FROM");
}

static void test_opts_environment_over_kore_conf(void **state)
{
    char url[] = "http://conf:13013/cgi-bin/sendsms", user[] = "conf-user", pw[] = "conf-pw",
         from[] = "CONFID";
    struct sendsms_opts o;
    struct config cfg;
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.kannel_sendsms_url = url;
    cfg.kannel_sendsms_user = user;
    cfg.kannel_sendsms_password = pw;
    clear_env();
    /* kore.conf alone (without a sender id first) */
    sendsms_opts_init(&o, &cfg);
    assert_null(o.from);
    cfg.kannel_sendsms_from = from;
    sendsms_opts_init(&o, &cfg);
    assert_string_equal(o.url, url);
    assert_string_equal(o.user, user);
    assert_string_equal(o.password, pw);
    assert_string_equal(o.from, from);
    assert_int_equal(o.timeout_ms, SENDSMS_TIMEOUT_MS);
    /* the environment wins, each setting on its own */
    setenv("KANNEL_SENDSMS_URL", "http://env:13013/cgi-bin/sendsms", 1);
    setenv("KANNEL_SENDSMS_FROM", "HISAAB", 1);
    sendsms_opts_init(&o, &cfg);
    assert_string_equal(o.url, "http://env:13013/cgi-bin/sendsms");
    assert_string_equal(o.user, user);
    assert_string_equal(o.from, "HISAAB");
    setenv("KANNEL_SENDSMS_USER", "env-user", 1);
    setenv("KANNEL_SENDSMS_PASSWORD", "env-pw", 1);
    sendsms_opts_init(&o, &cfg);
    assert_string_equal(o.user, "env-user");
    assert_string_equal(o.password, "env-pw");
    /* an empty variable is not set */
    setenv("KANNEL_SENDSMS_URL", "", 1);
    setenv("KANNEL_SENDSMS_USER", "", 1);
    sendsms_opts_init(&o, &cfg);
    assert_string_equal(o.url, url);
    assert_string_equal(o.user, user);
    /* no kore.conf: the environment only */
    clear_env();
    sendsms_opts_init(&o, NULL);
    assert_null(o.url);
    assert_null(o.user);
    assert_null(o.password);
    assert_null(o.from);
    setenv("KANNEL_SENDSMS_URL", "http://env:13013/cgi-bin/sendsms", 1);
    setenv("KANNEL_SENDSMS_PASSWORD", "env-pw", 1);
    sendsms_opts_init(&o, NULL);
    assert_string_equal(o.url, "http://env:13013/cgi-bin/sendsms");
    assert_null(o.user);
    assert_string_equal(o.password, "env-pw");
    /* empty strings in kore.conf count as unset */
    clear_env();
    user[0] = '\0';
    sendsms_opts_init(&o, &cfg);
    assert_null(o.user);
    clear_env();
}

/* ---- sending ---------------------------------------------------------------------- */

static char base_url[128];

static const char *at(const char *path)
{
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d%s", fake_http_port, path);
    return base_url;
}

static void test_send_blocking_outcomes(void **state)
{
    static const struct {
        const char *path;
        enum sendsms_outcome want;
        const char *err;
    } cases[] = {
        {"/status/202", SENDSMS_SENT, ""},
        {"/status/200", SENDSMS_SENT, ""},
        {"/status/503", SENDSMS_GATEWAY_DOWN, "HTTP 503"},
        {"/status/429", SENDSMS_GATEWAY_DOWN, "HTTP 429"},
        {"/status/403", SENDSMS_GATEWAY_DOWN, "HTTP 403"},
        {"/nowhere", SENDSMS_GATEWAY_DOWN, "HTTP 404"},
        {"/status/400", SENDSMS_REFUSED, "HTTP 400"},
    };
    struct sendsms_opts o = opts(NULL, "hisaab", "s3cret", NULL);
    char err[256], seen[FAKE_REQ_MAX], want[SENDSMS_URL_MAX + 64];
    const char *u;
    long ms = -1;
    size_t i;
    double t0;
    (void)state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        o.url = at(cases[i].path);
        err[0] = 'x';
        assert_int_equal(sendsms_send_blocking(&o, "919812345678", "नमस्ते & 1+1", SMSENC_UCS2, &ms,
                                               err, sizeof(err)),
                         cases[i].want);
        assert_string_equal(err, cases[i].err);
        assert_true(ms >= 0 && ms < 5000);
    }
    /* the request the server saw is the URL sendsms_url() builds */
    o.url = at("/status/202");
    u = build(&o, "919812345678", "नमस्ते & 1+1", SMSENC_UCS2);
    assert_int_equal(
        sendsms_send_blocking(&o, "919812345678", "नमस्ते & 1+1", SMSENC_UCS2, NULL, NULL, 0),
        SENDSMS_SENT);
    fake_http_last(seen, sizeof(seen));
    snprintf(want, sizeof(want), "GET %s HTTP/1.1\r\n", strstr(u, "/status/202"));
    assert_int_equal(strncmp(seen, want, strlen(want)), 0);

    /* no answer: refused, and a request never answered (the timeout) */
    snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d/cgi-bin/sendsms",
             fake_http_closed_port);
    o.url = base_url;
    assert_int_equal(
        sendsms_send_blocking(&o, "919812345678", "x", SMSENC_GSM7, &ms, err, sizeof(err)),
        SENDSMS_GATEWAY_DOWN);
    assert_true(err[0] != '\0');
    assert_null(strstr(err, "s3cret"));
    assert_null(strstr(err, "password"));
    assert_null(strstr(err, "/cgi-bin"));
    o.url = at("/hang");
    o.timeout_ms = 300;
    t0 = (double)time(NULL);
    assert_int_equal(
        sendsms_send_blocking(&o, "919812345678", "x", SMSENC_GSM7, &ms, err, sizeof(err)),
        SENDSMS_GATEWAY_DOWN);
    assert_true((double)time(NULL) - t0 < 3);
    assert_true(ms >= 250 && ms < 3000);
    assert_null(strstr(err, "s3cret"));
    assert_null(strstr(err, "password"));
    o.timeout_ms = 0;

    /* nothing to send to, or a text that cannot fit a URL */
    o.url = NULL;
    assert_int_equal(sendsms_send_blocking(&o, "1", "x", SMSENC_GSM7, NULL, err, sizeof(err)),
                     SENDSMS_GATEWAY_DOWN);
    assert_string_equal(err, "no sendsms URL configured");
    o.url = at("/status/202");
    {
        static char text[SENDSMS_URL_MAX];
        memset(text, '&', sizeof(text) - 1);
        assert_int_equal(sendsms_send_blocking(&o, "1", text, SMSENC_GSM7, NULL, err, sizeof(err)),
                         SENDSMS_REFUSED);
        assert_string_equal(err, "request too long");
    }
    o.url = "ftp://127.0.0.1/?password=s3cret";
    assert_int_equal(sendsms_send_blocking(&o, "1", "x", SMSENC_GSM7, NULL, err, sizeof(err)),
                     SENDSMS_GATEWAY_DOWN);
    assert_null(strstr(err, "s3cret"));
}

struct sent {
    int calls;
    enum sendsms_outcome outcome;
    int err_null;
    char err[256];
};

static void on_sent(void *arg, enum sendsms_outcome outcome, const char *err)
{
    struct sent *s = arg;

    s->calls++;
    s->outcome = outcome;
    s->err_null = err == NULL;
    snprintf(s->err, sizeof(s->err), "%s", err != NULL ? err : "");
}

static void test_send_on_the_loop_outcomes(void **state)
{
    struct sendsms_opts o = opts(NULL, "hisaab", "s3cret", "HISAAB");
    struct sent ok = {0}, down = {0}, auth = {0}, refused = {0}, gone = {0}, none = {0};
    char url_gone[128];
    (void)state;

    assert_int_equal(curlm_init(base), 0);
    o.url = at("/status/202");
    assert_int_equal(sendsms_send(&o, "919812345678", "नमस्ते", SMSENC_UCS2, on_sent, &ok), 0);
    o.url = at("/status/503");
    assert_int_equal(sendsms_send(&o, "919812345678", "x", SMSENC_GSM7, on_sent, &down), 0);
    o.url = at("/status/401");
    assert_int_equal(sendsms_send(&o, "919812345678", "x", SMSENC_GSM7, on_sent, &auth), 0);
    o.url = at("/status/400");
    assert_int_equal(sendsms_send(&o, "919812345678", "x", SMSENC_GSM7, on_sent, &refused), 0);
    snprintf(url_gone, sizeof(url_gone), "http://127.0.0.1:%d/cgi-bin/sendsms",
             fake_http_closed_port);
    o.url = url_gone;
    assert_int_equal(sendsms_send(&o, "919812345678", "x", SMSENC_GSM7, on_sent, &gone), 0);
    /* never inside sendsms_send() */
    assert_int_equal(ok.calls + down.calls + auth.calls + refused.calls + gone.calls, 0);
    o.url = NULL;
    assert_int_equal(sendsms_send(&o, "919812345678", "x", SMSENC_GSM7, on_sent, &none), -1);

    assert_true(run_until(&ok.calls, 10));
    assert_true(run_until(&down.calls, 10));
    assert_true(run_until(&auth.calls, 10));
    assert_true(run_until(&refused.calls, 10));
    assert_true(run_until(&gone.calls, 10));
    assert_int_equal(ok.outcome, SENDSMS_SENT);
    assert_true(ok.err_null);
    assert_int_equal(down.outcome, SENDSMS_GATEWAY_DOWN);
    assert_string_equal(down.err, "HTTP 503");
    assert_int_equal(auth.outcome, SENDSMS_GATEWAY_DOWN);
    assert_string_equal(auth.err, "HTTP 401");
    assert_int_equal(refused.outcome, SENDSMS_REFUSED);
    assert_string_equal(refused.err, "HTTP 400");
    assert_int_equal(gone.outcome, SENDSMS_GATEWAY_DOWN);
    assert_false(gone.err_null);
    assert_null(strstr(gone.err, "s3cret"));
    assert_null(strstr(gone.err, "password"));
    /* each once; the one never started never */
    run_until(&none.calls, 0.2);
    assert_int_equal(ok.calls + down.calls + auth.calls + refused.calls + gone.calls, 5);
    assert_int_equal(none.calls, 0);
    assert_int_equal(curlm_running(), 0);
    curlm_exit();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_plain_text_gsm7),
        cmocka_unit_test(test_url_hindi_and_specials),
        cmocka_unit_test(test_url_from_and_the_configured_query),
        cmocka_unit_test(test_url_roundtrip_every_character),
        cmocka_unit_test(test_url_errors_leave_out_as_it_was),
        cmocka_unit_test(test_classify_every_kind_of_answer),
        cmocka_unit_test(test_opts_environment_over_kore_conf),
        cmocka_unit_test(test_send_blocking_outcomes),
        cmocka_unit_test(test_send_on_the_loop_outcomes),
    };
    int rc;

    base = event_base_new();
    if (base == NULL || fake_http_start() != 0) {
        fprintf(stderr, "test_sendsms: cannot start the test server\n");
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    fake_http_stop();
    event_base_free(base);
    return rc;
}
