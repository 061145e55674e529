/*
 * The application glue, the only file that knows every layer: what a worker starts on
 * its loop, in order from the bottom up (backends, journal, channel core, data version
 * and directory, then the API and the channels), what it stops in the reverse order, and
 * the table of handlers by name; see app.h.
 */
#include "app.h"

#include <stddef.h>
#include <string.h>

#include "api/api.h"
#include "api/api_admin.h"
#include "api/api_audio.h"
#include "api/api_auth.h"
#include "api/api_export.h"
#include "api/api_health.h"
#include "backend/curlm.h"
#include "backend/pg.h"
#include "backend/rds.h"
#include "channel/gate.h"
#include "channel/limit.h"
#include "channel/memory.h"
#include "channel/session.h"
#include "core/log.h"
#include "data/directory.h"
#include "data/journal.h"
#include "data/version.h"
#include "media/clips.h"
#include "net/config.h"
#include "net/debug.h"
#include "sms/sms.h"
#include "ussd/ussd.h"
#include "voice/callback.h"
#include "voice/voice.h"
#include "web/web_page.h"
#include "web/web_static.h"

/* Postgres connections each worker opens. */
#define APP_PG_POOL 4
/* Longest a stopping worker keeps writing the journal before it spools the rest. */
#define APP_JOURNAL_DRAIN_MS 5000

struct handler_entry {
    const char *name;
    void *fn;
};

static const struct handler_entry handlers[] = {
    {"api_health", (void *)api_health},
    {"api_etl_status", (void *)api_etl_status},
    {"api_live", (void *)api_live},
    {"api_ready", (void *)api_ready},
    {"metrics_handler", (void *)api_metrics},
    {"api_states", (void *)api_states},
    {"api_districts", (void *)api_districts},
    {"api_nearby", (void *)api_nearby},
    {"api_pincode", (void *)api_pincode},
    {"api_summary", (void *)api_summary},
    {"api_history", (void *)api_history},
    {"api_comparison", (void *)api_comparison},
    {"api_export", (void *)api_export},
    {"api_cache_invalidate", (void *)api_cache_invalidate},
    {"sms_kannel", (void *)sms_kannel},
    {"sms_twilio", (void *)sms_twilio},
    {"sms_generic", (void *)sms_generic},
    {"api_voice", (void *)api_voice},
    {"api_audio_district", (void *)api_audio_district},
    {"api_audio_clip", (void *)api_audio_clip},
    {"voice_twilio", (void *)voice_twilio},
    {"voice_plivo", (void *)voice_plivo},
    {"voice_vxml", (void *)voice_vxml},
    {"voice_exotel_passthru", (void *)voice_exotel_passthru},
    {"voice_exotel_greeting", (void *)voice_exotel_greeting},
    {"voice_twilio_status", (void *)voice_twilio_status},
    {"voice_exotel_status", (void *)voice_exotel_status},
    {"voice_plivo_status", (void *)voice_plivo_status},
    {"missedcall_twilio", (void *)callback_twilio},
    {"missedcall_exotel", (void *)callback_exotel},
    {"missedcall_generic", (void *)callback_generic},
    {"ussd_at", (void *)ussd_at},
    {"ussd_session", (void *)ussd_session},
    /* The web app (src/web/): its files, and pages for browsers without JavaScript. */
    {"web_index", (void *)web_index},
    {"web_sw", (void *)web_sw},
    {"web_manifest", (void *)web_manifest},
    {"web_asset", (void *)web_asset},
    {"web_district_page", (void *)web_district_page},
    {"web_search_page", (void *)web_search_page},
    /* Operations (src/api/api_auth.h): keys, the audit log, queues. */
    {"api_admin_keys", (void *)api_admin_keys},
    {"api_admin_key", (void *)api_admin_key},
    {"api_admin_audit", (void *)api_admin_audit},
    {"api_admin_queues", (void *)api_admin_queues},
    {NULL, NULL},
};

/* How far app_worker_init() got, so that exit undoes exactly that. */
static enum {
    UP_NONE = 0,
    UP_BACKENDS,
    UP_JOURNAL,
    UP_CORE,
    UP_DATA,
    UP_CHANNELS,
} up;

static int journal_drain_ms;

/* Postgres and Redis connect in the background: a worker starts serving (and reports
 * degraded health) even when either is down. */
static int backends_start(struct event_base *base, const struct config *cfg)
{
    int timeout_ms = cfg->backend_timeout_ms > 0 ? cfg->backend_timeout_ms : 1000;

    if (cfg->database_url == NULL || cfg->database_url[0] == '\0') {
        log_error("database_url (or DATABASE_URL) is not set");
        return -1;
    }
    if (pg_init(base, cfg->database_url, APP_PG_POOL, timeout_ms) != 0) {
        log_error("postgres: cannot start the connection pool");
        return -1;
    }
    if (cfg->database_replicas != NULL && cfg->database_replicas[0] != '\0' &&
        pg_replicas_init(cfg->database_replicas, cfg->database_replica_pool,
                         cfg->replica_max_lag_ms, DATA_VERSION_SQL) != 0) {
        log_error("postgres: cannot start the replica pools (database_replicas)");
        pg_shutdown();
        return -1;
    }
    if (cfg->redis_url == NULL || cfg->redis_url[0] == '\0') {
        log_warn("redis_url (or REDIS_URL) is not set; running without Redis");
    } else if (cfg->redis_sentinels != NULL && cfg->redis_sentinels[0] != '\0') {
        if (rds_init_sentinel(base, cfg->redis_url, timeout_ms, cfg->redis_sentinels,
                              cfg->redis_sentinel_master) != 0) {
            pg_shutdown();
            return -1;
        }
    } else if (rds_init(base, cfg->redis_url, timeout_ms) != 0) {
        pg_shutdown();
        return -1;
    }
    if (curlm_init(base) != 0)
        log_warn("curl: no outbound requests (deferred SMS answers are off)");
    return 0;
}

int app_worker_init(struct event_base *base, const struct config *cfg)
{
    struct journal_opts jo;
    int redis = cfg->redis_url != NULL && cfg->redis_url[0] != '\0';

    up = UP_NONE;
    journal_drain_ms = cfg->drain_timeout * 500 < APP_JOURNAL_DRAIN_MS ? cfg->drain_timeout * 500
                                                                       : APP_JOURNAL_DRAIN_MS;
    if (backends_start(base, cfg) != 0)
        goto fail;
    up = UP_BACKENDS;
    /* Every stream is declared before the journal replays what an earlier run spooled. */
    if (memory_init() != 0 || sms_register() != 0 || voice_register() != 0 || ussd_register() != 0)
        goto fail;
    memset(&jo, 0, sizeof(jo));
    jo.spool_dir = cfg->spool_dir;
    jo.queue_max = cfg->journal_queue_max > 0 ? (size_t)cfg->journal_queue_max : 0;
    if (journal_init(base, &jo) != 0)
        goto fail;
    up = UP_JOURNAL;
    if (gate_init(base) != 0 || session_init(base) != 0)
        goto fail;
    up = UP_CORE;
    if (data_version_init(base, cfg->version_poll, redis) != 0 ||
        directory_init(base,
                       (long long)(cfg->max_data_age_hours > 0 ? cfg->max_data_age_hours : 2160) *
                           3600) != 0)
        goto fail;
    up = UP_DATA;
    api_health_init(cfg);
    if (api_init(base, cfg) != 0 || api_auth_init(base, cfg) != 0 || api_audio_init(cfg) != 0 ||
        sms_init(base, cfg) != 0 || voice_init(base, cfg) != 0 || ussd_init(base, cfg) != 0)
        goto fail;
    up = UP_CHANNELS;
    return 0;
fail:
    app_worker_exit();
    return -1;
}

void app_worker_exit(void)
{
    if (up >= UP_CHANNELS) {
        ussd_exit();
        voice_exit();
        sms_exit();
        api_audio_exit();
        api_auth_exit();
        api_exit();
    }
    if (up >= UP_DATA) {
        directory_exit();
        data_version_exit();
    }
    if (up >= UP_CORE) {
        session_exit();
        gate_exit();
        limit_exit();
    }
    if (up >= UP_JOURNAL)
        journal_exit(journal_drain_ms);
    if (up >= UP_BACKENDS) {
        curlm_exit();
        rds_shutdown();
        pg_shutdown();
    }
    up = UP_NONE;
}

int app_preload(const struct config *cfg)
{
    const char *dir = cfg->audio_dir != NULL ? cfg->audio_dir : "audio";
    const char *ids[512];
    char err[512];
    unsigned i, n = 0;

    /* Once, in the master: the workers share the clip library copy-on-write. */
    if (clips_load(dir, err, sizeof(err)) != 0) {
        log_error("audio: %s", err);
        return -1;
    }
    for (i = 0; n < sizeof(ids) / sizeof(ids[0]) && (ids[n] = voice_clip_at(i)) != NULL; i++)
        n++;
    if (clips_require(ids, n, err, sizeof(err)) != 0) {
        log_error("audio: %s", err);
        return -1;
    }
    log_info("audio: %zu clips (%zu KB) from %s", clips_count(), clips_bytes() / 1024, dir);
    /* The web app's files too, shared the same way; a bad one stops start-up. */
    if (web_static_init(cfg) != 0)
        return -1;
    return 0;
}

void *app_handler_lookup(const char *name)
{
    size_t i;

    if (strcmp(name, "debug_sleep") == 0)
        return debug_handlers_enabled() ? (void *)debug_sleep : NULL;
    for (i = 0; handlers[i].name != NULL; i++)
        if (strcmp(handlers[i].name, name) == 0)
            return handlers[i].fn;
    return NULL;
}
