/*
 * Exotel's REST API for placing a call into an app, as the missed-call dialer's client.
 * A request is (Exotel's "connect a number to a call flow")
 *
 *   POST {base}/v1/Accounts/{sid}/Calls/connect.json
 *   Authorization: Basic base64(api_key:api_token)
 *   From=<the number to call>&CallerId=<our ExoPhone>
 *   &Url=http://my.exotel.com/{sid}/exoml/start_voice/{app_id}&CallType=trans
 *   [&StatusCallback=<URL>]
 *
 * Exotel calls From and, once answered, runs the app (wired as exotel.h says); at the end
 * it POSTs CallSid and Status to StatusCallback. It answers 200 with {"Call": {"Sid": ..}}.
 * CallType=trans ("transactional") was required by older accounts and is harmless now.
 *
 * Settings come from the environment: EXOTEL_API_BASE (default https://api.exotel.com,
 * the Singapore cluster; https://api.in.exotel.com for Mumbai; a test points it at a
 * loopback server), EXOTEL_SID, EXOTEL_API_KEY, EXOTEL_API_TOKEN,
 * EXOTEL_CALLER_ID and EXOTEL_APP_ID. The key and token are never logged.
 */
#ifndef HISAAB_GATEWAY_EXOTEL_CALLS_H
#define HISAAB_GATEWAY_EXOTEL_CALLS_H

#include <stddef.h>

#include "core/buf.h"
#include "gateway/dial.h"

#define EXOTEL_API_BASE_DEFAULT "https://api.exotel.com"
#define EXOTEL_FLOW_BASE "http://my.exotel.com" /* Exotel's documented app URL */

struct exotel_calls_opts {
    const char *api_base;    /* never NULL after init */
    const char *account_sid; /* NULL: nothing can be placed */
    const char *api_key;     /* NULL: nothing can be placed */
    const char *api_token;   /* NULL: nothing can be placed */
    const char *caller_id;   /* CallerId: our ExoPhone; NULL: nothing can be placed */
    const char *app_id;      /* the app the call runs; NULL: nothing can be placed */
    long timeout_ms;         /* 0 = DIAL_TIMEOUT_MS */
};

/* Fill o from the environment; strings are borrowed from it. */
void exotel_calls_opts_init(struct exotel_calls_opts *o);

/* Append the request URL to out. Returns 0, or -1 (no account sid, or one that is not
 * letters, digits, '_' or '-'; out's cap; out is then as it was). */
int exotel_calls_url(const struct exotel_calls_opts *o, struct buf *out) WUR;

/* Append the form body for calling `to` into the app (status_url: NULL for no
 * StatusCallback) to out, percent-encoded. Returns 0, or -1 (to, the caller id, the
 * account sid or the app id missing or not valid, or out's cap; out is then as it was). */
int exotel_calls_form(const struct exotel_calls_opts *o, const char *to, const char *status_url,
                      struct buf *out) WUR;

/* The call's Call.Sid in Exotel's JSON answer into id (idlen bytes). Returns 0 or -1. */
int exotel_calls_id(const char *body, size_t len, char *id, size_t idlen) WUR;

/*
 * Place the call on the worker's loop (curlm_init() done). cb is called exactly once from
 * the loop with the outcome and Exotel's CallSid. Returns 0, or -1 (cb never called) when
 * an option is missing, the request cannot be built or the transfer cannot start.
 */
int exotel_calls_start(const struct exotel_calls_opts *o, const char *to, const char *status_url,
                       dial_done_fn cb, void *arg) WUR;

#endif
