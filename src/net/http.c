/*
 * The worker's HTTP layer on libevent's evhttp; see http.h.
 *
 * One struct http_request per request, allocated when evhttp hands us a fully read
 * request and freed when the reply is queued (or, for a reply made from inside the
 * handler call, right after the handler returns, so a synchronous double reply is caught
 * instead of touching freed memory).
 *
 * Request framing that could let a proxy and us disagree on where a request ends is
 * refused with 400 and the connection closed, so the bytes that follow are never read as
 * another request: differing Content-Length values, a Transfer-Encoding other than
 * chunked, a body on a method that takes none (evhttp skips HEAD's; no route here wants
 * one on GET, DELETE or OPTIONS). Content-Length together with Transfer-Encoding is
 * refused by evhttp 2.1.12 itself while reading the head (400, closed); we check it again
 * in case a libevent build lets it through.
 *
 * libevent 2.1 has no hook to run on every request before its body is read
 * (evhttp_set_newreqcb arrived in 2.2), so our checks run once the request is read;
 * evhttp's max body size bounds what that costs. Errors evhttp raises itself (body over
 * max_body_bytes: 413; head over max_header_bytes, a malformed request, Content-Length
 * with Transfer-Encoding: 400) carry evhttp's small HTML body and never reach the access
 * log or the metrics.
 */
#include "net/http.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "net/config.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/metrics.h"

#define HTTP_MAX_LISTENERS 16
#define LOG_FLUSH_MS 200
#define ARENA_INLINE 1024

struct arena_chunk {
    struct arena_chunk *next;
    alignas(16) char data[];
};

struct http_server {
    struct event_base *base;
    struct evhttp *http;
    const struct config *cfg;
    const struct router *router;
    struct evhttp_bound_socket *bound[HTTP_MAX_LISTENERS];
    size_t nbound;
    size_t inflight;
    int draining;
    http_drained_fn drained;
    void *drained_arg;
    struct event *log_timer; /* writes out queued access-log lines */
    /* Route -> metrics slot, looked up by pointer. */
    const struct cfg_route *route_ptr[METRICS_MAX_ROUTES];
    int route_slot[METRICS_MAX_ROUTES];
    size_t nroutes;
};

struct http_request {
    struct http_server *srv;
    struct evhttp_request *ev;
    struct router_match match;
    const char *path;
    const char *query; /* raw query string, NULL when none */
    const char *method_name;
    unsigned method;
    struct slice body;
    const struct cfg_route *route; /* for the access log and metrics */
    struct timespec start;
    unsigned matched : 1;
    unsigned replied : 1;
    unsigned gone : 1;
    unsigned in_dispatch : 1;
    unsigned close : 1;
    unsigned streaming : 1; /* between http_reply_start() and http_reply_end() */
    unsigned headers_set;   /* HS_* bits: headers a handler gave that the reply also sets */
    int stream_status;
    size_t stream_bytes;
    http_flushed_fn flushed; /* pending chunk-written callback, if any */
    void *flushed_arg;
    struct event *flush_ev; /* runs `flushed` from the loop when the client went */
    struct arena_chunk *chunks;
    size_t arena_used;
    alignas(16) char arena[ARENA_INLINE];
};

static const struct {
    enum evhttp_cmd_type cmd;
    unsigned bit;
    const char *name;
} methods[] = {
    {EVHTTP_REQ_GET, CFG_METHOD_GET, "GET"},
    {EVHTTP_REQ_POST, CFG_METHOD_POST, "POST"},
    {EVHTTP_REQ_HEAD, CFG_METHOD_HEAD, "HEAD"},
    {EVHTTP_REQ_PUT, CFG_METHOD_PUT, "PUT"},
    {EVHTTP_REQ_DELETE, CFG_METHOD_DELETE, "DELETE"},
    {EVHTTP_REQ_OPTIONS, CFG_METHOD_OPTIONS, "OPTIONS"},
    {EVHTTP_REQ_PATCH, CFG_METHOD_PATCH, "PATCH"},
};

const char *http_param(struct http_request *req, const char *name)
{
    return req->matched ? router_param(&req->match, name) : NULL;
}

const char *http_path(struct http_request *req)
{
    return req->path;
}

const char *http_query(struct http_request *req)
{
    return req->query;
}

const char *http_peer(struct http_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req->ev);
    char *addr = NULL;
    ev_uint16_t port = 0;

    if (evcon != NULL)
        evhttp_connection_get_peer(evcon, &addr, &port);
    return addr != NULL && addr[0] != '\0' ? addr : "-";
}

const char *http_header(struct http_request *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

unsigned http_method(struct http_request *req)
{
    return req->method;
}

struct slice http_body(struct http_request *req)
{
    return req->body;
}

struct event_base *http_base(struct http_request *req)
{
    return req->srv->base;
}

int http_is_gone(struct http_request *req)
{
    return req->gone;
}

void *http_alloc(struct http_request *req, size_t n)
{
    struct arena_chunk *c;
    size_t need = (n + 15) & ~(size_t)15;

    if (need >= n && need <= ARENA_INLINE - req->arena_used) {
        void *p = req->arena + req->arena_used;
        req->arena_used += need;
        return p;
    }
    /* Too big for what is left inline: a chunk of its own, freed with the request. */
    if (n > SIZE_MAX - sizeof(*c))
        n = SIZE_MAX; /* xmalloc aborts, as for any impossible allocation */
    else
        n += sizeof(*c);
    c = xmalloc(n);
    c->next = req->chunks;
    req->chunks = c;
    return c->data;
}

int http_base_url(struct http_request *req, const char *public_url, struct buf *out)
{
    const char *host;
    size_t i, n;

    if (public_url != NULL && public_url[0] != '\0') {
        n = strlen(public_url);
        return buf_append(out, public_url, public_url[n - 1] == '/' ? n - 1 : n);
    }
    host = http_header(req, "Host");
    if (host == NULL || host[0] == '\0' || strlen(host) > 255)
        return -1;
    for (i = 0; host[i] != '\0'; i++) {
        char c = host[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
            return -1;
    }
    return buf_printf(out, "http://%s", host);
}

/* Headers the reply path sets itself unless the handler did: which ones the handler
 * gave is noted here, so that the reply neither searches nor removes the others (each
 * is a walk of the list with a case-insensitive compare). */
enum {
    HS_TYPE = 1 << 0,
    HS_LENGTH = 1 << 1,
    HS_NOSNIFF = 1 << 2,
    HS_REFERRER = 1 << 3,
    HS_CSP = 1 << 4,
    HS_CONNECTION = 1 << 5,
};

static unsigned header_bit(const char *name)
{
    static const struct {
        const char *name;
        unsigned bit;
    } known[] = {
        {"Content-Type", HS_TYPE},
        {"Content-Length", HS_LENGTH},
        {"X-Content-Type-Options", HS_NOSNIFF},
        {"Referrer-Policy", HS_REFERRER},
        {"Content-Security-Policy", HS_CSP},
        {"Connection", HS_CONNECTION},
    };
    size_t i;
    int c = name[0] | 0x20;

    if (c != 'c' && c != 'x' && c != 'r')
        return 0;
    for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if ((known[i].name[0] | 0x20) == c && strcasecmp(name, known[i].name) == 0)
            return known[i].bit;
    return 0;
}

void http_add_header(struct http_request *req, const char *name, const char *value)
{
    if (req->replied || req->gone)
        return;
    req->headers_set |= header_bit(name);
    if (evhttp_add_header(evhttp_request_get_output_headers(req->ev), name, value) != 0)
        log_warn("http: header %s refused", name);
}

/* Requests are recycled: a worker's loop is single-threaded, and a fresh block of this
 * size from malloc, beside evhttp's many small frees, costs more than the whole of
 * routing. At most REQ_POOL are kept. */
#define REQ_POOL 64
static struct http_request *req_pool[REQ_POOL];
static size_t req_pooled;

static struct http_request *request_alloc(void)
{
    if (req_pooled > 0)
        return req_pool[--req_pooled];
    return xmalloc(sizeof(struct http_request));
}

static void request_free(struct http_request *req)
{
    struct arena_chunk *c, *next;

    if (req->matched)
        router_match_free(&req->match);
    if (req->flush_ev != NULL)
        event_free(req->flush_ev);
    for (c = req->chunks; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    if (req_pooled < REQ_POOL)
        req_pool[req_pooled++] = req;
    else
        free(req);
}

static uint64_t elapsed_us(const struct timespec *start)
{
    struct timespec now;
    int64_t us;

    clock_gettime(CLOCK_MONOTONIC, &now);
    us = (int64_t)(now.tv_sec - start->tv_sec) * 1000000 + (now.tv_nsec - start->tv_nsec) / 1000;
    return us < 0 ? 0 : (uint64_t)us;
}

static int route_slot(const struct http_server *srv, const struct cfg_route *route)
{
    size_t i;

    for (i = 0; i < srv->nroutes; i++)
        if (srv->route_ptr[i] == route)
            return srv->route_slot[i];
    return 0;
}

static void set_default(struct http_request *req, struct evkeyvalq *h, unsigned bit,
                        const char *name, const char *value)
{
    if (!(req->headers_set & bit) && evhttp_add_header(h, name, value) != 0)
        log_warn("http: header %s refused", name);
}

/* The access log line, the metrics and the request's release, once it is answered. */
static void finish(struct http_request *req, int status, size_t len)
{
    struct http_server *srv = req->srv;
    uint64_t us;

    us = elapsed_us(&req->start);
    log_queue(LOG_INFO, "%s %s %d %zu %lluus", req->method_name,
              req->route != NULL ? req->route->path : "-", status, len, (unsigned long long)us);
    metrics_request(req->route != NULL ? route_slot(srv, req->route) : 0, status, us);
    srv->inflight--;
    if (!req->in_dispatch)
        request_free(req);
    if (srv->draining && srv->inflight == 0 && srv->drained != NULL) {
        http_drained_fn fn = srv->drained;
        srv->drained = NULL;
        fn(srv->drained_arg);
    }
}

/* A referenced body's owner, told once evhttp has written (or dropped) the bytes. */
struct body_ref {
    http_unref_fn fn;
    void *arg;
};

static struct body_ref *ref_new(http_unref_fn fn, void *arg)
{
    struct body_ref *r = xmalloc(sizeof(*r));

    r->fn = fn;
    r->arg = arg;
    return r;
}

static void unref_body(const void *data, size_t len, void *extra)
{
    struct body_ref *r = extra;

    (void)data;
    (void)len;
    r->fn(r->arg);
    free(r);
}

/* Response headers every reply carries unless the handler set its own. */
static void default_headers(struct http_request *req, struct evkeyvalq *h)
{
    set_default(req, h, HS_NOSNIFF, "X-Content-Type-Options", "nosniff");
    set_default(req, h, HS_REFERRER, "Referrer-Policy", "no-referrer");
    set_default(req, h, HS_CSP, "Content-Security-Policy",
                "default-src 'none'; frame-ancestors 'none'");
    if (req->close || req->srv->draining)
        set_default(req, h, HS_CONNECTION, "Connection", "close");
}

/* libevent writes at most 16 KB per socket-writable event unless told otherwise, so a
 * 470 KB WAV would take thirty turns of the loop; let a big body go out in as few writes
 * as the kernel's socket buffer allows. */
#define HTTP_BIG_BODY (64 * 1024)
#define HTTP_BIG_WRITE (4 * 1024 * 1024)

static void big_writes(struct http_request *req)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
    struct bufferevent *bev = conn != NULL ? evhttp_connection_get_bufferevent(conn) : NULL;

    if (bev != NULL && bufferevent_get_max_single_write(bev) < HTTP_BIG_WRITE)
        bufferevent_set_max_single_write(bev, HTTP_BIG_WRITE);
}

/* The reply, its body copied (unref NULL) or referenced until written (unref called once
 * when evhttp is done with it, or at once when it is not sent). */
static void reply_body(struct http_request *req, int status, const char *content_type,
                       const void *body, size_t len, http_unref_fn unref, void *arg)
{
    struct evkeyvalq *h;
    char clen[32];
    int queued = 0;

    if (req->replied || req->streaming) {
        log_error("http: second reply (%d) to %s %s ignored", status, req->method_name,
                  req->route != NULL ? req->route->path : "-");
        if (unref != NULL)
            unref(arg);
        return;
    }
    req->replied = 1;
    if (req->gone || evhttp_request_get_connection(req->ev) == NULL) {
        /* evhttp detached the request when the client went; it is ours to free. */
        evhttp_request_free(req->ev);
    } else {
        evhttp_connection_set_closecb(evhttp_request_get_connection(req->ev), NULL, NULL);
        h = evhttp_request_get_output_headers(req->ev);
        if (req->headers_set & HS_TYPE)
            evhttp_remove_header(h, "Content-Type");
        if (req->headers_set & HS_LENGTH)
            evhttp_remove_header(h, "Content-Length");
        if (content_type != NULL && evhttp_add_header(h, "Content-Type", content_type) != 0)
            log_warn("http: content headers refused");
        /* 1xx, 204 and 304 carry neither a body nor Content-Length (RFC 9110 8.6). */
        if (status < 200 || status == 204 || status == 304) {
            len = 0;
        } else {
            snprintf(clen, sizeof(clen), "%zu", len);
            if (evhttp_add_header(h, "Content-Length", clen) != 0)
                log_warn("http: content headers refused");
        }
        default_headers(req, h);
        /* HEAD: the headers of the GET, Content-Length included, and no body (evhttp
         * 2.1 would send one and desynchronise a keep-alive client). */
        if (len > 0 && req->method != CFG_METHOD_HEAD) {
            struct evbuffer *out = evhttp_request_get_output_buffer(req->ev);

            if (len > HTTP_BIG_BODY)
                big_writes(req);
            if (unref != NULL) {
                if (evbuffer_add_reference(out, body, len, unref_body, ref_new(unref, arg)) != 0)
                    log_error("http: out of memory queueing %zu bytes", len);
                else
                    queued = 1;
            } else if (evbuffer_add(out, body, len) != 0) {
                log_error("http: out of memory queueing %zu bytes", len);
            }
        }
        evhttp_send_reply(req->ev, status, NULL, NULL);
    }
    if (unref != NULL && !queued)
        unref(arg);
    finish(req, status, req->method == CFG_METHOD_HEAD ? (size_t)0 : len);
}

void http_reply(struct http_request *req, int status, const char *content_type, const void *body,
                size_t len)
{
    reply_body(req, status, content_type, body, len, NULL, NULL);
}

void http_reply_ref(struct http_request *req, int status, const char *content_type,
                    const void *body, size_t len, http_unref_fn unref, void *arg)
{
    reply_body(req, status, content_type, body, len, unref, arg);
}

void http_reply_start(struct http_request *req, int status, const char *content_type)
{
    struct evkeyvalq *h;

    if (req->replied || req->streaming) {
        log_error("http: stream start (%d) on an answered request ignored", status);
        return;
    }
    req->streaming = 1;
    req->stream_status = status;
    if (req->gone || evhttp_request_get_connection(req->ev) == NULL)
        return; /* http_reply_end() releases it */
    h = evhttp_request_get_output_headers(req->ev);
    if (req->headers_set & HS_TYPE)
        evhttp_remove_header(h, "Content-Type");
    if (req->headers_set & HS_LENGTH)
        evhttp_remove_header(h, "Content-Length");
    if (content_type != NULL && evhttp_add_header(h, "Content-Type", content_type) != 0)
        log_warn("http: content headers refused");
    default_headers(req, h);
    evhttp_send_reply_start(req->ev, status, NULL);
}

/* The client went while a chunk was being written: evhttp will never report it written. */
static void on_flush_gone(evutil_socket_t fd, short what, void *arg)
{
    struct http_request *req = arg;
    http_flushed_fn fn = req->flushed;

    (void)fd;
    (void)what;
    req->flushed = NULL;
    if (fn != NULL)
        fn(req, req->flushed_arg);
}

static void on_chunk_written(struct evhttp_connection *evcon, void *arg)
{
    struct http_request *req = arg;
    http_flushed_fn fn = req->flushed;

    (void)evcon;
    req->flushed = NULL;
    if (fn != NULL)
        fn(req, req->flushed_arg);
}

int http_reply_chunk(struct http_request *req, const void *data, size_t len, http_flushed_fn done,
                     void *arg)
{
    struct evbuffer *b;
    int rc = -1;

    if (!req->streaming || req->replied || req->gone || req->flushed != NULL ||
        evhttp_request_get_connection(req->ev) == NULL)
        goto out;
    if (req->method == CFG_METHOD_HEAD || len == 0) {
        rc = 0; /* nothing goes on the wire; report "written" from the loop */
        req->flushed = done;
        req->flushed_arg = arg;
        if (done != NULL &&
            event_base_once(req->srv->base, -1, EV_TIMEOUT, on_flush_gone, req, NULL) != 0)
            rc = -1;
        if (rc != 0)
            req->flushed = NULL;
        goto out;
    }
    b = evbuffer_new();
    if (b == NULL || evbuffer_add(b, data, len) != 0) {
        if (b != NULL)
            evbuffer_free(b);
        goto out;
    }
    req->flushed = done;
    req->flushed_arg = arg;
    req->stream_bytes += len;
    if (done != NULL)
        evhttp_send_reply_chunk_with_cb(req->ev, b, on_chunk_written, req);
    else
        evhttp_send_reply_chunk(req->ev, b);
    evbuffer_free(b);
    rc = 0;
out:
    return rc;
}

void http_reply_end(struct http_request *req)
{
    if (!req->streaming || req->replied) {
        log_error("http: stream end without a started stream ignored");
        return;
    }
    req->replied = 1;
    req->flushed = NULL;
    if (req->gone || evhttp_request_get_connection(req->ev) == NULL) {
        evhttp_request_free(req->ev);
    } else {
        evhttp_connection_set_closecb(evhttp_request_get_connection(req->ev), NULL, NULL);
        evhttp_send_reply_end(req->ev);
    }
    finish(req, req->stream_status, req->stream_bytes);
}

void http_reply_abort(struct http_request *req)
{
    struct evhttp_connection *evcon;

    if (!req->streaming || req->replied) {
        log_error("http: stream abort without a started stream ignored");
        return;
    }
    req->replied = 1;
    req->flushed = NULL;
    evcon = req->gone ? NULL : evhttp_request_get_connection(req->ev);
    if (evcon == NULL) {
        evhttp_request_free(req->ev);
    } else {
        /* Closing the connection frees the request with it; the client sees the body cut
         * short (no last chunk) instead of a complete-looking one. */
        evhttp_connection_set_closecb(evcon, NULL, NULL);
        evhttp_connection_free(evcon);
    }
    log_warn("http: %s %s: streamed reply aborted after %zu bytes", req->method_name,
             req->route != NULL ? req->route->path : "-", req->stream_bytes);
    finish(req, req->stream_status, req->stream_bytes);
}

void http_reply_json(struct http_request *req, int status, json_t *doc)
{
    char *text = NULL;

    if (doc != NULL)
        text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    if (text == NULL) {
        http_reply_error(req, 500, "internal", "could not encode the response");
        return;
    }
    http_reply(req, status, "application/json", text, strlen(text));
    free(text);
}

/* Append s as a JSON string body (without quotes). */
static int json_escape(struct buf *b, const char *s)
{
    const unsigned char *p;
    int rc = 0;

    for (p = (const unsigned char *)s; *p != '\0' && rc == 0; p++) {
        if (*p == '"' || *p == '\\')
            rc = buf_printf(b, "\\%c", *p);
        else if (*p < 0x20)
            rc = buf_printf(b, "\\u%04x", *p);
        else
            rc = buf_append(b, p, 1);
    }
    return rc;
}

void http_reply_error(struct http_request *req, int status, const char *code, const char *message)
{
    struct buf b;

    buf_init(&b, 4096);
    if (buf_puts(&b, "{\"status\":\"error\",\"error\":{\"code\":\"") != 0 ||
        json_escape(&b, code) != 0 || buf_puts(&b, "\",\"message\":\"") != 0 ||
        json_escape(&b, message) != 0 || buf_puts(&b, "\"}}") != 0) {
        buf_reset(&b);
        if (buf_puts(&b, "{\"status\":\"error\",\"error\":{\"code\":\"internal\","
                         "\"message\":\"error too long\"}}") != 0)
            log_error("http: cannot build an error body");
    }
    http_reply(req, status, "application/json", b.data, b.len);
    buf_free(&b);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct http_request *req = arg;

    (void)evcon;
    req->gone = 1;
    /* A streamed reply waiting for its chunk to be written would wait forever. */
    if (req->streaming && req->flushed != NULL) {
        if (req->flush_ev == NULL)
            req->flush_ev = event_new(req->srv->base, -1, 0, on_flush_gone, req);
        if (req->flush_ev == NULL || event_add(req->flush_ev, &(struct timeval){0, 0}) != 0)
            log_error("http: cannot schedule the end of a streamed reply");
    }
}

/* Whether a request with this method may carry a body. */
static int reads_body(enum evhttp_cmd_type cmd)
{
    return cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_PUT || cmd == EVHTTP_REQ_PATCH;
}

/* NULL if the request's framing is unambiguous, else why not. */
static const char *check_framing(struct evhttp_request *ev)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(ev);
    const char *cl = NULL, *te = NULL;
    struct evkeyval *kv;

    for (kv = h->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        if (strcasecmp(kv->key, "Content-Length") == 0) {
            if (cl != NULL && strcmp(cl, kv->value) != 0)
                return "conflicting Content-Length headers";
            cl = kv->value;
        } else if (strcasecmp(kv->key, "Transfer-Encoding") == 0) {
            if (te != NULL)
                return "repeated Transfer-Encoding header";
            te = kv->value;
        }
    }
    if (cl != NULL && te != NULL)
        return "both Content-Length and Transfer-Encoding";
    if (te != NULL && strcasecmp(te, "chunked") != 0)
        return "unsupported Transfer-Encoding";
    if (!reads_body(evhttp_request_get_command(ev)) &&
        (te != NULL || (cl != NULL && strcmp(cl, "0") != 0)))
        return "this method takes no body";
    return NULL;
}

static int has_form_body(struct evhttp_request *ev)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(ev), "Content-Type");
    static const char form[] = "application/x-www-form-urlencoded";

    return ct != NULL && strncasecmp(ct, form, sizeof(form) - 1) == 0 &&
           (ct[sizeof(form) - 1] == '\0' || ct[sizeof(form) - 1] == ';' ||
            ct[sizeof(form) - 1] == ' ');
}

static void dispatch(struct http_request *req, const char *query)
{
    struct slice form = {NULL, 0};
    char msg[160];
    http_handler_fn fn;

    if (req->method == CFG_METHOD_POST && has_form_body(req->ev))
        form = req->body;
    router_match(req->srv->router, req->method, req->path, query, form.ptr, form.len, &req->match);
    req->matched = 1;
    if (req->match.status == ROUTER_BAD_METHOD && req->method == CFG_METHOD_HEAD &&
        req->match.route != NULL && (req->match.route->methods & CFG_METHOD_GET)) {
        /* HEAD is GET without the body; evhttp drops the body for us. */
        router_match_free(&req->match);
        router_match(req->srv->router, CFG_METHOD_GET, req->path, query, NULL, 0, &req->match);
    }
    req->route = req->match.route;
    switch (req->match.status) {
    case ROUTER_OK:
        fn = (http_handler_fn)req->match.handler;
        fn(req);
        break;
    case ROUTER_NOT_FOUND:
        http_reply_error(req, 404, "not_found", "There is nothing at this address.");
        break;
    case ROUTER_BAD_METHOD:
        http_add_header(req, "Allow", req->match.allow);
        snprintf(msg, sizeof(msg), "This address only accepts %s.", req->match.allow);
        http_reply_error(req, 405, "method_not_allowed", msg);
        break;
    case ROUTER_BAD_PARAM:
    default:
        snprintf(msg, sizeof(msg), "The parameter '%s' is missing or not valid.",
                 req->match.bad_param != NULL ? req->match.bad_param : "?");
        http_reply_error(req, 400, "bad_parameter", msg);
        break;
    }
}

static void on_request(struct evhttp_request *ev, void *arg)
{
    struct http_server *srv = arg;
    const struct evhttp_uri *uri;
    struct http_request *req;
    struct evbuffer *in;
    const char *why;
    size_t i, len;

    req = request_alloc();
    /* The inline arena stays uninitialised; only the header fields are cleared. */
    memset(req, 0, offsetof(struct http_request, arena));
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    req->srv = srv;
    req->ev = ev;
    req->method_name = "OTHER";
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].cmd == evhttp_request_get_command(ev)) {
            req->method = methods[i].bit;
            req->method_name = methods[i].name;
            break;
        }
    }
    srv->inflight++;
    evhttp_connection_set_closecb(evhttp_request_get_connection(ev), on_close, req);

    uri = evhttp_request_get_evhttp_uri(ev);
    req->path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    if (req->path == NULL || req->path[0] == '\0')
        req->path = "/";
    req->query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    in = evhttp_request_get_input_buffer(ev);
    len = evbuffer_get_length(in);
    if (len > 0) {
        req->body.ptr = (const char *)evbuffer_pullup(in, -1);
        req->body.len = req->body.ptr != NULL ? len : 0;
    }

    req->in_dispatch = 1;
    why = check_framing(ev);
    if (why != NULL) {
        req->close = 1;
        http_reply_error(req, 400, "bad_request", why);
    } else if (req->method == 0) {
        http_reply_error(req, 405, "method_not_allowed", "This method is not supported.");
    } else {
        dispatch(req, uri != NULL ? evhttp_uri_get_query(uri) : NULL);
    }
    req->in_dispatch = 0;
    if (req->replied)
        request_free(req);
}

static void on_log_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    log_flush();
}

struct http_server *http_server_new(struct event_base *base, const struct config *cfg,
                                    const struct router *router, const int *fds, size_t nfds)
{
    struct http_server *srv = NULL;
    struct timeval tv;
    size_t d, r, i;

    if (nfds > HTTP_MAX_LISTENERS) {
        log_error("http: too many listeners (%zu > %d)", nfds, HTTP_MAX_LISTENERS);
        goto fail;
    }
    srv = xcalloc(1, sizeof(*srv));
    srv->base = base;
    srv->cfg = cfg;
    srv->router = router;
    for (d = 0; d < cfg->ndomains; d++) {
        for (r = 0; r < cfg->domains[d].nroutes && srv->nroutes < METRICS_MAX_ROUTES; r++) {
            const struct cfg_route *route = &cfg->domains[d].routes[r];
            srv->route_ptr[srv->nroutes] = route;
            srv->route_slot[srv->nroutes] = metrics_route_register(route->path);
            srv->nroutes++;
        }
    }
    srv->http = evhttp_new(base);
    if (srv->http == NULL) {
        log_error("http: evhttp_new failed");
        goto fail;
    }
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)cfg->max_body);
    evhttp_set_max_headers_size(srv->http, (ev_ssize_t)cfg->max_headers);
    /* evhttp 2.1 has one timeout for reading a request and for an idle keep-alive
     * connection; the shorter header timeout bounds slow clients. */
    tv.tv_sec = cfg->header_timeout > 0 ? cfg->header_timeout : 10;
    tv.tv_usec = 0;
    evhttp_set_timeout_tv(srv->http, &tv);
    /* No EVHTTP_SERVER_LINGERING_CLOSE: with it evhttp reads and discards a whole
     * oversized body before answering 413, which stalls clients that wait for
     * "100 Continue" and lets a client keep a worker busy reading. */
    evhttp_set_gencb(srv->http, on_request, srv);
    tv.tv_sec = 0;
    tv.tv_usec = LOG_FLUSH_MS * 1000;
    srv->log_timer = event_new(base, -1, EV_PERSIST, on_log_timer, NULL);
    if (srv->log_timer == NULL || event_add(srv->log_timer, &tv) != 0) {
        log_error("http: cannot start the log timer");
        goto fail;
    }
    for (i = 0; i < nfds; i++) {
        srv->bound[i] = evhttp_accept_socket_with_handle(srv->http, fds[i]);
        if (srv->bound[i] == NULL) {
            log_error("http: cannot accept on fd %d", fds[i]);
            goto fail;
        }
        srv->nbound++;
    }
    return srv;
fail:
    http_server_free(srv);
    return NULL;
}

void http_server_drain(struct http_server *srv, http_drained_fn done, void *arg)
{
    size_t i;

    srv->draining = 1;
    for (i = 0; i < srv->nbound; i++)
        evhttp_del_accept_socket(srv->http, srv->bound[i]); /* closes our copy of the fd */
    srv->nbound = 0;
    srv->drained = done;
    srv->drained_arg = arg;
    if (srv->inflight == 0) {
        srv->drained = NULL;
        done(arg);
    }
}

size_t http_server_inflight(const struct http_server *srv)
{
    return srv->inflight;
}

void http_server_free(struct http_server *srv)
{
    log_flush();
    if (srv == NULL)
        return;
    if (srv->log_timer != NULL)
        event_free(srv->log_timer);
    if (srv->http != NULL)
        evhttp_free(srv->http);
    free(srv);
    while (req_pooled > 0)
        free(req_pool[--req_pooled]);
}
