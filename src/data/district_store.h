/*
 * Data access for the district REST API (api.c): one parameterised Postgres query per
 * call, run through pg.c on the worker's loop. Postgres renders the `data` part of each
 * answer as JSON text itself (json_build_object), so numbers reach the client exactly as
 * they are stored and the worker only splices text into the envelope.
 *
 * Metric names (the API contract) map to monthly_figures columns (source field names in
 * lower case) as follows; state figures come from state_monthly_figures (sums, and
 * ratios computed from sums, rounded to 2 decimals):
 *   households_worked            total_households_worked
 *   individuals_worked           total_individuals_worked
 *   persondays                   persondays_of_central_liability_so_far
 *   women_persondays / sc_persondays / st_persondays   the same names
 *   avg_days_per_household       average_days_of_employment_provided_per_household
 *   avg_wage_rate                average_wage_rate_per_day_per_person
 *   hh_completed_100_days        total_no_of_hhs_completed_100_days_of_wage_employment
 *   works_completed              number_of_completed_works
 *   works_ongoing                number_of_ongoing_works
 *   works_taken_up               total_no_of_works_takenup
 *   payments_within_15_days_pct  percentage_payments_gererated_within_15_days
 *   active_job_cards             total_no_of_active_job_cards
 *   active_workers               total_no_of_active_workers
 *   total_expenditure_lakh       total_exp
 *   wages_lakh                   wages
 *
 * Trend (summary): for avg_days_per_household, avg_wage_rate, payments_within_15_days_pct
 * and women_persondays (as a share of persondays) the district is "up" when its value is
 * more than DISTRICT_STORE_TREND_BAND_PCT percent above the state's, "down" when more than
 * that below, else "steady"; null when either value is missing.
 */
#ifndef HISAAB_DISTRICT_STORE_H
#define HISAAB_DISTRICT_STORE_H

#include <stddef.h>

/* Half-width of the "steady" band of a trend, in percent of the state's value. */
#define DISTRICT_STORE_TREND_BAND_PCT 5
/* Rows per query of a CSV export. */
#define DISTRICT_STORE_EXPORT_BATCH 1000

enum district_store_status {
    DISTRICT_STORE_OK = 0,
    DISTRICT_STORE_NOT_FOUND, /* unknown district or state */
    DISTRICT_STORE_NO_DATA,   /* nothing loaded by the ETL yet */
    DISTRICT_STORE_ERROR,     /* Postgres down, timeout, ...: see err */
};

/*
 * An answer. For DISTRICT_STORE_OK, text is the JSON (or, for exports, CSV) text of len
 * bytes, borrowed for the call; otherwise text is NULL. err says why for
 * DISTRICT_STORE_ERROR (borrowed; never shown to clients).
 */
typedef void (*district_store_fn)(void *arg, enum district_store_status st, const char *text,
                                  size_t len, const char *err);

/*
 * Every query below takes validated text parameters (see kore.conf's validators); lang is
 * "en" or "hi" and picks the `name` field (Hindi falls back to English when missing).
 * Each returns 0 when cb will be called exactly once, later, from the loop; -1 (cb never
 * called) when pg is not started.
 */

/* [{code,name,name_en,name_hi,districts,latest_fin_year,latest_month}] */
int district_store_states(const char *lang, district_store_fn cb, void *arg)
    __attribute__((warn_unused_result));

/*
 * Districts, optionally of one state (NULL = all; unknown state = NOT_FOUND) and matching
 * q (NULL = all): [{id,name,name_en,name_hi,state_code,state_en,state_hi}], best matches
 * first. The matching rule lives in one place (match_sql() in district_store.c).
 */
int district_store_districts(const char *lang, const char *state, const char *q,
                             district_store_fn cb, void *arg) __attribute__((warn_unused_result));

/*
 * The same list for the districts whose codes are in `codes` (a Postgres int array literal
 * such as "{1752,1707}", from the search index), in that order, optionally of one state.
 */
int district_store_districts_by_code(const char *lang, const char *state, const char *codes,
                                     district_store_fn cb, void *arg)
    __attribute__((warn_unused_result));

/* The district nearest to (lat, lon): {district:{...}, distance_km}. */
int district_store_nearby(const char *lang, double lat, double lon, district_store_fn cb, void *arg)
    __attribute__((warn_unused_result));

/*
 * The latest month of district id: {district, fin_year, month, data_as_of, stale, metrics,
 * state, last_year, trend, trend_band_pct}. stale when the newest load is older than
 * max_age_s seconds. NOT_FOUND for an unknown district or one without figures.
 */
int district_store_summary(const char *lang, const char *id, long long max_age_s,
                           district_store_fn cb, void *arg) __attribute__((warn_unused_result));

/* The last `months` months of district id, oldest first: {district, months:[{fin_year,
 * month, metrics, increments}]}. */
int district_store_history(const char *lang, const char *id, const char *months,
                           district_store_fn cb, void *arg) __attribute__((warn_unused_result));

/* The state's districts ranked by metric (one of the names above, validated by the
 * caller) in the state's latest month: {state, metric, fin_year, month, districts:[{rank,
 * value, district}]}, highest first, nulls last with rank null. */
int district_store_comparison(const char *lang, const char *state, const char *metric,
                              district_store_fn cb, void *arg) __attribute__((warn_unused_result));

/*
 * The data version (data_version.version; 0 before the first load): cb(arg, version,
 * NULL), or cb(arg, -1, err) on failure. Same returns as the queries above.
 */
typedef void (*district_store_version_fn)(void *arg, long long version, const char *err);
int district_store_version(district_store_version_fn cb, void *arg)
    __attribute__((warn_unused_result));

/* 1 if name is one of the metric names above. */
int district_store_is_metric(const char *name);

/*
 * A CSV export walks monthly_figures of one state (and optionally one financial year) in
 * key order, DISTRICT_STORE_EXPORT_BATCH rows per query (keyset pagination, so each batch
 * is an independent query and memory stays constant). Zero-initialise the cursor, then
 * call district_store_export_batch() until it reports done. The first batch checks the
 * state (NOT_FOUND / NO_DATA) and its text starts with the CSV header row.
 */
struct district_store_export {
    int started;
    int done;          /* set once a batch returned fewer rows than asked */
    char district[16]; /* key of the last row sent */
    char fin_year[16];
    char fy_month[8];
    char state[16]; /* copied from the first call */
    char year[16];  /* "" = every year */
};

/* Query the next batch; cb gets its CSV text (possibly empty). cur must outlive cb. */
int district_store_export_batch(struct district_store_export *cur, const char *state,
                                const char *fin_year, district_store_fn cb, void *arg)
    __attribute__((warn_unused_result));

#endif
