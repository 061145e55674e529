/*
 * The application glue: backends per worker and the handler table; see app.h.
 */
#include "app.h"

#include <stddef.h>
#include <string.h>

#include "api/api.h"
#include "api/api_health.h"
#include "data/version.h"
#include "net/config.h"
#include "net/debug.h"
#include "sms/sms.h"

struct handler_entry {
    const char *name;
    void *fn;
};

static const struct handler_entry handlers[] = {
    {"api_health", (void *)api_health},
    {"api_etl_status", (void *)api_etl_status},
    {"metrics_handler", (void *)api_metrics},
    {"api_states", (void *)api_states},
    {"api_districts", (void *)api_districts},
    {"api_nearby", (void *)api_nearby},
    {"api_summary", (void *)api_summary},
    {"api_history", (void *)api_history},
    {"api_comparison", (void *)api_comparison},
    {"api_export", (void *)api_export},
    {"api_cache_invalidate", (void *)api_cache_invalidate},
    {"sms_kannel", (void *)sms_kannel},
    {"sms_twilio", (void *)sms_twilio},
    {"sms_generic", (void *)sms_generic},
    {NULL, NULL},
};

int app_worker_init(struct event_base *base, const struct config *cfg)
{
    /* Postgres and Redis connect in the background: a worker starts serving (and reports
     * degraded health) even when either is down. */
    if (api_health_init(base, cfg) != 0)
        return -1;
    if (data_version_init(base, cfg->version_poll,
                          cfg->redis_url != NULL && cfg->redis_url[0] != '\0') != 0) {
        api_health_exit();
        return -1;
    }
    if (api_init(base, cfg) != 0) {
        data_version_exit();
        api_health_exit();
        return -1;
    }
    if (sms_init(base, cfg) != 0) {
        api_exit();
        data_version_exit();
        api_health_exit();
        return -1;
    }
    return 0;
}

void app_worker_exit(void)
{
    sms_exit();
    api_exit();
    data_version_exit();
    api_health_exit();
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
