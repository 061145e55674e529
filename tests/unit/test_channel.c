/*
 * Unit tests for the channel core without Redis: the shared limiter's verdicts and its
 * per-worker windows, the gate's local answers (dedupe, limit, no memory), what the gate
 * reads of a caller's memory, and a turn's references and deadline on a real loop.
 *
 * With DATABASE_URL and REDIS_URL (a migrated database; tests/blackbox/test_records.py
 * runs this binary so), also caller memory end to end: remembered through Redis and the
 * journal, recalled from Redis, and from Postgres once Redis has lost it.
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
#include <unistd.h>

#include <event2/event.h>

#include "backend/pg.h"
#include "backend/rds.h"
#include "data/journal.h"

static struct event_base *base;

#include "loop.h"

#include "channel/gate.h"
#include "channel/limit.h"
#include "channel/memory.h"
#include "channel/turn.h"

static void test_judge(void **state)
{
    struct limit_policy p = {3, 60};
    struct limit_verdict v;

    (void)state;
    limit_judge(&p, 3, 42, 0, &v);
    assert_false(v.over);
    assert_int_equal(v.remaining, 0);
    assert_int_equal(v.reset_s, 42);
    limit_judge(&p, 4, 0, 1, &v);
    assert_true(v.over);
    assert_int_equal(v.remaining, 0);
    assert_int_equal(v.reset_s, 1); /* never 0 */
    assert_true(v.local);
    p.limit = 0;
    limit_judge(&p, 1000, 5, 0, &v);
    assert_false(v.over); /* 0 = unlimited */
}

static void test_local_windows(void **state)
{
    long long ttl = 0;
    char id[32];
    int i;

    (void)state;
    assert_int_equal(limit_local("sms:aaaa", 60, &ttl), 1);
    assert_true(ttl > 0 && ttl <= 60);
    assert_int_equal(limit_local("sms:aaaa", 60, &ttl), 2);
    assert_int_equal(limit_local("sms:bbbb", 60, &ttl), 1);
    assert_int_equal(limit_local("sms:aaaa", 60, &ttl), 3);
    /* Many callers: bounded memory, every count at least 1. */
    for (i = 0; i < 3 * LIMIT_LOCAL_SLOTS; i++) {
        snprintf(id, sizeof(id), "api:ip:10.%d.%d", i / 256, i % 256);
        assert_true(limit_local(id, 60, &ttl) >= 1);
    }
    limit_exit();
    assert_int_equal(limit_local("sms:aaaa", 60, &ttl), 1);
}

struct got {
    int calls;
    struct gate_result r;
};

static void gate_cb(void *arg, const struct gate_result *r)
{
    struct got *g = arg;

    g->calls++;
    g->r = *r;
}

static void test_gate_local(void **state)
{
    base = event_base_new();
    struct gate_request q;
    struct got g;
    int i;

    (void)state;
    assert_int_equal(gate_init(base), 0);
    memset(&q, 0, sizeof(q));
    q.channel = "sms";
    q.gateway = "kannel";
    q.hash = "ab12";
    q.limit.limit = 2;
    q.limit.window_s = 3600;
    q.wait_ms = 100;
    /* Redis is not started: the worker answers at once. */
    for (i = 1; i <= 3; i++) {
        char id[16];

        snprintf(id, sizeof(id), "m%d", i);
        q.id = id;
        memset(&g, 0, sizeof(g));
        assert_int_equal(gate_pass(&q, gate_cb, &g), 0);
        assert_int_equal(g.calls, 1);
        assert_true(g.r.local);
        assert_false(g.r.duplicate);
        assert_int_equal(g.r.limit.count, i);
        assert_int_equal(g.r.limit.over, i > 2);
        assert_false(g.r.memory.has_lang);
    }
    /* A retry of m2 is a duplicate, and is not counted. */
    q.id = "m2";
    memset(&g, 0, sizeof(g));
    assert_int_equal(gate_pass(&q, gate_cb, &g), 0);
    assert_true(g.r.duplicate);
    /* The same id from another gateway is another message. */
    q.gateway = "twilio";
    memset(&g, 0, sizeof(g));
    assert_int_equal(gate_pass(&q, gate_cb, &g), 0);
    assert_false(g.r.duplicate);
    /* No id: never a duplicate. */
    q.id = NULL;
    memset(&g, 0, sizeof(g));
    assert_int_equal(gate_pass(&q, gate_cb, &g), 0);
    assert_int_equal(gate_pass(&q, gate_cb, &g), 0);
    assert_false(g.r.duplicate);
    gate_exit();
    assert_int_equal(gate_pass(&q, gate_cb, &g), -1);
    limit_exit();
    event_base_free(base);
}

static void test_memory_parse(void **state)
{
    struct memory m;

    (void)state;
    memory_parse("hi", "17:1752", &m);
    assert_true(m.has_lang && m.lang == I18N_HI);
    assert_true(m.has_district && m.state_code == 17 && m.district_code == 1752);
    memory_parse("", "", &m);
    assert_false(m.has_lang || m.has_district);
    memory_parse("fr", "17:", &m);
    assert_false(m.has_lang || m.has_district);
    memory_parse(NULL, "x:1", &m);
    assert_false(m.has_district);
    memory_parse("EN", "17:1752:3", &m);
    assert_true(m.has_lang && m.lang == I18N_EN);
    assert_false(m.has_district);
}

struct conv {
    struct turn turn;
    int deadlines;
    int *freed;
};

static void conv_deadline(struct turn *t)
{
    struct conv *c = (struct conv *)t;

    c->deadlines++;
    (void)turn_take(t);
    turn_release(t); /* the reply's, as a channel does after answering */
}

static void conv_free(struct turn *t)
{
    struct conv *c = (struct conv *)t;

    (*c->freed)++;
}

static void test_turn(void **state)
{
    base = event_base_new();
    struct conv c;
    int freed = 0;
    struct http_request *fake = (struct http_request *)&c; /* never dereferenced */

    (void)state;
    /* Answered before the deadline: the deadline never runs; freed after the last release. */
    memset(&c, 0, sizeof(c));
    c.freed = &freed;
    turn_start(&c.turn, base, fake, 50, conv_deadline, conv_free);
    assert_int_equal(strlen(c.turn.at), 24); /* "2026-12-01 21:07:34.123Z" */
    turn_hold(&c.turn);
    assert_ptr_equal(turn_take(&c.turn), fake);
    assert_null(turn_take(&c.turn));
    turn_release(&c.turn); /* the reply's */
    assert_int_equal(freed, 0);
    turn_release(&c.turn); /* the backend call's */
    assert_int_equal(freed, 1);
    event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(c.deadlines, 0);
    /* Not answered in time: the deadline runs once and the turn is freed. */
    memset(&c, 0, sizeof(c));
    c.freed = &freed;
    turn_start(&c.turn, base, fake, 20, conv_deadline, conv_free);
    event_base_dispatch(base);
    assert_int_equal(c.deadlines, 1);
    assert_int_equal(freed, 2);
    event_base_free(base);
}

struct recalled {
    int calls;
    struct memory m;
};

static void recall_cb(void *arg, const struct memory *m)
{
    struct recalled *r = arg;

    r->calls++;
    r->m = *m;
}

struct done_flag {
    int done;
    char fields[128]; /* the string elements of an array reply, blank-separated */
};

static void flag_cb(void *arg, const redisReply *reply, const char *err)
{
    struct done_flag *f = arg;
    size_t i, used = 0;

    (void)err;
    f->done = 1;
    for (i = 0; reply != NULL && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING)
            used += (size_t)snprintf(f->fields + used, sizeof(f->fields) - used, "%s%s",
                                     used > 0 ? " " : "", reply->element[i]->str);
}

static void test_memory_recall(void **state)
{
    const char *db = getenv("DATABASE_URL"), *redis = getenv("REDIS_URL");
    struct journal_opts jo;
    struct recalled r;
    struct done_flag f;
    char dir[] = "/tmp/hisaab-channel-XXXXXX", hash[40], key[80];
    int empty;

    (void)state;
    if (db == NULL || redis == NULL)
        skip();
    base = event_base_new();
    assert_non_null(mkdtemp(dir));
    assert_int_equal(pg_init(base, db, 2, 2000), 0);
    assert_int_equal(rds_init(base, redis, 2000), 0);
    assert_int_equal(memory_init(), 0);
    memset(&jo, 0, sizeof(jo));
    jo.spool_dir = dir;
    assert_int_equal(journal_init(base, &jo), 0);
    run_for(0.5); /* connect */
    snprintf(hash, sizeof(hash), "test-%ld", (long)getpid());
    assert_int_equal(memory_key(hash, key, sizeof(key)), 0);

    /* Remembered on one channel ... */
    assert_int_equal(memory_set_lang(hash, "2026-12-01 10:00:00.000Z", I18N_HI), 0);
    assert_int_equal(memory_set_district(hash, "2026-12-01 10:00:01.000Z", 17, 1752), 0);
    /* The journal lets a batch fill for up to JOURNAL_LINGER_MS first. */
    for (empty = 0; journal_queued() > 0 && empty < 100; empty++)
        run_for(0.05);
    assert_int_equal(journal_queued(), 0);
    /* ... recalled on another, from Redis. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(memory_recall(hash, recall_cb, &r), 0);
    run_until(&r.calls, 3);
    assert_int_equal(r.calls, 1);
    assert_true(r.m.has_lang && r.m.lang == I18N_HI);
    assert_true(r.m.has_district && r.m.state_code == 17 && r.m.district_code == 1752);
    /* Redis loses it (restarted empty): Postgres still knows, and Redis is refilled. */
    memset(&f, 0, sizeof(f));
    assert_int_equal(rds_command(flag_cb, &f, "DEL %s", key), 0);
    run_until(&f.done, 3);
    memset(&r, 0, sizeof(r));
    assert_int_equal(memory_recall(hash, recall_cb, &r), 0);
    run_until(&r.calls, 3);
    assert_int_equal(r.calls, 1);
    assert_true(r.m.has_lang && r.m.lang == I18N_HI);
    assert_true(r.m.has_district && r.m.district_code == 1752);
    memset(&f, 0, sizeof(f));
    assert_int_equal(rds_command(flag_cb, &f, "HMGET %s lang district", key), 0);
    run_until(&f.done, 3);
    assert_string_equal(f.fields, "hi 17:1752");
    /* A caller nobody knows: an empty memory, not an error. */
    memset(&r, 0, sizeof(r));
    assert_int_equal(memory_recall("nobody-at-all", recall_cb, &r), 0);
    run_until(&r.calls, 3);
    assert_int_equal(r.calls, 1);
    assert_false(r.m.has_lang || r.m.has_district);

    journal_exit(1000);
    rds_shutdown();
    pg_shutdown();
    event_base_free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),      cmocka_unit_test(test_local_windows),
        cmocka_unit_test(test_gate_local), cmocka_unit_test(test_memory_parse),
        cmocka_unit_test(test_turn),       cmocka_unit_test(test_memory_recall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
