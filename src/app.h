/*
 * The application: what a worker sets up on its event loop besides HTTP (the Postgres
 * and Redis connections, cache subscriptions) and the table of handlers by name. The
 * HTTP runtime (master.c/http.c) calls these; it knows no channel or backend itself.
 */
#ifndef HISAAB_APP_H
#define HISAAB_APP_H

struct config;
struct event_base;

/* Called once in the master before the workers fork (and by -t): loads what every worker
 * shares read-only, the clip library (audio_dir), and checks it has every clip the voice
 * channel needs. Returns 0, or -1 with the reason logged (the server does not start). */
int app_preload(const struct config *cfg) __attribute__((warn_unused_result));

/* Called in each worker after fork, before serving. Returns 0 or -1 (worker exits). */
int app_worker_init(struct event_base *base, const struct config *cfg)
    __attribute__((warn_unused_result));

/* Called in each worker when it stops (after draining). */
void app_worker_exit(void);

/* The handler function registered under `name` (an http_handler_fn), or NULL. */
void *app_handler_lookup(const char *name);

#endif
