/*
 * Keys, audit, retention and forgetting from the command line; see admin.h.
 */
#include "admin.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "channel/memory.h"
#include "channel/phone.h"
#include "core/apikey_sql.h"
#include "core/log.h"
#include "load.h"
#include "migrate.h"
#include "run.h"

static const char create_sql[] = APIKEY_SQL_CREATE;
static const char revoke_sql[] = APIKEY_SQL_REVOKE;

/* Every row about one phone hash ($1), and the audit row ($2 key id, $3 role, $4 source),
 * which holds only the counts. Steps go with their call or session even when a step
 * itself carries no hash. */
static const char forget_sql[] =
    "WITH vc0 AS (SELECT provider, call_id FROM voice_calls WHERE phone_hash = $1),"
    " us0 AS (SELECT session_hash FROM ussd_sessions WHERE phone_hash = $1),"
    " t1 AS (DELETE FROM sms_messages WHERE phone_hash = $1 RETURNING 1),"
    " t2 AS (DELETE FROM sms_subscriptions WHERE phone_hash = $1 RETURNING 1),"
    " t3 AS (DELETE FROM sms_outbox WHERE phone_hash = $1 RETURNING 1),"
    " t4 AS (DELETE FROM callers WHERE phone_hash = $1 RETURNING 1),"
    " t5 AS (DELETE FROM voice_steps WHERE phone_hash = $1"
    "  OR (provider, call_id) IN (SELECT provider, call_id FROM vc0) RETURNING 1),"
    " t6 AS (DELETE FROM voice_calls WHERE phone_hash = $1 RETURNING 1),"
    " t7 AS (DELETE FROM voice_callbacks WHERE phone_hash = $1 RETURNING 1),"
    " t8 AS (DELETE FROM ussd_steps WHERE phone_hash = $1"
    "  OR session_hash IN (SELECT session_hash FROM us0) RETURNING 1),"
    " t9 AS (DELETE FROM ussd_sessions WHERE phone_hash = $1 RETURNING 1),"
    " n AS (SELECT (SELECT count(*) FROM t1) AS sms_messages,"
    "  (SELECT count(*) FROM t2) AS sms_subscriptions, (SELECT count(*) FROM t3) AS sms_outbox,"
    "  (SELECT count(*) FROM t4) AS callers, (SELECT count(*) FROM t5) AS voice_steps,"
    "  (SELECT count(*) FROM t6) AS voice_calls, (SELECT count(*) FROM t7) AS voice_callbacks,"
    "  (SELECT count(*) FROM t8) AS ussd_steps, (SELECT count(*) FROM t9) AS ussd_sessions),"
    " a AS (INSERT INTO audit_log (key_id, role, action, target, source, result)"
    "  SELECT $2, $3, 'subscriber.forget', NULL, $4, 'ok: ' || (sms_messages + sms_subscriptions"
    "  + sms_outbox + callers + voice_steps + voice_calls + voice_callbacks + ussd_steps"
    "  + ussd_sessions) || ' rows' FROM n)"
    " SELECT * FROM n";

/* Journal rows older than $1 months; $2 key id, $3 role, $4 source. */
static const char retention_sql[] =
    "WITH cut AS (SELECT now() - make_interval(months => $1::int) AS t),"
    " t1 AS (DELETE FROM sms_messages WHERE at < (SELECT t FROM cut) RETURNING 1),"
    " t2 AS (DELETE FROM sms_outbox WHERE status <> 'pending'"
    "  AND created_at < (SELECT t FROM cut) RETURNING 1),"
    " t3 AS (DELETE FROM voice_steps WHERE at < (SELECT t FROM cut) RETURNING 1),"
    " t4 AS (DELETE FROM voice_calls WHERE COALESCE(last_at, started_at, ended_at)"
    "  < (SELECT t FROM cut) RETURNING 1),"
    " t5 AS (DELETE FROM voice_callbacks WHERE state IN ('done', 'failed', 'skipped')"
    "  AND COALESCE(finished_at, requested_at) < (SELECT t FROM cut) RETURNING 1),"
    " t6 AS (DELETE FROM ussd_steps WHERE at < (SELECT t FROM cut) RETURNING 1),"
    " t7 AS (DELETE FROM ussd_sessions WHERE last_at < (SELECT t FROM cut) RETURNING 1),"
    " n AS (SELECT (SELECT count(*) FROM t1) AS sms_messages,"
    "  (SELECT count(*) FROM t2) AS sms_outbox, (SELECT count(*) FROM t3) AS voice_steps,"
    "  (SELECT count(*) FROM t4) AS voice_calls, (SELECT count(*) FROM t5) AS voice_callbacks,"
    "  (SELECT count(*) FROM t6) AS ussd_steps, (SELECT count(*) FROM t7) AS ussd_sessions),"
    " a AS (INSERT INTO audit_log (key_id, role, action, target, source, result)"
    "  SELECT $2, $3, 'journal.retention', 'older than ' || $1 || ' months', $4,"
    "  'ok: ' || (sms_messages + sms_outbox + voice_steps + voice_calls + voice_callbacks"
    "  + ussd_steps + ussd_sessions) || ' rows' FROM n)"
    " SELECT * FROM n";

static PGresult *exec(PGconn *db, const char *sql, int n, const char *const *params,
                      ExecStatusType want)
{
    PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != want) {
        fprintf(stderr, "hisaab-admin: %s", PQerrorMessage(db));
        PQclear(res);
        return NULL;
    }
    return res;
}

int etl_admin_key_create(PGconn *db, const char *secret, const char *name, const char *role,
                         const struct etl_actor *who, char *key, char *id)
{
    char hash[APIKEY_HASH_HEX];
    const char *p[7];
    PGresult *res = NULL;
    int rc = -1;

    key[0] = '\0';
    if (!apikey_name_ok(name)) {
        fprintf(stderr, "hisaab-admin: a key's name is 1 to 32 of a-z, 0-9, '.', '_', '-'\n");
        goto out;
    }
    if (apikey_role_parse(role) == APIKEY_NONE) {
        fprintf(stderr, "hisaab-admin: the role is reader, operator or admin\n");
        goto out;
    }
    if (secret == NULL || secret[0] == '\0') {
        fprintf(stderr, "hisaab-admin: HISAAB_SECRET is not set; keys are hashed with it\n");
        goto out;
    }
    if (apikey_generate(key, id) != 0 || apikey_hash(secret, strlen(secret), key, hash) != 0) {
        fprintf(stderr, "hisaab-admin: cannot make a key (libcrypto)\n");
        goto out;
    }
    p[0] = id;
    p[1] = name;
    p[2] = role;
    p[3] = hash;
    p[4] = who->key_id;
    p[5] = who->role;
    p[6] = who->source;
    if ((res = exec(db, create_sql, 7, p, PGRES_TUPLES_OK)) == NULL || PQntuples(res) != 1)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        key[0] = '\0';
    PQclear(res);
    return rc;
}

int etl_admin_key_list(PGconn *db, FILE *out)
{
    PGresult *res;
    int i;

    res = exec(db,
               "SELECT id, name, role, to_char(created_at AT TIME ZONE 'UTC',"
               " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), created_by,"
               " COALESCE(to_char(revoked_at AT TIME ZONE 'UTC',"
               " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-') FROM api_keys ORDER BY created_at, id",
               0, NULL, PGRES_TUPLES_OK);
    if (res == NULL)
        return -1;
    fprintf(out, "%-8s  %-20s  %-8s  %-20s  %-16s  %s\n", "id", "name", "role", "created", "by",
            "revoked");
    for (i = 0; i < PQntuples(res); i++)
        fprintf(out, "%-8s  %-20s  %-8s  %-20s  %-16s  %s\n", PQgetvalue(res, i, 0),
                PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
    PQclear(res);
    return 0;
}

int etl_admin_key_revoke(PGconn *db, const char *id, const struct etl_actor *who)
{
    const char *p[4] = {id, who->key_id, who->role, who->source};
    PGresult *res;
    int rc;

    res = exec(db, revoke_sql, 4, p, PGRES_TUPLES_OK);
    if (res == NULL)
        return -1;
    rc = strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? 0 : 1;
    PQclear(res);
    return rc;
}

/* The counts of the single row of a forget or retention statement into c. */
static void counts(const PGresult *res, struct etl_admin_counts *c)
{
    int j;

    memset(c, 0, sizeof(*c));
    for (j = 0; j < PQnfields(res) && j < ETL_ADMIN_TABLES; j++) {
        c->table[j] = PQfname(res, j);
        c->rows[j] = strtol(PQgetvalue(res, 0, j), NULL, 10);
        c->total += c->rows[j];
    }
    c->n = j;
}

/* Result kept for the caller's table names: freed at the next call or at exit. */
static PGresult *last_counts;

static int counted(PGconn *db, const char *sql, const char *const *p, struct etl_admin_counts *c)
{
    PGresult *res;

    PQclear(last_counts);
    last_counts = NULL;
    if ((res = exec(db, sql, 4, p, PGRES_TUPLES_OK)) == NULL || PQntuples(res) != 1) {
        PQclear(res);
        return -1;
    }
    counts(res, c);
    last_counts = res;
    return 0;
}

int etl_admin_forget(PGconn *db, const char *secret, const char *number,
                     const struct etl_actor *who, struct etl_admin_counts *c)
{
    char hash[PHONE_HASH_HEX];
    const char *p[4];
    int rc = -1;

    if (secret == NULL || secret[0] == '\0') {
        fprintf(stderr, "hisaab-admin: HISAAB_SECRET is not set; numbers are found by their "
                        "hash under it\n");
        goto out;
    }
    if (phone_hash_raw(secret, strlen(secret), number, NULL, hash, sizeof(hash)) != 0) {
        fprintf(stderr, "hisaab-admin: not a phone number\n");
        goto out;
    }
    p[0] = hash;
    p[1] = who->key_id;
    p[2] = who->role;
    p[3] = who->source;
    rc = counted(db, forget_sql, p, c);
out:
    return rc;
}

int etl_admin_retention(PGconn *db, int months, const struct etl_actor *who,
                        struct etl_admin_counts *c)
{
    char m[16];
    const char *p[4] = {m, who->key_id, who->role, who->source};

    if (months < 1 || months > 120) {
        fprintf(stderr, "hisaab-admin: the retention is 1 to 120 months\n");
        return -1;
    }
    snprintf(m, sizeof(m), "%d", months);
    return counted(db, retention_sql, p, c);
}

int etl_admin_audit_print(PGconn *db, int limit, FILE *out)
{
    char l[16];
    const char *p[1] = {l};
    PGresult *res;
    int i;

    snprintf(l, sizeof(l), "%d", limit);
    res = exec(db,
               "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
               " key_id, role, action, COALESCE(target, '-'), source, result"
               " FROM audit_log ORDER BY id DESC LIMIT $1::int",
               1, p, PGRES_TUPLES_OK);
    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res); i++)
        fprintf(out, "%s  %s  %s  %s  %s  %s  %s  %s\n", PQgetvalue(res, i, 0),
                PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                PQgetvalue(res, i, 4), PQgetvalue(res, i, 5), PQgetvalue(res, i, 6),
                PQgetvalue(res, i, 7));
    PQclear(res);
    return 0;
}

int etl_admin_forget_redis(const char *redis_url, const char *secret, const char *number)
{
    char hash[PHONE_HASH_HEX];
    redisContext *c = NULL;
    redisReply *r = NULL;
    int rc = -1;

    if (secret == NULL ||
        phone_hash_raw(secret, strlen(secret), number, NULL, hash, sizeof(hash)) != 0 ||
        (c = etl_redis_connect(redis_url)) == NULL)
        goto out;
    r = redisCommand(c, "DEL %s%s", MEMORY_KEY_PREFIX, hash);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER)
        goto out;
    rc = (int)r->integer;
out:
    if (r != NULL)
        freeReplyObject(r);
    if (c != NULL)
        redisFree(c);
    return rc;
}

int etl_admin_audit(PGconn *db, const struct etl_actor *who, const char *action, const char *target,
                    const char *result)
{
    const char *p[6] = {who->key_id, who->role, action, target, who->source, result};
    PGresult *res = exec(db, APIKEY_SQL_AUDIT, 6, p, PGRES_COMMAND_OK);

    PQclear(res);
    return res != NULL ? 0 : -1;
}

void etl_admin_audit_url(const char *database_url, const struct etl_actor *who, const char *action,
                         const char *target, const char *result)
{
    PGconn *db = etl_connect(database_url);
    char t[256];

    /* A target never carries a query string (a --source URL may hold a key). */
    snprintf(t, sizeof(t), "%.*s", (int)strcspn(target != NULL ? target : "", "?#"),
             target != NULL ? target : "");
    if (db != NULL)
        PQclear(PQexec(db, "SET client_min_messages = warning"));
    /* The first run of a new database makes audit_log itself. */
    if (db == NULL || etl_migrate(db, NULL) != 0 ||
        etl_admin_audit(db, who, action, target != NULL ? t : NULL, result) != 0)
        log_warn("audit: %s by %s not recorded (%s)", action, who->key_id, result);
    PQfinish(db);
}

/* Set table.phone_hash (and with sealed, phone_sealed) of row id. */
static int rehash_row(PGconn *db, const char *sql, const char *id, const char *hash,
                      const char *sealed)
{
    const char *p[3] = {id, hash, sealed};
    PGresult *res = exec(db, sql, sealed != NULL ? 3 : 2, p, PGRES_COMMAND_OK);

    PQclear(res);
    return res != NULL ? 0 : -1;
}

/* Every row of a SELECT id, phone: rehashed under secret with update. */
static int rehash_table(PGconn *db, const char *select, const char *update, const char *secret,
                        long *rows)
{
    char hash[PHONE_HASH_HEX];
    PGresult *res = exec(db, select, 0, NULL, PGRES_TUPLES_OK);
    int i, rc = -1;

    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res); i++) {
        if (phone_hash(secret, strlen(secret), PQgetvalue(res, i, 1), hash, sizeof(hash)) != 0 ||
            rehash_row(db, update, PQgetvalue(res, i, 0), hash, NULL) != 0)
            goto out;
        (*rows)++;
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

/* Queued callbacks: open under old_secret, seal and hash under secret. */
static int reseal(PGconn *db, const char *secret, const char *old_secret, long *rows)
{
    char e164[PHONE_E164_MAX], hash[PHONE_HASH_HEX], sealed[PHONE_SEALED_MAX];
    PGresult *res =
        exec(db,
             "SELECT id, phone_sealed FROM voice_callbacks WHERE phone_sealed IS NOT NULL"
             " FOR UPDATE",
             0, NULL, PGRES_TUPLES_OK);
    int i, rc = -1;

    if (res == NULL)
        return -1;
    for (i = 0; i < PQntuples(res); i++) {
        if (phone_unseal(old_secret, strlen(old_secret), PQgetvalue(res, i, 1), e164,
                         sizeof(e164)) != 0) {
            fprintf(stderr, "hisaab-admin: callback %s does not open under the old secret\n",
                    PQgetvalue(res, i, 0));
            goto out;
        }
        if (phone_seal(secret, strlen(secret), e164, sealed, sizeof(sealed)) != 0 ||
            phone_hash(secret, strlen(secret), e164, hash, sizeof(hash)) != 0 ||
            rehash_row(db,
                       "UPDATE voice_callbacks SET phone_hash = $2, phone_sealed = $3"
                       " WHERE id = $1::bigint",
                       PQgetvalue(res, i, 0), hash, sealed) != 0)
            goto out;
        (*rows)++;
    }
    rc = 0;
out:
    OPENSSL_cleanse(e164, sizeof(e164));
    PQclear(res);
    return rc;
}

int etl_admin_rehash(PGconn *db, const char *secret, const char *old_secret,
                     const struct etl_actor *who, long *rows)
{
    char result[64];
    PGresult *res;
    int rc = -1;

    *rows = 0;
    if (secret == NULL || secret[0] == '\0') {
        fprintf(stderr, "hisaab-admin: HISAAB_SECRET is not set\n");
        return -1;
    }
    if ((res = exec(db, "BEGIN", 0, NULL, PGRES_COMMAND_OK)) == NULL)
        return -1;
    PQclear(res);
    if (rehash_table(db, "SELECT id, phone FROM sms_subscriptions FOR UPDATE",
                     "UPDATE sms_subscriptions SET phone_hash = $2 WHERE id = $1::bigint", secret,
                     rows) != 0 ||
        rehash_table(db, "SELECT id, phone FROM sms_outbox FOR UPDATE",
                     "UPDATE sms_outbox SET phone_hash = $2 WHERE id = $1::bigint", secret,
                     rows) != 0 ||
        (old_secret != NULL && old_secret[0] != '\0' && reseal(db, secret, old_secret, rows) != 0))
        goto out;
    snprintf(result, sizeof(result), "ok: %ld rows", *rows);
    if (etl_admin_audit(db, who, "secret.rehash",
                        old_secret != NULL && old_secret[0] != '\0'
                            ? "subscriptions, outbox, callbacks"
                            : "subscriptions, outbox",
                        result) != 0)
        goto out;
    res = exec(db, "COMMIT", 0, NULL, PGRES_COMMAND_OK);
    rc = res != NULL ? 0 : -1;
    PQclear(res);
out:
    if (rc != 0)
        PQclear(PQexec(db, "ROLLBACK"));
    return rc;
}

void etl_actor_cli(struct etl_actor *who, const char *role, char *buf, size_t n)
{
    struct passwd *pw = getpwuid(getuid());

    snprintf(buf, n, "cli:%.48s", pw != NULL ? pw->pw_name : "unknown");
    who->key_id = buf;
    who->role = role;
    who->source = "cli";
}
