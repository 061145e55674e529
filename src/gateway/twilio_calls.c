/*
 * Twilio's "Create a Call" client; see twilio_calls.h. The request is built here and run
 * by dial.c on curlm; jansson reads the answer.
 */
#include "gateway/twilio_calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/config.h"
#include "net/form.h"

#define URL_MAX 4096
#define FORM_MAX 16384

static const char *nonempty(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

void twilio_calls_opts_init(struct twilio_calls_opts *o, const struct config *cfg)
{
    memset(o, 0, sizeof(*o));
    o->api_base = nonempty(getenv("TWILIO_API_BASE"));
    if (o->api_base == NULL)
        o->api_base = TWILIO_API_BASE_DEFAULT;
    o->account_sid = nonempty(getenv("TWILIO_ACCOUNT_SID"));
    o->auth_token = nonempty(getenv("TWILIO_AUTH_TOKEN"));
    if (o->auth_token == NULL && cfg != NULL)
        o->auth_token = nonempty(cfg->twilio_auth_token);
    o->caller_id = nonempty(getenv("TWILIO_CALLER_ID"));
    o->timeout_ms = DIAL_TIMEOUT_MS;
}

int twilio_calls_url(const struct twilio_calls_opts *o, struct buf *out)
{
    if (o == NULL)
        return -1;
    return dial_account_url(o->api_base, "/2010-04-01/Accounts/", o->account_sid, "/Calls.json",
                            out);
}

int twilio_calls_form(const struct twilio_calls_opts *o, const char *to, const char *url,
                      const char *status_url, struct buf *out)
{
    size_t at = out->len;
    int rc = -1;

    if (o == NULL || nonempty(o->caller_id) == NULL || nonempty(to) == NULL ||
        nonempty(url) == NULL)
        goto out;
    /* Twilio's parameter names: To, From, Url, Method, StatusCallback, StatusCallbackEvent. */
    if (form_add(out, "To", to) != 0 || form_add(out, "From", o->caller_id) != 0 ||
        form_add(out, "Url", url) != 0 || form_add(out, "Method", "POST") != 0)
        goto out;
    if (nonempty(status_url) != NULL && (form_add(out, "StatusCallback", status_url) != 0 ||
                                         form_add(out, "StatusCallbackEvent", "completed") != 0))
        goto out;
    rc = 0;
out:
    if (rc != 0 && out->len > at) {
        out->len = at;
        out->data[at] = '\0';
    }
    return rc;
}

int twilio_calls_id(const char *body, size_t len, char *id, size_t idlen)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *sid;
    int rc = -1;

    if (idlen > 0)
        id[0] = '\0';
    if (!json_is_object(doc))
        goto out;
    sid = json_string_value(json_object_get(doc, "sid"));
    if (sid == NULL || sid[0] == '\0' || strlen(sid) >= idlen)
        goto out;
    memcpy(id, sid, strlen(sid) + 1);
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

int twilio_calls_start(const struct twilio_calls_opts *o, const char *to, const char *url,
                       const char *status_url, dial_done_fn cb, void *arg)
{
    struct buf u, form;
    int rc = -1;

    buf_init(&u, URL_MAX);
    buf_init(&form, FORM_MAX);
    if (o == NULL || nonempty(o->auth_token) == NULL || twilio_calls_url(o, &u) != 0 ||
        twilio_calls_form(o, to, url, status_url, &form) != 0)
        goto out;
    rc = dial_post(buf_cstr(&u), buf_cstr(&form), form.len, o->account_sid, o->auth_token,
                   o->timeout_ms, twilio_calls_id, cb, arg);
out:
    buf_free(&u);
    buf_free(&form);
    return rc;
}
