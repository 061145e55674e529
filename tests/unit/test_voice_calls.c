/*
 * Tests for the missed-call dialer's REST clients: gateway/dial.c (the outcome classes,
 * the account id check), gateway/twilio_calls.c and gateway/exotel_calls.c (where the
 * options come from, the URL, the form fields, the id in the answer), and placing calls
 * on a real loop against the tests' HTTP server (fake_http.c): the method, the path, the
 * basic auth header and the form the server saw, every outcome class, a provider that
 * never answers (the timeout), and no error that carries a credential.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "backend/curlm.h"
#include "gateway/dial.h"
#include "gateway/exotel_calls.h"
#include "gateway/twilio_calls.h"
#include "net/config.h"
#include "net/form.h"

#include "fake_http.c"

static struct event_base *base;

#include "loop.h"

#define FLOW "https://hisaab.example/ivr/twilio/voice?from=missed&lang=hi"
#define STATUS "https://hisaab.example/ivr/twilio/status"
#define TWILIO_AUTH "Authorization: Basic QUMwMTIzOnMzY3IzdA==" /* AC0123:s3cr3t */
#define EXOTEL_AUTH "Authorization: Basic ZXhva2V5OmV4byZ0b2s=" /* exokey:exo&tok */

static struct twilio_calls_opts twilio(const char *api_base)
{
    struct twilio_calls_opts o;

    memset(&o, 0, sizeof(o));
    o.api_base = api_base;
    o.account_sid = "AC0123";
    o.auth_token = "s3cr3t";
    o.caller_id = "+918069000000";
    return o;
}

static struct exotel_calls_opts exotel(const char *api_base)
{
    struct exotel_calls_opts o;

    memset(&o, 0, sizeof(o));
    o.api_base = api_base;
    o.account_sid = "hisaab1";
    o.api_key = "exokey";
    o.api_token = "exo&tok";
    o.caller_id = "08039510000";
    o.app_id = "271828";
    return o;
}

static void test_classify_and_token(void **state)
{
    static const struct {
        int answered;
        long status;
        enum dial_outcome want;
    } table[] = {
        {0, 0, DIAL_PROVIDER_DOWN},   {0, 201, DIAL_PROVIDER_DOWN}, {1, 200, DIAL_PLACED},
        {1, 201, DIAL_PLACED},        {1, 299, DIAL_PLACED},        {1, 500, DIAL_PROVIDER_DOWN},
        {1, 503, DIAL_PROVIDER_DOWN}, {1, 429, DIAL_PROVIDER_DOWN}, {1, 401, DIAL_PROVIDER_DOWN},
        {1, 403, DIAL_PROVIDER_DOWN}, {1, 404, DIAL_PROVIDER_DOWN}, {1, 400, DIAL_REFUSED},
        {1, 409, DIAL_REFUSED},       {1, 422, DIAL_REFUSED},       {1, 302, DIAL_REFUSED},
        {1, 100, DIAL_REFUSED},
    };
    size_t i;
    (void)state;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (dial_classify(table[i].answered, table[i].status) != table[i].want)
            fail_msg("answered %d, status %ld: %d, not %d", table[i].answered, table[i].status,
                     (int)dial_classify(table[i].answered, table[i].status), (int)table[i].want);
    assert_true(dial_token_ok("AC0123abc_-"));
    assert_false(dial_token_ok(NULL));
    assert_false(dial_token_ok(""));
    assert_false(dial_token_ok("AC/../x"));
    assert_false(dial_token_ok("AC 1"));
    assert_false(dial_token_ok("AC?x=1"));
}

/* The decoded value of name in the form body, or NULL (static). */
static const char *field(const char *body, const char *name)
{
    static char v[1024];
    struct buf b;
    int r;

    buf_init(&b, sizeof(v) - 1);
    r = form_get(body, strlen(body), name, &b);
    snprintf(v, sizeof(v), "%s", buf_cstr(&b));
    buf_free(&b);
    return r == 1 ? v : NULL;
}

/* fn on the JSON text s into id. */
#define ID(fn, s) fn(s, strlen(s), id, sizeof(id))

static void test_twilio_request(void **state)
{
    struct twilio_calls_opts o = twilio("https://api.twilio.com");
    char id[DIAL_ID_MAX];
    struct buf b;
    (void)state;

    buf_init(&b, 8192);
    assert_int_equal(twilio_calls_url(&o, &b), 0);
    assert_string_equal(buf_cstr(&b),
                        "https://api.twilio.com/2010-04-01/Accounts/AC0123/Calls.json");
    buf_reset(&b);
    o.api_base = "http://127.0.0.1:9/base/";
    assert_int_equal(twilio_calls_url(&o, &b), 0);
    assert_string_equal(buf_cstr(&b),
                        "http://127.0.0.1:9/base/2010-04-01/Accounts/AC0123/Calls.json");
    buf_reset(&b);
    o.account_sid = "AC/../../x";
    assert_int_equal(twilio_calls_url(&o, &b), -1);
    o.account_sid = NULL;
    assert_int_equal(twilio_calls_url(&o, &b), -1);
    assert_int_equal(b.len, 0);
    o = twilio("https://api.twilio.com");
    /* the form: each of Twilio's names, percent-encoded */
    assert_int_equal(twilio_calls_form(&o, "+919812345678", FLOW, STATUS, &b), 0);
    assert_string_equal(buf_cstr(&b),
                        "To=%2B919812345678&From=%2B918069000000"
                        "&Url=https%3A%2F%2Fhisaab.example%2Fivr%2Ftwilio%2Fvoice%3Ffrom%3Dmissed"
                        "%26lang%3Dhi&Method=POST"
                        "&StatusCallback=https%3A%2F%2Fhisaab.example%2Fivr%2Ftwilio%2Fstatus"
                        "&StatusCallbackEvent=completed");
    assert_string_equal(field(buf_cstr(&b), "Url"), FLOW);
    buf_reset(&b);
    assert_int_equal(twilio_calls_form(&o, "+919812345678", FLOW, NULL, &b), 0);
    assert_null(field(buf_cstr(&b), "StatusCallback"));
    assert_null(field(buf_cstr(&b), "StatusCallbackEvent"));
    buf_reset(&b);
    assert_int_equal(twilio_calls_form(&o, NULL, FLOW, NULL, &b), -1);
    assert_int_equal(twilio_calls_form(&o, "+91", "", NULL, &b), -1);
    o.caller_id = NULL;
    assert_int_equal(twilio_calls_form(&o, "+91", FLOW, NULL, &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    /* the answer's sid */
    assert_int_equal(ID(twilio_calls_id, "{\"sid\": \"CA9f\", \"status\": \"queued\"}"), 0);
    assert_string_equal(id, "CA9f");
    assert_int_equal(ID(twilio_calls_id, "{\"code\": 21211}"), -1);
    assert_string_equal(id, "");
    assert_int_equal(ID(twilio_calls_id, "{\"sid\": 5}"), -1);
    assert_int_equal(ID(twilio_calls_id, "[1]"), -1);
    assert_int_equal(ID(twilio_calls_id, "not json"), -1);
    assert_int_equal(twilio_calls_id("{\"sid\": \"CA9f\"}", strlen("{\"sid\": \"CA9f\"}"), id, 4),
                     -1); /* does not fit */
}

static void test_exotel_request(void **state)
{
    struct exotel_calls_opts o = exotel("https://api.exotel.com");
    char id[DIAL_ID_MAX];
    struct buf b;
    (void)state;

    buf_init(&b, 8192);
    assert_int_equal(exotel_calls_url(&o, &b), 0);
    assert_string_equal(buf_cstr(&b),
                        "https://api.exotel.com/v1/Accounts/hisaab1/Calls/connect.json");
    buf_reset(&b);
    assert_int_equal(
        exotel_calls_form(&o, "09812345678", "https://h.example/ivr/exotel/status?key=k", &b), 0);
    assert_string_equal(
        buf_cstr(&b), "From=09812345678&CallerId=08039510000"
                      "&Url=http%3A%2F%2Fmy.exotel.com%2Fhisaab1%2Fexoml%2Fstart_voice%2F271828"
                      "&CallType=trans"
                      "&StatusCallback=https%3A%2F%2Fh.example%2Fivr%2Fexotel%2Fstatus%3Fkey%3Dk");
    assert_string_equal(field(buf_cstr(&b), "Url"),
                        "http://my.exotel.com/hisaab1/exoml/start_voice/271828");
    buf_reset(&b);
    assert_int_equal(exotel_calls_form(&o, "0981", NULL, &b), 0);
    assert_null(field(buf_cstr(&b), "StatusCallback"));
    buf_reset(&b);
    o.app_id = NULL;
    assert_int_equal(exotel_calls_form(&o, "0981", NULL, &b), -1);
    o.app_id = "27/1";
    assert_int_equal(exotel_calls_form(&o, "0981", NULL, &b), -1);
    o = exotel("https://api.exotel.com");
    o.caller_id = "";
    assert_int_equal(exotel_calls_form(&o, "0981", NULL, &b), -1);
    assert_int_equal(b.len, 0);
    o.account_sid = "a b";
    assert_int_equal(exotel_calls_url(&o, &b), -1);
    buf_free(&b);
    assert_int_equal(
        ID(exotel_calls_id, "{\"Call\": {\"Sid\": \"b6cf7a\", \"Status\": \"in-progress\"}}"), 0);
    assert_string_equal(id, "b6cf7a");
    assert_int_equal(ID(exotel_calls_id, "{\"RestException\": {\"Status\": 400}}"), -1);
    assert_int_equal(ID(exotel_calls_id, "{\"Call\": \"x\"}"), -1);
}

static void clear_env(void)
{
    static const char *const names[] = {
        "TWILIO_API_BASE",  "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_CALLER_ID",
        "EXOTEL_API_BASE",  "EXOTEL_SID",         "EXOTEL_API_KEY",    "EXOTEL_API_TOKEN",
        "EXOTEL_CALLER_ID", "EXOTEL_APP_ID",
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unsetenv(names[i]);
}

static void test_opts_from_the_environment(void **state)
{
    struct twilio_calls_opts t;
    struct exotel_calls_opts x;
    char token[] = "conf-token";
    struct config cfg;
    (void)state;

    clear_env();
    twilio_calls_opts_init(&t, NULL);
    assert_string_equal(t.api_base, "https://api.twilio.com");
    assert_null(t.account_sid);
    assert_null(t.auth_token);
    assert_null(t.caller_id);
    assert_int_equal(t.timeout_ms, DIAL_TIMEOUT_MS);
    memset(&cfg, 0, sizeof(cfg));
    cfg.twilio_auth_token = token;
    twilio_calls_opts_init(&t, &cfg);
    assert_string_equal(t.auth_token, "conf-token");
    setenv("TWILIO_API_BASE", "http://127.0.0.1:1", 1);
    setenv("TWILIO_ACCOUNT_SID", "AC1", 1);
    setenv("TWILIO_AUTH_TOKEN", "env-token", 1);
    setenv("TWILIO_CALLER_ID", "+9180", 1);
    twilio_calls_opts_init(&t, &cfg);
    assert_string_equal(t.api_base, "http://127.0.0.1:1");
    assert_string_equal(t.account_sid, "AC1");
    assert_string_equal(t.auth_token, "env-token");
    assert_string_equal(t.caller_id, "+9180");
    setenv("TWILIO_API_BASE", "", 1); /* empty is unset */
    twilio_calls_opts_init(&t, &cfg);
    assert_string_equal(t.api_base, "https://api.twilio.com");

    exotel_calls_opts_init(&x);
    assert_string_equal(x.api_base, "https://api.exotel.com");
    assert_null(x.account_sid);
    assert_null(x.api_key);
    assert_null(x.api_token);
    assert_null(x.caller_id);
    assert_null(x.app_id);
    setenv("EXOTEL_API_BASE", "https://api.in.exotel.com", 1);
    setenv("EXOTEL_SID", "hisaab1", 1);
    setenv("EXOTEL_API_KEY", "k", 1);
    setenv("EXOTEL_API_TOKEN", "t", 1);
    setenv("EXOTEL_CALLER_ID", "0803", 1);
    setenv("EXOTEL_APP_ID", "271828", 1);
    exotel_calls_opts_init(&x);
    assert_string_equal(x.api_base, "https://api.in.exotel.com");
    assert_string_equal(x.account_sid, "hisaab1");
    assert_string_equal(x.api_key, "k");
    assert_string_equal(x.api_token, "t");
    assert_string_equal(x.caller_id, "0803");
    assert_string_equal(x.app_id, "271828");
    clear_env();
}

/* ---- placing calls on the loop ---------------------------------------------------- */

struct placed {
    int calls;
    enum dial_outcome outcome;
    long status;
    char id[DIAL_ID_MAX];
    int error_null;
    char error[256];
};

static void on_placed(void *arg, const struct dial_result *r)
{
    struct placed *p = arg;

    p->calls++;
    p->outcome = r->outcome;
    p->status = r->status;
    snprintf(p->id, sizeof(p->id), "%s", r->call_id);
    p->error_null = r->error == NULL;
    snprintf(p->error, sizeof(p->error), "%s", r->error != NULL ? r->error : "");
}

static char base_url[16][128];

static const char *at(int i, const char *path)
{
    snprintf(base_url[i], sizeof(base_url[i]), "http://127.0.0.1:%d%s", fake_http_port, path);
    return base_url[i];
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void no_secret(const struct placed *p)
{
    assert_null(strstr(p->error, "s3cr3t"));
    assert_null(strstr(p->error, "exo&tok"));
    assert_null(strstr(p->error, "AC0123"));
    assert_null(strstr(p->error, "Accounts")); /* curl may name the host, never the path */
}

static void test_twilio_on_the_loop(void **state)
{
    struct twilio_calls_opts o = twilio(at(0, "/json/201"));
    struct placed ok = {0}, down = {0}, auth = {0}, refused = {0}, noid = {0}, gone = {0},
                  slow = {0}, never = {0};
    char head[FAKE_REQ_MAX], body[FAKE_REQ_MAX];
    (void)state;

    assert_int_equal(curlm_init(base), 0);
    assert_int_equal(twilio_calls_start(&o, "+919812345678", FLOW, STATUS, on_placed, &ok), 0);
    assert_int_equal(ok.calls, 0); /* never inside the start */
    assert_true(run_until(&ok.calls, 10));
    assert_int_equal(ok.outcome, DIAL_PLACED);
    assert_int_equal(ok.status, 201);
    assert_string_equal(ok.id, "CAfake01");
    assert_true(ok.error_null);
    /* what Twilio would have seen */
    fake_http_last(head, sizeof(head));
    fake_http_last_body(body, sizeof(body));
    assert_true(starts(head, "POST /json/201/2010-04-01/Accounts/AC0123/Calls.json HTTP/1.1\r\n"));
    assert_non_null(strstr(head, "\r\n" TWILIO_AUTH "\r\n"));
    assert_non_null(strcasestr(head, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_string_equal(field(body, "To"), "+919812345678");
    assert_string_equal(field(body, "From"), "+918069000000");
    assert_string_equal(field(body, "Url"), FLOW);
    assert_string_equal(field(body, "Method"), "POST");
    assert_string_equal(field(body, "StatusCallback"), STATUS);
    assert_string_equal(field(body, "StatusCallbackEvent"), "completed");

    o.api_base = at(1, "/json/503");
    assert_int_equal(twilio_calls_start(&o, "+91", FLOW, NULL, on_placed, &down), 0);
    o.api_base = at(2, "/json/401");
    assert_int_equal(twilio_calls_start(&o, "+91", FLOW, NULL, on_placed, &auth), 0);
    o.api_base = at(3, "/json/400");
    assert_int_equal(twilio_calls_start(&o, "+91", FLOW, NULL, on_placed, &refused), 0);
    o.api_base = at(4, "/text/201");
    assert_int_equal(twilio_calls_start(&o, "+91", FLOW, NULL, on_placed, &noid), 0);
    snprintf(base_url[5], sizeof(base_url[5]), "http://127.0.0.1:%d", fake_http_closed_port);
    o.api_base = base_url[5];
    assert_int_equal(twilio_calls_start(&o, "+91", FLOW, NULL, on_placed, &gone), 0);
    o.api_base = at(6, "/hang");
    o.timeout_ms = 300;
    assert_int_equal(twilio_calls_start(&o, "+91", FLOW, NULL, on_placed, &slow), 0);
    /* never started: cb never called */
    o.timeout_ms = 0;
    o.auth_token = NULL;
    assert_int_equal(twilio_calls_start(&o, "+91", FLOW, NULL, on_placed, &never), -1);
    o = twilio(at(7, "/json/201"));
    assert_int_equal(twilio_calls_start(&o, NULL, FLOW, NULL, on_placed, &never), -1);
    o.account_sid = "AC?x";
    assert_int_equal(twilio_calls_start(&o, "+91", FLOW, NULL, on_placed, &never), -1);
    o = twilio("ftp://127.0.0.1");
    assert_int_equal(twilio_calls_start(&o, "+91", FLOW, NULL, on_placed, &never), -1);

    assert_true(run_until(&down.calls, 10));
    assert_true(run_until(&auth.calls, 10));
    assert_true(run_until(&refused.calls, 10));
    assert_true(run_until(&noid.calls, 10));
    assert_true(run_until(&gone.calls, 10));
    assert_true(run_until(&slow.calls, 10));
    assert_int_equal(down.outcome, DIAL_PROVIDER_DOWN);
    assert_string_equal(down.error, "HTTP 503");
    assert_string_equal(down.id, "");
    assert_int_equal(auth.outcome, DIAL_PROVIDER_DOWN);
    assert_string_equal(auth.error, "HTTP 401");
    assert_int_equal(refused.outcome, DIAL_REFUSED);
    assert_string_equal(refused.error, "HTTP 400");
    assert_int_equal(noid.outcome, DIAL_PLACED);
    assert_string_equal(noid.id, "");
    assert_string_equal(noid.error, "no call id in the answer");
    assert_int_equal(gone.outcome, DIAL_PROVIDER_DOWN);
    assert_int_equal(gone.status, 0);
    assert_false(gone.error_null);
    assert_int_equal(slow.outcome, DIAL_PROVIDER_DOWN);
    assert_false(slow.error_null);
    no_secret(&gone);
    no_secret(&slow);
    no_secret(&down);
    run_until(&never.calls, 0.2);
    assert_int_equal(never.calls, 0);
    assert_int_equal(ok.calls + down.calls + auth.calls + refused.calls + noid.calls + gone.calls +
                         slow.calls,
                     7);
    assert_int_equal(curlm_running(), 0);
    curlm_exit();
}

static void test_exotel_on_the_loop(void **state)
{
    struct exotel_calls_opts o = exotel(at(8, "/json/200"));
    struct placed ok = {0}, throttled = {0}, refused = {0}, never = {0};
    char head[FAKE_REQ_MAX], body[FAKE_REQ_MAX];
    (void)state;

    assert_int_equal(curlm_init(base), 0);
    assert_int_equal(exotel_calls_start(&o, "09812345678", "https://h.example/ivr/exotel/status",
                                        on_placed, &ok),
                     0);
    assert_true(run_until(&ok.calls, 10));
    assert_int_equal(ok.outcome, DIAL_PLACED);
    assert_int_equal(ok.status, 200);
    assert_string_equal(ok.id, "exofake01");
    fake_http_last(head, sizeof(head));
    fake_http_last_body(body, sizeof(body));
    assert_true(starts(head, "POST /json/200/v1/Accounts/hisaab1/Calls/connect.json HTTP/1.1\r\n"));
    assert_non_null(strstr(head, "\r\n" EXOTEL_AUTH "\r\n"));
    assert_string_equal(field(body, "From"), "09812345678");
    assert_string_equal(field(body, "CallerId"), "08039510000");
    assert_string_equal(field(body, "Url"),
                        "http://my.exotel.com/hisaab1/exoml/start_voice/271828");
    assert_string_equal(field(body, "StatusCallback"), "https://h.example/ivr/exotel/status");

    o.api_base = at(9, "/json/429");
    assert_int_equal(exotel_calls_start(&o, "0981", NULL, on_placed, &throttled), 0);
    o.api_base = at(10, "/json/400");
    assert_int_equal(exotel_calls_start(&o, "0981", NULL, on_placed, &refused), 0);
    o.api_token = NULL;
    assert_int_equal(exotel_calls_start(&o, "0981", NULL, on_placed, &never), -1);
    o = exotel(at(11, "/json/200"));
    o.app_id = NULL;
    assert_int_equal(exotel_calls_start(&o, "0981", NULL, on_placed, &never), -1);
    assert_true(run_until(&throttled.calls, 10));
    assert_true(run_until(&refused.calls, 10));
    assert_int_equal(throttled.outcome, DIAL_PROVIDER_DOWN);
    assert_string_equal(throttled.error, "HTTP 429");
    assert_int_equal(refused.outcome, DIAL_REFUSED);
    no_secret(&throttled);
    run_until(&never.calls, 0.2);
    assert_int_equal(never.calls, 0);
    assert_int_equal(ok.calls + throttled.calls + refused.calls, 3);
    curlm_exit();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_and_token), cmocka_unit_test(test_twilio_request),
        cmocka_unit_test(test_exotel_request),     cmocka_unit_test(test_opts_from_the_environment),
        cmocka_unit_test(test_twilio_on_the_loop), cmocka_unit_test(test_exotel_on_the_loop),
    };
    int rc;

    base = event_base_new();
    if (base == NULL || fake_http_start() != 0) {
        fprintf(stderr, "test_voice_calls: cannot start the test server\n");
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    fake_http_stop();
    event_base_free(base);
    return rc;
}
