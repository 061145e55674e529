/*
 * Plivo's voice webhooks and Plivo XML. Plivo requests the Answer URL of the application
 * a number is linked to, then each <GetDigits action> and <Redirect>, with a form POST
 * (or a GET, as the application is set; both are read: the body first, then the query).
 * The fields read are CallUUID, From, To, Digits (after a <GetDigits>), CallStatus and
 * Duration (the Hangup URL's request).
 *
 * Plivo signs its requests (X-Plivo-Signature-V3); that signature is not checked here.
 * Instead the URL set in the application may carry ?key=<secret> (plivo_parse's key),
 * and the call flow keeps it in the action URLs it gives.
 *
 * A step (voice_step.h) becomes Plivo XML ("XML reference": Response, GetDigits, Play,
 * Redirect, Hangup):
 *
 *   gather:   <Response><GetDigits action="URL" method="POST" numDigits="6" timeout="10"
 *               digitTimeout="10" finishOnKey="#" redirect="true"><Play>URL</Play>
 *               </GetDigits><Redirect method="POST">URL</Redirect></Response>
 *             Plivo documents that without input "the next element in the response is
 *             processed": the <Redirect> takes that case to the action URL, without
 *             Digits. timeout is Plivo's wait for the first digit, digitTimeout between
 *             digits (both the step's timeout_s). finishOnKey is "none" unless the step
 *             ends on '#' (Plivo's default is '#'); a PIN is also kept out of Plivo's
 *             logs (log="false").
 *   redirect: <Response><Play>URL</Play>...<Redirect method="POST">URL</Redirect></Response>
 *   hangup:   <Response><Play>URL</Play>...<Hangup/></Response>
 *
 * and a call turned away unanswered is <Response><Hangup reason="busy"/></Response>.
 */
#ifndef HISAAB_GATEWAY_PLIVO_H
#define HISAAB_GATEWAY_PLIVO_H

#include "core/buf.h"
#include "gateway/voice_call.h"
#include "gateway/voice_step.h"

struct http_request;

/*
 * Take the call out of req into in. key (NULL or "": no check) must be the query's key
 * parameter (voice_call_key_ok). Returns 0, or -1 with *e set (403 for a wrong key, 400
 * without CallUUID or for a field that is not valid).
 */
int plivo_parse(struct http_request *req, const char *key, struct voice_call_in *in,
                struct gateway_error *e) WUR;

/* The same from a raw query (may be NULL) and a form body: what plivo_parse() reads. */
int plivo_parse_form(const char *query, struct slice body, const char *key,
                     struct voice_call_in *in, struct gateway_error *e) WUR;

/* Append the Plivo XML for s to out. Returns 0, or -1 (s fails voice_step_check(), a
 * writer error, or out's cap; out is then as it was). */
int plivo_render(const struct voice_step *s, struct buf *out) WUR;

/* Append <Response><Hangup reason="busy"/></Response> to out. Returns 0 or -1. */
int plivo_reject(struct buf *out) WUR;

/* Answer req (200, text/xml) with the XML for s; a step that cannot be rendered is
 * answered with a hangup and -1 returned (for the log). req is answered either way. */
int plivo_reply(struct http_request *req, const struct voice_step *s);

#endif
