/*
 * Missed-call callbacks: a villager rings the missed-call number, the call is turned
 * away unanswered (free for them), and within a minute the service calls back and says
 * their district's figures (the call flow of vflow.h, as a callback).
 *
 *   POST /missedcall/twilio    Twilio's "A call comes in" of the missed-call number
 *                              (signed); answered <Reject reason="busy"/> at once
 *   GET  /missedcall/exotel    an Exotel Passthru (?key=); answered 200 at once
 *   POST /missedcall/generic   JSON {"from": "<number>", "id": "<call id>"} (?key=);
 *                              answered 202 {"status":"queued"} (or "not_queued")
 *
 * Each answer comes after the callback is in the journal (table voice_callbacks,
 * sql/009; a missed call's id makes one callback however often the webhook is retried),
 * never before; with no room, 503 and the provider retries. The number to dial is kept
 * sealed (channel/phone.h) and wiped when the callback is finished.
 *
 * Rules: one callback per number per callback_per_number_minutes (counted at the
 * webhook through the channel gate, and again when the row is written); the dialer
 * places at most callback_calls_per_minute calls a minute across all workers and
 * instances (one dialer at a time holds a Postgres advisory lock), none during
 * callback_quiet_hours (India time: they wait for the morning) and none once the day's
 * callback_daily_minutes of finished calls are used; a busy / no-answer / failed attempt
 * is tried again after each of callback_retry_minutes (5 and 30 minutes), then the
 * callback fails. Provider status callbacks (voice.h) close the record. A provider that
 * hangs is cut off by the request timeout (gateway/dial.h) and the row goes back to the
 * queue; a worker that died while dialling leaves a row that goes back after
 * CALLBACK_STALE_S. A callback still queued after CALLBACK_EXPIRE_S is given up.
 *
 * The dialer is Twilio (Calls.json, TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN /
 * TWILIO_CALLER_ID / TWILIO_API_BASE) or Exotel (Calls/connect, EXOTEL_SID /
 * EXOTEL_API_KEY / EXOTEL_API_TOKEN / EXOTEL_CALLER_ID / EXOTEL_APP_ID /
 * EXOTEL_API_BASE): the provider the missed call came through, or callback_provider. It
 * gives the provider absolute URLs under public_url, which must be set for dialling.
 */
#ifndef HISAAB_VOICE_CALLBACK_H
#define HISAAB_VOICE_CALLBACK_H

#include <time.h>

#include "gateway/voice_call.h"

struct config;
struct event_base;
struct http_request;

#define CALLBACK_TICK_MS 1000      /* the dialer looks for due callbacks this often */
#define CALLBACK_CLAIM_MAX 20      /* callbacks one worker takes per look */
#define CALLBACK_STALE_S 120       /* a 'dialing' row without an answer goes back then */
#define CALLBACK_RINGING_S 7200    /* a call without a status callback is closed then */
#define CALLBACK_EXPIRE_S 86400    /* a callback not placed within a day is given up */
#define CALLBACK_DOWN_BACKOFF_S 60 /* a provider that is down is left alone this long */
#define CALLBACK_GATE_WAIT_MS 200

/* Declare the journal streams; before journal_init(). Returns 0 or -1. */
int callback_register(void) __attribute__((warn_unused_result));

/* Per worker (after the journal, the gate, Postgres and curlm). Returns 0 or -1. */
int callback_init(struct event_base *base, const struct config *cfg)
    __attribute__((warn_unused_result));
void callback_exit(void);

/* A provider's status callback for a call (in: call id, status, duration): journaled
 * into voice_calls and, for a callback's call, voice_callbacks. Returns 0, or -1 when the
 * journal did not take it. */
int callback_status(const char *provider, const struct voice_call_in *in)
    __attribute__((warn_unused_result));

/* Handlers. */
void callback_twilio(struct http_request *req);
void callback_exotel(struct http_request *req);
void callback_generic(struct http_request *req);

/* 1 when now (UTC seconds) falls in the quiet hours [from_min, to_min) of India time
 * (minutes of the day; they may wrap past midnight; -1 = none). Public for the tests. */
int callback_quiet(time_t now, int from_min, int to_min);

#endif
