/*
 * What placing a call through a provider's REST API comes to, shared by the dialer's
 * clients (twilio_calls.h, exotel_calls.h) so that the missed-call dialer treats every
 * provider alike: the provider's id for the new call, or a class of failure that says
 * whether to try other calls now (sendsms.h's classes, for calls).
 *
 * The request runs on the worker's loop through backend/curlm.h (a total and a connect
 * timeout, a capped answer, no redirects); the answer's id is read by the provider's
 * client. Errors carry curl's message or the HTTP status, never the URL or credentials.
 */
#ifndef HISAAB_GATEWAY_DIAL_H
#define HISAAB_GATEWAY_DIAL_H

#include <stddef.h>

#include "backend/curlm.h"
#include "core/buf.h"

#define DIAL_TIMEOUT_MS 10000 /* per request, unless the options say otherwise */
#define DIAL_ID_MAX 72        /* bytes of a provider's call id, with its NUL */
#define DIAL_BODY_MAX (64 * 1024)

enum dial_outcome {
    DIAL_PLACED = 0,    /* 2xx: the provider took the call (it may still not connect) */
    DIAL_PROVIDER_DOWN, /* no answer, 5xx, 429, 401, 403, 404: holds for every call;
                           stop dialling and retry later */
    DIAL_REFUSED,       /* another status (400: this number, say): this call is refused */
};

struct dial_result {
    enum dial_outcome outcome;
    const char *call_id; /* the provider's id when placed and its answer named one, else "" */
    long status;         /* the HTTP status, 0 when none came */
    const char *error;   /* why, for the log ("HTTP 503", curl's message, "no call id in
                            the answer"); NULL when placed with an id */
    long ms;             /* time the request took */
};

/* Called exactly once from the loop; r and its strings are borrowed for the call. */
typedef void (*dial_done_fn)(void *arg, const struct dial_result *r);

/* The provider's call id in an answer body: copy it into id (idlen bytes) and return 0, or
 * -1 when the body names none that fits. */
typedef int (*dial_id_fn)(const char *body, size_t len, char *id, size_t idlen);

/* The outcome of an attempt: answered is 1 when an HTTP status came back. */
enum dial_outcome dial_classify(int answered, long status);

/*
 * POST the form body (form_len bytes, application/x-www-form-urlencoded) to url with HTTP
 * basic auth user:password on the worker's loop (curlm_init() done; everything is
 * copied), with timeout_ms for the whole request (0 = DIAL_TIMEOUT_MS), and, when it
 * ends, call cb with its outcome and the id that id_of finds in a 2xx answer. Returns 0
 * when cb will be called, -1 (cb never called) when an argument is missing or the
 * transfer cannot start.
 */
int dial_post(const char *url, const char *form, size_t form_len, const char *user,
              const char *password, long timeout_ms, dial_id_fn id_of, dial_done_fn cb,
              void *arg) WUR;

/* 1 if s is a non-empty run of A-Z a-z 0-9 '_' '-' (what an account id may be, as it goes
 * into a URL's path unescaped), else 0. */
int dial_token_ok(const char *s);

/*
 * A provider's REST URL for an account, appended to out: base (a trailing '/' dropped),
 * then before, the account id (which must pass dial_token_ok()), then after:
 * ("https://api.twilio.com", "/2010-04-01/Accounts/", sid, "/Calls.json"). Returns 0, or
 * -1 with out as it was (no base, a bad id, out's cap).
 */
int dial_account_url(const char *base, const char *before, const char *account, const char *after,
                     struct buf *out) WUR;

#endif
