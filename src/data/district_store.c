/*
 * Data access for the district API; see district_store.h. Every JSON query returns one
 * row of two columns: whether any figures are loaded at all (for 503s) and the data as
 * JSON text, NULL when the district or state does not exist (404). Each call carries the
 * caller's callback in a small context freed in the pg callback.
 */
#include "data/district_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/version.h"
#include "backend/pg.h"
#include "data/district_sql.h"
#include "text/search.h"

/* Largest CSV batch we build (1000 rows of ~40 short fields fit easily). */
#define EXPORT_BATCH_MAX (4u << 20)

static const char *const metric_names[] = {
    "households_worked",
    "individuals_worked",
    "persondays",
    "women_persondays",
    "sc_persondays",
    "st_persondays",
    "avg_days_per_household",
    "avg_wage_rate",
    "hh_completed_100_days",
    "works_completed",
    "works_ongoing",
    "works_taken_up",
    "payments_within_15_days_pct",
    "active_job_cards",
    "active_workers",
    "total_expenditure_lakh",
    "wages_lakh",
    NULL,
};

/* clang-format off */

static const char states_sql[] =
    "SELECT " LOADED ", (SELECT COALESCE(json_agg(json_build_object("
    " 'code', s.state_code, 'name', " NAME("s") ", 'name_en', s.name_en, 'name_hi', s.name_hi,"
    " 'districts', (SELECT count(*) FROM districts d WHERE d.state_code = s.state_code),"
    " 'latest_fin_year', l.fin_year,"
    " 'latest_month', CASE WHEN l.fin_year IS NULL THEN NULL ELSE " YM("l") " END)"
    " ORDER BY s.state_code), '[]')"
    " FROM states s LEFT JOIN LATERAL (SELECT f.fin_year, f.month FROM monthly_figures f"
    "  WHERE f.state_code = s.state_code ORDER BY f.fin_year DESC, f.fy_month DESC LIMIT 1) l"
    " ON true)::text";

/*
 * The district search rule over districts d for query $3 (NULL = everything) and its
 * ordering key (lower = better): a case-insensitive substring match on the English name,
 * the source's spelling, the Hindi name and the aliases, exact and prefix matches first.
 * Only used until the worker's directory (with the fuzzy index, search.h) is built.
 */
#define MATCH_SQL                                                                                  \
    "($3::text IS NULL"                                                                            \
    " OR strpos(lower(d.name_en), lower($3::text)) > 0"                                            \
    " OR strpos(lower(d.name_source), lower($3::text)) > 0"                                        \
    " OR strpos(COALESCE(d.name_hi, ''), $3::text) > 0"                                            \
    " OR EXISTS (SELECT 1 FROM unnest(d.aliases || COALESCE((SELECT rd.aliases"                    \
    "  FROM ref_districts rd WHERE rd.lgd_district_code = d.lgd_district_code), '{}')) a"          \
    "  WHERE strpos(lower(a), lower($3::text)) > 0))"

#define MATCH_RANK_SQL                                                                             \
    "CASE WHEN $3::text IS NULL THEN 0"                                                            \
    " WHEN lower(d.name_en) = lower($3::text) OR d.name_hi = $3::text THEN 0"                      \
    " WHEN starts_with(lower(d.name_en), lower($3::text))"                                         \
    "  OR starts_with(COALESCE(d.name_hi, ''), $3::text) THEN 1 ELSE 2 END"

static const char districts_sql[] =
    "SELECT " LOADED ", CASE WHEN $2::int IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM states WHERE state_code = $2::int) THEN NULL ELSE"
    " (SELECT COALESCE(json_agg(" DISTRICT_OBJ("d", "s.name_en", "s.name_hi")
    "  ORDER BY " MATCH_RANK_SQL ", d.name_en), '[]')"
    " FROM districts d JOIN states s USING (state_code)"
    " WHERE ($2::int IS NULL OR d.state_code = $2::int) AND " MATCH_SQL ")::text END";

static const char by_code_sql[] =
    "SELECT " LOADED ", CASE WHEN $2::int IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM states WHERE state_code = $2::int) THEN NULL ELSE"
    " (SELECT COALESCE(json_agg(" DISTRICT_OBJ("d", "s.name_en", "s.name_hi")
    "  ORDER BY array_position($3::int[], d.district_code), d.state_code), '[]')"
    " FROM districts d JOIN states s USING (state_code)"
    " WHERE d.district_code = ANY ($3::int[]) AND ($2::int IS NULL OR d.state_code = $2::int))"
    "::text END";

static const char nearby_sql[] =
    "SELECT " LOADED ", (SELECT json_build_object('district', "
    DISTRICT_OBJ("d", "s.name_en", "s.name_hi") ", 'distance_km', round(k.km::numeric, 1))"
    " FROM districts d JOIN states s USING (state_code),"
    " LATERAL (SELECT 6371.0088 * 2 * asin(sqrt(power(sin(radians(d.lat - $2::float8) / 2), 2)"
    "  + cos(radians($2::float8)) * cos(radians(d.lat))"
    "  * power(sin(radians(d.lon - $3::float8) / 2), 2))) AS km) k"
    " WHERE d.lat IS NOT NULL AND d.lon IS NOT NULL ORDER BY k.km, d.district_code LIMIT 1)::text";

static const char summary_sql[] =
    "SELECT " LOADED ", (SELECT " SUMMARY_TEXT("$1::text", "$3::bigint") " FROM " SUMMARY_ROWS
    " WHERE d.district_code = $2::int ORDER BY d.state_code LIMIT 1)";

static const char history_sql[] =
    "WITH d AS (SELECT d.*, s.name_en AS s_en, s.name_hi AS s_hi FROM districts d"
    "  JOIN states s USING (state_code) WHERE d.district_code = $2::int"
    "  ORDER BY d.state_code LIMIT 1),"
    " h AS (SELECT f.*, i.persondays AS i_persondays, i.women_persondays AS i_women,"
    "  i.sc_persondays AS i_sc, i.st_persondays AS i_st, i.households_worked AS i_hh,"
    "  i.individuals_worked AS i_ind, i.total_exp AS i_exp, i.wages AS i_wages,"
    "  i.works_completed AS i_works, i.hh_completed_100_days AS i_hh100"
    "  FROM monthly_figures f JOIN d USING (state_code, district_code)"
    "  JOIN monthly_increments i ON i.state_code = f.state_code"
    "   AND i.district_code = f.district_code AND i.fin_year = f.fin_year AND i.month = f.month"
    "  ORDER BY f.fin_year DESC, f.fy_month DESC LIMIT $3::int)"
    " SELECT " LOADED ", (SELECT json_build_object("
    " 'district', " DISTRICT_OBJ("d", "d.s_en", "d.s_hi") ","
    " 'months', (SELECT COALESCE(json_agg(json_build_object("
    "  'fin_year', h.fin_year, 'month', " YM("h") ", 'metrics', " DISTRICT_METRICS("h") ","
    "  'increments', json_build_object('persondays', h.i_persondays,"
    "   'women_persondays', h.i_women, 'sc_persondays', h.i_sc, 'st_persondays', h.i_st,"
    "   'households_worked', h.i_hh, 'individuals_worked', h.i_ind,"
    "   'total_expenditure_lakh', h.i_exp, 'wages_lakh', h.i_wages,"
    "   'works_completed', h.i_works, 'hh_completed_100_days', h.i_hh100))"
    "  ORDER BY h.fin_year, h.fy_month), '[]') FROM h))"
    " FROM d)::text";

static const char comparison_sql[] =
    "WITH s AS (SELECT * FROM states WHERE state_code = $2::int),"
    " l AS (SELECT f.fin_year, f.month FROM monthly_figures f WHERE f.state_code = $2::int"
    "  ORDER BY f.fin_year DESC, f.fy_month DESC LIMIT 1),"
    " v AS (SELECT d.*, " METRIC_BY_NAME " AS value FROM monthly_figures f"
    "  JOIN l ON f.fin_year = l.fin_year AND f.month = l.month"
    "  JOIN districts d ON d.state_code = f.state_code AND d.district_code = f.district_code"
    "  WHERE f.state_code = $2::int),"
    " r AS (SELECT v.*, CASE WHEN v.value IS NULL THEN NULL"
    "  ELSE rank() OVER (ORDER BY v.value DESC NULLS LAST) END AS rnk FROM v)"
    " SELECT " LOADED ", (SELECT json_build_object("
    " 'state', json_build_object('code', s.state_code, 'name', " NAME("s") ","
    "  'name_en', s.name_en, 'name_hi', s.name_hi),"
    " 'metric', $3::text, 'order', 'desc', 'fin_year', l.fin_year,"
    " 'month', CASE WHEN l.fin_year IS NULL THEN NULL ELSE " YM("l") " END,"
    " 'districts', (SELECT COALESCE(json_agg(json_build_object('rank', r.rnk, 'value', r.value,"
    "  'district', " DISTRICT_OBJ("r", "s.name_en", "s.name_hi") ")"
    "  ORDER BY r.rnk NULLS LAST, r.name_en), '[]') FROM r))"
    " FROM s LEFT JOIN l ON true)::text";

/* The CSV columns after the key columns, as stored (source field names in lower case). */
#define EXPORT_COLUMNS                                                                             \
    "approved_labour_budget, average_wage_rate_per_day_per_person,"                                \
    " average_days_of_employment_provided_per_household, differently_abled_persons_worked,"        \
    " material_and_skilled_wages, number_of_completed_works, number_of_gps_with_nil_exp,"          \
    " number_of_ongoing_works, persondays_of_central_liability_so_far, sc_persondays,"             \
    " sc_workers_against_active_workers, st_persondays, st_workers_against_active_workers,"        \
    " total_adm_expenditure, total_exp, total_households_worked, total_individuals_worked,"        \
    " total_no_of_active_job_cards, total_no_of_active_workers,"                                   \
    " total_no_of_hhs_completed_100_days_of_wage_employment, total_no_of_jobcards_issued,"         \
    " total_no_of_workers, total_no_of_works_takenup, wages, women_persondays,"                    \
    " percent_of_category_b_works, percent_of_expenditure_on_agriculture_allied_works,"            \
    " percent_of_nrm_expenditure, percentage_payments_gererated_within_15_days, remarks"

static const char export_check_sql[] =
    "SELECT " LOADED ", EXISTS (SELECT 1 FROM states WHERE state_code = $1::int)";

static const char export_sql[] =
    "SELECT f.state_code, f.district_code, d.name_en AS district_name, f.fin_year, f.month,"
    " f.fy_month, " EXPORT_COLUMNS
    " FROM monthly_figures f JOIN districts d USING (state_code, district_code)"
    " WHERE f.state_code = $1::int AND ($2::text IS NULL OR f.fin_year = $2::text)"
    " AND (f.district_code, f.fin_year, f.fy_month) > ($3::int, $4::text, $5::int)"
    " ORDER BY f.district_code, f.fin_year, f.fy_month LIMIT $6::int";

/* clang-format on */

struct call {
    district_store_version_fn version_cb;
    district_store_fn cb;
    void *arg;
    struct district_store_export *cur;
};

static int is_true(const PGresult *res, int row, int col)
{
    return !PQgetisnull(res, row, col) && strcmp(PQgetvalue(res, row, col), "t") == 0;
}

static void json_done(void *arg, const PGresult *res, const char *err)
{
    struct call *c = arg;
    district_store_fn cb = c->cb;
    void *cb_arg = c->arg;

    free(c);
    if (res == NULL) {
        cb(cb_arg, DISTRICT_STORE_ERROR, NULL, 0, err != NULL ? err : "?");
    } else if (PQntuples(res) != 1 || PQnfields(res) != 2) {
        cb(cb_arg, DISTRICT_STORE_ERROR, NULL, 0, "unexpected result");
    } else if (!is_true(res, 0, 0)) {
        cb(cb_arg, DISTRICT_STORE_NO_DATA, NULL, 0, NULL);
    } else if (PQgetisnull(res, 0, 1)) {
        cb(cb_arg, DISTRICT_STORE_NOT_FOUND, NULL, 0, NULL);
    } else {
        cb(cb_arg, DISTRICT_STORE_OK, PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1), NULL);
    }
}

static int run(const char *sql, int n, const char *const *params, pg_result_fn done,
               district_store_fn cb, void *arg, struct district_store_export *cur)
{
    struct call *c = xcalloc(1, sizeof(*c));
    int rc = -1;

    c->cb = cb;
    c->arg = arg;
    c->cur = cur;
    /* A replica serves the API only once it has replayed the version this worker knows. */
    if (pg_query_read(data_version_current(), sql, n, params, done, c) != 0) {
        free(c);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

static void version_done(void *arg, const PGresult *res, const char *err)
{
    struct call *c = arg;
    district_store_version_fn cb = c->version_cb;
    void *cb_arg = c->arg;
    long long v;
    char *end;

    free(c);
    if (res == NULL) {
        cb(cb_arg, -1, err != NULL ? err : "?");
        return;
    }
    if (PQntuples(res) == 0) {
        cb(cb_arg, 0, NULL);
        return;
    }
    v = strtoll(PQgetvalue(res, 0, 0), &end, 10);
    if (PQgetisnull(res, 0, 0) || *end != '\0' || v < 0)
        cb(cb_arg, -1, "unexpected result");
    else
        cb(cb_arg, v, NULL);
}

int district_store_version(district_store_version_fn cb, void *arg)
{
    struct call *c = xcalloc(1, sizeof(*c));
    int rc = -1;

    c->version_cb = cb;
    c->arg = arg;
    if (pg_query("SELECT version FROM data_version WHERE id = 1", 0, NULL, version_done, c) != 0) {
        free(c);
        goto out;
    }
    rc = 0;
out:
    return rc;
}

int district_store_is_metric(const char *name)
{
    size_t i;

    for (i = 0; metric_names[i] != NULL; i++)
        if (strcmp(metric_names[i], name) == 0)
            return 1;
    return 0;
}

int district_store_states(const char *lang, district_store_fn cb, void *arg)
{
    const char *params[1] = {lang};

    return run(states_sql, 1, params, json_done, cb, arg, NULL);
}

int district_store_districts(const char *lang, const char *state, const char *q,
                             district_store_fn cb, void *arg)
{
    const char *params[3] = {lang, state, q};

    return run(districts_sql, 3, params, json_done, cb, arg, NULL);
}

int district_store_districts_by_code(const char *lang, const char *state, const char *codes,
                                     district_store_fn cb, void *arg)
{
    const char *params[3] = {lang, state, codes};

    return run(by_code_sql, 3, params, json_done, cb, arg, NULL);
}

int district_store_nearby(const char *lang, double lat, double lon, district_store_fn cb, void *arg)
{
    char la[32], lo[32];
    const char *params[3] = {lang, la, lo};

    snprintf(la, sizeof(la), "%.6f", lat);
    snprintf(lo, sizeof(lo), "%.6f", lon);
    return run(nearby_sql, 3, params, json_done, cb, arg, NULL);
}

int district_store_summary(const char *lang, const char *id, long long max_age_s,
                           district_store_fn cb, void *arg)
{
    char age[32];
    const char *params[3] = {lang, id, age};

    snprintf(age, sizeof(age), "%lld", max_age_s);
    return run(summary_sql, 3, params, json_done, cb, arg, NULL);
}

int district_store_history(const char *lang, const char *id, const char *months,
                           district_store_fn cb, void *arg)
{
    const char *params[3] = {lang, id, months};

    return run(history_sql, 3, params, json_done, cb, arg, NULL);
}

int district_store_comparison(const char *lang, const char *state, const char *metric,
                              district_store_fn cb, void *arg)
{
    const char *params[3] = {lang, state, metric};

    return run(comparison_sql, 3, params, json_done, cb, arg, NULL);
}

/* One CSV field: quoted when it holds a comma, quote or line break (RFC 4180). */
static int csv_field(struct buf *b, const char *s, size_t n)
{
    size_t i;
    int rc = 0;

    if (strcspn(s, ",\"\r\n") >= n)
        return buf_append(b, s, n);
    rc = buf_puts(b, "\"");
    for (i = 0; i < n && rc == 0; i++)
        rc = s[i] == '"' ? buf_puts(b, "\"\"") : buf_append(b, s + i, 1);
    return rc == 0 ? buf_puts(b, "\"") : rc;
}

static void export_rows_done(void *arg, const PGresult *res, const char *err)
{
    struct call *c = arg;
    struct district_store_export *cur = c->cur;
    district_store_fn cb = c->cb;
    void *cb_arg = c->arg;
    int rows, cols, r, k, bad = 0;
    struct buf b;

    free(c);
    if (res == NULL) {
        cb(cb_arg, DISTRICT_STORE_ERROR, NULL, 0, err != NULL ? err : "?");
        return;
    }
    rows = PQntuples(res);
    cols = PQnfields(res);
    buf_init(&b, EXPORT_BATCH_MAX);
    if (!cur->started) {
        for (k = 0; k < cols && !bad; k++)
            bad = (k > 0 && buf_puts(&b, ",") != 0) || buf_puts(&b, PQfname(res, k)) != 0;
        bad = bad || buf_puts(&b, "\r\n") != 0;
        cur->started = 1;
    }
    for (r = 0; r < rows && !bad; r++) {
        for (k = 0; k < cols && !bad; k++)
            bad = (k > 0 && buf_puts(&b, ",") != 0) ||
                  (!PQgetisnull(res, r, k) &&
                   csv_field(&b, PQgetvalue(res, r, k), (size_t)PQgetlength(res, r, k)) != 0);
        bad = bad || buf_puts(&b, "\r\n") != 0;
    }
    if (rows > 0 && cols >= 6) {
        snprintf(cur->district, sizeof(cur->district), "%s", PQgetvalue(res, rows - 1, 1));
        snprintf(cur->fin_year, sizeof(cur->fin_year), "%s", PQgetvalue(res, rows - 1, 3));
        snprintf(cur->fy_month, sizeof(cur->fy_month), "%s", PQgetvalue(res, rows - 1, 5));
    }
    cur->done = rows < DISTRICT_STORE_EXPORT_BATCH;
    if (bad)
        cb(cb_arg, DISTRICT_STORE_ERROR, NULL, 0, "export batch too large");
    else
        cb(cb_arg, DISTRICT_STORE_OK, b.len > 0 ? b.data : "", b.len, NULL);
    buf_free(&b);
}

static int export_query(struct district_store_export *cur, district_store_fn cb, void *arg)
{
    char limit[16];
    const char *params[6] = {cur->state,    cur->year[0] != '\0' ? cur->year : NULL,
                             cur->district, cur->fin_year,
                             cur->fy_month, limit};

    snprintf(limit, sizeof(limit), "%d", DISTRICT_STORE_EXPORT_BATCH);
    return run(export_sql, 6, params, export_rows_done, cb, arg, cur);
}

static void export_check_done(void *arg, const PGresult *res, const char *err)
{
    struct call *c = arg;
    struct district_store_export *cur = c->cur;
    district_store_fn cb = c->cb;
    void *cb_arg = c->arg;

    free(c);
    if (res == NULL || PQntuples(res) != 1 || PQnfields(res) != 2) {
        cb(cb_arg, DISTRICT_STORE_ERROR, NULL, 0, err != NULL ? err : "unexpected result");
    } else if (!is_true(res, 0, 0)) {
        cb(cb_arg, DISTRICT_STORE_NO_DATA, NULL, 0, NULL);
    } else if (!is_true(res, 0, 1)) {
        cb(cb_arg, DISTRICT_STORE_NOT_FOUND, NULL, 0, NULL);
    } else if (export_query(cur, cb, cb_arg) != 0) {
        cb(cb_arg, DISTRICT_STORE_ERROR, NULL, 0, "postgres not started");
    }
}

int district_store_export_batch(struct district_store_export *cur, const char *state,
                                const char *fin_year, district_store_fn cb, void *arg)
{
    const char *params[1];

    if (cur->started)
        return export_query(cur, cb, arg);
    snprintf(cur->state, sizeof(cur->state), "%s", state);
    snprintf(cur->year, sizeof(cur->year), "%s", fin_year != NULL ? fin_year : "");
    snprintf(cur->district, sizeof(cur->district), "-1");
    snprintf(cur->fin_year, sizeof(cur->fin_year), "%s", "");
    snprintf(cur->fy_month, sizeof(cur->fy_month), "0");
    params[0] = cur->state;
    return run(export_check_sql, 1, params, export_check_done, cb, arg, cur);
}
