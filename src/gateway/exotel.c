/*
 * Exotel's Passthru and Greeting applets and its status callback; see exotel.h. The
 * fields are read by voice_call.c.
 */
#include "gateway/exotel.h"

#include <string.h>

#include "net/form.h"
#include "net/http.h"

static const struct voice_field_name names[] = {
    {VOICE_FIELD_CALL_ID, "CallSid"},
    {VOICE_FIELD_FROM, "CallFrom"},
    {VOICE_FIELD_FROM, "From"},
    {VOICE_FIELD_TO, "CallTo"},
    {VOICE_FIELD_TO, "To"},
    {VOICE_FIELD_DIGITS, "digits"},
    {VOICE_FIELD_STATUS, "Status"},
    {VOICE_FIELD_STATUS, "CallStatus"},
    {VOICE_FIELD_DURATION, "ConversationDuration"},
    {VOICE_FIELD_DURATION, "DialCallDuration"},
};

/* The ask= of query into *q; 0, or -1 for a word we do not know. */
static int question(const char *query, enum exotel_question *q)
{
    struct buf v;
    int r, rc = -1;

    *q = EXOTEL_ASK_GATHER;
    buf_init(&v, 32);
    r = query != NULL ? form_get(query, strlen(query), "ask", &v) : 0;
    if (r < 0)
        goto out;
    if (r == 0 || v.len == 0) {
        rc = 0;
    } else if (strcmp(buf_cstr(&v), "menu") == 0) {
        *q = EXOTEL_ASK_MENU;
        rc = 0;
    } else if (strcmp(buf_cstr(&v), "hangup") == 0) {
        *q = EXOTEL_ASK_HANGUP;
        rc = 0;
    }
out:
    buf_free(&v);
    return rc;
}

int exotel_parse_form(const char *query, struct slice body, const char *key,
                      struct voice_call_in *in, enum exotel_question *q, struct gateway_error *e)
{
    int rc = -1;

    voice_call_init(in, "exotel");
    *q = EXOTEL_ASK_GATHER;
    if (!voice_call_key_ok(query, key)) {
        rc = gateway_refuse(e, 403, "forbidden", "The request key is not valid.");
        goto out;
    }
    if (question(query, q) != 0) {
        rc = gateway_refuse(e, 400, "bad_parameter", "The parameter 'ask' is not known.");
        goto out;
    }
    if (voice_call_from_form(in, query, body, names, sizeof(names) / sizeof(names[0]), e) != 0)
        goto out;
    if (in->call_id[0] == '\0') {
        rc = gateway_refuse(e, 400, "bad_parameter", "The parameter 'CallSid' is missing.");
        goto out;
    }
    rc = 0;
out:
    return rc;
}

int exotel_parse(struct http_request *req, const char *key, struct voice_call_in *in,
                 enum exotel_question *q, struct gateway_error *e)
{
    return exotel_parse_form(http_query(req), http_body(req), key, in, q, e);
}

int exotel_greeting(const struct voice_step *s, struct buf *out)
{
    size_t at = out->len, i;
    int rc = -1;

    /* The check also keeps blanks and line ends out of the URLs: a line is one URL. */
    if (voice_step_check(s) != 0)
        goto out;
    for (i = 0; i < s->nplay; i++)
        if (buf_puts(out, s->play[i]) != 0 || buf_append(out, "\n", 1) != 0)
            goto out;
    rc = 0;
out:
    if (rc != 0 && out->len > at) {
        out->len = at;
        out->data[at] = '\0';
    }
    return rc;
}

int exotel_passthru_status(const struct voice_step *s, enum exotel_question q)
{
    int yes = 0;

    if (voice_step_check(s) != 0)
        return -1;
    switch (q) {
    case EXOTEL_ASK_GATHER:
        yes = s->gather;
        break;
    case EXOTEL_ASK_MENU:
        yes = s->gather && s->num_digits == 1;
        break;
    case EXOTEL_ASK_HANGUP:
        yes = s->hangup;
        break;
    }
    return yes ? 200 : 302;
}

int exotel_greeting_reply(struct http_request *req, const struct voice_step *s)
{
    struct buf b;
    int rc;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    rc = exotel_greeting(s, &b);
    if (rc != 0)
        buf_reset(&b);
    /* Exotel wants exactly this type, with nothing after it. */
    http_reply(req, 200, "text/plain", b.data, b.len);
    buf_free(&b);
    return rc;
}

int exotel_passthru_reply(struct http_request *req, const struct voice_step *s,
                          enum exotel_question q)
{
    int status = exotel_passthru_status(s, q);

    if (status == 302 || status < 0)
        http_add_header(req, "Location", http_path(req));
    http_reply(req, status < 0 ? 302 : status, "text/plain; charset=UTF-8", "", 0);
    return status < 0 ? -1 : 0;
}
