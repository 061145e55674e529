/*
 * Unit tests for the fetcher's pure parts (etl/fetch.c): the URLs built for a page (the
 * key only in the one sent, values URL-encoded), the key scrubbed from messages,
 * Retry-After parsing and the environment knobs. Retries against a live fake server are
 * covered by tests/blackbox/test_etl.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../etl/fetch.c"

static void test_urls(void **state)
{
    struct etl_fetch_opts o;
    struct buf pub, real;
    CURL *h = curl_easy_init();
    char *p;
    (void)state;

    assert_non_null(h);
    unsetenv("DATA_GOV_API_BASE");
    unsetenv("DATA_GOV_API_KEY");
    etl_fetch_opts_init(&o);
    assert_string_equal(o.base, ETL_DEFAULT_API_BASE);
    assert_int_equal(o.limit, 1000);
    assert_int_equal(o.timeout_ms, 30000);
    assert_int_equal(o.backoff_ms, 1000);
    o.api_key = "K&y 1";
    o.limit = 7;
    buf_init(&pub, 4096);
    buf_init(&real, 4096);
    assert_int_equal(build_urls(h, &o, "TAMIL NADU", "2024-2025", 14, &pub, &real), 0);
    assert_string_equal(buf_cstr(&pub), ETL_DEFAULT_API_BASE
                        "?format=json&offset=14&limit=7&filters[state_name]=TAMIL%20NADU"
                        "&filters[fin_year]=2024-2025");
    assert_string_equal(buf_cstr(&real), ETL_DEFAULT_API_BASE
                        "?api-key=K%26y%201&format=json&offset=14&limit=7"
                        "&filters[state_name]=TAMIL%20NADU&filters[fin_year]=2024-2025");
    /* A base that already has a query; no filters; no key. */
    o.base = "http://127.0.0.1:1/r?x=1";
    o.api_key = NULL;
    o.format = ETL_FORMAT_CSV;
    assert_int_equal(build_urls(h, &o, NULL, "", 0, &pub, &real), 0);
    assert_string_equal(buf_cstr(&pub), "http://127.0.0.1:1/r?x=1&format=csv&offset=0&limit=7");
    assert_string_equal(buf_cstr(&real), buf_cstr(&pub));
    o.base = "https://api.data.gov.in/";
    assert_int_equal(build_urls(h, &o, NULL, NULL, 0, &pub, &real), 0);
    assert_string_equal(buf_cstr(&pub), ETL_DEFAULT_API_BASE "?format=csv&offset=0&limit=7");
    o.base = "http://127.0.0.1:1/r?x=1";
    p = etl_fetch_public_url(&o, "A&B", NULL);
    assert_string_equal(p, "http://127.0.0.1:1/r?x=1&format=csv&offset=0&limit=7"
                           "&filters[state_name]=A%26B");
    free(p);
    buf_free(&pub);
    buf_free(&real);
    curl_easy_cleanup(h);
}

static void test_scrub(void **state)
{
    char msg[] = "bad url http://x/?api-key=abc123&y=abc123";
    char other[] = "nothing here";
    (void)state;

    scrub(msg, "abc123");
    assert_null(strstr(msg, "abc123"));
    assert_string_equal(msg, "bad url http://x/?api-key=******&y=******");
    scrub(other, NULL);
    scrub(other, "");
    assert_string_equal(other, "nothing here");
}

static void test_retry_after(void **state)
{
    struct response r;
    char h1[] = "Retry-After: 3\r\n", h2[] = "retry-after:0\r\n",
         h3[] = "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
         h4[] = "Retry-After: 99999999\r\n", h5[] = "Content-Type: text/csv\r\n";
    (void)state;

    r.retry_after_ms = -1;
    assert_int_equal(on_header(h1, 1, strlen(h1), &r), strlen(h1));
    assert_int_equal(r.retry_after_ms, 3000);
    on_header(h2, 1, strlen(h2), &r);
    assert_int_equal(r.retry_after_ms, 0);
    r.retry_after_ms = -1;
    on_header(h3, 1, strlen(h3), &r);
    assert_int_equal(r.retry_after_ms, -1);
    on_header(h4, 1, strlen(h4), &r);
    assert_int_equal(r.retry_after_ms, 86400000L);
    r.retry_after_ms = -1;
    on_header(h5, 1, strlen(h5), &r);
    assert_int_equal(r.retry_after_ms, -1);
}

static void test_body_cap(void **state)
{
    struct response r;
    char data[100];
    (void)state;

    memset(data, 'x', sizeof(data));
    buf_init(&r.body, 150);
    r.too_big = 0;
    assert_int_equal(on_body(data, 1, 100, &r), 100);
    assert_int_equal(on_body(data, 1, 100, &r), 0);
    assert_int_equal(r.too_big, 1);
    assert_int_equal(r.body.len, 100);
    buf_free(&r.body);
}

static void test_env(void **state)
{
    struct etl_fetch_opts o;
    (void)state;

    setenv("HISAAB_ETL_TIMEOUT_MS", "250", 1);
    setenv("HISAAB_ETL_BACKOFF_MS", "50", 1);
    setenv("HISAAB_ETL_LIMIT", "0", 1);     /* out of range: ignored */
    setenv("HISAAB_ETL_ATTEMPTS", "3x", 1); /* garbage: ignored */
    setenv("DATA_GOV_API_BASE", "http://127.0.0.1:9/r", 1);
    etl_fetch_opts_init(&o);
    assert_int_equal(o.timeout_ms, 250);
    assert_int_equal(o.connect_timeout_ms, 250);
    assert_int_equal(o.backoff_ms, 50);
    assert_int_equal(o.limit, 1000);
    assert_int_equal(o.max_attempts, 4);
    assert_string_equal(o.base, "http://127.0.0.1:9/r");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),        cmocka_unit_test(test_scrub),
        cmocka_unit_test(test_retry_after), cmocka_unit_test(test_body_cap),
        cmocka_unit_test(test_env),
    };
    log_init("test_fetch", LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
