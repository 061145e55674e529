/*
 * Administration of the district API.
 *
 *   POST /api/v1/cache/invalidate   drop every worker's cache (operator or admin)
 *
 * The key (`Authorization: Bearer <key>`) and its role are checked by api_auth.h; every
 * invalidation is written to the audit log. An invalidation bumps the epoch (Redis
 * hisaab:api:epoch), which names every answer shared between workers, and publishes it on
 * hisaab:cache-invalidate so that every worker drops its cache; each worker also reads the epoch
 * with every data version poll, in case it missed a message while Redis was away. Rate limited like
 * the rest.
 */
#ifndef HISAAB_API_ADMIN_H
#define HISAAB_API_ADMIN_H

struct config;
struct http_request;

/* Per worker, after Redis and the data version have started: the epoch, the
 * subscription. Returns 0 or -1. */
int api_admin_init(const struct config *cfg) __attribute__((warn_unused_result));

/* The invalidation epoch as last seen (0 before any). */
long long api_admin_epoch(void);

/* Handler (http_handler_fn). */
void api_cache_invalidate(struct http_request *req);

#endif
