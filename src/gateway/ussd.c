/*
 * USSD gateway formats; see ussd.h. Fields are read with the server's one form decoder
 * (net/form.h); a value that is not valid UTF-8, holds a control character or is too long
 * refuses the request with a 400 the gateway can log.
 */
#include "gateway/ussd.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/utf8.h"
#include "net/form.h"
#include "net/http.h"

static int valid_utf8(const char *s, size_t len)
{
    uint32_t cp;
    size_t i = 0;
    int n;

    while (i < len) {
        n = utf8_decode(s + i, len - i, &cp);
        if (n <= 0)
            return 0;
        i += (size_t)n;
    }
    return 1;
}

/* The value of name from the query or the body (body first) into out (n bytes).
 * Returns 1 found, 0 absent, -1 bad (too long, NUL, control character, not UTF-8). */
static int field(const char *query, struct slice body, const char *name, char *out, size_t n)
{
    struct buf v;
    int r = 0, rc = -1;
    size_t i;

    out[0] = '\0';
    if (name == NULL || name[0] == '\0')
        return 0;
    buf_init(&v, n > 1 ? n - 1 : 1);
    if (body.len > 0)
        r = form_get(body.ptr, body.len, name, &v);
    if (r == 0 && query != NULL)
        r = form_get(query, strlen(query), name, &v);
    if (r <= 0) {
        rc = r;
        goto out;
    }
    if (v.len >= n || !valid_utf8(v.data != NULL ? v.data : "", v.len))
        goto out;
    for (i = 0; i < v.len; i++)
        if ((unsigned char)v.data[i] < 0x20 || v.data[i] == 0x7f)
            goto out;
    memcpy(out, v.data != NULL ? v.data : "", v.len);
    out[v.len] = '\0';
    rc = 1;
out:
    buf_free(&v);
    return rc;
}

static int need(const char *query, struct slice body, const char *name, char *out, size_t n,
                int required, struct gateway_error *e)
{
    static char msg[128];
    int r = field(query, body, name, out, n);

    if (r < 0) {
        snprintf(msg, sizeof(msg), "The parameter '%s' is not valid text or is too long.", name);
        return gateway_refuse(e, 400, "bad_parameter", msg);
    }
    if (r == 0 && required) {
        snprintf(msg, sizeof(msg), "The parameter '%s' is missing.", name);
        return gateway_refuse(e, 400, "bad_parameter", msg);
    }
    return 0;
}

/* A session id we can key on: printable ASCII without blanks. */
static int id_ok(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 127)
            return 0;
    return i > 0;
}

int ussd_at_parse_form(struct slice body, struct ussd_in *in, struct gateway_error *e)
{
    memset(in, 0, sizeof(*in));
    in->gateway = "at";
    if (need(NULL, body, "sessionId", in->session, sizeof(in->session), 1, e) != 0 ||
        need(NULL, body, "phoneNumber", in->from, sizeof(in->from), 1, e) != 0 ||
        need(NULL, body, "serviceCode", in->service, sizeof(in->service), 0, e) != 0 ||
        need(NULL, body, "networkCode", in->network, sizeof(in->network), 0, e) != 0 ||
        need(NULL, body, "text", in->input, sizeof(in->input), 0, e) != 0)
        return -1;
    if (!id_ok(in->session))
        return gateway_refuse(e, 400, "bad_parameter", "The parameter 'sessionId' is not valid.");
    in->is_new = in->input[0] == '\0';
    return 0;
}

int ussd_at_parse(struct http_request *req, struct ussd_in *in, struct gateway_error *e)
{
    return ussd_at_parse_form(http_body(req), in, e);
}

int ussd_session_parse_form(const char *query, struct slice body, const struct ussd_fields *f,
                            struct ussd_in *in, struct gateway_error *e)
{
    char flag[32];

    memset(in, 0, sizeof(*in));
    in->gateway = "session";
    if (need(query, body, f->session, in->session, sizeof(in->session), 1, e) != 0 ||
        need(query, body, f->msisdn, in->from, sizeof(in->from), 1, e) != 0 ||
        need(query, body, f->input, in->input, sizeof(in->input), 0, e) != 0 ||
        need(query, body, f->new_flag, flag, sizeof(flag), 0, e) != 0)
        return -1;
    if (!id_ok(in->session))
        return gateway_refuse(e, 400, "bad_parameter", "The session id is not valid.");
    in->is_new = f->new_value != NULL && strcmp(flag, f->new_value) == 0;
    return 0;
}

int ussd_session_parse(struct http_request *req, const struct ussd_fields *f, struct ussd_in *in,
                       struct gateway_error *e)
{
    return ussd_session_parse_form(http_query(req), http_body(req), f, in, e);
}

int ussd_at_body(const char *screen, int end, struct buf *out)
{
    return buf_printf(out, "%s %s", end ? "END" : "CON", screen);
}

void ussd_at_reply(struct http_request *req, const char *screen, int end)
{
    struct buf b;

    buf_init(&b, 4096);
    if (ussd_at_body(screen, end, &b) != 0) {
        buf_reset(&b);
        if (buf_puts(&b, "END Sorry.") != 0)
            b.len = 0;
    }
    http_reply(req, 200, "text/plain; charset=utf-8", b.data, b.len);
    buf_free(&b);
}

int ussd_session_body(const struct ussd_fields *f, const char *screen, int end, struct buf *out)
{
    json_t *doc;
    char *s;
    int rc = -1;

    if (!f->reply_json)
        return buf_puts(out, screen);
    doc = json_object();
    if (json_object_set_new(doc, f->text, json_string(screen)) != 0 ||
        json_object_set_new(doc, f->flag, json_string(end ? f->end_value : f->cont_value)) != 0)
        goto out;
    s = json_dumps(doc, JSON_COMPACT);
    if (s == NULL)
        goto out;
    rc = buf_puts(out, s);
    free(s);
out:
    json_decref(doc);
    return rc;
}

void ussd_session_reply(struct http_request *req, const struct ussd_fields *f, const char *screen,
                        int end)
{
    struct buf b;

    buf_init(&b, 4096);
    if (ussd_session_body(f, screen, end, &b) != 0) {
        http_reply_error(req, 500, "internal", "The screen could not be rendered.");
        buf_free(&b);
        return;
    }
    if (!f->reply_json)
        http_add_header(req, f->flag, end ? f->end_value : f->cont_value);
    http_reply(req, 200,
               f->reply_json ? "application/json; charset=utf-8" : "text/plain; charset=utf-8",
               b.data, b.len);
    buf_free(&b);
}

int ussd_at_next(const char *prev, const char *text, char *out, size_t n)
{
    size_t lp = strlen(prev);

    out[0] = '\0';
    if (strcmp(prev, text) == 0)
        return 0;
    if (lp == 0) {
        snprintf(out, n, "%s", text);
        return strlen(text) < n ? 1 : -1;
    }
    if (strncmp(prev, text, lp) != 0 || text[lp] != '*')
        return -1;
    if (strlen(text + lp + 1) >= n)
        return -1;
    snprintf(out, n, "%s", text + lp + 1);
    return 1;
}
