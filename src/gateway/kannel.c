/*
 * Kannel's sms-service webhook; see kannel.h.
 */
#include "gateway/kannel.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/config.h"
#include "net/form.h"
#include "net/http.h"
#include "text/charset.h"
#include "text/smsenc.h"

static int is_form(const char *ct)
{
    return ct != NULL && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0;
}

/* The charset= of a Content-Type into out, or "". */
static void ct_charset(const char *ct, char *out, size_t outlen)
{
    const char *p = ct != NULL ? strcasestr(ct, "charset=") : NULL;
    size_t n = 0;

    out[0] = '\0';
    if (p == NULL)
        return;
    p += 8;
    if (*p == '"')
        p++;
    while (p[n] != '\0' && p[n] != '"' && p[n] != ';' && p[n] != ' ' && n + 1 < outlen)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
}

int kannel_parse(struct http_request *req, struct gateway_msg *m, struct gateway_error *e)
{
    const char *from = http_param(req, "from");
    const char *id = http_param(req, "id");
    const char *charset = http_param(req, "charset");
    const char *ct = http_header(req, "Content-Type");
    const char *qs = http_query(req);
    struct slice body = http_body(req);
    struct buf raw;
    char cs[40];
    int found, rc = -1;

    buf_init(&raw, GATEWAY_TEXT_MAX);
    if (from == NULL || strlen(from) >= sizeof(m->from)) {
        rc = gateway_refuse(e, 400, "bad_parameter",
                            "The parameter 'from' is missing or not valid.");
        goto out;
    }
    snprintf(m->from, sizeof(m->from), "%s", from);
    snprintf(m->id, sizeof(m->id), "%s", id != NULL ? id : "");
    found = form_get(qs, qs != NULL ? strlen(qs) : 0, "text", &raw);
    if (found <= 0 && http_method(req) == CFG_METHOD_POST && body.len > 0) {
        /* post-url sends the text as the body (or a form). */
        buf_reset(&raw);
        if (is_form(ct))
            found = form_get(body.ptr, body.len, "text", &raw);
        else
            found = buf_append(&raw, body.ptr, body.len) == 0 ? 1 : -1;
        ct_charset(ct, cs, sizeof(cs));
        if (charset == NULL && cs[0] != '\0')
            charset = cs;
    }
    if (found < 0) {
        rc = gateway_refuse(e, 400, "bad_parameter", "The text is too long.");
        goto out;
    }
    buf_reset(&m->text);
    if (found > 0 && charset_to_utf8(raw.data, raw.len, charset, &m->text) != 0) {
        /* Undecodable: treated as an empty text, which gets the "what to send" reply. */
        buf_reset(&m->text);
    }
    rc = 0;
out:
    buf_free(&raw);
    return rc;
}

void kannel_reply(struct http_request *req, const char *text)
{
    struct smsenc_info info;

    if (text == NULL)
        text = "";
    /* The whole reply in the body: smsbox sends a long one as concatenated parts
     * (concatenation = true, max-messages = 3), which the phone shows as one text. */
    if (text[0] != '\0' && smsenc_analyse(text, strlen(text), &info) == 0 &&
        info.coding == SMSENC_UCS2)
        http_add_header(req, "X-Kannel-Coding", "2");
    http_reply(req, 200, "text/plain; charset=UTF-8", text, strlen(text));
}
