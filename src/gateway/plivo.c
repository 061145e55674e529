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
    /* s is checked before its fields are read (also by voice_xml_response()). */
    if (s == NULL || voice_step_check(s) != 0)
        return -1;
    {
        char digits[16], timeout[16];
        /* <GetDigits> attributes as Plivo documents them. */
        const char *attrs[] = {"action", s->action, "method", "POST", "numDigits", digits,
                               "timeout", timeout, "digitTimeout", timeout, "finishOnKey",
                               s->finish_on_hash ? "#" : "none", "redirect", "true",
                               /* a PIN stays out of Plivo's logs; else the list ends here */
                               s->finish_on_hash ? "log" : NULL, "false", NULL};

        snprintf(digits, sizeof(digits), "%d", s->num_digits);
        snprintf(timeout, sizeof(timeout), "%d", s->timeout_s);
        return voice_xml_response(s, "GetDigits", attrs, out);
    }
}

int plivo_reject(struct buf *out)
{
    return voice_xml_busy("Hangup", out);
}

int plivo_reply(struct http_request *req, const struct voice_step *s)
{
    return voice_step_reply(req, plivo_render, s, CONTENT_TYPE);
}
