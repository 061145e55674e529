/*
 * Tests for backend/curlm.c on a real libevent loop against the tests' small HTTP/1.1
 * server on a loopback port (fake_http.c: 200, 503, a request never answered, bodies over
 * a cap with and without a length, a redirect, an echo of the request). A refused
 * connection is a port bound but not listening. Each test checks that its callbacks ran
 * exactly once and never inside curlm_start(). curlm.c is included to count
 * curl_global_init().
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

#include <curl/curl.h>
#include <event2/event.h>

static int global_inits;

static CURLcode counting_global_init(long flags)
{
    global_inits++;
    return curl_global_init(flags);
}

#define curl_global_init counting_global_init
#include "../../src/backend/curlm.c"
#undef curl_global_init

#include "fake_http.c"

/* ---- the loop and the answers ----------------------------------------------------- */

static struct event_base *base;

#include "loop.h"

struct answer {
    int calls;
    int done;
    long status;
    int body_null;
    char body[8192];
    size_t len;
    char error[512];
    int error_null;
    long ms;
    int (*then)(struct answer *); /* run inside the callback */
};

static void done_cb(void *arg, const struct curlm_result *r)
{
    struct answer *a = arg;

    a->calls++;
    a->done = r->done;
    a->status = r->status;
    a->body_null = r->body == NULL;
    a->len = r->len;
    if (r->body != NULL) {
        assert_true(r->len < sizeof(a->body));
        memcpy(a->body, r->body, r->len);
        a->body[r->len] = '\0';
    }
    a->error_null = r->error == NULL;
    if (r->error != NULL)
        snprintf(a->error, sizeof(a->error), "%s", r->error);
    a->ms = r->ms;
    if (a->then != NULL)
        a->then(a);
}

static char url_buf[16][256];

/* "http://127.0.0.1:<port><path>" (in one of 16 rotating buffers). */
static const char *url(int p, const char *path)
{
    static int i;
    char *u = url_buf[i++ % 16];

    snprintf(u, sizeof(url_buf[0]), "http://127.0.0.1:%d%s", p, path);
    return u;
}

/* Start a GET of path; checks the callback did not run inside curlm_start(). */
static void get(const char *u, long timeout_ms, size_t max_body, struct answer *a)
{
    struct curlm_request r;

    memset(&r, 0, sizeof(r));
    r.url = u;
    r.timeout_ms = timeout_ms;
    r.max_body = max_body;
    assert_int_equal(curlm_start(&r, done_cb, a), 0);
    assert_int_equal(a->calls, 0);
}

static int setup(void **state)
{
    (void)state;
    return curlm_init(base);
}

static int teardown(void **state)
{
    (void)state;
    curlm_exit();
    return 0;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_get_200(void **state)
{
    struct answer a = {0};
    (void)state;

    get(url(fake_http_port, "/ok"), 5000, 0, &a);
    assert_int_equal(curlm_running(), 1);
    assert_true(run_until(&a.calls, 10));
    assert_int_equal(a.done, 1);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "hello world");
    assert_int_equal(a.len, 11);
    assert_true(a.error_null);
    assert_true(a.ms >= 0 && a.ms < 5000);
    assert_int_equal(curlm_running(), 0);
    run_for(0.1);
    assert_int_equal(a.calls, 1);
}

static void test_503(void **state)
{
    struct answer a = {0};
    (void)state;

    get(url(fake_http_port, "/503"), 5000, 0, &a);
    assert_true(run_until(&a.calls, 10));
    assert_int_equal(a.done, 1);
    assert_int_equal(a.status, 503);
    assert_string_equal(a.body, "down");
    assert_true(a.error_null);
    run_for(0.1);
    assert_int_equal(a.calls, 1);
}

static void test_redirect_not_followed(void **state)
{
    struct answer a = {0};
    (void)state;

    get(url(fake_http_port, "/redirect"), 5000, 0, &a);
    assert_true(run_until(&a.calls, 10));
    assert_int_equal(a.done, 1);
    assert_int_equal(a.status, 302);
    assert_int_equal(a.len, 0);
    assert_false(a.body_null); /* an empty body is "" */
    assert_string_equal(a.body, "");
}

static void test_timeout(void **state)
{
    struct answer a = {0};
    double t0 = now_s(), took;
    (void)state;

    /* the URL carries a secret: it must not show in the error */
    get(url(fake_http_port, "/hang?password=s3cret"), 400, 0, &a);
    assert_true(run_until(&a.calls, 10));
    took = now_s() - t0;
    assert_int_equal(a.done, 0);
    assert_false(a.error_null);
    assert_true(a.body_null);
    assert_int_equal(a.len, 0);
    assert_null(strstr(a.error, "s3cret"));
    assert_null(strstr(a.error, "127.0.0.1:"));
    assert_non_null(strcasestr(a.error, "time"));
    assert_true(took >= 0.35 && took < 3.0);
    assert_true(a.ms >= 350 && a.ms < 3000);
    run_for(0.1);
    assert_int_equal(a.calls, 1);
}

static void test_refused(void **state)
{
    struct answer a = {0};
    (void)state;

    get(url(fake_http_closed_port, "/x?password=s3cret"), 5000, 0, &a);
    assert_true(run_until(&a.calls, 10));
    assert_int_equal(a.done, 0);
    assert_int_equal(a.status, 0);
    assert_false(a.error_null);
    assert_null(strstr(a.error, "s3cret"));
    assert_null(strstr(a.error, "/x"));
    assert_true(a.ms < 3000);
    run_for(0.1);
    assert_int_equal(a.calls, 1);
}

static void test_body_cap(void **state)
{
    struct answer big = {0}, stream = {0}, exact = {0}, deflt = {0};
    (void)state;

    get(url(fake_http_port, "/big"), 5000, 1000, &big);       /* declared length over the cap */
    get(url(fake_http_port, "/stream"), 5000, 1000, &stream); /* no length: counted as it comes */
    get(url(fake_http_port, "/exact"), 5000, 1000, &exact);   /* right at the cap */
    get(url(fake_http_port, "/stream"), 5000, 0, &deflt);     /* the default cap is far above */
    assert_true(run_until(&big.calls, 10));
    assert_true(run_until(&stream.calls, 10));
    assert_true(run_until(&exact.calls, 10));
    assert_true(run_until(&deflt.calls, 10));
    assert_int_equal(big.done, 0);
    assert_true(big.body_null);
    assert_string_equal(big.error, "response body over 1000 bytes");
    assert_int_equal(big.status, 200); /* the status line came */
    assert_int_equal(stream.done, 0);
    assert_true(stream.body_null);
    assert_int_equal(stream.len, 0);
    assert_string_equal(stream.error, "response body over 1000 bytes");
    assert_int_equal(exact.done, 1);
    assert_int_equal(exact.len, 1000);
    assert_int_equal(deflt.done, 1);
    assert_int_equal(deflt.len, 4000);
    run_for(0.1);
    assert_int_equal(big.calls + stream.calls + exact.calls + deflt.calls, 4);
    assert_int_equal(curlm_running(), 0);
}

static void test_post_echo(void **state)
{
    static const char body[] = "a=1&b=2\0binary";
    char copy[sizeof(body)], secret[] = "u:p4ss";
    struct curlm_request r;
    struct answer a = {0}, put = {0};
    (void)state;

    memcpy(copy, body, sizeof(body));
    memset(&r, 0, sizeof(r));
    r.method = "POST";
    r.url = url(fake_http_port, "/echo");
    r.headers[0] = "X-Test: yes";
    r.headers[1] = "Content-Type: application/x-www-form-urlencoded";
    r.body = copy;
    r.body_len = sizeof(body) - 1;
    r.userpwd = secret;
    r.timeout_ms = 5000;
    assert_int_equal(curlm_start(&r, done_cb, &a), 0);
    /* everything was copied */
    memset(copy, 'x', sizeof(copy));
    memset(secret, 'x', sizeof(secret) - 1);
    assert_int_equal(a.calls, 0);
    r.method = "PUT";
    r.headers[0] = "X-Other: 2";
    r.headers[1] = NULL;
    r.body = "put-body";
    r.body_len = 8;
    r.userpwd = NULL;
    assert_int_equal(curlm_start(&r, done_cb, &put), 0);
    assert_true(run_until(&a.calls, 10));
    assert_true(run_until(&put.calls, 10));
    assert_int_equal(a.done, 1);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "POST /echo HTTP/1.1\r\n"));
    assert_non_null(strstr(a.body, "\r\nX-Test: yes\r\n"));
    assert_non_null(strstr(a.body, "\r\nContent-Type: application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(a.body, "\r\nContent-Length: 14\r\n"));
    /* base64("u:p4ss") */
    assert_non_null(strstr(a.body, "\r\nAuthorization: Basic dTpwNHNz\r\n"));
    assert_null(strcasestr(a.body, "\r\nExpect:"));
    assert_true(a.len > sizeof(body) - 1);
    assert_memory_equal(a.body + a.len - (sizeof(body) - 1), body, sizeof(body) - 1);
    assert_int_equal(put.done, 1);
    assert_non_null(strstr(put.body, "PUT /echo HTTP/1.1\r\n"));
    assert_non_null(strstr(put.body, "\r\nX-Other: 2\r\n"));
    assert_null(strstr(put.body, "X-Test"));
    assert_null(strstr(put.body, "Authorization:"));
    assert_int_equal(strcmp(put.body + put.len - 8, "put-body"), 0);
    run_for(0.1);
    assert_int_equal(a.calls + put.calls, 2);
}

static void test_invalid(void **state)
{
    struct curlm_request r;
    struct answer a = {0};
    (void)state;

    memset(&r, 0, sizeof(r));
    assert_int_equal(curlm_start(NULL, done_cb, &a), -1);
    assert_int_equal(curlm_start(&r, done_cb, &a), -1); /* no url */
    r.url = url(fake_http_port, "/ok");
    assert_int_equal(curlm_start(&r, NULL, &a), -1);
    r.url = "ftp://127.0.0.1/x";
    assert_int_equal(curlm_start(&r, done_cb, &a), -1);
    r.url = "file:///etc/passwd";
    assert_int_equal(curlm_start(&r, done_cb, &a), -1);
    r.url = url(fake_http_port, "/ok");
    r.method = "GET /x HTTP/1.0\r\n";
    assert_int_equal(curlm_start(&r, done_cb, &a), -1);
    r.method = "GET";
    r.body = "x";
    r.body_len = 1;
    assert_int_equal(curlm_start(&r, done_cb, &a), -1); /* a body with GET */
    r.method = "POST";
    r.body = NULL; /* a length without a body */
    assert_int_equal(curlm_start(&r, done_cb, &a), -1);
    r.body_len = 0;
    r.headers[0] = "X-A: 1\r\nX-Injected: 1";
    assert_int_equal(curlm_start(&r, done_cb, &a), -1);
    r.headers[0] = "no colon";
    assert_int_equal(curlm_start(&r, done_cb, &a), -1);
    r.headers[0] = NULL;
    for (int i = 0; i <= CURLM_MAX_HEADERS; i++)
        r.headers[i] = "X-Many: 1";
    assert_int_equal(curlm_start(&r, done_cb, &a), -1);
    memset(r.headers, 0, sizeof(r.headers));
    r.timeout_ms = -1;
    assert_int_equal(curlm_start(&r, done_cb, &a), -1);
    r.timeout_ms = 0;
    assert_int_equal(curlm_running(), 0);
    run_for(0.1);
    assert_int_equal(a.calls, 0);
    /* not started */
    curlm_exit();
    assert_int_equal(curlm_start(&r, done_cb, &a), -1);
    assert_int_equal(curlm_init(base), 0);
    assert_int_equal(curlm_init(base), -1); /* already */
    /* a POST without a body, the default timeout */
    assert_int_equal(curlm_start(&r, done_cb, &a), 0);
    assert_true(run_until(&a.calls, 10));
    assert_int_equal(a.done, 1);
    assert_int_equal(a.status, 200);
}

static void test_exit_with_transfer_running(void **state)
{
    struct answer hang = {0}, slow = {0};
    (void)state;

    get(url(fake_http_port, "/hang"), 10000, 0, &hang);
    get(url(fake_http_port, "/slow"), 10000, 0, &slow);
    run_for(0.1); /* both connected and waiting */
    assert_int_equal(curlm_running(), 2);
    curlm_exit();
    assert_int_equal(hang.calls, 1);
    assert_int_equal(slow.calls, 1);
    assert_int_equal(hang.done, 0);
    assert_string_equal(hang.error, "shutdown");
    assert_string_equal(slow.error, "shutdown");
    assert_true(hang.body_null);
    assert_int_equal(curlm_running(), 0);
    /* nothing comes later from the loop, also after a new start */
    assert_int_equal(curlm_init(base), 0);
    run_for(0.6);
    assert_int_equal(hang.calls, 1);
    assert_int_equal(slow.calls, 1);
}

/* More than CURLM_MAX_TRANSFERS at once: the extra one gets "busy", from the loop. URLs with
 * a port out of range fail in libcurl without a socket. */
static void test_busy_and_exactly_once(void **state)
{
    static struct answer a[CURLM_MAX_TRANSFERS + 1];
    const char *bad = "http://127.0.0.1:99999/";
    int i, n, pass;
    (void)state;

    for (pass = 0; pass < 2; pass++) {
        memset(a, 0, sizeof(a));
        for (i = 0; i <= CURLM_MAX_TRANSFERS; i++)
            get(bad, 5000, 0, &a[i]);
        assert_int_equal(curlm_running(), CURLM_MAX_TRANSFERS + 1);
        if (pass == 0) {
            /* through the loop */
            for (i = 0; i <= CURLM_MAX_TRANSFERS; i++)
                assert_true(run_until(&a[i].calls, 10));
            run_for(0.1);
        } else {
            /* abandoned before the loop ran */
            curlm_exit();
        }
        for (i = 0, n = 0; i <= CURLM_MAX_TRANSFERS; i++) {
            assert_int_equal(a[i].calls, 1);
            assert_int_equal(a[i].done, 0);
            n += strcmp(a[i].error, "busy") == 0;
        }
        assert_int_equal(n, 1);
        assert_string_equal(a[CURLM_MAX_TRANSFERS].error, "busy");
        if (pass == 1) {
            assert_string_equal(a[0].error, "shutdown");
            assert_int_equal(curlm_init(base), 0);
        } else {
            assert_string_not_equal(a[0].error, "shutdown");
        }
        assert_int_equal(curlm_running(), 0);
    }
}

static struct answer chained;

static int start_another(struct answer *a)
{
    (void)a;
    get(url(fake_http_port, "/ok"), 5000, 0, &chained);
    return 0;
}

static int exit_now(struct answer *a)
{
    (void)a;
    curlm_exit();
    return 0;
}

/* A callback may start a transfer, or stop everything. */
static void test_callback_reentry(void **state)
{
    struct answer first = {0}, ok = {0}, hang = {0};
    (void)state;

    memset(&chained, 0, sizeof(chained));
    first.then = start_another;
    get(url(fake_http_port, "/ok"), 5000, 0, &first);
    assert_true(run_until(&first.calls, 10));
    assert_true(run_until(&chained.calls, 10));
    assert_int_equal(chained.done, 1);
    assert_string_equal(chained.body, "hello world");

    ok.then = exit_now;
    get(url(fake_http_port, "/hang"), 10000, 0, &hang);
    get(url(fake_http_port, "/ok"), 5000, 0, &ok);
    assert_true(run_until(&ok.calls, 10));
    assert_int_equal(ok.done, 1);
    assert_int_equal(hang.calls, 1); /* from the curlm_exit() inside ok's callback */
    assert_string_equal(hang.error, "shutdown");
    assert_int_equal(curlm_init(base), 0);
    run_for(0.2);
    assert_int_equal(first.calls + chained.calls + ok.calls + hang.calls, 4);
}

/* Many transfers of every kind at once: each callback exactly once. */
static void test_mixed_exactly_once(void **state)
{
    static struct answer a[60];
    const char *paths[] = {"/ok", "/503", "/hang", "/exact", "/stream", "/redirect"};
    int i, sum = 0;
    (void)state;

    memset(a, 0, sizeof(a));
    for (i = 0; i < 60; i++) {
        if (i % 7 == 6)
            get(url(fake_http_closed_port, "/"), 3000, 0, &a[i]);
        else
            get(url(fake_http_port, paths[i % 6]), 500, 1000, &a[i]);
    }
    for (i = 0; i < 60; i++)
        assert_true(run_until(&a[i].calls, 10));
    run_for(0.2);
    for (i = 0; i < 60; i++) {
        assert_int_equal(a[i].calls, 1);
        sum += a[i].done;
    }
    assert_true(sum > 0 && sum < 60);
    assert_int_equal(curlm_running(), 0);
}

static void test_perform_blocking(void **state)
{
    struct curlm_request r;
    struct answer a = {0}, t = {0}, b = {0};
    double t0;
    (void)state;

    curlm_exit(); /* needs no loop */
    memset(&r, 0, sizeof(r));
    r.url = url(fake_http_port, "/ok");
    assert_int_equal(curlm_perform(&r, done_cb, &a), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.done, 1);
    assert_int_equal(a.status, 200);
    assert_string_equal(a.body, "hello world");
    r.url = url(fake_http_port, "/hang?password=s3cret");
    r.timeout_ms = 300;
    t0 = now_s();
    assert_int_equal(curlm_perform(&r, done_cb, &t), 0);
    assert_true(now_s() - t0 < 3.0);
    assert_int_equal(t.calls, 1);
    assert_int_equal(t.done, 0);
    assert_null(strstr(t.error, "s3cret"));
    r.url = url(fake_http_port, "/big");
    r.max_body = 1000;
    assert_int_equal(curlm_perform(&r, done_cb, &b), 0);
    assert_int_equal(b.done, 0);
    assert_string_equal(b.error, "response body over 1000 bytes");
    r.url = "gopher://127.0.0.1/";
    assert_int_equal(curlm_perform(&r, done_cb, &b), -1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(curlm_init(base), 0);
}

/* Last: every curlm_init() and curlm_perform() above shared one curl_global_init(). */
static void test_global_init_once(void **state)
{
    (void)state;
    assert_int_equal(global_inits, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get_200, setup, teardown),
        cmocka_unit_test_setup_teardown(test_503, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirect_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exit_with_transfer_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_and_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_reentry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_exactly_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_perform_blocking, setup, teardown),
        cmocka_unit_test(test_global_init_once),
    };
    int rc;

    base = event_base_new();
    if (base == NULL || fake_http_start() != 0) {
        fprintf(stderr, "test_curlm: cannot start the test server\n");
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    fake_http_stop();
    event_base_free(base);
    return rc;
}
