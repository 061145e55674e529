/*
 * Caller memory; see memory.h. Writes go to Redis (HSET + EXPIRE, not waited for) and to
 * the journal; a recall is one HMGET, and one Postgres query when Redis has nothing.
 */
#include "channel/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/pg.h"
#include "backend/rds.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/journal.h"

/* clang-format off */

/* The language and the district are two streams, each ordered (batches apply in turn)
 * and each keeping the last change per caller within a batch: they touch different
 * columns, so neither overwrites the other. Columns: hash, value(s), at. Each worker has
 * its own journal, so two workers' batches can commit in either order: a row changes only
 * for a change at least as new as the one it holds (lang_at, district_at). */
static const struct journal_stream lang_stream = {
    "callers_lang", JOURNAL_BATCH, 1, 3,
    "INSERT INTO callers AS c (phone_hash, lang, lang_at)"
    " SELECT DISTINCT ON (h) h, l, at"
    " FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY AS u(h, l, at, n)"
    " ORDER BY h, n DESC"
    " ON CONFLICT (phone_hash) DO UPDATE SET lang = EXCLUDED.lang, lang_at = EXCLUDED.lang_at"
    " WHERE c.lang_at IS NULL OR c.lang_at <= EXCLUDED.lang_at",
};

static const struct journal_stream district_stream = {
    "callers_district", JOURNAL_BATCH, 1, 4,
    "INSERT INTO callers AS c (phone_hash, state_code, district_code, district_at)"
    " SELECT DISTINCT ON (h) h, s, d, at"
    " FROM unnest($1::text[], $2::int[], $3::int[], $4::timestamptz[])"
    "  WITH ORDINALITY AS u(h, s, d, at, n)"
    " ORDER BY h, n DESC"
    " ON CONFLICT (phone_hash) DO UPDATE SET state_code = EXCLUDED.state_code,"
    "  district_code = EXCLUDED.district_code, district_at = EXCLUDED.district_at"
    " WHERE c.district_at IS NULL OR c.district_at <= EXCLUDED.district_at",
};

static const char recall_sql[] =
    "SELECT lang, state_code, district_code FROM callers WHERE phone_hash = $1";

/* clang-format on */

int memory_init(void)
{
    static int registered;

    if (registered)
        return 0;
    if (journal_register(&lang_stream) != 0 || journal_register(&district_stream) != 0)
        return -1;
    registered = 1;
    return 0;
}

int memory_key(const char *hash, char *out, size_t n)
{
    size_t plen = sizeof(MEMORY_KEY_PREFIX) - 1, hlen = strlen(hash);

    if (plen + hlen >= n)
        return -1;
    memcpy(out, MEMORY_KEY_PREFIX, plen);
    memcpy(out + plen, hash, hlen + 1);
    return 0;
}

void memory_parse(const char *lang, const char *district, struct memory *m)
{
    char *end;
    long s, d;

    memset(m, 0, sizeof(*m));
    if (lang != NULL && i18n_lang_parse(lang, &m->lang) == 0)
        m->has_lang = 1;
    if (district == NULL || district[0] == '\0')
        return;
    s = strtol(district, &end, 10);
    if (*end != ':' || s <= 0 || s > 1000000)
        return;
    d = strtol(end + 1, &end, 10);
    if (*end != '\0' || d <= 0 || d > 1000000)
        return;
    m->state_code = (int)s;
    m->district_code = (int)d;
    m->has_district = 1;
}

#define TTL_TEXT_(n) #n
#define TTL_TEXT(n) TTL_TEXT_(n)

/* HSET key field value, then the expiry; neither is waited for (Postgres has the copy). */
static void redis_set(const char *hash, const char *field, const char *value)
{
    static const char ttl[] = TTL_TEXT(MEMORY_TTL_S);
    char key[128];
    size_t klen = sizeof(MEMORY_KEY_PREFIX) - 1 + strlen(hash);
    const char *hset[4] = {"HSET", key, field, value};
    size_t hlen[4] = {4, klen, strlen(field), strlen(value)};
    const char *expire[3] = {"EXPIRE", key, ttl};
    size_t elen[3] = {6, klen, sizeof(ttl) - 1};

    if (memory_key(hash, key, sizeof(key)) != 0)
        return;
    if (rds_send_argv(4, hset, hlen) != 0 || rds_send_argv(3, expire, elen) != 0)
        log_debug("memory: not cached in redis");
}

int memory_set_lang(const char *hash, const char *at, enum i18n_lang lang)
{
    const char *f[3] = {hash, i18n_lang_code(lang), at};

    redis_set(hash, "lang", f[1]);
    return journal_append(&lang_stream, f);
}

int memory_set_district(const char *hash, const char *at, int state_code, int district_code)
{
    char s[16], d[16], v[40];
    const char *f[4] = {hash, s, d, at};

    snprintf(s, sizeof(s), "%d", state_code);
    snprintf(d, sizeof(d), "%d", district_code);
    snprintf(v, sizeof(v), "%d:%d", state_code, district_code);
    redis_set(hash, "district", v);
    return journal_append(&district_stream, f);
}

struct recall {
    memory_fn cb;
    void *arg;
    char hash[80];
};

static void recalled_pg(void *arg, const PGresult *res, const char *err)
{
    struct recall *r = arg;
    struct memory m;
    char district[40];

    memset(&m, 0, sizeof(m));
    if (res == NULL) {
        log_debug("memory: postgres: %s", err != NULL ? err : "?");
    } else if (PQntuples(res) == 1) {
        snprintf(district, sizeof(district), "%s:%s", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
        memory_parse(PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0),
                     PQgetisnull(res, 0, 2) ? NULL : district, &m);
        /* Refill Redis with what Postgres kept. */
        if (m.has_lang)
            redis_set(r->hash, "lang", i18n_lang_code(m.lang));
        if (m.has_district)
            redis_set(r->hash, "district", district);
    }
    r->cb(r->arg, &m);
    free(r);
}

static void recalled_redis(void *arg, const redisReply *reply, const char *err)
{
    struct recall *r = arg;
    const char *params[1] = {r->hash};
    struct memory m;

    (void)err;
    memset(&m, 0, sizeof(m));
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
        memory_parse(reply->element[0]->type == REDIS_REPLY_STRING ? reply->element[0]->str : NULL,
                     reply->element[1]->type == REDIS_REPLY_STRING ? reply->element[1]->str : NULL,
                     &m);
    }
    if (m.has_lang || m.has_district || pg_query(recall_sql, 1, params, recalled_pg, r) != 0) {
        r->cb(r->arg, &m);
        free(r);
    }
}

int memory_recall(const char *hash, memory_fn cb, void *arg)
{
    struct recall *r = xcalloc(1, sizeof(*r));
    const char *params[1];
    char key[128];

    r->cb = cb;
    r->arg = arg;
    snprintf(r->hash, sizeof(r->hash), "%s", hash);
    params[0] = r->hash;
    if (memory_key(hash, key, sizeof(key)) == 0 &&
        rds_command(recalled_redis, r, "HMGET %s lang district", key) == 0)
        return 0;
    if (pg_query(recall_sql, 1, params, recalled_pg, r) == 0)
        return 0;
    free(r);
    return -1;
}
