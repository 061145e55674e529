/*
 * Twilio's REST API for placing a call, as the missed-call dialer's client: the one place
 * that knows its URL, its form and what its answers mean. A request is
 *
 *   POST {base}/2010-04-01/Accounts/{AccountSid}/Calls.json
 *   Authorization: Basic base64(AccountSid:AuthToken)
 *   To=<number>&From=<our Twilio number>&Url=<the call flow's start URL>&Method=POST
 *   [&StatusCallback=<URL>&StatusCallbackEvent=completed]
 *
 * (Twilio's "Create a Call" resource; when the callee answers, Twilio POSTs to Url and
 * runs the TwiML it gets, twilio_voice.h; at the end it POSTs CallStatus and CallDuration
 * to StatusCallback.) Twilio answers 201 with the call as JSON: its id is "sid" ("CA..").
 *
 * Settings come from the environment: TWILIO_API_BASE (default https://api.twilio.com;
 * a test points it at a loopback server), TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN (also
 * kore.conf's copy of it, struct config's twilio_auth_token, read from the environment
 * too) and TWILIO_CALLER_ID. The token is never logged: errors carry curl's message or
 * the status, not the URL or the credentials.
 */
#ifndef HISAAB_GATEWAY_TWILIO_CALLS_H
#define HISAAB_GATEWAY_TWILIO_CALLS_H

#include <stddef.h>

#include "core/buf.h"
#include "gateway/dial.h"

struct config;

#define TWILIO_API_BASE_DEFAULT "https://api.twilio.com"

struct twilio_calls_opts {
    const char *api_base;    /* no trailing '/' needed; never NULL after init */
    const char *account_sid; /* NULL: nothing can be placed */
    const char *auth_token;  /* NULL: nothing can be placed */
    const char *caller_id;   /* From: our Twilio number (E.164); NULL: nothing placed */
    long timeout_ms;         /* 0 = DIAL_TIMEOUT_MS */
};

/* Fill o from the environment (cfg, may be NULL, gives the auth token when the environment
 * does not); strings are borrowed from the environment and cfg. */
void twilio_calls_opts_init(struct twilio_calls_opts *o, const struct config *cfg);

/* Append the request URL to out. Returns 0, or -1 (no account sid or one that is not
 * letters, digits, '_' or '-'; out's cap; out is then as it was). */
int twilio_calls_url(const struct twilio_calls_opts *o, struct buf *out) WUR;

/* Append the form body for calling `to` and running the flow at url (status_url: NULL for
 * no StatusCallback) to out, percent-encoded (net/form.h). Returns 0, or -1 (to, url or
 * the caller id missing, or out's cap; out is then as it was). */
int twilio_calls_form(const struct twilio_calls_opts *o, const char *to, const char *url,
                      const char *status_url, struct buf *out) WUR;

/* The call's "sid" in Twilio's JSON answer into id (idlen bytes). Returns 0, or -1 (not a
 * JSON object, no string sid, or one that does not fit). */
int twilio_calls_id(const char *body, size_t len, char *id, size_t idlen) WUR;

/*
 * Place the call on the worker's loop (curlm_init() done). cb is called exactly once from
 * the loop with the outcome and Twilio's sid. Returns 0, or -1 (cb never called) when an
 * option is missing, the request cannot be built or the transfer cannot start.
 */
int twilio_calls_start(const struct twilio_calls_opts *o, const char *to, const char *url,
                       const char *status_url, dial_done_fn cb, void *arg) WUR;

#endif
