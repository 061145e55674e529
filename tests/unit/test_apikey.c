/*
 * Unit tests for src/core/apikey.c: the key's form, its keyed hash against a vector
 * computed with Python's hmac, roles, names and the truncated source address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/apikey.h"

#define KEY "hk_0123abcd_0123456789abcdef0123456789abcdef"

static void test_generate_parse(void **state)
{
    char key[APIKEY_LEN], id[APIKEY_ID_MAX], id2[APIKEY_ID_MAX], other[APIKEY_LEN];

    (void)state;
    assert_int_equal(apikey_generate(key, id), 0);
    assert_int_equal(strlen(key), APIKEY_LEN - 1);
    assert_int_equal(apikey_parse(key, id2), 1);
    assert_string_equal(id, id2);
    assert_memory_equal(key + 3, id, APIKEY_ID_HEX);
    assert_int_equal(apikey_generate(other, id2), 0);
    assert_string_not_equal(key, other);
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "hk_0123abcd_0123456789abcdef0123456789abcde",   /* short */
        "hk_0123abcd_0123456789abcdef0123456789abcdef0", /* long */
        "hk_0123ABCD_0123456789abcdef0123456789abcdef",  /* upper case */
        "hk-0123abcd_0123456789abcdef0123456789abcdef",
        "hk_0123abcd-0123456789abcdef0123456789abcdef",
        "hk_0123abcg_0123456789abcdef0123456789abcdef",
        "hk_0123abcd_0123456789abcdef0123456789abcdeg",
        "partner.0123456789abcdef0123456789abcdef",
        NULL};
    char id[APIKEY_ID_MAX];
    size_t i;

    (void)state;
    assert_int_equal(apikey_parse(KEY, id), 1);
    assert_string_equal(id, "0123abcd");
    for (i = 0; bad[i] != NULL; i++)
        assert_int_equal(apikey_parse(bad[i], id), 0);
    assert_int_equal(apikey_parse(NULL, id), 0);
}

static void test_hash(void **state)
{
    char h[APIKEY_HASH_HEX], h2[APIKEY_HASH_HEX];

    (void)state;
    assert_int_equal(apikey_hash("s3cret", 6, KEY, h), 0);
    assert_string_equal(h, "a102846234586576c552d95956eb5910a2f64c1fd8eb8441be2a0386631a5ab4");
    assert_int_equal(apikey_hash("s3cres", 6, KEY, h2), 0);
    assert_int_equal(apikey_hash_eq(h, h), 1);
    assert_int_equal(apikey_hash_eq(h, h2), 0);
    assert_int_equal(apikey_hash_eq(h, "a1"), 0);
    assert_int_equal(apikey_hash("", 0, KEY, h), -1);
    assert_int_equal(apikey_hash(NULL, 0, KEY, h), -1);
}

static void test_roles_names(void **state)
{
    (void)state;
    assert_int_equal(apikey_role_parse("reader"), APIKEY_READER);
    assert_int_equal(apikey_role_parse("operator"), APIKEY_OPERATOR);
    assert_int_equal(apikey_role_parse("admin"), APIKEY_ADMIN);
    assert_int_equal(apikey_role_parse("Admin"), APIKEY_NONE);
    assert_int_equal(apikey_role_parse(NULL), APIKEY_NONE);
    assert_string_equal(apikey_role_name(APIKEY_OPERATOR), "operator");
    assert_string_equal(apikey_role_name(APIKEY_NONE), "none");
    assert_true(APIKEY_READER < APIKEY_OPERATOR && APIKEY_OPERATOR < APIKEY_ADMIN);
    assert_int_equal(apikey_name_ok("partner-1.bot_x"), 1);
    assert_int_equal(apikey_name_ok("a"), 1);
    assert_int_equal(apikey_name_ok("-a"), 0);
    assert_int_equal(apikey_name_ok("Bad"), 0);
    assert_int_equal(apikey_name_ok("with space"), 0);
    assert_int_equal(apikey_name_ok(""), 0);
    assert_int_equal(apikey_name_ok(NULL), 0);
    assert_int_equal(apikey_name_ok("abcdefghijklmnopqrstuvwxyz012345"), 1);
    assert_int_equal(apikey_name_ok("abcdefghijklmnopqrstuvwxyz0123456"), 0);
}

static void test_source(void **state)
{
    char s[APIKEY_SOURCE_MAX];

    (void)state;
    apikey_source("203.0.113.77", s, sizeof(s));
    assert_string_equal(s, "203.0.113.0/24");
    apikey_source("::ffff:198.51.100.9", s, sizeof(s));
    assert_string_equal(s, "198.51.100.0/24");
    apikey_source("2001:db8:85a3:8d3:1319:8a2e:370:7348", s, sizeof(s));
    assert_string_equal(s, "2001:db8:85a3::/48");
    apikey_source("not an address", s, sizeof(s));
    assert_string_equal(s, "unknown");
    apikey_source(NULL, s, sizeof(s));
    assert_string_equal(s, "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_parse), cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_hash),           cmocka_unit_test(test_roles_names),
        cmocka_unit_test(test_source),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
