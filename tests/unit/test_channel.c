/*
 * Unit tests for the channel core without Redis: the shared limiter's verdicts and its
 * per-worker windows, the gate's local answers (dedupe, limit, no memory), what the gate
 * reads of a caller's memory, and a turn's references and deadline on a real loop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <event2/event.h>

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
    struct event_base *base = event_base_new();
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
    struct event_base *base = event_base_new();
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),      cmocka_unit_test(test_local_windows),
        cmocka_unit_test(test_gate_local), cmocka_unit_test(test_memory_parse),
        cmocka_unit_test(test_turn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
