/*
 * The worker's HTTP/1.1 layer on the listening sockets inherited from the master
 * (connections and parsing in net/http_wire.c, on libevent and Debian's http-parser): the
 * router in front of the handlers, limits (body cap, header size, header and idle
 * timeouts, conflicting Content-Length / Transfer-Encoding refused), keep-alive and
 * pipelining, the access log and request metrics. Handlers see a struct http_request and answer it
 * exactly once with http_reply*(), possibly later from a libpq/hiredis callback on the same loop.
 */
#ifndef HISAAB_HTTP_H
#define HISAAB_HTTP_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "net/router.h"

struct event_base;
struct http_request;
struct http_server;

/* A handler: looked up by name from kore.conf. Must eventually call one http_reply*(). */
typedef void (*http_handler_fn)(struct http_request *req);

/* The validated parameter `name`, or NULL (undeclared parameters never reach here). */
const char *http_param(struct http_request *req, const char *name);
/* The request path (without query), a request header (NULL if absent), the method bit. */
const char *http_path(struct http_request *req);
const char *http_header(struct http_request *req, const char *name);
unsigned http_method(struct http_request *req);
/* The raw (still percent-encoded) query string, or NULL. Borrowed until the reply. For
 * handlers that must see every parameter, e.g. to check a signature over the URL. */
const char *http_query(struct http_request *req);
/* The raw request body (may be empty). Borrowed until the reply. */
struct slice http_body(struct http_request *req);
/* The worker's event loop, for starting backend calls from a handler. */
struct event_base *http_base(struct http_request *req);

/* Add a response header (copied). */
void http_add_header(struct http_request *req, const char *name, const char *value);

/* Send the reply and finish the request; body is copied. */
void http_reply(struct http_request *req, int status, const char *content_type, const void *body,
                size_t len);
/*
 * The same without copying the body: body must stay valid until unref(arg) is called,
 * once, when the bytes have been written or dropped (at once for HEAD, an error or a
 * client that has gone). For large bodies served from memory (audio).
 */
typedef void (*http_unref_fn)(void *arg);
void http_reply_ref(struct http_request *req, int status, const char *content_type,
                    const void *body, size_t len, http_unref_fn unref, void *arg);

/* Reply with a JSON document (stolen: the reference is released). */
void http_reply_json(struct http_request *req, int status, json_t *doc);
/* Reply {"status":"error","error":{"code":code,"message":message}} with `status`. */
void http_reply_error(struct http_request *req, int status, const char *code, const char *message);

/*
 * Streamed replies (chunked on HTTP/1.1), for bodies too large to build in memory. After
 * http_reply_start() the handler sends the body with http_reply_chunk() and finishes with
 * http_reply_end(), which also writes the access log line and the metrics (with the
 * status given to start and the bytes streamed). http_reply*() may not be mixed in.
 *
 * http_reply_chunk() copies data and queues it; done(req, arg), if not NULL, is called
 * once from the loop when the chunk has been written to the socket, or when the client
 * has gone (check http_is_gone()): queue the next chunk from there to keep memory
 * constant. Only one chunk with a done callback may be pending. Returns 0, or -1 when the
 * client has gone, no stream was started or a chunk is still pending (done not called).
 * http_reply_end() must be called exactly once after http_reply_start(), also when the
 * client has gone; the request is freed by it.
 */
typedef void (*http_flushed_fn)(struct http_request *req, void *arg);
void http_reply_start(struct http_request *req, int status, const char *content_type);
int http_reply_chunk(struct http_request *req, const void *data, size_t len, http_flushed_fn done,
                     void *arg) __attribute__((warn_unused_result));
void http_reply_end(struct http_request *req);
/* Instead of http_reply_end() when the body cannot be completed: closes the connection
 * so the client sees an incomplete reply. Also frees the request. */
void http_reply_abort(struct http_request *req);

/*
 * The base of the absolute URLs the service gives out (to a telephony provider, in an
 * API answer): public_url (kore.conf) without a trailing '/', or else http://<Host> when
 * the Host header is a plain host[:port]. Appended to out. Returns 0, or -1 (no usable
 * base, out's cap).
 */
int http_base_url(struct http_request *req, const char *public_url, struct buf *out) WUR;

/* The client's IP address as text (borrowed until the reply), or "-" when unknown. */
const char *http_peer(struct http_request *req);

/* 1 once the client has gone away (a late backend callback should just finish). */
int http_is_gone(struct http_request *req);

/*
 * n bytes of request-lifetime memory (8-byte aligned), freed with the request when the
 * reply is sent. Aborts on out-of-memory like xmalloc; callers cap n themselves.
 */
void *http_alloc(struct http_request *req, size_t n);

/*
 * Server side, used by the worker loop in master.c.
 *
 * http_server_new() serves the listening sockets fds[0..nfds-1] (borrowed; each worker
 * closes its own copy when draining) on base, routing with router (borrowed) under cfg's
 * limits. Returns NULL on error.
 *
 * http_server_drain() stops accepting, answers keep-alive clients with Connection: close
 * and calls done(arg) once no request is in flight (possibly before returning).
 *
 * http_server_inflight() is the number of requests handed to a handler and not answered.
 */
typedef void (*http_drained_fn)(void *arg);
struct config;
struct http_server *http_server_new(struct event_base *base, const struct config *cfg,
                                    const struct router *router, const int *fds, size_t nfds);
void http_server_drain(struct http_server *srv, http_drained_fn done, void *arg);
/*
 * Connections spread over the workers: http_balance_init(n), in the master before the
 * workers are forked, maps a small shared table; http_server_set_worker(srv, i) in
 * worker i (0..n-1) makes it publish how many connections it holds and leave a waiting
 * connection to a live worker holding clearly fewer (see http_wire.c). Without them every
 * worker accepts whatever it can. http_balance_init() returns 0 or -1.
 */
int http_balance_init(size_t nworkers) WUR;
void http_server_set_worker(struct http_server *srv, size_t index);
/* Serve one already-connected stream socket fd (owned from here on; closed with the
 * connection), as if it had been accepted. Returns 0 or -1 (fd closed). */
int http_server_serve_fd(struct http_server *srv, int fd) WUR;
size_t http_server_inflight(const struct http_server *srv);
void http_server_free(struct http_server *srv);

#endif
