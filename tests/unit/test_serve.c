/*
 * Unit tests for net/serve.c: entity tags and If-None-Match, Accept-Encoding, gzip round
 * trips, Range headers and MIME types.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "net/serve.c"

static void test_etag_match(void **state)
{
    char a[SERVE_ETAG_MAX], b[SERVE_ETAG_MAX];

    (void)state;
    serve_etag("one", 3, a, sizeof(a));
    serve_etag("two", 3, b, sizeof(b));
    assert_int_equal(strlen(a), 34);
    assert_int_equal(a[0], '"');
    assert_int_equal(a[33], '"');
    assert_string_not_equal(a, b);
    serve_etag("one", 3, b, sizeof(b));
    assert_string_equal(a, b);
    serve_etag("two", 3, b, sizeof(b));
    assert_true(serve_etag_match(a, a));
    assert_true(serve_etag_match("*", a));
    assert_false(serve_etag_match(NULL, a));
    assert_false(serve_etag_match("", a));
    assert_false(serve_etag_match(b, a));
    assert_true(serve_etag_match("\"x\", W/\"y\"", "\"y\""));
    assert_true(serve_etag_match(" \"x\" ,\"y\" ", "\"y\""));
    assert_false(serve_etag_match("\"xy\"", "\"y\""));
    assert_false(serve_etag_match("\"y", "\"y\""));
}

static void test_accepts_gzip(void **state)
{
    (void)state;
    assert_false(serve_accepts_gzip(NULL));
    assert_false(serve_accepts_gzip(""));
    assert_false(serve_accepts_gzip("identity"));
    assert_false(serve_accepts_gzip("deflate, br"));
    assert_false(serve_accepts_gzip("x-gzip2"));
    assert_true(serve_accepts_gzip("gzip"));
    assert_true(serve_accepts_gzip("GZIP"));
    assert_true(serve_accepts_gzip("deflate, gzip;q=0.5"));
    assert_true(serve_accepts_gzip("gzip ; q=1"));
    assert_true(serve_accepts_gzip("*"));
    assert_false(serve_accepts_gzip("gzip;q=0"));
    assert_false(serve_accepts_gzip("gzip;q=0.000, br"));
    assert_true(serve_accepts_gzip("gzip;q=0.001"));
}

static void test_gzip_round_trip(void **state)
{
    const char *text = "{\"status\":\"ok\",\"data\":[1,2,3,4,5,6,7,8,9,10]}";
    char out[256];
    z_stream z;
    size_t zlen = 0;
    char *gz;

    (void)state;
    gz = serve_gzip(text, strlen(text), 9, &zlen);
    assert_non_null(gz);
    assert_true(zlen > 18);
    assert_int_equal((unsigned char)gz[0], 0x1f);
    assert_int_equal((unsigned char)gz[1], 0x8b);
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)gz;
    z.avail_in = (uInt)zlen;
    z.next_out = (Bytef *)out;
    z.avail_out = sizeof(out);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, strlen(text));
    assert_memory_equal(out, text, strlen(text));
    inflateEnd(&z);
    free(gz);
}

static void range(const char *h, size_t len, int want, size_t a, size_t b)
{
    size_t s = 99, e = 99;
    int r = serve_range(h, len, &s, &e);

    assert_int_equal(r, want);
    if (r == 1) {
        assert_int_equal(s, a);
        assert_int_equal(e, b);
    }
}

static void test_ranges(void **state)
{
    (void)state;
    range(NULL, 1000, 0, 0, 0);
    range("bytes=0-99", 1000, 1, 0, 99);
    range("bytes=100-", 1000, 1, 100, 999);
    range("bytes=-100", 1000, 1, 900, 999);
    range("bytes=-5000", 1000, 1, 0, 999);
    range("bytes=990-2000", 1000, 1, 990, 999);
    range("bytes=1000-", 1000, -1, 0, 0);
    range("bytes=5000-6000", 1000, -1, 0, 0);
    range("bytes=-0", 1000, -1, 0, 0);
    range("bytes=0-1,5-6", 1000, 0, 0, 0); /* several: the whole file */
    range("bytes=9-3", 1000, 0, 0, 0);     /* nonsense: ignored */
    range("items=0-9", 1000, 0, 0, 0);
    range("bytes=a-b", 1000, 0, 0, 0);
    range("bytes=99999999999999999999-", 1000, 0, 0, 0);
}

static void test_mime(void **state)
{
    (void)state;
    assert_string_equal(serve_mime("index.html"), "text/html; charset=utf-8");
    assert_string_equal(serve_mime("app/main.JS"), "text/javascript; charset=utf-8");
    assert_string_equal(serve_mime("manifest.webmanifest"),
                        "application/manifest+json; charset=utf-8");
    assert_string_equal(serve_mime("icons/icon-192.png"), "image/png");
    assert_string_equal(serve_mime("i.svg"), "image/svg+xml; charset=utf-8");
    assert_null(serve_mime("README"));
    assert_null(serve_mime("a.exe"));
    assert_null(serve_mime("dir.js/file"));
    assert_null(serve_mime("x."));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etag_match),
        cmocka_unit_test(test_accepts_gzip),
        cmocka_unit_test(test_gzip_round_trip),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_mime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
