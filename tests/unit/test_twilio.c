/*
 * Unit tests for gateway/twilio.c's pure helpers: the webhook signature (Twilio's
 * documented example) and TwiML escaping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "gateway/twilio.h"

/* Twilio's documented example (docs "Webhooks security"): token 12345. */
static const struct twilio_kv example[] = {
    {"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
    {"From", "+12349013030"},         {"To", "+18005551212"},
};
#define EXAMPLE_URL "https://mycompany.com/myapp.php?foo=1&bar=2"

static void test_twilio_signature(void **state)
{
    struct twilio_kv shuffled[5] = {example[4], example[2], example[0], example[3], example[1]};
    char sig[32];

    (void)state;
    assert_int_equal(twilio_signature("12345", EXAMPLE_URL, example, 5, sig, sizeof(sig)), 0);
    assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    /* The order the form had does not matter: parameters are sorted. */
    assert_int_equal(twilio_signature("12345", EXAMPLE_URL, shuffled, 5, sig, sizeof(sig)), 0);
    assert_string_equal(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    assert_true(twilio_check("12345", EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    /* Wrong token, wrong URL, a changed value, a missing header, no token configured. */
    assert_false(twilio_check("12346", EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(twilio_check("12345", "https://mycompany.com/myapp.php?foo=1", example, 5,
                              "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    shuffled[1].value = "1235";
    assert_false(twilio_check("12345", EXAMPLE_URL, shuffled, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(twilio_check("12345", EXAMPLE_URL, example, 5, NULL));
    assert_false(twilio_check(NULL, EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(twilio_check("", EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
    assert_false(twilio_check("12345", EXAMPLE_URL, example, 5, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
    assert_int_equal(twilio_signature("12345", EXAMPLE_URL, example, 5, sig, 10), -1);
}

static void test_twiml(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 4096);
    assert_int_equal(twilio_twiml("Rs <5> & \"more\" निवाड़ी", &b), 0);
    assert_string_equal(buf_cstr(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                      "<Response><Message>Rs &lt;5&gt; &amp; &quot;more&quot; "
                                      "निवाड़ी</Message></Response>\n");
    buf_reset(&b);
    assert_int_equal(twilio_twiml("", &b), 0);
    assert_string_equal(buf_cstr(&b), "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response/>\n");
    buf_free(&b);
    buf_init(&b, 20);
    assert_int_equal(twilio_twiml("hello", &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_twilio_signature),
        cmocka_unit_test(test_twiml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
