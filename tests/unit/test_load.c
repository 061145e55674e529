/*
 * Unit tests for the loader's in-memory parts (etl/load.c): the most-complete-snapshot
 * rule of struct etl_batch, COPY text escaping, title case and REDIS_URL parsing. The
 * SQL side is covered by tests/blackbox/test_etl.py against a real Postgres.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../etl/load.c"

static void make_row(struct etl_row *r, int district, int month, long long pd)
{
    int i;

    memset(r, 0, sizeof(*r));
    snprintf(r->fin_year, sizeof(r->fin_year), "2024-2025");
    r->fy_start = 2024;
    r->month = month;
    r->fy_month = month >= 4 ? month - 3 : month + 9;
    r->state_code = 17;
    r->district_code = district;
    snprintf(r->state_name, sizeof(r->state_name), "MADHYA PRADESH");
    snprintf(r->district_name, sizeof(r->district_name), "NIWARI");
    for (i = ETL_F_FIRST_FIGURE; i < ETL_F_REMARKS; i++)
        snprintf(r->value[i], sizeof(r->value[i]), "%d", i);
    r->is_null[ETL_F_REMARKS] = 1;
    if (pd < 0) {
        r->is_null[ETL_F_PERSONDAYS] = 1;
        r->persondays = -1;
    } else {
        r->persondays = pd;
        snprintf(r->value[ETL_F_PERSONDAYS], ETL_MAX_VALUE, "%lld", pd);
    }
}

static const struct entry *find(const struct etl_batch *b, int district, int month)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        if (b->e[i].district_code == district && b->e[i].month == month)
            return &b->e[i];
    return NULL;
}

static void test_batch_keeps_most_complete(void **state)
{
    struct etl_batch *b = etl_batch_new();
    struct etl_row r;
    (void)state;

    make_row(&r, 1752, 12, 700);
    etl_batch_add(b, &r, 1);
    make_row(&r, 1752, 12, 790716);
    etl_batch_add(b, &r, 2);
    make_row(&r, 1752, 12, 741282);
    etl_batch_add(b, &r, 3);
    make_row(&r, 1752, 12, -1); /* NULL is lowest */
    etl_batch_add(b, &r, 4);
    make_row(&r, 1752, 1, 10);
    etl_batch_add(b, &r, 5);
    assert_int_equal(etl_batch_count(b), 2);
    assert_int_equal(find(b, 1752, 12)->pd, 790716);
    assert_int_equal(find(b, 1752, 12)->recno, 2);
    /* On a tie the later record wins. */
    make_row(&r, 1752, 12, 790716);
    etl_batch_add(b, &r, 9);
    assert_int_equal(find(b, 1752, 12)->recno, 9);
    make_row(&r, 1752, 12, 790716);
    etl_batch_add(b, &r, 7);
    assert_int_equal(find(b, 1752, 12)->recno, 9);
    assert_non_null(strstr(find(b, 1752, 12)->line, "\t790716\t"));
    etl_batch_free(b);
}

static void test_batch_null_only_and_merge(void **state)
{
    struct etl_batch *a = etl_batch_new(), *b = etl_batch_new();
    struct etl_row r;
    int i;
    (void)state;

    make_row(&r, 1707, 4, -1);
    etl_batch_add(a, &r, 1);
    make_row(&r, 1707, 4, -1);
    etl_batch_add(a, &r, 2);
    assert_int_equal(find(a, 1707, 4)->recno, 2);
    /* Many keys force rehashing; merge keeps the better of each. */
    for (i = 0; i < 5000; i++) {
        make_row(&r, 1000 + i, 1 + i % 12, i);
        etl_batch_add(b, &r, 10 + i);
    }
    make_row(&r, 1707, 4, 5);
    etl_batch_add(b, &r, 3);
    etl_batch_merge(a, b);
    assert_int_equal(etl_batch_count(b), 0);
    assert_int_equal(etl_batch_count(a), 5001);
    assert_int_equal(find(a, 1707, 4)->pd, 5);
    assert_int_equal(find(a, 4999 + 1000, 1 + 4999 % 12)->pd, 4999);
    etl_batch_clear(a);
    assert_int_equal(etl_batch_count(a), 0);
    etl_batch_free(a);
    etl_batch_free(b);
}

static void test_copy_line_escaping_and_flags(void **state)
{
    struct etl_batch *b = etl_batch_new();
    struct etl_row r;
    const char *line;
    (void)state;

    make_row(&r, 1752, 12, 5);
    snprintf(r.district_name, sizeof(r.district_name), "A\tB\\C\nD");
    r.is_null[ETL_F_REMARKS] = 0;
    snprintf(r.remarks, sizeof(r.remarks), "x\ry");
    r.is_null[ETL_F_FIRST_FIGURE] = 1;
    r.flagged[34] = 1;
    r.is_null[34] = 1;
    snprintf(r.flag_raw[34], ETL_MAX_VALUE, "100.07");
    r.flag_problem[34] = "out_of_range";
    etl_batch_add(b, &r, 1);
    line = b->e[0].line;
    assert_non_null(strstr(line, "\tA\\tB\\\\C\\nD\t"));
    assert_non_null(strstr(line, "\tx\\ry\t1\n"));
    assert_non_null(strstr(line, "\t9\t\\N\t"));
    assert_null(strchr(line, '\r'));
    assert_string_equal(b->e[0].flags, "17\t1752\t2024-2025\t12\t"
                                       "percentage_payments_gererated_within_15_days\t100.07\t"
                                       "out_of_range\n");
    etl_batch_free(b);
}

static void test_title_case(void **state)
{
    char out[64];
    (void)state;

    etl_title_case("NIWARI", out, sizeof(out));
    assert_string_equal(out, "Niwari");
    etl_title_case("SOUTH 24 PARGANAS", out, sizeof(out));
    assert_string_equal(out, "South 24 Parganas");
    etl_title_case("DR. B.R. AMBEDKAR KONASEEMA", out, sizeof(out));
    assert_string_equal(out, "Dr. B.R. Ambedkar Konaseema");
    etl_title_case("LAHUL AND SPITI", out, sizeof(out));
    assert_string_equal(out, "Lahul and Spiti");
    etl_title_case("JAMMU AND KASHMIR", out, sizeof(out));
    assert_string_equal(out, "Jammu and Kashmir");
    etl_title_case("AND OF", out, sizeof(out));
    assert_string_equal(out, "And Of");
    etl_title_case("JAMMU-KASHMIR", out, sizeof(out));
    assert_string_equal(out, "Jammu-Kashmir");
    etl_title_case("ABCDEFGH", out, 4);
    assert_string_equal(out, "Abc");
}

static void test_redis_url(void **state)
{
    char host[64], pass[64];
    int port;
    (void)state;

    assert_int_equal(
        parse_redis_url("redis://127.0.0.1:6380/0", host, sizeof(host), &port, pass, sizeof(pass)),
        0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 6380);
    assert_string_equal(pass, "");
    assert_int_equal(
        parse_redis_url("redis://:pw@localhost", host, sizeof(host), &port, pass, sizeof(pass)), 0);
    assert_string_equal(host, "localhost");
    assert_int_equal(port, 6379);
    assert_string_equal(pass, "pw");
    assert_int_equal(
        parse_redis_url("redis://h:99999", host, sizeof(host), &port, pass, sizeof(pass)), -1);
    assert_int_equal(
        parse_redis_url("redis://:6379", host, sizeof(host), &port, pass, sizeof(pass)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_keeps_most_complete),
        cmocka_unit_test(test_batch_null_only_and_merge),
        cmocka_unit_test(test_copy_line_escaping_and_flags),
        cmocka_unit_test(test_title_case),
        cmocka_unit_test(test_redis_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
