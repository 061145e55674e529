/*
 * Clip ids for numbers, summaries and prompts; see speech.h. Ids are appended to the
 * caller's array through a small cursor that fails once the array is full, so every
 * public function either writes a whole sequence or reports -1 with *n = 0.
 */
#include "text/speech.h"

#include <stdio.h>

/* Sentence parts of the summary (words of each in audio/clips.tsv). */
#define S_FAMILIES "s_families"   /* <n> families got work. */
#define S_FAMILIES1 "s_families1" /* 1 family got work. */
#define S_DAYS_A "s_days_a"       /* On average, each family got <n> ... */
#define S_DAYS_B "s_days_b"       /* ... days of work, out of a hundred. */
#define S_DAYS_B1 "s_days_b1"     /* ... day of work, out of a hundred. */
#define S_WAGE_A "s_wage_a"       /* The average wage was <n> ... */
#define S_WAGE_B "s_wage_b"       /* ... rupees a day. */
#define S_PAID "s_paid"           /* <n> percent of wages were paid within fifteen days. */
#define S_STATE_A "s_state_a"     /* For the whole state, the average was <n> ... */
#define S_STATE_B "s_state_b"     /* ... days of work. */
#define S_STATE_B1 "s_state_b1"   /* ... day of work. */
#define S_NO_FAMILIES "s_no_families"
#define S_NO_DAYS "s_no_days"
#define S_NO_WAGE "s_no_wage"
#define S_NO_PAID "s_no_paid"
#define S_NO_STATE "s_no_state"
#define S_NODATA "s_nodata" /* There are no figures yet. Please call again next month. */

#define ID_HUNDRED "hundred"
#define ID_THOUSAND "thousand"
#define ID_LAKH "lakh"
#define ID_CRORE "crore"

#define TENS(t)                                                                                    \
    "n" #t "0", "n" #t "1", "n" #t "2", "n" #t "3", "n" #t "4", "n" #t "5", "n" #t "6",            \
        "n" #t "7", "n" #t "8", "n" #t "9"

static const char *const number_ids[100] = {
    "n0",    "n1",    "n2",    "n3",    "n4",    "n5",    "n6",    "n7",    "n8",   "n9",
    TENS(1), TENS(2), TENS(3), TENS(4), TENS(5), TENS(6), TENS(7), TENS(8), TENS(9)};

static const char *const month_ids[12] = {"m1", "m2", "m3", "m4",  "m5",  "m6",
                                          "m7", "m8", "m9", "m10", "m11", "m12"};

/* Every other fixed id, for speech_clip_at(). */
static const char *const other_ids[] = {ID_HUNDRED,
                                        ID_THOUSAND,
                                        ID_LAKH,
                                        ID_CRORE,
                                        SPEECH_SIL_SHORT,
                                        SPEECH_SIL_SENTENCE,
                                        SPEECH_SIL_LONG,
                                        SPEECH_Q_WELCOME,
                                        SPEECH_Q_LANG,
                                        SPEECH_Q_REMEMBERED_A,
                                        SPEECH_Q_REMEMBERED_B,
                                        SPEECH_Q_PIN,
                                        SPEECH_Q_CHOOSE_A,
                                        SPEECH_Q_CHOOSE_B,
                                        SPEECH_Q_AFTER,
                                        SPEECH_Q_NO_INPUT,
                                        SPEECH_Q_WRONG_KEY,
                                        SPEECH_Q_PIN_UNKNOWN,
                                        SPEECH_Q_NOT_LOADED,
                                        SPEECH_Q_SMS_SENT,
                                        SPEECH_Q_GOODBYE,
                                        SPEECH_Q_TRY_LATER,
                                        S_FAMILIES,
                                        S_FAMILIES1,
                                        S_DAYS_A,
                                        S_DAYS_B,
                                        S_DAYS_B1,
                                        S_WAGE_A,
                                        S_WAGE_B,
                                        S_PAID,
                                        S_STATE_A,
                                        S_STATE_B,
                                        S_STATE_B1,
                                        S_NO_FAMILIES,
                                        S_NO_DAYS,
                                        S_NO_WAGE,
                                        S_NO_PAID,
                                        S_NO_STATE,
                                        S_NODATA};

#define NOTHER (sizeof(other_ids) / sizeof(other_ids[0]))

/* Where ids are being written; `failed` sticks once one did not fit. */
struct out {
    const char **ids;
    size_t max, n;
    int failed;
};

static void put(struct out *o, const char *id)
{
    if (o->n >= o->max) {
        o->failed = 1;
        return;
    }
    o->ids[o->n++] = id;
}

/* v (0..SPEECH_NUMBER_MAX) as its ids; out of that range, o fails. */
static void put_number(struct out *o, long long v)
{
    static const struct {
        long long unit;
        const char *id;
    } groups[] = {{10000000, ID_CRORE}, {100000, ID_LAKH}, {1000, ID_THOUSAND}, {100, ID_HUNDRED}};
    size_t i;
    long long g;

    if (v < 0 || v > SPEECH_NUMBER_MAX) {
        o->failed = 1;
        return;
    }
    if (v == 0) {
        put(o, number_ids[0]);
        return;
    }
    for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
        g = v / groups[i].unit;
        v %= groups[i].unit;
        if (g == 0)
            continue;
        /* crore holds at most 99 here, lakh and thousand 99, hundred 9 */
        put(o, number_ids[g]);
        put(o, groups[i].id);
    }
    if (v > 0)
        put(o, number_ids[v]);
}

const char *speech_number_id(int k)
{
    return k >= 0 && k < 100 ? number_ids[k] : NULL;
}

const char *speech_month_id(int month)
{
    return month >= 1 && month <= 12 ? month_ids[month - 1] : NULL;
}

int speech_district_id(int code, char *out, size_t len)
{
    int w;

    if (code <= 0 || len == 0)
        return -1;
    w = snprintf(out, len, "d%d", code);
    if (w < 0 || (size_t)w >= len) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int speech_number(long long v, const char **ids, size_t max, size_t *n)
{
    struct out o = {ids, max, 0, 0};
    int rc = -1;

    put_number(&o, v);
    if (o.failed)
        goto out;
    rc = 0;
out:
    *n = rc == 0 ? o.n : 0;
    return rc;
}

/*
 * One figure's sentence: `before` <the figure> `after` (`after1` when the figure is 1), or
 * `missing` alone. The figure is rounded as the SMS rounds it (summary_round()) and held
 * to `cap` when cap is not 0.
 */
struct part {
    const char *before, *after, *after1, *missing;
    long long cap;
};

static const struct part parts[] = {
    {NULL, S_FAMILIES, S_FAMILIES1, S_NO_FAMILIES, 0},
    {S_DAYS_A, S_DAYS_B, S_DAYS_B1, S_NO_DAYS, 0},
    {S_WAGE_A, S_WAGE_B, S_WAGE_B, S_NO_WAGE, 0},
    /* a whole number here: 100 from 99.5 up, and no more (the source can pass 100) */
    {NULL, S_PAID, S_PAID, S_NO_PAID, 100},
    {S_STATE_A, S_STATE_B, S_STATE_B1, S_NO_STATE, 0},
};

#define NPARTS (sizeof(parts) / sizeof(parts[0]))

static void put_figure(struct out *o, const struct part *p, int have, double x)
{
    long long v;

    if (!have) {
        put(o, p->missing);
        return;
    }
    /* negative, not a number, or too large to say */
    if (!(x >= 0 && x < (double)SPEECH_NUMBER_MAX + 0.5)) {
        o->failed = 1;
        return;
    }
    v = summary_round(x);
    if (p->cap != 0 && v > p->cap)
        v = p->cap;
    if (p->before != NULL)
        put(o, p->before);
    put_number(o, v);
    put(o, v == 1 ? p->after1 : p->after);
}

int speech_summary(enum i18n_lang lang, const char *district_id, const struct summary_facts *f,
                   const char **ids, size_t max, size_t *n)
{
    struct out o = {ids, max, 0, 0};
    int have[NPARTS];
    double x[NPARTS];
    size_t i;
    int rc = -1;

    /* Both languages say the parts in one order (speech.h); lang only has to be known. */
    if ((lang != I18N_EN && lang != I18N_HI) || district_id == NULL || district_id[0] == '\0' ||
        f == NULL || f->month < 1 || f->month > 12 || f->year < 1 || f->year > 9999)
        goto out;
    put(&o, district_id);
    put(&o, SPEECH_SIL_SHORT);
    if (!summary_facts_any(f)) {
        put(&o, S_NODATA);
    } else {
        have[0] = f->have_families;
        x[0] = (double)f->families;
        have[1] = f->have_days;
        x[1] = f->days;
        have[2] = f->have_wage;
        x[2] = f->wage;
        have[3] = f->have_paid;
        x[3] = f->paid_pct;
        have[4] = f->have_state_days;
        x[4] = f->state_days;
        put(&o, month_ids[f->month - 1]);
        put_number(&o, f->year);
        for (i = 0; i < NPARTS; i++) {
            put(&o, SPEECH_SIL_SENTENCE);
            put_figure(&o, &parts[i], have[i], x[i]);
        }
    }
    if (o.failed)
        goto out;
    rc = 0;
out:
    *n = rc == 0 ? o.n : 0;
    return rc;
}

const char *speech_clip_at(size_t i)
{
    if (i < 100)
        return number_ids[i];
    i -= 100;
    if (i < 12)
        return month_ids[i];
    i -= 12;
    return i < NOTHER ? other_ids[i] : NULL;
}
