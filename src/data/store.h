/*
 * Data access for the operational endpoints: one parameterised Postgres query per call,
 * run through pg.c on the worker's loop, with the result turned into plain C values or a
 * JSON document before the caller sees it, so handlers never touch libpq.
 */
#ifndef HISAAB_STORE_H
#define HISAAB_STORE_H

#include <jansson.h>

/* How many recent ETL runs store_etl_status() returns. */
#define STORE_ETL_RUNS 10

/* What the health probe learns about the data. */
struct store_health {
    int loaded;            /* 1 when monthly_figures has any row */
    int has_age;           /* 0 when there is no data and no finished run */
    long long age_seconds; /* seconds since the newest successful ('ok' or 'partial') ETL
                              run finished or the newest monthly_figures.loaded_at,
                              whichever is later; never negative */
    long long version;     /* data_version.version (0 when never published) */
};

/* The probe's answer: h on success (borrowed for the call), or h NULL and err set. */
typedef void (*store_health_fn)(void *arg, const struct store_health *h, const char *err);

/*
 * An answer as JSON: data is a new reference the callback owns (json_decref() it or pass
 * it on, e.g. into a reply); on failure data is NULL and err says why.
 */
typedef void (*store_json_fn)(void *arg, json_t *data, const char *err);

/*
 * Probe Postgres and the data's freshness with one query. cb is called exactly once,
 * later, from the loop. Returns 0, or -1 (cb never called) when pg is not started.
 */
int store_health(store_health_fn cb, void *arg) __attribute__((warn_unused_result));

/*
 * The last STORE_ETL_RUNS ETL runs, newest first, and totals over all runs:
 *   {"runs":[{"id":N,"started_at":"...Z","finished_at":"...Z"|null,"status":"ok",
 *             "source":"...","format":"csv","records_read":N,"records_rejected":N,
 *             "rows_changed":N,"states_ok":["17"],"states_failed":[],"error":null,
 *             "data_version":N|null}, ...],
 *    "totals":{"runs":N,"failures":N,"partial":N,"rows":N}}
 * Timestamps are UTC ISO-8601. Same returns as store_health().
 */
int store_etl_status(store_json_fn cb, void *arg) __attribute__((warn_unused_result));

#endif
