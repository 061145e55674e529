/*
 * Unit tests for api_cache.c: entries per key, generations and data versions, the memory
 * cap and versioned ETags (If-None-Match, Accept-Encoding and gzip: test_serve.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include "api/api_cache.c"

static int setup(void **state)
{
    (void)state;
    api_cache_clear();
    cache.version = -1;
    return 0;
}

static void test_put_get_and_drop(void **state)
{
    const struct api_cache_entry *e;
    unsigned long long gen;
    char etag[48];

    (void)state;
    api_cache_set_version(3);
    gen = api_cache_generation();
    api_cache_etag(3, "{}", 2, etag, sizeof(etag));
    assert_null(api_cache_get("/a|en"));
    e = api_cache_put("/a|en", gen, "{\"x\":1}", 7, etag);
    assert_non_null(e);
    assert_ptr_equal(api_cache_get("/a|en"), e);
    assert_int_equal(e->body_len, 7);
    assert_memory_equal(e->body, "{\"x\":1}", 7);
    assert_string_equal(e->etag, etag);
    assert_int_equal(strlen(e->gz_etag), strlen(etag) + 3);
    assert_memory_equal(e->gz_etag + strlen(etag) - 1, "-gz\"", 4);
    assert_null(api_cache_get("/a|hi"));
    /* A second put of the same key is refused. */
    assert_null(api_cache_put("/a|en", gen, "{}", 2, etag));
    /* Same version: nothing dropped. */
    api_cache_set_version(3);
    assert_non_null(api_cache_get("/a|en"));
    /* New version: everything dropped, and a request from before cannot store. */
    api_cache_set_version(4);
    assert_int_equal(api_cache_version(), 4);
    assert_null(api_cache_get("/a|en"));
    assert_null(api_cache_put("/a|en", gen, "{}", 2, etag));
    gen = api_cache_generation();
    assert_non_null(api_cache_put("/a|en", gen, "{}", 2, etag));
    assert_int_equal(api_cache_clear(), 1);
    assert_null(api_cache_get("/a|en"));
}

static void test_ttl(void **state)
{
    struct api_cache_entry *e;
    char etag[48];

    (void)state;
    api_cache_etag(1, "{}", 2, etag, sizeof(etag));
    e = (struct api_cache_entry *)api_cache_put("/t", api_cache_generation(), "{}", 2, etag);
    assert_non_null(e);
    assert_non_null(api_cache_get("/t"));
    e->born -= API_CACHE_TTL; /* as if stored an hour ago */
    assert_null(api_cache_get("/t"));
    assert_int_equal(cache.count, 0);
    assert_int_equal(cache.bytes, 0);
    assert_non_null(api_cache_put("/t", api_cache_generation(), "{}", 2, etag));
}

static void test_cap(void **state)
{
    static char big[1 << 20];
    char key[32], etag[48];
    int i, stored = 0;

    (void)state;
    memset(big, 'a', sizeof(big));
    api_cache_etag(1, "x", 1, etag, sizeof(etag));
    for (i = 0; i < 64; i++) {
        snprintf(key, sizeof(key), "/k%d", i);
        if (api_cache_put(key, api_cache_generation(), big, sizeof(big), etag) != NULL)
            stored++;
    }
    assert_true(stored > 0);
    assert_true(stored < 64);
    assert_true(cache.bytes <= API_CACHE_MAX_BYTES);
    assert_int_equal(api_cache_clear(), (size_t)stored);
}

static void test_etag(void **state)
{
    char a[48], b[48], c[48];

    (void)state;
    api_cache_etag(1, "{\"a\":1}", 7, a, sizeof(a));
    api_cache_etag(1, "{\"a\":2}", 7, b, sizeof(b));
    api_cache_etag(2, "{\"a\":1}", 7, c, sizeof(c));
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_int_equal(a[0], '"');
    assert_int_equal(a[strlen(a) - 1], '"');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_put_get_and_drop, setup),
        cmocka_unit_test_setup(test_cap, setup),
        cmocka_unit_test_setup(test_ttl, setup),
        cmocka_unit_test_setup(test_etag, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
