/*
 * The API's administration: POST /api/v1/cache/invalidate (operators; api_auth.h), the
 * invalidation epoch that names every answer shared in Redis, and the Redis channel that
 * tells every worker to drop its cache; see api_admin.h.
 */
#include "api/api_admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/api_auth.h"
#include "api/api_cache.h"
#include "api/api_limit.h"
#include "api/api_reply.h"
#include "backend/rds.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/version.h"
#include "net/config.h"
#include "net/http.h"

/* Redis channel that tells every worker to drop its cache (POST /api/v1/cache/invalidate). */
#define INVALIDATE_CHANNEL "hisaab:cache-invalidate"
/* Bumped by every admin invalidation; part of every shared key, so an invalidation also
 * retires every shared answer. */
#define EPOCH_KEY "hisaab:api:epoch"

static struct {
    long long epoch; /* EPOCH_KEY as last seen */
} adm;

/* A decimal number of len bytes at msg into *out; -1 when it is not one. */
static int parse_ll(const char *msg, size_t len, long long *out)
{
    char text[32];
    char *end;

    if (len == 0 || len >= sizeof(text))
        return -1;
    memcpy(text, msg, len);
    text[len] = '\0';
    errno = 0;
    *out = strtoll(text, &end, 10);
    return errno != 0 || *end != '\0' || *out < 0 ? -1 : 0;
}

static void epoch_got(void *arg, const redisReply *reply, const char *err)
{
    long long e;

    (void)arg;
    (void)err;
    if (reply != NULL && reply->type == REDIS_REPLY_STRING &&
        parse_ll(reply->str, (size_t)reply->len, &e) == 0)
        adm.epoch = e;
}

/* With every answer of the data version poll, the invalidation epoch too, in case a
 * message was missed while Redis was away. */
static void on_version(void *arg, long long version, int changed)
{
    (void)arg;
    (void)version;
    (void)changed;
    if (rds_is_up() && rds_command(epoch_got, NULL, "GET %s", EPOCH_KEY) != 0)
        log_debug("api: epoch not polled");
}

static void on_invalidate_msg(void *arg, const char *msg, size_t len)
{
    long long epoch;
    size_t n;

    (void)arg;
    if (parse_ll(msg, len, &epoch) == 0)
        adm.epoch = epoch;
    n = api_cache_clear();
    log_info("api: cache dropped on request (%zu entries)", n);
}

struct invalidate {
    struct http_request *req;
    struct api_identity who;
    size_t dropped;
};

static void invalidate_published(void *arg, const redisReply *reply, const char *err)
{
    struct invalidate *inv = arg;
    json_t *doc;
    char ts[32];

    api_now_iso(ts, sizeof(ts));
    /* subscribers: worker processes (this one included) that got the message. */
    doc = json_pack(
        "{s:s, s:{s:I, s:b, s:I, s:I}, s:s, s:b, s:s}", "status", "ok", "data", "dropped",
        (json_int_t)inv->dropped, "other_workers_notified",
        reply != NULL && reply->type == REDIS_REPLY_INTEGER, "subscribers",
        (json_int_t)(reply != NULL && reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0),
        "data_version", (json_int_t)api_cache_version(), "timestamp", ts, "cached", 0, "version",
        API_VERSION);
    if (reply == NULL)
        log_warn("api: cache invalidation not published: %s", err != NULL ? err : "?");
    snprintf(ts, sizeof(ts), "ok: dropped %zu", inv->dropped);
    api_auth_audit(inv->req, &inv->who, "cache.invalidate", "api-cache", ts);
    http_add_header(inv->req, "Cache-Control", "no-store");
    http_reply_json(inv->req, 200, doc);
    free(inv);
}

/* The new epoch: tell every worker (this one included) to use it and drop its cache. */
static void epoch_bumped(void *arg, const redisReply *reply, const char *err)
{
    struct invalidate *inv = arg;
    char e[32];

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        invalidate_published(inv, NULL, err != NULL ? err : "unexpected reply");
        return;
    }
    adm.epoch = reply->integer;
    snprintf(e, sizeof(e), "%lld", reply->integer);
    if (rds_command(invalidate_published, inv, "PUBLISH %s %s", INVALIDATE_CHANNEL, e) != 0)
        invalidate_published(inv, NULL, "redis not configured");
}

static void invalidate_run(struct http_request *req)
{
    struct api_identity who;
    struct invalidate *inv;

    if (!api_auth_require(req, APIKEY_OPERATOR, "cache.invalidate", &who))
        return;
    inv = xcalloc(1, sizeof(*inv));
    inv->req = req;
    inv->who = who;
    inv->dropped = api_cache_clear();
    log_info("api: cache dropped by key %s (%zu entries)", who.key_id, inv->dropped);
    if (rds_command(epoch_bumped, inv, "INCR %s", EPOCH_KEY) != 0)
        invalidate_published(inv, NULL, "redis not configured");
}

/* Rate limited like the rest, so guessing the key costs as much as any request. */
void api_cache_invalidate(struct http_request *req)
{
    api_limit_run(req, invalidate_run);
}

long long api_admin_epoch(void)
{
    return adm.epoch;
}

int api_admin_init(const struct config *cfg)
{
    (void)cfg;
    if (data_version_listen(on_version, NULL) != 0)
        return -1;
    if (rds_command(epoch_got, NULL, "GET %s", EPOCH_KEY) != 0)
        log_debug("api: no redis: answers are not shared between workers");
    /* Without Redis (not configured) the data version poll alone keeps the cache honest. */
    if (cfg->redis_url != NULL && cfg->redis_url[0] != '\0' &&
        rds_subscribe(INVALIDATE_CHANNEL, on_invalidate_msg, NULL) != 0)
        log_warn("api: cannot subscribe to Redis; admin invalidations reach this worker only");
    return 0;
}
