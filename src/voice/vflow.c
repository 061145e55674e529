/*
 * The call flow; see vflow.h. Each stage has a prompt (prompt()) and an answer
 * (the switch in vflow_step()); a failed answer goes through retry().
 */
#include "voice/vflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/geo.h"
#include "net/form.h"
#include "text/pin.h"

/* clang-format off */
const char *const vflow_clip_ids[] = {
    "q_welcome", "q_lang", "q_remembered_a", "q_remembered_b", "q_pin", "q_choose_a",
    "q_choose_b", "q_after", "q_no_input", "q_wrong_key", "q_pin_unknown", "q_not_loaded",
    "q_sms_sent", "q_goodbye", "q_try_later", "sil250", "sil500",
    "n1", "n2", "n3", "n4", "n5", NULL,
};
/* clang-format on */

static const char *const stage_names[] = {"start",  "lang",  "offer", "pin",
                                          "choose", "after", "end"};

const char *vflow_stage_name(enum vflow_stage s)
{
    return (unsigned)s <= VF_END ? stage_names[s] : "?";
}

static enum i18n_lang lang_of(const struct vflow_state *st)
{
    return st->has_lang ? st->lang : I18N_HI;
}

static void clip(struct vflow_out *o, enum i18n_lang lang, const char *id)
{
    if (o->nplay < VFLOW_PLAY_MAX) {
        o->play[o->nplay].kind = VI_CLIP;
        o->play[o->nplay].lang = lang;
        o->play[o->nplay].id = id;
        o->nplay++;
    }
}

/* A district's name ("d<code>"). */
static void district_clip(struct vflow_out *o, enum i18n_lang lang, int state_code, int code)
{
    if (o->nplay < VFLOW_PLAY_MAX) {
        o->play[o->nplay].kind = VI_CLIP;
        o->play[o->nplay].lang = lang;
        o->play[o->nplay].id = NULL;
        o->play[o->nplay].state_code = state_code;
        o->play[o->nplay].district_code = code;
        o->nplay++;
    }
}

static const char *digit_id(int k)
{
    static const char *const ids[] = {"n0", "n1", "n2", "n3", "n4", "n5"};

    return k >= 0 && k <= 5 ? ids[k] : "n0";
}

static void gather(struct vflow_out *o, int digits)
{
    o->gather = 1;
    o->num_digits = digits;
    o->finish_on_hash = digits > 1;
    o->timeout_s = digits > 1 ? 10 : 6;
}

/* Play the prompt of st's stage and gather its answer. */
static void prompt(const struct vflow_state *st, struct vflow_out *o)
{
    enum i18n_lang l = lang_of(st);
    int k;

    switch (st->stage) {
    case VF_LANG:
        /* Each language's choice in its own voice: "हिंदी के लिए 1 दबाइए. For English, press 2." */
        clip(o, I18N_HI, "q_lang");
        clip(o, I18N_EN, "q_lang");
        gather(o, 1);
        return;
    case VF_OFFER:
        clip(o, l, "q_remembered_a");
        district_clip(o, l, st->state_code, st->district_code);
        clip(o, l, "q_remembered_b");
        gather(o, 1);
        return;
    case VF_PIN:
        clip(o, l, "q_pin");
        gather(o, 6);
        return;
    case VF_CHOOSE:
        /* "For <district>, press <k>." for each */
        for (k = 0; k < st->nchoices; k++) {
            clip(o, l, "q_choose_a");
            district_clip(o, l, st->choice_state[k], st->choice_code[k]);
            clip(o, l, "q_choose_b");
            clip(o, l, digit_id(k + 1));
            clip(o, l, "sil250");
        }
        gather(o, 1);
        return;
    case VF_AFTER:
        clip(o, l, "q_after");
        gather(o, 1);
        return;
    case VF_START:
    case VF_END:
    default:
        return;
    }
}

static void goodbye(struct vflow_state *st, struct vflow_out *o)
{
    clip(o, lang_of(st), "q_goodbye");
    o->hangup = 1;
    o->gather = 0;
    st->stage = VF_END;
    st->tries = 0;
}

/* Enter stage s and prompt for it. */
static void enter(struct vflow_state *st, enum vflow_stage s, struct vflow_out *o)
{
    st->stage = s;
    st->tries = 0;
    prompt(st, o);
}

/* A failed answer: say why and ask again, or goodbye after VFLOW_RETRIES. */
static void retry(struct vflow_state *st, const char *why, struct vflow_out *o)
{
    st->tries++;
    if (st->tries > VFLOW_RETRIES) {
        goodbye(st, o);
        return;
    }
    clip(o, lang_of(st), why);
    prompt(st, o);
}

/* Play the summary of st's district, then the menu after it. */
static void play_summary(struct vflow_state *st, struct vflow_out *o)
{
    if (o->nplay < VFLOW_PLAY_MAX) {
        o->play[o->nplay].kind = VI_SUMMARY;
        o->play[o->nplay].lang = lang_of(st);
        o->play[o->nplay].id = NULL;
        o->play[o->nplay].state_code = st->state_code;
        o->play[o->nplay].district_code = st->district_code;
        o->nplay++;
    }
    o->summary = 1;
    clip(o, lang_of(st), "sil500");
    enter(st, VF_AFTER, o);
}

static const struct dir_district *with_data(const struct vflow_env *env, int state_code, int code)
{
    const struct dir_district *row;

    if (env->dir == NULL || code <= 0)
        return NULL;
    row = directory_get(env->dir, state_code, code);
    return row != NULL && row->has_id && geo_has_data(row) ? row : NULL;
}

/* Choose the district st will hear: play it. */
static void chosen(struct vflow_state *st, const struct dir_district *row, struct vflow_out *o)
{
    st->state_code = row->state_code;
    st->district_code = row->district_code;
    o->remember_district = 1;
    play_summary(st, o);
}

/* After the language is known: the remembered district (offered, or played at once on a
 * callback), else the PIN. What START found remembered travels in the state. */
static void after_lang(struct vflow_state *st, const struct vflow_env *env, struct vflow_out *o)
{
    const struct dir_district *row =
        st->remembered ? with_data(env, st->state_code, st->district_code) : NULL;

    st->remembered = 0;
    if (row != NULL) {
        if (st->callback) {
            o->event = "remembered";
            play_summary(st, o);
        } else {
            enter(st, VF_OFFER, o);
        }
        return;
    }
    st->state_code = st->district_code = 0;
    if (env->dir == NULL) {
        /* Nothing to look a PIN up in yet (the server has just started). */
        clip(o, lang_of(st), "q_try_later");
        goodbye(st, o);
        return;
    }
    enter(st, VF_PIN, o);
}

/* The keys of a PIN: six digits (the # that ends them is not among them). */
static void answer_pin(struct vflow_state *st, const char *digits, const struct vflow_env *env,
                       struct vflow_out *o)
{
    const struct dir_district *rows[GEO_MAX_MATCHES];
    double shares[GEO_MAX_MATCHES];
    size_t n, i;
    int pin, any_known;

    o->pin_step = 1;
    o->event = "pin";
    if (strlen(digits) != 6 || strspn(digits, "0123456789") != 6 ||
        !pin_valid(pin = atoi(digits))) {
        retry(st, "q_wrong_key", o);
        return;
    }
    n = env->dir != NULL ? geo_pin(env->dir, pin, rows, shares, GEO_MAX_MATCHES) : 0;
    if (n == 0) {
        o->event = "pin_unknown";
        retry(st, "q_pin_unknown", o);
        return;
    }
    st->nchoices = 0;
    any_known = 0;
    for (i = 0; i < n && st->nchoices < VFLOW_CHOICES; i++) {
        any_known = 1;
        /* The main district always; others when they hold a fair share of the PIN. */
        if (i > 0 && shares[i] < GEO_PIN_CHOICE_SHARE)
            continue;
        if (!rows[i]->has_id || !geo_has_data(rows[i]))
            continue;
        st->choice_state[st->nchoices] = rows[i]->state_code;
        st->choice_code[st->nchoices] = rows[i]->district_code;
        st->nchoices++;
    }
    if (st->nchoices == 0) {
        o->event = any_known ? "not_loaded" : "pin_unknown";
        retry(st, "q_not_loaded", o);
        return;
    }
    if (st->nchoices == 1) {
        const struct dir_district *row = with_data(env, st->choice_state[0], st->choice_code[0]);

        st->nchoices = 0;
        if (row != NULL) {
            chosen(st, row, o);
            return;
        }
        retry(st, "q_not_loaded", o);
        return;
    }
    enter(st, VF_CHOOSE, o);
}

int vflow_step(struct vflow_state *st, const struct vflow_input *in, const struct vflow_env *env,
               struct vflow_out *o)
{
    const char *d = in != NULL && in->digits != NULL ? in->digits : "";
    int none = d[0] == '\0';
    const struct dir_district *row;
    int k;

    memset(o, 0, sizeof(*o));
    if ((unsigned)st->stage > VF_END || st->tries < 0 || st->tries > VFLOW_RETRIES ||
        st->nchoices < 0 || st->nchoices > VFLOW_CHOICES || st->step < 0) {
        goodbye(st, o);
        return -1;
    }
    if (st->step >= VFLOW_STEPS_MAX) {
        goodbye(st, o);
        return 0;
    }
    st->step++;
    switch (st->stage) {
    case VF_START:
        o->event = "start";
        if (!st->has_lang && env->has_lang) {
            st->has_lang = 1;
            st->lang = env->lang;
        }
        if (env->has_district && with_data(env, env->state_code, env->district_code) != NULL) {
            st->remembered = 1;
            st->state_code = env->state_code;
            st->district_code = env->district_code;
        }
        if (!st->callback)
            clip(o, lang_of(st), "q_welcome");
        if (!st->has_lang) {
            enter(st, VF_LANG, o);
            return 0;
        }
        after_lang(st, env, o);
        return 0;
    case VF_LANG:
        o->event = "lang";
        if (none || (d[0] != '1' && d[0] != '2') || d[1] != '\0') {
            retry(st, none ? "q_no_input" : "q_wrong_key", o);
            return 0;
        }
        st->has_lang = 1;
        st->lang = d[0] == '1' ? I18N_HI : I18N_EN;
        o->remember_lang = 1;
        after_lang(st, env, o);
        return 0;
    case VF_OFFER:
        o->event = "offer";
        if (!none && d[1] == '\0' && d[0] == '1' &&
            (row = with_data(env, st->state_code, st->district_code)) != NULL) {
            play_summary(st, o);
            return 0;
        }
        if (!none && d[1] == '\0' && (d[0] == '2' || d[0] == '1')) {
            st->state_code = st->district_code = 0;
            enter(st, VF_PIN, o);
            return 0;
        }
        retry(st, none ? "q_no_input" : "q_wrong_key", o);
        return 0;
    case VF_PIN:
        if (none) {
            o->event = "pin";
            retry(st, "q_no_input", o);
            return 0;
        }
        answer_pin(st, d, env, o);
        return 0;
    case VF_CHOOSE:
        o->event = "choose";
        k = !none && d[1] == '\0' ? d[0] - '0' : 0;
        if (k >= 1 && k <= st->nchoices &&
            (row = with_data(env, st->choice_state[k - 1], st->choice_code[k - 1])) != NULL) {
            st->nchoices = 0;
            chosen(st, row, o);
            return 0;
        }
        retry(st, none ? "q_no_input" : "q_wrong_key", o);
        return 0;
    case VF_AFTER:
        if (!none && d[1] == '\0') {
            switch (d[0]) {
            case '1':
                o->event = "repeat";
                if (with_data(env, st->state_code, st->district_code) != NULL) {
                    play_summary(st, o);
                    return 0;
                }
                break;
            case '2':
                o->event = "sms";
                o->send_sms = 1;
                clip(o, lang_of(st), "q_sms_sent");
                enter(st, VF_AFTER, o);
                return 0;
            case '3':
                o->event = "another";
                st->state_code = st->district_code = 0;
                if (env->dir == NULL)
                    break;
                enter(st, VF_PIN, o);
                return 0;
            case '9':
                o->event = "goodbye";
                goodbye(st, o);
                return 0;
            default:
                break;
            }
        }
        o->event = "after";
        retry(st, none ? "q_no_input" : "q_wrong_key", o);
        return 0;
    case VF_END:
    default:
        o->event = "end";
        goodbye(st, o);
        return 0;
    }
}

/* ---- state in a query string --------------------------------------------------------- */

int vflow_encode(const struct vflow_state *st, struct buf *out)
{
    int k;

    if (buf_printf(out, "s=%d&t=%d&n=%d", (int)st->stage, st->tries, st->step) != 0)
        return -1;
    if (st->has_lang && buf_printf(out, "&l=%s", i18n_lang_code(st->lang)) != 0)
        return -1;
    if (st->callback && buf_puts(out, "&cb=1") != 0)
        return -1;
    if (st->remembered && buf_puts(out, "&r=1") != 0)
        return -1;
    if (st->district_code > 0 &&
        buf_printf(out, "&d=%d.%d", st->state_code, st->district_code) != 0)
        return -1;
    for (k = 0; k < st->nchoices; k++)
        if (buf_printf(out, "%s%d.%d", k == 0 ? "&c=" : "_", st->choice_state[k],
                       st->choice_code[k]) != 0)
            return -1;
    return 0;
}

/* A small non-negative integer from v, or -1. */
static int small_int(const char *v, int max)
{
    char *end;
    long n;

    if (v[0] < '0' || v[0] > '9')
        return -1;
    n = strtol(v, &end, 10);
    return *end == '\0' && n >= 0 && n <= max ? (int)n : -1;
}

/* "23.1752" */
static int pair(const char *v, int *a, int *b)
{
    char *end;
    long x, y;

    if (v[0] < '0' || v[0] > '9')
        return -1;
    x = strtol(v, &end, 10);
    if (*end != '.' || end[1] < '0' || end[1] > '9')
        return -1;
    y = strtol(end + 1, &end, 10);
    if (*end != '\0' || x <= 0 || y <= 0 || x > 1000000 || y > 1000000)
        return -1;
    *a = (int)x;
    *b = (int)y;
    return 0;
}

int vflow_decode(const char *query, size_t len, struct vflow_state *st)
{
    struct buf v;
    const char *s;
    int n, rc = -1;

    memset(st, 0, sizeof(*st));
    buf_init(&v, 256);
    if (query == NULL)
        goto done; /* a first request: VF_START */
    if (form_get(query, len, "s", &v) == 1) {
        if ((n = small_int(buf_cstr(&v), VF_END)) < 0)
            goto out;
        st->stage = (enum vflow_stage)n;
    }
    if (form_get(query, len, "t", &v) == 1) {
        if ((n = small_int(buf_cstr(&v), VFLOW_RETRIES)) < 0)
            goto out;
        st->tries = n;
    }
    if (form_get(query, len, "n", &v) == 1) {
        if ((n = small_int(buf_cstr(&v), VFLOW_STEPS_MAX)) < 0)
            goto out;
        st->step = n;
    }
    if (form_get(query, len, "l", &v) == 1) {
        if (i18n_lang_parse(buf_cstr(&v), &st->lang) != 0)
            goto out;
        st->has_lang = 1;
    }
    if (form_get(query, len, "cb", &v) == 1)
        st->callback = strcmp(buf_cstr(&v), "1") == 0;
    if (form_get(query, len, "r", &v) == 1)
        st->remembered = strcmp(buf_cstr(&v), "1") == 0;
    if (form_get(query, len, "d", &v) == 1 &&
        pair(buf_cstr(&v), &st->state_code, &st->district_code) != 0)
        goto out;
    if (form_get(query, len, "c", &v) == 1) {
        char *p = (char *)buf_cstr(&v), *sep;

        for (s = p; s != NULL && *s != '\0'; s = sep) {
            sep = strchr(s, '_');
            if (sep != NULL)
                *sep++ = '\0';
            if (st->nchoices == VFLOW_CHOICES ||
                pair(s, &st->choice_state[st->nchoices], &st->choice_code[st->nchoices]) != 0)
                goto out;
            st->nchoices++;
        }
    }
done:
    rc = 0;
out:
    buf_free(&v);
    if (rc != 0)
        memset(st, 0, sizeof(*st));
    return rc;
}
