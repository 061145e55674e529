/*
 * Kannel's sms-service webhook (smsbox get-url / post-url, see kannel/README.md):
 *   GET  ?from=%p&to=%P&text=%b&charset=%C&coding=%c&id=%I
 *   POST the same as a form, or the text as the body with X-Kannel-* headers
 *        (post-url), charset from the Content-Type.
 * The text is read from the raw query or body, so that any charset, even UTF-16 with its
 * NUL bytes, reaches the decoder (text/charset.h). The reply is the body of the answer
 * (text/plain; charset=UTF-8) with X-Kannel-Coding: 2 when it needs UCS-2; an empty body
 * sends nothing (smsbox's omit-empty).
 */
#ifndef HISAAB_GATEWAY_KANNEL_H
#define HISAAB_GATEWAY_KANNEL_H

#include "gateway/message.h"

struct http_request;

/*
 * Take the message out of req into m (gateway_msg_init() done). A text that does not
 * decode in its charset is taken as empty (the channel answers with what to send).
 * Returns 0, or -1 with *e set (missing sender, text too long).
 */
int kannel_parse(struct http_request *req, struct gateway_msg *m, struct gateway_error *e) WUR;

/* Answer req with text (UTF-8; NULL or "" = nothing to send). */
void kannel_reply(struct http_request *req, const char *text);

#endif
