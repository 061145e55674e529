/*
 * The statements that change API keys, each with its audit row in the same statement,
 * shared by the server (api/api_auth.c) and hisaab-admin (etl/admin.c) so both write the
 * same rows. Tables: sql/011_admin.sql.
 */
#ifndef HISAAB_CORE_APIKEY_SQL_H
#define HISAAB_CORE_APIKEY_SQL_H

/* A key and its audit row: $1 id, $2 name, $3 role, $4 hash, $5 actor key id, $6 actor
 * role, $7 source. One row back when created. */
#define APIKEY_SQL_CREATE                                                                          \
    "WITH k AS (INSERT INTO api_keys (id, name, role, key_hash, created_by)"                       \
    "  VALUES ($1, $2, $3, $4, $5) RETURNING id, role)"                                            \
    " INSERT INTO audit_log (key_id, role, action, target, source, result)"                        \
    " SELECT $5, $6, 'key.create', 'key:' || k.id || ' role:' || k.role, $7, 'ok' FROM k"          \
    " RETURNING 1"

/* Revoke key $1 and say so in the audit log: $2 actor key id, $3 actor role, $4 source.
 * One row back: the number of keys revoked now (0 or 1). */
#define APIKEY_SQL_REVOKE                                                                          \
    "WITH k AS (UPDATE api_keys SET revoked_at = now()"                                            \
    "  WHERE id = $1 AND revoked_at IS NULL RETURNING id),"                                        \
    " a AS (INSERT INTO audit_log (key_id, role, action, target, source, result)"                  \
    "  SELECT $2, $3, 'key.revoke', 'key:' || $1, $4,"                                             \
    "  CASE WHEN EXISTS (SELECT 1 FROM k) THEN 'ok' ELSE 'not_found' END)"                         \
    " SELECT count(*) FROM k"

/* One audit row: $1 key id, $2 role, $3 action, $4 target (may be NULL), $5 source,
 * $6 result. */
#define APIKEY_SQL_AUDIT                                                                           \
    "INSERT INTO audit_log (key_id, role, action, target, source, result)"                         \
    " VALUES ($1, $2, $3, $4, $5, $6)"

#endif
