/*
 * The district REST API (issue 3): read-only JSON over the figures the ETL loaded, plus a
 * streamed CSV export. Handlers are registered by name in app.c and routed by kore.conf.
 *
 *   GET /api/v1/states                         states with district counts, latest month
 *   GET /api/v1/districts?state=&q=            districts (q: search.c, index per worker)
 *   GET /api/v1/districts/nearby?lat=&lon=     nearest district (India only)
 *   GET /api/v1/districts/{id}/summary         latest month, state, last year, trend
 *   GET /api/v1/districts/{id}/history?months= 1..60 months, year-to-date + increments
 *   GET /api/v1/states/{code}/comparison?metric=  districts ranked by one metric
 *   GET /api/v1/export.csv?state=&fin_year=    monthly figures as CSV, streamed
 *
 * Every JSON reply is {"status":"ok","data":...,"timestamp":"...Z","cached":bool,
 * "version":"1.0"}; errors are {"status":"error","error":{"code","message"}} with 400
 * (bad_parameter, naming it), 404 (unknown_district / unknown_state), 503 (no_data before
 * the first load, database_unavailable). `lang=hi|en` (default en) picks `name` fields.
 * Nearby coordinates are rounded to 2 decimals before use and never logged or stored.
 *
 *   POST /api/v1/cache/invalidate              drop every worker's cache (admin only)
 *
 * Caching (api_cache.h): JSON answers are pre-rendered per data version in each worker,
 * with a strong ETag (If-None-Match gives 304), gzip when accepted, Cache-Control max-age
 * from kore.conf (cache_max_age_seconds, default 300) and "cached":true only when served
 * from the cache. A worker drops its cache when the ETL publishes a new data version on
 * the Redis channel hisaab:data-version, when its poll of data_version (every
 * data_version_poll_seconds, default 30) sees a new one, and on hisaab:cache-invalidate.
 * Answers are also shared between workers through Redis (hisaab:api:v<version>.<epoch>:
 * <key>, one hour), so one worker's Postgres query serves the others; an admin
 * invalidation bumps the epoch (hisaab:api:epoch) and so retires every shared answer.
 * Every endpoint here is rate limited first (api_limit.h), the admin one included.
 *
 * Admin key: `Authorization: Bearer <key>` where key is env HISAAB_ADMIN_KEY (16 to 79
 * characters) or, when that is unset, the lower-case hex HMAC-SHA256 of the label
 * "hisaab-admin-v1" keyed with HISAAB_SECRET. With neither, admin endpoints answer 403.
 */
#ifndef HISAAB_API_H
#define HISAAB_API_H

#include <jansson.h>

struct dir_district;

struct config;
struct event_base;
struct http_request;

/* India's bounding box for /nearby (degrees). */
#define API_LAT_MIN 6.0
#define API_LAT_MAX 37.5
#define API_LON_MIN 68.0
#define API_LON_MAX 97.5

/*
 * Per worker, after the backends, the data version and the directory have started: keep the
 * settings the handlers need, start the data version poll and the Redis subscriptions.
 * Returns 0 or -1.
 */
int api_init(struct event_base *base, const struct config *cfg) __attribute__((warn_unused_result));

/* Per worker, when stopping: drop the caches. */
void api_exit(void);

/* Handlers (http_handler_fn). */
void api_states(struct http_request *req);
void api_districts(struct http_request *req);
void api_nearby(struct http_request *req);
void api_pincode(struct http_request *req);
void api_summary(struct http_request *req);
void api_history(struct http_request *req);
void api_comparison(struct http_request *req);

/* A district as every endpoint shows it (id, names, state, has_data), in lang (0 en,
 * 1 hi); a new reference. For the other API modules. */
json_t *api_district_json(const struct dir_district *row, int lang);

#endif
