/*
 * Unit tests for gateway/plivo.c: Plivo XML for each kind of step against documents
 * written by hand from Plivo's XML reference (<GetDigits> with action, method, numDigits,
 * timeout, digitTimeout, finishOnKey, redirect, log; <Play>; <Redirect method>;
 * <Hangup/>, <Hangup reason="busy"/>), read back with libxml2 (structure, a URL's '&');
 * and the webhook's fields (CallUUID, From, To, Digits, CallStatus, Duration) from a POST
 * form or a GET query, with the ?key= check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gateway/plivo.h"

#include "xmlback.h"

#define HEAD "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define WAV1 "https://hisaab.example/audio/hi/district.wav?d=472&v=3"
#define WAV1_X "https://hisaab.example/audio/hi/district.wav?d=472&amp;v=3"
#define WAV2 "https://hisaab.example/audio/hi/press1.wav"
#define ACTION "https://hisaab.example/ivr/plivo/voice?key=k&call=c1"
#define ACTION_X "https://hisaab.example/ivr/plivo/voice?key=k&amp;call=c1"

static struct voice_step step(int gather)
{
    struct voice_step s;

    memset(&s, 0, sizeof(s));
    s.play[0] = WAV1;
    s.play[1] = WAV2;
    s.nplay = 2;
    if (gather) {
        s.gather = 1;
        s.num_digits = 1;
        s.timeout_s = 5;
        s.action = ACTION;
    }
    return s;
}

static const char *render(const struct voice_step *s, struct buf *b)
{
    buf_reset(b);
    assert_int_equal(plivo_render(s, b), 0);
    return buf_cstr(b);
}

static void test_gather(void **state)
{
    struct voice_step s = step(1);
    xmlNodePtr root, gd;
    xmlDocPtr doc;
    struct buf b;
    (void)state;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    /* a menu: no finish key ("none"), logged as usual */
    assert_string_equal(render(&s, &b), HEAD
                        "<Response><GetDigits action=\"" ACTION_X "\" method=\"POST\" "
                        "numDigits=\"1\" timeout=\"5\" digitTimeout=\"5\" finishOnKey=\"none\" "
                        "redirect=\"true\"><Play>" WAV1_X "</Play><Play>" WAV2 "</Play>"
                        "</GetDigits><Redirect method=\"POST\">" ACTION_X "</Redirect>"
                        "</Response>\n");
    doc = xml_back(&b);
    root = xmlDocGetRootElement(doc);
    xml_is(root, "Response");
    assert_int_equal(xml_nchildren(root), 2);
    gd = xml_child(root, 0);
    xml_is(gd, "GetDigits");
    xml_attr_is(gd, "action", ACTION);
    xml_attr_is(gd, "method", "POST");
    xml_attr_is(gd, "numDigits", "1");
    xml_attr_is(gd, "finishOnKey", "none");
    xml_attr_is(gd, "redirect", "true");
    xml_attr_is(gd, "log", NULL);
    xml_text_is(xml_child(gd, 0), WAV1);
    xml_is(xml_child(root, 1), "Redirect");
    xml_text_is(xml_child(root, 1), ACTION);
    xmlFreeDoc(doc);
    /* a PIN: '#' ends it, and Plivo keeps it out of its logs */
    s.num_digits = 6;
    s.finish_on_hash = 1;
    s.timeout_s = 10;
    s.nplay = 1;
    assert_string_equal(render(&s, &b),
                        HEAD "<Response><GetDigits action=\"" ACTION_X "\" method=\"POST\" "
                             "numDigits=\"6\" timeout=\"10\" digitTimeout=\"10\" finishOnKey=\"#\" "
                             "redirect=\"true\" log=\"false\"><Play>" WAV1_X "</Play></GetDigits>"
                             "<Redirect method=\"POST\">" ACTION_X "</Redirect></Response>\n");
    doc = xml_back(&b);
    xml_attr_is(xml_child(xmlDocGetRootElement(doc), 0), "log", "false");
    xmlFreeDoc(doc);
    buf_free(&b);
}

static void test_play_redirect_hangup_reject(void **state)
{
    struct voice_step s = step(0);
    xmlDocPtr doc;
    struct buf b;
    (void)state;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    s.redirect = ACTION;
    assert_string_equal(render(&s, &b), HEAD "<Response><Play>" WAV1_X "</Play><Play>" WAV2
                                             "</Play><Redirect method=\"POST\">" ACTION_X
                                             "</Redirect></Response>\n");
    doc = xml_back(&b);
    assert_int_equal(xml_nchildren(xmlDocGetRootElement(doc)), 3);
    xml_text_is(xml_child(xmlDocGetRootElement(doc), 2), ACTION);
    xmlFreeDoc(doc);
    s.redirect = NULL;
    s.hangup = 1;
    assert_string_equal(render(&s, &b), HEAD "<Response><Play>" WAV1_X "</Play><Play>" WAV2
                                             "</Play><Hangup/></Response>\n");
    buf_reset(&b);
    assert_int_equal(plivo_reject(&b), 0);
    assert_string_equal(buf_cstr(&b), HEAD "<Response><Hangup reason=\"busy\"/></Response>\n");
    /* refused steps and the cap leave out as it was */
    buf_reset(&b);
    s.redirect = ACTION; /* two ways on */
    assert_int_equal(plivo_render(&s, &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    buf_init(&b, 64);
    s.redirect = NULL;
    assert_int_equal(plivo_render(&s, &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_parse(void **state)
{
    struct gateway_error e = {0, NULL, NULL};
    struct voice_call_in in;
    struct slice body;
    (void)state;

    /* the GetDigits action, as a POST form */
    body = slice_from_cstr("Direction=inbound&From=919812345678&CallUUID=2f1e-7a&"
                           "To=918069000000&CallStatus=in-progress&Digits=472001&Event=GetDigits");
    assert_int_equal(plivo_parse_form("key=k&call=c1", body, "k", &in, &e), 0);
    assert_string_equal(in.provider, "plivo");
    assert_string_equal(in.call_id, "2f1e-7a");
    assert_string_equal(in.from, "919812345678");
    assert_string_equal(in.to, "918069000000");
    assert_string_equal(in.digits, "472001");
    assert_int_equal(in.has_digits, 1);
    assert_string_equal(in.status, "in-progress");
    assert_int_equal(in.duration_s, -1);
    /* the hangup request, as a GET */
    assert_int_equal(plivo_parse_form("CallUUID=2f1e-7a&CallStatus=completed&Duration=93&"
                                      "BillDuration=120&HangupCause=NORMAL_CLEARING",
                                      slice_from_cstr(""), NULL, &in, &e),
                     0);
    assert_string_equal(in.status, "completed");
    assert_int_equal(in.duration_s, 93);
    assert_int_equal(in.has_digits, 0);
    /* the key, a missing CallUUID, a bad field */
    assert_int_equal(plivo_parse_form("key=wrong", body, "k", &in, &e), -1);
    assert_int_equal(e.status, 403);
    assert_int_equal(plivo_parse_form(NULL, body, "k", &in, &e), -1);
    assert_int_equal(e.status, 403);
    assert_int_equal(plivo_parse_form(NULL, slice_from_cstr("From=1"), NULL, &in, &e), -1);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.message, "The parameter 'CallUUID' is missing.");
    assert_int_equal(
        plivo_parse_form(NULL, slice_from_cstr("CallUUID=a&Duration=x"), NULL, &in, &e), -1);
    assert_int_equal(e.status, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_play_redirect_hangup_reject),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
