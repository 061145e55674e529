/*
 * Unit tests for net/form.c, the server's one query/form decoder: '+' and %XY, a lone
 * '%' kept, NUL bytes kept (binary), pairs without '=' or empty, lookup by decoded name,
 * and the cap.
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_pairs_and_get),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
