/*
 * Kannel's sendsms client; see sendsms.h. The request is built here and handed to curlm,
 * on the worker's loop (curlm_start) or blocking for hisaab-etl (curlm_perform), so both
 * get the same options, caps and error texts; what an answer means is decided here.
 */
#include "gateway/sendsms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/curlm.h"
#include "core/mem.h"
#include "net/config.h"
#include "net/form.h"

/* Kannel answers with a line of text ("0: Accepted for delivery"); more is not Kannel. */
#define SENDSMS_BODY_MAX (64 * 1024)
#define SENDSMS_CONNECT_TIMEOUT_MS 10000L

static const char *nonempty(const char *s)
{
    return s != NULL && *s != '\0' ? s : NULL;
}

/* The environment's value when set and not empty, else fallback. */
static const char *env_or(const char *name, const char *fallback)
{
    const char *v = nonempty(getenv(name));

    return v != NULL ? v : nonempty(fallback);
}

void sendsms_opts_init(struct sendsms_opts *o, const struct config *cfg)
{
    memset(o, 0, sizeof(*o));
    o->url = env_or("KANNEL_SENDSMS_URL", cfg != NULL ? cfg->kannel_sendsms_url : NULL);
    o->user = env_or("KANNEL_SENDSMS_USER", cfg != NULL ? cfg->kannel_sendsms_user : NULL);
    o->password =
        env_or("KANNEL_SENDSMS_PASSWORD", cfg != NULL ? cfg->kannel_sendsms_password : NULL);
    o->from = env_or("KANNEL_SENDSMS_FROM", cfg != NULL ? cfg->kannel_sendsms_from : NULL);
    o->timeout_ms = SENDSMS_TIMEOUT_MS;
}

/* Append "name=value", after a '&' unless *first (then cleared), the value
 * percent-encoded as curl_easy_escape() does (net/form.h). 0 or -1 (out's cap). */
static int put_param(struct buf *out, int *first, const char *name, const char *value)
{
    if (buf_printf(out, "%s%s=", *first ? "" : "&", name) != 0)
        return -1;
    *first = 0;
    return form_encode(value, out);
}

int sendsms_url(const struct sendsms_opts *o, const char *to, const char *text,
                enum smsenc_coding coding, struct buf *out)
{
    size_t start = out->len, ulen;
    const char *sep;
    int first = 1, rc = -1;

    if (o == NULL || nonempty(o->url) == NULL || to == NULL || text == NULL)
        goto out;
    ulen = strlen(o->url);
    /* The configured URL may carry a query of its own (say smsc=...). */
    if (strchr(o->url, '?') == NULL)
        sep = "?";
    else if (o->url[ulen - 1] == '?' || o->url[ulen - 1] == '&')
        sep = "";
    else
        sep = "&";
    if (buf_printf(out, "%s%s", o->url, sep) != 0 ||
        (o->user != NULL && put_param(out, &first, "username", o->user) != 0) ||
        (o->password != NULL && put_param(out, &first, "password", o->password) != 0) ||
        (o->from != NULL && put_param(out, &first, "from", o->from) != 0) ||
        put_param(out, &first, "to", to) != 0 || put_param(out, &first, "text", text) != 0 ||
        put_param(out, &first, "charset", "UTF-8") != 0 ||
        (coding == SMSENC_UCS2 && put_param(out, &first, "coding", "2") != 0))
        goto out;
    rc = 0;
out:
    if (rc != 0 && out->len > start) {
        out->len = start;
        out->data[start] = '\0';
    }
    return rc;
}

enum sendsms_outcome sendsms_classify(int answered, long status)
{
    if (!answered)
        return SENDSMS_GATEWAY_DOWN;
    if (status >= 200 && status <= 299)
        return SENDSMS_SENT;
    /* Server trouble, throttling, wrong credentials or a wrong URL hold for every message:
     * the caller stops and retries later rather than fail them all. */
    if (status >= 500 || status == 429 || status == 401 || status == 403 || status == 404)
        return SENDSMS_GATEWAY_DOWN;
    return SENDSMS_REFUSED;
}

/* The curlm request for url under o. */
static void request(const struct sendsms_opts *o, const char *url, struct curlm_request *r)
{
    long timeout = o->timeout_ms > 0 ? o->timeout_ms : SENDSMS_TIMEOUT_MS;

    memset(r, 0, sizeof(*r));
    r->url = url;
    r->timeout_ms = timeout;
    r->connect_timeout_ms =
        timeout < SENDSMS_CONNECT_TIMEOUT_MS ? timeout : SENDSMS_CONNECT_TIMEOUT_MS;
    r->max_body = SENDSMS_BODY_MAX;
}

/* The outcome of r and why, for the log: curlm's error, "HTTP <status>", or NULL. */
static enum sendsms_outcome judge(const struct curlm_result *r, char *why, size_t len)
{
    enum sendsms_outcome oc = sendsms_classify(r->done, r->status);

    if (oc == SENDSMS_SENT)
        why[0] = '\0';
    else if (!r->done)
        snprintf(why, len, "%s", r->error != NULL ? r->error : "no answer");
    else
        snprintf(why, len, "HTTP %ld", r->status);
    return oc;
}

struct send_ctx {
    sendsms_done_fn cb;
    void *arg;
};

static void on_sent(void *arg, const struct curlm_result *r)
{
    struct send_ctx *c = arg;
    enum sendsms_outcome oc;
    char why[256];

    oc = judge(r, why, sizeof(why));
    c->cb(c->arg, oc, oc == SENDSMS_SENT ? NULL : why);
    free(c);
}

int sendsms_send(const struct sendsms_opts *o, const char *to, const char *text,
                 enum smsenc_coding coding, sendsms_done_fn cb, void *arg)
{
    struct curlm_request req;
    struct send_ctx *c = NULL;
    struct buf url;
    int rc = -1;

    buf_init(&url, SENDSMS_URL_MAX);
    if (cb == NULL || sendsms_url(o, to, text, coding, &url) != 0)
        goto out;
    request(o, buf_cstr(&url), &req);
    c = xcalloc(1, sizeof(*c));
    c->cb = cb;
    c->arg = arg;
    if (curlm_start(&req, on_sent, c) != 0)
        goto out;
    c = NULL; /* freed by on_sent() */
    rc = 0;
out:
    free(c);
    buf_free(&url);
    return rc;
}

struct wait_ctx {
    enum sendsms_outcome outcome;
    long ms;
    char why[256];
};

static void on_waited(void *arg, const struct curlm_result *r)
{
    struct wait_ctx *w = arg;

    w->outcome = judge(r, w->why, sizeof(w->why));
    w->ms = r->ms;
}

enum sendsms_outcome sendsms_send_blocking(const struct sendsms_opts *o, const char *to,
                                           const char *text, enum smsenc_coding coding,
                                           long *latency_ms, char *err, size_t errlen)
{
    struct curlm_request req;
    struct wait_ctx w;
    struct buf url;

    memset(&w, 0, sizeof(w));
    w.outcome = SENDSMS_REFUSED;
    buf_init(&url, SENDSMS_URL_MAX);
    if (o == NULL || nonempty(o->url) == NULL) {
        w.outcome = SENDSMS_GATEWAY_DOWN; /* holds for every message */
        snprintf(w.why, sizeof(w.why), "no sendsms URL configured");
        goto out;
    }
    if (sendsms_url(o, to, text, coding, &url) != 0) {
        snprintf(w.why, sizeof(w.why), "request too long");
        goto out;
    }
    request(o, buf_cstr(&url), &req);
    if (curlm_perform(&req, on_waited, &w) != 0) {
        w.outcome = SENDSMS_GATEWAY_DOWN; /* the URL itself is wrong: so for every message */
        snprintf(w.why, sizeof(w.why), "the sendsms URL is not http:// or https://");
        goto out;
    }
out:
    if (latency_ms != NULL)
        *latency_ms = w.ms;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s", w.why);
    buf_free(&url);
    return w.outcome;
}
