/*
 * Unit tests for src/channel/phone.c: normalisation of Indian and other numbers, rejection of
 * junk, and the HMAC-SHA256 against RFC 4231 and a vector computed with Python's hmac.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "channel/phone.h"

static void test_normalise_india(void **state)
{
    static const char *const same[] = {"9812345678",      "09812345678",    "919812345678",
                                       "+919812345678",   "00919812345678", "+91 98123 45678",
                                       "+91-98123-45678", "(0)98123.45678", NULL};
    char out[PHONE_E164_MAX];
    size_t i;

    (void)state;
    for (i = 0; same[i] != NULL; i++) {
        assert_int_equal(phone_normalise(same[i], out, sizeof(out)), 0);
        assert_string_equal(out, "+919812345678");
    }
}

static void test_normalise_other(void **state)
{
    char out[PHONE_E164_MAX];

    (void)state;
    assert_int_equal(phone_normalise("+447700900123", out, sizeof(out)), 0);
    assert_string_equal(out, "+447700900123");
    assert_int_equal(phone_normalise("00447700900123", out, sizeof(out)), 0);
    assert_string_equal(out, "+447700900123");
    /* A short code or test number keeps its digits. */
    assert_int_equal(phone_normalise("56767", out, sizeof(out)), 0);
    assert_string_equal(out, "+56767");
    /* 91 followed by a non-mobile digit is not taken as +91. */
    assert_int_equal(phone_normalise("911234567890", out, sizeof(out)), 0);
    assert_string_equal(out, "+911234567890");
}

static void test_normalise_bad(void **state)
{
    static const char *const bad[] = {
        "", "+", "abc", "98123x45678", "12", "+1", "9+812", "1234567890123456", "+12345", NULL};
    char out[PHONE_E164_MAX];
    size_t i;

    (void)state;
    for (i = 0; bad[i] != NULL; i++) {
        assert_int_equal(phone_normalise(bad[i], out, sizeof(out)), -1);
        assert_string_equal(out, "");
    }
    assert_int_equal(phone_normalise(NULL, out, sizeof(out)), -1);
    assert_int_equal(phone_normalise("9812345678", out, 5), -1);
}

static void test_hash_vectors(void **state)
{
    char out[PHONE_HASH_HEX];

    (void)state;
    /* RFC 4231 test case 2. */
    assert_int_equal(phone_hash("Jefe", 4, "what do ya want for nothing?", out, sizeof(out)), 0);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* python3: hmac.new(b'test-secret', b'+919812345678', hashlib.sha256).hexdigest() */
    assert_int_equal(phone_hash_raw("test-secret", 11, "098123 45678", NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "86e842e601fa9c6e994569e0b8c0d51a20669e3be129d37d863f67d64cc152ab");
    assert_int_equal(phone_hash_raw("test-secret", 11, "junk", NULL, out, sizeof(out)), -1);
    assert_int_equal(phone_hash("k", 1, "+91", out, 10), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalise_india),
        cmocka_unit_test(test_normalise_other),
        cmocka_unit_test(test_normalise_bad),
        cmocka_unit_test(test_hash_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
