/*
 * Loading cleaned records into Postgres. Records are first gathered in a struct
 * etl_batch that keeps, per (state, district, financial year, month), only the most
 * complete snapshot: the largest Persondays_of_Central_Liability_so_far (NULL lowest),
 * on a tie the later record. The batch is then written state by state: COPY into a
 * temporary staging table, then in ONE transaction per state the states and districts
 * are upserted (crosswalked to ref_states/ref_districts by normalised name for Hindi
 * names, LGD codes and centroids) and monthly_figures rows are inserted or updated only
 * where the new snapshot is more complete, or as complete and different. A state is all
 * or nothing. etl_load_finish() then rebuilds state_monthly_figures for what changed,
 * bumps data_version in the same transaction and publishes the new version on Redis.
 *
 * Usage: etl_load_prepare() once per connection and run, etl_load_batch() for each
 * batch (one per API state, or one per file), etl_load_finish() once at the end.
 */
#ifndef HISAAB_ETL_LOAD_H
#define HISAAB_ETL_LOAD_H

#include <libpq-fe.h>
#include <stddef.h>

#include "record.h"

/* The Redis channel on which a new data version is published (payload: the version). */
#define ETL_VERSION_CHANNEL "hisaab:data-version"

struct etl_batch;

/* A new empty batch; caller frees with etl_batch_free(). */
struct etl_batch *etl_batch_new(void);
void etl_batch_free(struct etl_batch *b);
/* Drop every entry, keeping the batch usable. */
void etl_batch_clear(struct etl_batch *b);
/* Number of distinct (state, district, year, month) keys held. */
size_t etl_batch_count(const struct etl_batch *b);

/*
 * Add a cleaned row; recno is its 1-based record number in the run's input (a higher
 * number is a later record). The row is copied; the batch keeps it only if it is more
 * complete than the one it holds for the same key.
 */
void etl_batch_add(struct etl_batch *b, const struct etl_row *row, long recno);

/* Move every entry of src into dst by the same rule; src is left empty. */
void etl_batch_merge(struct etl_batch *dst, struct etl_batch *src);

/* The outcome of loading one state. */
struct etl_state_result {
    int state_code;
    char name[ETL_MAX_NAME]; /* as in the source */
    int ok;                  /* 1 loaded (committed), 0 rolled back */
    long long changed;       /* monthly_figures rows inserted or updated */
};

struct etl_load_result {
    struct etl_state_result *states; /* malloc'd; freed by etl_load_result_free() */
    size_t nstates;
    long long rows_changed;
};

void etl_load_result_free(struct etl_load_result *r);

/* Create the session's temporary staging tables. Returns 0 or -1 (message in err). */
int etl_load_prepare(PGconn *db, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Load every state in the batch, each in its own transaction, for run run_id. Appends one
 * struct etl_state_result per state to *res and adds to res->rows_changed. Returns 0 when
 * every state loaded, -1 when at least one failed (its reason logged, the first one in
 * err). A failed state leaves the database as it was for that state.
 */
int etl_load_batch(PGconn *db, long long run_id, struct etl_batch *b, struct etl_load_result *res,
                   char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * If the run changed data: recompute state_monthly_figures for the affected (state,
 * financial year) pairs from district sums, bump data_version and record it on the run
 * row, all in one transaction; then PUBLISH the new version on ETL_VERSION_CHANNEL at
 * redis_url (NULL or unreachable: a warning only). *version is the new version, or -1
 * when nothing changed. Returns 0 or -1 (database error, message in err).
 */
int etl_load_finish(PGconn *db, long long run_id, const char *redis_url, long long *version,
                    char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * A blocking Redis connection to redis_url ("redis://[:pass@]host[:port][/db]") with a 2 s
 * connect and command timeout, authenticated when the URL has a password. Returns it
 * (caller redisFree()s), or NULL with the reason logged as a warning.
 */
struct redisContext *etl_redis_connect(const char *redis_url);

/*
 * Publish `version` on ETL_VERSION_CHANNEL at redis_url ("redis://[:pass@]host[:port][/db]")
 * with a 2 s connect and command timeout. Returns 0, or -1 (logged as a warning).
 */
int etl_publish_version(const char *redis_url, long long version)
    __attribute__((warn_unused_result));

/* Title case for display names: "SOUTH 24 PARGANAS" -> "South 24 Parganas". Writes a
 * NUL-terminated result of at most outlen - 1 bytes. */
void etl_title_case(const char *in, char *out, size_t outlen);

#endif
