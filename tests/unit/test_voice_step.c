/*
 * Unit tests for the provider-neutral voice modules: gateway/voice_step.c (which steps
 * every renderer accepts: the URLs, exactly one way on, the digit and timeout bounds) and
 * gateway/voice_call.c (the inbound call's fields: caps, printable values, digits with
 * Exotel's quotes, durations, the first name found for a field, body before query, the
 * shared key).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gateway/voice_call.h"
#include "gateway/voice_step.h"

#define WAV "https://hisaab.example/audio/hi/welcome.wav"
#define ACTION "https://hisaab.example/ivr/twilio/voice?call=CA1&step=menu"

static struct voice_step menu(void)
{
    struct voice_step s;

    memset(&s, 0, sizeof(s));
    s.play[0] = WAV;
    s.nplay = 1;
    s.gather = 1;
    s.num_digits = 1;
    s.timeout_s = 5;
    s.action = ACTION;
    return s;
}

static void test_url_ok(void **state)
{
    static char longest[VOICE_STEP_URL_MAX + 2];
    (void)state;

    assert_true(voice_step_url_ok("https://h/x.wav"));
    assert_true(voice_step_url_ok("http://127.0.0.1:8080/a?b=1&c=%20"));
    assert_false(voice_step_url_ok(NULL));
    assert_false(voice_step_url_ok(""));
    assert_false(voice_step_url_ok("ftp://h/x.wav"));
    assert_false(voice_step_url_ok("/audio/x.wav")); /* relative */
    assert_false(voice_step_url_ok("https://"));
    assert_false(voice_step_url_ok("https:///x.wav"));
    assert_false(voice_step_url_ok("https://h/a b.wav"));
    assert_false(voice_step_url_ok("https://h/a.wav\nhttps://evil/b.wav")); /* Exotel's lines */
    assert_false(voice_step_url_ok("https://h/a.wav\r"));
    assert_false(voice_step_url_ok("https://h/\xe0\xa4\xa8.wav")); /* not percent-encoded */
    memcpy(longest, "https://h/", 10);
    memset(longest + 10, 'a', VOICE_STEP_URL_MAX - 10);
    assert_true(voice_step_url_ok(longest)); /* VOICE_STEP_URL_MAX bytes */
    longest[VOICE_STEP_URL_MAX] = 'a';
    assert_false(voice_step_url_ok(longest));
}

static void test_step_check(void **state)
{
    struct voice_step s = menu();
    size_t i;
    (void)state;

    assert_int_equal(voice_step_check(&s), 0);
    assert_int_equal(voice_step_check(NULL), -1);
    /* exactly one way on */
    s.hangup = 1;
    assert_int_equal(voice_step_check(&s), -1);
    s = menu();
    s.redirect = ACTION;
    assert_int_equal(voice_step_check(&s), -1);
    s = menu();
    s.gather = 0;
    assert_int_equal(voice_step_check(&s), -1); /* no way on at all */
    s.hangup = 1;
    assert_int_equal(voice_step_check(&s), 0);
    s.hangup = 0;
    s.redirect = ACTION;
    assert_int_equal(voice_step_check(&s), 0);
    s.redirect = "next";
    assert_int_equal(voice_step_check(&s), -1);
    /* a gather's bounds */
    s = menu();
    s.action = NULL;
    assert_int_equal(voice_step_check(&s), -1);
    s = menu();
    s.num_digits = 0;
    assert_int_equal(voice_step_check(&s), -1);
    s.num_digits = VOICE_STEP_MAX_DIGITS;
    assert_int_equal(voice_step_check(&s), 0);
    s.num_digits = VOICE_STEP_MAX_DIGITS + 1;
    assert_int_equal(voice_step_check(&s), -1);
    s = menu();
    s.timeout_s = 0;
    assert_int_equal(voice_step_check(&s), -1);
    s.timeout_s = VOICE_STEP_MAX_TIMEOUT + 1;
    assert_int_equal(voice_step_check(&s), -1);
    /* plays: any number up to the cap, each a good URL; none is fine */
    s = menu();
    s.nplay = 0;
    assert_int_equal(voice_step_check(&s), 0);
    for (i = 0; i < VOICE_STEP_MAX_PLAY; i++)
        s.play[i] = WAV;
    s.nplay = VOICE_STEP_MAX_PLAY;
    assert_int_equal(voice_step_check(&s), 0);
    s.nplay = VOICE_STEP_MAX_PLAY + 1;
    assert_int_equal(voice_step_check(&s), -1);
    s.nplay = 3;
    s.play[1] = NULL;
    assert_int_equal(voice_step_check(&s), -1);
    s.play[1] = "welcome.wav";
    assert_int_equal(voice_step_check(&s), -1);
}

static void test_call_set(void **state)
{
    struct voice_call_in in;
    struct gateway_error e = {0, NULL, NULL};
    char longv[128];
    (void)state;

    voice_call_init(&in, "twilio");
    assert_string_equal(in.provider, "twilio");
    assert_int_equal(in.duration_s, -1);
    assert_int_equal(in.has_digits, 0);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_CALL_ID, "CA0123", &e), 0);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_FROM, "+919812345678", &e), 0);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_TO, "+918012345678", &e), 0);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_STATUS, "in-progress", &e), 0);
    assert_string_equal(in.call_id, "CA0123");
    assert_string_equal(in.from, "+919812345678");
    assert_string_equal(in.to, "+918012345678");
    assert_string_equal(in.status, "in-progress");
    /* digits: plain, Exotel's quoted form, none */
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DIGITS, "472001", &e), 0);
    assert_string_equal(in.digits, "472001");
    assert_int_equal(in.has_digits, 1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DIGITS, "\"1\"", &e), 0);
    assert_string_equal(in.digits, "1");
    assert_int_equal(in.has_digits, 1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DIGITS, "\"\"", &e), 0);
    assert_string_equal(in.digits, "");
    assert_int_equal(in.has_digits, 0);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DIGITS, "*#0", &e), 0);
    assert_string_equal(in.digits, "*#0");
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DIGITS, "", &e), 0);
    assert_int_equal(in.has_digits, 0);
    /* what is refused leaves in as it was, with a 400 */
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DIGITS, "12", &e), 0);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DIGITS, "1a", &e), -1);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "bad_parameter");
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DIGITS, "\"1", &e), -1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DIGITS, "1 2", &e), -1);
    assert_int_equal(
        voice_call_set(&in, VOICE_FIELD_DIGITS, "123456789012345678901234567890123", &e), -1);
    assert_string_equal(in.digits, "12");
    assert_int_equal(in.has_digits, 1);
    memset(longv, '1', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_CALL_ID, longv, &e), -1);
    longv[VOICE_CALL_ID_MAX - 1] = '\0';
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_CALL_ID, longv, &e), 0);
    assert_int_equal(strlen(in.call_id), VOICE_CALL_ID_MAX - 1);
    longv[VOICE_CALL_NUMBER_MAX] = '\0';
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_FROM, longv, &e), -1);
    assert_string_equal(in.from, "+919812345678");
    /* control bytes and non-ASCII never reach a log line or a key */
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_FROM, "+91\n98", &e), -1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_STATUS, "\x1b[31m", &e), -1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_TO, "\xe0\xa4\xa8", &e), -1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_FROM, "Anonymous", &e), 0);
    /* durations */
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DURATION, "0", &e), 0);
    assert_int_equal(in.duration_s, 0);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DURATION, "125", &e), 0);
    assert_int_equal(in.duration_s, 125);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DURATION, "86400", &e), 0);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DURATION, "86401", &e), -1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DURATION, "-1", &e), -1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DURATION, " 5", &e), -1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DURATION, "5s", &e), -1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DURATION, "", &e), -1);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_DURATION, "99999999999999999999", &e), -1);
    assert_int_equal(in.duration_s, 86400);
    assert_int_equal(voice_call_set(&in, VOICE_FIELD_CALL_ID, NULL, &e), -1);
}

static const struct voice_field_name exotelish[] = {
    {VOICE_FIELD_CALL_ID, "CallSid"}, {VOICE_FIELD_FROM, "CallFrom"},
    {VOICE_FIELD_FROM, "From"},       {VOICE_FIELD_TO, "CallTo"},
    {VOICE_FIELD_TO, "To"},           {VOICE_FIELD_DIGITS, "digits"},
};
#define NNAMES (sizeof(exotelish) / sizeof(exotelish[0]))

static void test_call_from_form(void **state)
{
    struct voice_call_in in;
    struct gateway_error e = {0, NULL, NULL};
    struct slice none = {"", 0};
    struct slice body;
    (void)state;

    /* the preferred name wins; an older one fills in when it is the only one */
    voice_call_init(&in, "exotel");
    assert_int_equal(voice_call_from_form(&in,
                                          "CallSid=ab12&From=%2B9198&CallFrom=09812345678"
                                          "&To=0801&digits=%22472001%22",
                                          none, exotelish, NNAMES, &e),
                     0);
    assert_string_equal(in.call_id, "ab12");
    assert_string_equal(in.from, "09812345678");
    assert_string_equal(in.to, "0801");
    assert_string_equal(in.digits, "472001");
    assert_int_equal(in.has_digits, 1);
    /* the body before the query; a field absent from both stays "" */
    voice_call_init(&in, "exotel");
    body = slice_from_cstr("CallSid=from-body&digits=9");
    assert_int_equal(
        voice_call_from_form(&in, "CallSid=from-query&CallFrom=1", body, exotelish, NNAMES, &e), 0);
    assert_string_equal(in.call_id, "from-body");
    assert_string_equal(in.from, "1");
    assert_string_equal(in.to, "");
    assert_string_equal(in.digits, "9");
    /* a NULL query, an empty body */
    voice_call_init(&in, "exotel");
    assert_int_equal(voice_call_from_form(&in, NULL, none, exotelish, NNAMES, &e), 0);
    assert_string_equal(in.call_id, "");
    assert_int_equal(in.has_digits, 0);
    /* a NUL byte, a value over the decoder's cap, a field's own refusal */
    voice_call_init(&in, "exotel");
    assert_int_equal(voice_call_from_form(&in, "CallSid=a%00b", none, exotelish, NNAMES, &e), -1);
    assert_int_equal(e.status, 400);
    {
        static char q[4096];
        memcpy(q, "CallSid=", 8);
        memset(q + 8, 'x', 2000);
        assert_int_equal(voice_call_from_form(&in, q, none, exotelish, NNAMES, &e), -1);
    }
    assert_int_equal(voice_call_from_form(&in, "CallSid=1&digits=12x", none, exotelish, NNAMES, &e),
                     -1);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.message, "The digits are not valid.");
}

static void test_key(void **state)
{
    (void)state;
    assert_true(voice_call_key_ok(NULL, NULL));
    assert_true(voice_call_key_ok("a=1", ""));
    assert_true(voice_call_key_ok("key=s3cr%2Bt&ask=menu", "s3cr+t"));
    assert_true(voice_call_key_ok("ask=menu&key=s3cret", "s3cret"));
    assert_false(voice_call_key_ok(NULL, "s3cret"));
    assert_false(voice_call_key_ok("", "s3cret"));
    assert_false(voice_call_key_ok("key=s3cre", "s3cret"));
    assert_false(voice_call_key_ok("key=s3crett", "s3cret"));
    assert_false(voice_call_key_ok("Key=s3cret", "s3cret"));
    assert_false(voice_call_key_ok("key=", "s3cret"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_ok),   cmocka_unit_test(test_step_check),
        cmocka_unit_test(test_call_set), cmocka_unit_test(test_call_from_form),
        cmocka_unit_test(test_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
