/*
 * Tests for store.c and api_health.c against a real Postgres and Redis (DATABASE_URL and
 * REDIS_URL with sql/001_schema.sql applied; skipped without them; run by
 * tests/blackbox/test_backends.py). The HTTP layer is replaced by a fake that records the
 * reply, so the handlers are exercised exactly as the runtime calls them. Outages are
 * simulated by pointing a backend at a closed port (127.0.0.1:1).
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
#include <jansson.h>

#include "api/api_health.h"
#include "api/api_ops.h"
#include "net/config.h"
#include "net/http.h"
#include "backend/pg.h"
#include "backend/rds.h"

static struct event_base *base;

#include "loop.h"

/* --- a fake HTTP layer --- */

struct http_request {
    int replies;
    int status;
    json_t *doc;
    char cache_control[32];
};

void http_add_header(struct http_request *req, const char *name, const char *value)
{
    if (strcmp(name, "Cache-Control") == 0)
        snprintf(req->cache_control, sizeof(req->cache_control), "%s", value);
}

void http_reply_json(struct http_request *req, int status, json_t *doc)
{
    req->replies++;
    req->status = status;
    json_decref(req->doc);
    req->doc = doc;
}

void http_reply_error(struct http_request *req, int status, const char *code, const char *message)
{
    http_reply_json(req, status,
                    json_pack("{s:s, s:{s:s, s:s}}", "status", "error", "error", "code", code,
                              "message", message));
}

/* The master is not under test here: /ready only asks whether the worker is stopping. */
static int draining;

int master_draining(void)
{
    return draining;
}

/* The metrics modules are not under test here: the /metrics handler only needs these
 * (api_ops.h renders the exposition once the ETL gauges are set). */
static int etl_gauges_set;

void metrics_set_etl(int64_t last_run_unix, int last_status_ok, uint64_t rows_loaded_total,
                     uint64_t failures_total)
{
    (void)last_run_unix;
    (void)last_status_ok;
    (void)rows_loaded_total;
    (void)failures_total;
    etl_gauges_set++;
}

void api_ops_init(const struct config *cfg)
{
    (void)cfg;
}

void api_ops_metrics(struct http_request *req)
{
    http_reply_json(req, 200, json_pack("{s:i}", "etl_gauges_set", etl_gauges_set));
}

struct sql_done {
    int called;
    int ok;
    char err[256];
};

static void sql_cb(void *arg, const PGresult *res, const char *err)
{
    struct sql_done *d = arg;

    d->called = 1;
    d->ok = res != NULL;
    if (err != NULL)
        snprintf(d->err, sizeof(d->err), "%s", err);
}

/* Run one statement through pg and wait for it. */
static void sql(const char *text)
{
    struct sql_done d = {0};

    assert_int_equal(pg_query(text, 0, NULL, sql_cb, &d), 0);
    assert_true(run_until(&d.called, 5));
    if (!d.ok)
        fail_msg("%s: %s", text, d.err);
}

static struct config cfg;

static int start(const char *db, const char *redis)
{
    memset(&cfg, 0, sizeof(cfg));
    cfg.database_url = (char *)db;
    cfg.redis_url = (char *)redis;
    cfg.backend_timeout_ms = 1000;
    cfg.max_data_age_hours = 24;
    api_health_init(&cfg);
    if (pg_init(base, db, 4, cfg.backend_timeout_ms) != 0)
        return -1;
    if (redis != NULL && rds_init(base, redis, cfg.backend_timeout_ms) != 0) {
        pg_shutdown();
        return -1;
    }
    run_for(0.3); /* connect (or find the port closed) */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rds_shutdown();
    pg_shutdown();
    return 0;
}

static int have_services(void)
{
    return getenv("DATABASE_URL") != NULL && getenv("REDIS_URL") != NULL;
}

/* Call a handler and wait for its one reply. */
static void call(void (*handler)(struct http_request *), struct http_request *req)
{
    memset(req, 0, sizeof(*req));
    handler(req);
    assert_true(run_until(&req->replies, 5));
    run_for(0.05);
    assert_int_equal(req->replies, 1);
    assert_non_null(req->doc);
}

static const char *str_at(json_t *doc, const char *path)
{
    json_t *v = json_object_get(doc, path);

    return json_is_string(v) ? json_string_value(v) : "";
}

static void assert_timestamp(json_t *doc)
{
    const char *ts = str_at(doc, "timestamp");

    assert_int_equal(strlen(ts), 20);
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[19], 'Z');
}

static void reset_data(void)
{
    sql("TRUNCATE monthly_figures, districts, states, etl_runs CASCADE");
    sql("UPDATE data_version SET version = 0, updated_at = NULL");
}

/* A bad Redis URL stops the start (the app then stops Postgres too). */
static void test_init_requires_database(void **state)
{
    (void)state;
    assert_int_equal(start("postgresql://127.0.0.1:1/x", "http://nope"), -1);
    assert_int_equal(pg_is_up(), 0); /* the pool was not left running */
}

/* Both backends unreachable: "down" with 503, without waiting for the timeout. */
static void test_health_down(void **state)
{
    struct http_request req;
    double t0;

    (void)state;
    assert_int_equal(start("postgresql://postgres@127.0.0.1:1/x", "redis://127.0.0.1:1/0"), 0);
    t0 = now_s();
    call(api_health, &req);
    assert_true(now_s() - t0 < 0.5);
    assert_int_equal(req.status, 503);
    assert_string_equal(str_at(req.doc, "status"), "down");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(req.doc, "checks"), "postgres"), "status")),
        "down");
    assert_true(json_is_false(json_object_get(json_object_get(req.doc, "data"), "loaded")));
    assert_true(json_is_null(json_object_get(json_object_get(req.doc, "data"), "age_seconds")));
    assert_timestamp(req.doc);
    json_decref(req.doc);
    call(api_etl_status, &req);
    assert_int_equal(req.status, 503);
    assert_string_equal(str_at(req.doc, "status"), "error");
    json_decref(req.doc);
}

static void test_health_no_data_and_fresh_data(void **state)
{
    struct http_request req;
    json_t *data, *checks;

    (void)state;
    if (!have_services())
        skip();
    assert_int_equal(start(getenv("DATABASE_URL"), getenv("REDIS_URL")), 0);
    reset_data();
    call(api_health, &req);
    assert_int_equal(req.status, 200);
    assert_string_equal(str_at(req.doc, "status"), "degraded");
    assert_string_equal(req.cache_control, "no-store");
    data = json_object_get(req.doc, "data");
    assert_true(json_is_false(json_object_get(data, "loaded")));
    assert_true(json_is_null(json_object_get(data, "age_seconds")));
    assert_int_equal(json_integer_value(json_object_get(data, "max_age_seconds")), 24 * 3600);
    assert_int_equal(json_integer_value(json_object_get(data, "version")), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(req.doc, "reasons"), 0)),
                        "no_data");
    checks = json_object_get(req.doc, "checks");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(checks, "postgres"), "status")), "up");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(checks, "redis"), "status")), "up");
    assert_true(json_is_number(json_object_get(json_object_get(checks, "redis"), "latency_ms")));
    json_decref(req.doc);

    /* Load one row, as an ETL run would. */
    sql("INSERT INTO etl_runs (id, finished_at, status, source, format, records_read,"
        " rows_changed, states_ok, data_version)"
        " VALUES (1, now() - interval '10 minutes', 'ok', 'sample.csv', 'csv', 1, 1, '{17}', 5)");
    sql("INSERT INTO states (state_code, name_en) VALUES (17, 'Madhya Pradesh')");
    sql("INSERT INTO districts (state_code, district_code, name_en, name_source)"
        " VALUES (17, 1752, 'Niwari', 'NIWARI')");
    sql("INSERT INTO monthly_figures (state_code, district_code, fin_year, month, fy_month,"
        " source_run_id, source_record, loaded_at)"
        " VALUES (17, 1752, '2024-2025', 4, 1, 1, 1, now() - interval '1 hour')");
    sql("UPDATE data_version SET version = 5, updated_at = now()");
    call(api_health, &req);
    assert_int_equal(req.status, 200);
    assert_string_equal(str_at(req.doc, "status"), "ok");
    data = json_object_get(req.doc, "data");
    assert_true(json_is_true(json_object_get(data, "loaded")));
    /* Age comes from the newer of the run (10 min) and the row (1 h). */
    assert_in_range(json_integer_value(json_object_get(data, "age_seconds")), 590, 700);
    assert_int_equal(json_integer_value(json_object_get(data, "version")), 5);
    assert_int_equal(json_array_size(json_object_get(req.doc, "reasons")), 0);
    json_decref(req.doc);

    /* Two days old with a 24 h limit: stale. */
    sql("UPDATE etl_runs SET finished_at = now() - interval '2 days'");
    sql("UPDATE monthly_figures SET loaded_at = now() - interval '3 days'");
    call(api_health, &req);
    assert_int_equal(req.status, 200);
    assert_string_equal(str_at(req.doc, "status"), "degraded");
    assert_in_range(
        json_integer_value(json_object_get(json_object_get(req.doc, "data"), "age_seconds")),
        2 * 86400 - 5, 2 * 86400 + 100);
    assert_string_equal(json_string_value(json_array_get(json_object_get(req.doc, "reasons"), 0)),
                        "data_stale");
    json_decref(req.doc);
}

/* Redis down, Postgres up: degraded, still 200. */
static void test_health_redis_down(void **state)
{
    struct http_request req;

    (void)state;
    if (!have_services())
        skip();
    assert_int_equal(start(getenv("DATABASE_URL"), "redis://127.0.0.1:1/0"), 0);
    call(api_health, &req);
    assert_int_equal(req.status, 200);
    assert_string_equal(str_at(req.doc, "status"), "degraded");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(req.doc, "checks"), "redis"), "status")),
        "down");
    json_decref(req.doc);
}

/* Postgres down, Redis up: degraded (cached answers can still be served), 200. */
static void test_health_pg_down(void **state)
{
    struct http_request req;

    (void)state;
    if (!have_services())
        skip();
    assert_int_equal(start("postgresql://postgres@127.0.0.1:1/x", getenv("REDIS_URL")), 0);
    call(api_health, &req);
    assert_int_equal(req.status, 200);
    assert_string_equal(str_at(req.doc, "status"), "degraded");
    assert_true(json_is_null(json_object_get(json_object_get(req.doc, "data"), "version")));
    json_decref(req.doc);
}

/* /health answers from the loop; /ready turns 503 once the worker is told to stop. */
static void test_live_and_ready(void **state)
{
    struct http_request req = {0};

    (void)state;
    api_live(&req);
    assert_int_equal(req.replies, 1);
    assert_int_equal(req.status, 200);
    assert_string_equal(json_string_value(json_object_get(req.doc, "status")), "ok");
    assert_string_equal(req.cache_control, "no-store");
    json_decref(req.doc);
    memset(&req, 0, sizeof(req));
    draining = 0;
    api_ready(&req);
    assert_int_equal(req.status, 200);
    assert_string_equal(json_string_value(json_object_get(req.doc, "status")), "ready");
    json_decref(req.doc);
    memset(&req, 0, sizeof(req));
    draining = 1;
    api_ready(&req);
    assert_int_equal(req.replies, 1);
    assert_int_equal(req.status, 503);
    assert_string_equal(json_string_value(json_object_get(req.doc, "status")), "draining");
    json_decref(req.doc);
    draining = 0;
}

static void test_etl_status(void **state)
{
    struct http_request req;
    json_t *data, *runs, *r, *totals;
    int i;

    (void)state;
    if (!have_services())
        skip();
    assert_int_equal(start(getenv("DATABASE_URL"), getenv("REDIS_URL")), 0);
    reset_data();
    call(api_etl_status, &req);
    assert_int_equal(req.status, 200);
    data = json_object_get(req.doc, "data");
    assert_int_equal(json_array_size(json_object_get(data, "runs")), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(data, "totals"), "runs")),
                     0);
    json_decref(req.doc);

    /* 12 runs: ids 1..12; every third failed; run 12 still running. */
    for (i = 1; i <= 12; i++) {
        char q[512];
        snprintf(q, sizeof(q),
                 "INSERT INTO etl_runs (id, started_at, finished_at, status, source, format,"
                 " records_read, records_rejected, rows_changed, states_ok, states_failed,"
                 " error, data_version) VALUES (%d, '2026-11-0%d 10:00:00+00', %s, '%s',"
                 " 'https://api.data.gov.in/resource/x', 'json', %d, 1, %d, '{17,18}', '%s',"
                 " %s, %s)",
                 i, 1 + i % 9, i == 12 ? "NULL" : "'2026-11-01 10:05:30+05:30'",
                 i == 12 ? "running" : (i % 3 == 0 ? "failed" : "ok"), 100 + i, 10 * i,
                 i % 3 == 0 ? "{20}" : "{}", i % 3 == 0 ? "'fetch \"timeout\"'" : "NULL",
                 i % 3 == 0 ? "NULL" : "7");
        sql(q);
    }
    call(api_etl_status, &req);
    assert_int_equal(req.status, 200);
    assert_string_equal(str_at(req.doc, "status"), "ok");
    assert_timestamp(req.doc);
    data = json_object_get(req.doc, "data");
    runs = json_object_get(data, "runs");
    assert_int_equal(json_array_size(runs), 10);
    r = json_array_get(runs, 0);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 12);
    assert_string_equal(str_at(r, "status"), "running");
    assert_true(json_is_null(json_object_get(r, "finished_at")));
    r = json_array_get(runs, 3); /* id 9: failed */
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 9);
    assert_string_equal(str_at(r, "status"), "failed");
    assert_string_equal(str_at(r, "error"), "fetch \"timeout\"");
    assert_string_equal(json_string_value(json_array_get(json_object_get(r, "states_failed"), 0)),
                        "20");
    assert_true(json_is_null(json_object_get(r, "data_version")));
    r = json_array_get(runs, 1); /* id 11: ok */
    assert_string_equal(str_at(r, "started_at"), "2026-11-03T10:00:00Z");
    assert_string_equal(str_at(r, "finished_at"), "2026-11-01T04:35:30Z");
    assert_string_equal(str_at(r, "format"), "json");
    assert_int_equal(json_integer_value(json_object_get(r, "records_read")), 111);
    assert_int_equal(json_integer_value(json_object_get(r, "records_rejected")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "rows_changed")), 110);
    assert_int_equal(json_array_size(json_object_get(r, "states_ok")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "data_version")), 7);
    totals = json_object_get(data, "totals");
    assert_int_equal(json_integer_value(json_object_get(totals, "runs")), 12);
    assert_int_equal(json_integer_value(json_object_get(totals, "failures")), 3);
    assert_int_equal(json_integer_value(json_object_get(totals, "rows")), 780);
    json_decref(req.doc);
    reset_data();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_init_requires_database, teardown),
        cmocka_unit_test_teardown(test_health_down, teardown),
        cmocka_unit_test_teardown(test_health_no_data_and_fresh_data, teardown),
        cmocka_unit_test_teardown(test_health_redis_down, teardown),
        cmocka_unit_test_teardown(test_health_pg_down, teardown),
        cmocka_unit_test_teardown(test_etl_status, teardown),
        cmocka_unit_test_teardown(test_live_and_ready, teardown),
    };
    int rc;

    if (!have_services())
        printf("test_api_health: DATABASE_URL/REDIS_URL not set; service tests are skipped "
               "(tests/blackbox/test_backends.py runs them)\n");
    base = event_base_new();
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    event_base_free(base);
    return rc;
}
