/*
 * The HTTP/1.1 connection layer; see http_wire.h.
 *
 * A connection is in one of these states:
 *   reading  no request in flight: bytes are read and parsed; a request has to arrive
 *            whole within header_timeout of its first byte (of the connection, for the
 *            first); between requests the connection waits keepalive_timeout (by
 *            default the same, and then one timer runs from the end of the answer);
 *   busy     a request is with its handler: bytes the client pipelines are kept unparsed
 *            (up to PEND_MAX, then reading pauses), no timer (the handler's backends have
 *            their own);
 *   writing  the answer is queued but the socket has not taken all of it: the write
 *            timer runs from the last progress; the next request is parsed only once it
 *            is written, so answers go out in order and memory stays bounded;
 *   linger   after a refusal: our side is shut down and whatever the client still sends
 *            is read and dropped (so closing does not reset the answer away), for at
 *            most LINGER_S seconds or LINGER_MAX bytes.
 *
 * The parser pauses at the end of every message; the request is dispatched outside the
 * parser's callbacks. A handler that answers at once has its bytes written by one sendmsg()
 * before it returns, and parsing goes on with the next pipelined request in the same
 * read buffer. Connections are freed only from their own deferred event, so no call
 * into this file frees a connection under its caller.
 */
#include "net/http_wire.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/util.h>
#include <http_parser.h>

#include "core/log.h"
#include "core/mem.h"
#include "net/config.h"

#define READ_CHUNK (64 * 1024)
#define PEND_MAX (64 * 1024)
#define LINGER_S 2
#define LINGER_MAX (1024 * 1024)
#define WRITE_TIMEOUT_S 60
#define IOV_BATCH 64

enum conn_state { C_READING, C_BUSY, C_WRITING, C_LINGER };

/* Work the connection's deferred event has to do. */
enum { DO_PARSE = 1 << 0, DO_FLUSHED = 1 << 1, DO_FREE = 1 << 2 };

enum hdr_part { HP_NONE, HP_FIELD, HP_VALUE };

struct http_conn {
    struct http_server *srv;
    struct http_conn *prev, *next;
    int fd;
    enum conn_state state;
    struct event *rev, *wev, *timer, *later; /* in this block, after the struct */
    http_parser parser;
    struct http_request *req; /* being read, or in flight */
    struct evbuffer *out;     /* what the socket has not taken yet; NULL while empty */
    char *pend;               /* unparsed bytes kept while a request is in flight */
    size_t pend_len, pend_cap;
    size_t linger_bytes;
    size_t head_bytes;  /* counted against max_header_bytes */
    enum hdr_part part; /* which header part the parser gave last */
    int fail_status;    /* set by a callback that refuses the request */
    const char *fail_code, *fail_msg;
    unsigned todo;         /* DO_* */
    unsigned reading : 1;  /* rev is added */
    unsigned writing : 1;  /* wev is added */
    unsigned closing : 1;  /* close once the answer is written */
    unsigned eof : 1;      /* the client shut its side: answer, then close */
    unsigned dead : 1;     /* closed; freed from `later` */
    unsigned notify : 1;   /* call http's flushed callback once out is empty */
    unsigned in_parse : 1; /* parse() is on the stack */
    unsigned answered : 1; /* an answer was completed: waits are keep-alive ones */
    unsigned ka_timer : 1; /* the timer runs keepalive_timeout, not header_timeout */
    char peer[INET6_ADDRSTRLEN];
};

/* One read buffer per worker: bytes are parsed out of it before the next read, and what
 * a paused parser leaves is copied to the connection. */
static char rbuf[READ_CHUNK];

static const struct {
    enum http_method m;
    unsigned bit;
    const char *name;
} methods[] = {
    {HTTP_GET, CFG_METHOD_GET, "GET"},          {HTTP_POST, CFG_METHOD_POST, "POST"},
    {HTTP_HEAD, CFG_METHOD_HEAD, "HEAD"},       {HTTP_PUT, CFG_METHOD_PUT, "PUT"},
    {HTTP_DELETE, CFG_METHOD_DELETE, "DELETE"}, {HTTP_OPTIONS, CFG_METHOD_OPTIONS, "OPTIONS"},
    {HTTP_PATCH, CFG_METHOD_PATCH, "PATCH"},
};

static void conn_kill(struct http_conn *c);
static void arm_timer(struct http_conn *c, const struct timeval *tv);
static void parse(struct http_conn *c, const char *data, size_t len);

/* Parser callbacks -------------------------------------------------------------------- */

static int refuse(struct http_conn *c, int status, const char *code, const char *msg)
{
    c->fail_status = status;
    c->fail_code = code;
    c->fail_msg = msg;
    return -1;
}

/* Append to the request's head storage, counted against max_header_bytes. */
static int head_add(struct http_conn *c, const char *p, size_t n)
{
    struct http_request *req = c->req;

    c->head_bytes += n;
    if (c->head_bytes > c->srv->cfg->max_headers || n >= req->head_cap - req->head_len)
        return refuse(c, 431, "headers_too_large",
                      "The request's headers are larger than this server accepts.");
    memcpy(req->head + req->head_len, p, n);
    req->head_len += n;
    return 0;
}

static int head_nul(struct http_conn *c)
{
    struct http_request *req = c->req;

    if (req->head_len + 1 > req->head_cap)
        return refuse(c, 431, "headers_too_large",
                      "The request's headers are larger than this server accepts.");
    req->head[req->head_len++] = '\0';
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct http_conn *c = p->data;

    if (c->ka_timer) {
        c->ka_timer = 0;
        arm_timer(c, c->srv->idle_tv); /* the request itself has header_timeout */
    }
    if (c->req == NULL)
        c->req = wire_request_new(c->srv, c);
    c->head_bytes = 0;
    c->part = HP_NONE;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    return head_add(p->data, at, n);
}

/* A header is complete when the parser moves on from its value. */
static int end_value(struct http_conn *c)
{
    struct http_request *req = c->req;

    if (head_nul(c) != 0)
        return -1;
    req->nhdrs++;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = p->data;
    struct http_request *req = c->req;

    if (c->part != HP_FIELD) {
        if (c->part == HP_NONE) {
            if (head_nul(c) != 0) /* ends the URL */
                return -1;
        } else if (end_value(c) != 0) {
            return -1;
        }
        if (req->nhdrs >= HTTP_MAX_REQ_HEADERS)
            return refuse(c, 431, "headers_too_large", "The request has too many headers.");
        req->hdrs[req->nhdrs].name = req->head + req->head_len;
        req->hdrs[req->nhdrs].value = "";
        c->part = HP_FIELD;
        c->head_bytes += 4; /* ": " and CRLF */
    }
    return head_add(c, at, n);
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = p->data;
    struct http_request *req = c->req;

    if (c->part == HP_FIELD) {
        struct http_hdr *h = &req->hdrs[req->nhdrs];

        h->nlen = (size_t)(req->head + req->head_len - h->name);
        if (head_nul(c) != 0)
            return -1;
        h->value = req->head + req->head_len;
        c->part = HP_VALUE;
    }
    return head_add(c, at, n);
}

/* The path and query out of the request target, NUL-terminated in the head storage. The
 * parser has checked the target's characters; the usual origin form ("/path?query") is
 * cut at '?' and '#', any other form (absolute URL, '*') goes through its URL parser. */
static int split_target(struct http_conn *c)
{
    struct http_request *req = c->req;
    struct http_parser_url u;
    const char *url = req->head, *q, *f;
    size_t len = strlen(url), plen;

    if (len == 0)
        return refuse(c, 400, "bad_request", "The request's address is not valid.");
    if (url[0] == '/') {
        f = memchr(url, '#', len);
        if (f != NULL)
            len = (size_t)(f - url);
        q = memchr(url, '?', len);
        plen = q != NULL ? (size_t)(q - url) : len;
        req->head[plen] = '\0'; /* the path ends in place */
        req->path = url;
        if (q != NULL) {
            req->head[len] = '\0';
            req->query = q + 1;
        }
        return 0;
    }
    http_parser_url_init(&u);
    if (http_parser_parse_url(url, len, 0, &u) != 0)
        return refuse(c, 400, "bad_request", "The request's address is not valid.");
    if (u.field_set & (1 << UF_PATH)) {
        req->path = req->head + req->head_len;
        if (head_add(c, url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len) != 0 ||
            head_nul(c) != 0)
            return -1;
    } else {
        req->path = "/";
    }
    if (u.field_set & (1 << UF_QUERY)) {
        req->query = req->head + req->head_len;
        if (head_add(c, url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len) != 0 ||
            head_nul(c) != 0)
            return -1;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    struct http_conn *c = p->data;
    struct http_request *req = c->req;
    const char *why, *expect;
    size_t i;

    if (c->part == HP_NONE ? head_nul(c) != 0 : c->part == HP_VALUE && end_value(c) != 0)
        return -1;
    if (c->part == HP_FIELD) /* a name without a value cannot reach here; be safe */
        return refuse(c, 400, "bad_request", "A header has no value.");
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].m == p->method) {
            req->method = methods[i].bit;
            req->method_name = methods[i].name;
            break;
        }
    }
    req->http_minor = p->http_minor;
    if (p->http_major != 1)
        return refuse(c, 505, "http_version", "Only HTTP/1.0 and HTTP/1.1 are served here.");
    req->close = !http_should_keep_alive(p);
    if (split_target(c) != 0)
        return -1;
    why = wire_check_framing(req, p);
    if (why != NULL)
        return refuse(c, 400, "bad_request", why);
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->srv->cfg->max_body)
        return refuse(c, 413, "body_too_large", "The request body is larger than allowed.");
    expect = wire_header(req, "Expect");
    if (expect != NULL) {
        if (strcasecmp(expect, "100-continue") != 0)
            return refuse(c, 417, "expectation_failed", "Only 'Expect: 100-continue' is known.");
        /* The client waits for this before it sends the body. */
        if (p->http_minor >= 1 && wire_reads_body(req->method) &&
            wire_send(c, cont, sizeof(cont) - 1, NULL, 0, NULL, NULL) != 0)
            return -1;
    }
    if ((p->flags & F_CONTENTLENGTH) && p->content_length > 0 &&
        p->content_length > req->body_cap) {
        free(req->bodybuf);
        req->bodybuf = xmalloc(p->content_length);
        req->body_cap = p->content_length;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct http_conn *c = p->data;
    struct http_request *req = c->req;
    size_t max = c->srv->cfg->max_body;

    if (n > max - req->body_len || req->body_len + n > max)
        return refuse(c, 413, "body_too_large", "The request body is larger than allowed.");
    if (req->body_len + n > req->body_cap) { /* chunked: grow by doubling, within max */
        size_t cap = req->body_cap > 0 ? req->body_cap : 1024;

        while (cap < req->body_len + n)
            cap *= 2;
        if (cap > max)
            cap = max;
        req->bodybuf = xrealloc(req->bodybuf, cap);
        req->body_cap = cap;
    }
    memcpy(req->bodybuf + req->body_len, at, n);
    req->body_len += n;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_parser_pause(p, 1); /* dispatched from parse(), outside the parser */
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* Timers and events ------------------------------------------------------------------- */

static void arm_timer(struct http_conn *c, const struct timeval *tv)
{
    if (event_add(c->timer, tv) != 0)
        log_warn("http: cannot arm a connection timer");
}

static void want_read(struct http_conn *c, int on)
{
    if (on && !c->reading && !c->dead && !c->eof) {
        if (event_add(c->rev, NULL) == 0)
            c->reading = 1;
    } else if (!on && c->reading) {
        event_del(c->rev);
        c->reading = 0;
    }
}

/* Waiting between requests: keepalive_timeout once an answer went out. */
static void arm_idle(struct http_conn *c)
{
    c->ka_timer = c->answered && c->srv->keepalive_differs;
    arm_timer(c, c->ka_timer ? c->srv->keepalive_tv : c->srv->idle_tv);
}

static void conn_later(struct http_conn *c, unsigned what)
{
    c->todo |= what;
    event_active(c->later, EV_TIMEOUT, 0);
}

/* Back to reading: the next request may come (or is already in pend). */
static void to_reading(struct http_conn *c)
{
    c->state = C_READING;
    if (c->eof && c->pend_len == 0) {
        conn_kill(c); /* the client has said all it will say */
        return;
    }
    if (c->srv->draining && c->pend_len == 0) {
        conn_kill(c); /* nothing asked: do not wait for a keep-alive client */
        return;
    }
    arm_idle(c);
    want_read(c, 1);
    if (c->pend_len > 0)
        conn_later(c, DO_PARSE);
}

/* Shut our side, then read and drop what the client still sends before closing. */
static void to_linger(struct http_conn *c)
{
    c->state = C_LINGER;
    c->pend_len = 0;
    if (c->eof || shutdown(c->fd, SHUT_WR) != 0) {
        conn_kill(c);
        return;
    }
    arm_timer(c, c->srv->linger_tv);
    want_read(c, 1);
}

/* Everything queued is written. */
static void written(struct http_conn *c)
{
    if (c->notify) {
        c->notify = 0;
        conn_later(c, DO_FLUSHED);
    }
    if (c->state != C_WRITING)
        return;
    if (c->closing)
        to_linger(c);
    else
        to_reading(c);
}

/* Write what is queued; 0 once all is written or it must wait, -1 when the client has gone. */
static int flush_out(struct http_conn *c)
{
    while (c->out != NULL && evbuffer_get_length(c->out) > 0) {
        struct evbuffer_iovec v[IOV_BATCH];
        struct msghdr msg;
        int nv = evbuffer_peek(c->out, -1, NULL, v, IOV_BATCH);
        ssize_t n;

        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = (struct iovec *)v; /* the same layout (libevent documents it) */
        msg.msg_iovlen = (size_t)(nv < IOV_BATCH ? nv : IOV_BATCH);
        n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        if (n >= 0)
            evbuffer_drain(c->out, (size_t)n);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                if (!c->writing && event_add(c->wev, NULL) == 0)
                    c->writing = 1;
                if (c->state == C_WRITING)
                    arm_timer(c, c->srv->write_tv);
                return 0;
            }
            return -1;
        }
    }
    if (c->writing) {
        event_del(c->wev);
        c->writing = 0;
    }
    written(c);
    return 0;
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;

    (void)fd;
    (void)what;
    if (c->dead)
        return;
    if (flush_out(c) != 0)
        conn_kill(c);
}

/* A referenced body's owner, told once libevent has written (or dropped) the bytes. */
struct body_ref {
    http_unref_fn fn;
    void *arg;
};

static void unref_body(const void *data, size_t len, void *extra)
{
    struct body_ref *r = extra;

    (void)data;
    (void)len;
    r->fn(r->arg);
    free(r);
}

int wire_send(struct http_conn *c, const void *head, size_t hlen, const void *body, size_t blen,
              http_unref_fn unref, void *arg)
{
    size_t off = 0, total = hlen + blen;
    int rc = -1;

    if (c == NULL || c->dead)
        goto out;
    if (c->out == NULL || evbuffer_get_length(c->out) == 0) {
        /* Nothing waiting: straight to the socket, most answers in this one call. */
        struct iovec iov[2] = {{(void *)head, hlen}, {(void *)body, blen}};
        struct msghdr msg;
        ssize_t n;

        /* sendmsg() rather than writev(): MSG_NOSIGNAL, so a client that has gone is an
         * error here and never a SIGPIPE, whatever the process does with signals. */
        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov;
        msg.msg_iovlen = blen > 0 ? 2 : 1;
        n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                conn_kill(c);
                goto out;
            }
            n = 0;
        }
        off = (size_t)n;
        if (off == total) {
            rc = 0;
            goto out;
        }
    }
    if (c->out == NULL && (c->out = evbuffer_new()) == NULL)
        goto nomem;
    if (off < hlen) {
        if (evbuffer_add(c->out, (const char *)head + off, hlen - off) != 0)
            goto nomem;
        off = hlen;
    }
    off -= hlen;
    if (off < blen) {
        if (unref != NULL) {
            struct body_ref *r = xmalloc(sizeof(*r));

            r->fn = unref;
            r->arg = arg;
            if (evbuffer_add_reference(c->out, (const char *)body + off, blen - off, unref_body,
                                       r) != 0) {
                free(r);
                goto nomem;
            }
            unref = NULL; /* libevent calls it */
        } else if (evbuffer_add(c->out, (const char *)body + off, blen - off) != 0) {
            goto nomem;
        }
    }
    if (flush_out(c) != 0) {
        conn_kill(c);
        goto out;
    }
    rc = 0;
out:
    if (unref != NULL)
        unref(arg);
    return rc;
nomem:
    log_error("http: out of memory queueing %zu bytes", total);
    conn_kill(c);
    goto out;
}

int wire_notify_flushed(struct http_conn *c)
{
    if (c == NULL || c->dead)
        return -1;
    if (c->out == NULL || evbuffer_get_length(c->out) == 0)
        conn_later(c, DO_FLUSHED);
    else
        c->notify = 1;
    return 0;
}

void wire_done(struct http_conn *c, int close)
{
    if (c == NULL)
        return;
    if (c->req != NULL) {
        c->req->conn = NULL;
        c->req = NULL;
    }
    if (c->dead)
        return;
    c->state = C_WRITING;
    c->answered = 1;
    c->closing = close || c->eof || c->srv->draining;
    if (c->closing)
        want_read(c, 0);
    if (c->out == NULL || evbuffer_get_length(c->out) == 0) {
        if (c->in_parse && !c->closing) {
            c->state = C_READING; /* parse() goes on with the next request itself */
            arm_idle(c);
        } else {
            written(c);
        }
    } else {
        arm_timer(c, c->srv->write_tv);
    }
}

void wire_abort(struct http_conn *c)
{
    if (c == NULL)
        return;
    if (c->req != NULL) {
        c->req->conn = NULL;
        c->req = NULL;
    }
    conn_kill(c);
}

const char *wire_peer(const struct http_conn *c)
{
    return c != NULL && c->peer[0] != '\0' ? c->peer : "-";
}

/* Reading and parsing ------------------------------------------------------------------ */

/* Keep data[0..len) (possibly inside c->pend already) as the unparsed input. */
static void keep(struct http_conn *c, const char *data, size_t len)
{
    if (data >= c->pend && data < c->pend + c->pend_cap) {
        memmove(c->pend, data, len);
    } else {
        if (len > c->pend_cap) {
            c->pend = xrealloc(c->pend, len);
            c->pend_cap = len;
        }
        memcpy(c->pend, data, len);
    }
    c->pend_len = len;
}

static void refuse_now(struct http_conn *c, enum http_errno err)
{
    struct http_request *req;
    int status = 400;
    const char *code = "bad_request", *msg = "The request is not valid HTTP/1.1.";

    if (c->fail_status != 0) {
        status = c->fail_status;
        code = c->fail_code;
        msg = c->fail_msg;
    } else if (err == HPE_HEADER_OVERFLOW) {
        status = 431;
        code = "headers_too_large";
        msg = "The request's headers are larger than this server accepts.";
    } else if (err == HPE_UNEXPECTED_CONTENT_LENGTH) {
        msg = "conflicting Content-Length or Transfer-Encoding headers";
    } else if (err == HPE_INVALID_TRANSFER_ENCODING) {
        msg = "unsupported Transfer-Encoding";
    }
    c->fail_status = 0;
    if (c->req == NULL)
        c->req = wire_request_new(c->srv, c);
    req = c->req;
    req->close = 1;
    req->dispatched = 1;
    c->state = C_BUSY;
    event_del(c->timer);
    want_read(c, 0); /* nothing after a refused request is read as a request */
    http_refuse(req, status, code, msg);
}

static void dispatch_ready(struct http_conn *c)
{
    struct http_request *req = c->req;

    req->body.ptr = req->body_len > 0 ? req->bodybuf : NULL;
    req->body.len = req->body_len;
    req->dispatched = 1;
    c->state = C_BUSY;
    event_del(c->timer);
    http_dispatch(req);
}

static void parse(struct http_conn *c, const char *data, size_t len)
{
    c->in_parse = 1;
    while (len > 0 && !c->dead && c->state == C_READING) {
        size_t n = http_parser_execute(&c->parser, &settings, data, len);
        enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);

        if (n > len)
            n = len;
        data += n;
        len -= n;
        if (err == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            dispatch_ready(c);
        } else if (err != HPE_OK) {
            refuse_now(c, err);
            len = 0;
        } else if (c->parser.upgrade) {
            c->fail_status = 0;
            refuse_now(c, HPE_UNKNOWN); /* no route upgrades a connection */
            len = 0;
        }
    }
    c->in_parse = 0;
    if (c->dead || c->state == C_LINGER)
        return;
    if (len > 0)
        keep(c, data, len);
    else
        c->pend_len = 0;
}

/* Read once into pend's free space; returns the bytes read, 0 at EOF, -1 (EAGAIN: -2). */
static ssize_t read_pend(struct http_conn *c)
{
    ssize_t n;

    if (c->pend_cap - c->pend_len < 4096) {
        size_t cap = c->pend_len + READ_CHUNK / 4;

        c->pend = xrealloc(c->pend, cap);
        c->pend_cap = cap;
    }
    n = read(c->fd, c->pend + c->pend_len, c->pend_cap - c->pend_len);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -2 : -1;
    c->pend_len += (size_t)n;
    return n;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    ssize_t n;

    (void)what;
    if (c->dead)
        return;
    switch (c->state) {
    case C_LINGER:
        n = read(fd, rbuf, sizeof(rbuf));
        if (n > 0 && (c->linger_bytes += (size_t)n) <= LINGER_MAX)
            return;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        conn_kill(c);
        return;
    case C_BUSY:
    case C_WRITING:
        /* Pipelined bytes wait for the answer in flight; a client that has said all it
         * will say (EOF) still gets that answer. */
        if (c->pend_len >= PEND_MAX) {
            want_read(c, 0);
            return;
        }
        n = read_pend(c);
        if (n == 0) {
            c->eof = 1;
            want_read(c, 0);
        } else if (n == -1) {
            conn_kill(c);
        }
        return;
    case C_READING:
        break;
    }
    if (c->pend_len > 0) {
        n = read_pend(c);
        if (n == -2)
            return;
        if (n <= 0) {
            conn_kill(c);
            return;
        }
        parse(c, c->pend, c->pend_len);
        return;
    }
    n = read(fd, rbuf, sizeof(rbuf));
    if (n > 0) {
        parse(c, rbuf, (size_t)n);
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        conn_kill(c);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;

    (void)fd;
    (void)what;
    if (c->dead || c->state == C_BUSY)
        return;
    if (c->state == C_READING && c->req != NULL)
        log_debug("http: %s: request not read within the header timeout", c->peer);
    else if (c->state == C_WRITING)
        log_debug("http: %s: answer not taken within %d s", c->peer, WRITE_TIMEOUT_S);
    conn_kill(c);
}

/* Connections ------------------------------------------------------------------------- */

static void conn_free(struct http_conn *c)
{
    struct http_server *srv = c->srv;

    event_del(c->rev);
    event_del(c->wev);
    event_del(c->timer);
    event_del(c->later);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    srv->nconns--;
    http_server_conns_changed(srv);
    if (c->out != NULL)
        evbuffer_free(c->out); /* referenced bodies are released here */
    free(c->pend);
    free(c);
}

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    struct http_conn *c = arg;
    unsigned todo = c->todo;

    (void)fd;
    (void)what;
    c->todo = 0;
    if (c->dead) {
        conn_free(c);
        return;
    }
    if ((todo & DO_FLUSHED) && c->req != NULL)
        http_flushed(c->req);
    if ((todo & DO_PARSE) && !c->dead && c->state == C_READING && c->pend_len > 0)
        parse(c, c->pend, c->pend_len);
    if (c->dead)
        conn_later(c, DO_FREE);
}

static void conn_kill(struct http_conn *c)
{
    struct http_request *req = c->req;

    if (c->dead)
        return;
    c->dead = 1;
    want_read(c, 0);
    if (c->writing) {
        event_del(c->wev);
        c->writing = 0;
    }
    event_del(c->timer);
    close(c->fd);
    c->fd = -1;
    c->req = NULL;
    if (req != NULL) {
        req->conn = NULL;
        if (req->dispatched)
            http_gone(req);
        else
            wire_request_free(req);
    }
    conn_later(c, DO_FREE);
}

static struct http_conn *conn_new(struct http_server *srv, int fd, const struct sockaddr *sa)
{
    size_t evsz = (event_get_struct_event_size() + 15) & ~(size_t)15;
    size_t base = (sizeof(struct http_conn) + 15) & ~(size_t)15;
    struct http_conn *c = xcalloc(1, base + 4 * evsz);
    char *ev = (char *)c + base;
    int one = 1;

    c->srv = srv;
    c->fd = fd;
    c->rev = (struct event *)ev;
    c->wev = (struct event *)(ev + evsz);
    c->timer = (struct event *)(ev + 2 * evsz);
    c->later = (struct event *)(ev + 3 * evsz);
    if (event_assign(c->rev, srv->base, fd, EV_READ | EV_PERSIST, on_readable, c) != 0 ||
        event_assign(c->wev, srv->base, fd, EV_WRITE | EV_PERSIST, on_writable, c) != 0 ||
        event_assign(c->timer, srv->base, -1, 0, on_timer, c) != 0 ||
        event_assign(c->later, srv->base, -1, 0, on_later, c) != 0) {
        free(c);
        return NULL;
    }
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, c->peer,
                  sizeof(c->peer));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, c->peer,
                  sizeof(c->peer));
    /* Answers are written whole; do not hold a pipelined one back for an ACK. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 && errno != EOPNOTSUPP)
        log_debug("http: TCP_NODELAY: %s", strerror(errno));
    c->next = srv->conns;
    if (c->next != NULL)
        c->next->prev = c;
    srv->conns = c;
    srv->nconns++;
    http_server_conns_changed(srv);
    return c;
}

struct http_conn *wire_conn_open(struct http_server *srv, int fd, const struct sockaddr *sa)
{
    struct http_conn *c = conn_new(srv, fd, sa);

    if (c != NULL)
        to_reading(c);
    return c;
}

/* The server's part ----------------------------------------------------------------------- */

int wire_server_init(struct http_server *srv)
{
    struct timeval tv;

    /* Our own count (max_header_bytes) refuses first; the parser's is a backstop. */
    http_parser_set_max_header_size((uint32_t)(srv->cfg->max_headers * 2 + 1024));
    /* Common timeouts: every connection's timer is a list operation, not a heap one. */
    tv.tv_sec = srv->cfg->header_timeout > 0 ? srv->cfg->header_timeout : 10;
    tv.tv_usec = 0;
    srv->idle_tv = event_base_init_common_timeout(srv->base, &tv);
    /* By default the same: then no timer is re-armed when a request starts. */
    if (srv->cfg->keepalive_timeout > 0 && srv->cfg->keepalive_timeout != tv.tv_sec) {
        tv.tv_sec = srv->cfg->keepalive_timeout;
        srv->keepalive_differs = 1;
    }
    srv->keepalive_tv = event_base_init_common_timeout(srv->base, &tv);
    tv.tv_sec = WRITE_TIMEOUT_S;
    srv->write_tv = event_base_init_common_timeout(srv->base, &tv);
    tv.tv_sec = LINGER_S;
    srv->linger_tv = event_base_init_common_timeout(srv->base, &tv);
    return srv->idle_tv == NULL || srv->keepalive_tv == NULL || srv->write_tv == NULL ||
                   srv->linger_tv == NULL
               ? -1
               : 0;
}

void wire_close_idle(struct http_server *srv)
{
    struct http_conn *c;

    for (c = srv->conns; c != NULL; c = c->next)
        if (!c->dead && c->state == C_READING && c->req == NULL && c->pend_len == 0)
            conn_kill(c);
}

void wire_server_clear(struct http_server *srv)
{
    while (srv->conns != NULL) {
        struct http_conn *c = srv->conns;

        conn_kill(c);
        conn_free(c);
    }
    while (srv->npool > 0) {
        struct http_request *req = srv->pool[--srv->npool];

        free(req->bodybuf);
        free(req);
    }
}
