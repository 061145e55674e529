/*
 * Tests for pg.c and rds.c on a real libevent loop. The tests that need services read
 * DATABASE_URL and REDIS_URL and are skipped without them; tests/blackbox/test_backends.py
 * runs this binary against harness.Services(). Failure tests (stopping Postgres or Redis)
 * also need HISAAB_BACKENDS_CONTROL=1: the binary then prints "CONTROL <action>" and waits
 * for a line on stdin once the driver has done it. Tests against a closed port (nothing
 * listens on 127.0.0.1:1) need nothing and always run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "backend/pg.h"
#include "backend/rds.h"
#include "backend/rds_url.h"

static struct event_base *base;

#include "loop.h"

struct answer {
    int called;
    int calls_seen_at_return; /* `called` right after pg_query()/rds_command() returned */
    char err[256];
    char val[1024];
    char sqlstate[8]; /* pg_last_sqlstate() inside the callback; "" when NULL */
    int ok;
    double at; /* when the callback ran */
};

static void pg_cb(void *arg, const PGresult *res, const char *err)
{
    struct answer *a = arg;

    a->called++;
    a->at = now_s();
    if (res != NULL) {
        a->ok = 1;
        if (PQntuples(res) > 0 && PQnfields(res) > 0)
            snprintf(a->val, sizeof(a->val), "%s", PQgetvalue(res, 0, 0));
    }
    if (err != NULL)
        snprintf(a->err, sizeof(a->err), "%s", err);
    snprintf(a->sqlstate, sizeof(a->sqlstate), "%s",
             pg_last_sqlstate() != NULL ? pg_last_sqlstate() : "");
}

static void rds_cb(void *arg, const redisReply *reply, const char *err)
{
    struct answer *a = arg;

    a->called++;
    a->at = now_s();
    if (reply != NULL) {
        a->ok = 1;
        if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)
            snprintf(a->val, sizeof(a->val), "%.*s", (int)reply->len, reply->str);
        else if (reply->type == REDIS_REPLY_INTEGER)
            snprintf(a->val, sizeof(a->val), "%lld", reply->integer);
    }
    if (err != NULL)
        snprintf(a->err, sizeof(a->err), "%s", err);
}

/* A pipeline's answer: each part's value or error, in the order the parts came. */
struct parts {
    int calls;    /* parts delivered */
    int order_ok; /* every part came as the next i */
    int done;     /* all n came */
    int n;
    int shutdown_at; /* call rds_shutdown() from inside this part (-1: never) */
    struct answer part[RDS_PIPELINE_MAX];
};

static void parts_cb(void *arg, int i, const redisReply *reply, const char *err)
{
    struct parts *p = arg;

    if (i != p->calls)
        p->order_ok = 0;
    p->calls++;
    if (i >= 0 && i < RDS_PIPELINE_MAX)
        rds_cb(&p->part[i], reply, err);
    if (p->calls == p->n)
        p->done = 1;
    if (i == p->shutdown_at)
        rds_shutdown();
}

static void parts_init(struct parts *p, int n)
{
    memset(p, 0, sizeof(*p));
    p->n = n;
    p->order_ok = 1;
    p->shutdown_at = -1;
}

/* cmds[i] from the words of lines[i] (split on spaces; they stay in words). */
static void pipeline_of(const char *const *lines, int n, char words[][8][64], const char *argv[][8],
                        size_t lens[][8], struct rds_argv *cmds)
{
    for (int i = 0; i < n; i++) {
        int k = 0;
        const char *p = lines[i];
        while (*p != '\0' && k < 8) {
            size_t w = strcspn(p, " ");
            snprintf(words[i][k], sizeof(words[i][k]), "%.*s", (int)w, p);
            argv[i][k] = words[i][k];
            lens[i][k] = w;
            k++;
            p += w;
            while (*p == ' ')
                p++;
        }
        cmds[i] = (struct rds_argv){k, argv[i], lens[i]};
    }
}

static int send_pipeline(struct parts *p, const char *const *lines, int n)
{
    static char words[RDS_PIPELINE_MAX][8][64];
    static const char *argv[RDS_PIPELINE_MAX][8];
    static size_t lens[RDS_PIPELINE_MAX][8];
    struct rds_argv cmds[RDS_PIPELINE_MAX];

    parts_init(p, n);
    pipeline_of(lines, n, words, argv, lens, cmds);
    return rds_pipeline(parts_cb, p, n, cmds);
}

static void control(const char *action)
{
    char line[64];

    printf("CONTROL %s\n", action);
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL)
        fail_msg("no answer from the driver for %s", action);
}

static int start_pg(int pool, int timeout_ms)
{
    const char *url = getenv("DATABASE_URL");
    int up;

    if (url == NULL)
        return -1;
    if (pg_init(base, url, pool, timeout_ms) != 0)
        return -1;
    up = 0;
    for (double t = now_s() + 5; !up && now_s() < t;) {
        run_for(0.02);
        up = pg_is_up();
    }
    return up ? 0 : -1;
}

static int start_rds_url(const char *url, int timeout_ms)
{
    int up = 0;

    if (url == NULL)
        return -1;
    if (rds_init(base, url, timeout_ms) != 0)
        return -1;
    for (double t = now_s() + 5; !up && now_s() < t;) {
        run_for(0.02);
        up = rds_is_up();
    }
    return up ? 0 : -1;
}

static int start_rds(int timeout_ms)
{
    return start_rds_url(getenv("REDIS_URL"), timeout_ms);
}

static int teardown(void **state)
{
    (void)state;
    pg_shutdown();
    rds_shutdown();
    return 0;
}

/* --- no services needed --- */

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(pg_init(base, "host=127.0.0.1 nosuchkeyword=1", 1, 100), -1);
    assert_int_equal(pg_init(base, "postgresql://127.0.0.1/x", 0, 100), -1);
    assert_int_equal(pg_init(base, "postgresql://127.0.0.1/x", 1, 0), -1);
    assert_int_equal(pg_query("SELECT 1", 0, NULL, pg_cb, NULL), -1); /* not started */
    assert_int_equal(rds_init(base, "http://127.0.0.1:6379/0", 100), -1);
    assert_int_equal(rds_init(base, "redis://127.0.0.1:99999/0", 100), -1);
    assert_int_equal(rds_init(base, "redis://127.0.0.1:6379/x", 100), -1);
    assert_int_equal(rds_init(base, "redis://:6379/0", 100), -1);
    assert_int_equal(rds_init(base, "redis://u@127.0.0.1/0", 100), -1);
    assert_int_equal(rds_command(rds_cb, NULL, "PING"), -1); /* not started */
    assert_int_equal(rds_subscribe("x", NULL, NULL), -1);
}

/* Postgres not listening: queries fail fast, and retrying does not spin the CPU. */
static void test_pg_closed_port(void **state)
{
    struct answer a = {0};
    clock_t c0;
    double t0, cpu;

    (void)state;
    assert_int_equal(pg_init(base, "postgresql://postgres@127.0.0.1:1/x", 2, 2000), 0);
    run_for(0.3);
    assert_int_equal(pg_is_up(), 0);
    t0 = now_s();
    assert_int_equal(pg_query("SELECT 1", 0, NULL, pg_cb, &a), 0);
    a.calls_seen_at_return = a.called;
    assert_int_equal(a.calls_seen_at_return, 0); /* never inside pg_query() */
    assert_true(run_until(&a.called, 3));
    assert_string_equal(a.err, "postgres unavailable");
    assert_true(a.at - t0 < 0.2);
    c0 = clock();
    run_for(1.0);
    cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    assert_true(cpu < 0.2);
    pg_shutdown();
}

static void test_rds_closed_port(void **state)
{
    struct answer a = {0};
    clock_t c0;
    double t0, cpu;

    (void)state;
    assert_int_equal(rds_init(base, "redis://127.0.0.1:1/0", 2000), 0);
    run_for(0.3);
    assert_int_equal(rds_is_up(), 0);
    t0 = now_s();
    assert_int_equal(rds_command(rds_cb, &a, "PING"), 0);
    assert_int_equal(a.called, 0);
    assert_true(run_until(&a.called, 3));
    assert_string_equal(a.err, "redis unavailable");
    assert_true(a.at - t0 < 0.2);
    {
        /* A write nobody waits for is refused while Redis is down. */
        const char *set[3] = {"SET", "hisaab:test", "1"};
        size_t len[3] = {3, 11, 1};
        assert_int_equal(rds_send_argv(3, set, len), -1);
    }
    {
        /* A pipeline fails the same way, every part of it, in order. */
        static const char *const two[] = {"PING", "GET hisaab:test"};
        struct parts p;
        assert_int_equal(send_pipeline(&p, two, 2), 0);
        assert_int_equal(p.calls, 0);
        assert_true(run_until(&p.done, 3));
        assert_true(p.order_ok);
        assert_string_equal(p.part[0].err, "redis unavailable");
        assert_string_equal(p.part[1].err, "redis unavailable");
    }
    c0 = clock();
    run_for(1.0);
    cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    assert_true(cpu < 0.2);
    rds_shutdown();
}

/* Where Redis is: the URL's parts and defaults, the sentinel list, what is refused. */
static void test_rds_url(void **state)
{
    static const char *const bad[] = {
        "http://h:1/0",  "redis://",          "redis://:6379/0",   "redis://u@h/0",
        "redis://h:0/0", "redis://h:65536/0", "redis://h:12x/0",   "redis://h:/0",
        "redis://h/x",   "redis://h/-1",      "redis://h/1000001", "redis://h:99999999/0",
    };
    struct rds_server s[RDS_MAX_SENTINELS + 1];
    struct rds_url u;
    size_t i;

    (void)state;
    assert_int_equal(rds_url_parse("redis://cache.local", &u), 0);
    assert_string_equal(u.server.host, "cache.local");
    assert_int_equal(u.server.port, 6379);
    assert_int_equal(u.db, 0);
    assert_null(u.user);
    assert_null(u.password);
    assert_int_equal(rds_url_parse("redis://ops:s3:cr@t@10.0.0.2:6390/7", &u), 0);
    assert_string_equal(u.user, "ops");
    assert_string_equal(u.password, "s3:cr@t");
    assert_string_equal(u.server.host, "10.0.0.2");
    assert_int_equal(u.server.port, 6390);
    assert_int_equal(u.db, 7);
    rds_url_free(&u);
    assert_int_equal(rds_url_parse("redis://:pw@h/", &u), 0);
    assert_null(u.user);
    assert_string_equal(u.password, "pw");
    assert_int_equal(u.db, 0);
    rds_url_free(&u);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (rds_url_parse(bad[i], &u) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_null(u.user);
        assert_null(u.password);
    }
    assert_int_equal(rds_sentinels_parse("a:26379", s, RDS_MAX_SENTINELS), 1);
    assert_int_equal(rds_sentinels_parse("a:1,b.local:26380,10.0.0.3:65535", s, RDS_MAX_SENTINELS),
                     3);
    assert_string_equal(s[1].host, "b.local");
    assert_int_equal(s[1].port, 26380);
    assert_int_equal(s[2].port, 65535);
    assert_int_equal(rds_sentinels_parse("", s, RDS_MAX_SENTINELS), -1);
    assert_int_equal(rds_sentinels_parse("a", s, RDS_MAX_SENTINELS), -1);
    assert_int_equal(rds_sentinels_parse("a:1,", s, RDS_MAX_SENTINELS), -1);
    assert_int_equal(rds_sentinels_parse(":1", s, RDS_MAX_SENTINELS), -1);
    assert_int_equal(rds_sentinels_parse("a:0", s, RDS_MAX_SENTINELS), -1);
    assert_int_equal(rds_sentinels_parse("a:1,b:2,c:3", s, 2), -1);
}

/* --- Postgres --- */

static void test_pg_params(void **state)
{
    const char *params[3] = {"2", "40", NULL};
    struct answer a = {0}, b = {0};

    (void)state;
    if (getenv("DATABASE_URL") == NULL)
        skip();
    assert_int_equal(start_pg(2, 1000), 0);
    assert_int_equal(pg_query("SELECT ($1::int + $2::int)::text || ($3::text IS NULL)::text", 3,
                              params, pg_cb, &a),
                     0);
    assert_int_equal(a.called, 0);
    assert_true(run_until(&a.called, 3));
    assert_int_equal(a.called, 1);
    assert_true(a.ok);
    assert_string_equal(a.val, "42true");
    /* Parameters are data, never SQL. */
    params[0] = "1; DROP TABLE etl_runs";
    assert_int_equal(pg_query("SELECT length($1)", 1, params, pg_cb, &b), 0);
    assert_true(run_until(&b.called, 3));
    assert_string_equal(b.val, "22");
}

static void test_pg_syntax_error(void **state)
{
    struct answer a = {0}, b = {0};

    (void)state;
    if (getenv("DATABASE_URL") == NULL)
        skip();
    assert_int_equal(start_pg(1, 1000), 0);
    assert_int_equal(pg_query("SELEC 1", 0, NULL, pg_cb, &a), 0);
    assert_true(run_until(&a.called, 3));
    assert_false(a.ok);
    assert_non_null(strstr(a.err, "syntax error"));
    assert_string_equal(a.sqlstate, "42601");
    /* The connection is still usable. */
    assert_int_equal(pg_query("SELECT 7", 0, NULL, pg_cb, &b), 0);
    assert_true(run_until(&b.called, 3));
    assert_string_equal(b.val, "7");
    assert_string_equal(b.sqlstate, "");
    assert_null(pg_last_sqlstate()); /* outside a callback */
}

static void test_pg_timeout(void **state)
{
    struct answer a = {0}, b = {0};
    double t0;

    (void)state;
    if (getenv("DATABASE_URL") == NULL)
        skip();
    assert_int_equal(start_pg(1, 300), 0);
    t0 = now_s();
    assert_int_equal(pg_query("SELECT pg_sleep(5)", 0, NULL, pg_cb, &a), 0);
    assert_true(run_until(&a.called, 3));
    assert_string_equal(a.err, "timeout");
    assert_string_equal(a.sqlstate, ""); /* not the server's answer */
    assert_true(a.at - t0 >= 0.25);
    assert_true(a.at - t0 < 1.0);
    assert_int_equal(pg_query("SELECT 'after'", 0, NULL, pg_cb, &b), 0);
    assert_true(run_until(&b.called, 3));
    assert_string_equal(b.err, "");
    assert_string_equal(b.val, "after");
    /* Nothing more arrives for the timed-out query. */
    run_for(0.3);
    assert_int_equal(a.called, 1);
}

#define OVER 10

static void test_pg_queue_overflow(void **state)
{
    static struct answer a[PG_QUEUE_MAX + 2 + OVER];
    int n = PG_QUEUE_MAX + 2 + OVER;
    int i, done, full = 0, ok = 0, timeout = 0, called_early = 0;

    (void)state;
    if (getenv("DATABASE_URL") == NULL)
        skip();
    memset(a, 0, sizeof(a));
    assert_int_equal(start_pg(2, 5000), 0);
    run_for(0.3); /* both connections up */
    for (i = 0; i < n; i++) {
        assert_int_equal(pg_query("SELECT 1", 0, NULL, pg_cb, &a[i]), 0);
        called_early += a[i].called;
    }
    assert_int_equal(called_early, 0);
    for (double t = now_s() + 10;;) {
        done = 0;
        for (i = 0; i < n; i++)
            done += a[i].called == 1;
        if (done == n || now_s() > t)
            break;
        run_for(0.02);
    }
    assert_int_equal(done, n);
    for (i = 0; i < n; i++) {
        if (strcmp(a[i].err, "queue full") == 0)
            full++;
        else if (strcmp(a[i].err, "timeout") == 0)
            timeout++;
        else if (a[i].ok && strcmp(a[i].val, "1") == 0)
            ok++;
    }
    /* Two went straight to the two connections, PG_QUEUE_MAX waited, the rest failed. */
    assert_int_equal(full, OVER);
    assert_int_equal(ok + timeout, n - OVER);
    assert_true(ok > 0);
}

static void test_pg_shutdown_pending(void **state)
{
    struct answer a = {0}, b = {0};

    (void)state;
    if (getenv("DATABASE_URL") == NULL)
        skip();
    assert_int_equal(start_pg(1, 3000), 0);
    assert_int_equal(pg_query("SELECT pg_sleep(2)", 0, NULL, pg_cb, &a), 0);
    assert_int_equal(pg_query("SELECT 1", 0, NULL, pg_cb, &b), 0); /* queued */
    run_for(0.1);
    pg_shutdown();
    assert_int_equal(a.called, 1);
    assert_int_equal(b.called, 1);
    assert_string_equal(a.err, "shutdown");
    assert_string_equal(b.err, "shutdown");
    assert_int_equal(pg_query("SELECT 1", 0, NULL, pg_cb, &b), -1);
}

static void test_pg_down_and_back(void **state)
{
    struct answer a = {0};
    double t0;
    int ok = 0;

    (void)state;
    if (getenv("DATABASE_URL") == NULL || getenv("HISAAB_BACKENDS_CONTROL") == NULL)
        skip();
    assert_int_equal(start_pg(2, 2000), 0);
    control("pg-stop");
    /* The pool notices the closed connections; a query now fails without waiting 2 s. */
    run_for(1.0);
    assert_int_equal(pg_is_up(), 0);
    t0 = now_s();
    assert_int_equal(pg_query("SELECT 1", 0, NULL, pg_cb, &a), 0);
    assert_true(run_until(&a.called, 3));
    assert_false(a.ok);
    assert_true(a.at - t0 < 0.2);
    control("pg-start");
    for (double t = now_s() + 15; !ok && now_s() < t;) {
        struct answer b = {0};
        assert_int_equal(pg_query("SELECT 'back'", 0, NULL, pg_cb, &b), 0);
        assert_true(run_until(&b.called, 3));
        ok = b.ok && strcmp(b.val, "back") == 0;
        if (!ok)
            run_for(0.2);
    }
    assert_true(ok);
    assert_int_equal(pg_is_up(), 1);
}

/* A callback may query again, and may shut the pool down. */
struct chain {
    int left;
    int calls;
    int shutdown_at;
    struct answer other;
};

static void chain_cb(void *arg, const PGresult *res, const char *err)
{
    struct chain *ch = arg;

    (void)err;
    ch->calls++;
    if (res == NULL)
        return;
    if (ch->calls == ch->shutdown_at) {
        pg_shutdown();
        return;
    }
    if (--ch->left > 0 && pg_query("SELECT 1", 0, NULL, chain_cb, ch) != 0)
        ch->left = -100;
}

static void test_pg_callback_reentry(void **state)
{
    struct chain ch = {5, 0, 0, {0}};
    int five = 5, done = 0;

    (void)state;
    if (getenv("DATABASE_URL") == NULL)
        skip();
    assert_int_equal(start_pg(1, 1000), 0);
    assert_int_equal(pg_query("SELECT 1", 0, NULL, chain_cb, &ch), 0);
    for (double t = now_s() + 5; ch.calls < five && now_s() < t;)
        run_for(0.02);
    assert_int_equal(ch.calls, 5);
    assert_int_equal(ch.left, 0);
    /* Shut down from inside a callback while another query waits in the queue. */
    ch.left = 100;
    ch.calls = 0;
    ch.shutdown_at = 1;
    assert_int_equal(pg_query("SELECT 1", 0, NULL, chain_cb, &ch), 0);
    assert_int_equal(pg_query("SELECT pg_sleep(0.2)", 0, NULL, pg_cb, &ch.other), 0);
    done = run_until(&ch.other.called, 3);
    assert_true(done);
    assert_int_equal(ch.calls, 1);
    assert_string_equal(ch.other.err, "shutdown");
    assert_int_equal(pg_is_up(), 0);
    run_for(0.3);
}

/* --- Redis --- */

static void test_rds_commands(void **state)
{
    struct answer a = {0}, b = {0}, c = {0}, d = {0};
    const char bin[] = "a\0b";

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(start_rds(1000), 0);
    assert_int_equal(rds_command(rds_cb, &a, "PING"), 0);
    assert_int_equal(a.called, 0);
    assert_true(run_until(&a.called, 3));
    assert_string_equal(a.val, "PONG");
    assert_int_equal(rds_command(rds_cb, &b, "SET %s %b", "hisaab:test", bin, sizeof(bin)), 0);
    assert_true(run_until(&b.called, 3));
    assert_string_equal(b.val, "OK");
    assert_int_equal(rds_command(rds_cb, &c, "STRLEN %s", "hisaab:test"), 0);
    assert_true(run_until(&c.called, 3));
    assert_string_equal(c.val, "4");
    assert_int_equal(rds_command(rds_cb, &d, "NOSUCHCOMMAND"), 0);
    assert_true(run_until(&d.called, 3));
    assert_false(d.ok);
    assert_memory_equal(d.err, "ERR", 3);
}

/* A pipeline's parts come back in order, each with its own reply or error. */
static void test_rds_pipeline(void **state)
{
    static const char *const cmds[] = {"SET hisaab:test:p 41", "INCR hisaab:test:p",
                                       "NOSUCHCOMMAND", "GET hisaab:test:p",
                                       "GET hisaab:test:none"};
    static const struct rds_argv bad[1] = {{0, NULL, NULL}};
    struct parts p;

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(start_rds(1000), 0);
    assert_int_equal(send_pipeline(&p, cmds, 5), 0);
    assert_int_equal(p.calls, 0); /* never from inside rds_pipeline() */
    assert_true(run_until(&p.done, 3));
    run_for(0.1);
    assert_int_equal(p.calls, 5);
    assert_true(p.order_ok);
    assert_string_equal(p.part[0].val, "OK");
    assert_string_equal(p.part[1].val, "42");
    assert_false(p.part[2].ok);
    assert_memory_equal(p.part[2].err, "ERR", 3);
    assert_string_equal(p.part[3].val, "42");
    assert_true(p.part[4].ok);
    assert_string_equal(p.part[4].val, ""); /* nil */
    assert_string_equal(p.part[4].err, "");
    /* Invalid calls are refused at once and nothing is called. */
    assert_int_equal(rds_pipeline(parts_cb, &p, 0, bad), -1);
    assert_int_equal(rds_pipeline(parts_cb, &p, RDS_PIPELINE_MAX + 1, bad), -1);
    assert_int_equal(rds_pipeline(parts_cb, &p, 1, bad), -1);
    assert_int_equal(rds_pipeline(NULL, &p, 1, bad), -1);
}

/* A write nobody waits for, made before the connection is up (a worker's first
 * requests), is kept and written once it is, not dropped. */
static void test_rds_send_while_connecting(void **state)
{
    const char *set[3] = {"SET", "hisaab:test:early", "kept"};
    size_t len[3] = {3, 17, 4};
    struct answer a = {0};

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(rds_init(base, getenv("REDIS_URL"), 1000), 0);
    assert_int_equal(rds_is_up(), 0);
    assert_int_equal(rds_send_argv(3, set, len), 0);
    assert_true(run_until(&a.called, 0) == 0);
    assert_int_equal(rds_command(rds_cb, &a, "GET %s", "hisaab:test:early"), 0);
    assert_true(run_until(&a.called, 3));
    assert_string_equal(a.val, "kept");
}

/* The parts not answered within the timeout get "timeout" together; their late replies
 * are dropped, and the connection goes on working. */
static void test_rds_pipeline_timeout(void **state)
{
    static const char *const cmds[] = {"PING", "BLPOP hisaab:test:empty 1", "PING"};
    static const char *const after[] = {"PING"};
    struct parts p, q;
    double t0;

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(start_rds(200), 0);
    t0 = now_s();
    assert_int_equal(send_pipeline(&p, cmds, 3), 0);
    assert_true(run_until(&p.done, 3));
    assert_true(p.order_ok);
    assert_string_equal(p.part[0].val, "PONG");
    assert_string_equal(p.part[1].err, "timeout");
    assert_string_equal(p.part[2].err, "timeout");
    assert_true(p.part[2].at - t0 >= 0.15);
    assert_true(p.part[2].at - t0 < 0.7);
    run_for(1.2);
    assert_int_equal(p.calls, 3);
    assert_int_equal(send_pipeline(&q, after, 1), 0);
    assert_true(run_until(&q.done, 3));
    assert_string_equal(q.part[0].val, "PONG");
}

/* rds_shutdown() answers every part still pending "shutdown", also when it is called from
 * inside a part's callback (under ASan this is where a freed record would show). */
static void test_rds_pipeline_shutdown(void **state)
{
    static const char *const blocked[] = {"BLPOP hisaab:test:empty 1", "PING"};
    static const char *const three[] = {"PING", "PING", "PING"};
    struct parts p, q;

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(start_rds(3000), 0);
    assert_int_equal(send_pipeline(&p, blocked, 2), 0);
    run_for(0.1);
    rds_shutdown();
    assert_int_equal(p.calls, 2);
    assert_true(p.order_ok);
    assert_string_equal(p.part[0].err, "shutdown");
    assert_string_equal(p.part[1].err, "shutdown");
    run_for(1.1);
    assert_int_equal(p.calls, 2);

    assert_int_equal(start_rds(3000), 0);
    assert_int_equal(send_pipeline(&q, three, 3), 0);
    q.shutdown_at = 0;
    assert_true(run_until(&q.done, 3));
    run_for(0.2);
    assert_int_equal(q.calls, 3);
    assert_true(q.order_ok);
    assert_string_equal(q.part[0].val, "PONG");
    assert_string_equal(q.part[1].err, "shutdown");
    assert_string_equal(q.part[2].err, "shutdown");
    assert_int_equal(rds_is_up(), 0);
}

static void test_rds_timeout(void **state)
{
    struct answer a = {0}, b = {0};
    double t0;

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(start_rds(200), 0);
    t0 = now_s();
    assert_int_equal(rds_command(rds_cb, &a, "BLPOP %s 1", "hisaab:test:empty"), 0);
    assert_true(run_until(&a.called, 3));
    assert_string_equal(a.err, "timeout");
    assert_true(a.at - t0 >= 0.15);
    assert_true(a.at - t0 < 0.7);
    /* The late reply (nil) arrives after ~1 s and must be dropped quietly. */
    run_for(1.2);
    assert_int_equal(a.called, 1);
    assert_int_equal(rds_command(rds_cb, &b, "PING"), 0);
    assert_true(run_until(&b.called, 3));
    assert_string_equal(b.val, "PONG");
}

static void test_rds_shutdown_pending(void **state)
{
    struct answer a = {0};

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(start_rds(3000), 0);
    assert_int_equal(rds_command(rds_cb, &a, "BLPOP %s 1", "hisaab:test:empty"), 0);
    run_for(0.1);
    rds_shutdown();
    assert_int_equal(a.called, 1);
    assert_string_equal(a.err, "shutdown");
    assert_int_equal(rds_command(rds_cb, &a, "PING"), -1);
    run_for(1.1); /* the server finishes blocking; nothing of ours is left to touch */
}

/* A connection stuck behind a long command is reopened, so later commands work. */
static void test_rds_hung_connection(void **state)
{
    struct answer a = {0}, b = {0};

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(start_rds(200), 0);
    assert_int_equal(rds_command(rds_cb, &a, "BLPOP %s 30", "hisaab:test:empty"), 0);
    assert_true(run_until(&a.called, 3));
    assert_string_equal(a.err, "timeout");
    /* The watchdog gives up after max(10 x timeout, 5 s) and reconnects. */
    run_for(6.0);
    assert_int_equal(a.called, 1);
    assert_int_equal(rds_command(rds_cb, &b, "PING"), 0);
    assert_true(run_until(&b.called, 3));
    assert_string_equal(b.err, "");
    assert_string_equal(b.val, "PONG");
}

/* "redis://user:pass@host:port/db" authenticates and selects the database. */
static void test_rds_auth_and_db(void **state)
{
    const char *url = getenv("REDIS_URL");
    char authed[512], bad[512];
    const char *hostport;
    size_t n;
    struct answer a = {0}, b = {0}, c = {0}, d = {0};

    (void)state;
    if (url == NULL)
        skip();
    /* url is redis://HOST:PORT/0 */
    hostport = url + strlen("redis://");
    n = strcspn(hostport, "/");
    snprintf(authed, sizeof(authed), "redis://hisaabtest:s3cret@%.*s/3", (int)n, hostport);
    snprintf(bad, sizeof(bad), "redis://hisaabtest:wrong@%.*s/3", (int)n, hostport);
    assert_int_equal(start_rds(1000), 0);
    assert_int_equal(rds_command(rds_cb, &a, "ACL SETUSER hisaabtest on >s3cret ~* &* +@all"), 0);
    assert_true(run_until(&a.called, 3));
    assert_string_equal(a.val, "OK");
    rds_shutdown();

    assert_int_equal(start_rds_url(authed, 1000), 0);
    assert_int_equal(rds_command(rds_cb, &b, "CLIENT INFO"), 0);
    assert_true(run_until(&b.called, 3));
    assert_non_null(strstr(b.val, " db=3 "));
    assert_non_null(strstr(b.val, " user=hisaabtest "));
    rds_shutdown();

    /* A refused password: not up, and commands fail fast. */
    assert_int_equal(rds_init(base, bad, 1000), 0);
    run_for(0.5);
    assert_int_equal(rds_is_up(), 0);
    assert_int_equal(rds_command(rds_cb, &c, "PING"), 0);
    assert_true(run_until(&c.called, 1));
    assert_false(c.ok);
    rds_shutdown();

    assert_int_equal(start_rds(1000), 0);
    assert_int_equal(rds_command(rds_cb, &d, "ACL DELUSER hisaabtest"), 0);
    assert_true(run_until(&d.called, 3));
    assert_string_equal(d.val, "1");
}

struct rds_chain {
    int calls;
    struct answer other;
};

static void rds_shutdown_cb(void *arg, const redisReply *reply, const char *err)
{
    struct rds_chain *ch = arg;

    (void)reply;
    (void)err;
    ch->calls++;
    rds_shutdown();
}

static void test_rds_shutdown_in_callback(void **state)
{
    struct rds_chain ch = {0, {0}};

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(start_rds(1000), 0);
    assert_int_equal(rds_command(rds_shutdown_cb, &ch, "PING"), 0);
    assert_int_equal(rds_command(rds_cb, &ch.other, "BLPOP %s 1", "hisaab:test:empty"), 0);
    assert_true(run_until(&ch.other.called, 3));
    assert_int_equal(ch.calls, 1);
    assert_string_equal(ch.other.err, "shutdown");
    assert_int_equal(rds_is_up(), 0);
    run_for(0.3);
}

struct inbox {
    int got;
    char msg[128];
};

static void on_message(void *arg, const char *msg, size_t len)
{
    struct inbox *in = arg;

    in->got++;
    snprintf(in->msg, sizeof(in->msg), "%.*s", (int)len, msg);
}

/* Publish `text` every 100 ms until the subscriber has it (bounded). */
static int publish_until_received(struct inbox *in, const char *text, double seconds)
{
    for (double t = now_s() + seconds; now_s() < t;) {
        struct answer p = {0};
        in->got = 0;
        if (rds_command(rds_cb, &p, "PUBLISH %s %s", "hisaab:test:chan", text) != 0)
            return 0;
        run_until(&p.called, 2);
        run_for(0.1);
        if (in->got > 0 && strcmp(in->msg, text) == 0)
            return 1;
    }
    return 0;
}

static void test_rds_subscribe(void **state)
{
    struct inbox in = {0};

    (void)state;
    if (getenv("REDIS_URL") == NULL)
        skip();
    assert_int_equal(start_rds(1000), 0);
    assert_int_equal(rds_subscribe("hisaab:test:chan", on_message, &in), 0);
    assert_int_equal(rds_subscribe("", on_message, &in), -1);
    assert_true(publish_until_received(&in, "version 42", 5));
}

static void test_rds_down_and_back(void **state)
{
    struct answer a = {0};
    struct inbox in = {0};
    double t0;
    int ok = 0;

    (void)state;
    if (getenv("REDIS_URL") == NULL || getenv("HISAAB_BACKENDS_CONTROL") == NULL)
        skip();
    assert_int_equal(start_rds(2000), 0);
    assert_int_equal(rds_subscribe("hisaab:test:chan", on_message, &in), 0);
    assert_true(publish_until_received(&in, "before", 5));
    control("redis-stop");
    run_for(1.0);
    assert_int_equal(rds_is_up(), 0);
    t0 = now_s();
    assert_int_equal(rds_command(rds_cb, &a, "PING"), 0);
    assert_true(run_until(&a.called, 3));
    assert_false(a.ok);
    assert_string_equal(a.err, "redis unavailable");
    assert_true(a.at - t0 < 0.2);
    control("redis-start");
    for (double t = now_s() + 15; !ok && now_s() < t;) {
        struct answer b = {0};
        assert_int_equal(rds_command(rds_cb, &b, "PING"), 0);
        assert_true(run_until(&b.called, 3));
        ok = b.ok;
        if (!ok)
            run_for(0.2);
    }
    assert_true(ok);
    /* The subscriber came back too and re-subscribed. */
    assert_true(publish_until_received(&in, "after", 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_bad_arguments, teardown),
        cmocka_unit_test(test_rds_url),
        cmocka_unit_test_teardown(test_pg_closed_port, teardown),
        cmocka_unit_test_teardown(test_rds_closed_port, teardown),
        cmocka_unit_test_teardown(test_pg_params, teardown),
        cmocka_unit_test_teardown(test_pg_syntax_error, teardown),
        cmocka_unit_test_teardown(test_pg_timeout, teardown),
        cmocka_unit_test_teardown(test_pg_queue_overflow, teardown),
        cmocka_unit_test_teardown(test_pg_shutdown_pending, teardown),
        cmocka_unit_test_teardown(test_pg_callback_reentry, teardown),
        cmocka_unit_test_teardown(test_pg_down_and_back, teardown),
        cmocka_unit_test_teardown(test_rds_commands, teardown),
        cmocka_unit_test_teardown(test_rds_pipeline, teardown),
        cmocka_unit_test_teardown(test_rds_pipeline_timeout, teardown),
        cmocka_unit_test_teardown(test_rds_send_while_connecting, teardown),
        cmocka_unit_test_teardown(test_rds_pipeline_shutdown, teardown),
        cmocka_unit_test_teardown(test_rds_timeout, teardown),
        cmocka_unit_test_teardown(test_rds_shutdown_pending, teardown),
        cmocka_unit_test_teardown(test_rds_hung_connection, teardown),
        cmocka_unit_test_teardown(test_rds_auth_and_db, teardown),
        cmocka_unit_test_teardown(test_rds_shutdown_in_callback, teardown),
        cmocka_unit_test_teardown(test_rds_subscribe, teardown),
        cmocka_unit_test_teardown(test_rds_down_and_back, teardown),
    };
    int rc;

    if (getenv("DATABASE_URL") == NULL || getenv("REDIS_URL") == NULL)
        printf("test_backends: DATABASE_URL/REDIS_URL not set; service tests are skipped "
               "(tests/blackbox/test_backends.py runs them)\n");
    base = event_base_new();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    event_base_free(base);
    return rc;
}
