/*
 * Unit tests for gateway/vxml.c: the VoiceXML 2.1 document of each kind of step against
 * documents written by hand from the W3C recommendation (<vxml version="2.1"
 * xmlns="http://www.w3.org/2001/vxml">, <form>, <field type="digits?minlength=..;
 * maxlength=..">, the inputmodes, timeout, interdigittimeout and termchar properties,
 * <prompt><audio src/>, <noinput>, <nomatch>, <filled><submit next namelist method>,
 * <block>, <goto next>, <disconnect/>), read back with libxml2 (namespace, structure, a
 * URL's '&'); and the platform's fields under their names and alternatives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gateway/vxml.h"

#include "xmlback.h"

#define HEAD                                                                                       \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                 \
    "<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\"><form id=\"step\">"
#define TAIL "</form></vxml>\n"
#define WAV1 "https://hisaab.example/audio/hi/district.wav?d=472&v=3"
#define WAV1_X "https://hisaab.example/audio/hi/district.wav?d=472&amp;v=3"
#define WAV2 "https://hisaab.example/audio/hi/press1.wav"
#define ACTION "https://hisaab.example/ivr/vxml/voice?call_id=s1&step=pin"
#define ACTION_X "https://hisaab.example/ivr/vxml/voice?call_id=s1&amp;step=pin"

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
    assert_int_equal(vxml_render(s, b), 0);
    return buf_cstr(b);
}

#define SUBMIT(names) "<submit next=\"" ACTION_X "\" method=\"post\" namelist=\"" names "\"/>"
#define EVENT(ev) "<" ev "><var name=\"status\" expr=\"'" ev "'\"/>" SUBMIT("status") "</" ev ">"

static void test_gather(void **state)
{
    struct voice_step s = step(1);
    xmlNodePtr root, form, field, c;
    xmlDocPtr doc;
    struct buf b;
    (void)state;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    assert_string_equal(render(&s, &b), HEAD
                        "<field name=\"digits\" type=\"digits?minlength=1;maxlength=6\">"
                        "<property name=\"inputmodes\" value=\"dtmf\"/>"
                        "<property name=\"timeout\" value=\"10s\"/>"
                        "<property name=\"interdigittimeout\" value=\"10s\"/>"
                        "<property name=\"termchar\" value=\"#\"/>"
                        "<prompt><audio src=\"" WAV1_X "\"/><audio src=\"" WAV2
                        "\"/></prompt>" EVENT("noinput")
                            EVENT("nomatch") "<filled>" SUBMIT("digits") "</filled></field>" TAIL);
    doc = xml_back(&b);
    root = xmlDocGetRootElement(doc);
    xml_is(root, "vxml");
    assert_non_null(root->ns);
    assert_string_equal((const char *)root->ns->href, "http://www.w3.org/2001/vxml");
    xml_attr_is(root, "version", "2.1");
    form = xml_child(root, 0);
    xml_is(form, "form");
    field = xml_child(form, 0);
    xml_is(field, "field");
    xml_attr_is(field, "name", "digits");
    xml_attr_is(field, "type", "digits?minlength=1;maxlength=6");
    assert_int_equal(xml_nchildren(field), 8);
    xml_attr_is(xml_child(field, 3), "value", "#");
    c = xml_child(field, 4);
    xml_is(c, "prompt");
    xml_attr_is(xml_child(c, 0), "src", WAV1);
    xml_attr_is(xml_child(c, 1), "src", WAV2);
    c = xml_child(field, 5);
    xml_is(c, "noinput");
    xml_attr_is(xml_child(c, 0), "expr", "'noinput'");
    xml_attr_is(xml_child(c, 1), "next", ACTION);
    xml_attr_is(xml_child(c, 1), "namelist", "status");
    xml_is(xml_child(field, 6), "nomatch");
    c = xml_child(xml_child(field, 7), 0);
    xml_is(c, "submit");
    xml_attr_is(c, "next", ACTION);
    xml_attr_is(c, "method", "post");
    xml_attr_is(c, "namelist", "digits");
    xmlFreeDoc(doc);
    /* a menu without audio: '#' is not special (termchar empty), no <prompt> at all */
    s.num_digits = 1;
    s.finish_on_hash = 0;
    s.timeout_s = 5;
    s.nplay = 0;
    assert_string_equal(render(&s, &b), HEAD
                        "<field name=\"digits\" type=\"digits?minlength=1;maxlength=1\">"
                        "<property name=\"inputmodes\" value=\"dtmf\"/>"
                        "<property name=\"timeout\" value=\"5s\"/>"
                        "<property name=\"interdigittimeout\" value=\"5s\"/>"
                        "<property name=\"termchar\" value=\"\"/>" EVENT("noinput")
                            EVENT("nomatch") "<filled>" SUBMIT("digits") "</filled></field>" TAIL);
    buf_free(&b);
}

static void test_block(void **state)
{
    struct voice_step s = step(0);
    xmlNodePtr block;
    xmlDocPtr doc;
    struct buf b;
    (void)state;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    s.redirect = ACTION;
    assert_string_equal(render(&s, &b),
                        HEAD "<block><prompt><audio src=\"" WAV1_X "\"/><audio src=\"" WAV2
                             "\"/></prompt><goto next=\"" ACTION_X "\"/></block>" TAIL);
    doc = xml_back(&b);
    block = xml_child(xml_child(xmlDocGetRootElement(doc), 0), 0);
    xml_is(block, "block");
    xml_is(xml_child(block, 1), "goto");
    xml_attr_is(xml_child(block, 1), "next", ACTION);
    xmlFreeDoc(doc);
    s.redirect = NULL;
    s.hangup = 1;
    assert_string_equal(render(&s, &b),
                        HEAD "<block><prompt><audio src=\"" WAV1_X "\"/><audio src=\"" WAV2
                             "\"/></prompt><disconnect/></block>" TAIL);
    s.nplay = 0;
    assert_string_equal(render(&s, &b), HEAD "<block><disconnect/></block>" TAIL);
    /* refused and over the cap: out as it was */
    buf_reset(&b);
    s.hangup = 0;
    assert_int_equal(vxml_render(&s, &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
    buf_init(&b, 120);
    s = step(1);
    assert_int_equal(vxml_render(&s, &b), -1);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

static void test_parse(void **state)
{
    struct gateway_error e = {0, NULL, NULL};
    struct voice_call_in in;
    struct slice none = {"", 0};
    (void)state;

    /* the start fetch: what the platform was told to put in the query */
    assert_int_equal(
        vxml_parse_form("call_id=s1&from=tel%3A%2B919812345678&to=1800123", none, NULL, &in, &e),
        0);
    assert_string_equal(in.provider, "vxml");
    assert_string_equal(in.call_id, "s1");
    assert_string_equal(in.from, "+919812345678");
    assert_string_equal(in.to, "1800123");
    assert_int_equal(in.has_digits, 0);
    /* a submit: digits in the form body, the call in our action URL's query */
    assert_int_equal(
        vxml_parse_form("call_id=s1&step=pin", slice_from_cstr("digits=472001"), NULL, &in, &e), 0);
    assert_string_equal(in.call_id, "s1");
    assert_string_equal(in.digits, "472001");
    assert_int_equal(in.has_digits, 1);
    assert_int_equal(
        vxml_parse_form("call_id=s1", slice_from_cstr("status=noinput"), NULL, &in, &e), 0);
    assert_string_equal(in.status, "noinput");
    assert_int_equal(in.has_digits, 0);
    /* alternative names; nothing is required */
    assert_int_equal(
        vxml_parse_form("session.sessionid=x9&ani=9812345678&dnis=1800", none, NULL, &in, &e), 0);
    assert_string_equal(in.call_id, "x9");
    assert_string_equal(in.from, "9812345678");
    assert_string_equal(in.to, "1800");
    assert_int_equal(vxml_parse_form(NULL, none, NULL, &in, &e), 0);
    assert_string_equal(in.call_id, "");
    /* the key, a bad field */
    assert_int_equal(vxml_parse_form("call_id=s1&key=k", none, "k", &in, &e), 0);
    assert_int_equal(vxml_parse_form("call_id=s1", none, "k", &in, &e), -1);
    assert_int_equal(e.status, 403);
    assert_int_equal(vxml_parse_form(NULL, slice_from_cstr("digits=1%0A"), NULL, &in, &e), -1);
    assert_int_equal(e.status, 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_block),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
