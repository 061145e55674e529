/*
 * The listening side of the HTTP/1.1 layer; see http_wire.h. Each worker accepts on its
 * copies of the listening sockets, one connection per readable event, and hands each
 * connection to net/http_wire.c. A small table in shared memory, mapped by the master
 * before the fork, holds every worker's open connections: a worker holding clearly more
 * than a live one leaves a waiting connection to it. Also here: the server itself (its
 * routes' metrics slots, the log timer that doubles as the table's heartbeat), draining
 * and freeing.
 */
#include "net/http_wire.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "core/log.h"
#include "core/mem.h"
#include "net/config.h"

#define LOG_FLUSH_MS 200

/*
 * The balance table: one slot per worker in shared memory, its open connections and when
 * it last showed it is alive (CLOCK_MONOTONIC ms, 0 when it no longer accepts). Written
 * by its worker only; read by the others when a connection waits.
 */
#define BALANCE_SLACK 2 /* hold this many more before leaving a connection to another */
#define BALANCE_FRESH_MS 1000
#define BALANCE_PAUSE_US 1000

struct balance_slot {
    _Atomic long conns;
    _Atomic long long beat_ms;
};

static struct balance_slot *balance;
static size_t nbalance;

static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int http_balance_init(size_t nworkers)
{
    void *m;

    if (nworkers < 2)
        return 0; /* nobody to balance with */
    m = mmap(NULL, nworkers * sizeof(*balance), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
             -1, 0);
    if (m == MAP_FAILED)
        return -1;
    balance = m;
    nbalance = nworkers;
    return 0;
}

static void publish(struct http_server *srv)
{
    if (balance == NULL || srv->self >= nbalance)
        return;
    atomic_store(&balance[srv->self].conns, (long)srv->nconns);
    atomic_store(&balance[srv->self].beat_ms, srv->draining ? 0 : mono_ms());
}

void http_server_set_worker(struct http_server *srv, size_t index)
{
    srv->self = index;
    publish(srv);
}

/* 1 when a live worker holds clearly fewer connections than this one: let it take the
 * waiting one. Without this the worker that happens to be running accepts a whole burst
 * (wrk's 64 connections, a gateway's pool) while the others are still being scheduled. */
static int leave_to_another(const struct http_server *srv)
{
    long long now;
    size_t i;

    if (balance == NULL || srv->self >= nbalance)
        return 0;
    now = mono_ms();
    for (i = 0; i < nbalance; i++) {
        long long beat = atomic_load(&balance[i].beat_ms);

        if (i != srv->self && beat > 0 && now - beat < BALANCE_FRESH_MS &&
            (size_t)atomic_load(&balance[i].conns) + BALANCE_SLACK < srv->nconns)
            return 1;
    }
    return 0;
}

static void accepting(struct http_server *srv, int on)
{
    size_t i;

    for (i = 0; i < srv->nlisteners; i++)
        if (on ? event_add(srv->listeners[i], NULL) != 0 : event_del(srv->listeners[i]) != 0)
            log_warn("http: cannot %s accepting", on ? "resume" : "pause");
}

void http_server_conns_changed(struct http_server *srv)
{
    publish(srv);
    if (srv->at_cap && srv->nconns < srv->max_conns && !srv->draining) {
        srv->at_cap = 0;
        accepting(srv, 1);
    }
}

static void on_accept_pause(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    if (!((struct http_server *)arg)->draining)
        accepting(arg, 1);
}

/*
 * One connection per readable event, as nginx does without multi_accept: every worker
 * is woken for a waiting connection and the first to call accept() takes it, which is
 * the least busy one, so connections spread over the workers instead of piling onto
 * whichever woke first.
 */
static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct http_server *srv = arg;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd;

    (void)what;
    if (srv->nconns >= srv->max_conns) {
        /* Waiting connections stay in the kernel's backlog (or go to another worker)
         * until one of ours closes. */
        if (!srv->at_cap)
            log_warn("http: %zu connections open (max_connections); not accepting more "
                     "until one closes",
                     srv->nconns);
        srv->at_cap = 1;
        accepting(srv, 0);
        return;
    }
    if (leave_to_another(srv)) {
        struct timeval tv = {0, BALANCE_PAUSE_US};

        accepting(srv, 0); /* level-triggered: it would fire again at once */
        if (event_add(srv->accept_pause, &tv) != 0)
            accepting(srv, 1);
        return;
    }
    fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Out of descriptors: the event would fire again at once; wait a little. */
            struct timeval tv = {0, 100 * 1000};

            log_warn("http: accept: %s; pausing 100 ms", strerror(errno));
            accepting(srv, 0);
            if (event_add(srv->accept_pause, &tv) != 0)
                accepting(srv, 1);
        }
        return; /* EAGAIN: another worker took it */
    }
    if (srv->draining || wire_conn_open(srv, fd, (struct sockaddr *)&ss) == NULL)
        close(fd);
}

int http_server_serve_fd(struct http_server *srv, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    memset(&ss, 0, sizeof(ss));
    if (srv->draining || evutil_make_socket_nonblocking(fd) != 0 ||
        getpeername(fd, (struct sockaddr *)&ss, &len) != 0 ||
        wire_conn_open(srv, fd, (struct sockaddr *)&ss) == NULL) {
        close(fd);
        return -1;
    }
    return 0;
}

/* The server ----------------------------------------------------------------------------- */

static void on_log_timer(evutil_socket_t fd, short what, void *arg)
{
    struct http_server *srv = arg;

    (void)fd;
    (void)what;
    log_flush();
    publish(srv); /* the heartbeat of the balance table */
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
    srv->self = SIZE_MAX;
    srv->max_conns = cfg->max_connections > 0 ? (size_t)cfg->max_connections : SIZE_MAX;
    for (d = 0; d < cfg->ndomains; d++) {
        for (r = 0; r < cfg->domains[d].nroutes && srv->nroutes < METRICS_MAX_ROUTES; r++) {
            const struct cfg_route *route = &cfg->domains[d].routes[r];
            srv->route_ptr[srv->nroutes] = route;
            srv->route_slot[srv->nroutes] = metrics_route_register(route->path);
            srv->nroutes++;
        }
    }
    if (wire_server_init(srv) != 0) {
        log_error("http: cannot set up the connection timers");
        goto fail;
    }
    tv.tv_sec = 0;
    tv.tv_usec = LOG_FLUSH_MS * 1000;
    srv->log_timer = event_new(base, -1, EV_PERSIST, on_log_timer, srv);
    if (srv->log_timer == NULL || event_add(srv->log_timer, &tv) != 0) {
        log_error("http: cannot start the log timer");
        goto fail;
    }
    srv->accept_pause = evtimer_new(base, on_accept_pause, srv);
    if (srv->accept_pause == NULL)
        goto fail;
    for (i = 0; i < nfds; i++) {
        if (evutil_make_socket_nonblocking(fds[i]) != 0)
            goto fail;
        srv->listeners[i] = event_new(base, fds[i], EV_READ | EV_PERSIST, on_accept, srv);
        if (srv->listeners[i] == NULL || event_add(srv->listeners[i], NULL) != 0) {
            log_error("http: cannot accept on fd %d", fds[i]);
            if (srv->listeners[i] != NULL)
                event_free(srv->listeners[i]);
            goto fail;
        }
        srv->listen_fds[i] = fds[i];
        srv->nlisteners++;
    }
    return srv;
fail:
    http_server_free(srv);
    return NULL;
}

/* Stop accepting and close this worker's copies of the listening sockets. */
static void close_listeners(struct http_server *srv)
{
    size_t i;

    for (i = 0; i < srv->nlisteners; i++) {
        event_free(srv->listeners[i]);
        close(srv->listen_fds[i]);
    }
    srv->nlisteners = 0;
}

void http_server_drain(struct http_server *srv, http_drained_fn done, void *arg)
{
    srv->draining = 1;
    close_listeners(srv);
    publish(srv); /* draining: nobody leaves a connection to it */
    /* Idle keep-alive connections are closed now; the others close after their answer. */
    wire_close_idle(srv);
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
    close_listeners(srv);
    if (srv->accept_pause != NULL)
        event_free(srv->accept_pause);
    wire_server_clear(srv);
    if (srv->log_timer != NULL)
        event_free(srv->log_timer);
    free(srv);
}
