/*
 * SQL fragments shared by the data layer's queries (district_store.c for the API's
 * per-request queries, directory.c for the per-worker district directory), so that a
 * district object, a metric or a summary is written in exactly one place and every
 * path renders it the same way. Macros only: each .c builds its own statements.
 *
 * Postgres renders every answer's JSON itself (json_build_object), so numbers reach the
 * client exactly as they are stored. Language-dependent fragments take L, an SQL text
 * expression ('hi' or 'en', or a parameter such as $1::text).
 */
#ifndef HISAAB_DATA_DISTRICT_SQL_H
#define HISAAB_DATA_DISTRICT_SQL_H

/* clang-format off */

#define LOADED "EXISTS (SELECT 1 FROM monthly_figures)"

/* "YYYY-MM" of the calendar month of row a (financial years start in April). */
#define YM(a)                                                                                      \
    "(CASE WHEN " a ".month >= 4 THEN split_part(" a ".fin_year, '-', 1)"                          \
    " ELSE split_part(" a ".fin_year, '-', 2) END || '-' || lpad(" a ".month::text, 2, '0'))"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The name of row a in language L. */
#define NAME_IN(a, L)                                                                              \
    "CASE WHEN " L " = 'hi' THEN COALESCE(" a ".name_hi, " a ".name_en) ELSE " a ".name_en END"

/* The name in the requested language ($1). */
#define NAME(a) NAME_IN(a, "$1::text")

/* A district object from districts row d and its state's names, in language L. */
#define DISTRICT_OBJ_IN(d, s_en, s_hi, L)                                                          \
    "json_build_object('id', " d ".district_code, 'name', " NAME_IN(d, L) ","                      \
    " 'name_en', " d ".name_en, 'name_hi', " d ".name_hi, 'state_code', " d ".state_code,"         \
    " 'state_en', " s_en ", 'state_hi', " s_hi ")"

#define DISTRICT_OBJ(d, s_en, s_hi) DISTRICT_OBJ_IN(d, s_en, s_hi, "$1::text")

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

/*
 * Every district d (the districts row plus its state's names as s_en, s_hi) with m, its
 * latest month (NULL when it has no figures), st, the state's figures of that month, ly,
 * the same month a year earlier, and r.t, when the last good ETL run finished. The
 * summary of one district and the directory of all of them both read from here.
 */
#define SUMMARY_ROWS                                                                               \
    " (SELECT d.*, s.name_en AS s_en, s.name_hi AS s_hi FROM districts d"                          \
    "  JOIN states s USING (state_code)) d"                                                        \
    " LEFT JOIN LATERAL (SELECT f.* FROM monthly_figures f"                                        \
    "  WHERE f.state_code = d.state_code AND f.district_code = d.district_code"                    \
    "  ORDER BY f.fin_year DESC, f.fy_month DESC LIMIT 1) m ON true"                               \
    " LEFT JOIN state_monthly_figures st ON st.state_code = m.state_code"                          \
    "  AND st.fin_year = m.fin_year AND st.month = m.month"                                        \
    " LEFT JOIN monthly_figures ly ON ly.state_code = m.state_code"                                \
    "  AND ly.district_code = m.district_code AND ly.month = m.month"                              \
    "  AND ly.fin_year = (split_part(m.fin_year, '-', 1)::int - 1)::text || '-'"                   \
    "   || split_part(m.fin_year, '-', 1)"                                                         \
    " CROSS JOIN (SELECT max(finished_at) AS t FROM etl_runs"                                      \
    "  WHERE status IN ('ok', 'partial')) r"

/*
 * The summary object of a SUMMARY_ROWS row in language L, as text, or NULL when the
 * district has no figures; stale when the newest load is older than MAXAGE seconds (an
 * SQL bigint expression).
 */
#define SUMMARY_TEXT(L, MAXAGE)                                                                    \
    "CASE WHEN m.state_code IS NULL THEN NULL ELSE json_build_object("                             \
    " 'district', " DISTRICT_OBJ_IN("d", "d.s_en", "d.s_hi", L) ","                                \
    " 'fin_year', m.fin_year, 'month', " YM("m") ", 'data_as_of', " TS("m.loaded_at") ","          \
    " 'stale', extract(epoch FROM now() - GREATEST(m.loaded_at, r.t)) > " MAXAGE ","               \
    " 'metrics', " DISTRICT_METRICS("m") ","                                                       \
    " 'state', CASE WHEN st.state_code IS NULL THEN NULL ELSE " STATE_METRICS("st") " END,"        \
    " 'last_year', CASE WHEN ly.state_code IS NULL THEN NULL ELSE json_build_object("              \
    "  'fin_year', ly.fin_year, 'month', " YM("ly") ", 'metrics', " DISTRICT_METRICS("ly") ") END,"\
    " 'trend', json_build_object("                                                                 \
    "  'avg_days_per_household', "                                                                 \
    TREND("m.average_days_of_employment_provided_per_household", "st.avg_days_per_household") ","  \
    "  'avg_wage_rate', "                                                                          \
    TREND("m.average_wage_rate_per_day_per_person", "st.avg_wage_rate") ","                        \
    "  'payments_within_15_days_pct', "                                                            \
    TREND("m.percentage_payments_gererated_within_15_days", "st.payments_within_15_days_pct") ","  \
    "  'women_persondays', "                                                                       \
    TREND("m.women_persondays::numeric / NULLIF(m.persondays_of_central_liability_so_far, 0)",     \
          "st.women_persondays::numeric / NULLIF(st.persondays_of_central_liability_so_far, 0)")   \
    "), 'trend_band_pct', 5)::text END"

/* clang-format on */

#endif
