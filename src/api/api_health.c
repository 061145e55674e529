/*
 * Health and ETL status handlers; see api_health.h. The health handler starts both
 * probes and counts them down in a small context; the handler itself holds one count so
 * that the reply is built exactly once, after the last answer, whichever comes first.
 */
#include "api/api_health.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "api/api_ops.h"
#include "net/config.h"
#include "net/http.h"
#include "core/log.h"
#include "core/mem.h"
#include "net/master.h"
#include "net/metrics.h"
#include "backend/pg.h"
#include "backend/rds.h"
#include "data/store.h"

static struct {
    long long max_age_s;
} hc = {2160LL * 3600};

struct health {
    struct http_request *req;
    int pending;
    struct timespec t0;
    int pg_up;
    double pg_ms;
    struct store_health data;
    int rds_up;
    double rds_ms;
};

static double ms_since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* UTC now as ISO-8601, e.g. "2026-11-22T17:10:00Z". */
static json_t *timestamp(void)
{
    char buf[32];
    struct tm tm;
    time_t t = time(NULL);

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return json_string(buf);
}

/* Latency in ms rounded to 0.1. */
static json_t *latency(double ms)
{
    return json_real((double)(long long)(ms * 10.0 + 0.5) / 10.0);
}

static json_t *check(int up, double ms)
{
    return json_pack("{s:s, s:o}", "status", up ? "up" : "down", "latency_ms", latency(ms));
}

static void health_reply(struct health *h)
{
    json_t *doc, *reasons, *data;
    const char *status;
    int stale;

    reasons = json_array();
    if (!h->pg_up)
        json_array_append_new(reasons, json_string("postgres_down"));
    if (!h->rds_up)
        json_array_append_new(reasons, json_string("redis_down"));
    if (h->pg_up && !h->data.loaded)
        json_array_append_new(reasons, json_string("no_data"));
    stale = h->pg_up && h->data.has_age && h->data.age_seconds > hc.max_age_s;
    if (stale)
        json_array_append_new(reasons, json_string("data_stale"));
    if (!h->pg_up && !h->rds_up)
        status = "down";
    else if (json_array_size(reasons) > 0)
        status = "degraded";
    else
        status = "ok";

    data = json_object();
    json_object_set_new(data, "loaded", json_boolean(h->pg_up && h->data.loaded));
    json_object_set_new(data, "age_seconds",
                        h->pg_up && h->data.has_age ? json_integer(h->data.age_seconds)
                                                    : json_null());
    json_object_set_new(data, "max_age_seconds", json_integer(hc.max_age_s));
    json_object_set_new(data, "version", h->pg_up ? json_integer(h->data.version) : json_null());

    doc = json_object();
    json_object_set_new(doc, "status", json_string(status));
    json_object_set_new(doc, "checks",
                        json_pack("{s:o, s:o}", "postgres", check(h->pg_up, h->pg_ms), "redis",
                                  check(h->rds_up, h->rds_ms)));
    json_object_set_new(doc, "data", data);
    if (pg_replicas_configured() > 0)
        json_object_set_new(doc, "replicas",
                            json_pack("{s:i, s:i}", "configured", pg_replicas_configured(),
                                      "serving", pg_replicas_usable()));
    json_object_set_new(doc, "reasons", reasons);
    json_object_set_new(doc, "timestamp", timestamp());
    http_add_header(h->req, "Cache-Control", "no-store");
    http_reply_json(h->req, strcmp(status, "down") == 0 ? 503 : 200, doc);
}

static void health_release(struct health *h)
{
    if (--h->pending > 0)
        return;
    health_reply(h);
    free(h);
}

static void health_pg_done(void *arg, const struct store_health *d, const char *err)
{
    struct health *h = arg;

    h->pg_ms = ms_since(&h->t0);
    if (d != NULL) {
        h->pg_up = 1;
        h->data = *d;
    } else {
        log_warn("health: postgres probe failed: %s", err != NULL ? err : "?");
    }
    health_release(h);
}

static void health_rds_done(void *arg, const redisReply *reply, const char *err)
{
    struct health *h = arg;

    h->rds_ms = ms_since(&h->t0);
    if (reply != NULL && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0)
        h->rds_up = 1;
    else
        log_warn("health: redis ping failed: %s", err != NULL ? err : "unexpected reply");
    health_release(h);
}

void api_health(struct http_request *req)
{
    struct health *h = xcalloc(1, sizeof(*h));

    h->req = req;
    h->pending = 3; /* postgres, redis, and this function */
    clock_gettime(CLOCK_MONOTONIC, &h->t0);
    if (store_health(health_pg_done, h) != 0)
        h->pending--; /* pg not started: down, latency 0 */
    if (rds_command(health_rds_done, h, "PING") != 0)
        h->pending--; /* redis not configured: down */
    health_release(h);
}

void api_live(struct http_request *req)
{
    http_add_header(req, "Cache-Control", "no-store");
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

void api_ready(struct http_request *req)
{
    int draining = master_draining();

    http_add_header(req, "Cache-Control", "no-store");
    http_reply_json(req, draining ? 503 : 200,
                    json_pack("{s:s}", "status", draining ? "draining" : "ready"));
}

static void etl_status_done(void *arg, json_t *data, const char *err)
{
    struct http_request *req = arg;
    json_t *doc;

    if (data == NULL) {
        log_warn("etl status: %s", err != NULL ? err : "?");
        http_reply_error(req, 503, "database_unavailable",
                         "The database is not reachable right now; try again shortly.");
        return;
    }
    doc = json_object();
    json_object_set_new(doc, "status", json_string("ok"));
    json_object_set_new(doc, "data", data);
    json_object_set_new(doc, "timestamp", timestamp());
    http_add_header(req, "Cache-Control", "no-store");
    http_reply_json(req, 200, doc);
}

void api_etl_status(struct http_request *req)
{
    if (store_etl_status(etl_status_done, req) != 0)
        http_reply_error(req, 503, "database_unavailable",
                         "The database is not reachable right now; try again shortly.");
}

/* "2026-11-22T17:10:00Z" -> unix seconds; 0 when absent or malformed. */
static long long iso_to_unix(const json_t *s)
{
    struct tm tm;
    const char *end;

    if (!json_is_string(s))
        return 0;
    memset(&tm, 0, sizeof(tm));
    end = strptime(json_string_value(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return 0;
    return (long long)timegm(&tm);
}

/* The ETL gauges are refreshed from etl_runs on each scrape; when Postgres is down the
 * last values seen by this worker are shown. */
static void metrics_etl_done(void *arg, json_t *data, const char *err)
{
    struct http_request *req = arg;
    json_t *totals, *last;

    if (data != NULL) {
        totals = json_object_get(data, "totals");
        last = json_array_get(json_object_get(data, "runs"), 0);
        metrics_set_etl(iso_to_unix(json_object_get(last, "finished_at")),
                        json_is_string(json_object_get(last, "status")) &&
                            strcmp(json_string_value(json_object_get(last, "status")), "ok") == 0,
                        (uint64_t)json_integer_value(json_object_get(totals, "rows")),
                        (uint64_t)json_integer_value(json_object_get(totals, "failures")));
        json_decref(data);
    } else {
        log_warn("metrics: ETL counters unavailable: %s", err ? err : "unknown");
    }
    api_ops_metrics(req);
}

void api_metrics(struct http_request *req)
{
    if (store_etl_status(metrics_etl_done, req) != 0)
        api_ops_metrics(req);
}

void api_health_init(const struct config *cfg)
{
    api_ops_init(cfg);
    hc.max_age_s = (long long)(cfg->max_data_age_hours > 0 ? cfg->max_data_age_hours : 2160) * 3600;
}
