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
#include "backend/pg.h"
#include "text/search.h"

/* Largest CSV batch we build (1000 rows of ~40 short fields fit easily). */
#define EXPORT_BATCH_MAX (4u << 20)

#define LOADED "EXISTS (SELECT 1 FROM monthly_figures)"

/* "YYYY-MM" of the calendar month of row a (financial years start in April). */
#define YM(a)                                                                                      \
    "(CASE WHEN " a ".month >= 4 THEN split_part(" a ".fin_year, '-', 1)"                          \
    " ELSE split_part(" a ".fin_year, '-', 2) END || '-' || lpad(" a ".month::text, 2, '0'))"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The name in the requested language ($1). */
#define NAME(a)                                                                                    \
    "CASE WHEN $1::text = 'hi' THEN COALESCE(" a ".name_hi, " a ".name_en) ELSE " a ".name_en END"

/* A district object from districts row d and its state's names. */
#define DISTRICT_OBJ(d, s_en, s_hi)                                                                \
    "json_build_object('id', " d                                                                   \
    ".district_code, 'name', " NAME(d) ", 'name_en', " d ".name_en,"                               \
                                       " 'name_hi', " d ".name_hi, 'state_code', " d               \
                                       ".state_code, 'state_en', " s_en ","                        \
                                       " 'state_hi', " s_hi ")"

/* The API's metrics from a monthly_figures row a. */
#define DISTRICT_METRICS(a)                                                                        \
    "json_build_object('households_worked', " a ".total_households_worked,"                        \
    " 'individuals_worked', " a ".total_individuals_worked,"                                       \
    " 'persondays', " a ".persondays_of_central_liability_so_far,"                                 \
    " 'women_persondays', " a ".women_persondays,"                                                 \
    " 'sc_persondays', " a ".sc_persondays,"                                                       \
    " 'st_persondays', " a ".st_persondays,"                                                       \
    " 'avg_days_per_household', " a ".average_days_of_employment_provided_per_household,"          \
    " 'avg_wage_rate', " a ".average_wage_rate_per_day_per_person,"                                \
    " 'hh_completed_100_days', " a ".total_no_of_hhs_completed_100_days_of_wage_employment,"       \
    " 'works_completed', " a ".number_of_completed_works,"                                         \
    " 'works_ongoing', " a ".number_of_ongoing_works,"                                             \
    " 'works_taken_up', " a ".total_no_of_works_takenup,"                                          \
    " 'payments_within_15_days_pct', " a ".percentage_payments_gererated_within_15_days,"          \
    " 'active_job_cards', " a ".total_no_of_active_job_cards,"                                     \
    " 'active_workers', " a ".total_no_of_active_workers,"                                         \
    " 'total_expenditure_lakh', " a ".total_exp,"                                                  \
    " 'wages_lakh', " a ".wages)"

/* The same metrics from a state_monthly_figures row a. */
#define STATE_METRICS(a)                                                                           \
    "json_build_object('households_worked', " a ".total_households_worked,"                        \
    " 'individuals_worked', " a ".total_individuals_worked,"                                       \
    " 'persondays', " a ".persondays_of_central_liability_so_far,"                                 \
    " 'women_persondays', " a ".women_persondays,"                                                 \
    " 'sc_persondays', " a ".sc_persondays,"                                                       \
    " 'st_persondays', " a ".st_persondays,"                                                       \
    " 'avg_days_per_household', round(" a ".avg_days_per_household, 2),"                           \
    " 'avg_wage_rate', round(" a ".avg_wage_rate, 2),"                                             \
    " 'hh_completed_100_days', " a ".total_no_of_hhs_completed_100_days_of_wage_employment,"       \
    " 'works_completed', " a ".number_of_completed_works,"                                         \
    " 'works_ongoing', " a ".number_of_ongoing_works,"                                             \
    " 'works_taken_up', " a ".total_no_of_works_takenup,"                                          \
    " 'payments_within_15_days_pct', round(" a ".payments_within_15_days_pct, 2),"                 \
    " 'active_job_cards', " a ".total_no_of_active_job_cards,"                                     \
    " 'active_workers', " a ".total_no_of_active_workers,"                                         \
    " 'total_expenditure_lakh', " a ".total_exp,"                                                  \
    " 'wages_lakh', " a ".wages,"                                                                  \
    " 'districts_reporting', " a ".districts_reporting)"

#define BAND_HI "1.05"
#define BAND_LO "0.95"
/* up / down / steady of district value d against state value s. */
#define TREND(d, s)                                                                                \
    "CASE WHEN (" d ") IS NULL OR (" s ") IS NULL THEN NULL"                                       \
    " WHEN (" d ") > (" s ") * " BAND_HI " THEN 'up'"                                              \
    " WHEN (" d ") < (" s ") * " BAND_LO " THEN 'down' ELSE 'steady' END"

/* One metric of monthly_figures row f by its API name ($3). */
#define METRIC_BY_NAME                                                                             \
    "CASE $3::text"                                                                                \
    " WHEN 'households_worked' THEN f.total_households_worked::numeric"                            \
    " WHEN 'individuals_worked' THEN f.total_individuals_worked::numeric"                          \
    " WHEN 'persondays' THEN f.persondays_of_central_liability_so_far::numeric"                    \
    " WHEN 'women_persondays' THEN f.women_persondays::numeric"                                    \
    " WHEN 'sc_persondays' THEN f.sc_persondays::numeric"                                          \
    " WHEN 'st_persondays' THEN f.st_persondays::numeric"                                          \
    " WHEN 'avg_days_per_household'"                                                               \
    "  THEN f.average_days_of_employment_provided_per_household"                                   \
    " WHEN 'avg_wage_rate' THEN f.average_wage_rate_per_day_per_person"                            \
    " WHEN 'hh_completed_100_days'"                                                                \
    "  THEN f.total_no_of_hhs_completed_100_days_of_wage_employment::numeric"                      \
    " WHEN 'works_completed' THEN f.number_of_completed_works::numeric"                            \
    " WHEN 'works_ongoing' THEN f.number_of_ongoing_works::numeric"                                \
    " WHEN 'works_taken_up' THEN f.total_no_of_works_takenup::numeric"                             \
    " WHEN 'payments_within_15_days_pct' THEN f.percentage_payments_gererated_within_15_days"      \
    " WHEN 'active_job_cards' THEN f.total_no_of_active_job_cards::numeric"                        \
    " WHEN 'active_workers' THEN f.total_no_of_active_workers::numeric"                            \
    " WHEN 'total_expenditure_lakh' THEN f.total_exp"                                              \
    " WHEN 'wages_lakh' THEN f.wages END"

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

static const char states_sql[] =
    "SELECT " LOADED ", (SELECT COALESCE(json_agg(json_build_object("
    " 'code', s.state_code, 'name', " NAME(
        "s") ", 'name_en', s.name_en, 'name_hi', s.name_hi,"
             " 'districts', (SELECT count(*) FROM districts d WHERE d.state_code = s.state_code),"
             " 'latest_fin_year', l.fin_year,"
             " 'latest_month', CASE WHEN l.fin_year IS NULL THEN NULL ELSE " YM(
                 "l") " END)"
                      " ORDER BY s.state_code), '[]')"
                      " FROM states s LEFT JOIN LATERAL (SELECT f.fin_year, f.month FROM "
                      "monthly_figures f"
                      "  WHERE f.state_code = s.state_code ORDER BY f.fin_year DESC, f.fy_month "
                      "DESC LIMIT 1) l"
                      " ON true)::text";

/*
 * The district search rule over districts d for query $3 (NULL = everything) and its
 * ordering key (lower = better). A simple case-insensitive substring match on the English
 * name, the source's spelling, the Hindi name and the aliases, exact and prefix matches
 * first; to be replaced by the fuzzy matcher (search.c) when it lands.
 */
static const char *match_sql(void)
{
    return "($3::text IS NULL"
           " OR strpos(lower(d.name_en), lower($3::text)) > 0"
           " OR strpos(lower(d.name_source), lower($3::text)) > 0"
           " OR strpos(COALESCE(d.name_hi, ''), $3::text) > 0"
           " OR EXISTS (SELECT 1 FROM unnest(d.aliases) a WHERE strpos(lower(a), lower($3::text)) "
           "> 0))";
}

static const char *match_rank_sql(void)
{
    return "CASE WHEN $3::text IS NULL THEN 0"
           " WHEN lower(d.name_en) = lower($3::text) OR d.name_hi = $3::text THEN 0"
           " WHEN starts_with(lower(d.name_en), lower($3::text))"
           "  OR starts_with(COALESCE(d.name_hi, ''), $3::text) THEN 1 ELSE 2 END";
}

static const char districts_sql_head[] =
    "SELECT " LOADED ", CASE WHEN $2::int IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM states WHERE state_code = $2::int) THEN NULL ELSE"
    " (SELECT COALESCE(json_agg(" DISTRICT_OBJ("d", "s.name_en", "s.name_hi") " ORDER BY ";
static const char districts_sql_mid[] = ", d.name_en), '[]')"
                                        " FROM districts d JOIN states s USING (state_code)"
                                        " WHERE ($2::int IS NULL OR d.state_code = $2::int) AND ";
static const char districts_sql_tail[] = ")::text END";

static const char by_code_sql[] =
    "SELECT " LOADED ", CASE WHEN $2::int IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM states WHERE state_code = $2::int) THEN NULL ELSE"
    " (SELECT COALESCE(json_agg(" DISTRICT_OBJ(
        "d", "s.name_en",
        "s.name_hi") " ORDER BY array_position($3::int[], d.district_code), d.state_code), '[]')"
                     " FROM districts d JOIN states s USING (state_code)"
                     " WHERE d.district_code = ANY ($3::int[]) AND ($2::int IS NULL OR "
                     "d.state_code = $2::int))"
                     "::text END";

static const char index_sql[] =
    "SELECT d.state_code, d.district_code, d.name_en, d.name_hi, s.name_en, s.name_hi,"
    " array_to_json(d.aliases || ARRAY[lower(d.name_source)])::text"
    " FROM districts d JOIN states s USING (state_code) ORDER BY 1, 2";

static const char nearby_sql[] =
    "SELECT " LOADED ", (SELECT json_build_object('district', " DISTRICT_OBJ(
        "d", "s.name_en",
        "s.name_hi") ", 'distance_km', round(k.km::numeric, 1))"
                     " FROM districts d JOIN states s USING (state_code),"
                     " LATERAL (SELECT 6371.0088 * 2 * asin(sqrt(power(sin(radians(d.lat - "
                     "$2::float8) / 2), 2)"
                     "  + cos(radians($2::float8)) * cos(radians(d.lat))"
                     "  * power(sin(radians(d.lon - $3::float8) / 2), 2))) AS km) k"
                     " WHERE d.lat IS NOT NULL AND d.lon IS NOT NULL ORDER BY k.km, "
                     "d.district_code LIMIT 1)::text";

static const char summary_sql[] =
    "WITH d AS (SELECT d.*, s.name_en AS s_en, s.name_hi AS s_hi FROM districts d"
    "  JOIN states s USING (state_code) WHERE d.district_code = $2::int"
    "  ORDER BY d.state_code LIMIT 1),"
    " m AS (SELECT f.* FROM monthly_figures f JOIN d USING (state_code, district_code)"
    "  ORDER BY f.fin_year DESC, f.fy_month DESC LIMIT 1),"
    " st AS (SELECT x.* FROM state_monthly_figures x JOIN m USING (state_code, fin_year, month)),"
    " ly AS (SELECT f.* FROM monthly_figures f JOIN m ON f.state_code = m.state_code"
    "  AND f.district_code = m.district_code AND f.month = m.month"
    "  AND f.fin_year = (split_part(m.fin_year, '-', 1)::int - 1)::text || '-'"
    "   || split_part(m.fin_year, '-', 1)),"
    " r AS (SELECT max(finished_at) AS t FROM etl_runs WHERE status IN ('ok', 'partial'))"
    " SELECT " LOADED ", (SELECT json_build_object("
    " 'district', " DISTRICT_OBJ(
        "d", "d.s_en",
        "d.s_hi") ","
                  " 'fin_year', m.fin_year, 'month', " YM("m") ", 'data_as_of', " TS(
                      "m.loaded_at") ","
                                     " 'stale', extract(epoch FROM now() - GREATEST(m.loaded_at, "
                                     "r.t)) > $3::bigint,"
                                     " 'metrics', " DISTRICT_METRICS(
                                         "m") ","
                                              " 'state', CASE WHEN st.state_code IS NULL THEN NULL "
                                              "ELSE " STATE_METRICS(
                                                  "st") " END,"
                                                        " 'last_year', CASE WHEN ly.state_code IS "
                                                        "NULL THEN NULL ELSE json_build_object("
                                                        "  'fin_year', ly.fin_year, 'month', " YM("ly") ", 'metrics', " DISTRICT_METRICS(
                                                            "ly") ") END,"
                                                                  " 'trend', json_build_object("
                                                                  "  "
                                                                  "'avg_days_per_household',"
                                                                  " " TREND(
                                                                      "m.average_days_of_"
                                                                      "employment_provided_"
                                                                      "per_household",
                                                                      "st.avg_days_per_"
                                                                      "household") ","
                                                                                   "  "
                                                                                   "'avg_"
                                                                                   "wage_"
                                                                                   "rate',"
                                                                                   " " TREND(
                                                                                       "m."
                                                                                       "avera"
                                                                                       "ge_"
                                                                                       "wage_"
                                                                                       "rate_"
                                                                                       "per_"
                                                                                       "day_"
                                                                                       "per_"
                                                                                       "perso"
                                                                                       "n",
                                                                                       "st."
                                                                                       "avg_"
                                                                                       "wage_"
                                                                                       "rate") ","
                                                                                               "  "
                                                                                               "'pa"
                                                                                               "yme"
                                                                                               "nts"
                                                                                               "_wi"
                                                                                               "thi"
                                                                                               "n_"
                                                                                               "15_"
                                                                                               "day"
                                                                                               "s_"
                                                                                               "pct"
                                                                                               "',"
                                                                                               " " TREND(
                                                                                                   "m.percentage_payments_gererated_within_15_days",
                                                                                                   "st.payments_within_15_days_pct") ","
                                                                                                                                     "  'women_persondays', " TREND(
                                                                                                                                         "m.women_persondays::numeric / NULLIF(m.persondays_of_central_liability_so_far, 0)",
                                                                                                                                         "st.women_persondays::numeric / NULLIF(st.persondays_of_central_liability_so_far, 0)") "),"
                                                                                                                                                                                                                                " 'trend_band_pct', 5)"
                                                                                                                                                                                                                                " FROM d JOIN m ON true LEFT JOIN st ON true LEFT JOIN ly ON true, r)::text";

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
    " 'district', " DISTRICT_OBJ(
        "d", "d.s_en",
        "d.s_hi") ","
                  " 'months', (SELECT COALESCE(json_agg(json_build_object("
                  "  'fin_year', h.fin_year, 'month', " YM("h") ", 'metrics', " DISTRICT_METRICS(
                      "h") ","
                           "  'increments', json_build_object('persondays', h.i_persondays,"
                           "   'women_persondays', h.i_women, 'sc_persondays', h.i_sc, "
                           "'st_persondays', h.i_st,"
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
    " 'state', json_build_object('code', s.state_code, 'name', " NAME(
        "s") ","
             "  'name_en', s.name_en, 'name_hi', s.name_hi),"
             " 'metric', $3::text, 'order', 'desc', 'fin_year', l.fin_year,"
             " 'month', CASE WHEN l.fin_year IS NULL THEN NULL ELSE " YM(
                 "l") " END,"
                      " 'districts', (SELECT COALESCE(json_agg(json_build_object('rank', r.rnk, "
                      "'value', r.value,"
                      "  'district', " DISTRICT_OBJ(
                          "r", "s.name_en",
                          "s.name_hi") ")"
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

struct call {
    district_store_index_fn index_cb;
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
    if (pg_query(sql, n, params, done, c) != 0) {
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
    struct buf sql;
    int rc = -1;

    buf_init(&sql, 8192);
    if (buf_puts(&sql, districts_sql_head) != 0 || buf_puts(&sql, match_rank_sql()) != 0 ||
        buf_puts(&sql, districts_sql_mid) != 0 || buf_puts(&sql, match_sql()) != 0 ||
        buf_puts(&sql, districts_sql_tail) != 0) {
        log_error("district_store: search query too long");
        goto out;
    }
    rc = run(buf_cstr(&sql), 3, params, json_done, cb, arg, NULL);
out:
    buf_free(&sql);
    return rc;
}

int district_store_districts_by_code(const char *lang, const char *state, const char *codes,
                                     district_store_fn cb, void *arg)
{
    const char *params[3] = {lang, state, codes};

    return run(by_code_sql, 3, params, json_done, cb, arg, NULL);
}

static const char *col(const PGresult *res, int row, int c)
{
    return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

static void index_done(void *arg, const PGresult *res, const char *err)
{
    struct call *c = arg;
    district_store_index_fn cb = c->index_cb;
    void *cb_arg = c->arg;
    const char *aliases[SEARCH_MAX_ALIASES + 1];
    struct search_index *idx = NULL;
    struct search_district d;
    json_t *a;
    size_t k, na;
    int r, rows;

    free(c);
    if (res == NULL || PQnfields(res) != 7) {
        cb(cb_arg, NULL, err != NULL ? err : "unexpected result");
        return;
    }
    idx = search_index_new();
    rows = PQntuples(res);
    for (r = 0; r < rows; r++) {
        memset(&d, 0, sizeof(d));
        d.state_code = (int)strtol(PQgetvalue(res, r, 0), NULL, 10);    /* integer column */
        d.district_code = (int)strtol(PQgetvalue(res, r, 1), NULL, 10); /* integer column */
        d.name_en = col(res, r, 2);
        d.name_hi = col(res, r, 3);
        d.state_en = col(res, r, 4);
        d.state_hi = col(res, r, 5);
        a = PQgetisnull(res, r, 6) ? NULL : json_loads(PQgetvalue(res, r, 6), 0, NULL);
        na = 0;
        for (k = 0; json_is_array(a) && k < json_array_size(a) && na < SEARCH_MAX_ALIASES; k++)
            if (json_is_string(json_array_get(a, k)))
                aliases[na++] = json_string_value(json_array_get(a, k));
        aliases[na] = NULL;
        d.aliases = aliases;
        if (search_index_add(idx, &d) != 0)
            log_warn("district_store: district %d not indexed for search", d.district_code);
        json_decref(a);
    }
    cb(cb_arg, idx, NULL);
}

int district_store_search_index(district_store_index_fn cb, void *arg)
{
    struct call *c = xcalloc(1, sizeof(*c));
    int rc = -1;

    c->index_cb = cb;
    c->arg = arg;
    if (pg_query(index_sql, 0, NULL, index_done, c) != 0) {
        free(c);
        goto out;
    }
    rc = 0;
out:
    return rc;
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
