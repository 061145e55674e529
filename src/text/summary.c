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

int summary_values(enum i18n_lang lang, const char *name, const struct summary_facts *f,
                   struct summary_values *sv)
{
    const char *mname;

    memset(sv, 0, sizeof(*sv));
    if (grapheme_clip(name != NULL ? name : f->name, I18N_VAR_MAX_CHARS, sv->name,
                      sizeof(sv->name)) != 0)
        return -1;
    sv->v[SV_NAME] = sv->name;
    mname = lang == I18N_EN ? i18n_month_short(lang, f->month) : i18n_month_name(lang, f->month);
    if (mname == NULL)
        return -1;
    snprintf(sv->month, sizeof(sv->month), "%s %d", mname, f->year);
    sv->v[SV_MONTH] = sv->month;
    if (f->have_families && i18n_group_indian(f->families, sv->families, sizeof(sv->families)) == 0)
        sv->v[SV_FAMILIES] = sv->families;
    if (f->have_days) {
        snprintf(sv->days, sizeof(sv->days), "%lld", summary_round(f->days));
        sv->v[SV_DAYS] = sv->days;
    }
    if (f->have_wage) {
        snprintf(sv->wage, sizeof(sv->wage), "%lld", summary_round(f->wage));
        sv->v[SV_WAGE] = sv->wage;
    }
    if (f->have_paid) {
        if (f->paid_pct >= 99.95)
            snprintf(sv->paid, sizeof(sv->paid), "100");
        else
            snprintf(sv->paid, sizeof(sv->paid), "%.1f", f->paid_pct);
        sv->v[SV_PAID] = sv->paid;
    }
    if (f->have_state_days) {
        snprintf(sv->state_days, sizeof(sv->state_days), "%lld", summary_round(f->state_days));
        sv->v[SV_STATE_DAYS] = sv->state_days;
    }
    return 0;
}

int summary_render(enum i18n_lang lang, const char *name, const struct summary_facts *f,
                   struct buf *out)
{
    struct summary_values sv;

    if (!summary_facts_any(f)) {
        if (grapheme_clip(name != NULL ? name : f->name, I18N_VAR_MAX_CHARS, sv.name,
                          sizeof(sv.name)) != 0)
            return -1;
        sv.v[SV_NAME] = sv.name;
        return i18n_render(lang, "NODATA", sv.v, 1, out);
    }
    if (summary_values(lang, name, f, &sv) != 0)
        return -1;
    return i18n_render(lang, "SUMMARY", sv.v, SV_COUNT, out);
}

int summary_format(enum i18n_lang lang, const char *json, size_t len, struct buf *out)
{
    struct summary_facts f;

    if (summary_facts_parse(json, len, &f) != 0)
        return -1;
    return summary_render(lang, NULL, &f, out);
}
