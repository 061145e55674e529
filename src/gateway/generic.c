/*
 * The generic JSON SMS webhook; see generic.h. jansson parses (and checks UTF-8), smsenc
 * splits the reply into parts.
 */
#include "gateway/generic.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "core/log.h"
#include "net/http.h"
#include "text/smsenc.h"

/* A JSON field as text: a string, or an integer (ids are sometimes numbers) into num. */
static const char *json_text(const json_t *o, const char *key, char *num, size_t numlen)
{
    const json_t *x = json_object_get(o, key);

    if (json_is_string(x))
        return json_string_value(x);
    if (json_is_integer(x)) {
        snprintf(num, numlen, "%lld", (long long)json_integer_value(x));
        return num;
    }
    return NULL;
}

int generic_parse(struct http_request *req, const struct generic_fields *f, struct gateway_msg *m,
                  struct gateway_error *e)
{
    struct slice body = http_body(req);
    const char *from, *text, *id;
    char fnum[32], inum[32], tnum[32];
    json_t *doc;
    int rc = -1;

    doc = json_loadb(body.ptr != NULL ? body.ptr : "", body.len, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL || !json_is_object(doc)) {
        rc = gateway_refuse(e, 400, "bad_request", "The body is not a JSON object.");
        goto out;
    }
    from = json_text(doc, f->from, fnum, sizeof(fnum));
    text = json_text(doc, f->text, tnum, sizeof(tnum));
    id = json_text(doc, f->id, inum, sizeof(inum));
    if (from == NULL || strlen(from) >= sizeof(m->from)) {
        rc = gateway_refuse(e, 400, "bad_parameter", "The sender field is missing.");
        goto out;
    }
    if (id != NULL && strlen(id) > 64) {
        rc = gateway_refuse(e, 400, "bad_parameter", "The message id is too long.");
        goto out;
    }
    snprintf(m->from, sizeof(m->from), "%s", from);
    snprintf(m->id, sizeof(m->id), "%s", id != NULL ? id : "");
    buf_reset(&m->text);
    /* jansson has checked the text is UTF-8; it goes into m because doc is released. */
    if (text != NULL && buf_puts(&m->text, text) != 0) {
        rc = gateway_refuse(e, 400, "bad_parameter", "The text is too long.");
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    return rc;
}

void generic_reply(struct http_request *req, const char *text)
{
    struct smsenc_info info = {SMSENC_GSM7, 0, 0, 0};
    struct slice parts[SMSENC_MAX_PARTS];
    size_t nparts = 0, i;
    json_t *arr;

    if (text == NULL)
        text = "";
    if (text[0] != '\0' &&
        (smsenc_analyse(text, strlen(text), &info) != 0 ||
         smsenc_split(text, strlen(text), parts, SMSENC_MAX_PARTS, &nparts) != 0)) {
        log_error("generic: reply is not valid UTF-8 or too long");
        text = "";
        nparts = 0;
    }
    arr = json_array();
    for (i = 0; i < nparts; i++)
        json_array_append_new(arr, json_stringn(parts[i].ptr, parts[i].len));
    http_reply_json(
        req, 200,
        json_pack("{s:s, s:o, s:i}", "reply", text, "parts", arr, "coding", (int)info.coding));
}
