/*
 * Unit tests for gateway/twilio_voice.c: the TwiML of each kind of step against the
 * documents written out by hand from Twilio's TwiML reference (<Gather> with input,
 * numDigits, finishOnKey, timeout, action, method; <Play>; <Redirect method>; <Hangup/>;
 * <Reject reason="busy"/>), read back with libxml2 to check the structure and that a
 * URL's '&' reaches Twilio as '&'; steps that are refused and the output cap; and the
 * webhook's fields (CallSid, From, To, Digits, CallStatus, CallDuration) from Twilio's
 * parameters, including the signature path's pairs helper (twilio.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gateway/twilio.h"
#include "gateway/twilio_voice.h"

#include "xmlback.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define WAV1 "https://hisaab.example/audio/hi/district.wav?d=472&v=3"
#define WAV1_X "https://hisaab.example/audio/hi/district.wav?d=472&amp;v=3"
#define WAV2 "https://hisaab.example/audio/hi/press1.wav"
#define ACTION "https://hisaab.example/ivr/twilio/voice?call=CA1&step=pin"
#define ACTION_X "https://hisaab.example/ivr/twilio/voice?call=CA1&amp;step=pin"

static struct voice_step step(int gather)
{
    struct voice_step s;

    memset(&s, 0, sizeof(s));
    s.play[0] = WAV1;
    s.play[1] = WAV2;
    s.nplay = 2;
    if (gather) {
        s.gather = 1;
        s.num_digits = 6;
        s.finish_on_hash = 1;
        s.timeout_s = 10;
        s.action = ACTION;
    }
    return s;
}

static const char *render(const struct voice_step *s, struct buf *b)
{
    buf_reset(b);
    assert_int_equal(twilio_voice_render(s, b), 0);
    return buf_cstr(b);
}

static void test_gather_pin(void **state)
{
    struct voice_step s = step(1);
    xmlNodePtr root, gather, redirect;
    xmlDocPtr doc;
    struct buf b;
    (void)state;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    assert_string_equal(render(&s, &b),
                        HEAD "<Response><Gather input=\"dtmf\" numDigits=\"6\" finishOnKey=\"#\" "
                             "timeout=\"10\" action=\"" ACTION_X "\" method=\"POST\">"
                             "<Play>" WAV1_X "</Play><Play>" WAV2 "</Play></Gather>"
                             "<Redirect method=\"POST\">" ACTION_X "</Redirect></Response>\n");
    doc = xml_back(&b);
    root = xmlDocGetRootElement(doc);
    xml_is(root, "Response");
    assert_int_equal(xml_nchildren(root), 2);
    gather = xml_child(root, 0);
    xml_is(gather, "Gather");
    xml_attr_is(gather, "input", "dtmf");
    xml_attr_is(gather, "numDigits", "6");
    xml_attr_is(gather, "finishOnKey", "#");
    xml_attr_is(gather, "timeout", "10");
    xml_attr_is(gather, "action", ACTION);
    xml_attr_is(gather, "method", "POST");
    assert_int_equal(xml_nchildren(gather), 2);
    xml_is(xml_child(gather, 0), "Play");
    xml_text_is(xml_child(gather, 0), WAV1);
    xml_text_is(xml_child(gather, 1), WAV2);
    /* no input falls through the Gather to the same action */
    redirect = xml_child(root, 1);
    xml_is(redirect, "Redirect");
    xml_attr_is(redirect, "method", "POST");
    xml_text_is(redirect, ACTION);
    xmlFreeDoc(doc);
    buf_free(&b);
}

static void test_gather_menu(void **state)
{
    struct voice_step s = step(1);
    xmlDocPtr doc;
    struct buf b;
    (void)state;

    s.num_digits = 1;
    s.finish_on_hash = 0;
    s.timeout_s = 5;
    s.nplay = 0; /* waits in silence */
    buf_init(&b, VOICE_STEP_DOC_MAX);
    /* '#' must not end a menu with nothing chosen: finishOnKey is empty */
    assert_string_equal(render(&s, &b),
                        HEAD "<Response><Gather input=\"dtmf\" numDigits=\"1\" finishOnKey=\"\" "
                             "timeout=\"5\" action=\"" ACTION_X "\" method=\"POST\"/>"
                             "<Redirect method=\"POST\">" ACTION_X "</Redirect></Response>\n");
    doc = xml_back(&b);
    xml_attr_is(xml_child(xmlDocGetRootElement(doc), 0), "finishOnKey", "");
    xmlFreeDoc(doc);
    buf_free(&b);
}

static void test_play_then_redirect_or_hangup(void **state)
{
    struct voice_step s = step(0);
    xmlNodePtr root;
    xmlDocPtr doc;
    struct buf b;
    (void)state;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    s.redirect = ACTION;
    assert_string_equal(render(&s, &b), HEAD "<Response><Play>" WAV1_X "</Play><Play>" WAV2
                                             "</Play><Redirect method=\"POST\">" ACTION_X
                                             "</Redirect></Response>\n");
    doc = xml_back(&b);
    root = xmlDocGetRootElement(doc);
    assert_int_equal(xml_nchildren(root), 3);
    xml_text_is(xml_child(root, 0), WAV1);
    xml_text_is(xml_child(root, 2), ACTION);
    xmlFreeDoc(doc);

    s.redirect = NULL;
    s.hangup = 1;
    assert_string_equal(render(&s, &b), HEAD "<Response><Play>" WAV1_X "</Play><Play>" WAV2
                                             "</Play><Hangup/></Response>\n");
    doc = xml_back(&b);
    xml_is(xml_child(xmlDocGetRootElement(doc), 2), "Hangup");
    xmlFreeDoc(doc);
    s.nplay = 0;
    assert_string_equal(render(&s, &b), HEAD "<Response><Hangup/></Response>\n");
    buf_free(&b);
}

static void test_markup_in_urls_stays_text(void **state)
{
    struct voice_step s = step(0);
    xmlDocPtr doc;
    struct buf b;
    (void)state;

    /* '<' and '"' are not printable-ASCII-forbidden: they must come out escaped */
    s.play[0] = "https://h/a.wav?x=<Hangup/>&y=\"1\"";
    s.nplay = 1;
    s.redirect = "https://h/next?a=\"'<>&";
    buf_init(&b, VOICE_STEP_DOC_MAX);
    render(&s, &b);
    assert_null(strstr(buf_cstr(&b), "<Hangup/>"));
    doc = xml_back(&b);
    assert_int_equal(xml_nchildren(xmlDocGetRootElement(doc)), 2);
    xml_text_is(xml_child(xmlDocGetRootElement(doc), 0), "https://h/a.wav?x=<Hangup/>&y=\"1\"");
    xml_text_is(xml_child(xmlDocGetRootElement(doc), 1), "https://h/next?a=\"'<>&");
    xmlFreeDoc(doc);
    s = step(1);
    s.action = "https://h/act?a=\"1\"&b=<2>";
    render(&s, &b);
    doc = xml_back(&b);
    xml_attr_is(xml_child(xmlDocGetRootElement(doc), 0), "action", "https://h/act?a=\"1\"&b=<2>");
    xmlFreeDoc(doc);
    buf_free(&b);
}

static void test_refused_steps_and_cap(void **state)
{
    struct voice_step s = step(1);
    struct buf b;
    (void)state;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    assert_int_equal(buf_puts(&b, "kept"), 0);
    s.hangup = 1; /* two ways on */
    assert_int_equal(twilio_voice_render(&s, &b), -1);
    s = step(1);
    s.play[1] = "https://h/a b.wav";
    assert_int_equal(twilio_voice_render(&s, &b), -1);
    s = step(0); /* no way on */
    assert_int_equal(twilio_voice_render(&s, &b), -1);
    assert_int_equal(twilio_voice_render(NULL, &b), -1);
    assert_string_equal(buf_cstr(&b), "kept");
    buf_free(&b);
    /* over out's cap: out as it was */
    buf_init(&b, 100);
    assert_int_equal(buf_puts(&b, "kept"), 0);
    s = step(1);
    assert_int_equal(twilio_voice_render(&s, &b), -1);
    assert_string_equal(buf_cstr(&b), "kept");
    assert_int_equal(b.len, 4);
    buf_free(&b);
}

static void test_reject(void **state)
{
    xmlDocPtr doc;
    struct buf b;
    (void)state;

    buf_init(&b, 4096);
    assert_int_equal(twilio_voice_reject(&b), 0);
    assert_string_equal(buf_cstr(&b), HEAD "<Response><Reject reason=\"busy\"/></Response>\n");
    doc = xml_back(&b);
    xml_is(xml_child(xmlDocGetRootElement(doc), 0), "Reject");
    xml_attr_is(xml_child(xmlDocGetRootElement(doc), 0), "reason", "busy");
    xmlFreeDoc(doc);
    buf_free(&b);
}

static void test_fields(void **state)
{
    /* A status callback as Twilio sends it (more parameters than we read). */
    static const struct twilio_kv status[] = {
        {"AccountSid", "AC00"},        {"CallSid", "CA5a3b"},        {"From", "+919812345678"},
        {"To", "+918069000000"},       {"CallStatus", "completed"},  {"CallDuration", "47"},
        {"Direction", "outbound-api"}, {"ApiVersion", "2010-04-01"},
    };
    static const struct twilio_kv gathered[] = {
        {"CallSid", "CA5a3b"}, {"From", "+919812345678"},     {"To", "+918069000000"},
        {"Digits", "472001"},  {"CallStatus", "in-progress"}, {"FinishedOnKey", "#"},
    };
    static const struct twilio_kv bad[] = {{"CallSid", "CA1"}, {"Digits", "12a"}};
    static const struct twilio_kv nosid[] = {{"From", "+91"}};
    struct gateway_error e = {0, NULL, NULL};
    struct voice_call_in in;
    (void)state;

    assert_int_equal(twilio_voice_fields(status, 8, &in, &e), 0);
    assert_string_equal(in.provider, "twilio");
    assert_string_equal(in.call_id, "CA5a3b");
    assert_string_equal(in.from, "+919812345678");
    assert_string_equal(in.to, "+918069000000");
    assert_string_equal(in.status, "completed");
    assert_int_equal(in.duration_s, 47);
    assert_int_equal(in.has_digits, 0); /* no Digits: no input */
    assert_int_equal(twilio_voice_fields(gathered, 6, &in, &e), 0);
    assert_string_equal(in.digits, "472001");
    assert_int_equal(in.has_digits, 1);
    assert_int_equal(in.duration_s, -1);
    assert_int_equal(twilio_voice_fields(bad, 2, &in, &e), -1);
    assert_int_equal(e.status, 400);
    assert_int_equal(twilio_voice_fields(nosid, 1, &in, &e), -1);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.message, "The parameter 'CallSid' is missing.");
    assert_int_equal(twilio_voice_fields(NULL, 0, &in, &e), -1);
    /* the pairs helper the parsers share */
    assert_string_equal(twilio_kv_get(status, 8, "CallStatus"), "completed");
    assert_null(twilio_kv_get(status, 8, "Digits"));
    assert_null(twilio_kv_get(NULL, 0, "Digits"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_pin),
        cmocka_unit_test(test_gather_menu),
        cmocka_unit_test(test_play_then_redirect_or_hangup),
        cmocka_unit_test(test_markup_in_urls_stays_text),
        cmocka_unit_test(test_refused_steps_and_cap),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
