/*
 * Unit tests for api_limit.c: API key issue and check (a known HMAC vector), names and
 * malformed keys refused (the counting is channel/limit.c's: tests/unit/test_channel.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/api_limit.c"

static int setup(void **state)
{
    struct config cfg;

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    cfg.rate_ip = 5;
    cfg.rate_ip_window = 60;
    cfg.rate_key = 10;
    cfg.rate_key_window = 3600;
    cfg.secret = (char *)"sekrit";
    api_limit_init(&cfg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    api_limit_exit();
    return 0;
}

static void test_keys(void **state)
{
    char key[80], name[40];

    (void)state;
    /* Python: hmac.new(b"sekrit", b"hisaab-client:partner-1", sha256).hexdigest()[:32] */
    assert_int_equal(api_limit_make_key("sekrit", "partner-1", key, sizeof(key)), 0);
    assert_string_equal(key, "partner-1.4bfc7a8a04f88f5e9a91cfc950f7cba4");
    assert_true(check_key(key, name, sizeof(name)));
    assert_string_equal(name, "partner-1");
    key[strlen(key) - 1] = '5';
    assert_false(check_key(key, name, sizeof(name)));
    assert_false(check_key("partner-1", name, sizeof(name)));
    assert_false(check_key("partner-1.", name, sizeof(name)));
    assert_false(check_key(".4bfc7a8a04f88f5e9a91cfc950f7cba4", name, sizeof(name)));
    assert_false(check_key("Partner-1.4bfc7a8a04f88f5e9a91cfc950f7cba4", name, sizeof(name)));
    assert_false(check_key("partner-1.4bfc7a8a04f88f5e9a91cfc950f7cba4a", name, sizeof(name)));
    assert_int_equal(api_limit_make_key("sekrit", "", key, sizeof(key)), -1);
    assert_int_equal(api_limit_make_key("sekrit", "UPPER", key, sizeof(key)), -1);
    assert_int_equal(
        api_limit_make_key("sekrit", "a-very-long-name-of-more-than-32-chars", key, sizeof(key)),
        -1);
    assert_int_equal(api_limit_make_key("", "partner-1", key, sizeof(key)), -1);
    assert_int_equal(api_limit_make_key("sekrit", "partner-1", key, 20), -1);
}

static void test_no_secret_no_keys(void **state)
{
    struct config cfg;
    char name[40];

    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    api_limit_init(&cfg);
    assert_false(check_key("partner-1.4bfc7a8a04f88f5e9a91cfc950f7cba4", name, sizeof(name)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_secret_no_keys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
