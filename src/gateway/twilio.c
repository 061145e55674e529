/*
 * Twilio's webhooks (the signature, the form) and the messaging answer; see twilio.h. libcrypto
 * does the HMAC and base64, libxml2 escapes the TwiML text.
 */
#include "gateway/twilio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/utf8.h"
#include "net/form.h"
#include "net/http.h"

#define URL_MAX 4096
#define VALUE_MAX (4 * GATEWAY_TEXT_MAX)

static int kv_cmp(const void *a, const void *b)
{
    const struct twilio_kv *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : strcmp(x->value, y->value);
}

int twilio_signature(const char *token, const char *url, const struct twilio_kv *params, size_t n,
                     char *out, size_t outlen)
{
    struct twilio_kv sorted[TWILIO_MAX_PARAMS];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct buf data;
    size_t i;
    int rc = -1;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (token == NULL || url == NULL || out == NULL || outlen < 29 || n > TWILIO_MAX_PARAMS ||
        (n > 0 && params == NULL))
        return -1;
    buf_init(&data, 256 * 1024);
    if (n > 0)
        memcpy(sorted, params, n * sizeof(*params));
    qsort(sorted, n, sizeof(*sorted), kv_cmp);
    if (buf_puts(&data, url) != 0)
        goto out;
    for (i = 0; i < n; i++)
        if (buf_puts(&data, sorted[i].name) != 0 || buf_puts(&data, sorted[i].value) != 0)
            goto out;
    if (HMAC(EVP_sha1(), token, (int)strlen(token), (const unsigned char *)data.data, data.len, md,
             &mdlen) == NULL ||
        mdlen != 20)
        goto out;
    /* 20 bytes -> 28 base64 characters + NUL. */
    if (EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen) != 28)
        goto out;
    rc = 0;
out:
    buf_free(&data);
    if (rc != 0)
        out[0] = '\0';
    return rc;
}

int twilio_check(const char *token, const char *url, const struct twilio_kv *params, size_t n,
                 const char *sig)
{
    char want[32];

    if (sig == NULL || token == NULL || token[0] == '\0' ||
        twilio_signature(token, url, params, n, want, sizeof(want)) != 0)
        return 0;
    return strlen(sig) == strlen(want) && CRYPTO_memcmp(sig, want, strlen(want)) == 0;
}

int twilio_twiml(const char *text, struct buf *out)
{
    xmlChar *esc = NULL;
    size_t at = out->len;
    int rc = -1;

    if (buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") != 0)
        goto out;
    if (text == NULL || text[0] == '\0') {
        rc = buf_puts(out, "<Response/>\n");
        goto out;
    }
    /* Escapes & < > " and CR: the text is element content. */
    esc = xmlEncodeSpecialChars(NULL, (const xmlChar *)text);
    if (esc == NULL)
        goto out;
    if (buf_printf(out, "<Response><Message>%s</Message></Response>\n", (const char *)esc) != 0)
        goto out;
    rc = 0;
out:
    xmlFree(esc);
    if (rc != 0)
        out->len = at;
    return rc;
}

/* Split a form body into decoded pairs (at most max), NUL-free; strings from req's memory.
 * Returns the count. */
static size_t form_pairs(struct http_request *req, struct slice body, struct twilio_kv *kv,
                         size_t max)
{
    struct slice k, v;
    struct buf kb, vb;
    size_t pos = 0, n = 0;

    buf_init(&kb, 256);
    buf_init(&vb, VALUE_MAX);
    while (n < max && form_next(body.ptr, body.len, &pos, &k, &v)) {
        buf_reset(&kb);
        buf_reset(&vb);
        if (form_decode(k.ptr, k.len, &kb) == 0 && form_decode(v.ptr, v.len, &vb) == 0 &&
            memchr(buf_cstr(&kb), '\0', kb.len) == NULL &&
            memchr(buf_cstr(&vb), '\0', vb.len) == NULL) {
            char *kn = http_alloc(req, kb.len + 1), *vn = http_alloc(req, vb.len + 1);

            memcpy(kn, buf_cstr(&kb), kb.len + 1);
            memcpy(vn, buf_cstr(&vb), vb.len + 1);
            kv[n].name = kn;
            kv[n].value = vn;
            n++;
        }
    }
    buf_free(&kb);
    buf_free(&vb);
    return n;
}

const char *twilio_kv_get(const struct twilio_kv *kv, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(kv[i].name, name) == 0)
            return kv[i].value;
    return NULL;
}

/* The URL as Twilio called it into url. Returns 0 or -1 (too long). */
static int called_url(struct http_request *req, const char *public_url, struct buf *url)
{
    const char *host = http_header(req, "Host"), *qs = http_query(req);

    if (public_url != NULL) {
        size_t bl = strlen(public_url);

        if (buf_append(url, public_url, bl > 0 && public_url[bl - 1] == '/' ? bl - 1 : bl) != 0)
            return -1;
    } else if (buf_printf(url, "http://%s", host != NULL ? host : "") != 0) {
        return -1;
    }
    if (buf_puts(url, http_path(req)) != 0 ||
        (qs != NULL && qs[0] != '\0' && buf_printf(url, "?%s", qs) != 0))
        return -1;
    return 0;
}

int twilio_parse_form(struct http_request *req, const char *token, const char *public_url,
                      struct twilio_kv *kv, size_t max, size_t *n, struct gateway_error *e)
{
    struct buf url;
    int rc = -1;

    buf_init(&url, URL_MAX);
    *n = form_pairs(req, http_body(req), kv, max);
    if (called_url(req, public_url, &url) != 0) {
        rc = gateway_refuse(e, 400, "bad_request", "The request URL is too long.");
        goto out;
    }
    if (!twilio_check(token, buf_cstr(&url), kv, *n, http_header(req, "X-Twilio-Signature"))) {
        rc = gateway_refuse(e, 403, "forbidden", "The request signature is not valid.");
        goto out;
    }
    rc = 0;
out:
    buf_free(&url);
    return rc;
}

int twilio_parse(struct http_request *req, const char *token, const char *public_url,
                 struct gateway_msg *m, struct gateway_error *e)
{
    struct twilio_kv kv[TWILIO_MAX_PARAMS];
    const char *from, *body, *sid;
    size_t n;
    int rc = -1;

    if (twilio_parse_form(req, token, public_url, kv, TWILIO_MAX_PARAMS, &n, e) != 0)
        goto out;
    from = twilio_kv_get(kv, n, "From");
    if (from == NULL || strlen(from) >= sizeof(m->from)) {
        rc = gateway_refuse(e, 400, "bad_parameter", "The parameter 'From' is missing.");
        goto out;
    }
    body = twilio_kv_get(kv, n, "Body");
    sid = twilio_kv_get(kv, n, "MessageSid");
    snprintf(m->from, sizeof(m->from), "%s", from);
    snprintf(m->id, sizeof(m->id), "%s", sid != NULL ? sid : "");
    buf_reset(&m->text);
    /* Twilio sends UTF-8; whatever is not is replaced, so the text can be read and kept. */
    if (body != NULL && utf8_repair(body, strlen(body), GATEWAY_TEXT_MAX, &m->text) < 0) {
        rc = gateway_refuse(e, 400, "bad_parameter", "The text is too long.");
        goto out;
    }
    rc = 0;
out:
    return rc;
}

void twilio_reply(struct http_request *req, const char *text)
{
    struct buf b;

    buf_init(&b, 64 * 1024);
    if (twilio_twiml(text, &b) != 0) {
        buf_reset(&b);
        if (twilio_twiml(NULL, &b) != 0)
            buf_reset(&b);
    }
    http_reply(req, 200, "text/xml; charset=UTF-8", b.data, b.len);
    buf_free(&b);
}
