/*
 * Twilio's voice webhooks and TwiML; see twilio_voice.h. The signature and the form come
 * from twilio.c; the XML is written by libxml2 (voice_xml.h).
 */
#include "gateway/twilio_voice.h"

#include <stdio.h>
#include <string.h>

#include "gateway/voice_xml.h"
#include "net/http.h"

#define CONTENT_TYPE "text/xml; charset=UTF-8"

static const struct voice_field_name names[] = {
    {VOICE_FIELD_CALL_ID, "CallSid"},
    {VOICE_FIELD_FROM, "From"},
    {VOICE_FIELD_TO, "To"},
    {VOICE_FIELD_DIGITS, "Digits"},
    {VOICE_FIELD_STATUS, "CallStatus"},
    {VOICE_FIELD_DURATION, "CallDuration"},
};

struct kv_ctx {
    const struct twilio_kv *kv;
    size_t n;
};

static const char *kv_param(void *ctx, const char *name, int *bad)
{
    const struct kv_ctx *c = ctx;

    (void)bad; /* twilio.c has already dropped what cannot be read */
    return twilio_kv_get(c->kv, c->n, name);
}

int twilio_voice_fields(const struct twilio_kv *kv, size_t n, struct voice_call_in *in,
                        struct gateway_error *e)
{
    struct kv_ctx c = {kv, n};
    int rc = -1;

    voice_call_init(in, "twilio");
    if (voice_call_fill(in, kv_param, &c, names, sizeof(names) / sizeof(names[0]), e) != 0)
        goto out;
    if (in->call_id[0] == '\0') {
        rc = gateway_refuse(e, 400, "bad_parameter", "The parameter 'CallSid' is missing.");
        goto out;
    }
    rc = 0;
out:
    return rc;
}

int twilio_voice_parse(struct http_request *req, const char *token, const char *public_url,
                       struct voice_call_in *in, struct gateway_error *e)
{
    struct twilio_kv kv[TWILIO_MAX_PARAMS];
    size_t n = 0;
    int rc = -1;

    voice_call_init(in, "twilio");
    if (twilio_parse_form(req, token, public_url, kv, TWILIO_MAX_PARAMS, &n, e) != 0)
        goto out;
    rc = twilio_voice_fields(kv, n, in, e);
out:
    return rc;
}

/* <Play>URL</Play> for each of s's plays. */
int twilio_voice_render(const struct voice_step *s, struct buf *out)
{
    /* s is checked before its fields are read (also by voice_xml_response()). */
    if (s == NULL || voice_step_check(s) != 0)
        return -1;
    {
        char digits[16], timeout[16];
        /* <Gather> attributes as Twilio documents them: input, numDigits, finishOnKey,
         * timeout, action, method. */
        const char *attrs[] = {
            "input",   "dtmf",  "numDigits", digits,    "finishOnKey", s->finish_on_hash ? "#" : "",
            "timeout", timeout, "action",    s->action, "method",      "POST",
            NULL};

        snprintf(digits, sizeof(digits), "%d", s->num_digits);
        snprintf(timeout, sizeof(timeout), "%d", s->timeout_s);
        return voice_xml_response(s, "Gather", attrs, out);
    }
}

int twilio_voice_reject(struct buf *out)
{
    return voice_xml_busy("Reject", out);
}

int twilio_voice_reply(struct http_request *req, const struct voice_step *s)
{
    return voice_step_reply(req, twilio_voice_render, s, CONTENT_TYPE);
}

void twilio_voice_reply_reject(struct http_request *req)
{
    struct buf b;

    buf_init(&b, 4096);
    if (twilio_voice_reject(&b) == 0)
        http_reply(req, 200, CONTENT_TYPE, b.data, b.len);
    else
        http_reply(req, 500, "text/plain; charset=UTF-8", "", 0);
    buf_free(&b);
}
