/*
 * Plivo's voice webhooks and XML; see plivo.h. The fields are read by voice_call.c, the
 * XML written by libxml2 (voice_xml.h).
 */
#include "gateway/plivo.h"

#include <stdio.h>
#include <string.h>

#include "gateway/voice_xml.h"
#include "net/http.h"

#define CONTENT_TYPE "text/xml; charset=UTF-8"

static const struct voice_field_name names[] = {
    {VOICE_FIELD_CALL_ID, "CallUUID"},
    {VOICE_FIELD_FROM, "From"},
    {VOICE_FIELD_TO, "To"},
    {VOICE_FIELD_DIGITS, "Digits"},
    {VOICE_FIELD_STATUS, "CallStatus"},
    {VOICE_FIELD_DURATION, "Duration"},
};

int plivo_parse_form(const char *query, struct slice body, const char *key,
                     struct voice_call_in *in, struct gateway_error *e)
{
    int rc = -1;

    voice_call_init(in, "plivo");
    if (!voice_call_key_ok(query, key)) {
        rc = gateway_refuse(e, 403, "forbidden", "The request key is not valid.");
        goto out;
    }
    if (voice_call_from_form(in, query, body, names, sizeof(names) / sizeof(names[0]), e) != 0)
        goto out;
    if (in->call_id[0] == '\0') {
        rc = gateway_refuse(e, 400, "bad_parameter", "The parameter 'CallUUID' is missing.");
        goto out;
    }
    rc = 0;
out:
    return rc;
}

int plivo_parse(struct http_request *req, const char *key, struct voice_call_in *in,
                struct gateway_error *e)
{
    return plivo_parse_form(http_query(req), http_body(req), key, in, e);
}

int plivo_render(const struct voice_step *s, struct buf *out)
{
    static const char *const post[] = {"method", "POST", NULL};
    struct voice_xml x = {NULL, NULL};
    char digits[16], timeout[16];
    size_t at = out->len;
    int rc = -1;

    if (voice_step_check(s) != 0 || voice_xml_open(&x) != 0)
        goto out;
    if (voice_xml_start(&x, "Response", NULL) != 0)
        goto out;
    if (s->gather) {
        /* <GetDigits> attributes as Plivo documents them. */
        const char *attrs[] = {"action", s->action, "method", "POST", "numDigits", digits,
                               "timeout", timeout, "digitTimeout", timeout, "finishOnKey",
                               s->finish_on_hash ? "#" : "none", "redirect", "true",
                               /* a PIN stays out of Plivo's logs; else the list ends here */
                               s->finish_on_hash ? "log" : NULL, "false", NULL};

        snprintf(digits, sizeof(digits), "%d", s->num_digits);
        snprintf(timeout, sizeof(timeout), "%d", s->timeout_s);
        if (voice_xml_start(&x, "GetDigits", attrs) != 0 ||
            voice_xml_each(&x, "Play", s->play, s->nplay) != 0 || voice_xml_end(&x) != 0 ||
            voice_xml_element(&x, "Redirect", post, s->action) != 0)
            goto out;
    } else if (voice_xml_each(&x, "Play", s->play, s->nplay) != 0) {
        goto out;
    } else if (s->redirect != NULL) {
        if (voice_xml_element(&x, "Redirect", post, s->redirect) != 0)
            goto out;
    } else if (voice_xml_element(&x, "Hangup", NULL, NULL) != 0) {
        goto out;
    }
    if (voice_xml_end(&x) != 0)
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

int plivo_reject(struct buf *out)
{
    static const char *const busy[] = {"reason", "busy", NULL};
    struct voice_xml x = {NULL, NULL};
    int rc = -1;

    if (voice_xml_open(&x) != 0 || voice_xml_start(&x, "Response", NULL) != 0 ||
        voice_xml_element(&x, "Hangup", busy, NULL) != 0 || voice_xml_end(&x) != 0)
        goto out;
    rc = voice_xml_close(&x, out);
out:
    voice_xml_free(&x);
    return rc;
}

int plivo_reply(struct http_request *req, const struct voice_step *s)
{
    return voice_step_reply(req, plivo_render, s, CONTENT_TYPE);
}
