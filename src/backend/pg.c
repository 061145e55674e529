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
struct pg_pool;

struct pg_req {
    TAILQ_ENTRY(pg_req) link;
    enum req_state state;
    struct pg_pool *pool; /* where it is queued or runs */
    int read;             /* a read that may go again to the primary if its replica fails */
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
    struct pg_pool *pool;
    PGconn *conn;
    enum conn_state state;
    struct event *io;    /* socket event, reassigned as the interest changes */
    struct event *timer; /* reconnect backoff (WAIT) or connect timeout (CONNECTING) */
    int backoff_ms;      /* delay before the next connect attempt */
    struct pg_req *req;  /* BUSY: the query in flight */
    PGresult *res;       /* BUSY: the result kept so far */
};

/* One server's connections: the primary, or one replica (then with its probe). */
struct pg_pool {
    char name[48]; /* "postgres", "postgres replica 1" */
    char **keys;   /* connection parameters for PQconnectStartParams(), NULL-terminated */
    char **vals;
    struct pg_conn *conns;
    int nconns;
    int nup;  /* connections IDLE or BUSY */
    int down; /* a connect attempt failed while none was up: fail fast */
    int nqueued;
    struct req_list queue;
    /* replicas only */
    struct event *probe_ev;
    int probing;      /* a probe is in flight */
    int usable;       /* the last probe answered within the lag limit */
    long long mark;   /* what the last probe's mark query returned */
    long long lag_ms; /* the replay lag the last probe saw */
};

static struct {
    int started;
    struct event_base *base;
    int timeout_ms;
    int connect_timeout_ms;
    struct pg_pool primary;
    struct pg_pool *reps;
    int nreps;
    int next_rep; /* round robin among usable replicas */
    int max_lag_ms;
    char *probe_sql;
    struct req_list failing;
} pg;

/* The SQLSTATE of the failure whose callback is running (pg_last_sqlstate()). */
static const char *cur_sqlstate;

static void conn_io(evutil_socket_t fd, short what, void *arg);
static void conn_timer(evutil_socket_t fd, short what, void *arg);
static void req_timer(evutil_socket_t fd, short what, void *arg);
static void dispatch(struct pg_pool *p);
static void notice(void *arg, const char *message);
static int req_retry_primary(struct pg_req *r, const char *sqlstate);

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

    if (err != NULL && req_retry_primary(r, sqlstate))
        return;

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

static void fail_queue_later(struct pg_pool *p, const char *msg)
{
    struct pg_req *r;

    while ((r = TAILQ_FIRST(&p->queue)) != NULL) {
        TAILQ_REMOVE(&p->queue, r, link);
        p->nqueued--;
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
        c->pool->nup--;
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
    if (c->pool->nup == 0 && !c->pool->down) {
        c->pool->down = 1;
        log_warn("%s unavailable: %s", c->pool->name, msg);
        fail_queue_later(c->pool, "postgres unavailable");
    } else {
        log_debug("%s connection %d: connect failed: %s", c->pool->name, c->id, msg);
    }
}

static void conn_connect(struct pg_conn *c)
{
    struct timeval tv;

    c->conn = PQconnectStartParams((const char *const *)c->pool->keys,
                                   (const char *const *)c->pool->vals, 0);
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
    log_debug("%s connection %d: %s", c->pool->name, c->id, msg);
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
    c->pool->nup++;
    if (c->pool->down)
        log_info("%s available again", c->pool->name);
    c->pool->down = 0;
    conn_watch(c, EV_READ | EV_PERSIST);
    log_debug("%s connection %d: connected", c->pool->name, c->id);
    dispatch(c->pool);
}

/* An established connection broke: fail its query, reconnect at once. */
static void conn_lost(struct pg_conn *c, const char *why)
{
    struct pg_req *r = c->req;
    char msg[PG_ERRMSG_MAX];

    snprintf(msg, sizeof(msg), "connection lost: %s",
             why != NULL && why[0] != '\0' ? why : "server closed the connection");
    trim(msg);
    log_warn("%s connection %d: %s", c->pool->name, c->id, msg);
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

static struct pg_conn *idle_conn(struct pg_pool *p)
{
    int i;

    for (i = 0; i < p->nconns; i++)
        if (p->conns[i].state == CONN_IDLE)
            return &p->conns[i];
    return NULL;
}

/* Start p's queued requests on its idle connections. Calls no callback. */
static void dispatch(struct pg_pool *p)
{
    struct pg_conn *c;
    struct pg_req *r;
    char msg[PG_ERRMSG_MAX];

    while ((r = TAILQ_FIRST(&p->queue)) != NULL && (c = idle_conn(p)) != NULL) {
        TAILQ_REMOVE(&p->queue, r, link);
        p->nqueued--;
        if (conn_send(c, r) == 0)
            continue;
        snprintf(msg, sizeof(msg), "connection lost: %s", PQerrorMessage(c->conn));
        log_warn("%s connection %d: send failed", p->name, c->id);
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
        dispatch(c->pool);
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
        TAILQ_REMOVE(&r->pool->queue, r, link);
        r->pool->nqueued--;
        req_deliver(r, NULL, "timeout");
        break;
    case REQ_RUNNING:
        /* Cancelling would block; drop the connection so the late result is never read. */
        c = r->conn;
        c->req = NULL;
        r->conn = NULL;
        log_warn("%s connection %d: query timed out after %d ms; reconnecting", c->pool->name,
                 c->id, pg.timeout_ms);
        conn_close(c);
        conn_schedule(c, 0);
        req_deliver(r, NULL, "timeout");
        break;
    }
}

static void free_params(struct pg_pool *p)
{
    int i;

    for (i = 0; p->keys != NULL && p->keys[i] != NULL; i++) {
        free(p->keys[i]);
        free(p->vals[i]);
    }
    free(p->keys);
    free(p->vals);
    p->keys = NULL;
    p->vals = NULL;
}

/*
 * Turn conninfo into keyword/value arrays, adding a server-side statement_timeout a
 * little above ours and a fallback application name.
 */
static int build_params(struct pg_pool *p, const char *conninfo, int timeout_ms)
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
    p->keys = xcalloc(n + 3, sizeof(char *));
    p->vals = xcalloc(n + 3, sizeof(char *));
    snprintf(extra, sizeof(extra), "-c statement_timeout=%d", timeout_ms + 1000);
    for (o = opts; o->keyword != NULL; o++) {
        if (o->val == NULL || strcmp(o->keyword, "fallback_application_name") == 0)
            continue;
        p->keys[i] = xstrdup(o->keyword);
        if (strcmp(o->keyword, "options") == 0) {
            size_t len = strlen(o->val) + strlen(extra) + 2;
            p->vals[i] = xmalloc(len);
            snprintf(p->vals[i], len, "%s %s", o->val, extra);
            have_options = 1;
        } else {
            p->vals[i] = xstrdup(o->val);
        }
        i++;
    }
    if (!have_options) {
        p->keys[i] = xstrdup("options");
        p->vals[i++] = xstrdup(extra);
    }
    p->keys[i] = xstrdup("fallback_application_name");
    p->vals[i++] = xstrdup("hisaab");
    rc = 0;
out:
    if (opts != NULL)
        PQconninfoFree(opts);
    if (errmsg != NULL)
        PQfreemem(errmsg);
    return rc;
}

/* Set up p's connections (not yet connecting). */
static int pool_open(struct pg_pool *p, const char *name, const char *conninfo, int pool_size)
{
    int i;

    snprintf(p->name, sizeof(p->name), "%s", name);
    TAILQ_INIT(&p->queue);
    if (build_params(p, conninfo, pg.timeout_ms) != 0)
        return -1;
    p->nconns = pool_size;
    p->conns = xcalloc((size_t)pool_size, sizeof(struct pg_conn));
    for (i = 0; i < pool_size; i++) {
        struct pg_conn *c = &p->conns[i];
        c->id = i;
        c->pool = p;
        c->state = CONN_WAIT;
        c->io = event_new(pg.base, -1, 0, conn_io, c);
        c->timer = evtimer_new(pg.base, conn_timer, c);
        if (c->io == NULL || c->timer == NULL) {
            log_error("postgres: cannot create events");
            abort();
        }
    }
    return 0;
}

static void pool_connect(struct pg_pool *p)
{
    int i;

    for (i = 0; i < p->nconns; i++)
        conn_connect(&p->conns[i]);
}

/* Close p's connections and move every request it holds to done. */
static void pool_close(struct pg_pool *p, struct req_list *done)
{
    int i;

    for (i = 0; i < p->nconns; i++) {
        struct pg_conn *c = &p->conns[i];
        if (c->req != NULL) {
            TAILQ_INSERT_TAIL(done, c->req, link);
            c->req = NULL;
        }
        conn_close(c);
        event_free(c->io);
        event_free(c->timer);
    }
    free(p->conns);
    p->conns = NULL;
    p->nconns = 0;
    TAILQ_CONCAT(done, &p->queue, link);
    p->nqueued = 0;
    if (p->probe_ev != NULL)
        event_free(p->probe_ev);
    p->probe_ev = NULL;
    free_params(p);
}

int pg_init(struct event_base *base, const char *conninfo, int pool_size, int timeout_ms)
{
    struct req_list none;
    int rc = -1;

    if (pg.started || base == NULL || conninfo == NULL || pool_size < 1 ||
        pool_size > PG_MAX_POOL || timeout_ms <= 0)
        goto out;
    memset(&pg, 0, sizeof(pg));
    TAILQ_INIT(&pg.failing);
    pg.base = base;
    pg.timeout_ms = timeout_ms;
    pg.connect_timeout_ms =
        timeout_ms * 2 > PG_CONNECT_TIMEOUT_MIN_MS ? timeout_ms * 2 : PG_CONNECT_TIMEOUT_MIN_MS;
    if (pool_open(&pg.primary, "postgres", conninfo, pool_size) != 0) {
        TAILQ_INIT(&none);
        pool_close(&pg.primary, &none);
        goto out;
    }
    pg.started = 1;
    pool_connect(&pg.primary);
    rc = 0;
out:
    return rc;
}

/* Queue r on its pool, or fail it (later) when that pool is down or full. */
static void req_enqueue(struct pg_req *r)
{
    struct pg_pool *p = r->pool;
    struct timeval tv;

    if (p->down) {
        req_fail_later(r, "postgres unavailable");
        return;
    }
    if (p->nqueued >= PG_QUEUE_MAX) {
        req_fail_later(r, "queue full");
        return;
    }
    r->state = REQ_QUEUED;
    TAILQ_INSERT_TAIL(&p->queue, r, link);
    p->nqueued++;
    tv.tv_sec = pg.timeout_ms / 1000;
    tv.tv_usec = (pg.timeout_ms % 1000) * 1000;
    event_del(r->timer);
    event_add(r->timer, &tv);
    dispatch(p);
}

/*
 * A read that failed on a replica for a reason of the replica's (down, gone, timed out,
 * shutting down, a recovery conflict) goes again to the primary; the replica is left out
 * until its next probe. Returns 1 when r was taken, 0 when it is to be answered.
 */
static int req_retry_primary(struct pg_req *r, const char *sqlstate)
{
    if (!pg.started || !r->read || r->pool == &pg.primary)
        return 0;
    if (sqlstate != NULL && strncmp(sqlstate, "57", 2) != 0 && strncmp(sqlstate, "08", 2) != 0 &&
        strncmp(sqlstate, "53", 2) != 0 && strcmp(sqlstate, "40001") != 0)
        return 0;
    if (r->pool->usable)
        log_warn("%s: read failed (%s); left out until it answers a probe", r->pool->name,
                 r->fail != NULL ? r->fail : (sqlstate != NULL ? sqlstate : "?"));
    r->pool->usable = 0;
    r->pool = &pg.primary;
    r->conn = NULL;
    free(r->fail);
    r->fail = NULL;
    req_enqueue(r);
    return 1;
}

static int req_submit(struct pg_pool *p, int read, const char *sql, int nparams,
                      const char *const *params, pg_result_fn cb, void *arg)
{
    struct pg_req *r;
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
    r->pool = p;
    r->read = read;
    r->timer = evtimer_new(pg.base, req_timer, r);
    if (r->timer == NULL) {
        log_error("postgres: cannot create a timer");
        abort();
    }
    req_enqueue(r);
    rc = 0;
out:
    return rc;
}

int pg_query(const char *sql, int nparams, const char *const *params, pg_result_fn cb, void *arg)
{
    return req_submit(&pg.primary, 0, sql, nparams, params, cb, arg);
}

/* A replica that may serve a read needing mark >= min_mark, round robin; NULL if none. */
static struct pg_pool *pick_replica(long long min_mark)
{
    struct pg_pool *p;
    int i;

    for (i = 0; i < pg.nreps; i++) {
        p = &pg.reps[(pg.next_rep + i) % pg.nreps];
        if (p->usable && p->nup > 0 && !p->down && p->mark >= min_mark &&
            p->nqueued < PG_QUEUE_MAX / 2) {
            pg.next_rep = (pg.next_rep + i + 1) % pg.nreps;
            return p;
        }
    }
    return NULL;
}

int pg_query_read(long long min_mark, const char *sql, int nparams, const char *const *params,
                  pg_result_fn cb, void *arg)
{
    struct pg_pool *p = pg.started ? pick_replica(min_mark) : NULL;

    if (p == NULL)
        return req_submit(&pg.primary, 0, sql, nparams, params, cb, arg);
    return req_submit(p, 1, sql, nparams, params, cb, arg);
}

/* ---- replicas: the probe -------------------------------------------------------------- */

static void probe_done(void *arg, const PGresult *res, const char *err)
{
    struct pg_pool *p = arg;
    int was = p->usable;
    long long lag = -1, mark = -1;
    char *end;

    p->probing = 0;
    if (err == NULL && PQntuples(res) == 1 && PQnfields(res) == 2 && !PQgetisnull(res, 0, 0)) {
        lag = strtoll(PQgetvalue(res, 0, 0), &end, 10);
        if (*end != '\0')
            lag = -1;
        if (!PQgetisnull(res, 0, 1)) {
            mark = strtoll(PQgetvalue(res, 0, 1), &end, 10);
            if (*end != '\0')
                mark = -1;
        }
    }
    p->lag_ms = lag;
    p->mark = mark;
    p->usable = lag >= 0 && lag <= pg.max_lag_ms;
    if (p->usable && !was)
        log_info("%s: serving reads (lag %lld ms, mark %lld)", p->name, lag, mark);
    else if (!p->usable && was)
        log_warn("%s: left out of reads: %s", p->name,
                 err != NULL ? err : (lag < 0 ? "no answer to the lag probe" : "lagging"));
}

static void probe_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pg_pool *p = arg;

    (void)fd;
    (void)what;
    if (!pg.started || p->probing)
        return;
    if (p->nup == 0) {
        if (p->usable)
            log_warn("%s: left out of reads: no connection", p->name);
        p->usable = 0;
        return;
    }
    if (req_submit(p, 0, pg.probe_sql, 0, NULL, probe_done, p) == 0)
        p->probing = 1;
}

/* Close every replica pool, moving what they hold to done. */
static void replicas_close(struct req_list *done)
{
    int i;

    for (i = 0; i < pg.nreps; i++)
        pool_close(&pg.reps[i], done);
    free(pg.reps);
    pg.reps = NULL;
    pg.nreps = 0;
    free(pg.probe_sql);
    pg.probe_sql = NULL;
}

/* Skip blanks at *s; the length of the word that starts there (0 at the end). */
static size_t next_word(const char **s)
{
    *s += strspn(*s, " \t");
    return strcspn(*s, " \t");
}

int pg_replicas_init(const char *urls, int pool_size, int max_lag_ms, const char *mark_sql)
{
    static const char lag_sql[] =
        "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
        " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
        " ELSE COALESCE((extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
        " * 1000)::bigint, 0) END, (%s)";
    struct timeval tv = {PG_PROBE_MS / 1000, (PG_PROBE_MS % 1000) * 1000};
    const char *w;
    char *url = NULL, name[48];
    size_t len, wl;
    int n = 0, rc = -1;

    if (!pg.started || pg.nreps > 0 || urls == NULL || pool_size < 1 || pool_size > PG_MAX_POOL ||
        max_lag_ms < 0)
        goto out;
    for (w = urls; (wl = next_word(&w)) > 0; w += wl)
        n++;
    if (n == 0 || n > PG_MAX_REPLICAS)
        goto out;
    len = sizeof(lag_sql) + strlen(mark_sql != NULL ? mark_sql : "0");
    pg.probe_sql = xmalloc(len);
    snprintf(pg.probe_sql, len, lag_sql, mark_sql != NULL ? mark_sql : "0");
    pg.max_lag_ms = max_lag_ms;
    pg.reps = xcalloc((size_t)n, sizeof(struct pg_pool));
    for (w = urls; (wl = next_word(&w)) > 0; w += wl) {
        struct pg_pool *p = &pg.reps[pg.nreps];
        free(url);
        url = xstrndup(w, wl);
        snprintf(name, sizeof(name), "postgres replica %d", pg.nreps + 1);
        pg.nreps++;
        if (pool_open(p, name, url, pool_size) != 0)
            goto out;
        p->probe_ev = event_new(pg.base, -1, EV_PERSIST, probe_timer, p);
        if (p->probe_ev == NULL || event_add(p->probe_ev, &tv) != 0) {
            log_error("postgres: cannot start the replica probe");
            abort();
        }
        pool_connect(p);
    }
    rc = 0;
out:
    if (rc != 0 && pg.reps != NULL) {
        struct req_list none;
        TAILQ_INIT(&none);
        replicas_close(&none);
    }
    free(url);
    return rc;
}

int pg_replicas_usable(void)
{
    int i, n = 0;

    for (i = 0; pg.started && i < pg.nreps; i++)
        if (pg.reps[i].usable && pg.reps[i].nup > 0)
            n++;
    return n;
}

int pg_replicas_configured(void)
{
    return pg.started ? pg.nreps : 0;
}

const char *pg_last_sqlstate(void)
{
    return cur_sqlstate;
}

int pg_is_up(void)
{
    return pg.started && pg.primary.nup > 0;
}

void pg_shutdown(void)
{
    struct req_list done;
    struct pg_req *r;

    if (!pg.started)
        return;
    pg.started = 0;
    TAILQ_INIT(&done);
    pool_close(&pg.primary, &done);
    replicas_close(&done);
    TAILQ_CONCAT(&done, &pg.failing, link);
    while ((r = TAILQ_FIRST(&done)) != NULL) {
        TAILQ_REMOVE(&done, r, link);
        req_deliver(r, NULL, "shutdown");
    }
}
