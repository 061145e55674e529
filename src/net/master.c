/*
 * Prefork master and worker loop; see master.h.
 *
 * The master blocks its signals and waits for them with sigtimedwait(), so there is no
 * handler racing with the bookkeeping: SIGCHLD means reap and schedule restarts, SIGTERM
 * or SIGINT means drain. Each worker unblocks them and handles SIGTERM/SIGINT as libevent
 * signal events on its own loop.
 */
#include "net/master.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "net/config.h"
#include "net/http.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/metrics.h"

/* A worker that dies sooner than this after starting counts as crashing. */
#define CRASH_WINDOW_MS 2000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* How long a drained worker keeps its loop running so queued replies reach the socket. */
#define FLUSH_MS 50

struct worker {
    pid_t pid; /* 0: not running */
    int64_t started_ms;
    int64_t restart_at_ms; /* when pid == 0 and the master is running */
    int crashes;
};

struct worker_loop {
    struct event_base *base;
    struct http_server *srv;
    int stopping;
    int ready_s; /* drain_ready_seconds: serve, not ready, this long before the drain */
};

/* This worker was told to stop (master_draining()). */
static int worker_stopping;

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The application's worker hooks, from master_run() (inherited by every fork). */
static const struct master_hooks *hooks;

static void on_sigchld(int sig)
{
    /* Only here so SIGCHLD is not discarded; sigtimedwait() picks it up. */
    (void)sig;
}

static void worker_drained(void *arg);

/* The flush pause is over: stop, unless a keep-alive client slipped in another request. */
static void worker_flushed(evutil_socket_t fd, short what, void *arg)
{
    struct worker_loop *w = arg;

    (void)fd;
    (void)what;
    if (http_server_inflight(w->srv) == 0)
        event_base_loopbreak(w->base);
    else
        http_server_drain(w->srv, worker_drained, w);
}

static void worker_drained(void *arg)
{
    struct worker_loop *w = arg;
    struct timeval tv = {0, FLUSH_MS * 1000};

    if (event_base_once(w->base, -1, EV_TIMEOUT, worker_flushed, w, &tv) != 0)
        event_base_loopbreak(w->base);
}

/* The not-ready pause is over (or there was none): stop accepting, finish what is held. */
static void worker_drain(evutil_socket_t fd, short what, void *arg)
{
    struct worker_loop *w = arg;

    (void)fd;
    (void)what;
    log_info("worker: draining %zu request(s)", http_server_inflight(w->srv));
    http_server_drain(w->srv, worker_drained, w);
}

static void worker_on_stop(evutil_socket_t sig, short what, void *arg)
{
    struct worker_loop *w = arg;
    struct timeval tv = {w->ready_s, 0};

    (void)what;
    if (w->stopping)
        return;
    w->stopping = 1;
    worker_stopping = 1;
    if (w->ready_s <= 0) {
        log_info("worker: signal %d", (int)sig);
        worker_drain(-1, 0, w);
        return;
    }
    log_info("worker: signal %d, not ready; draining in %d s", (int)sig, w->ready_s);
    if (event_base_once(w->base, -1, EV_TIMEOUT, worker_drain, w, &tv) != 0)
        worker_drain(-1, 0, w);
}

int master_draining(void)
{
    return worker_stopping;
}

/* A worker's event base. With the epoll changelist, add/remove pairs made on a connection
 * within one loop turn collapse into at most one epoll_ctl. Safe here: no worker dup()s a watched
 * fd. */
static struct event_base *new_base(void)
{
    struct event_config *ec = event_config_new();
    struct event_base *base = NULL;

    if (ec == NULL)
        return NULL;
    event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    base = event_base_new_with_config(ec);
    event_config_free(ec);
    return base;
}

/* The worker process: never returns. */
static void worker_main(const struct config *cfg, const struct router *router, const int *fds,
                        size_t nfds, pid_t master, size_t index)
{
    struct event *ev_term = NULL, *ev_int = NULL;
    struct worker_loop w = {NULL, NULL, 0, 0};
    int app_ready = 0, code = 1;
    sigset_t none;

    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != master) {
        log_error("worker: master gone before start");
        goto out;
    }
    signal(SIGCHLD, SIG_DFL);
    w.ready_s = cfg->drain_ready_seconds;
    w.base = new_base();
    if (w.base == NULL) {
        log_error("worker: event_base_new failed");
        goto out;
    }
    if (hooks->worker_init(w.base, cfg) != 0) {
        log_error("worker: application init failed");
        goto out;
    }
    app_ready = 1;
    w.srv = http_server_new(w.base, cfg, router, fds, nfds);
    if (w.srv == NULL)
        goto out;
    http_server_set_worker(w.srv, index);
    ev_term = evsignal_new(w.base, SIGTERM, worker_on_stop, &w);
    ev_int = evsignal_new(w.base, SIGINT, worker_on_stop, &w);
    if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) != 0 ||
        evsignal_add(ev_int, NULL) != 0) {
        log_error("worker: cannot watch signals");
        goto out;
    }
    signal(SIGHUP, SIG_IGN);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    log_debug("worker: serving");
    if (event_base_dispatch(w.base) < 0) {
        log_error("worker: event loop failed");
        goto out;
    }
    code = 0;
out:
    if (app_ready)
        hooks->worker_exit();
    if (ev_term != NULL)
        event_free(ev_term);
    if (ev_int != NULL)
        event_free(ev_int);
    http_server_free(w.srv);
    if (w.base != NULL)
        event_base_free(w.base);
    _exit(code);
}

/* Fork worker i. Returns 0 or -1 (fork failed; retried later by the caller). */
static int spawn(struct worker *wk, size_t i, const struct config *cfg, const struct router *router,
                 const int *fds, size_t nfds)
{
    pid_t master = getpid();
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        log_error("master: fork failed: %s", strerror(errno));
        return -1;
    }
    if (pid == 0)
        worker_main(cfg, router, fds, nfds, master, i);
    wk->pid = pid;
    wk->started_ms = now_ms();
    log_info("master: worker %zu started (pid %d)", i, (int)pid);
    return 0;
}

static void describe_exit(int status, char *out, size_t len)
{
    if (WIFSIGNALED(status))
        snprintf(out, len, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
}

/* Reap every dead worker; while running, schedule its restart. Returns workers alive. */
static size_t reap(struct worker *wk, size_t n, int running)
{
    char why[64];
    int64_t now, delay;
    size_t i, alive = 0;
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < n; i++) {
            if (wk[i].pid != pid)
                continue;
            wk[i].pid = 0;
            describe_exit(status, why, sizeof(why));
            if (!running) {
                log_info("master: worker %zu (pid %d) %s", i, (int)pid, why);
                break;
            }
            now = now_ms();
            if (now - wk[i].started_ms < CRASH_WINDOW_MS) {
                wk[i].crashes++;
                delay = BACKOFF_MIN_MS << (wk[i].crashes < 7 ? wk[i].crashes - 1 : 6);
                if (delay > BACKOFF_MAX_MS)
                    delay = BACKOFF_MAX_MS;
            } else {
                wk[i].crashes = 0;
                delay = 0;
            }
            wk[i].restart_at_ms = now + delay;
            log_warn("master: worker %zu (pid %d) %s; restarting in %lld ms", i, (int)pid, why,
                     (long long)delay);
            break;
        }
    }
    for (i = 0; i < n; i++)
        if (wk[i].pid != 0)
            alive++;
    return alive;
}

static void drain(struct worker *wk, size_t n, int timeout_s)
{
    struct timespec ts;
    int64_t deadline, left;
    size_t i, alive;
    sigset_t set;
    int status;

    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (i = 0; i < n; i++)
        if (wk[i].pid != 0 && kill(wk[i].pid, SIGTERM) != 0)
            log_warn("master: cannot signal pid %d: %s", (int)wk[i].pid, strerror(errno));
    deadline = now_ms() + (int64_t)(timeout_s > 0 ? timeout_s : 10) * 1000;
    while ((alive = reap(wk, n, 0)) > 0) {
        left = deadline - now_ms();
        if (left <= 0)
            break;
        if (left > 1000)
            left = 1000;
        ts.tv_sec = left / 1000;
        ts.tv_nsec = (left % 1000) * 1000000;
        (void)sigtimedwait(&set, NULL, &ts);
    }
    if (alive == 0)
        return;
    for (i = 0; i < n; i++) {
        if (wk[i].pid == 0)
            continue;
        log_warn("master: worker %zu (pid %d) still busy after %d s; killing it", i, (int)wk[i].pid,
                 timeout_s);
        kill(wk[i].pid, SIGKILL);
        if (waitpid(wk[i].pid, &status, 0) < 0)
            log_warn("master: waitpid(%d): %s", (int)wk[i].pid, strerror(errno));
        wk[i].pid = 0;
    }
}

int master_run(const struct config *cfg, const struct router *router, const int *fds, size_t nfds,
               const struct master_hooks *h)
{
    size_t i, n = cfg->workers > 0 ? (size_t)cfg->workers : 1;
    struct sigaction sa;
    struct worker *wk;
    struct timespec ts;
    sigset_t set, old;
    int pending, sig, rc = 1;
    int64_t now;

    hooks = h;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigchld;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGCHLD, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &old);

    wk = xcalloc(n, sizeof(*wk));
    if (http_balance_init(n) != 0)
        log_warn("master: no shared memory to balance connections; each worker accepts alone");
    for (i = 0; i < n; i++)
        if (spawn(&wk[i], i, cfg, router, fds, nfds) != 0)
            goto out;

    for (;;) {
        pending = 0;
        for (i = 0; i < n; i++)
            if (wk[i].pid == 0)
                pending = 1;
        ts.tv_sec = pending ? 0 : 1;
        ts.tv_nsec = pending ? 50 * 1000000 : 0;
        sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            log_info("master: signal %d, draining (up to %d s)", sig, cfg->drain_timeout);
            break;
        }
        if (sig == SIGHUP)
            log_info("master: SIGHUP ignored; restart the service to reload kore.conf");
        (void)reap(wk, n, 1);
        now = now_ms();
        for (i = 0; i < n; i++) {
            if (wk[i].pid == 0 && now >= wk[i].restart_at_ms) {
                metrics_worker_restart();
                if (spawn(&wk[i], i, cfg, router, fds, nfds) != 0)
                    wk[i].restart_at_ms = now + BACKOFF_MAX_MS;
            }
        }
    }
    /* Our copies of the listening sockets would keep queueing connections nobody takes. */
    for (i = 0; i < nfds; i++)
        close(fds[i]);
    drain(wk, n, (cfg->drain_timeout > 0 ? cfg->drain_timeout : 10) + cfg->drain_ready_seconds);
    log_info("master: stopped");
    rc = 0;
out:
    if (rc != 0) {
        for (i = 0; i < n; i++)
            if (wk[i].pid != 0)
                kill(wk[i].pid, SIGKILL);
        while (waitpid(-1, NULL, 0) > 0)
            ;
    }
    free(wk);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}
