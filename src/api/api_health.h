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
 * ("postgres_down", "redis_down", "no_data", "data_stale"). With read replicas configured,
 * "replicas" says how many there are and how many serve reads now.
 *
 *   GET /health             liveness: 200 from the worker's loop, no backend asked (a
 *                           Postgres or Redis outage must not make Kubernetes restart us).
 *   GET /ready              readiness: 200 {"status":"ready"}, or 503 {"status":"draining"}
 *                           once the worker was told to stop (net/master.h).
 */
#ifndef HISAAB_API_HEALTH_H
#define HISAAB_API_HEALTH_H

struct config;
struct http_request;

/* Per worker: keep the settings the handlers need. */
void api_health_init(const struct config *cfg);

/* Handlers (http_handler_fn) for the routes above. */
void api_health(struct http_request *req);
void api_etl_status(struct http_request *req);
void api_live(struct http_request *req);
void api_ready(struct http_request *req);

/* GET /metrics: refreshes the ETL gauges from etl_runs (bounded by the backend timeout),
 * then serves the Prometheus text of metrics.c. */
void api_metrics(struct http_request *req);

#endif
