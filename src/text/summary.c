/*
 * District figures for replies; see summary.h. jansson reads the summary JSON once (per
 * data version, in the directory); rendering is a template fill.
 */
#include "text/summary.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "text/grapheme.h"

/* A JSON number as a double into *v; 0 when it is one, -1 for null/missing/other. */
static int json_num(const json_t *o, const char *key, double *v)
{
    const json_t *x = o != NULL ? json_object_get(o, key) : NULL;

    if (x == NULL || !json_is_number(x))
        return -1;
    *v = json_number_value(x);
    return isfinite(*v) ? 0 : -1;
}

long long summary_round(double v)
{
    return llround(v);
}

int summary_facts_parse(const char *json, size_t len, struct summary_facts *f)
{
    const json_t *d, *metrics, *st, *x;
    json_t *root = NULL;
    const char *ym;
    double v;
    int rc = -1;

    memset(f, 0, sizeof(*f));
    root = json_loadb(json, len, 0, NULL);
    if (root == NULL || !json_is_object(root))
        goto out;
    d = json_object_get(root, "district");
    x = d != NULL ? json_object_get(d, "name") : NULL;
    if (x == NULL || !json_is_string(x) ||
        grapheme_clip(json_string_value(x), I18N_VAR_MAX_CHARS, f->name, sizeof(f->name)) != 0)
        goto out;
    x = json_object_get(root, "month");
    ym = x != NULL ? json_string_value(x) : NULL;
    if (ym == NULL || sscanf(ym, "%4d-%2d", &f->year, &f->month) != 2 || f->month < 1 ||
        f->month > 12)
        goto out;
    metrics = json_object_get(root, "metrics");
    st = json_object_get(root, "state");
    if (json_num(metrics, "households_worked", &v) == 0 && v >= 0 && v < 1e15) {
        f->families = llround(v);
        f->have_families = 1;
    }
    if (json_num(metrics, "avg_days_per_household", &v) == 0 && v >= 0 && v < 1e6) {
        f->days = v;
        f->have_days = 1;
    }
    if (json_num(metrics, "avg_wage_rate", &v) == 0 && v >= 0 && v < 1e9) {
        f->wage = v;
        f->have_wage = 1;
    }
    if (json_num(metrics, "payments_within_15_days_pct", &v) == 0 && v >= 0 && v < 1e6) {
        f->paid_pct = v;
        f->have_paid = 1;
    }
    if (json_num(st, "avg_days_per_household", &v) == 0 && v >= 0 && v < 1e6) {
        f->state_days = v;
        f->have_state_days = 1;
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int summary_facts_any(const struct summary_facts *f)
{
    return f->have_families || f->have_days || f->have_wage || f->have_paid || f->have_state_days;
}

int summary_render(enum i18n_lang lang, const char *name, const struct summary_facts *f,
                   struct buf *out)
{
    char clipped[128], month[64], fam[32], days[32], wage[32], paid[32], sdays[32];
    const char *vals[7] = {NULL};
    const char *mname;

    if (grapheme_clip(name != NULL ? name : f->name, I18N_VAR_MAX_CHARS, clipped,
                      sizeof(clipped)) != 0)
        return -1;
    vals[0] = clipped;
    if (!summary_facts_any(f))
        return i18n_render(lang, "NODATA", vals, 1, out);
    mname = lang == I18N_EN ? i18n_month_short(lang, f->month) : i18n_month_name(lang, f->month);
    if (mname == NULL)
        return -1;
    snprintf(month, sizeof(month), "%s %d", mname, f->year);
    vals[1] = month;
    if (f->have_families && i18n_group_indian(f->families, fam, sizeof(fam)) == 0)
        vals[2] = fam;
    if (f->have_days) {
        snprintf(days, sizeof(days), "%lld", summary_round(f->days));
        vals[3] = days;
    }
    if (f->have_wage) {
        snprintf(wage, sizeof(wage), "%lld", summary_round(f->wage));
        vals[4] = wage;
    }
    if (f->have_paid) {
        if (f->paid_pct >= 99.95)
            snprintf(paid, sizeof(paid), "100");
        else
            snprintf(paid, sizeof(paid), "%.1f", f->paid_pct);
        vals[5] = paid;
    }
    if (f->have_state_days) {
        snprintf(sdays, sizeof(sdays), "%lld", summary_round(f->state_days));
        vals[6] = sdays;
    }
    return i18n_render(lang, "SUMMARY", vals, 7, out);
}

int summary_format(enum i18n_lang lang, const char *json, size_t len, struct buf *out)
{
    struct summary_facts f;

    if (summary_facts_parse(json, len, &f) != 0)
        return -1;
    return summary_render(lang, NULL, &f, out);
}
