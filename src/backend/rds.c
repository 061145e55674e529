/*
 * Asynchronous Redis on libevent; see rds.h.
 *
 * hiredis owns each command's callback record until it delivers a reply or frees the
 * context (then with a NULL reply), so our per-command struct rcmd lives exactly that
 * long. The caller's callback may have run earlier (on timeout); `done` remembers it so
 * the late reply is dropped. A command that fails before reaching hiredis (Redis down,
 * too many pending) is answered from a zero timer, never inside rds_command().
 *
 * Each connection (struct rconn) is DOWN (a timer will reconnect it), CONNECTING (a
 * hiredis context exists; AUTH/SELECT are queued first, so commands written meanwhile
 * follow them) or READY. When we give up on a context ourselves we clear rconn.ac before
 * redisAsyncFree(), which tells the disconnect callback the context is no longer ours.
 */
#include "backend/rds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "backend/rds_resp.h"
#include "backend/rds_url.h"
#include "core/log.h"
#include "core/mem.h"

#define RDS_BACKOFF_MIN_MS 100
#define RDS_BACKOFF_MAX_MS 5000
#define RDS_CONNECT_TIMEOUT_MIN_MS 2000
#define RDS_HANG_MIN_MS 5000
#define RDS_CHANNEL_MAX 256
/* With sentinels: how often one is asked who the master is. */
#define RDS_SENTINEL_CHECK_MS 1000

enum rconn_state { RC_DOWN, RC_CONNECTING, RC_READY };
enum rcmd_state { CMD_NEW, CMD_SENT, CMD_FAILING };

struct rconn {
    const char *name;
    int is_sub;
    redisAsyncContext *ac;
    enum rconn_state state;
    int connected;       /* the TCP connect completed */
    int setup_pending;   /* AUTH/SELECT replies still awaited */
    struct event *timer; /* reconnect backoff (DOWN) or connect timeout (CONNECTING) */
    int backoff_ms;
    int down; /* a connect attempt failed since the last READY: fail fast */
};

struct rcmd {
    TAILQ_ENTRY(rcmd) link; /* in rds.failing while CMD_FAILING */
    enum rcmd_state state;
    rds_reply_fn cb;     /* one command's; NULL for a pipeline */
    rds_part_fn part_cb; /* a pipeline's */
    int nparts;          /* a pipeline: its commands; parts delivered so far: */
    int delivered;
    int sent, replied; /* commands hiredis took, and of them those it handed back */
    int busy;          /* inside part_cb: not freed until it returns */
    void *arg;
    struct event *timer;   /* timeout, then hang watchdog; zero-delay when FAILING */
    redisAsyncContext *ac; /* the context it was sent on (CMD_SENT) */
    int done;              /* the caller's callback has run */
    char *fail;
};

struct rsub {
    char *channel;
    rds_message_fn fn;
    void *arg;
};

static struct {
    int started;
    int shutting_down;
    struct event_base *base;
    char host[RDS_HOST_MAX];
    int port;
    int db;
    char *user;
    char *password;
    int timeout_ms;
    int connect_timeout_ms;
    int hang_ms;
    struct rconn cmd;
    struct rconn sub;
    struct rsub subs[RDS_MAX_SUBS];
    int nsubs;
    int npending;
    TAILQ_HEAD(, rcmd) failing;
    /* Sentinel mode (nsentinels > 0): host and port above are the master they named. */
    struct rds_server sentinels[RDS_MAX_SENTINELS];
    int nsentinels;
    char *master_name;
    int have_master;            /* host/port hold a master a sentinel named */
    int next_sentinel;          /* the one to ask next */
    int asked;                  /* sentinels asked in this round without an answer */
    redisAsyncContext *sac;     /* the question in flight, or NULL */
    struct event *sen_tick;     /* every RDS_SENTINEL_CHECK_MS */
    struct event *sen_deadline; /* the question's timeout */
    int no_master_logged;
} rds;

static void conn_connect(struct rconn *rc);
static void sentinel_ask(void);

static struct timeval ms_tv(int ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

static void cmd_free(struct rcmd *c)
{
    if (c->timer != NULL)
        event_free(c->timer);
    free(c->fail);
    free(c);
}

/* Give the caller err for what is left of c's answer: its one reply, or every part of a
 * pipeline not yet delivered. */
static void cmd_fail_rest(struct rcmd *c, const char *err)
{
    if (c->part_cb == NULL) {
        c->cb(c->arg, NULL, err);
        return;
    }
    c->busy++;
    while (c->delivered < c->nparts)
        c->part_cb(c->arg, c->delivered++, NULL, err);
    c->busy--;
}

static void cmd_fail_later(struct rcmd *c, const char *msg)
{
    struct timeval tv = ms_tv(0);

    c->fail = xstrdup(msg);
    c->state = CMD_FAILING;
    TAILQ_INSERT_TAIL(&rds.failing, c, link);
    event_add(c->timer, &tv);
}

static void conn_schedule(struct rconn *rc, int delay_ms)
{
    struct timeval tv = ms_tv(delay_ms);

    event_del(rc->timer);
    event_add(rc->timer, &tv);
}

static void bump_backoff(struct rconn *rc)
{
    if (rc->backoff_ms < RDS_BACKOFF_MIN_MS)
        rc->backoff_ms = RDS_BACKOFF_MIN_MS;
    else if (rc->backoff_ms < RDS_BACKOFF_MAX_MS)
        rc->backoff_ms *= 2;
    if (rc->backoff_ms > RDS_BACKOFF_MAX_MS)
        rc->backoff_ms = RDS_BACKOFF_MAX_MS;
}

/* A connect attempt failed (the context is gone or going): back off and retry. */
static void conn_failed(struct rconn *rc, const char *why)
{
    rc->ac = NULL;
    rc->state = RC_DOWN;
    rc->connected = 0;
    bump_backoff(rc);
    conn_schedule(rc, rc->backoff_ms);
    sentinel_ask(); /* the master may have moved */
    if (!rc->down) {
        rc->down = 1;
        log_warn("%s unavailable: %s", rc->name, why != NULL ? why : "connect failed");
    } else {
        log_debug("%s: connect failed: %s", rc->name, why != NULL ? why : "?");
    }
}

/*
 * Give up on the current context ourselves. Its pending callbacks run now with NULL
 * replies (or right after the hiredis callback we are in returns).
 */
static void conn_drop(struct rconn *rc, int delay_ms)
{
    redisAsyncContext *ac = rc->ac;

    rc->ac = NULL;
    rc->state = RC_DOWN;
    rc->connected = 0;
    conn_schedule(rc, delay_ms);
    if (ac != NULL)
        redisAsyncFree(ac);
}

static void sub_message(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    struct rsub *s = privdata;
    redisReply *kind, *payload;

    (void)ac;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return;
    kind = reply->element[0];
    payload = reply->element[2];
    if (kind->type != REDIS_REPLY_STRING || strcmp(kind->str, "message") != 0)
        return;
    if (payload->type != REDIS_REPLY_STRING)
        return;
    s->fn(s->arg, payload->str, (size_t)payload->len);
}

static void sub_send(struct rsub *s)
{
    if (rds.sub.ac == NULL || rds.sub.state != RC_READY)
        return;
    if (redisAsyncCommand(rds.sub.ac, sub_message, s, "SUBSCRIBE %s", s->channel) != REDIS_OK)
        log_warn("redis subscriber: cannot subscribe to %s", s->channel);
}

static void conn_ready(struct rconn *rc)
{
    int i;

    event_del(rc->timer);
    rc->state = RC_READY;
    rc->backoff_ms = 0;
    if (rc->down)
        log_info("%s available again", rc->name);
    rc->down = 0;
    if (rc->is_sub)
        for (i = 0; i < rds.nsubs; i++)
            sub_send(&rds.subs[i]);
}

static void setup_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    struct rconn *rc = privdata;

    if (reply == NULL || rc->ac != ac)
        return; /* the context is going away; the disconnect path handles it */
    if (reply->type == REDIS_REPLY_ERROR) {
        if (!rc->down)
            log_error("%s: setup command refused: %s", rc->name, reply->str);
        else
            log_debug("%s: setup command refused: %s", rc->name, reply->str);
        bump_backoff(rc);
        rc->down = 1;
        conn_drop(rc, rc->backoff_ms);
        return;
    }
    if (--rc->setup_pending == 0 && rc->connected)
        conn_ready(rc);
}

/* Sentinel mode: the server a sentinel named must say it is the master (ROLE), as the
 * sentinel clients' guidelines ask; a demoted one sends us back to the sentinels. */
static void role_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    struct rconn *rc = privdata;

    if (reply == NULL || rc->ac != ac)
        return;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(reply->element[0]->str, "master") == 0) {
        if (--rc->setup_pending == 0 && rc->connected)
            conn_ready(rc);
        return;
    }
    log_warn("%s: %s:%d is not the master; asking the sentinels", rc->name, rds.host, rds.port);
    rds.have_master = 0;
    bump_backoff(rc);
    rc->down = 1;
    conn_drop(rc, rc->backoff_ms);
    sentinel_ask();
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    struct rconn *rc = cac->data;

    if (rc == NULL || rc->ac != cac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns. */
        conn_failed(rc, cac->errstr);
        return;
    }
    rc->connected = 1;
    if (rc->setup_pending == 0)
        conn_ready(rc);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    struct rconn *rc = cac->data;

    (void)status;
    if (rc == NULL || rc->ac != cac)
        return; /* dropped by us */
    log_warn("%s: connection lost: %s", rc->name, cac->errstr[0] ? cac->errstr : "closed");
    rc->ac = NULL;
    rc->state = RC_DOWN;
    rc->connected = 0;
    conn_schedule(rc, rc->backoff_ms);
    sentinel_ask();
}

static void conn_timer(evutil_socket_t fd, short what, void *arg)
{
    struct rconn *rc = arg;

    (void)fd;
    (void)what;
    if (rc->state == RC_DOWN) {
        conn_connect(rc);
    } else if (rc->state == RC_CONNECTING) {
        log_debug("%s: connect timeout", rc->name);
        bump_backoff(rc);
        if (!rc->down)
            log_warn("%s unavailable: connect timeout", rc->name);
        rc->down = 1;
        conn_drop(rc, rc->backoff_ms);
    }
}

static void conn_connect(struct rconn *rc)
{
    redisAsyncContext *ac;
    struct timeval tv;
    char msg[256];

    if (rds.nsentinels > 0 && !rds.have_master) {
        /* Nobody named a master yet: wait (the answer reconnects us at once). */
        rc->state = RC_DOWN;
        rc->down = 1;
        bump_backoff(rc);
        conn_schedule(rc, rc->backoff_ms);
        sentinel_ask();
        return;
    }
    ac = redisAsyncConnect(rds.host, rds.port);
    if (ac == NULL) {
        conn_failed(rc, "out of memory");
        return;
    }
    if (ac->err) {
        snprintf(msg, sizeof(msg), "%s", ac->errstr);
        redisAsyncFree(ac);
        conn_failed(rc, msg);
        return;
    }
    ac->data = rc;
    if (redisLibeventAttach(ac, rds.base) != REDIS_OK) {
        redisAsyncFree(ac);
        conn_failed(rc, "cannot attach to the event loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    rc->ac = ac;
    rc->state = RC_CONNECTING;
    rc->connected = 0;
    rc->setup_pending = 0;
    /* Queued before anything else, so later commands run authenticated in the right db. */
    if (rds.password != NULL) {
        int st = rds.user != NULL
                     ? redisAsyncCommand(ac, setup_reply, rc, "AUTH %s %s", rds.user, rds.password)
                     : redisAsyncCommand(ac, setup_reply, rc, "AUTH %s", rds.password);
        if (st == REDIS_OK)
            rc->setup_pending++;
    }
    if (!rc->is_sub && rds.db != 0 &&
        redisAsyncCommand(ac, setup_reply, rc, "SELECT %d", rds.db) == REDIS_OK)
        rc->setup_pending++;
    if (rds.nsentinels > 0 && redisAsyncCommand(ac, role_reply, rc, "ROLE") == REDIS_OK)
        rc->setup_pending++;
    tv = ms_tv(rds.connect_timeout_ms);
    event_del(rc->timer);
    event_add(rc->timer, &tv);
}

/* A reply hiredis handed back: counted off the pending ones; why it is not an answer
 * (NULL: it is one). */
static const char *reply_taken(const redisReply *reply)
{
    if (rds.npending > 0)
        rds.npending--;
    if (reply == NULL)
        return rds.shutting_down ? "shutdown" : "connection lost";
    if (reply->type == REDIS_REPLY_ERROR)
        return reply->str != NULL ? reply->str : "error";
    return NULL;
}

static void cmd_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    struct rcmd *c = privdata;
    const char *err = reply_taken(reply);

    (void)ac;
    if (c->done) {
        cmd_free(c);
        return;
    }
    c->done = 1;
    event_del(c->timer);
    c->cb(c->arg, err != NULL ? NULL : reply, err);
    cmd_free(c);
}

/* One reply of a pipeline, in order. When part_cb calls rds_shutdown(), hiredis hands
 * back the rest (NULL: "shutdown") as it frees the context, during or right after that
 * call; busy keeps c until the outermost call returns. */
static void part_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    struct rcmd *c = privdata;
    const char *err = reply_taken(reply);

    (void)ac;
    c->replied++;
    if (!c->done) {
        if (c->replied == c->sent) {
            c->done = 1;
            event_del(c->timer);
        }
        c->busy++;
        c->part_cb(c->arg, c->delivered++, err != NULL ? NULL : reply, err);
        if (c->done)
            cmd_fail_rest(c, "cannot send command"); /* parts hiredis did not take */
        c->busy--;
    }
    if (c->replied == c->sent && c->busy == 0)
        cmd_free(c);
}

static void cmd_timer(evutil_socket_t fd, short what, void *arg)
{
    struct rcmd *c = arg;
    struct timeval tv;

    (void)fd;
    (void)what;
    if (c->state == CMD_FAILING) {
        TAILQ_REMOVE(&rds.failing, c, link);
        c->done = 1;
        cmd_fail_rest(c, c->fail);
        cmd_free(c);
        return;
    }
    if (!c->done) {
        /* Arm the hang watchdog first: the callback may free c (via rds_shutdown()). */
        tv = ms_tv(rds.hang_ms);
        event_add(c->timer, &tv);
        c->done = 1;
        if (c->part_cb == NULL) {
            c->cb(c->arg, NULL, "timeout");
            return;
        }
        /* busy kept c while hiredis handed back the rest (rds_shutdown() from cb). */
        cmd_fail_rest(c, "timeout");
        if (c->replied == c->sent)
            cmd_free(c);
        return;
    }
    /* Still unanswered long after its timeout: the connection is hung. */
    if (rds.cmd.ac == c->ac && c->ac != NULL) {
        log_warn("redis: no reply for %d ms; reconnecting", rds.hang_ms);
        conn_drop(&rds.cmd, 0); /* frees c through cmd_reply(NULL) */
    }
}

static void conn_setup(struct rconn *rc, const char *name, int is_sub)
{
    rc->name = name;
    rc->is_sub = is_sub;
    rc->state = RC_DOWN;
    rc->timer = evtimer_new(rds.base, conn_timer, rc);
    if (rc->timer == NULL) {
        log_error("redis: cannot create a timer");
        abort();
    }
}

static void free_url(void)
{
    free(rds.user);
    free(rds.password);
    rds.user = NULL;
    rds.password = NULL;
}

/* The URL's parts into rds. Returns 0 or -1. */
static int parse_url(const char *url)
{
    struct rds_url u;

    if (rds_url_parse(url, &u) != 0)
        return -1;
    memcpy(rds.host, u.server.host, sizeof(rds.host));
    rds.port = u.server.port;
    rds.db = u.db;
    rds.user = u.user;
    rds.password = u.password;
    return 0;
}

/* What rds_init() and rds_init_sentinel() share: the loop, the timeouts, the connections. */
static void setup_common(struct event_base *base, int timeout_ms)
{
    rds.base = base;
    rds.timeout_ms = timeout_ms;
    rds.connect_timeout_ms =
        timeout_ms * 2 > RDS_CONNECT_TIMEOUT_MIN_MS ? timeout_ms * 2 : RDS_CONNECT_TIMEOUT_MIN_MS;
    rds.hang_ms = timeout_ms * 10 > RDS_HANG_MIN_MS ? timeout_ms * 10 : RDS_HANG_MIN_MS;
    conn_setup(&rds.cmd, "redis", 0);
    conn_setup(&rds.sub, "redis subscriber", 1);
}

/* ---- Sentinel: who is the master ------------------------------------------------------ */

/* Forget the question in flight (its reply, if it comes, is ignored). */
static void sentinel_close(int free_now)
{
    redisAsyncContext *ac = rds.sac;

    rds.sac = NULL;
    if (rds.sen_deadline != NULL)
        event_del(rds.sen_deadline);
    if (ac == NULL)
        return;
    if (free_now)
        redisAsyncFree(ac);
    else
        redisAsyncDisconnect(ac);
}

/* The sentinel asked did not answer usefully: try the next one, once per round. */
static void sentinel_next(const char *why)
{
    const struct rds_server *s = &rds.sentinels[rds.next_sentinel];

    log_debug("redis sentinel %s:%d: %s", s->host, s->port, why);
    rds.next_sentinel = (rds.next_sentinel + 1) % rds.nsentinels;
    if (++rds.asked < rds.nsentinels) {
        sentinel_ask();
        return;
    }
    rds.asked = 0;
    if (!rds.no_master_logged) {
        log_warn("redis: no sentinel names a master for '%s' (%s); running on local fallbacks",
                 rds.master_name, why);
        rds.no_master_logged = 1;
    }
}

/* A new master: both connections go to it now. */
static void master_moved(const char *host, int port)
{
    struct rconn *conns[2] = {&rds.cmd, &rds.sub};
    int i;

    log_info("redis: master '%s' is %s:%d", rds.master_name, host, port);
    snprintf(rds.host, sizeof(rds.host), "%s", host);
    rds.port = port;
    rds.have_master = 1;
    for (i = 0; i < 2; i++) {
        struct rconn *rc = conns[i];
        if (rc->ac != NULL)
            conn_drop(rc, 0);
        else if (rc == &rds.cmd || rds.nsubs > 0)
            conn_schedule(rc, 0);
        rc->backoff_ms = 0;
    }
}

static void sentinel_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;
    const redisReply *h, *p;
    char *end;
    long port;

    (void)privdata;
    if (ac != rds.sac)
        return;
    sentinel_close(0);
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
        sentinel_next(reply != NULL && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                        : "no master by that name");
        return;
    }
    h = reply->element[0];
    p = reply->element[1];
    if (h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_STRING || h->len == 0 ||
        h->len >= sizeof(rds.host)) {
        sentinel_next("unexpected reply");
        return;
    }
    errno = 0;
    port = strtol(p->str, &end, 10);
    if (errno != 0 || *end != '\0' || port < 1 || port > 65535) {
        sentinel_next("bad port in reply");
        return;
    }
    rds.asked = 0;
    if (rds.no_master_logged)
        log_info("redis: the sentinels name a master again");
    rds.no_master_logged = 0;
    if (!rds.have_master || rds.port != (int)port || strcmp(rds.host, h->str) != 0)
        master_moved(h->str, (int)port);
}

static void sentinel_on_connect(const redisAsyncContext *cac, int status)
{
    if (cac != rds.sac || status == REDIS_OK)
        return;
    rds.sac = NULL; /* hiredis frees it */
    event_del(rds.sen_deadline);
    sentinel_next(cac->errstr);
}

static void sentinel_on_disconnect(const redisAsyncContext *cac, int status)
{
    (void)status;
    if (cac != rds.sac)
        return;
    rds.sac = NULL;
    event_del(rds.sen_deadline);
    sentinel_next("connection lost");
}

static void sentinel_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sentinel_close(1);
    sentinel_next("timeout");
}

static void sentinel_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sentinel_ask();
}

/* Ask one sentinel for the master's address, unless a question is in flight. */
static void sentinel_ask(void)
{
    const struct rds_server *s;
    redisAsyncContext *ac;
    struct timeval tv;

    if (!rds.started || rds.nsentinels == 0 || rds.sac != NULL || rds.shutting_down)
        return;
    s = &rds.sentinels[rds.next_sentinel];
    ac = redisAsyncConnect(s->host, s->port);
    if (ac == NULL || ac->err) {
        if (ac != NULL)
            redisAsyncFree(ac);
        sentinel_next("cannot connect");
        return;
    }
    if (redisLibeventAttach(ac, rds.base) != REDIS_OK) {
        redisAsyncFree(ac);
        sentinel_next("cannot attach to the event loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, sentinel_on_connect);
    redisAsyncSetDisconnectCallback(ac, sentinel_on_disconnect);
    rds.sac = ac;
    if (redisAsyncCommand(ac, sentinel_reply, NULL, "SENTINEL get-master-addr-by-name %s",
                          rds.master_name) != REDIS_OK) {
        sentinel_close(1);
        sentinel_next("cannot send");
        return;
    }
    tv = ms_tv(rds.timeout_ms);
    event_add(rds.sen_deadline, &tv);
}

int rds_init_sentinel(struct event_base *base, const char *url, int timeout_ms,
                      const char *sentinels, const char *master)
{
    struct timeval tv = ms_tv(RDS_SENTINEL_CHECK_MS);
    int rc = -1;

    if (rds.started || base == NULL || url == NULL || sentinels == NULL || master == NULL ||
        master[0] == '\0' || timeout_ms <= 0)
        goto out;
    memset(&rds, 0, sizeof(rds));
    TAILQ_INIT(&rds.failing);
    if (parse_url(url) != 0 ||
        (rds.nsentinels = rds_sentinels_parse(sentinels, rds.sentinels, RDS_MAX_SENTINELS)) < 0) {
        log_error("redis: bad URL or sentinel list (want redis://host/db and host:port,...)");
        free_url();
        rds.nsentinels = 0;
        goto out;
    }
    rds.master_name = xstrdup(master);
    setup_common(base, timeout_ms);
    rds.sen_tick = event_new(base, -1, EV_PERSIST, sentinel_tick, NULL);
    rds.sen_deadline = evtimer_new(base, sentinel_deadline, NULL);
    if (rds.sen_tick == NULL || rds.sen_deadline == NULL || event_add(rds.sen_tick, &tv) != 0) {
        log_error("redis: cannot create a timer");
        abort();
    }
    rds.started = 1;
    rds.cmd.state = RC_DOWN;
    sentinel_ask(); /* the answer connects both connections */
    rc = 0;
out:
    return rc;
}

int rds_init(struct event_base *base, const char *url, int timeout_ms)
{
    int rc = -1;

    if (rds.started || base == NULL || url == NULL || timeout_ms <= 0)
        goto out;
    memset(&rds, 0, sizeof(rds));
    TAILQ_INIT(&rds.failing);
    if (parse_url(url) != 0) {
        log_error("redis: bad URL (want redis://host:port/db)");
        free_url();
        goto out;
    }
    setup_common(base, timeout_ms);
    rds.started = 1;
    conn_connect(&rds.cmd);
    rc = 0;
out:
    return rc;
}

/* A command record for cb (or a pipeline's part_cb), or NULL when rds is not started. */
static struct rcmd *cmd_new(rds_reply_fn cb, rds_part_fn part_cb, void *arg)
{
    struct rcmd *c;

    if (!rds.started || (cb == NULL) == (part_cb == NULL))
        return NULL;
    c = xcalloc(1, sizeof(*c));
    c->cb = cb;
    c->part_cb = part_cb;
    c->arg = arg;
    c->timer = evtimer_new(rds.base, cmd_timer, c);
    if (c->timer == NULL) {
        log_error("redis: cannot create a timer");
        abort();
    }
    return c;
}

/* The connection every command goes on, or NULL: also while it is still connecting
 * (hiredis keeps what is written until then, after AUTH and SELECT), but not while Redis
 * is known to be down (a DOWN connection has no context). */
static redisAsyncContext *send_conn(void)
{
    redisAsyncContext *ac = rds.cmd.ac;

    if (!rds.started || ac == NULL || rds.cmd.down ||
        (ac->c.flags & (REDIS_DISCONNECTING | REDIS_FREEING)))
        return NULL;
    return ac;
}

/* The connection to send n commands on, or NULL after failing c (later, from the loop). */
static redisAsyncContext *cmd_conn(struct rcmd *c, int n)
{
    redisAsyncContext *ac = send_conn();

    if (ac == NULL) {
        cmd_fail_later(c, "redis unavailable");
        return NULL;
    }
    if (rds.npending + n > RDS_MAX_PENDING) {
        cmd_fail_later(c, "busy");
        return NULL;
    }
    return ac;
}

/* After hiredis took n of c's commands (0: refused them). */
static void cmd_sent(struct rcmd *c, redisAsyncContext *ac, int n)
{
    struct timeval tv;

    if (n == 0) {
        cmd_fail_later(c, "cannot send command");
        return;
    }
    c->state = CMD_SENT;
    c->ac = ac;
    c->sent = n;
    rds.npending += n;
    tv = ms_tv(rds.timeout_ms);
    event_add(c->timer, &tv);
}

int rds_command(rds_reply_fn cb, void *arg, const char *fmt, ...)
{
    struct rcmd *c = fmt != NULL ? cmd_new(cb, NULL, arg) : NULL;
    redisAsyncContext *ac;
    va_list ap;
    int st;

    if (c == NULL)
        return -1;
    ac = cmd_conn(c, 1);
    if (ac == NULL)
        return 0;
    va_start(ap, fmt);
    st = redisvAsyncCommand(ac, cmd_reply, c, fmt, ap);
    va_end(ap);
    cmd_sent(c, ac, st == REDIS_OK);
    return 0;
}

int rds_send_argv(int argc, const char *const *argv, const size_t *argvlen)
{
    redisAsyncContext *ac = send_conn();

    if (ac == NULL || argc <= 0 || argv == NULL)
        return -1;
    return rds_resp_send(ac, NULL, NULL, argc, argv, argvlen) == REDIS_OK ? 0 : -1;
}

int rds_send(const char *fmt, ...)
{
    redisAsyncContext *ac = send_conn();
    va_list ap;
    int st;

    if (ac == NULL || fmt == NULL)
        return -1;
    va_start(ap, fmt);
    st = redisvAsyncCommand(ac, NULL, NULL, fmt, ap);
    va_end(ap);
    return st == REDIS_OK ? 0 : -1;
}

int rds_command_argv(rds_reply_fn cb, void *arg, int argc, const char *const *argv,
                     const size_t *argvlen)
{
    struct rcmd *c = argc > 0 && argv != NULL ? cmd_new(cb, NULL, arg) : NULL;
    redisAsyncContext *ac;

    if (c == NULL)
        return -1;
    ac = cmd_conn(c, 1);
    if (ac == NULL)
        return 0;
    cmd_sent(c, ac, rds_resp_send(ac, cmd_reply, c, argc, argv, argvlen) == REDIS_OK);
    return 0;
}

int rds_pipeline(rds_part_fn cb, void *arg, int n, const struct rds_argv *cmds)
{
    struct rcmd *c;
    redisAsyncContext *ac;
    int i;

    if (n < 1 || n > RDS_PIPELINE_MAX || cmds == NULL)
        return -1;
    for (i = 0; i < n; i++)
        if (cmds[i].argc < 1 || cmds[i].argv == NULL || cmds[i].argvlen == NULL)
            return -1;
    if ((c = cmd_new(NULL, cb, arg)) == NULL)
        return -1;
    c->nparts = n;
    if ((ac = cmd_conn(c, n)) == NULL)
        return 0;
    /* hiredis refuses only a context that is closing, so all or none are taken; parts it
     * did not take are answered after the last one it did (part_reply()). */
    for (i = 0; i < n; i++)
        if (rds_resp_send(ac, part_reply, c, cmds[i].argc, cmds[i].argv, cmds[i].argvlen) !=
            REDIS_OK)
            break;
    cmd_sent(c, ac, i);
    return 0;
}

int rds_is_up(void)
{
    return rds.started && rds.cmd.state == RC_READY;
}

int rds_subscribe(const char *channel, rds_message_fn fn, void *arg)
{
    struct rsub *s;
    size_t n;
    int rc = -1;

    if (!rds.started || channel == NULL || fn == NULL || rds.nsubs >= RDS_MAX_SUBS)
        goto out;
    n = strlen(channel);
    if (n == 0 || n > RDS_CHANNEL_MAX)
        goto out;
    s = &rds.subs[rds.nsubs++];
    s->channel = xstrdup(channel);
    s->fn = fn;
    s->arg = arg;
    if (rds.sub.ac == NULL && rds.sub.state == RC_DOWN &&
        !event_pending(rds.sub.timer, EV_TIMEOUT, NULL))
        conn_connect(&rds.sub);
    else
        sub_send(s);
    rc = 0;
out:
    return rc;
}

void rds_shutdown(void)
{
    struct rcmd *c;
    struct rconn *conns[2] = {&rds.sub, &rds.cmd};
    int i;

    if (!rds.started)
        return;
    rds.started = 0;
    rds.shutting_down = 1;
    sentinel_close(1);
    if (rds.sen_tick != NULL)
        event_free(rds.sen_tick);
    if (rds.sen_deadline != NULL)
        event_free(rds.sen_deadline);
    rds.sen_tick = rds.sen_deadline = NULL;
    free(rds.master_name);
    rds.master_name = NULL;
    rds.nsentinels = 0;
    for (i = 0; i < 2; i++) {
        struct rconn *rc = conns[i];
        redisAsyncContext *ac = rc->ac;
        rc->ac = NULL;
        rc->state = RC_DOWN;
        event_free(rc->timer);
        rc->timer = NULL;
        if (ac != NULL)
            redisAsyncFree(ac);
    }
    while ((c = TAILQ_FIRST(&rds.failing)) != NULL) {
        TAILQ_REMOVE(&rds.failing, c, link);
        c->done = 1;
        cmd_fail_rest(c, "shutdown");
        cmd_free(c);
    }
    for (i = 0; i < rds.nsubs; i++)
        free(rds.subs[i].channel);
    rds.nsubs = 0;
    free_url();
}
