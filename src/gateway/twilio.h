/*
 * Twilio's webhooks, for messages here and for calls in twilio_voice.h: a form POST (MessageSid,
 * From, To, Body, ...) signed with X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + each
 * parameter's name and value sorted by name)), where URL is what Twilio called: the configured
 * public base URL (behind a proxy) or http://<Host>, then the path and the raw query. The reply is
 * TwiML: <Response><Message>text</Message></Response>, or <Response/> for no message.
 */
#ifndef HISAAB_GATEWAY_TWILIO_H
#define HISAAB_GATEWAY_TWILIO_H

#include <stddef.h>

#include "gateway/message.h"

struct http_request;

#define TWILIO_MAX_PARAMS 64

/* One name=value pair (borrowed). */
struct twilio_kv {
    const char *name;
    const char *value;
};

/*
 * Check the signature and take the message out of req into m. token is the auth token
 * (NULL: every request is refused), public_url the base URL Twilio calls (NULL: the Host
 * header). A Body that is not valid UTF-8 is repaired (U+FFFD). Returns 0, or -1 with *e
 * set (403 for a bad or missing signature, 400 without From).
 */
int twilio_parse(struct http_request *req, const char *token, const char *public_url,
                 struct gateway_msg *m, struct gateway_error *e) WUR;

/*
 * Check the signature of req (as twilio_parse() does) and give its form parameters: up to
 * max pairs (decoded, without NUL bytes, in req's memory until the reply) in kv, their
 * count in *n. A request with more than max pairs fails the check. Returns 0, or -1 with
 * *e set (403 for a bad or missing signature, 400 for a URL too long).
 */
int twilio_parse_form(struct http_request *req, const char *token, const char *public_url,
                      struct twilio_kv *kv, size_t max, size_t *n, struct gateway_error *e) WUR;

/* The value of the first pair named name in kv[0..n), or NULL. */
const char *twilio_kv_get(const struct twilio_kv *kv, size_t n, const char *name);

/* Answer req with the TwiML for text (NULL or "" = no message). */
void twilio_reply(struct http_request *req, const char *text);

/*
 * Pure helpers, public for the unit tests.
 */

/* The signature of url and params (n <= TWILIO_MAX_PARAMS; sorted in a copy) under token
 * into out (>= 29 bytes). Returns 0 or -1. */
int twilio_signature(const char *token, const char *url, const struct twilio_kv *params, size_t n,
                     char *out, size_t outlen) WUR;

/* 1 if sig (may be NULL) is the expected signature (constant time). */
int twilio_check(const char *token, const char *url, const struct twilio_kv *params, size_t n,
                 const char *sig);

/* Append the TwiML for text (XML-escaped). Returns 0 or -1 (out's cap). */
int twilio_twiml(const char *text, struct buf *out) WUR;

#endif
