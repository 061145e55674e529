/*
 * Twilio's voice webhooks and TwiML for calls. Twilio POSTs a form to the URL configured
 * on the number ("A call comes in"), to each <Gather action> and <Redirect>, and to the
 * StatusCallback of a call we place; each is signed like the messaging webhook
 * (twilio.h: X-Twilio-Signature over the URL and every parameter). The fields read are
 * CallSid, From, To, Digits (only after a <Gather>; absent when the caller pressed
 * nothing), CallStatus and CallDuration (status callbacks).
 *
 * A step (voice_step.h) becomes TwiML (Twilio's "TwiML for Programmable Voice"):
 *
 *   gather:   <Response><Gather input="dtmf" numDigits="6" finishOnKey="#" timeout="10"
 *               action="URL" method="POST"><Play>URL</Play>...</Gather>
 *               <Redirect method="POST">URL</Redirect></Response>
 *             Twilio documents that a <Gather> that receives no input falls through to
 *             the next verb: the <Redirect> takes that case to the same action URL,
 *             without Digits. finishOnKey is "" (no key ends the input) unless the step
 *             ends on '#': Twilio's default would be '#', which would end a menu with
 *             nothing chosen.
 *   redirect: <Response><Play>URL</Play>...<Redirect method="POST">URL</Redirect></Response>
 *   hangup:   <Response><Play>URL</Play>...<Hangup/></Response>
 *
 * and a missed call is turned away with <Response><Reject reason="busy"/></Response>,
 * which Twilio documents as not answering the call (the caller hears a busy tone and
 * pays nothing).
 */
#ifndef HISAAB_GATEWAY_TWILIO_VOICE_H
#define HISAAB_GATEWAY_TWILIO_VOICE_H

#include <stddef.h>

#include "core/buf.h"
#include "gateway/twilio.h"
#include "gateway/voice_call.h"
#include "gateway/voice_step.h"

struct http_request;

/*
 * Check the signature of req (token, public_url as for twilio_parse()) and take the call
 * out of its form into in. Returns 0, or -1 with *e set (403 for a bad or missing
 * signature, 400 without CallSid or for a field that is not valid: voice_call.h).
 */
int twilio_voice_parse(struct http_request *req, const char *token, const char *public_url,
                       struct voice_call_in *in, struct gateway_error *e) WUR;

/* The fields of in from Twilio's parameters kv[0..n) (voice_call_init() is done here).
 * Returns 0, or -1 with *e set (400 without CallSid, or a field not valid). */
int twilio_voice_fields(const struct twilio_kv *kv, size_t n, struct voice_call_in *in,
                        struct gateway_error *e) WUR;

/* Append the TwiML for s to out. Returns 0, or -1 (s fails voice_step_check(), a writer
 * error, or out's cap; out is then as it was). */
int twilio_voice_render(const struct voice_step *s, struct buf *out) WUR;

/* Append <Response><Reject reason="busy"/></Response> to out. Returns 0 or -1 (out's cap). */
int twilio_voice_reject(struct buf *out) WUR;

/*
 * Answer req (200, text/xml) with the TwiML for s. A step that cannot be rendered is
 * answered with <Response><Hangup/></Response> and -1 is returned (for the log); req is
 * answered either way. Returns 0 otherwise.
 */
int twilio_voice_reply(struct http_request *req, const struct voice_step *s);

/* Answer req (200, text/xml) with the Reject for a missed call. */
void twilio_voice_reply_reject(struct http_request *req);

#endif
