/*
 * Unit tests for the run module's helpers (etl/run.c): --every intervals and the state
 * name lists recorded on the run row. Whole runs are covered by
 * tests/blackbox/test_etl.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../etl/run.c"

static void test_interval(void **state)
{
    long s = 0;
    (void)state;

    assert_int_equal(etl_parse_interval("6h", &s), 0);
    assert_int_equal(s, 21600);
    assert_int_equal(etl_parse_interval("30m", &s), 0);
    assert_int_equal(s, 1800);
    assert_int_equal(etl_parse_interval("1d", &s), 0);
    assert_int_equal(s, 86400);
    assert_int_equal(etl_parse_interval("90s", &s), 0);
    assert_int_equal(s, 90);
    assert_int_equal(etl_parse_interval("120", &s), 0);
    assert_int_equal(s, 120);
    assert_int_equal(etl_parse_interval("30d", &s), 0);
    assert_int_equal(etl_parse_interval("31d", &s), -1);
    assert_int_equal(etl_parse_interval("0h", &s), -1);
    assert_int_equal(etl_parse_interval("-1h", &s), -1);
    assert_int_equal(etl_parse_interval("6x", &s), -1);
    assert_int_equal(etl_parse_interval("6hh", &s), -1);
    assert_int_equal(etl_parse_interval("h", &s), -1);
    assert_int_equal(etl_parse_interval("", &s), -1);
    assert_int_equal(etl_parse_interval(NULL, &s), -1);
    assert_int_equal(etl_parse_interval("99999999999999999999h", &s), -1);
}

static void test_names(void **state)
{
    struct buf b;
    int n = 0;
    (void)state;

    buf_init(&b, 1024);
    add_name(&b, &n, "MADHYA PRADESH");
    add_name(&b, &n, "BIHAR");
    add_name(&b, &n, "MADHYA PRADESH");
    add_name(&b, &n, "MADHYA");
    assert_int_equal(n, 3);
    assert_string_equal(buf_cstr(&b), "MADHYA PRADESH\x1f"
                                      "BIHAR\x1f"
                                      "MADHYA");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
