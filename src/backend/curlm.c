/*
 * libcurl multi on a worker's libevent loop; see curlm.h.
 *
 * libcurl tells us which sockets to watch (sock_cb: one persistent event per socket,
 * re-assigned when the interest changes, freed on CURL_POLL_REMOVE) and when to wake it
 * (timer_cb: one timer); both events call curl_multi_socket_action() and then collect the
 * finished transfers. A transfer (struct xfer) is RUNNING in the multi handle or FAILING:
 * refused before it reached libcurl (too many running, a handle libcurl would not take),
 * it waits for a zero timer so that its callback never runs inside curlm_start(). Each
 * callback is called after the transfer has left every list, as the last thing done with
 * the multi handle in that event, so it may start transfers or call curlm_exit().
 *
 * The same easy-handle setup serves curlm_perform(), the blocking form for hisaab-etl.
 */
#include "backend/curlm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "core/log.h"
#include "core/mem.h"

#define CONNECT_TIMEOUT_MAX_MS 10000L
#define ERROR_MAX (CURL_ERROR_SIZE + 64)

enum xfer_state { XFER_RUNNING, XFER_FAILING };

struct xfer {
    TAILQ_ENTRY(xfer) link;
    enum xfer_state state;
    CURL *easy;
    struct curl_slist *headers;
    struct buf resp; /* the response body, capped at max_body */
    int too_big;     /* the body went over the cap */
    size_t max_body;
    char errbuf[CURL_ERROR_SIZE];
    char error[ERROR_MAX]; /* the message handed to the callback */
    struct timespec t0;
    struct event *later; /* FAILING: the zero timer that delivers error */
    curlm_done_fn cb;
    void *arg;
};

TAILQ_HEAD(xfer_list, xfer);

/* A socket libcurl asked us to watch, attached to it with curl_multi_assign(). */
struct sock {
    TAILQ_ENTRY(sock) link;
    curl_socket_t fd;
    struct event *ev;
};

TAILQ_HEAD(sock_list, sock);

static struct {
    int started;
    unsigned gen; /* bumped by curlm_exit(): a loop over finished transfers stops */
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct xfer_list running;
    struct xfer_list failing;
    struct sock_list socks;
    size_t nrunning;
    size_t nfailing;
} M;

/* curl_global_init() once per process: 0 not tried, 1 done, -1 failed. */
static int global_state;

static int global_init(void)
{
    if (global_state == 0)
        global_state = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 1 : -1;
    return global_state == 1 ? 0 : -1;
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ---- validation ------------------------------------------------------------------- */

static int has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* An HTTP method: 1..20 characters of A-Z (all methods we would ever send). */
static int valid_method(const char *m)
{
    size_t i;

    for (i = 0; m[i] != '\0'; i++)
        if (m[i] < 'A' || m[i] > 'Z' || i >= 20)
            return 0;
    return i > 0;
}

static int valid_request(const struct curlm_request *r)
{
    const char *m;
    size_t i;

    if (r == NULL || r->url == NULL || has_crlf(r->url) ||
        (strncasecmp(r->url, "http://", 7) != 0 && strncasecmp(r->url, "https://", 8) != 0))
        return 0;
    m = r->method != NULL ? r->method : "GET";
    if (!valid_method(m))
        return 0;
    if ((r->body != NULL || r->body_len > 0) &&
        (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || r->body == NULL))
        return 0;
    for (i = 0; i < CURLM_MAX_HEADERS && r->headers[i] != NULL; i++)
        if (has_crlf(r->headers[i]) || strpbrk(r->headers[i], ":;") == NULL ||
            r->headers[i][0] == ':' || r->headers[i][0] == ';')
            return 0;
    if (r->headers[CURLM_MAX_HEADERS] != NULL)
        return 0;
    if (r->userpwd != NULL && has_crlf(r->userpwd))
        return 0;
    return r->timeout_ms >= 0 && r->connect_timeout_ms >= 0;
}

/* ---- one transfer ----------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;

    if (buf_append(&x->resp, p, len) != 0) {
        x->too_big = 1;
        return 0; /* libcurl fails the transfer with CURLE_WRITE_ERROR */
    }
    return len;
}

static struct xfer *xfer_new(const struct curlm_request *r, curlm_done_fn cb, void *arg)
{
    struct xfer *x = xcalloc(1, sizeof(*x));

    x->max_body = r->max_body > 0 ? r->max_body : CURLM_BODY_MAX;
    buf_init(&x->resp, x->max_body);
    x->cb = cb;
    x->arg = arg;
    clock_gettime(CLOCK_MONOTONIC, &x->t0);
    return x;
}

static void xfer_free(struct xfer *x)
{
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    if (x->later != NULL)
        event_free(x->later);
    buf_free(&x->resp);
    free(x);
}

static int has_header(const struct curlm_request *r, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < CURLM_MAX_HEADERS && r->headers[i] != NULL; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 &&
            (r->headers[i][n] == ':' || r->headers[i][n] == ';'))
            return 1;
    return 0;
}

/* Append one line to x's header list. 0 or -1. */
static int add_header(struct xfer *x, const char *line)
{
    struct curl_slist *l = curl_slist_append(x->headers, line);

    if (l == NULL)
        return -1;
    x->headers = l;
    return 0;
}

/* x's header list from r's headers. 0 or -1 (out of memory). */
static int build_headers(struct xfer *x, const struct curlm_request *r)
{
    size_t i;
    int rc = -1;

    for (i = 0; i < CURLM_MAX_HEADERS && r->headers[i] != NULL; i++)
        if (add_header(x, r->headers[i]) != 0)
            goto out;
    /* A body is sent at once: no round trip waiting for "100 Continue". */
    if (r->body != NULL && !has_header(r, "Expect") && add_header(x, "Expect:") != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

/* Create x's easy handle and set every option of r on it. 0, or -1 (x->error says why). */
static int setup_easy(struct xfer *x, const struct curlm_request *r)
{
    const char *method = r->method != NULL ? r->method : "GET";
    long timeout = r->timeout_ms > 0 ? r->timeout_ms : CURLM_DEFAULT_TIMEOUT_MS;
    long connect = r->connect_timeout_ms;
    CURLcode cc = CURLE_OK;
    CURL *e;
    int rc = -1;

    if (connect == 0)
        connect = timeout < CONNECT_TIMEOUT_MAX_MS ? timeout : CONNECT_TIMEOUT_MAX_MS;
    e = x->easy = curl_easy_init();
    if (e == NULL || build_headers(x, r) != 0) {
        snprintf(x->error, sizeof(x->error), "cannot start: out of memory");
        goto out;
    }
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(e, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_URL, r->url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_TIMEOUT_MS, timeout);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect);
    SET(CURLOPT_USERAGENT, "hisaab/1");
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, x);
    /* A declared length over the cap fails before any of the body is read. */
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_body);
    if (x->headers != NULL)
        SET(CURLOPT_HTTPHEADER, x->headers);
    if (r->userpwd != NULL) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERPWD, r->userpwd);
    }
    if (strcmp(method, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    } else if (r->body != NULL) {
        /* The size first, so that COPYPOSTFIELDS copies body_len bytes, NULs included. */
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        SET(CURLOPT_COPYPOSTFIELDS, r->body);
        if (strcmp(method, "POST") != 0)
            SET(CURLOPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "POST") == 0) {
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        SET(CURLOPT_COPYPOSTFIELDS, "");
    } else if (strcmp(method, "GET") != 0) {
        SET(CURLOPT_CUSTOMREQUEST, method);
    }
#undef SET
    if (cc != CURLE_OK) {
        snprintf(x->error, sizeof(x->error), "cannot start: %s", curl_easy_strerror(cc));
        goto out;
    }
    rc = 0;
out:
    return rc;
}

/*
 * The message for a transfer that ended with cc. curl's error buffer is the more precise,
 * but it is used only when it holds nothing that looks like a part of a URL (a scheme, a
 * query, user information): the URL may carry credentials.
 */
static void describe(struct xfer *x, CURLcode cc)
{
    const char *eb = x->errbuf;

    if (x->too_big || cc == CURLE_FILESIZE_EXCEEDED)
        snprintf(x->error, sizeof(x->error), "response body over %zu bytes", x->max_body);
    else if (eb[0] != '\0' && strstr(eb, "://") == NULL && strpbrk(eb, "?@&=") == NULL)
        snprintf(x->error, sizeof(x->error), "%s", eb);
    else
        snprintf(x->error, sizeof(x->error), "%s", curl_easy_strerror(cc));
}

/* Call x's callback with the outcome cc of its transfer (x is on no list), then free x. */
static void deliver(struct xfer *x, CURLcode cc)
{
    struct curlm_result r;

    memset(&r, 0, sizeof(r));
    if (x->easy != NULL)
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r.status);
    if (cc == CURLE_OK && !x->too_big) {
        r.done = 1;
        r.body = buf_cstr(&x->resp);
        r.len = x->resp.len;
    } else {
        describe(x, cc);
        r.error = x->error;
    }
    r.ms = elapsed_ms(&x->t0);
    x->cb(x->arg, &r);
    xfer_free(x);
}

/* Call x's callback with its early error (x->error; x is on no list), then free x. */
static void deliver_error(struct xfer *x)
{
    struct curlm_result r;

    memset(&r, 0, sizeof(r));
    r.error = x->error;
    r.ms = elapsed_ms(&x->t0);
    x->cb(x->arg, &r);
    xfer_free(x);
}

/* ---- the loop --------------------------------------------------------------------- */

/* Hand every finished transfer to its callback. */
static void collect(void)
{
    unsigned gen = M.gen;
    struct xfer *x;
    CURLMsg *msg;
    CURLcode cc;
    CURL *e;
    int left;

    while (M.started && M.gen == gen && (msg = curl_multi_info_read(M.multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        e = msg->easy_handle;
        cc = msg->data.result; /* msg is invalid once the handle is removed */
        x = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        curl_multi_remove_handle(M.multi, e);
        if (x == NULL) {
            curl_easy_cleanup(e); /* never: every handle we add carries its xfer */
            continue;
        }
        TAILQ_REMOVE(&M.running, x, link);
        M.nrunning--;
        deliver(x, cc);
    }
}

static void on_socket(evutil_socket_t fd, short what, void *arg)
{
    int running = 0, action = 0;

    (void)arg; /* the struct sock may be freed by the call below */
    if (what & EV_READ)
        action |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        action |= CURL_CSELECT_OUT;
    curl_multi_socket_action(M.multi, fd, action, &running);
    collect();
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    int running = 0;

    (void)fd;
    (void)what;
    (void)arg;
    curl_multi_socket_action(M.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    collect();
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    struct xfer *x = arg;

    (void)fd;
    (void)what;
    TAILQ_REMOVE(&M.failing, x, link);
    M.nfailing--;
    deliver_error(x);
}

static void sock_free(struct sock *s)
{
    TAILQ_REMOVE(&M.socks, s, link);
    event_free(s->ev);
    free(s);
}

/* libcurl's CURLMOPT_SOCKETFUNCTION: watch fd for what it asks, or stop watching it. */
static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *sockp)
{
    struct sock *s = sockp;
    short kind;

    (void)e;
    (void)userp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL)
            sock_free(s); /* libcurl forgets the assignment itself */
        return 0;
    }
    kind = (short)(EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                   ((what & CURL_POLL_OUT) ? EV_WRITE : 0));
    if (s == NULL) {
        s = xcalloc(1, sizeof(*s));
        s->fd = fd;
        s->ev = event_new(M.base, fd, kind, on_socket, s);
        if (s->ev == NULL) {
            log_error("curlm: cannot create a socket event");
            abort();
        }
        TAILQ_INSERT_TAIL(&M.socks, s, link);
        curl_multi_assign(M.multi, fd, s);
    } else {
        event_del(s->ev);
        event_assign(s->ev, M.base, fd, kind, on_socket, s);
    }
    if (event_add(s->ev, NULL) != 0)
        log_warn("curlm: cannot watch a socket; its transfer ends at its timeout");
    return 0;
}

/* libcurl's CURLMOPT_TIMERFUNCTION: wake it after timeout_ms (-1: never). */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct timeval tv;

    (void)multi;
    (void)userp;
    if (timeout_ms < 0) {
        evtimer_del(M.timer);
        return 0;
    }
    /* Even at 0, from the loop: libcurl must not be called back into from here. */
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    evtimer_add(M.timer, &tv);
    return 0;
}

/* Queue x's early failure (x->error) for the next loop iteration. */
static void fail_later(struct xfer *x)
{
    static const struct timeval zero = {0, 0};

    if (x->easy != NULL) {
        curl_easy_cleanup(x->easy);
        x->easy = NULL;
    }
    x->state = XFER_FAILING;
    x->later = evtimer_new(M.base, on_later, x);
    if (x->later == NULL) {
        log_error("curlm: cannot create a timer");
        abort();
    }
    TAILQ_INSERT_TAIL(&M.failing, x, link);
    M.nfailing++;
    evtimer_add(x->later, &zero);
}

/* ---- public ----------------------------------------------------------------------- */

int curlm_init(struct event_base *base)
{
    int rc = -1;

    if (M.started || base == NULL) {
        log_error("curlm: %s", base == NULL ? "no event base" : "already started");
        goto out;
    }
    if (global_init() != 0) {
        log_error("curlm: libcurl does not start (curl_global_init)");
        goto out;
    }
    memset(&M, 0, sizeof(M));
    TAILQ_INIT(&M.running);
    TAILQ_INIT(&M.failing);
    TAILQ_INIT(&M.socks);
    M.base = base;
    M.multi = curl_multi_init();
    M.timer = evtimer_new(base, on_timer, NULL);
    if (M.multi == NULL || M.timer == NULL ||
        curl_multi_setopt(M.multi, CURLMOPT_SOCKETFUNCTION, sock_cb) != CURLM_OK ||
        curl_multi_setopt(M.multi, CURLMOPT_TIMERFUNCTION, timer_cb) != CURLM_OK) {
        log_error("curlm: libcurl multi does not start");
        if (M.multi != NULL)
            curl_multi_cleanup(M.multi);
        if (M.timer != NULL)
            event_free(M.timer);
        memset(&M, 0, sizeof(M));
        goto out;
    }
    M.started = 1;
    rc = 0;
out:
    return rc;
}

void curlm_exit(void)
{
    struct xfer_list running, failing;
    struct xfer *x;
    struct sock *s;

    if (!M.started)
        return;
    M.started = 0;
    M.gen++;
    TAILQ_INIT(&running);
    TAILQ_INIT(&failing);
    while ((x = TAILQ_FIRST(&M.running)) != NULL) {
        TAILQ_REMOVE(&M.running, x, link);
        curl_multi_remove_handle(M.multi, x->easy);
        TAILQ_INSERT_TAIL(&running, x, link);
    }
    while ((x = TAILQ_FIRST(&M.failing)) != NULL) {
        TAILQ_REMOVE(&M.failing, x, link);
        event_del(x->later);
        TAILQ_INSERT_TAIL(&failing, x, link);
    }
    M.nrunning = M.nfailing = 0;
    /* May still call sock_cb and timer_cb: the events go after it. */
    curl_multi_cleanup(M.multi);
    M.multi = NULL;
    while ((s = TAILQ_FIRST(&M.socks)) != NULL)
        sock_free(s);
    event_free(M.timer);
    M.timer = NULL;
    while ((x = TAILQ_FIRST(&running)) != NULL) {
        TAILQ_REMOVE(&running, x, link);
        snprintf(x->error, sizeof(x->error), "shutdown");
        deliver_error(x);
    }
    while ((x = TAILQ_FIRST(&failing)) != NULL) {
        TAILQ_REMOVE(&failing, x, link);
        deliver_error(x);
    }
}

int curlm_start(const struct curlm_request *r, curlm_done_fn cb, void *arg)
{
    struct xfer *x;
    CURLMcode mc;
    int rc = -1;

    if (!M.started || cb == NULL || !valid_request(r))
        goto out;
    x = xfer_new(r, cb, arg);
    rc = 0;
    if (M.nrunning >= CURLM_MAX_TRANSFERS) {
        snprintf(x->error, sizeof(x->error), "busy");
        fail_later(x);
        goto out;
    }
    if (setup_easy(x, r) != 0) {
        fail_later(x);
        goto out;
    }
    x->state = XFER_RUNNING;
    TAILQ_INSERT_TAIL(&M.running, x, link);
    M.nrunning++;
    /* libcurl arms its timer from here (timer_cb); nothing completes before the loop. */
    mc = curl_multi_add_handle(M.multi, x->easy);
    if (mc != CURLM_OK) {
        TAILQ_REMOVE(&M.running, x, link);
        M.nrunning--;
        snprintf(x->error, sizeof(x->error), "cannot start: %s", curl_multi_strerror(mc));
        fail_later(x);
    }
out:
    return rc;
}

size_t curlm_running(void)
{
    return M.nrunning + M.nfailing;
}

int curlm_perform(const struct curlm_request *r, curlm_done_fn cb, void *arg)
{
    struct xfer *x;
    CURLcode cc;
    int rc = -1;

    if (cb == NULL || !valid_request(r))
        goto out;
    x = xfer_new(r, cb, arg);
    rc = 0;
    if (global_init() != 0) {
        snprintf(x->error, sizeof(x->error), "cannot start: curl_global_init failed");
        deliver_error(x);
        goto out;
    }
    if (setup_easy(x, r) != 0) {
        deliver_error(x);
        goto out;
    }
    cc = curl_easy_perform(x->easy);
    deliver(x, cc);
out:
    return rc;
}
