/*
 * Unit tests for the data rules (etl/clean.c) and the field table (etl/record.c), with
 * values taken from the real data.gov.in sample (Madhya Pradesh 2024-25).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"

/* Record 1 of the sample (NIWARI, Dec) and the source header. */
static const char *const niwari =
    "2024-2025,Dec,17,MADHYA PRADESH,1752,NIWARI,1078289,245.41163886348,43,118,1786.850554,"
    "2640,0,3943,741282,82041,7639,65379,7496,278.0599,3884.10275923998,17219,24607,37337,"
    "63430,11,46280,78026,6583,1819.19230479998,288446,63,36.53,54.94,99.92,NA";

static char line_copy[4096];

/* Split a comma-separated line (no quotes) into a raw record, in source column order. */
static void raw_from_line(const char *line, struct etl_raw_record *raw)
{
    size_t n = strlen(line), i, start = 0;
    int f = 0;

    assert_true(n < sizeof(line_copy));
    memcpy(line_copy, line, n + 1);
    memset(raw, 0, sizeof(*raw));
    for (i = 0; i <= n && f < ETL_NFIELDS; i++) {
        if (i == n || line_copy[i] == ',') {
            raw->v[f].ptr = line_copy + start;
            raw->v[f].len = i - start;
            f++;
            start = i + 1;
        }
    }
    assert_int_equal(f, ETL_NFIELDS);
}

static struct slice S(const char *s) {
    return slice_from_cstr(s);
}

static void
test_field_table(void **state)
{
    (void)state;
    assert_string_equal(etl_fields[ETL_F_FIN_YEAR].source_name, "fin_year");
    assert_null(etl_fields[ETL_F_DISTRICT_NAME].column);
    assert_string_equal(etl_fields[ETL_F_PERSONDAYS].source_name,
                        "Persondays_of_Central_Liability_so_far");
    assert_string_equal(etl_fields[ETL_F_PERSONDAYS].column,
                        "persondays_of_central_liability_so_far");
    assert_string_equal(etl_fields[ETL_F_REMARKS].source_name, "Remarks");
    assert_int_equal(etl_fields[ETL_F_REMARKS].kind, ETL_KIND_TEXT);
    assert_int_equal(etl_fields[ETL_F_FIRST_FIGURE].kind, ETL_KIND_INT);
    assert_int_equal(etl_fields[etl_field_index(S("Wages"))].kind, ETL_KIND_DECIMAL);
    assert_int_equal(etl_fields[etl_field_index(S("Total_Exp"))].kind, ETL_KIND_DECIMAL);
    assert_int_equal(
        etl_fields[etl_field_index(S("percentage_payments_gererated_within_15_days"))].kind,
        ETL_KIND_PERCENT);
    assert_int_equal(etl_fields[etl_field_index(S("percent_of_NRM_Expenditure"))].kind,
                     ETL_KIND_PERCENT);
    /* Every figure column is the lower-case source name. */
    for (int i = ETL_F_FIRST_FIGURE; i <= ETL_F_REMARKS; i++) {
        const char *a = etl_fields[i].source_name, *b = etl_fields[i].column;
        assert_non_null(b);
        assert_int_equal(strlen(a), strlen(b));
        for (; *a; a++, b++)
            assert_int_equal(*b, (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a);
    }
}

static void test_field_index(void **state)
{
    (void)state;
    for (int i = 0; i < ETL_NFIELDS; i++)
        assert_int_equal(etl_field_index(S(etl_fields[i].source_name)), i);
    assert_int_equal(etl_field_index(S("FIN_YEAR")), ETL_F_FIN_YEAR);
    assert_int_equal(etl_field_index(S("  persondays_of_central_liability_so_far ")),
                     ETL_F_PERSONDAYS);
    assert_int_equal(etl_field_index(S("remarks")), ETL_F_REMARKS);
    assert_int_equal(etl_field_index(S("fin_yea")), -1);
    assert_int_equal(etl_field_index(S("fin_years")), -1);
    assert_int_equal(etl_field_index(S("")), -1);
    assert_int_equal(etl_field_index((struct slice){NULL, 0}), -1);
    /* Not NUL-terminated: only len bytes count. */
    assert_int_equal(etl_field_index((struct slice){"monthXYZ", 5}), ETL_F_MONTH);
}

static void test_month(void **state)
{
    (void)state;
    assert_int_equal(etl_parse_month(S("Dec")), 12);
    assert_int_equal(etl_parse_month(S("December")), 12);
    assert_int_equal(etl_parse_month(S("july")), 7);
    assert_int_equal(etl_parse_month(S("July")), 7);
    assert_int_equal(etl_parse_month(S(" Sep ")), 9);
    assert_int_equal(etl_parse_month(S("Sept")), 9);
    assert_int_equal(etl_parse_month(S("April")), 4);
    assert_int_equal(etl_parse_month(S("MARCH")), 3);
    assert_int_equal(etl_parse_month(S("Jan")), 1);
    assert_int_equal(etl_parse_month(S("feb.")), 2);
    assert_int_equal(etl_parse_month(S("12")), 12);
    assert_int_equal(etl_parse_month(S("4")), 4);
    assert_int_equal(etl_parse_month(S("Ju")), 0);
    assert_int_equal(etl_parse_month(S("Decxyz")), 0);
    assert_int_equal(etl_parse_month(S("13")), 0);
    assert_int_equal(etl_parse_month(S("0")), 0);
    assert_int_equal(etl_parse_month(S("NA")), 0);
    assert_int_equal(etl_parse_month(S("")), 0);
    assert_int_equal(etl_parse_month((struct slice){NULL, 0}), 0);
}

static void test_fin_year(void **state)
{
    (void)state;
    assert_int_equal(etl_parse_fin_year(S("2024-2025")), 2024);
    assert_int_equal(etl_parse_fin_year(S(" 2018-2019 ")), 2018);
    assert_int_equal(etl_parse_fin_year(S("2024-25")), 2024);
    assert_int_equal(etl_parse_fin_year(S("2099-2100")), 2099);
    assert_int_equal(etl_parse_fin_year(S("2024-2026")), -1);
    assert_int_equal(etl_parse_fin_year(S("2025-2024")), -1);
    assert_int_equal(etl_parse_fin_year(S("1999-2000")), -1);
    assert_int_equal(etl_parse_fin_year(S("2024/2025")), -1);
    assert_int_equal(etl_parse_fin_year(S("2024-26")), -1);
    assert_int_equal(etl_parse_fin_year(S("2024")), -1);
    assert_int_equal(etl_parse_fin_year(S("20x4-2025")), -1);
    assert_int_equal(etl_parse_fin_year(S("NA")), -1);
    assert_int_equal(etl_fy_month(4), 1);
    assert_int_equal(etl_fy_month(12), 9);
    assert_int_equal(etl_fy_month(3), 12);
    assert_int_equal(etl_fy_month(0), 0);
}

static void test_parse_numbers(void **state)
{
    long long v = -7;
    double d = 0;
    (void)state;

    assert_int_equal(etl_parse_int(S("1078289"), &v), 0);
    assert_int_equal(v, 1078289);
    assert_int_equal(etl_parse_int(S(" 123.0 "), &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(etl_parse_int(S("0517"), &v), 0);
    assert_int_equal(v, 517);
    assert_int_equal(etl_parse_int(S("+5"), &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(etl_parse_int(S("9223372036854775807"), &v), 0);
    assert_int_equal(etl_parse_int(S("9223372036854775808"), &v), -1);
    assert_int_equal(etl_parse_int(S("123.5"), &v), -1);
    assert_int_equal(etl_parse_int(S("-1"), &v), -1);
    assert_int_equal(etl_parse_int(S("12abc"), &v), -1);
    assert_int_equal(etl_parse_int(S("1,234"), &v), -1);
    assert_int_equal(etl_parse_int(S("NA"), &v), -1);
    assert_int_equal(etl_parse_int(S(""), &v), -1);
    assert_int_equal(etl_parse_int(S("1e3"), &v), -1);
    assert_int_equal(etl_parse_int(S("0x10"), &v), -1);

    assert_int_equal(etl_parse_decimal(S("245.41163886348"), &d), 0);
    assert_true(d > 245.4116 && d < 245.4117);
    assert_int_equal(etl_parse_decimal(S(".5"), &d), 0);
    assert_true(d == 0.5);
    assert_int_equal(etl_parse_decimal(S("nan"), &d), -1);
    assert_int_equal(etl_parse_decimal(S("inf"), &d), -1);
    assert_int_equal(etl_parse_decimal(S("Infinity"), &d), -1);
    assert_int_equal(etl_parse_decimal(S("-0.5"), &d), -1);
    assert_int_equal(etl_parse_decimal(S("1.2.3"), &d), -1);
    assert_int_equal(etl_parse_decimal(S("."), &d), -1);
    assert_int_equal(etl_parse_decimal(S("1.5e2"), &d), -1);
}

static void test_clean_real_record(void **state)
{
    struct etl_raw_record raw;
    static struct etl_row row;
    const char *why = "x";
    (void)state;

    raw_from_line(niwari, &raw);
    assert_int_equal(etl_clean_record(&raw, &row, &why), 0);
    assert_null(why);
    assert_string_equal(row.fin_year, "2024-2025");
    assert_int_equal(row.fy_start, 2024);
    assert_int_equal(row.month, 12);
    assert_int_equal(row.fy_month, 9);
    assert_int_equal(row.state_code, 17);
    assert_int_equal(row.district_code, 1752);
    assert_string_equal(row.state_name, "MADHYA PRADESH");
    assert_string_equal(row.district_name, "NIWARI");
    assert_int_equal(row.persondays, 741282);
    assert_string_equal(row.value[ETL_F_FIRST_FIGURE], "1078289");
    assert_string_equal(row.value[etl_field_index(S("Average_Wage_rate_per_day_per_person"))],
                        "245.41163886348");
    assert_string_equal(row.value[etl_field_index(S("Total_Exp"))], "3884.10275923998");
    assert_string_equal(row.value[etl_field_index(S("Wages"))], "1819.19230479998");
    assert_string_equal(
        row.value[etl_field_index(S("percentage_payments_gererated_within_15_days"))], "99.92");
    assert_string_equal(row.value[etl_field_index(S("Number_of_GPs_with_NIL_exp"))], "0");
    assert_int_equal(row.is_null[ETL_F_REMARKS], 1);
    assert_string_equal(row.remarks, "");
    for (int i = ETL_F_FIRST_FIGURE; i < ETL_F_REMARKS; i++) {
        assert_int_equal(row.is_null[i], 0);
        assert_int_equal(row.flagged[i], 0);
    }
}

/* Clean the NIWARI record with field i replaced by value; returns the cleaned row. */
static struct etl_row *with_value(int i, const char *value, int expect_rc)
{
    static struct etl_row row;
    struct etl_raw_record raw;
    const char *why = NULL;

    raw_from_line(niwari, &raw);
    raw.v[i] = value ? S(value) : (struct slice){NULL, 0};
    assert_int_equal(etl_clean_record(&raw, &row, &why), expect_rc);
    if (expect_rc != 0)
        assert_non_null(why);
    return &row;
}

static void test_clean_na_and_garbage(void **state)
{
    int alb = ETL_F_FIRST_FIGURE;
    int wage = etl_field_index(S("Average_Wage_rate_per_day_per_person"));
    const char *nulls[] = {"NA", "na",    "N/A", "-",   "",    "   ",  "12abc", "1,234",
                           "-1", "123.5", "nan", "inf", "1e5", "0x1F", "١٢٣"};
    (void)state;

    for (size_t k = 0; k < sizeof(nulls) / sizeof(nulls[0]); k++) {
        struct etl_row *r = with_value(alb, nulls[k], 0);
        assert_int_equal(r->is_null[alb], 1);
        assert_string_equal(r->value[alb], "");
        assert_int_equal(r->flagged[alb], 0);
    }
    assert_int_equal(with_value(alb, NULL, 0)->is_null[alb], 1);
    assert_string_equal(with_value(alb, " 123.0 ", 0)->value[alb], "123");
    assert_string_equal(with_value(alb, "+0042", 0)->value[alb], "42");
    assert_string_equal(with_value(alb, "0", 0)->value[alb], "0");

    assert_string_equal(with_value(wage, "+245.50", 0)->value[wage], "245.50");
    assert_string_equal(with_value(wage, ".5", 0)->value[wage], "0.5");
    assert_string_equal(with_value(wage, "7.", 0)->value[wage], "7");
    assert_string_equal(with_value(wage, "12345678901234567890.123456789", 0)->value[wage],
                        "12345678901234567890.123456789");
    assert_int_equal(with_value(wage, "-245.5", 0)->is_null[wage], 1);
    assert_int_equal(with_value(wage, "1,234.5", 0)->is_null[wage], 1);
    assert_int_equal(with_value(wage, "NaN", 0)->is_null[wage], 1);
    /* Longer than a value can be: garbage. */
    assert_int_equal(with_value(wage, "1234567890123456789012345678901234567890", 0)->is_null[wage],
                     1);
    assert_int_equal(with_value(alb, "000000000000000000000000000000000000000001", 0)->is_null[alb],
                     1);
    /* Persondays follows its value. */
    assert_int_equal(with_value(ETL_F_PERSONDAYS, "NA", 0)->persondays, -1);
    assert_int_equal(with_value(ETL_F_PERSONDAYS, "741282.0", 0)->persondays, 741282);
}

static void test_clean_percent(void **state)
{
    int p15 = etl_field_index(S("percentage_payments_gererated_within_15_days"));
    struct etl_row *r;
    (void)state;

    r = with_value(p15, "99.92", 0);
    assert_string_equal(r->value[p15], "99.92");
    assert_int_equal(r->flagged[p15], 0);
    r = with_value(p15, "100", 0);
    assert_string_equal(r->value[p15], "100");
    r = with_value(p15, "100.000", 0);
    assert_string_equal(r->value[p15], "100.000");
    assert_int_equal(r->flagged[p15], 0);
    r = with_value(p15, "0", 0);
    assert_string_equal(r->value[p15], "0");

    /* The real DATIA July value. */
    r = with_value(p15, "100.07", 0);
    assert_int_equal(r->is_null[p15], 1);
    assert_int_equal(r->flagged[p15], 1);
    assert_string_equal(r->flag_raw[p15], "100.07");
    assert_string_equal(r->flag_problem[p15], "out_of_range");
    r = with_value(p15, " 100.5 ", 0);
    assert_int_equal(r->flagged[p15], 1);
    assert_string_equal(r->flag_raw[p15], "100.5");
    r = with_value(p15, "100.0000001", 0);
    assert_int_equal(r->flagged[p15], 1);
    r = with_value(p15, "00250", 0);
    assert_int_equal(r->flagged[p15], 1);
    r = with_value(p15, "1000", 0);
    assert_int_equal(r->flagged[p15], 1);
    r = with_value(p15, "099.5", 0);
    assert_int_equal(r->is_null[p15], 0);
    assert_int_equal(r->flagged[p15], 0);

    r = with_value(p15, "-1", 0);
    assert_int_equal(r->is_null[p15], 1);
    assert_int_equal(r->flagged[p15], 0);
    assert_null(r->flag_problem[p15]);
    r = with_value(p15, "NA", 0);
    assert_int_equal(r->is_null[p15], 1);
    assert_int_equal(r->flagged[p15], 0);
}

static void test_clean_names(void **state)
{
    struct etl_row *r;
    char longname[300];
    (void)state;

    r = with_value(ETL_F_DISTRICT_NAME, "HARDA ", 0);
    assert_string_equal(r->district_name, "HARDA");
    r = with_value(ETL_F_DISTRICT_NAME, "NIWARI  ", 0);
    assert_string_equal(r->district_name, "NIWARI");
    r = with_value(ETL_F_DISTRICT_NAME, "  EAST   NIMAR\t", 0);
    assert_string_equal(r->district_name, "EAST NIMAR");
    r = with_value(ETL_F_STATE_NAME, "MADHYA  PRADESH ", 0);
    assert_string_equal(r->state_name, "MADHYA PRADESH");
    r = with_value(ETL_F_STATE_NAME, "NA", 0);
    assert_string_equal(r->state_name, "");
    /* Invalid UTF-8 never reaches Postgres; valid Devanagari is kept. */
    r = with_value(ETL_F_DISTRICT_NAME, "SAGAR\xff", 0);
    assert_string_equal(r->district_name, "SAGAR?");
    r = with_value(ETL_F_DISTRICT_NAME, "सागर", 0);
    assert_string_equal(r->district_name, "सागर");

    /* A long name is cut at a character boundary: 'A' then 2-byte characters. */
    longname[0] = 'A';
    for (int i = 0; i < 140; i++) {
        longname[1 + 2 * i] = (char)0xC3;
        longname[2 + 2 * i] = (char)0xA9; /* é */
    }
    longname[281] = '\0';
    r = with_value(ETL_F_DISTRICT_NAME, longname, 0);
    assert_true(strlen(r->district_name) < ETL_MAX_NAME);
    assert_int_equal(strlen(r->district_name) % 2, 1);
    assert_int_equal((unsigned char)r->district_name[strlen(r->district_name) - 1], 0xA9);

    /* Remarks: kept trimmed, cut safely, "NA" is NULL. */
    r = with_value(ETL_F_REMARKS, " data revised ", 0);
    assert_int_equal(r->is_null[ETL_F_REMARKS], 0);
    assert_string_equal(r->remarks, "data revised");
    char remarks[600];
    for (int i = 0; i < 199; i++)
        memcpy(remarks + 3 * i, "\xe0\xa4\x95", 3); /* क */
    remarks[597] = '\0';
    r = with_value(ETL_F_REMARKS, remarks, 0);
    assert_int_equal(strlen(r->remarks) % 3, 0);
    assert_true(strlen(r->remarks) >= ETL_MAX_REMARKS - 3);
    assert_true(strlen(r->remarks) < ETL_MAX_REMARKS);
    r = with_value(ETL_F_REMARKS, "NA", 0);
    assert_int_equal(r->is_null[ETL_F_REMARKS], 1);
}

static void test_clean_keys(void **state)
{
    struct etl_row *r;
    static struct etl_row row;
    struct etl_raw_record raw;
    const char *why = NULL;
    (void)state;

    r = with_value(ETL_F_STATE_CODE, "0017", 0);
    assert_int_equal(r->state_code, 17);
    r = with_value(ETL_F_DISTRICT_CODE, " 0517 ", 0);
    assert_int_equal(r->district_code, 517);
    r = with_value(ETL_F_DISTRICT_CODE, "1752.0", 0);
    assert_int_equal(r->district_code, 1752);
    r = with_value(ETL_F_MONTH, " Sep ", 0);
    assert_int_equal(r->month, 9);
    assert_int_equal(r->fy_month, 6);
    r = with_value(ETL_F_FIN_YEAR, "2024-25", 0);
    assert_string_equal(r->fin_year, "2024-2025");

    with_value(ETL_F_FIN_YEAR, NULL, -1);
    with_value(ETL_F_FIN_YEAR, "2024-2026", -1);
    with_value(ETL_F_MONTH, "Ju", -1);
    with_value(ETL_F_MONTH, NULL, -1);
    with_value(ETL_F_STATE_CODE, "0", -1);
    with_value(ETL_F_STATE_CODE, "-17", -1);
    with_value(ETL_F_STATE_CODE, "NA", -1);
    with_value(ETL_F_DISTRICT_CODE, "17a", -1);
    with_value(ETL_F_DISTRICT_CODE, "99999999999", -1);
    with_value(ETL_F_DISTRICT_NAME, "NA", -1);
    with_value(ETL_F_DISTRICT_NAME, "   ", -1);
    with_value(ETL_F_DISTRICT_NAME, NULL, -1);

    /* The reason names the field. */
    raw_from_line(niwari, &raw);
    raw.v[ETL_F_STATE_CODE] = (struct slice){NULL, 0};
    assert_int_equal(etl_clean_record(&raw, &row, &why), -1);
    assert_string_equal(why, "missing state_code");
    raw.v[ETL_F_STATE_CODE] = S("x");
    assert_int_equal(etl_clean_record(&raw, &row, &why), -1);
    assert_string_equal(why, "bad state_code");
    /* A state name is not a key: an absent one is fine. */
    raw_from_line(niwari, &raw);
    raw.v[ETL_F_STATE_NAME] = (struct slice){NULL, 0};
    assert_int_equal(etl_clean_record(&raw, &row, NULL), 0);
    /* Missing figures are NULL, not an error. */
    raw_from_line(niwari, &raw);
    for (int i = ETL_F_FIRST_FIGURE; i <= ETL_F_REMARKS; i++)
        raw.v[i] = (struct slice){NULL, 0};
    assert_int_equal(etl_clean_record(&raw, &row, NULL), 0);
    assert_int_equal(row.is_null[ETL_F_FIRST_FIGURE], 1);
    assert_int_equal(row.persondays, -1);
}

static void test_clean_reuses_row(void **state)
{
    static struct etl_row row;
    struct etl_raw_record raw;
    int p15 = etl_field_index(S("percentage_payments_gererated_within_15_days"));
    (void)state;

    /* A flag from one record must not leak into the next cleaned into the same row. */
    raw_from_line(niwari, &raw);
    raw.v[p15] = S("150");
    assert_int_equal(etl_clean_record(&raw, &row, NULL), 0);
    assert_int_equal(row.flagged[p15], 1);
    raw_from_line(niwari, &raw);
    assert_int_equal(etl_clean_record(&raw, &row, NULL), 0);
    assert_int_equal(row.flagged[p15], 0);
    assert_null(row.flag_problem[p15]);
    assert_int_equal(row.is_null[p15], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_table),
        cmocka_unit_test(test_field_index),
        cmocka_unit_test(test_month),
        cmocka_unit_test(test_fin_year),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_clean_real_record),
        cmocka_unit_test(test_clean_na_and_garbage),
        cmocka_unit_test(test_clean_percent),
        cmocka_unit_test(test_clean_names),
        cmocka_unit_test(test_clean_keys),
        cmocka_unit_test(test_clean_reuses_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
