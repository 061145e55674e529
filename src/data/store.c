/*
 * Data access for health and ETL status; see store.h. Each call allocates a small
 * context carrying the caller's callback through pg_query() and frees it in the pg
 * callback, after converting the PGresult (which pg frees when we return).
 */
#include "data/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "backend/pg.h"

/* Statuses of a run that loaded (some) data. */
#define SUCCESS_STATUSES "{ok,partial}"

static const char health_sql[] =
    "SELECT CASE WHEN n.newest IS NOT NULL"
    "  THEN GREATEST(0, floor(extract(epoch FROM now() - n.newest)))::bigint END,"
    " COALESCE((SELECT version FROM data_version WHERE id = 1), 0),"
    " EXISTS (SELECT 1 FROM monthly_figures)"
    " FROM (SELECT GREATEST("
    "  (SELECT max(finished_at) FROM etl_runs WHERE status = ANY ($1::text[])),"
    "  (SELECT max(loaded_at) FROM monthly_figures)) AS newest) n";

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const char etl_status_sql[] = "SELECT r.id, " TS("r.started_at") ", " TS(
    "r.finished_at") ","
                     " r.status, r.source, r.format, r.records_read, r.records_rejected, "
                     "r.rows_changed,"
                     " array_to_json(r.states_ok)::text, array_to_json(r.states_failed)::text, "
                     "r.error,"
                     " r.data_version, t.runs, t.failures, t.partial, t.rows"
                     " FROM (SELECT count(*) AS runs,"
                     "   count(*) FILTER (WHERE status = 'failed') AS failures,"
                     "   count(*) FILTER (WHERE status = 'partial') AS partial,"
                     "   COALESCE(sum(rows_changed), 0) AS rows FROM etl_runs) t"
                     " LEFT JOIN LATERAL (SELECT * FROM etl_runs ORDER BY id DESC LIMIT $1::int) r "
                     "ON true"
                     " ORDER BY r.id DESC";

enum {
    C_ID,
    C_STARTED,
    C_FINISHED,
    C_STATUS,
    C_SOURCE,
    C_FORMAT,
    C_READ,
    C_REJECTED,
    C_CHANGED,
    C_STATES_OK,
    C_STATES_FAILED,
    C_ERROR,
    C_VERSION,
    C_RUNS,
    C_FAILURES,
    C_PARTIAL,
    C_ROWS,
    C_NCOLS
};

struct store_call {
    store_health_fn health_cb;
    store_json_fn json_cb;
    void *arg;
};

/* A bigint column; -1 when NULL or not a number. */
static int get_ll(const PGresult *res, int row, int col, long long *out)
{
    const char *s;
    char *end;
    long long v;

    if (PQgetisnull(res, row, col))
        return -1;
    s = PQgetvalue(res, row, col);
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static json_t *json_ll(const PGresult *res, int row, int col)
{
    long long v;

    return get_ll(res, row, col, &v) == 0 ? json_integer(v) : json_null();
}

static json_t *json_text(const PGresult *res, int row, int col)
{
    json_t *v;

    if (PQgetisnull(res, row, col))
        return json_null();
    v = json_string(PQgetvalue(res, row, col));
    return v != NULL ? v : json_null(); /* not UTF-8: cannot happen in a UTF8 database */
}

/* A JSON array rendered by Postgres; [] when NULL or unparsable. */
static json_t *json_array_col(const PGresult *res, int row, int col)
{
    json_t *a;

    if (PQgetisnull(res, row, col))
        return json_array();
    a = json_loads(PQgetvalue(res, row, col), 0, NULL);
    if (a == NULL || !json_is_array(a)) {
        json_decref(a);
        return json_array();
    }
    return a;
}

static void health_done(void *arg, const PGresult *res, const char *err)
{
    struct store_call *call = arg;
    store_health_fn cb = call->health_cb;
    void *cb_arg = call->arg;
    struct store_health h;
    const char *why = err;

    free(call);
    memset(&h, 0, sizeof(h));
    if (res != NULL) {
        if (PQntuples(res) != 1 || PQnfields(res) != 3) {
            why = "unexpected result";
        } else {
            h.has_age = get_ll(res, 0, 0, &h.age_seconds) == 0;
            if (get_ll(res, 0, 1, &h.version) != 0)
                h.version = 0;
            h.loaded = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
        }
    }
    if (why != NULL)
        cb(cb_arg, NULL, why);
    else
        cb(cb_arg, &h, NULL);
}

int store_health(store_health_fn cb, void *arg)
{
    const char *params[1] = {SUCCESS_STATUSES};
    struct store_call *call;
    int rc = -1;

    call = xcalloc(1, sizeof(*call));
    call->health_cb = cb;
    call->arg = arg;
    if (pg_query(health_sql, 1, params, health_done, call) != 0) {
        free(call);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

static json_t *run_object(const PGresult *res, int row)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_ll(res, row, C_ID));
    json_object_set_new(o, "started_at", json_text(res, row, C_STARTED));
    json_object_set_new(o, "finished_at", json_text(res, row, C_FINISHED));
    json_object_set_new(o, "status", json_text(res, row, C_STATUS));
    json_object_set_new(o, "source", json_text(res, row, C_SOURCE));
    json_object_set_new(o, "format", json_text(res, row, C_FORMAT));
    json_object_set_new(o, "records_read", json_ll(res, row, C_READ));
    json_object_set_new(o, "records_rejected", json_ll(res, row, C_REJECTED));
    json_object_set_new(o, "rows_changed", json_ll(res, row, C_CHANGED));
    json_object_set_new(o, "states_ok", json_array_col(res, row, C_STATES_OK));
    json_object_set_new(o, "states_failed", json_array_col(res, row, C_STATES_FAILED));
    json_object_set_new(o, "error", json_text(res, row, C_ERROR));
    json_object_set_new(o, "data_version", json_ll(res, row, C_VERSION));
    return o;
}

static void etl_status_done(void *arg, const PGresult *res, const char *err)
{
    struct store_call *call = arg;
    store_json_fn cb = call->json_cb;
    void *cb_arg = call->arg;
    json_t *data = NULL, *runs, *totals;
    int i, n;

    free(call);
    if (res == NULL) {
        cb(cb_arg, NULL, err);
        return;
    }
    n = PQntuples(res);
    if (n < 1 || PQnfields(res) != C_NCOLS) {
        cb(cb_arg, NULL, "unexpected result");
        return;
    }
    runs = json_array();
    for (i = 0; i < n; i++)
        if (!PQgetisnull(res, i, C_ID))
            json_array_append_new(runs, run_object(res, i));
    totals = json_object();
    json_object_set_new(totals, "runs", json_ll(res, 0, C_RUNS));
    json_object_set_new(totals, "failures", json_ll(res, 0, C_FAILURES));
    json_object_set_new(totals, "partial", json_ll(res, 0, C_PARTIAL));
    json_object_set_new(totals, "rows", json_ll(res, 0, C_ROWS));
    data = json_object();
    json_object_set_new(data, "runs", runs);
    json_object_set_new(data, "totals", totals);
    cb(cb_arg, data, NULL);
}

int store_etl_status(store_json_fn cb, void *arg)
{
    char limit[16];
    const char *params[1] = {limit};
    struct store_call *call;
    int rc = -1;

    snprintf(limit, sizeof(limit), "%d", STORE_ETL_RUNS);
    call = xcalloc(1, sizeof(*call));
    call->json_cb = cb;
    call->arg = arg;
    if (pg_query(etl_status_sql, 1, params, etl_status_done, call) != 0) {
        free(call);
        goto out;
    }
    rc = 0;
out:
    return rc;
}
