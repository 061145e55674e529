/*
 * One ETL run, start to end: take the run lock (one run at a time across hosts sharing
 * the database), apply pending migrations, open an etl_runs row, read the source (a
 * local file, or the data.gov.in API one state at a time), parse and clean every record
 * (format.h, record.h), load (load.h), publish the new data version, and close the run
 * row with its status (ok / partial / failed) and counts. With `every_s` set, runs again
 * after each interval until SIGINT/SIGTERM, surviving failures. With `notify` set, a run
 * then queues and sends the subscribers' monthly messages (notify.h).
 */
#ifndef HISAAB_ETL_RUN_H
#define HISAAB_ETL_RUN_H

#include <libpq-fe.h>

#include "notify.h"

/* etl_run() returns this when another run holds the lock. */
#define ETL_RUN_LOCKED 3

struct etl_options {
    const char *database_url; /* required */
    const char *redis_url;    /* NULL: no publish (warning) */
    const char *source;       /* file path or http(s) URL of the resource; NULL: the API */
    const char *format;       /* "csv" | "json" | "xml"; NULL: from the file's extension,
                                 json for the API */
    const char *state;        /* API: only this state (filters[state_name]); NULL: each of
                                 `states` in turn, or all states in one query */
    const char *states;       /* API: comma-separated configured state list, or NULL */
    const char *fin_year;     /* API: filters[fin_year], "YYYY-YYYY"; NULL: all years */
    const char *api_key;      /* DATA_GOV_API_KEY (borrowed); never logged */
    long limit;               /* API page size; 0: default (1000) */
    long every_s;             /* > 0: loop, one run per interval */
    const struct etl_notify_opts *notify; /* NULL: none; else after a run that changed
                                             data (and after every run of a loop), queue
                                             and send the monthly messages (notify.h) */
};

/*
 * Run once (or forever with every_s). All strings are borrowed. Returns 0 when the run
 * (the last run, in a loop stopped by a signal) finished ok, -1 when it failed or was
 * partial, ETL_RUN_LOCKED when another run holds the lock. Messages go to the log.
 */
int etl_run(const struct etl_options *o) __attribute__((warn_unused_result));

/*
 * Parse an interval: "30m", "6h", "1d", "90s" or plain seconds. Returns 0 and sets
 * *seconds (1 s .. 30 days), or -1.
 */
int etl_parse_interval(const char *s, long *seconds) __attribute__((warn_unused_result));

/* Connect to Postgres with a 10 s connect timeout (unless the URL sets one). Returns the
 * connection (caller PQfinish()es) or NULL with the reason logged (no password shown). */
PGconn *etl_connect(const char *database_url);

#endif
