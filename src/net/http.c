/*
 * The worker's HTTP layer: what a request means; see http.h. The bytes (connections,
 * parsing, writing, timeouts) are net/http_wire.c's.
 *
 * A request reaches here whole (http_dispatch()) or refused (http_refuse(): bad framing,
 * a limit, a malformed head; the answer carries Connection: close and nothing after it on
 * the connection is read as a request). It is routed, its handler runs, and the answer's
 * head is written in one piece: the status line, Date (formatted once a second),
 * Content-Type, Content-Length, the handler's headers and the defaults, without printf,
 * and handed with the body to one writev(). The request is freed when the answer is
 * queued, or, for an answer made inside the handler call, right after the handler
 * returns, so a synchronous double reply is caught instead of touching freed memory.
 */
#include "net/http.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "core/dec.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/config.h"
#include "net/http_wire.h"
#include "net/metrics.h"

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
    return wire_peer(req->conn);
}

const char *http_header(struct http_request *req, const char *name)
{
    return wire_header(req, name);
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

    if (need >= n && need <= HTTP_ARENA_INLINE - req->arena_used) {
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
    struct http_out_hdr *h;
    size_t nlen, vlen;
    char *p;

    if (req->replied || req->gone)
        return;
    if (req->nout >= HTTP_MAX_RESP_HEADERS) {
        log_warn("http: header %s refused (too many)", name);
        return;
    }
    nlen = strlen(name);
    vlen = strlen(value);
    if (nlen == 0 || nlen > 256 || vlen > 8192 || strpbrk(name, ":\r\n") != NULL ||
        strpbrk(value, "\r\n") != NULL) {
        log_warn("http: header %s refused", name);
        return;
    }
    p = http_alloc(req, nlen + vlen + 2);
    memcpy(p, name, nlen + 1);
    memcpy(p + nlen + 1, value, vlen + 1);
    h = &req->out[req->nout++];
    h->name = p;
    h->nlen = nlen;
    h->value = p + nlen + 1;
    h->vlen = vlen;
    h->bit = header_bit(name);
    req->headers_set |= h->bit;
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
        wire_request_free(req);
    if (srv->draining && srv->inflight == 0 && srv->drained != NULL) {
        http_drained_fn fn = srv->drained;
        srv->drained = NULL;
        fn(srv->drained_arg);
    }
}

/* The reply head ------------------------------------------------------------------------ */

static const char *reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 412:
        return "Precondition Failed";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 417:
        return "Expectation Failed";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 300   ? "OK"
               : status < 400 ? "Redirect"
               : status < 500 ? "Error"
                              : "Server Error";
    }
}

/* "Date: <IMF-fixdate>\r\n", formatted when the loop's cached second changes. */
static const char *date_line(struct http_server *srv, size_t *len)
{
    struct timeval tv;
    struct tm tm;

    if (event_base_gettimeofday_cached(srv->base, &tv) != 0)
        gettimeofday(&tv, NULL);
    if (tv.tv_sec != srv->date_sec || srv->date_len == 0) {
        time_t t = tv.tv_sec;

        srv->date_sec = tv.tv_sec;
        srv->date_len = gmtime_r(&t, &tm) != NULL
                            ? strftime(srv->date_line, sizeof(srv->date_line),
                                       "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm)
                            : 0;
    }
    *len = srv->date_len;
    return srv->date_line;
}

struct head {
    char *p;
    size_t len;
};

static void put(struct head *h, const char *s, size_t n)
{
    memcpy(h->p + h->len, s, n);
    h->len += n;
}

#define PUT_LIT(h, s) put((h), (s), sizeof(s) - 1)

static void put_header(struct head *h, const char *name, size_t nlen, const char *value,
                       size_t vlen)
{
    put(h, name, nlen);
    PUT_LIT(h, ": ");
    put(h, value, vlen);
    PUT_LIT(h, "\r\n");
}

#define HEAD_STACK 2048
#define HEAD_FIXED 512 /* status line, Date, lengths, defaults, Connection */

/*
 * The reply's head into stack (HEAD_STACK bytes) or the request's arena when bigger:
 * status, Date, Content-Type (unless NULL), Content-Length when length is not
 * SIZE_MAX, Transfer-Encoding: chunked when chunked, the handler's headers (its own
 * Content-Type and Content-Length lose to the reply's), the defaults, Connection.
 */
static struct head build_head(struct http_request *req, char *stack, int status,
                              const char *content_type, size_t length, int chunked)
{
    struct head h = {stack, 0};
    size_t need = HEAD_FIXED, i, n;
    const char *s;
    char num[24];

    if (content_type != NULL)
        need += strlen(content_type);
    for (i = 0; i < req->nout; i++)
        need += req->out[i].nlen + req->out[i].vlen + 4;
    if (need > HEAD_STACK)
        h.p = http_alloc(req, need);
    PUT_LIT(&h, "HTTP/1.1 ");
    if (status < 100 || status > 999)
        status = 500;
    num[0] = (char)('0' + status / 100);
    num[1] = (char)('0' + status / 10 % 10);
    num[2] = (char)('0' + status % 10);
    num[3] = ' ';
    put(&h, num, 4);
    s = reason(status);
    put(&h, s, strlen(s));
    PUT_LIT(&h, "\r\n");
    s = date_line(req->srv, &n);
    put(&h, s, n);
    if (content_type != NULL)
        put_header(&h, "Content-Type", 12, content_type, strlen(content_type));
    if (length != SIZE_MAX) {
        PUT_LIT(&h, "Content-Length: ");
        put(&h, num, dec_u64(length, num));
        PUT_LIT(&h, "\r\n");
    }
    if (chunked)
        PUT_LIT(&h, "Transfer-Encoding: chunked\r\n");
    for (i = 0; i < req->nout; i++) {
        const struct http_out_hdr *o = &req->out[i];

        if (o->bit == HS_TYPE || o->bit == HS_LENGTH)
            continue;
        put_header(&h, o->name, o->nlen, o->value, o->vlen);
    }
    if (!(req->headers_set & HS_NOSNIFF))
        PUT_LIT(&h, "X-Content-Type-Options: nosniff\r\n");
    if (!(req->headers_set & HS_REFERRER))
        PUT_LIT(&h, "Referrer-Policy: no-referrer\r\n");
    if (!(req->headers_set & HS_CSP))
        PUT_LIT(&h, "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n");
    if (req->srv->draining)
        req->close = 1;
    if (!(req->headers_set & HS_CONNECTION)) {
        if (req->close)
            PUT_LIT(&h, "Connection: close\r\n");
        else if (req->http_minor == 0)
            PUT_LIT(&h, "Connection: keep-alive\r\n");
    }
    PUT_LIT(&h, "\r\n");
    return h;
}

/* Replies ------------------------------------------------------------------------------ */

/* The reply, its body copied (unref NULL) or referenced until written (unref called once
 * when it is written, or at once when it is not sent). */
static void reply_body(struct http_request *req, int status, const char *content_type,
                       const void *body, size_t len, http_unref_fn unref, void *arg)
{
    char stack[HEAD_STACK];
    struct head h;

    if (req->replied || req->streaming) {
        log_error("http: second reply (%d) to %s %s ignored", status, req->method_name,
                  req->route != NULL ? req->route->path : "-");
        if (unref != NULL)
            unref(arg);
        return;
    }
    req->replied = 1;
    /* 1xx, 204 and 304 carry neither a body nor Content-Length (RFC 9110 8.6). */
    if (status < 200 || status == 204 || status == 304)
        len = 0;
    if (req->conn != NULL && !req->gone) {
        h = build_head(req, stack, status, content_type,
                       status < 200 || status == 204 || status == 304 ? SIZE_MAX : len, 0);
        /* HEAD: the headers of the GET, Content-Length included, and no body. */
        if (req->method == CFG_METHOD_HEAD)
            len = 0;
        if (wire_send(req->conn, h.p, h.len, body, len, len > 0 ? unref : NULL, arg) == 0 &&
            len > 0)
            unref = NULL; /* wire_send released it */
        wire_done(req->conn, req->close);
    }
    if (unref != NULL)
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
    char stack[HEAD_STACK];
    struct head h;

    if (req->replied || req->streaming) {
        log_error("http: stream start (%d) on an answered request ignored", status);
        return;
    }
    req->streaming = 1;
    req->stream_status = status;
    if (req->conn == NULL || req->gone)
        return; /* http_reply_end() releases it */
    /* HTTP/1.0 has no chunks: the body ends when the connection does. */
    req->chunked = req->http_minor >= 1 && req->method != CFG_METHOD_HEAD;
    if (req->http_minor == 0 && req->method != CFG_METHOD_HEAD)
        req->close = 1;
    h = build_head(req, stack, status, content_type, SIZE_MAX, req->chunked);
    if (wire_send(req->conn, h.p, h.len, NULL, 0, NULL, NULL) != 0)
        log_debug("http: client gone before a streamed reply started");
}

/* Called by the wire once the chunks queued so far are written. */
void http_flushed(struct http_request *req)
{
    http_flushed_fn fn = req->flushed;

    req->flushed = NULL;
    if (fn != NULL)
        fn(req, req->flushed_arg);
}

/* The client went while a chunk was being written: it will never be reported written. */
static void on_flush_gone(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    http_flushed(arg);
}

void http_gone(struct http_request *req)
{
    req->gone = 1;
    /* A streamed reply waiting for its chunk to be written would wait forever. */
    if (req->streaming && req->flushed != NULL) {
        if (req->flush_ev == NULL)
            req->flush_ev = event_new(req->srv->base, -1, 0, on_flush_gone, req);
        if (req->flush_ev == NULL || event_add(req->flush_ev, &(struct timeval){0, 0}) != 0)
            log_error("http: cannot schedule the end of a streamed reply");
    }
}

int http_reply_chunk(struct http_request *req, const void *data, size_t len, http_flushed_fn done,
                     void *arg)
{
    char size[32];
    size_t n = 0;

    if (!req->streaming || req->replied || req->gone || req->flushed != NULL || req->conn == NULL)
        return -1;
    if (len > 0 && req->method != CFG_METHOD_HEAD) {
        if (req->chunked) {
            /* The previous chunk's CRLF goes out with this chunk's size line. */
            static const char hex[] = "0123456789abcdef";
            char tmp[16];
            size_t k = 0, v = len;

            if (req->stream_bytes > 0) {
                size[n++] = '\r';
                size[n++] = '\n';
            }
            do {
                tmp[k++] = hex[v & 15];
                v >>= 4;
            } while (v != 0);
            while (k > 0)
                size[n++] = tmp[--k];
            size[n++] = '\r';
            size[n++] = '\n';
        }
        req->stream_bytes += len;
        if (wire_send(req->conn, size, n, data, len, NULL, NULL) != 0)
            return -1;
    }
    req->flushed = done;
    req->flushed_arg = arg;
    if (done != NULL && wire_notify_flushed(req->conn) != 0) {
        req->flushed = NULL;
        return -1;
    }
    return 0;
}

void http_reply_end(struct http_request *req)
{
    if (!req->streaming || req->replied) {
        log_error("http: stream end without a started stream ignored");
        return;
    }
    req->replied = 1;
    req->flushed = NULL;
    if (req->conn != NULL && !req->gone) {
        static const char last[] = "\r\n0\r\n\r\n";
        int rc = 0;

        if (req->chunked)
            rc = req->stream_bytes > 0
                     ? wire_send(req->conn, last, sizeof(last) - 1, NULL, 0, NULL, NULL)
                     : wire_send(req->conn, last + 2, sizeof(last) - 3, NULL, 0, NULL, NULL);
        if (rc != 0)
            log_debug("http: client gone before a streamed reply ended");
        wire_done(req->conn, req->close);
    }
    finish(req, req->stream_status, req->stream_bytes);
}

void http_reply_abort(struct http_request *req)
{
    if (!req->streaming || req->replied) {
        log_error("http: stream abort without a started stream ignored");
        return;
    }
    req->replied = 1;
    req->flushed = NULL;
    /* Closing the connection makes the client see the body cut short (no last chunk)
     * instead of a complete-looking one. */
    wire_abort(req->conn);
    req->conn = NULL;
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

static int has_form_body(struct http_request *req)
{
    const char *ct = http_header(req, "Content-Type");
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

    if (req->method == CFG_METHOD_POST && has_form_body(req))
        form = req->body;
    router_match(req->srv->router, req->method, req->path, query, form.ptr, form.len, &req->match);
    req->matched = 1;
    if (req->match.status == ROUTER_BAD_METHOD && req->method == CFG_METHOD_HEAD &&
        req->match.route != NULL && (req->match.route->methods & CFG_METHOD_GET)) {
        /* HEAD is GET without the body; the reply drops it. */
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

/* Requests from the wire --------------------------------------------------------------- */

void http_dispatch(struct http_request *req)
{
    req->srv->inflight++;
    req->in_dispatch = 1;
    if (req->method == 0)
        http_reply_error(req, 405, "method_not_allowed", "This method is not supported.");
    else
        dispatch(req, req->query);
    req->in_dispatch = 0;
    if (req->replied)
        wire_request_free(req);
}

void http_refuse(struct http_request *req, int status, const char *code, const char *message)
{
    req->srv->inflight++;
    req->in_dispatch = 1;
    req->close = 1;
    http_reply_error(req, status, code, message);
    req->in_dispatch = 0;
    wire_request_free(req);
}
