/*
 * Who may do what: API keys with roles (core/apikey.h), checked in front of the admin
 * endpoints and by the rate limiter, and the audit log of every privileged action.
 *
 * Each worker holds the live keys (id, role, keyed hash; never a key) read from Postgres
 * at start, every auth_refresh_seconds (kore.conf, 10), and at once when a key is created
 * or revoked through the API (Redis hisaab:keys-changed tells the other workers), so a key
 * revoked by hisaab-admin stops working within auth_refresh_seconds. While Postgres is
 * down the last table read stays in use; before the first read a key is answered 503.
 *
 * A request presents its key as "Authorization: Bearer <key>" or "X-API-Key: <key>". The
 * old single token, env HISAAB_ADMIN_KEY (16..79 characters), still counts as an admin
 * when it is set, with a "Deprecation: true" header and a warning in the log; unset, it
 * does not exist (nothing is derived from HISAAB_SECRET any more).
 *
 * Endpoints (routes in kore.conf), all rate limited like the rest of the API:
 *   GET    /api/v1/admin/keys         admin: every key (never a hash)
 *   POST   /api/v1/admin/keys         admin: {"name","role"} -> 201 with the key, shown once
 *   DELETE /api/v1/admin/keys/{id}    admin: revoke
 *   GET    /api/v1/admin/audit        admin: the audit log, newest first, ?before=ID&limit=N
 *   GET    /api/v1/admin/queues       operator: journal, callback and outbox backlogs
 * Missing or unknown key: 401 unauthorized; a key whose role is too low: 403 forbidden
 * (audited as denied).
 */
#ifndef HISAAB_API_AUTH_H
#define HISAAB_API_AUTH_H

#include "core/apikey.h"

struct config;
struct event_base;
struct http_request;

/* Who made a request. */
struct api_identity {
    char key_id[16]; /* the key's id, or "legacy" */
    enum apikey_role role;
};

/* Per worker, after Postgres and Redis: the legacy token, the first read of the keys,
 * the refresh timer and the subscription. Returns 0 or -1. */
int api_auth_init(struct event_base *base, const struct config *cfg) WUR;

/* Per worker, when stopping. */
void api_auth_exit(void);

/* Find key (a Bearer or X-API-Key value) among the live keys: 1 and *who when it is one,
 * 0 when it is not, -1 when the keys have never been read (answer 503). */
int api_auth_lookup(const char *key, struct api_identity *who);

/* The token of req's "Authorization: Bearer" header (borrowed), or NULL. */
const char *api_auth_bearer(struct http_request *req);

/*
 * 1 and *who when req carries a key with at least role min; else answers req itself (401,
 * 403 audited with action, 503) and returns 0. Adds the deprecation header for the legacy
 * token.
 */
int api_auth_require(struct http_request *req, enum apikey_role min, const char *action,
                     struct api_identity *who);

/* Write one audit row for req by who (target may be NULL); failures are logged with the
 * row's fields, never with a key. */
void api_auth_audit(struct http_request *req, const struct api_identity *who, const char *action,
                    const char *target, const char *result);

/* Handlers (http_handler_fn). */
void api_admin_keys(struct http_request *req);
void api_admin_key(struct http_request *req);
void api_admin_audit(struct http_request *req);
void api_admin_queues(struct http_request *req);

#endif
