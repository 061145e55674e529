/*
 * libFuzzer target for the HTTP/1.1 connection layer (net/http_wire.c under net/http.c):
 * the input is whatever a client sends on one connection, written whole into one end of
 * a socketpair whose other end the server serves (http_server_serve_fd()), then shut.
 * Routes answer at once, later from the loop, or streamed in chunks, so pipelined
 * requests meet every state of a connection. The loop runs until the server has closed
 * its end; a connection still open after that many turns is a hang and aborts. Limits
 * are small (256-byte heads, 512-byte bodies) so the input reaches them.
 *
 *   make fuzz && build/fuzz/fuzz_http_wire -max_total_time=60 tests/fuzz/corpus/fuzz_http_wire
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/log.h"
#include "net/config.h"
#include "net/http.h"
#include "net/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf[] = "server s { bind 127.0.0.1 8080 }\n"
                           "validator v_int regex ^[0-9]{1,3}$\n"
                           "domain * {\n"
                           "  route /now { handler h_now; methods get post head put delete }\n"
                           "  route /later { handler h_later; methods get post }\n"
                           "  route /stream { handler h_stream; methods get }\n"
                           "  route ^/n/[0-9]+$ { handler h_now; validate qs:get x v_int }\n"
                           "}\n"
                           "hisaab {\n"
                           "  max_body_bytes 512\n"
                           "  max_header_bytes 256\n"
                           "}\n";

static struct event_base *base;
static struct config *cfg;
static struct router *router;
static struct http_server *srv;

static void h_now(struct http_request *req)
{
    struct slice b = http_body(req);

    http_add_header(req, "X-Seen", http_header(req, "Host") != NULL ? "host" : "none");
    http_reply(req, 200, "text/plain", b.ptr != NULL ? b.ptr : "", b.len);
}

static void later_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_request *req = arg;

    (void)fd;
    (void)what;
    http_reply(req, 202, "text/plain", "later", 5);
}

static void h_later(struct http_request *req)
{
    if (event_base_once(http_base(req), -1, EV_TIMEOUT, later_cb, req, NULL) != 0)
        http_reply(req, 500, "text/plain", "no", 2);
}

static void stream_more(struct http_request *req, void *arg)
{
    int *left = arg;

    if (http_is_gone(req) || (*left)-- <= 0) {
        free(left);
        http_reply_end(req);
        return;
    }
    if (http_reply_chunk(req, "chunk", 5, stream_more, left) != 0) {
        free(left);
        http_reply_end(req);
    }
}

static void h_stream(struct http_request *req)
{
    int *left = malloc(sizeof(*left));

    if (left == NULL) {
        http_reply(req, 500, "text/plain", "no", 2);
        return;
    }
    *left = 3;
    http_reply_start(req, 200, "text/plain");
    stream_more(req, left);
}

static void *lookup(const char *name)
{
    if (strcmp(name, "h_now") == 0)
        return (void *)h_now;
    if (strcmp(name, "h_later") == 0)
        return (void *)h_later;
    if (strcmp(name, "h_stream") == 0)
        return (void *)h_stream;
    return NULL;
}

static void init(void)
{
    char err[256];

    log_init("fuzz_http_wire", LOG_ERROR);
    base = event_base_new();
    if (base == NULL || config_parse("fuzz.conf", conf, &cfg, err, sizeof(err)) != 0 ||
        (router = router_new(cfg, lookup, err, sizeof(err))) == NULL ||
        (srv = http_server_new(base, cfg, router, NULL, 0)) == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char sink[65536];
    int sv[2], turns;

    if (base == NULL)
        init();
    if (size > 60000)
        return 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        abort();
    if (http_server_serve_fd(srv, sv[1]) != 0)
        abort();
    if (size > 0 && write(sv[0], data, size) != (ssize_t)size)
        abort(); /* a socketpair's buffer takes 60,000 bytes */
    shutdown(sv[0], SHUT_WR);
    for (turns = 0; turns < 100000; turns++) {
        ssize_t n;

        event_base_loop(base, EVLOOP_NONBLOCK);
        n = read(sv[0], sink, sizeof(sink));
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            break;
    }
    if (turns == 100000)
        abort(); /* the server never closed a connection whose client had finished */
    event_base_loop(base, EVLOOP_NONBLOCK); /* the connection's deferred free */
    close(sv[0]);
    return 0;
}
