/*
 * Fetching the MGNREGA resource from the data.gov.in OGD API with libcurl (easy,
 * blocking: this runs in the hisaab-etl command, never in a server worker). Pages through
 * the query with offset/limit until the envelope's `total` is reached (CSV, which has no
 * envelope: until a page returns fewer than `limit` records). Each request has a timeout
 * and a response size cap; 429, 5xx, timeouts, connection errors and truncated bodies are
 * retried with exponential backoff (honouring Retry-After, bounded); other 4xx are not.
 * Every attempt is written to etl_fetch_log with the URL stripped of the API key: the key
 * never appears in logs, the database or error messages.
 */
#ifndef HISAAB_ETL_FETCH_H
#define HISAAB_ETL_FETCH_H

#include <libpq-fe.h>
#include <stddef.h>

#include "format.h"

#define ETL_RESOURCE_ID "ee03643a-ee4c-48c2-ac30-9f2ff26ab722"
#define ETL_DEFAULT_API_BASE "https://api.data.gov.in/resource/" ETL_RESOURCE_ID

struct etl_fetch_opts {
    const char *base;        /* resource URL (borrowed); a bare host such as
                                "https://api.data.gov.in" gets /resource/ID appended */
    const char *api_key;     /* borrowed; NULL or "" sends none */
    enum etl_format format;  /* format= asked of the API */
    long limit;              /* records per page (default 1000) */
    long timeout_ms;         /* per request (default 30000) */
    long connect_timeout_ms; /* default min(timeout, 10000) */
    long backoff_ms;         /* first retry delay, doubled each time (default 1000) */
    int max_attempts;        /* attempts per page, first included (default 4) */
    size_t max_bytes;        /* response size cap (default 64 MiB) */
    long retry_after_max_ms; /* cap on a server's Retry-After (default 60000) */
};

/*
 * Defaults, then the environment: DATA_GOV_API_BASE, DATA_GOV_API_KEY,
 * HISAAB_ETL_TIMEOUT_MS, HISAAB_ETL_BACKOFF_MS, HISAAB_ETL_ATTEMPTS, HISAAB_ETL_LIMIT,
 * HISAAB_ETL_MAX_BYTES (bad values are ignored with a warning). Strings are borrowed
 * from the environment.
 */
void etl_fetch_opts_init(struct etl_fetch_opts *o);

/*
 * Called with each page's body. Must parse it, return 0 and fill *info (records parsed,
 * total when the envelope gave one) or return -1 if the body is malformed or truncated,
 * in which case it must have undone anything it kept from that body (the page is asked
 * for again).
 */
typedef int (*etl_page_fn)(void *arg, const char *data, size_t len, struct etl_page_info *info,
                           char *err, size_t errlen);

/*
 * Fetch every page of the query (state and fin_year filters each optional: NULL or "")
 * and hand each body to fn. Attempts are logged to etl_fetch_log for run_id when db is
 * not NULL. Returns 0 when all pages were fetched, -1 when a page failed after its
 * retries (or fn stopped), with a message (never containing the key) in err.
 * *pages and *requests (if not NULL) receive the pages fetched and HTTP attempts made.
 */
int etl_fetch_all(PGconn *db, long long run_id, const struct etl_fetch_opts *o, const char *state,
                  const char *fin_year, etl_page_fn fn, void *arg, long *pages, long *requests,
                  char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * The query URL for display and etl_runs.source: base, format and filters, never the
 * key. Returns a malloc'd string; caller frees.
 */
char *etl_fetch_public_url(const struct etl_fetch_opts *o, const char *state, const char *fin_year);

#endif
