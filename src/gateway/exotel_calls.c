/*
 * Exotel's "connect a number to a call flow" client; see exotel_calls.h. The request is
 * built here and run by dial.c on curlm; jansson reads the answer.
 */
#include "gateway/exotel_calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/form.h"

#define URL_MAX 4096
#define FORM_MAX 16384

static const char *nonempty(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

void exotel_calls_opts_init(struct exotel_calls_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->api_base = nonempty(getenv("EXOTEL_API_BASE"));
    if (o->api_base == NULL)
        o->api_base = EXOTEL_API_BASE_DEFAULT;
    o->account_sid = nonempty(getenv("EXOTEL_SID"));
    o->api_key = nonempty(getenv("EXOTEL_API_KEY"));
    o->api_token = nonempty(getenv("EXOTEL_API_TOKEN"));
    o->caller_id = nonempty(getenv("EXOTEL_CALLER_ID"));
    o->app_id = nonempty(getenv("EXOTEL_APP_ID"));
    o->timeout_ms = DIAL_TIMEOUT_MS;
}

int exotel_calls_url(const struct exotel_calls_opts *o, struct buf *out)
{
    if (o == NULL)
        return -1;
    return dial_account_url(o->api_base, "/v1/Accounts/", o->account_sid, "/Calls/connect.json",
                            out);
}

int exotel_calls_form(const struct exotel_calls_opts *o, const char *to, const char *status_url,
                      struct buf *out)
{
    char flow[512];
    size_t at = out->len;
    int rc = -1;

    if (o == NULL || nonempty(to) == NULL || nonempty(o->caller_id) == NULL ||
        !dial_token_ok(o->account_sid) || !dial_token_ok(o->app_id))
        goto out;
    if (snprintf(flow, sizeof(flow), EXOTEL_FLOW_BASE "/%s/exoml/start_voice/%s", o->account_sid,
                 o->app_id) >= (int)sizeof(flow))
        goto out;
    /* Exotel's parameter names: From (called first), CallerId, Url, CallType, StatusCallback. */
    if (form_add(out, "From", to) != 0 || form_add(out, "CallerId", o->caller_id) != 0 ||
        form_add(out, "Url", flow) != 0 || form_add(out, "CallType", "trans") != 0)
        goto out;
    if (nonempty(status_url) != NULL && form_add(out, "StatusCallback", status_url) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0 && out->len > at) {
        out->len = at;
        out->data[at] = '\0';
    }
    return rc;
}

int exotel_calls_id(const char *body, size_t len, char *id, size_t idlen)
{
    json_t *doc = json_loadb(body, len, 0, NULL);
    const char *sid;
    int rc = -1;

    if (idlen > 0)
        id[0] = '\0';
    if (!json_is_object(doc))
        goto out;
    sid = json_string_value(json_object_get(json_object_get(doc, "Call"), "Sid"));
    if (sid == NULL || sid[0] == '\0' || strlen(sid) >= idlen)
        goto out;
    memcpy(id, sid, strlen(sid) + 1);
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

int exotel_calls_start(const struct exotel_calls_opts *o, const char *to, const char *status_url,
                       dial_done_fn cb, void *arg)
{
    struct buf u, form;
    int rc = -1;

    buf_init(&u, URL_MAX);
    buf_init(&form, FORM_MAX);
    if (o == NULL || nonempty(o->api_key) == NULL || nonempty(o->api_token) == NULL ||
        exotel_calls_url(o, &u) != 0 || exotel_calls_form(o, to, status_url, &form) != 0)
        goto out;
    rc = dial_post(buf_cstr(&u), buf_cstr(&form), form.len, o->api_key, o->api_token, o->timeout_ms,
                   exotel_calls_id, cb, arg);
out:
    buf_free(&u);
    buf_free(&form);
    return rc;
}
