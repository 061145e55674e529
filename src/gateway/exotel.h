/*
 * Exotel's voice webhooks. Exotel does not take a document of instructions: a call runs
 * through an app (a "flow" of applets built in Exotel's App Builder) and reaches us from
 * two kinds of applet, both with a GET whose query carries the call:
 *
 *  - Passthru: CallSid, CallFrom, CallTo (older accounts: From, To), digits (what the
 *    last Gather applet collected, written in double quotes, "\"1\"", by many accounts:
 *    both forms are read), and more we do not need. Its answer chooses between two links
 *    of the applet: 200 OK the first, 302 Found the second. The caller waits in silence
 *    until we answer, and Exotel gives up after a timeout of its own: answer at once.
 *  - Greeting with "Greeting from URL" (a URL typed as the greeting's text): CallSid,
 *    From, To. The answer is text/plain with one audio URL per line, which Exotel plays in
 *    order (WAV, 8 kHz mono 16-bit, as Exotel requires). Exotel also sends a HEAD first and
 *    wants the same headers (net/http answers HEAD as GET without the body).
 *
 * A status callback of a call we place (exotel_calls.h) is a POST form with CallSid,
 * Status ('completed', 'failed', 'busy', 'no-answer') and, with the terminal event,
 * ConversationDuration: exotel_parse() reads those too.
 *
 * Exotel does not sign these requests: the URLs typed into the app carry ?key=<secret>
 * (also as &key= after ask=), checked by exotel_parse() when a key is configured.
 *
 * HOW THE APP IS WIRED. The step (voice_step.h) is not sent to Exotel: the call flow
 * keeps the last step of each call (by CallSid) and the applets ask about it. Exotel does
 * not fetch a step's action or redirect URL either: when the call comes back to applet 1,
 * the flow goes on from the step it kept (with the digits when that step gathered, with
 * none after a redirect step; Exotel may repeat an earlier Gather's digits to a later
 * Passthru, so digits count only when the kept step gathered). Build one app:
 *
 *   1 Passthru  https://HOST/ivr/exotel/passthru?key=K         (sync: not "async")
 *       runs the flow: the turn for this call (first: the welcome; then the digits)
 *       200 (the step gathers digits) -> 2          302 (it does not) -> 5
 *   2 Passthru  https://HOST/ivr/exotel/passthru?ask=menu&key=K
 *       200 (a menu: one digit) -> 3                302 (more digits: a PIN) -> 4
 *   3 Greeting  https://HOST/ivr/exotel/greeting?key=K  -> Gather: 1 digit, no finish
 *       key, timeout 5 s, no prompt of its own -> 1 (after input and after none)
 *   4 Greeting  https://HOST/ivr/exotel/greeting?key=K  -> Gather: up to 6 digits,
 *       finish on '#', timeout 10 s, no prompt of its own -> 1 (after input and none)
 *   5 Passthru  https://HOST/ivr/exotel/passthru?ask=hangup&key=K
 *       200 (hang up after playing) -> 6            302 (play, then go on) -> 7
 *   6 Greeting  https://HOST/ivr/exotel/greeting?key=K  -> Hangup
 *   7 Greeting  https://HOST/ivr/exotel/greeting?key=K  -> 1
 *
 * The Gather applets' digit counts and timeouts are fixed in the app; a step's
 * num_digits and timeout_s beyond them are not seen by Exotel. Applets 2 and 5 and every
 * Greeting read the kept step and change nothing, so each answers from memory. The
 * app's id (the number in its URL in App Builder) is EXOTEL_APP_ID (exotel_calls.h), to
 * run the same app on the calls we place.
 */
#ifndef HISAAB_GATEWAY_EXOTEL_H
#define HISAAB_GATEWAY_EXOTEL_H

#include "core/buf.h"
#include "gateway/voice_call.h"
#include "gateway/voice_step.h"

struct http_request;

/* What a Passthru asks (its URL's ask= parameter); 200 answers yes, 302 no. */
enum exotel_question {
    EXOTEL_ASK_GATHER = 0, /* no ask=: run the flow; does the new step gather digits? */
    EXOTEL_ASK_MENU,       /* ask=menu: does the kept step gather one digit only? */
    EXOTEL_ASK_HANGUP,     /* ask=hangup: does the kept step hang up after playing? */
};

/*
 * Take the call out of req into in, and what a Passthru asks into *q (EXOTEL_ASK_GATHER
 * for a Greeting or a status callback, which have no ask=). key (NULL or "": no check)
 * must be the query's key parameter. Returns 0, or -1 with *e set (403 for a wrong key,
 * 400 without CallSid, for an unknown ask= or a field that is not valid).
 */
int exotel_parse(struct http_request *req, const char *key, struct voice_call_in *in,
                 enum exotel_question *q, struct gateway_error *e) WUR;

/* The same from a raw query (may be NULL) and a form body: what exotel_parse() reads. */
int exotel_parse_form(const char *query, struct slice body, const char *key,
                      struct voice_call_in *in, enum exotel_question *q,
                      struct gateway_error *e) WUR;

/* Append s's audio URLs to out, one per line ("URL\n" each; nothing for no audio). The
 * way on (gather, redirect, hangup) is the app's, not the greeting's. Returns 0, or -1
 * (s fails voice_step_check(), or out's cap; out is then as it was). */
int exotel_greeting(const struct voice_step *s, struct buf *out) WUR;

/* The status a Passthru asking q gets for step s: 200 (yes) or 302 (no), or -1 when s
 * fails voice_step_check(). */
int exotel_passthru_status(const struct voice_step *s, enum exotel_question q);

/* Answer a Greeting's req (200, text/plain) with exotel_greeting(s). A step that cannot be
 * rendered gets an empty answer (Exotel plays nothing and the app goes on) and -1 is
 * returned. req is answered either way. */
int exotel_greeting_reply(struct http_request *req, const struct voice_step *s);

/* Answer a Passthru's req asking q about s: 200 or 302 (with a Location back to our own
 * path, as a 302 must carry one; Exotel does not follow it). A step that fails the check
 * gets 302 and -1 is returned. */
int exotel_passthru_reply(struct http_request *req, const struct voice_step *s,
                          enum exotel_question q);

#endif
