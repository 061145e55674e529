/*
 * Unit tests for gateway/exotel.c: the Passthru's and the Greeting's query as Exotel's
 * documentation gives them (CallSid, CallFrom, CallTo or the older From, To; digits with
 * and without the double quotes), the status callback's form, ask= and the key; the
 * Greeting's answer (one URL per line, '&' untouched); and the 200/302 every question
 * gets for every kind of step, which is how the app of exotel.h is steered.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gateway/exotel.h"

#define WAV1 "https://hisaab.example/audio/hi/district.wav?d=472&v=3"
#define WAV2 "https://hisaab.example/audio/hi/press1.wav"
#define ACTION "https://hisaab.example/ivr/exotel/passthru"

static struct voice_step step(int gather, int digits)
{
    struct voice_step s;

    memset(&s, 0, sizeof(s));
    s.play[0] = WAV1;
    s.play[1] = WAV2;
    s.nplay = 2;
    if (gather) {
        s.gather = 1;
        s.num_digits = digits;
        s.finish_on_hash = digits > 1;
        s.timeout_s = 5;
        s.action = ACTION;
    }
    return s;
}

static void test_parse_passthru(void **state)
{
    struct gateway_error e = {0, NULL, NULL};
    enum exotel_question q = EXOTEL_ASK_HANGUP;
    struct voice_call_in in;
    struct slice none = {"", 0};
    (void)state;

    /* After a Gather: digits in double quotes (URL-encoded as %22). */
    assert_int_equal(exotel_parse_form("CallSid=b6cf7a0c3e&CallFrom=09812345678&CallTo=08039510000"
                                       "&Direction=incoming&CallType=call-attempt"
                                       "&digits=%22472001%22&CurrentTime=2024-05-01+10%3A00%3A00",
                                       none, NULL, &in, &q, &e),
                     0);
    assert_string_equal(in.provider, "exotel");
    assert_string_equal(in.call_id, "b6cf7a0c3e");
    assert_string_equal(in.from, "09812345678");
    assert_string_equal(in.to, "08039510000");
    assert_string_equal(in.digits, "472001");
    assert_int_equal(in.has_digits, 1);
    assert_int_equal(q, EXOTEL_ASK_GATHER);
    /* some accounts send the digits bare; the older From and To */
    assert_int_equal(exotel_parse_form("CallSid=c1&From=09812345678&To=0803&digits=1&ask=menu",
                                       none, NULL, &in, &q, &e),
                     0);
    assert_string_equal(in.from, "09812345678");
    assert_string_equal(in.to, "0803");
    assert_string_equal(in.digits, "1");
    assert_int_equal(q, EXOTEL_ASK_MENU);
    /* a Gather that got nothing, and no Gather before */
    assert_int_equal(
        exotel_parse_form("CallSid=c1&digits=%22%22&ask=hangup", none, NULL, &in, &q, &e), 0);
    assert_int_equal(in.has_digits, 0);
    assert_int_equal(q, EXOTEL_ASK_HANGUP);
    assert_int_equal(exotel_parse_form("CallSid=c1&ask=", none, NULL, &in, &q, &e), 0);
    assert_int_equal(in.has_digits, 0);
    assert_int_equal(q, EXOTEL_ASK_GATHER);
    /* refused: an unknown question, no CallSid, a wrong key, bad digits */
    assert_int_equal(exotel_parse_form("CallSid=c1&ask=maybe", none, NULL, &in, &q, &e), -1);
    assert_int_equal(e.status, 400);
    assert_int_equal(exotel_parse_form("CallFrom=1", none, NULL, &in, &q, &e), -1);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.message, "The parameter 'CallSid' is missing.");
    assert_int_equal(exotel_parse_form("CallSid=c1&key=nope", none, "s3cret", &in, &q, &e), -1);
    assert_int_equal(e.status, 403);
    assert_int_equal(
        exotel_parse_form("CallSid=c1&ask=menu&key=s3cret", none, "s3cret", &in, &q, &e), 0);
    assert_int_equal(exotel_parse_form("CallSid=c1&digits=%221%2C2%22", none, NULL, &in, &q, &e),
                     -1);
    assert_int_equal(e.status, 400);
}

static void test_parse_status_callback(void **state)
{
    struct gateway_error e = {0, NULL, NULL};
    enum exotel_question q;
    struct voice_call_in in;
    (void)state;

    assert_int_equal(
        exotel_parse_form("key=k",
                          slice_from_cstr("CallSid=b6cf7a0c3e&Status=no-answer&RecordingUrl=&"
                                          "DateUpdated=2024-05-01+10%3A01%3A00"),
                          "k", &in, &q, &e),
        0);
    assert_string_equal(in.call_id, "b6cf7a0c3e");
    assert_string_equal(in.status, "no-answer");
    assert_int_equal(in.duration_s, -1);
    assert_int_equal(
        exotel_parse_form(
            NULL, slice_from_cstr("CallSid=b6&Status=completed&ConversationDuration=61&From=0981"),
            NULL, &in, &q, &e),
        0);
    assert_string_equal(in.status, "completed");
    assert_int_equal(in.duration_s, 61);
    assert_string_equal(in.from, "0981");
}

static void test_greeting(void **state)
{
    struct voice_step s = step(1, 1);
    struct buf b;
    (void)state;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    assert_int_equal(exotel_greeting(&s, &b), 0);
    assert_string_equal(buf_cstr(&b), WAV1 "\n" WAV2 "\n");
    buf_reset(&b);
    s = step(0, 0);
    s.hangup = 1;
    s.nplay = 0;
    assert_int_equal(exotel_greeting(&s, &b), 0);
    assert_int_equal(b.len, 0);
    /* a URL with a line end would be two lines: the step is refused, out as it was */
    assert_int_equal(buf_puts(&b, "kept"), 0);
    s.nplay = 1;
    s.play[0] = WAV2 "\nhttps://elsewhere.example/x.wav";
    assert_int_equal(exotel_greeting(&s, &b), -1);
    s = step(1, 1);
    s.redirect = ACTION;
    assert_int_equal(exotel_greeting(&s, &b), -1);
    assert_string_equal(buf_cstr(&b), "kept");
    buf_free(&b);
    buf_init(&b, 60);
    s = step(1, 1);
    assert_int_equal(exotel_greeting(&s, &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_passthru_answers(void **state)
{
    struct voice_step menu = step(1, 1), pin = step(1, 6), next = step(0, 0), end = step(0, 0),
                      bad = step(1, 1);
    (void)state;

    next.redirect = ACTION;
    end.hangup = 1;
    bad.hangup = 1;
    /* applet 1: does it gather? */
    assert_int_equal(exotel_passthru_status(&menu, EXOTEL_ASK_GATHER), 200);
    assert_int_equal(exotel_passthru_status(&pin, EXOTEL_ASK_GATHER), 200);
    assert_int_equal(exotel_passthru_status(&next, EXOTEL_ASK_GATHER), 302);
    assert_int_equal(exotel_passthru_status(&end, EXOTEL_ASK_GATHER), 302);
    /* applet 2: a menu (one digit) or a PIN? */
    assert_int_equal(exotel_passthru_status(&menu, EXOTEL_ASK_MENU), 200);
    assert_int_equal(exotel_passthru_status(&pin, EXOTEL_ASK_MENU), 302);
    /* applet 5: hang up, or play and go on? */
    assert_int_equal(exotel_passthru_status(&end, EXOTEL_ASK_HANGUP), 200);
    assert_int_equal(exotel_passthru_status(&next, EXOTEL_ASK_HANGUP), 302);
    assert_int_equal(exotel_passthru_status(&bad, EXOTEL_ASK_GATHER), -1);
    assert_int_equal(exotel_passthru_status(NULL, EXOTEL_ASK_GATHER), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_passthru),
        cmocka_unit_test(test_parse_status_callback),
        cmocka_unit_test(test_greeting),
        cmocka_unit_test(test_passthru_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
