/*
 * A district's latest figures as plain values, and the one rendering of them every text
 * channel sends (SMS replies, USSD screens): the SUMMARY template of i18n.h, or NODATA
 * when every figure is missing. The values come from the API's summary JSON (see
 * data/district_store.h), which the district directory parses once per data version, so
 * that a reply is a template fill and nothing else.
 *
 * Rounding, the same everywhere a figure is shown: families are grouped the Indian way
 * (12,34,567); days, the wage and the state's days are rounded to whole numbers; the share
 * paid within 15 days keeps one decimal and is shown as 100 from 99.95 up (the source can
 * report more than 100). A missing figure is left out, never shown as 0.
 */
#ifndef HISAAB_TEXT_SUMMARY_H
#define HISAAB_TEXT_SUMMARY_H

#include <stddef.h>

#include "core/buf.h"
#include "text/i18n.h"

/* Figures of one district-month. A have_* flag of 0 means the figure is missing. */
struct summary_facts {
    int year, month; /* calendar year and month (1..12) of the figures */
    char name[128];  /* the district's name as the JSON gave it (clipped to 30 chars) */
    int have_families, have_days, have_wage, have_paid, have_state_days;
    long long families; /* households that got work */
    double days;        /* average days of work per household */
    double wage;        /* average daily wage, rupees */
    double paid_pct;    /* wages paid within 15 days, percent */
    double state_days;  /* the state's average days per household */
};

/*
 * Parse the summary JSON text (len bytes: {district:{name}, month:"YYYY-MM", metrics:{...},
 * state:{...}}) into *f. Returns 0, or -1 when it is not such a summary (no name, no month).
 */
int summary_facts_parse(const char *json, size_t len, struct summary_facts *f) WUR;

/* 1 when f has at least one figure (else NODATA is what to send). */
int summary_facts_any(const struct summary_facts *f);

/*
 * Append the reply for f in lang to out: SUMMARY with `name` (the district's name in
 * lang, clipped to 30 characters; NULL = f->name), or NODATA when no figure is there.
 * Returns 0, or -1 when the month is invalid or rendering fails (out's cap).
 */
int summary_render(enum i18n_lang lang, const char *name, const struct summary_facts *f,
                   struct buf *out) WUR;

/* The values of the SUMMARY template, formatted as every channel shows them; v[i] is
 * NULL for a missing figure (v[SV_NAME] and v[SV_MONTH] always set). */
enum summary_value {
    SV_NAME = 0,
    SV_MONTH,
    SV_FAMILIES,
    SV_DAYS,
    SV_WAGE,
    SV_PAID,
    SV_STATE_DAYS,
    SV_COUNT
};
struct summary_values {
    char name[128], month[64], families[32], days[32], wage[32], paid[32], state_days[32];
    const char *v[SV_COUNT];
};

/* Fill *sv from f: name as in summary_render(), the month in lang's words ("Dec 2024",
 * "दिसंबर 2024"). Returns 0, or -1 for an invalid month or a name that cannot be clipped. */
int summary_values(enum i18n_lang lang, const char *name, const struct summary_facts *f,
                   struct summary_values *sv) WUR;

/* summary_facts_parse() then summary_render() with the JSON's name. Returns 0 or -1. */
int summary_format(enum i18n_lang lang, const char *json, size_t len, struct buf *out) WUR;

/* A figure rounded to a whole number as the replies show it (half away from zero). */
long long summary_round(double v);

#endif
