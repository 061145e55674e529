/*
 * The HTTP/1.1 connection layer under net/http.c, internal to net/: accepting on the
 * listening sockets, reading with one read() per readable event, parsing with Debian's
 * http-parser (nodejs/http-parser 2.9), assembling each request (its URL, headers and body
 * in memory owned by the request, within max_header_bytes and max_body_bytes), writing
 * replies with writev() straight from the handler when the socket takes them, timeouts,
 * keep-alive, pipelining (one request at a time per connection, answers in order) and a
 * lingering close after a refusal.
 *
 * net/http.c owns what a request means (routing, replies, headers, logs, metrics); this
 * file owns the bytes, net/http_accept.c the listening sockets and the server,
 * net/http_request.c the request objects. Nothing outside those files includes this
 * header.
 */
#ifndef HISAAB_HTTP_WIRE_H
#define HISAAB_HTTP_WIRE_H

#include <stdalign.h>
#include <stddef.h>
#include <time.h>

#include "core/buf.h"
#include "net/http.h"
#include "net/metrics.h"
#include "net/router.h"

#define HTTP_MAX_LISTENERS 16
#define HTTP_MAX_REQ_HEADERS 100
#define HTTP_MAX_RESP_HEADERS 40
#define HTTP_ARENA_INLINE 1024
#define HTTP_REQ_POOL 64

struct event;
struct http_conn;
struct http_parser;
struct sockaddr;

struct http_server {
    struct event_base *base;
    const struct config *cfg;
    const struct router *router;
    struct event *listeners[HTTP_MAX_LISTENERS]; /* readable: a connection to accept */
    int listen_fds[HTTP_MAX_LISTENERS];
    size_t nlisteners;
    struct event *accept_pause; /* accepting again after EMFILE and the like */
    size_t nconns;              /* open connections */
    size_t max_conns;           /* max_connections: accepting pauses at this many */
    int at_cap;                 /* accepting paused for max_conns */
    size_t self;                /* this worker's slot in the balance table, or SIZE_MAX */
    struct http_conn *conns;    /* every open connection, for draining and freeing */
    size_t inflight;            /* requests handed to a handler and not answered */
    int draining;
    http_drained_fn drained;
    void *drained_arg;
    struct event *log_timer;
    const struct timeval *idle_tv;      /* header_timeout: reading a request */
    const struct timeval *keepalive_tv; /* keepalive_timeout: between requests */
    int keepalive_differs;              /* keepalive_tv is not idle_tv's duration */
    const struct timeval *write_tv;     /* a client that takes no bytes of its answer this long */
    const struct timeval *linger_tv;    /* reading what follows a refused request */
    time_t date_sec;                    /* the second date_line was formatted for */
    char date_line[48];                 /* "Date: ...\r\n" */
    size_t date_len;
    /* Route -> metrics slot, looked up by pointer. */
    const struct cfg_route *route_ptr[METRICS_MAX_ROUTES];
    int route_slot[METRICS_MAX_ROUTES];
    size_t nroutes;
    struct http_request *pool[HTTP_REQ_POOL]; /* recycled requests */
    size_t npool;
};

/* A request header: both strings NUL-terminated inside the request's head storage. */
struct http_hdr {
    const char *name;
    const char *value;
    size_t nlen;
};

/* A response header a handler gave: copied into the request's arena. */
struct http_out_hdr {
    const char *name;
    const char *value;
    size_t nlen, vlen;
    unsigned bit; /* its HS_* bit in net/http.c, 0 for the others */
};

struct arena_chunk {
    struct arena_chunk *next;
    alignas(16) char data[];
};

struct http_request {
    /* Cleared for every request, up to `hdrs`. */
    struct http_server *srv;
    struct http_conn *conn; /* NULL once the connection is closed */
    struct router_match match;
    const char *path;
    const char *query; /* raw query string, NULL when none */
    const char *method_name;
    unsigned method;
    unsigned http_minor; /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
    struct slice body;
    const struct cfg_route *route; /* for the access log and metrics */
    struct timespec start;
    unsigned matched : 1;
    unsigned replied : 1;
    unsigned gone : 1;
    unsigned in_dispatch : 1;
    unsigned close : 1;      /* the connection closes after this answer */
    unsigned streaming : 1;  /* between http_reply_start() and http_reply_end() */
    unsigned chunked : 1;    /* the streamed body goes out in chunks (HTTP/1.1) */
    unsigned dispatched : 1; /* handed to http.c: it answers and frees it */
    unsigned headers_set;    /* HS_* bits: headers a handler gave that the reply also sets */
    int stream_status;
    size_t stream_bytes;
    http_flushed_fn flushed; /* pending chunk-written callback, if any */
    void *flushed_arg;
    struct event *flush_ev; /* runs `flushed` from the loop when the client went */
    size_t nhdrs;
    size_t nout;
    size_t head_len; /* bytes used in head[] */
    size_t body_len;
    struct arena_chunk *chunks;
    size_t arena_used;
    /* Not cleared. */
    struct http_hdr hdrs[HTTP_MAX_REQ_HEADERS];
    struct http_out_hdr out[HTTP_MAX_RESP_HEADERS];
    char *bodybuf; /* malloc'd, body_cap bytes; kept when the request is recycled */
    size_t body_cap;
    size_t head_cap;
    alignas(16) char arena[HTTP_ARENA_INLINE];
    char head[]; /* the URL, header names and values; head_cap bytes */
};

/* net/http.c, called from here. */

/* A complete, well-framed request: route it and run its handler. */
void http_dispatch(struct http_request *req);
/* A request refused before its handler (bad framing, over a limit, malformed): answer
 * status with the JSON error body; the connection closes after it. */
void http_refuse(struct http_request *req, int status, const char *code, const char *message);
/* The connection of a dispatched request closed before it was answered. */
void http_gone(struct http_request *req);
/* Everything a streamed reply queued has been written (wire_notify_flushed()). */
void http_flushed(struct http_request *req);

/* Here, called from net/http.c. */

/* The request back to the pool (or freed): its route match, arena, flush event. */
void wire_request_free(struct http_request *req);
/*
 * Queue head then body on the connection, writing at once when nothing is waiting:
 * head is copied if it cannot be written at once; body is copied, or with unref not NULL
 * referenced until written, then unref(arg) is called once (at once when nothing is
 * queued). Returns 0, or -1 when the connection is closed (unref already called).
 */
int wire_send(struct http_conn *c, const void *head, size_t hlen, const void *body, size_t blen,
              http_unref_fn unref, void *arg) WUR;
/* Once everything queued so far is written, call http's flushed callback of the
 * connection's request (from the loop, never from inside this call). Returns 0 or -1. */
int wire_notify_flushed(struct http_conn *c) WUR;
/* The answer to the connection's request is complete (everything queued): close after it
 * when close is set, else take the connection's next request once it is written. The
 * request is detached from the connection. */
void wire_done(struct http_conn *c, int close);
/* Close the connection now (a streamed reply that cannot be finished). */
void wire_abort(struct http_conn *c);
/* The request header `name` (any case), or NULL. */
const char *wire_header(const struct http_request *req, const char *name);
/* The client's address as text. */
const char *wire_peer(const struct http_conn *c);

/* net/http_request.c, called from here. */

/* A request for connection c, from the server's pool or new; its start time is now. */
struct http_request *wire_request_new(struct http_server *srv, struct http_conn *c);
/* 1 when a request with this method (CFG_METHOD_*) may carry a body. */
int wire_reads_body(unsigned method);
/* NULL if the request's framing is unambiguous, else why not (a static string). */
const char *wire_check_framing(const struct http_request *req, const struct http_parser *p);

/* net/http_wire.c, called from net/http_accept.c. */

/* The parser's limit and the server's common timeouts, for http_server_new(): 0 or -1. */
int wire_server_init(struct http_server *srv) WUR;
/* A connection accepted on fd, from sa, reading its first request; NULL when it cannot be
 * set up (the caller closes fd). */
struct http_conn *wire_conn_open(struct http_server *srv, int fd, const struct sockaddr *sa);
/* Close every connection waiting for a request (draining). */
void wire_close_idle(struct http_server *srv);
/* Close and free every connection and the recycled requests (freeing the server). */
void wire_server_clear(struct http_server *srv);

/* net/http_accept.c, called from here when a connection opens or closes: the worker's
 * count is published for the other workers, and accepting resumes below max_connections. */
void http_server_conns_changed(struct http_server *srv);

#endif
