/*
 * The voice channel: IVR calls and the callbacks after missed calls, in Hindi and
 * English, one call flow (vflow.h) for every provider (gateway/twilio_voice.h,
 * gateway/plivo.h, gateway/vxml.h, gateway/exotel.h):
 *
 *   POST /ivr/twilio/voice     Twilio: the number's "A call comes in" URL, and every
 *                              <Gather action> / <Redirect> the flow gives (signed)
 *   POST /ivr/plivo/voice      Plivo: the application's Answer URL (?key=)
 *   GET|POST /ivr/vxml/voice   a VoiceXML 2.1 browser's start URL (?key=)
 *   GET /ivr/exotel/passthru   Exotel: the Passthru applets of the app (?key=)
 *   GET /ivr/exotel/greeting   Exotel: the "Greeting from URL" applets (?key=)
 *   POST /ivr/twilio/status, /ivr/exotel/status, /ivr/plivo/status
 *                              how a call ended (duration, outcome; callback.h)
 *
 * Per step, on the shared channel core: the caller's number is hashed (channel/phone.h);
 * on the first step what is remembered of it (any channel: channel/memory.h) chooses the
 * language and offers the district; the district directory answers PIN codes
 * (data/geo.h) and holds the figures; the summary is the one of media/voicesum.h, played
 * from /audio/districts/{id}/{lang}.wav; every prompt is a clip of the library
 * (/audio/clips/{lang}/{id}.wav). The call's state travels in the action URLs (Twilio,
 * Plivo, VoiceXML) or in the call store (channel/session.h: Exotel).
 *
 * Every step answered is journaled once (voice_steps, and its call in voice_calls:
 * sql/009): provider call id, hashed number, direction, language, district, keys pressed
 * (a PIN never: "[PIN]"), latency; with no room in the journal the webhook answers 503
 * before anything (the provider retries or plays its own failure message).
 */
#ifndef HISAAB_VOICE_H
#define HISAAB_VOICE_H

struct config;
struct event_base;
struct http_request;

#define VOICE_DEADLINE_MS 1500 /* every step is answered by then (Exotel waits less) */
#define VOICE_RECORDS_MAX 4    /* journal records one step may add */
/* Exotel calls and callbacks not yet named are kept in the conversation store
 * (channel/session.h) under this space, two hours after their last step. */
#define VOICE_SESSION_SPACE "vcall:exotel"
#define VOICE_SESSION_TTL_S 7200

/* Declare the channel's journal streams; before journal_init(). Returns 0 or -1. */
int voice_register(void) __attribute__((warn_unused_result));

/* Per worker, after the journal, the directory, memory, curlm and Redis. The clip library
 * must be loaded (media/clips.h) or every IVR webhook answers 503. Returns 0 or -1. */
int voice_init(struct event_base *base, const struct config *cfg)
    __attribute__((warn_unused_result));

/* Per worker, when stopping (after the HTTP server drained, before the journal). */
void voice_exit(void);

/* Handlers. */
void voice_twilio(struct http_request *req);
void voice_plivo(struct http_request *req);
void voice_vxml(struct http_request *req);
void voice_exotel_passthru(struct http_request *req);
void voice_exotel_greeting(struct http_request *req);
void voice_twilio_status(struct http_request *req);
void voice_exotel_status(struct http_request *req);
void voice_plivo_status(struct http_request *req);

/* Every clip id the flow and the summaries need (for the check at start), NULL-ended
 * through voice_clip_at(i). */
const char *voice_clip_at(unsigned i);

#endif
