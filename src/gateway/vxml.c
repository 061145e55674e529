/*
 * VoiceXML 2.1 documents and the platform's fetches; see vxml.h. The fields are read by
 * voice_call.c, the XML written by libxml2 (voice_xml.h).
 */
#include "gateway/vxml.h"

#include <stdio.h>
#include <string.h>

#include "gateway/voice_xml.h"
#include "net/http.h"

/* RFC 4267's media type for VoiceXML. */
#define CONTENT_TYPE "application/voicexml+xml; charset=UTF-8"
#define VXML_NS "http://www.w3.org/2001/vxml"

static const struct voice_field_name names[] = {
    {VOICE_FIELD_CALL_ID, "call_id"},
    {VOICE_FIELD_CALL_ID, "callid"},
    {VOICE_FIELD_CALL_ID, "sessionid"},
    {VOICE_FIELD_CALL_ID, "session.sessionid"},
    {VOICE_FIELD_FROM, "from"},
    {VOICE_FIELD_FROM, "ani"},
    {VOICE_FIELD_FROM, "caller"},
    {VOICE_FIELD_FROM, "callerid"},
    {VOICE_FIELD_FROM, "session.callerid"},
    {VOICE_FIELD_TO, "to"},
    {VOICE_FIELD_TO, "dnis"},
    {VOICE_FIELD_TO, "called"},
    {VOICE_FIELD_TO, "calledid"},
    {VOICE_FIELD_TO, "session.calledid"},
    {VOICE_FIELD_DIGITS, "digits"},
    {VOICE_FIELD_STATUS, "status"},
    {VOICE_FIELD_DURATION, "duration"},
};

/* Drop a leading "tel:" (a VoiceXML session's URIs are written so). */
static void untel(char *s)
{
    if (strncmp(s, "tel:", 4) == 0)
        memmove(s, s + 4, strlen(s + 4) + 1);
}

int vxml_parse_form(const char *query, struct slice body, const char *key, struct voice_call_in *in,
                    struct gateway_error *e)
{
    int rc = -1;

    voice_call_init(in, "vxml");
    if (!voice_call_key_ok(query, key)) {
        rc = gateway_refuse(e, 403, "forbidden", "The request key is not valid.");
        goto out;
    }
    if (voice_call_from_form(in, query, body, names, sizeof(names) / sizeof(names[0]), e) != 0)
        goto out;
    untel(in->from);
    untel(in->to);
    rc = 0;
out:
    return rc;
}

int vxml_parse(struct http_request *req, const char *key, struct voice_call_in *in,
               struct gateway_error *e)
{
    return vxml_parse_form(http_query(req), http_body(req), key, in, e);
}

/* <prompt><audio src="URL"/>...</prompt>, or nothing for no audio. */
static int prompt(struct voice_xml *x, const struct voice_step *s)
{
    size_t i;

    if (s->nplay == 0)
        return 0;
    if (voice_xml_start(x, "prompt", NULL) != 0)
        return -1;
    for (i = 0; i < s->nplay; i++) {
        const char *attrs[] = {"src", s->play[i], NULL};

        if (voice_xml_element(x, "audio", attrs, NULL) != 0)
            return -1;
    }
    return voice_xml_end(x);
}

static int property(struct voice_xml *x, const char *name, const char *value)
{
    const char *attrs[] = {"name", name, "value", value, NULL};

    return voice_xml_element(x, "property", attrs, NULL);
}

/* An event handler (<noinput>, <nomatch>) that sends status=<event> to the action. */
static int on_event(struct voice_xml *x, const char *event, const char *action)
{
    char expr[32];
    const char *var[] = {"name", "status", "expr", expr, NULL};
    const char *submit[] = {"next", action, "method", "post", "namelist", "status", NULL};

    /* An ECMAScript string literal; event is one of our own words. */
    snprintf(expr, sizeof(expr), "'%s'", event);
    if (voice_xml_start(x, event, NULL) != 0 || voice_xml_element(x, "var", var, NULL) != 0 ||
        voice_xml_element(x, "submit", submit, NULL) != 0)
        return -1;
    return voice_xml_end(x);
}

static int field(struct voice_xml *x, const struct voice_step *s)
{
    char type[64], timeout[16];
    const char *attrs[] = {"name", "digits", "type", type, NULL};
    const char *submit[] = {"next", s->action, "method", "post", "namelist", "digits", NULL};

    /* The builtin digits grammar (VoiceXML 2.0 appendix P) with its parameters. */
    snprintf(type, sizeof(type), "digits?minlength=1;maxlength=%d", s->num_digits);
    snprintf(timeout, sizeof(timeout), "%ds", s->timeout_s);
    if (voice_xml_start(x, "field", attrs) != 0 || property(x, "inputmodes", "dtmf") != 0 ||
        property(x, "timeout", timeout) != 0 || property(x, "interdigittimeout", timeout) != 0 ||
        property(x, "termchar", s->finish_on_hash ? "#" : "") != 0 || prompt(x, s) != 0 ||
        on_event(x, "noinput", s->action) != 0 || on_event(x, "nomatch", s->action) != 0 ||
        voice_xml_start(x, "filled", NULL) != 0 ||
        voice_xml_element(x, "submit", submit, NULL) != 0 || voice_xml_end(x) != 0)
        return -1;
    return voice_xml_end(x);
}

static int block(struct voice_xml *x, const struct voice_step *s)
{
    const char *go[] = {"next", s->redirect, NULL};

    if (voice_xml_start(x, "block", NULL) != 0 || prompt(x, s) != 0)
        return -1;
    if (s->redirect != NULL ? voice_xml_element(x, "goto", go, NULL) != 0
                            : voice_xml_element(x, "disconnect", NULL, NULL) != 0)
        return -1;
    return voice_xml_end(x);
}

int vxml_render(const struct voice_step *s, struct buf *out)
{
    static const char *const root[] = {"version", "2.1", "xmlns", VXML_NS, NULL};
    static const char *const form[] = {"id", "step", NULL};
    struct voice_xml x = {NULL, NULL};
    size_t at = out->len;
    int rc = -1;

    if (voice_step_check(s) != 0 || voice_xml_open(&x) != 0)
        goto out;
    if (voice_xml_start(&x, "vxml", root) != 0 || voice_xml_start(&x, "form", form) != 0)
        goto out;
    if ((s->gather ? field(&x, s) : block(&x, s)) != 0)
        goto out;
    if (voice_xml_end(&x) != 0 || voice_xml_end(&x) != 0)
        goto out;
    rc = voice_xml_close(&x, out);
out:
    voice_xml_free(&x);
    if (rc != 0 && out->len > at) {
        out->len = at;
        out->data[at] = '\0';
    }
    return rc;
}

int vxml_reply(struct http_request *req, const struct voice_step *s)
{
    return voice_step_reply(req, vxml_render, s, CONTENT_TYPE);
}
