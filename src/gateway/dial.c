/*
 * The dialer's shared request and outcome; see dial.h.
 */
#include "gateway/dial.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define USERPWD_MAX 512
#define CONNECT_TIMEOUT_MS 10000L

enum dial_outcome dial_classify(int answered, long status)
{
    if (!answered)
        return DIAL_PROVIDER_DOWN;
    if (status >= 200 && status <= 299)
        return DIAL_PLACED;
    /* Server trouble, throttling, wrong credentials or a wrong account (404) hold for
     * every call: the dialer stops and retries later rather than fail them all. */
    if (status >= 500 || status == 429 || status == 401 || status == 403 || status == 404)
        return DIAL_PROVIDER_DOWN;
    return DIAL_REFUSED;
}

int dial_token_ok(const char *s)
{
    const char *p;

    if (s == NULL || s[0] == '\0')
        return 0;
    for (p = s; *p != '\0'; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return 0;
    return 1;
}

int dial_account_url(const char *base, const char *before, const char *account, const char *after,
                     struct buf *out)
{
    size_t at = out->len, bl;
    int rc = -1;

    if (base == NULL || base[0] == '\0' || !dial_token_ok(account))
        goto out;
    bl = strlen(base);
    if (base[bl - 1] == '/')
        bl--;
    if (buf_append(out, base, bl) != 0 || buf_puts(out, before) != 0 ||
        buf_puts(out, account) != 0 || buf_puts(out, after) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0 && out->len > at) {
        out->len = at;
        out->data[at] = '\0';
    }
    return rc;
}

struct dial_ctx {
    dial_id_fn id_of;
    dial_done_fn cb;
    void *arg;
};

static void on_done(void *arg, const struct curlm_result *r)
{
    struct dial_ctx *c = arg;
    struct dial_result d;
    char id[DIAL_ID_MAX] = "", why[256] = "";

    memset(&d, 0, sizeof(d));
    d.outcome = dial_classify(r->done, r->status);
    d.status = r->status;
    d.ms = r->ms;
    if (d.outcome == DIAL_PLACED) {
        /* The call is placed whatever the body says; without an id its status callback
         * cannot be matched, which the log should say. */
        if (r->body == NULL || c->id_of(r->body, r->len, id, sizeof(id)) != 0) {
            id[0] = '\0';
            snprintf(why, sizeof(why), "no call id in the answer");
        }
    } else if (!r->done) {
        snprintf(why, sizeof(why), "%s", r->error != NULL ? r->error : "no answer");
    } else {
        snprintf(why, sizeof(why), "HTTP %ld", r->status);
    }
    d.call_id = id;
    d.error = why[0] != '\0' ? why : NULL;
    c->cb(c->arg, &d);
    free(c);
}

int dial_post(const char *url, const char *form, size_t form_len, const char *user,
              const char *password, long timeout_ms, dial_id_fn id_of, dial_done_fn cb, void *arg)
{
    struct curlm_request req;
    struct dial_ctx *c = NULL;
    char userpwd[USERPWD_MAX];
    long timeout = timeout_ms > 0 ? timeout_ms : DIAL_TIMEOUT_MS;
    int rc = -1;

    userpwd[0] = '\0';
    if (url == NULL || form == NULL || user == NULL || password == NULL || id_of == NULL ||
        cb == NULL)
        goto out;
    if (snprintf(userpwd, sizeof(userpwd), "%s:%s", user, password) >= (int)sizeof(userpwd))
        goto out;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = url;
    req.headers[0] = "Content-Type: application/x-www-form-urlencoded";
    req.headers[1] = "Accept: application/json";
    req.body = form;
    req.body_len = form_len;
    req.userpwd = userpwd;
    req.timeout_ms = timeout;
    req.connect_timeout_ms = timeout < CONNECT_TIMEOUT_MS ? timeout : CONNECT_TIMEOUT_MS;
    req.max_body = DIAL_BODY_MAX;
    c = xcalloc(1, sizeof(*c));
    c->id_of = id_of;
    c->cb = cb;
    c->arg = arg;
    if (curlm_start(&req, on_done, c) != 0)
        goto out;
    c = NULL; /* freed by on_done() */
    rc = 0;
out:
    /* curlm copied the credentials; no copy stays on the stack. */
    explicit_bzero(userpwd, sizeof(userpwd));
    free(c);
    return rc;
}
