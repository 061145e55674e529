/*
 * Operational endpoints and the worker's backend set-up.
 *
 *   GET /api/v1/health      Postgres probe and Redis PING, run concurrently, each bounded
 *                           by backend_timeout_ms; replies once both are back.
 *   GET /api/v1/etl/status  the last ETL runs and totals (503 when Postgres is down).
 *
 * Health status rule:
 *   "ok"        Postgres and Redis up, data loaded and no older than max_data_age_hours;
 *   "degraded"  still serving, but Redis is down, or Postgres is down while Redis (with
 *               its cached answers) is up, or no data is loaded, or the data is stale;
 *   "down"      Postgres and Redis both unreachable: nothing can be served.
 * HTTP 200 for ok/degraded, 503 for down. "reasons" lists what made it not ok
 * ("postgres_down", "redis_down", "no_data", "data_stale").
 */
#ifndef HISAAB_API_HEALTH_H
#define HISAAB_API_HEALTH_H

struct config;
struct event_base;
struct http_request;

/* Postgres connections each worker opens. */
#define API_HEALTH_PG_POOL 4

/*
 * Per worker, after fork: keep the settings the handlers need and start the Postgres pool
 * (pg_init) and Redis (rds_init) on base. Postgres or Redis being down is not an error
 * (they reconnect in the background); a missing redis_url leaves Redis off (health then
 * reports it down). Returns 0, or -1 when database_url is missing or a URL is invalid.
 */
int api_health_init(struct event_base *base, const struct config *cfg)
    __attribute__((warn_unused_result));

/* Per worker, when stopping: close Redis and Postgres (pending calls get "shutdown"). */
void api_health_exit(void);

/* Handlers (http_handler_fn) for the routes above. */
void api_health(struct http_request *req);
void api_etl_status(struct http_request *req);

/* GET /metrics: refreshes the ETL gauges from etl_runs (bounded by the backend timeout),
 * then serves the Prometheus text of metrics.c. */
void api_metrics(struct http_request *req);

#endif
