/*
 * One step of a phone call, as the call flow (src/voice/) decides it and before any
 * provider's format: audio to play, then either collect keypad digits (DTMF) and send them
 * to an action URL, or fetch the next step from a URL, or hang up. Each provider renders
 * it in its own way (twilio_voice.h: TwiML; plivo.h: Plivo XML; vxml.h: VoiceXML 2.1;
 * exotel.h: an Exotel app's Greeting and Passthru answers), so the call flow never knows
 * which one carries the call.
 *
 * A step is borrowed memory (URLs are the caller's strings) and is checked the same way
 * by every renderer (voice_step_check): the URLs are absolute http(s) URLs of printable
 * ASCII (already percent-encoded; the renderers escape them for XML), and exactly one of
 * gather, redirect and hangup is chosen.
 */
#ifndef HISAAB_GATEWAY_VOICE_STEP_H
#define HISAAB_GATEWAY_VOICE_STEP_H

#include <stddef.h>

#include "core/buf.h"

#define VOICE_STEP_MAX_PLAY 64
#define VOICE_STEP_MAX_DIGITS 20  /* num_digits at most (voice_call_in's digits hold 31) */
#define VOICE_STEP_MAX_TIMEOUT 60 /* timeout_s at most, in seconds */
#define VOICE_STEP_URL_MAX 2048   /* bytes of one URL at most */
#define VOICE_STEP_DOC_MAX 262144 /* bytes of a rendered answer at most (64 URLs of 2 KiB) */

struct voice_step {
    const char *play[VOICE_STEP_MAX_PLAY]; /* absolute URLs of WAV files to play, in order */
    size_t nplay;
    int gather;           /* 1: after (or while) playing, collect DTMF digits */
    int num_digits;       /* most digits to collect (1 for a menu, 6 for a PIN) */
    int finish_on_hash;   /* '#' ends the input (PIN entry); 0: '#' is not special */
    int timeout_s;        /* seconds to wait for the first/next digit */
    const char *action;   /* absolute URL the digits (or no input) go to */
    const char *redirect; /* no gather: after playing, fetch this URL for the next step */
    int hangup;           /* no gather, no redirect: hang up after playing */
};

/*
 * 0 if s can be rendered, -1 if not: more than VOICE_STEP_MAX_PLAY plays, a play, action
 * or redirect URL that is not http:// or https:// followed by printable ASCII (no blank,
 * no control byte) or is longer than VOICE_STEP_URL_MAX, not exactly one of gather,
 * redirect != NULL and hangup, a gather without an action or with num_digits outside
 * 1..VOICE_STEP_MAX_DIGITS or timeout_s outside 1..VOICE_STEP_MAX_TIMEOUT. A gather
 * may play nothing (it then waits in silence); so may a redirect or a hangup.
 */
int voice_step_check(const struct voice_step *s) WUR;

/* A provider's renderer: append s in its format to out; 0, or -1 leaving out as it was. */
typedef int (*voice_render_fn)(const struct voice_step *s, struct buf *out);

struct http_request;

/*
 * Answer req (200, content_type) with render(s). When s cannot be rendered, the answer is
 * render() of a bare hangup step and -1 is returned (for the log); should even that fail,
 * 500. req is answered exactly once either way. Returns 0 when s was sent.
 */
int voice_step_reply(struct http_request *req, voice_render_fn render, const struct voice_step *s,
                     const char *content_type);

/* 1 if url is an absolute http:// or https:// URL as voice_step_check() wants, else 0. */
int voice_step_url_ok(const char *url);

#endif
