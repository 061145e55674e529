/*
 * Unit tests for http.c, in process: the framing checks and form detection on their own,
 * then a real server (net/http_wire.c) on a loopback socket driven by one event loop while a client
 * thread speaks raw HTTP to it (double replies, the request arena, 204/304, HEAD, form
 * parameters, a client that goes away, draining).
 */
#include "net/http.c"
#include "net/http_wire.c"
#include "net/http_accept.c"
#include "net/http_request.c"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- framing checks on a hand-made request ---- */

static struct http_request *fake_request(unsigned method, const char *const *headers,
                                         http_parser *p)
{
    struct http_request *req = calloc(1, sizeof(*req));
    size_t i;

    assert_non_null(req);
    memset(p, 0, sizeof(*p));
    req->method = method;
    for (i = 0; headers[i] != NULL; i += 2) {
        req->hdrs[req->nhdrs].name = headers[i];
        req->hdrs[req->nhdrs].value = headers[i + 1];
        req->hdrs[req->nhdrs].nlen = strlen(headers[i]);
        req->nhdrs++;
        if (strcasecmp(headers[i], "Content-Length") == 0) {
            p->flags |= F_CONTENTLENGTH;
            p->content_length = strtoull(headers[i + 1], NULL, 10);
        } else if (strcasecmp(headers[i], "Transfer-Encoding") == 0 &&
                   strstr(headers[i + 1], "chunked") != NULL) {
            p->flags |= F_CHUNKED;
        }
    }
    return req;
}

static const char *framing(unsigned method, const char *const *headers)
{
    http_parser p;
    struct http_request *req = fake_request(method, headers, &p);
    const char *why = wire_check_framing(req, &p);

    free(req);
    return why;
}

static void test_framing(void **state)
{
    const char *plain[] = {"Host", "x", NULL};
    const char *cl[] = {"Content-Length", "12", NULL};
    const char *cl_same[] = {"Content-Length", "12", "content-length", "12", NULL};
    const char *cl_diff[] = {"Content-Length", "12", "Content-Length", "13", NULL};
    const char *cl_te[] = {"Content-Length", "12", "Transfer-Encoding", "chunked", NULL};
    const char *te[] = {"Transfer-Encoding", "chunked", NULL};
    const char *te_two[] = {"Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked", NULL};
    const char *te_gzip[] = {"Transfer-Encoding", "gzip, chunked", NULL};
    const char *cl_zero[] = {"Content-Length", "0", NULL};

    (void)state;
    assert_null(framing(CFG_METHOD_GET, plain));
    assert_null(framing(CFG_METHOD_POST, cl));
    assert_null(framing(CFG_METHOD_POST, cl_same));
    assert_null(framing(CFG_METHOD_POST, te));
    assert_null(framing(CFG_METHOD_GET, cl_zero));
    assert_string_equal(framing(CFG_METHOD_POST, cl_diff), "conflicting Content-Length headers");
    assert_string_equal(framing(CFG_METHOD_POST, cl_te),
                        "both Content-Length and Transfer-Encoding");
    assert_non_null(framing(CFG_METHOD_POST, te_two));
    assert_string_equal(framing(CFG_METHOD_POST, te_gzip), "unsupported Transfer-Encoding");
    assert_string_equal(framing(CFG_METHOD_GET, cl), "this method takes no body");
    assert_string_equal(framing(CFG_METHOD_HEAD, te), "this method takes no body");
}

static int form(const char *ct)
{
    const char *none[] = {NULL};
    const char *one[] = {"Content-Type", ct, NULL};
    http_parser p;
    struct http_request *req = fake_request(CFG_METHOD_POST, ct != NULL ? one : none, &p);
    int r = has_form_body(req);

    free(req);
    return r;
}

static void test_form_detection(void **state)
{
    (void)state;
    assert_true(form("application/x-www-form-urlencoded"));
    assert_true(form("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
    assert_false(form(NULL));
    assert_false(form("application/json"));
    assert_false(form("application/x-www-form-urlencodedX"));
    assert_false(form("multipart/form-data; boundary=x"));
}

static void test_json_escape(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 256);
    assert_int_equal(json_escape(&b, "a\"b\\c\n\x01"), 0);
    assert_string_equal(buf_cstr(&b), "a\\\"b\\\\c\\u000a\\u0001");
    buf_free(&b);
}

/* ---- a live server ---- */

static const char conf_text[] = "server t {\n"
                                "  bind 127.0.0.1 1\n"
                                "}\n"
                                "workers 1\n"
                                "validator v_x regex ^[a-z0-9]{1,8}$\n"
                                "domain * {\n"
                                "  route /twice {\n"
                                "    handler h_twice\n"
                                "    methods get\n"
                                "  }\n"
                                "  route /alloc {\n"
                                "    handler h_alloc\n"
                                "    methods get\n"
                                "  }\n"
                                "  route /status {\n"
                                "    handler h_status\n"
                                "    methods get\n"
                                "    validate qs:get x v_x\n"
                                "  }\n"
                                "  route /form {\n"
                                "    handler h_form\n"
                                "    methods post\n"
                                "    validate post x v_x\n"
                                "  }\n"
                                "  route /later {\n"
                                "    handler h_later\n"
                                "    methods get\n"
                                "  }\n"
                                "  route /stream {\n"
                                "    handler h_stream\n"
                                "    methods get\n"
                                "    validate qs:get x v_x\n"
                                "  }\n"
                                "}\n";

static struct event_base *base;
static struct http_server *srv;
static struct config *cfg;
static struct router *router;
static int port;
static _Atomic int client_done;
static int later_ms = 200;
static int later_replied, later_was_gone;
static int drained_calls;

static void h_twice(struct http_request *req)
{
    http_reply(req, 200, "text/plain", "first", 5);
    http_reply(req, 500, "text/plain", "second", 6); /* ignored, not a crash */
    http_reply_error(req, 500, "x", "third");
}

static void h_alloc(struct http_request *req)
{
    char *small[40], *big;
    size_t i;

    for (i = 0; i < 40; i++) {
        small[i] = http_alloc(req, 40);
        assert_int_equal((uintptr_t)small[i] % 8, 0);
        memset(small[i], (int)i, 40);
    }
    big = http_alloc(req, 100000);
    memset(big, 'z', 100000);
    for (i = 0; i < 40; i++)
        assert_int_equal(small[i][39], (char)i);
    http_reply(req, 200, "text/plain", big, 10);
}

static void h_status(struct http_request *req)
{
    const char *x = http_param(req, "x");
    int st = x != NULL && strcmp(x, "nc") == 0   ? 204
             : x != NULL && strcmp(x, "nm") == 0 ? 304
                                                 : 200;

    http_add_header(req, "X-Test", "yes");
    http_reply(req, st, "text/plain", "hello", 5);
}

static void h_form(struct http_request *req)
{
    const char *x = http_param(req, "x");

    http_reply(req, 200, "text/plain", x != NULL ? x : "none", x != NULL ? strlen(x) : 4);
}

static void later(evutil_socket_t fd, short what, void *arg)
{
    struct http_request *req = arg;

    (void)fd;
    (void)what;
    later_was_gone = http_is_gone(req);
    later_replied++;
    http_reply(req, 200, "text/plain", "late", 4);
}

static void h_later(struct http_request *req)
{
    struct timeval tv = {later_ms / 1000, (later_ms % 1000) * 1000};

    assert_int_equal(event_base_once(http_base(req), -1, EV_TIMEOUT, later, req, &tv), 0);
}

/*
 * A streamed reply: `x` chooses "ok" (3 small chunks, then the end), "abort" (2 chunks,
 * then abort) or "big" (up to 256 chunks of 64 KB, each queued once the previous one is
 * written: a client that hangs up must still end the stream).
 */
static struct {
    struct http_request *req;
    int mode; /* 0 ok, 1 abort, 2 big */
    int sent;
    int ended;
    int saw_gone;
} st;
static char big_chunk[65536];

static void stream_step(struct http_request *req, void *arg);

static void stream_next(evutil_socket_t fd, short what, void *arg)
{
    char line[32];
    int n;

    (void)fd;
    (void)what;
    (void)arg;
    if (st.mode == 1 && st.sent == 2) {
        http_reply_abort(st.req);
        st.ended = 1;
        return;
    }
    if ((st.mode == 0 && st.sent == 3) || (st.mode == 2 && st.sent == 256)) {
        http_reply_end(st.req);
        st.ended = 1;
        return;
    }
    if (st.mode == 2) {
        if (http_reply_chunk(st.req, big_chunk, sizeof(big_chunk), stream_step, NULL) != 0) {
            st.saw_gone = 1;
            http_reply_end(st.req);
            st.ended = 1;
            return;
        }
    } else {
        n = snprintf(line, sizeof(line), "line %d\n", st.sent);
        assert_int_equal(http_reply_chunk(st.req, line, (size_t)n, stream_step, NULL), 0);
    }
    st.sent++;
}

static void stream_step(struct http_request *req, void *arg)
{
    struct timeval tv = {0, 1000};

    (void)arg;
    if (http_is_gone(req)) {
        st.saw_gone = 1;
        http_reply_end(req);
        st.ended = 1;
        return;
    }
    assert_int_equal(event_base_once(http_base(req), -1, EV_TIMEOUT, stream_next, NULL, &tv), 0);
}

static void h_stream(struct http_request *req)
{
    const char *x = http_param(req, "x");

    memset(&st, 0, sizeof(st));
    st.req = req;
    st.mode = x == NULL ? 0 : strcmp(x, "abort") == 0 ? 1 : strcmp(x, "big") == 0 ? 2 : 0;
    http_add_header(req, "X-Stream", "yes");
    http_reply_start(req, 200, "text/plain");
    stream_step(req, NULL);
}

static void *lookup(const char *name)
{
    static const struct {
        const char *name;
        http_handler_fn fn;
    } t[] = {{"h_twice", h_twice}, {"h_alloc", h_alloc}, {"h_status", h_status},
             {"h_form", h_form},   {"h_later", h_later}, {"h_stream", h_stream}};
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(t[i].name, name) == 0)
            return (void *)t[i].fn;
    return NULL;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static int setup(void **state)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    char err[256];
    int fd;

    (void)state;
    log_init("test_http", LOG_WARN);
    assert_int_equal(config_parse("test.conf", conf_text, &cfg, err, sizeof(err)), 0);
    router = router_new(cfg, lookup, err, sizeof(err));
    assert_non_null(router);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    base = event_base_new();
    srv = http_server_new(base, cfg, router, &fd, 1);
    assert_non_null(srv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    http_server_free(srv);
    event_base_free(base);
    router_free(router);
    config_free(cfg);
    return 0;
}

struct exchange {
    const char *request;
    int close_after_send;
    char response[8192];
    size_t len;
};

static void *client(void *arg)
{
    struct exchange *x = arg;
    struct timeval tv = {5, 0};
    struct sockaddr_in sa;
    ssize_t n;
    int fd;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        write(fd, x->request, strlen(x->request)) == (ssize_t)strlen(x->request) &&
        !x->close_after_send) {
        while (x->len < sizeof(x->response) - 1 &&
               (n = read(fd, x->response + x->len, sizeof(x->response) - 1 - x->len)) > 0)
            x->len += (size_t)n;
    }
    x->response[x->len] = '\0';
    close(fd);
    atomic_store(&client_done, 1);
    return NULL;
}

/* Run one exchange with the loop turning until the client is done and `extra_ms` more. */
static void run(struct exchange *x, int extra_ms)
{
    struct timeval tv = {0, 10000};
    struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);
    struct timespec end, now;
    pthread_t th;

    atomic_store(&client_done, 0);
    event_add(t, &tv);
    assert_int_equal(pthread_create(&th, NULL, client, x), 0);
    while (!atomic_load(&client_done))
        event_base_loop(base, EVLOOP_ONCE);
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_nsec += (long)extra_ms * 1000000;
    end.tv_sec += end.tv_nsec / 1000000000;
    end.tv_nsec %= 1000000000;
    do {
        event_base_loop(base, EVLOOP_ONCE);
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
    pthread_join(th, NULL);
    event_free(t);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;

    for (; (hay = strstr(hay, needle)) != NULL; hay++)
        n++;
    return n;
}

static void test_double_reply(void **state)
{
    struct exchange x = {.request = "GET /twice HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};

    (void)state;
    run(&x, 0);
    assert_true(strncmp(x.response, "HTTP/1.1 200 ", 13) == 0);
    assert_int_equal(count(x.response, "HTTP/1.1 "), 1);
    assert_non_null(strstr(x.response, "\r\n\r\nfirst"));
    assert_null(strstr(x.response, "second"));
    assert_int_equal(http_server_inflight(srv), 0);
}

static void test_arena(void **state)
{
    struct exchange x = {.request = "GET /alloc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};

    (void)state;
    run(&x, 0);
    assert_true(strncmp(x.response, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(strstr(x.response, "Content-Length: 10\r\n"));
    assert_non_null(strstr(x.response, "\r\n\r\nzzzzzzzzzz"));
}

static void test_headers_and_bodiless_statuses(void **state)
{
    struct exchange a = {.request = "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};
    struct exchange b = {.request =
                             "GET /status?x=nc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};
    struct exchange c = {.request =
                             "GET /status?x=nm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};
    struct exchange d = {.request =
                             "HEAD /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"};

    (void)state;
    run(&a, 0);
    assert_true(strncmp(a.response, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(strstr(a.response, "X-Test: yes\r\n"));
    assert_non_null(strstr(a.response, "Content-Type: text/plain\r\n"));
    assert_non_null(strstr(a.response, "Content-Length: 5\r\n"));
    assert_non_null(strstr(a.response, "X-Content-Type-Options: nosniff\r\n"));
    assert_non_null(strstr(a.response, "\r\n\r\nhello"));
    run(&b, 0);
    assert_true(strncmp(b.response, "HTTP/1.1 204 ", 13) == 0);
    assert_null(strstr(b.response, "Content-Length"));
    assert_null(strstr(b.response, "hello"));
    run(&c, 0);
    assert_true(strncmp(c.response, "HTTP/1.1 304 ", 13) == 0);
    assert_null(strstr(c.response, "Content-Length"));
    assert_null(strstr(c.response, "hello"));
    run(&d, 0);
    assert_true(strncmp(d.response, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(strstr(d.response, "Content-Length: 5\r\n"));
    assert_null(strstr(d.response, "hello"));
}

static void test_form_params(void **state)
{
    struct exchange a = {.request = "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                    "Content-Type: application/x-www-form-urlencoded\r\n"
                                    "Content-Length: 13\r\n\r\nx=abc&other=1"};
    struct exchange b = {.request = "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                    "Content-Type: text/plain\r\n"
                                    "Content-Length: 5\r\n\r\nx=abc"};
    struct exchange c = {.request = "POST /form HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                    "Content-Type: application/x-www-form-urlencoded\r\n"
                                    "Content-Length: 5\r\n\r\nx=A!c"};

    (void)state;
    run(&a, 0);
    assert_non_null(strstr(a.response, "\r\n\r\nabc"));
    run(&b, 0);
    assert_non_null(strstr(b.response, "\r\n\r\nnone"));
    run(&c, 0);
    assert_true(strncmp(c.response, "HTTP/1.1 400 ", 13) == 0);
    assert_non_null(strstr(c.response, "\"code\":\"bad_parameter\""));
}

static void test_client_gone(void **state)
{
    struct exchange x = {.request = "GET /later HTTP/1.1\r\nHost: x\r\n\r\n",
                         .close_after_send = 1};

    (void)state;
    later_replied = 0;
    run(&x, later_ms + 200);
    assert_int_equal(later_replied, 1);
    assert_int_equal(http_server_inflight(srv), 0);
    print_message("client gone noticed before the late reply: %s\n", later_was_gone ? "yes" : "no");
}

static void test_stream(void **state)
{
    struct exchange a = {.request = "GET /stream?x=ok HTTP/1.1\r\nHost: x\r\n"
                                    "Connection: close\r\n\r\n"};
    struct exchange b = {.request = "GET /stream?x=abort HTTP/1.1\r\nHost: x\r\n\r\n"};
    struct exchange c = {.request = "GET /stream?x=big HTTP/1.1\r\nHost: x\r\n\r\n",
                         .close_after_send = 1};

    (void)state;
    run(&a, 50);
    assert_true(strncmp(a.response, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(strstr(a.response, "Transfer-Encoding: chunked\r\n"));
    assert_non_null(strstr(a.response, "X-Stream: yes\r\n"));
    assert_non_null(strstr(a.response, "X-Content-Type-Options: nosniff\r\n"));
    assert_null(strstr(a.response, "Content-Length"));
    assert_non_null(strstr(a.response, "line 0\n"));
    assert_non_null(strstr(a.response, "line 2\n"));
    assert_non_null(strstr(a.response, "\r\n0\r\n\r\n")); /* the last chunk */
    assert_int_equal(st.ended, 1);
    assert_int_equal(http_server_inflight(srv), 0);

    /* Aborted: the connection closes without the last chunk (the client's read ends). */
    run(&b, 50);
    assert_true(strncmp(b.response, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(strstr(b.response, "line 1\n"));
    assert_null(strstr(b.response, "\r\n0\r\n\r\n"));
    assert_int_equal(st.ended, 1);
    assert_int_equal(http_server_inflight(srv), 0);

    /* The client hangs up while megabytes are due: the stream is told and ends. */
    run(&c, 1500);
    assert_int_equal(st.ended, 1);
    assert_int_equal(st.saw_gone, 1);
    assert_true(st.sent < 256);
    assert_int_equal(http_server_inflight(srv), 0);
}

static void on_drained(void *arg)
{
    (void)arg;
    drained_calls++;
}

static void test_drain_waits_for_in_flight(void **state)
{
    struct exchange x = {.request = "GET /later HTTP/1.1\r\nHost: x\r\n\r\n"};
    (void)state;
    later_replied = 0;
    /* Drain once the request is in flight: done must wait for the reply. */
    drained_calls = 0;
    {
        struct exchange *px = &x;
        pthread_t th;
        struct timeval tick_tv = {0, 10000};
        struct event *t = event_new(base, -1, EV_PERSIST, tick, NULL);

        event_add(t, &tick_tv);
        atomic_store(&client_done, 0);
        assert_int_equal(pthread_create(&th, NULL, client, px), 0);
        while (http_server_inflight(srv) == 0)
            event_base_loop(base, EVLOOP_ONCE);
        http_server_drain(srv, on_drained, NULL);
        assert_int_equal(drained_calls, 0);
        while (!atomic_load(&client_done))
            event_base_loop(base, EVLOOP_ONCE);
        pthread_join(th, NULL);
        event_free(t);
    }
    assert_int_equal(later_replied, 1);
    assert_int_equal(drained_calls, 1);
    assert_true(strncmp(x.response, "HTTP/1.1 200 ", 13) == 0);
    assert_non_null(strstr(x.response, "Connection: close\r\n"));
}

int main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_form_detection),
        cmocka_unit_test(test_json_escape),
    };
    const struct CMUnitTest live[] = {
        cmocka_unit_test(test_double_reply),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_headers_and_bodiless_statuses),
        cmocka_unit_test(test_form_params),
        cmocka_unit_test(test_client_gone),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_drain_waits_for_in_flight), /* last: stops accepting */
    };
    int failed = cmocka_run_group_tests_name("http_unit", unit, NULL, NULL);

    return failed + cmocka_run_group_tests_name("http_live", live, setup, teardown);
}
