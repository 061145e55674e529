/*
 * The generic JSON webhook for Indian SMS aggregators: a POST of a JSON object whose
 * sender, text and message id fields are named in kore.conf (sms_json_from, sms_json_text,
 * sms_json_id; defaults from, text, id), so a new aggregator needs no code. The reply is
 * {"reply": "<text>", "parts": ["<part>", ...], "coding": 0|2} (parts as one SMS each).
 */
#ifndef HISAAB_GATEWAY_GENERIC_H
#define HISAAB_GATEWAY_GENERIC_H

#include "gateway/message.h"

struct http_request;

/* The field names (borrowed). */
struct generic_fields {
    const char *from, *text, *id;
};

/*
 * Take the message out of req's JSON body into m. An id or sender may be a string or an
 * integer. Returns 0, or -1 with *e set (not a JSON object, no sender, an id over 64
 * characters, a text too long).
 */
int generic_parse(struct http_request *req, const struct generic_fields *f, struct gateway_msg *m,
                  struct gateway_error *e) WUR;

/* Answer req with text (NULL or "" = nothing to send: an empty reply and no parts). */
void generic_reply(struct http_request *req, const char *text);

#endif
