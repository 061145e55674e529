/*
 * Unit tests for PIN codes in text (text/pin.c: what counts as a PIN, the redaction a
 * record keeps) and for finding districts in a directory (data/geo.c: by PIN with shares
 * and choices, nearest by great-circle distance with and without figures), on a
 * directory built by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "data/geo.h"
#include "text/pin.h"

static void test_pin_parse(void **state)
{
    (void)state;
    assert_int_equal(pin_parse("462001", 6), 462001);
    assert_int_equal(pin_parse(" NREGA 462001 ", 14), 462001);
    assert_int_equal(pin_parse("nrega pin 462001", 16), 0); /* "pin" is a word of its own */
    assert_int_equal(pin_parse("462 001", 7), 462001);
    assert_int_equal(pin_parse("मनरेगा 462001", strlen("मनरेगा 462001")), 462001);
    assert_int_equal(pin_parse("062001", 6), 0);  /* PINs start 1-9 */
    assert_int_equal(pin_parse("46200", 5), 0);   /* five digits */
    assert_int_equal(pin_parse("4620011", 7), 0); /* seven */
    assert_int_equal(pin_parse("1752", 4), 0);    /* a district code */
    assert_int_equal(pin_parse("Bhopal 462001", 13), 0);
    assert_int_equal(pin_parse("", 0), 0);
    assert_true(pin_valid(100000) && pin_valid(999999) && !pin_valid(99999) && !pin_valid(1000000));
}

static void redact(const char *in, const char *want)
{
    struct buf b;

    buf_init(&b, 256);
    assert_int_equal(pin_redact(in, strlen(in), &b), 0);
    assert_string_equal(buf_cstr(&b), want);
    buf_free(&b);
}

static void test_pin_redact(void **state)
{
    (void)state;
    redact("462001", "[PIN]");
    redact("NREGA 462001 please", "NREGA [PIN] please");
    redact("462 001", "[PIN]");
    redact("SUB 110001, 226001", "SUB [PIN], [PIN]");
    /* Not a PIN: a district code, a phone number, a leading zero. */
    redact("NREGA 1752", "NREGA 1752");
    redact("9876543210", "9876543210");
    redact("012345", "012345");
    redact("a4620019", "a4620019");
}

/* A directory of four districts by hand: two with figures (MP), one reference-only (UP),
 * and one without a point. */
static struct dir_district rows[4];
static struct dir_pin pins[4];
static struct directory dir;
static const char summary[] = "{}";

static void build(void)
{
    memset(rows, 0, sizeof(rows));
    rows[0] = (struct dir_district){.state_code = -9, .district_code = -162, .lgd_code = 162};
    rows[0].name[0] = rows[0].name[1] = "Lucknow";
    rows[0].has_point = 1, rows[0].lat = 26.85, rows[0].lon = 80.95;
    rows[1] = (struct dir_district){.state_code = 17, .district_code = 1705, .has_id = 1};
    rows[1].name[0] = rows[1].name[1] = "Bhopal";
    rows[1].has_point = 1, rows[1].lat = 23.26, rows[1].lon = 77.41;
    rows[1].summary[0] = summary;
    rows[2] = (struct dir_district){.state_code = 17, .district_code = 1723, .has_id = 1};
    rows[2].name[0] = rows[2].name[1] = "Bhind";
    rows[2].has_point = 1, rows[2].lat = 26.56, rows[2].lon = 78.79;
    rows[2].summary[0] = summary;
    rows[3] = (struct dir_district){.state_code = 17, .district_code = 1752, .has_id = 1};
    rows[3].name[0] = rows[3].name[1] = "Niwari";
    rows[3].summary[0] = summary;
    /* 462001: Bhopal only; 475001: Bhind 0.7, Lucknow 0.3 (sorted as the directory does). */
    pins[0] = (struct dir_pin){462001, 1, 1.0f};
    pins[1] = (struct dir_pin){475001, 2, 0.7f};
    pins[2] = (struct dir_pin){475001, 0, 0.3f};
    pins[3] = (struct dir_pin){475002, 2, 0.95f};
    memset(&dir, 0, sizeof(dir));
    dir.rows = rows;
    dir.n = 4;
    dir.pins = pins;
    dir.npins = 4;
}

static void test_geo_pin_and_lookup(void **state)
{
    const struct dir_district *r[4];
    double share[4];
    struct geo_lookup g;

    (void)state;
    build();
    assert_int_equal(geo_pin(&dir, 462001, r, share, 4), 1);
    assert_ptr_equal(r[0], &rows[1]);
    assert_int_equal(geo_pin(&dir, 475001, r, share, 4), 2);
    assert_ptr_equal(r[0], &rows[2]);
    assert_true(fabs(share[1] - 0.3) < 1e-6);
    assert_int_equal(geo_pin(&dir, 475001, r, share, 1), 2); /* the count, one written */
    assert_int_equal(geo_pin(&dir, 999999, r, share, 4), 0);
    assert_int_equal(geo_pin(&dir, 100000, r, share, 4), 0);
    /* A PIN in a query: its districts; both count as choices at 70/30. */
    geo_lookup(&dir, "NREGA 475001", &g);
    assert_int_equal(g.pin, 475001);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.close, 2);
    /* 95/5: two districts, but one choice (the other is under GEO_PIN_CHOICE_SHARE). */
    pins[1].share = 0.95f;
    pins[2].share = 0.05f;
    geo_lookup(&dir, "475001", &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.close, 1);
    assert_ptr_equal(g.m[0].row, &rows[2]);
    geo_lookup(&dir, "999999", &g);
    assert_int_equal(g.pin, 999999);
    assert_int_equal(g.n, 0);
}

static void test_geo_nearest(void **state)
{
    const struct dir_district *r;
    double km = 0;

    (void)state;
    build();
    /* From Lucknow: Lucknow itself (no figures), and Bhind as the nearest with figures. */
    r = geo_nearest(&dir, 26.85, 80.95, 0, &km);
    assert_ptr_equal(r, &rows[0]);
    assert_true(km < 0.01);
    assert_false(geo_has_data(r));
    r = geo_nearest(&dir, 26.85, 80.95, 1, &km);
    assert_ptr_equal(r, &rows[2]);
    assert_true(fabs(km - geo_km(26.85, 80.95, 26.56, 78.79)) < 1e-9);
    /* Lucknow to Bhind is about 217 km (the figure the old all-MP answer gave). */
    assert_true(km > 210 && km < 225);
    /* Niwari has no point: never the answer. */
    r = geo_nearest(&dir, 25.37, 78.80, 0, &km);
    assert_ptr_not_equal(r, &rows[3]);
    assert_null(geo_nearest(NULL, 1, 1, 0, &km));
    /* Bhopal to Lucknow: 535.19 km by the same formula in Python (R = 6371.0088 km). */
    km = geo_km(23.26, 77.41, 26.85, 80.95);
    assert_true(fabs(km - 535.195) < 0.01);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pin_parse),
        cmocka_unit_test(test_pin_redact),
        cmocka_unit_test(test_geo_pin_and_lookup),
        cmocka_unit_test(test_geo_nearest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
