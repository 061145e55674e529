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
        /* <Gather> attributes as Twilio documents them: input, numDigits, finishOnKey,
         * timeout, action, method. */
        const char *attrs[] = {
            "input",   "dtmf",  "numDigits", digits,    "finishOnKey", s->finish_on_hash ? "#" : "",
            "timeout", timeout, "action",    s->action, "method",      "POST",
            NULL};

        snprintf(digits, sizeof(digits), "%d", s->num_digits);
        snprintf(timeout, sizeof(timeout), "%d", s->timeout_s);
        if (voice_xml_start(&x, "Gather", attrs) != 0 ||
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

int twilio_voice_reject(struct buf *out)
{
    static const char *const busy[] = {"reason", "busy", NULL};
    struct voice_xml x = {NULL, NULL};
    int rc = -1;

    if (voice_xml_open(&x) != 0 || voice_xml_start(&x, "Response", NULL) != 0 ||
        voice_xml_element(&x, "Reject", busy, NULL) != 0 || voice_xml_end(&x) != 0)
        goto out;
    rc = voice_xml_close(&x, out);
out:
    voice_xml_free(&x);
    return rc;
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
