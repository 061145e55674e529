/*
 * Unit tests for net/form.c, the server's one query/form decoder: '+' and %XY, a lone
 * '%' kept, NUL bytes kept (binary), pairs without '=' or empty, lookup by decoded name,
 * and the cap; and the encoder the other way (every byte back through the decoder).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "net/form.h"

static void test_decode(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 64);
    assert_int_equal(form_decode("NREGA+Niwari%21", 15, &b), 0);
    assert_string_equal(buf_cstr(&b), "NREGA Niwari!");
    buf_reset(&b);
    /* Devanagari percent-encoded; a '%' without two hex digits stays literal. */
    assert_int_equal(form_decode("%E0%A4%A8 100% %zz %4", 21, &b), 0);
    assert_string_equal(buf_cstr(&b), "\xe0\xa4\xa8 100% %zz %4");
    buf_reset(&b);
    /* UTF-16BE text: its NUL bytes survive. */
    assert_int_equal(form_decode("%00N%00R", 8, &b), 0);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.data, "\0N\0R", 4);
    buf_free(&b);
    buf_init(&b, 4);
    assert_int_equal(form_decode("abcdef", 6, &b), -1);
    buf_free(&b);
}

static void test_pairs_and_get(void **state)
{
    const char *qs = "from=%2B9198&&flag&te%78t=a%26b&text=second&=novalue";
    struct slice k, v;
    struct buf b;
    size_t pos = 0;
    int n = 0;

    (void)state;
    while (form_next(qs, strlen(qs), &pos, &k, &v))
        n++;
    assert_int_equal(n, 5); /* the empty pair is skipped */
    buf_init(&b, 64);
    assert_int_equal(form_get(qs, strlen(qs), "from", &b), 1);
    assert_string_equal(buf_cstr(&b), "+9198");
    /* Names are compared decoded; the first of two wins. */
    assert_int_equal(form_get(qs, strlen(qs), "text", &b), 1);
    assert_string_equal(buf_cstr(&b), "a&b");
    assert_int_equal(form_get(qs, strlen(qs), "flag", &b), 1);
    assert_string_equal(buf_cstr(&b), "");
    assert_int_equal(form_get(qs, strlen(qs), "id", &b), 0);
    assert_int_equal(form_get(NULL, 0, "id", &b), 0);
    buf_free(&b);
    buf_init(&b, 2);
    assert_int_equal(form_get(qs, strlen(qs), "text", &b), -1);
    buf_free(&b);
}

static void test_encode_and_add(void **state)
{
    char all[256];
    struct buf b, d;
    int i;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(form_encode("A-z_0.9~ &=+%/?#\xe0\xa4\xa8", &b), 0);
    assert_string_equal(buf_cstr(&b), "A-z_0.9~%20%26%3D%2B%25%2F%3F%23%E0%A4%A8");
    buf_reset(&b);
    assert_int_equal(form_add(&b, "To", "+91 98"), 0);
    assert_int_equal(form_add(&b, "Url", "https://h/x?a=1&b=2"), 0);
    assert_int_equal(form_add(&b, "E", ""), 0);
    assert_string_equal(buf_cstr(&b), "To=%2B91%2098&Url=https%3A%2F%2Fh%2Fx%3Fa%3D1%26b%3D2&E=");
    /* every byte but NUL decodes back to itself, and the value stays one pair */
    for (i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    buf_reset(&b);
    assert_int_equal(form_add(&b, "v", all), 0);
    assert_int_equal(form_add(&b, "w", "x"), 0);
    buf_init(&d, 1024);
    assert_int_equal(form_get(b.data, b.len, "v", &d), 1);
    assert_int_equal(d.len, 255);
    assert_memory_equal(d.data, all, 255);
    assert_int_equal(form_get(b.data, b.len, "w", &d), 1);
    assert_string_equal(buf_cstr(&d), "x");
    buf_free(&d);
    buf_free(&b);
    /* at the cap: out is as it was */
    buf_init(&b, 12);
    assert_int_equal(form_add(&b, "a", "b"), 0);
    assert_int_equal(form_add(&b, "c", "d e f"), -1);
    assert_string_equal(buf_cstr(&b), "a=b");
    assert_int_equal(form_encode("&&&&", &b), -1);
    assert_string_equal(buf_cstr(&b), "a=b");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_pairs_and_get),
        cmocka_unit_test(test_encode_and_add),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
