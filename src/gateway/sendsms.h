/*
 * Kannel's sendsms HTTP API as a client: the one place that knows its parameters, its
 * timeouts and what its answers mean. The server sends deferred answers with it on the
 * worker's loop (curlm); hisaab-etl's monthly messages use the same request and the same
 * error classes with a blocking transfer (it runs no loop).
 *
 * A request is GET <url>?username=..&password=..&from=..&to=<E.164>&text=<UTF-8>
 * &charset=UTF-8[&coding=2] (coding 2 when the text needs UCS-2; from only when
 * configured). Settings come from kore.conf (kannel_sendsms_url, kannel_sendsms_user,
 * kannel_sendsms_from) and the environment, which wins: KANNEL_SENDSMS_URL,
 * KANNEL_SENDSMS_USER, KANNEL_SENDSMS_FROM, KANNEL_SENDSMS_PASSWORD (environment only).
 * The password is never logged: errors carry curl's message or the status, not the URL.
 * Kannel answers with one line; an answer body over 64 KiB counts as no answer.
 */
#ifndef HISAAB_GATEWAY_SENDSMS_H
#define HISAAB_GATEWAY_SENDSMS_H

#include <stddef.h>

#include "core/buf.h"
#include "text/smsenc.h"

struct config;

#define SENDSMS_TIMEOUT_MS 10000 /* per request, unless the options say otherwise */
#define SENDSMS_URL_MAX 8192

struct sendsms_opts {
    const char *url;      /* NULL: nothing can be sent */
    const char *user;     /* NULL: no username= */
    const char *password; /* NULL: no password= */
    const char *from;     /* NULL: no from= (Kannel's global-sender then) */
    long timeout_ms;      /* 0 = SENDSMS_TIMEOUT_MS */
};

/* What an attempt means for the caller. */
enum sendsms_outcome {
    SENDSMS_SENT = 0,     /* 2xx: Kannel took it */
    SENDSMS_GATEWAY_DOWN, /* no answer, 5xx, 429, 401, 403, 404: holds for every message;
                             stop sending and retry later */
    SENDSMS_REFUSED,      /* another status: this message is refused */
};

/* Fill o from cfg (may be NULL) and the environment (which wins); strings are borrowed
 * from cfg and the environment. */
void sendsms_opts_init(struct sendsms_opts *o, const struct config *cfg);

/* Append the request URL for text to `to` in coding to out (the values percent-encoded;
 * after the configured URL's own query, if any). Returns 0 or -1 (no URL configured, to or
 * text NULL, or out's cap; out is then as it was). */
int sendsms_url(const struct sendsms_opts *o, const char *to, const char *text,
                enum smsenc_coding coding, struct buf *out) WUR;

/* The outcome of an attempt: answered is 1 when an HTTP status came back. */
enum sendsms_outcome sendsms_classify(int answered, long status);

/*
 * Send on the worker's loop (curlm_init() done). cb(arg, outcome, err) is called exactly
 * once from the loop (err: why, for the log; NULL when sent). Returns 0, or -1 (cb never
 * called) when no URL is configured or the transfer cannot start.
 */
typedef void (*sendsms_done_fn)(void *arg, enum sendsms_outcome outcome, const char *err);
int sendsms_send(const struct sendsms_opts *o, const char *to, const char *text,
                 enum smsenc_coding coding, sendsms_done_fn cb, void *arg) WUR;

/*
 * Send and wait (for hisaab-etl; never in a worker). *latency_ms (may be NULL) gets the
 * time taken, err (errlen bytes, may be NULL) why it failed ("" when sent). Returns the
 * outcome: also SENDSMS_GATEWAY_DOWN when no URL is configured or it is not http(s), and
 * SENDSMS_REFUSED ("request too long") when the URL would pass SENDSMS_URL_MAX.
 */
enum sendsms_outcome sendsms_send_blocking(const struct sendsms_opts *o, const char *to,
                                           const char *text, enum smsenc_coding coding,
                                           long *latency_ms, char *err, size_t errlen);

#endif
