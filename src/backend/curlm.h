/*
 * Outbound HTTP for a worker's event loop: one libcurl multi handle driven by libevent
 * (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION), the only place the server runs
 * libcurl. Deferred SMS answers (Kannel's sendsms) and, later, the voice dialer's provider
 * calls go through it. Every transfer has a total and a connect timeout and a cap on the
 * response body; only http and https are allowed; redirects are not followed; the URL is
 * never logged (it may carry credentials).
 *
 * Callbacks run from the loop, never from inside curlm_start(), exactly once per started
 * transfer (also at curlm_exit(), with "shutdown"). State is per process. hisaab-etl, which
 * runs no loop, makes the same requests one at a time with curlm_perform().
 */
#ifndef HISAAB_BACKEND_CURLM_H
#define HISAAB_BACKEND_CURLM_H

#include <stddef.h>

#include "core/buf.h"

struct event_base;

#define CURLM_MAX_TRANSFERS 1024       /* running at once; more fail with "busy" */
#define CURLM_DEFAULT_TIMEOUT_MS 10000 /* when a request gives 0 */
#define CURLM_BODY_MAX (1u << 20)      /* default cap on a response body */
#define CURLM_MAX_HEADERS 16

struct curlm_request {
    const char *method;                         /* "GET" (default when NULL), "POST", ... */
    const char *url;                            /* http:// or https:// */
    const char *headers[CURLM_MAX_HEADERS + 1]; /* "Name: value", NULL-terminated */
    const char *body;                           /* request body (copied), or NULL */
    size_t body_len;
    const char *userpwd;     /* "user:password" for HTTP basic auth, or NULL */
    long timeout_ms;         /* whole transfer; 0 = CURLM_DEFAULT_TIMEOUT_MS */
    long connect_timeout_ms; /* 0 = min(timeout, 10 s) */
    size_t max_body;         /* response cap; 0 = CURLM_BODY_MAX */
};

/* A finished transfer. done is 1 when an HTTP answer came back (whatever its status), 0
 * when none did (timeout, refused, DNS, body over the cap, "busy", "shutdown": see
 * error). body/len are the whole response body when done ("" and 0 when empty), NULL and 0
 * when not; borrowed for the callback. */
struct curlm_result {
    int done;
    long status; /* the HTTP status; also when not done if a status line came, else 0 */
    const char *body;
    size_t len;
    const char *error; /* curl's message, or NULL when done; never holds the URL */
    long ms;           /* time the transfer took */
};

typedef void (*curlm_done_fn)(void *arg, const struct curlm_result *r);

/* Per worker: attach to base (curl_global_init() runs once per process). Returns 0 or -1
 * (already attached, or libcurl does not start; logged). */
int curlm_init(struct event_base *base) WUR;

/* Per worker, when stopping: every running transfer is abandoned and its callback called
 * with "shutdown" (from here; one that had failed early and waits for the loop gets its own
 * error instead), then everything is freed. A callback run from here cannot start another
 * transfer. curlm_init() may be called again afterwards. */
void curlm_exit(void);

/* Start r (everything in it is copied). A failure after r was accepted ("busy" beyond
 * CURLM_MAX_TRANSFERS, libcurl refusing the handle) reaches cb from the loop like any
 * other. The callback may start transfers and may call curlm_exit(). Returns 0 when cb will
 * be called; -1 (cb never called) when not started or r is invalid: no url or cb, a url not
 * http:// or https://, a method that is not a plain token, a header with CR or LF or
 * without a ':' (or ';'), more than CURLM_MAX_HEADERS headers, a body with GET or HEAD, a
 * negative timeout. */
int curlm_start(const struct curlm_request *r, curlm_done_fn cb, void *arg) WUR;

/* Transfers started whose callback has not run yet (running, or failed early and waiting
 * for the loop). */
size_t curlm_running(void);

/* The same request as curlm_start() (same options, caps and errors), but as one blocking
 * transfer on its own easy handle, for hisaab-etl: never in a worker, it stalls the loop.
 * Needs no curlm_init(). cb is called exactly once, before this returns. Returns 0 when cb
 * was called; -1 (cb not called) when r is invalid, as for curlm_start(). */
int curlm_perform(const struct curlm_request *r, curlm_done_fn cb, void *arg) WUR;

#endif
