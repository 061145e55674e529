/*
 * Asynchronous PostgreSQL pool on libevent; see pg.h.
 *
 * Each connection is a small state machine: WAIT (closed, a timer will reconnect it),
 * CONNECTING (PQconnectPoll() driven by one-shot socket events, bounded by a connect
 * timer), IDLE (a persistent read event notices the server closing it) and BUSY (one
 * query in flight). A query (struct pg_req) is QUEUED, RUNNING on a connection, or
 * FAILING: it already has its answer and waits for a zero timer so that the callback
 * never runs inside pg_query(). Every callback is delivered by first unlinking the
 * request and updating connection state, then calling it as the last thing the event
 * handler does, so a callback may issue queries or even call pg_shutdown().
 */
#include "backend/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "core/log.h"
#include "core/mem.h"

#define PG_BACKOFF_MIN_MS 100
#define PG_BACKOFF_MAX_MS 5000
#define PG_CONNECT_TIMEOUT_MIN_MS 2000
#define PG_MAX_POOL 64
#define PG_ERRMSG_MAX 512

enum conn_state { CONN_WAIT, CONN_CONNECTING, CONN_IDLE, CONN_BUSY };
enum req_state { REQ_QUEUED, REQ_RUNNING, REQ_FAILING };

struct pg_conn;

struct pg_req {
    TAILQ_ENTRY(pg_req) link;
    enum req_state state;
    char *sql;
    int nparams;
    char **params;
    pg_result_fn cb;
    void *arg;
    struct event *timer; /* the query timeout; zero-delay for a deferred failure */
    struct pg_conn *conn;
    char *fail; /* the deferred failure message (REQ_FAILING) */
};

TAILQ_HEAD(req_list, pg_req);

struct pg_conn {
    int id;
    PGconn *conn;
    enum conn_state state;
    struct event *io;    /* socket event, reassigned as the interest changes */
    struct event *timer; /* reconnect backoff (WAIT) or connect timeout (CONNECTING) */
    int backoff_ms;      /* delay before the next connect attempt */
    struct pg_req *req;  /* BUSY: the query in flight */
    PGresult *res;       /* BUSY: the result kept so far */
};

static struct {
    int started;
    struct event_base *base;
    char **keys; /* connection parameters for PQconnectStartParams(), NULL-terminated */
    char **vals;
    int timeout_ms;
    int connect_timeout_ms;
    struct pg_conn *conns;
    int nconns;
    int nup;  /* connections IDLE or BUSY */
    int down; /* a connect attempt failed while none was up: fail fast */
    int nqueued;
    struct req_list queue;
    struct req_list failing;
} pg;

/* The SQLSTATE of the failure whose callback is running (pg_last_sqlstate()). */
static const char *cur_sqlstate;

static void conn_io(evutil_socket_t fd, short what, void *arg);
static void conn_timer(evutil_socket_t fd, short what, void *arg);
static void req_timer(evutil_socket_t fd, short what, void *arg);
static void dispatch(void);
static void notice(void *arg, const char *message);

/* One log line: libpq's messages end in a newline and may span lines with tabs. */
static void trim(char *s)
{
    size_t i, j = 0;

    for (i = 0; s[i] != '\0'; i++) {
        char ch = s[i] == '\n' || s[i] == '\t' || s[i] == '\r' ? ' ' : s[i];
        if (ch == ' ' && (j == 0 || s[j - 1] == ' '))
            continue;
        s[j++] = ch;
    }
    while (j > 0 && s[j - 1] == ' ')
        j--;
    s[j] = '\0';
}

static void msg_copy(char *dst, size_t len, const char *src)
{
    snprintf(dst, len, "%s", src != NULL ? src : "unknown error");
    trim(dst);
}

static void req_free(struct pg_req *r)
{
    int i;

    if (r->timer != NULL)
        event_free(r->timer);
    for (i = 0; i < r->nparams; i++)
        free(r->params[i]);
    free(r->params);
    free(r->sql);
    free(r->fail);
    free(r);
}

/* Answer an unlinked request with the server's SQLSTATE (or NULL), then free it. A
 * callback may cause other deliveries (pg_shutdown()), so the outer state is restored. */
static void req_deliver_state(struct pg_req *r, const PGresult *res, const char *err,
                              const char *sqlstate)
{
    const char *saved = cur_sqlstate;

    cur_sqlstate = sqlstate;
    r->cb(r->arg, res, err);
    cur_sqlstate = saved;
    req_free(r);
}

/* Answer an unlinked request, then free it. */
static void req_deliver(struct pg_req *r, const PGresult *res, const char *err)
{
    req_deliver_state(r, res, err, NULL);
}

/* Give a request its answer on the next loop iteration (never inside pg_query()). */
static void req_fail_later(struct pg_req *r, const char *msg)
{
    static const struct timeval zero = {0, 0};
    char buf[PG_ERRMSG_MAX];

    msg_copy(buf, sizeof(buf), msg);
    free(r->fail);
    r->fail = xstrdup(buf);
    r->state = REQ_FAILING;
    r->conn = NULL;
    TAILQ_INSERT_TAIL(&pg.failing, r, link);
    event_del(r->timer);
    event_add(r->timer, &zero);
}

static void fail_queue_later(const char *msg)
{
    struct pg_req *r;

    while ((r = TAILQ_FIRST(&pg.queue)) != NULL) {
        TAILQ_REMOVE(&pg.queue, r, link);
        pg.nqueued--;
        req_fail_later(r, msg);
    }
}

static void conn_watch(struct pg_conn *c, short what)
{
    event_del(c->io);
    event_assign(c->io, pg.base, PQsocket(c->conn), what, conn_io, c);
    event_add(c->io, NULL);
}

/* Close the socket and forget any result; the caller decides about the request. */
static void conn_close(struct pg_conn *c)
{
    event_del(c->io);
    event_del(c->timer);
    if (c->state == CONN_IDLE || c->state == CONN_BUSY)
        pg.nup--;
    if (c->conn != NULL)
        PQfinish(c->conn);
    c->conn = NULL;
    if (c->res != NULL)
        PQclear(c->res);
    c->res = NULL;
    c->state = CONN_WAIT;
}

static void conn_schedule(struct pg_conn *c, int delay_ms)
{
    struct timeval tv;

    tv.tv_sec = delay_ms / 1000;
    tv.tv_usec = (delay_ms % 1000) * 1000;
    event_del(c->timer);
    event_add(c->timer, &tv);
}

static void conn_connect_failed(struct pg_conn *c, const char *why)
{
    char msg[PG_ERRMSG_MAX];

    msg_copy(msg, sizeof(msg), why);
    conn_close(c);
    if (c->backoff_ms < PG_BACKOFF_MIN_MS)
        c->backoff_ms = PG_BACKOFF_MIN_MS;
    else if (c->backoff_ms < PG_BACKOFF_MAX_MS)
        c->backoff_ms *= 2;
    if (c->backoff_ms > PG_BACKOFF_MAX_MS)
        c->backoff_ms = PG_BACKOFF_MAX_MS;
    conn_schedule(c, c->backoff_ms);
    if (pg.nup == 0 && !pg.down) {
        pg.down = 1;
        log_warn("postgres unavailable: %s", msg);
        fail_queue_later("postgres unavailable");
    } else {
        log_debug("postgres connection %d: connect failed: %s", c->id, msg);
    }
}

static void conn_connect(struct pg_conn *c)
{
    struct timeval tv;

    c->conn = PQconnectStartParams((const char *const *)pg.keys, (const char *const *)pg.vals, 0);
    if (c->conn == NULL) {
        conn_connect_failed(c, "out of memory");
        return;
    }
    if (PQstatus(c->conn) == CONNECTION_BAD || PQsocket(c->conn) < 0) {
        conn_connect_failed(c, PQerrorMessage(c->conn));
        return;
    }
    PQsetNoticeProcessor(c->conn, notice, c);
    c->state = CONN_CONNECTING;
    conn_watch(c, EV_WRITE);
    tv.tv_sec = pg.connect_timeout_ms / 1000;
    tv.tv_usec = (pg.connect_timeout_ms % 1000) * 1000;
    event_del(c->timer);
    event_add(c->timer, &tv);
}

/* Server notices (e.g. "terminating connection") go to our log, not raw stderr. */
static void notice(void *arg, const char *message)
{
    char msg[PG_ERRMSG_MAX];
    struct pg_conn *c = arg;

    msg_copy(msg, sizeof(msg), message);
    log_debug("postgres connection %d: %s", c->id, msg);
}

static void conn_connected(struct pg_conn *c)
{
    event_del(c->timer);
    if (PQsetnonblocking(c->conn, 1) != 0) {
        conn_connect_failed(c, PQerrorMessage(c->conn));
        return;
    }
    c->state = CONN_IDLE;
    c->backoff_ms = 0;
    pg.nup++;
    if (pg.down)
        log_info("postgres available again");
    pg.down = 0;
    conn_watch(c, EV_READ | EV_PERSIST);
    log_debug("postgres connection %d: connected", c->id);
    dispatch();
}

/* An established connection broke: fail its query, reconnect at once. */
static void conn_lost(struct pg_conn *c, const char *why)
{
    struct pg_req *r = c->req;
    char msg[PG_ERRMSG_MAX];

    snprintf(msg, sizeof(msg), "connection lost: %s",
             why != NULL && why[0] != '\0' ? why : "server closed the connection");
    trim(msg);
    log_warn("postgres connection %d: %s", c->id, msg);
    c->req = NULL;
    conn_close(c);
    conn_schedule(c, c->backoff_ms);
    if (r != NULL) {
        event_del(r->timer);
        r->conn = NULL;
        req_deliver(r, NULL, msg);
    }
}

/* Send a request on an idle connection. Returns 0, or -1 with the connection closed. */
static int conn_send(struct pg_conn *c, struct pg_req *r)
{
    int rc = -1;
    int fl;

    if (!PQsendQueryParams(c->conn, r->sql, r->nparams, NULL, (const char *const *)r->params, NULL,
                           NULL, 0))
        goto out;
    fl = PQflush(c->conn);
    if (fl < 0)
        goto out;
    c->state = CONN_BUSY;
    c->req = r;
    r->conn = c;
    r->state = REQ_RUNNING;
    conn_watch(c, fl == 1 ? (EV_READ | EV_WRITE | EV_PERSIST) : (EV_READ | EV_PERSIST));
    rc = 0;
out:
    return rc;
}

static struct pg_conn *idle_conn(void)
{
    int i;

    for (i = 0; i < pg.nconns; i++)
        if (pg.conns[i].state == CONN_IDLE)
            return &pg.conns[i];
    return NULL;
}

/* Start queued requests on idle connections. Calls no callback. */
static void dispatch(void)
{
    struct pg_conn *c;
    struct pg_req *r;
    char msg[PG_ERRMSG_MAX];

    while ((r = TAILQ_FIRST(&pg.queue)) != NULL && (c = idle_conn()) != NULL) {
        TAILQ_REMOVE(&pg.queue, r, link);
        pg.nqueued--;
        if (conn_send(c, r) == 0)
            continue;
        snprintf(msg, sizeof(msg), "connection lost: %s", PQerrorMessage(c->conn));
        log_warn("postgres connection %d: send failed", c->id);
        conn_close(c);
        conn_schedule(c, c->backoff_ms);
        req_fail_later(r, msg);
    }
}

/* Keep the first error result, otherwise the last one. */
static void keep_result(struct pg_conn *c, PGresult *res)
{
    ExecStatusType old;

    if (c->res != NULL) {
        old = PQresultStatus(c->res);
        if (old != PGRES_TUPLES_OK && old != PGRES_COMMAND_OK) {
            PQclear(res);
            return;
        }
        PQclear(c->res);
    }
    c->res = res;
}

static void conn_io_busy(struct pg_conn *c)
{
    struct pg_req *r;
    PGresult *res;
    char msg[PG_ERRMSG_MAX];
    ExecStatusType st;
    char state[6];
    const char *code;

    while (!PQisBusy(c->conn)) {
        res = PQgetResult(c->conn);
        if (res != NULL) {
            keep_result(c, res);
            continue;
        }
        /* The query is complete: free the connection before calling back. */
        r = c->req;
        res = c->res;
        c->req = NULL;
        c->res = NULL;
        c->state = CONN_IDLE;
        event_del(r->timer);
        r->conn = NULL;
        dispatch();
        st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            req_deliver(r, res, NULL);
        } else {
            msg_copy(msg, sizeof(msg),
                     res != NULL ? PQresultErrorMessage(res) : "no result from server");
            if (msg[0] == '\0')
                msg_copy(msg, sizeof(msg), PQresStatus(st));
            /* libpq's own errors (a broken connection) carry no SQLSTATE. */
            code = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
            if (code != NULL && strlen(code) == 5) {
                memcpy(state, code, sizeof(state));
                req_deliver_state(r, NULL, msg, state);
            } else {
                req_deliver(r, NULL, msg);
            }
        }
        if (res != NULL)
            PQclear(res);
        return;
    }
}

static void conn_io(evutil_socket_t fd, short what, void *arg)
{
    struct pg_conn *c = arg;
    PostgresPollingStatusType ps;
    PGnotify *n;
    int fl;

    (void)fd;
    if (c->state == CONN_CONNECTING) {
        ps = PQconnectPoll(c->conn);
        if (ps == PGRES_POLLING_OK)
            conn_connected(c);
        else if (ps == PGRES_POLLING_FAILED || PQsocket(c->conn) < 0)
            conn_connect_failed(c, PQerrorMessage(c->conn));
        else
            conn_watch(c, ps == PGRES_POLLING_READING ? EV_READ : EV_WRITE);
        return;
    }
    if (c->state != CONN_IDLE && c->state != CONN_BUSY)
        return;
    if (what & EV_WRITE) {
        fl = PQflush(c->conn);
        if (fl < 0) {
            conn_lost(c, PQerrorMessage(c->conn));
            return;
        }
        if (fl == 0)
            conn_watch(c, EV_READ | EV_PERSIST);
    }
    if (what & EV_READ) {
        if (!PQconsumeInput(c->conn) || PQstatus(c->conn) == CONNECTION_BAD) {
            conn_lost(c, PQerrorMessage(c->conn));
            return;
        }
        while ((n = PQnotifies(c->conn)) != NULL)
            PQfreemem(n);
        if (c->state == CONN_BUSY)
            conn_io_busy(c);
    }
}

static void conn_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pg_conn *c = arg;

    (void)fd;
    (void)what;
    if (c->state == CONN_WAIT)
        conn_connect(c);
    else if (c->state == CONN_CONNECTING)
        conn_connect_failed(c, "connect timeout");
}

static void req_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pg_req *r = arg;
    struct pg_conn *c;

    (void)fd;
    (void)what;
    switch (r->state) {
    case REQ_FAILING:
        TAILQ_REMOVE(&pg.failing, r, link);
        req_deliver(r, NULL, r->fail);
        break;
    case REQ_QUEUED:
        TAILQ_REMOVE(&pg.queue, r, link);
        pg.nqueued--;
        req_deliver(r, NULL, "timeout");
        break;
    case REQ_RUNNING:
        /* Cancelling would block; drop the connection so the late result is never read. */
        c = r->conn;
        c->req = NULL;
        r->conn = NULL;
        log_warn("postgres connection %d: query timed out after %d ms; reconnecting", c->id,
                 pg.timeout_ms);
        conn_close(c);
        conn_schedule(c, 0);
        req_deliver(r, NULL, "timeout");
        break;
    }
}

static void free_params(void)
{
    int i;

    for (i = 0; pg.keys != NULL && pg.keys[i] != NULL; i++) {
        free(pg.keys[i]);
        free(pg.vals[i]);
    }
    free(pg.keys);
    free(pg.vals);
    pg.keys = NULL;
    pg.vals = NULL;
}

/*
 * Turn conninfo into keyword/value arrays, adding a server-side statement_timeout a
 * little above ours and a fallback application name.
 */
static int build_params(const char *conninfo, int timeout_ms)
{
    PQconninfoOption *opts = NULL, *o;
    char *errmsg = NULL;
    char extra[64];
    size_t n = 0, i = 0;
    int have_options = 0;
    int rc = -1;

    opts = PQconninfoParse(conninfo, &errmsg);
    if (opts == NULL) {
        char msg[PG_ERRMSG_MAX];
        msg_copy(msg, sizeof(msg), errmsg != NULL ? errmsg : "?");
        log_error("postgres: bad connection string: %s", msg);
        goto out;
    }
    for (o = opts; o->keyword != NULL; o++)
        n++;
    pg.keys = xcalloc(n + 3, sizeof(char *));
    pg.vals = xcalloc(n + 3, sizeof(char *));
    snprintf(extra, sizeof(extra), "-c statement_timeout=%d", timeout_ms + 1000);
    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || strcmp(o->keyword, "fallback_application_name") == 0)
            continue;
        pg.keys[i] = xstrdup(o->keyword);
        if (strcmp(o->keyword, "options") == 0) {
            size_t len = strlen(o->val) + strlen(extra) + 2;
            pg.vals[i] = xmalloc(len);
            snprintf(pg.vals[i], len, "%s %s", o->val, extra);
            have_options = 1;
        } else {
            pg.vals[i] = xstrdup(o->val);
        }
        i++;
    }
    if (!have_options) {
        pg.keys[i] = xstrdup("options");
        pg.vals[i++] = xstrdup(extra);
    }
    pg.keys[i] = xstrdup("fallback_application_name");
    pg.vals[i++] = xstrdup("hisaab");
    rc = 0;
out:
    if (opts != NULL)
        PQconninfoFree(opts);
    if (errmsg != NULL)
        PQfreemem(errmsg);
    return rc;
}

int pg_init(struct event_base *base, const char *conninfo, int pool_size, int timeout_ms)
{
    int rc = -1;
    int i;

    if (pg.started || base == NULL || conninfo == NULL || pool_size < 1 ||
        pool_size > PG_MAX_POOL || timeout_ms <= 0)
        goto out;
    memset(&pg, 0, sizeof(pg));
    TAILQ_INIT(&pg.queue);
    TAILQ_INIT(&pg.failing);
    if (build_params(conninfo, timeout_ms) != 0)
        goto out;
    pg.base = base;
    pg.timeout_ms = timeout_ms;
    pg.connect_timeout_ms =
        timeout_ms * 2 > PG_CONNECT_TIMEOUT_MIN_MS ? timeout_ms * 2 : PG_CONNECT_TIMEOUT_MIN_MS;
    pg.nconns = pool_size;
    pg.conns = xcalloc((size_t)pool_size, sizeof(struct pg_conn));
    for (i = 0; i < pool_size; i++) {
        struct pg_conn *c = &pg.conns[i];
        c->id = i;
        c->state = CONN_WAIT;
        c->io = event_new(base, -1, 0, conn_io, c);
        c->timer = evtimer_new(base, conn_timer, c);
        if (c->io == NULL || c->timer == NULL) {
            log_error("postgres: cannot create events");
            abort();
        }
    }
    pg.started = 1;
    for (i = 0; i < pool_size; i++)
        conn_connect(&pg.conns[i]);
    rc = 0;
out:
    return rc;
}

int pg_query(const char *sql, int nparams, const char *const *params, pg_result_fn cb, void *arg)
{
    struct pg_req *r;
    struct timeval tv;
    int i;
    int rc = -1;

    if (!pg.started || sql == NULL || cb == NULL || nparams < 0 || nparams > PG_MAX_PARAMS ||
        (nparams > 0 && params == NULL))
        goto out;
    r = xcalloc(1, sizeof(*r));
    r->sql = xstrdup(sql);
    r->nparams = nparams;
    r->params = xcalloc((size_t)nparams + 1, sizeof(char *));
    for (i = 0; i < nparams; i++)
        r->params[i] = params[i] != NULL ? xstrdup(params[i]) : NULL;
    r->cb = cb;
    r->arg = arg;
    r->timer = evtimer_new(pg.base, req_timer, r);
    if (r->timer == NULL) {
        log_error("postgres: cannot create a timer");
        abort();
    }
    rc = 0;
    if (pg.down) {
        req_fail_later(r, "postgres unavailable");
        goto out;
    }
    if (pg.nqueued >= PG_QUEUE_MAX) {
        req_fail_later(r, "queue full");
        goto out;
    }
    r->state = REQ_QUEUED;
    TAILQ_INSERT_TAIL(&pg.queue, r, link);
    pg.nqueued++;
    tv.tv_sec = pg.timeout_ms / 1000;
    tv.tv_usec = (pg.timeout_ms % 1000) * 1000;
    event_add(r->timer, &tv);
    dispatch();
out:
    return rc;
}

const char *pg_last_sqlstate(void)
{
    return cur_sqlstate;
}

int pg_is_up(void)
{
    return pg.started && pg.nup > 0;
}

void pg_shutdown(void)
{
    struct req_list done;
    struct pg_req *r;
    int i;

    if (!pg.started)
        return;
    pg.started = 0;
    TAILQ_INIT(&done);
    for (i = 0; i < pg.nconns; i++) {
        struct pg_conn *c = &pg.conns[i];
        if (c->req != NULL) {
            TAILQ_INSERT_TAIL(&done, c->req, link);
            c->req = NULL;
        }
        conn_close(c);
        event_free(c->io);
        event_free(c->timer);
    }
    free(pg.conns);
    pg.conns = NULL;
    pg.nconns = 0;
    TAILQ_CONCAT(&done, &pg.queue, link);
    TAILQ_CONCAT(&done, &pg.failing, link);
    pg.nqueued = 0;
    free_params();
    while ((r = TAILQ_FIRST(&done)) != NULL) {
        TAILQ_REMOVE(&done, r, link);
        req_deliver(r, NULL, "shutdown");
    }
}
