/*
 * The USSD menu; see umenu.h. A screen is built line by line from the wording set; a
 * list is cut into pages by trying how many of its items fit with the title and the
 * keys, from the first page on, so that a page number always names the same items
 * (the title's line is measured as the longer of the title and the "what to press" line
 * that replaces it after a wrong answer).
 */
#include "ussd/umenu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/geo.h"
#include "text/grapheme.h"
#include "text/pin.h"
#include "text/smsenc.h"
#include "text/summary.h"

#define LIST_MAX 160  /* items of one list (states, a state's districts) */
#define NAME_CHARS 24 /* characters of a name in a list */

const char *const umenu_lang_codes[UL_NLANGS] = {"hi-Latn", "hi", "en"};

static const char *const screen_names[] = {"start",     "main",    "pin",     "name", "states",
                                           "districts", "choices", "summary", "lang", "end"};

const char *umenu_screen_name(enum umenu_screen s)
{
    if ((int)s < 0 || (size_t)s >= sizeof(screen_names) / sizeof(screen_names[0]))
        return "?";
    return screen_names[s];
}

void umenu_out_init(struct umenu_out *out)
{
    memset(out, 0, sizeof(*out));
    buf_init(&out->screen, UMENU_SCREEN_MAX);
}

void umenu_out_free(struct umenu_out *out)
{
    buf_free(&out->screen);
}

size_t umenu_screen_len(const char *text, size_t len, int *ucs2)
{
    struct smsenc_info info;

    *ucs2 = 0;
    if (smsenc_analyse(text, len, &info) != 0)
        return (size_t)-1;
    *ucs2 = info.coding == SMSENC_UCS2;
    return info.units;
}

/* ---- rendering ----------------------------------------------------------------------- */

struct ctx {
    struct umenu_state *st;
    const struct umenu_env *env;
    struct umenu_out *out;
};

static enum i18n_lang script_of(enum umenu_lang l)
{
    return l == UL_HI ? I18N_HI : I18N_EN;
}

/* Append template id (n values) and a line break to b. */
static int line(const struct ctx *c, struct buf *b, const char *id, const char *const *v, size_t n)
{
    if (b->len > 0 && buf_puts(b, "\n") != 0)
        return -1;
    return i18n_set_render(c->env->words, c->st->lang, id, v, n, b);
}

static int line1(const struct ctx *c, struct buf *b, const char *id, const char *v)
{
    return line(c, b, id, &v, v != NULL ? 1 : 0);
}

static int fits(const struct ctx *c, const struct buf *b)
{
    size_t gsm = c->env->gsm_limit > 0 ? c->env->gsm_limit : UMENU_GSM_LIMIT;
    size_t ucs2 = c->env->ucs2_limit > 0 ? c->env->ucs2_limit : UMENU_UCS2_LIMIT;
    int u;
    size_t n = umenu_screen_len(b->data != NULL ? b->data : "", b->len, &u);

    return n != (size_t)-1 && n <= (u ? ucs2 : gsm);
}

/* A name clipped for a list line. */
static void clip(const char *name, char *out, size_t n)
{
    if (grapheme_clip(name != NULL ? name : "?", NAME_CHARS, out, n) != 0)
        snprintf(out, n, "?");
}

/* One list: items with a numbered line each (numbered 0: lines as they are). */
struct list {
    size_t n;
    const char *text[LIST_MAX];
    int a[LIST_MAX], b[LIST_MAX]; /* what an item names (state, district codes) */
    int numbered;
};

/* The keys of a page, for the "what to press" line: "1-4, 98, 0" (lead: keys of the
 * footer that come first, "1" for a summary's SMS). */
static void keys_of(size_t k, const char *lead, int more, int back, char *out, size_t n)
{
    char tail[16];

    snprintf(tail, sizeof(tail), "%s%s", more ? ", 98" : "", back ? ", 0" : "");
    if (k == 0 && lead != NULL)
        snprintf(out, n, "%s%s", lead, tail);
    else if (k == 0)
        snprintf(out, n, "%s", tail[0] != '\0' ? tail + 2 : "0");
    else if (k == 1)
        snprintf(out, n, "1%s", tail);
    else
        snprintf(out, n, "1-%zu%s", k, tail);
}

/*
 * Render page `page` of list l under title (a rendered line), then the footer ids.
 * wrong: the title's line says what to press instead. *first and *count get the page's
 * items. Returns 0, or -1 when the page does not exist or rendering failed.
 */
static int render_list(const struct ctx *c, const char *title0, const struct list *l, int page,
                       const char *const *footer, size_t nfooter, const char *lead, int wrong,
                       size_t *first, size_t *count)
{
    /* A leading '\x01' in the title: it heads the first page only (a summary's later
     * pages go on with the figures). */
    int first_only = title0[0] == '\x01';
    const char *title = first_only ? title0 + 1 : title0;
    struct buf t, hint;
    size_t start = 0, k, best, i, f;
    char key[8], keys[32];
    int pg, rc = -1, more;

    buf_init(&t, UMENU_SCREEN_MAX);
    buf_init(&hint, UMENU_SCREEN_MAX);
    /* The widest "what to press" line a page can need, to measure the title's line. */
    keys_of(l->numbered ? UMENU_PAGE_MAX : 0, lead, 1, 1, keys, sizeof(keys));
    if (line1(c, &hint, "WRONG", keys) != 0)
        goto out;
    for (pg = 0;; pg++) {
        if (start >= l->n && (pg > 0 || l->n > 0))
            goto out; /* past the last page */
        best = 0;
        if (first_only && pg == 1)
            title = "";
        for (k = 1; k <= UMENU_PAGE_MAX && start + k <= l->n; k++) {
            buf_reset(&t);
            more = start + k < l->n;
            if (buf_puts(&t, strlen(title) > hint.len ? title : buf_cstr(&hint)) != 0)
                goto out;
            for (i = start; i < start + k; i++) {
                if (l->numbered) {
                    const char *v[2];

                    snprintf(key, sizeof(key), "%zu", i - start + 1);
                    v[0] = key;
                    v[1] = l->text[i];
                    if (line(c, &t, "ITEM", v, 2) != 0)
                        goto out;
                } else if (buf_printf(&t, "%s%s", t.len > 0 ? "\n" : "", l->text[i]) != 0) {
                    goto out;
                }
            }
            if (more && line(c, &t, "NEXT", NULL, 0) != 0)
                goto out;
            for (f = 0; f < nfooter; f++)
                if (line(c, &t, footer[f], NULL, 0) != 0)
                    goto out;
            if (!fits(c, &t))
                break;
            best = k;
        }
        if (best == 0 && start < l->n)
            best = 1; /* one item always makes a page, whatever its length */
        if (pg == page)
            break;
        start += best;
    }
    /* The page itself. */
    more = start + best < l->n;
    if (wrong) {
        keys_of(l->numbered ? best : 0, lead, more, 1, keys, sizeof(keys));
        buf_reset(&hint);
        if (line1(c, &hint, "WRONG", keys) != 0 || buf_puts(&c->out->screen, buf_cstr(&hint)) != 0)
            goto out;
    } else if (buf_puts(&c->out->screen, title) != 0) {
        goto out;
    }
    for (i = start; i < start + best; i++) {
        if (l->numbered) {
            const char *v[2];

            snprintf(key, sizeof(key), "%zu", i - start + 1);
            v[0] = key;
            v[1] = l->text[i];
            if (line(c, &c->out->screen, "ITEM", v, 2) != 0)
                goto out;
        } else if (buf_printf(&c->out->screen, "%s%s", c->out->screen.len > 0 ? "\n" : "",
                              l->text[i]) != 0) {
            goto out;
        }
    }
    if (more && line(c, &c->out->screen, "NEXT", NULL, 0) != 0)
        goto out;
    for (f = 0; f < nfooter; f++)
        if (line(c, &c->out->screen, footer[f], NULL, 0) != 0)
            goto out;
    *first = start;
    *count = best;
    rc = 0;
out:
    buf_free(&t);
    buf_free(&hint);
    return rc;
}

/* ---- lists from the directory -------------------------------------------------------- */

/* Names live in a pool for the step: one list's worth. */
struct pool {
    char names[LIST_MAX][128];
};

static enum umenu_lang sort_lang;

static int by_name(const void *pa, const void *pb)
{
    const char *const *a = pa, *const *b = pb;

    /* Latin: case-insensitive; Devanagari: code point order, which is the order of the
     * alphabet (vowels, then consonants varga by varga). */
    return sort_lang == UL_HI ? strcmp(*a, *b) : strcasecmp(*a, *b);
}

/* Sort l (text with its codes) by text. */
static void sort_list(struct list *l, enum umenu_lang lang)
{
    const char *idx[LIST_MAX];
    int a[LIST_MAX], b[LIST_MAX];
    size_t i, j;

    sort_lang = lang;
    for (i = 0; i < l->n; i++)
        idx[i] = l->text[i];
    qsort(idx, l->n, sizeof(idx[0]), by_name);
    /* Re-pair codes with their sorted texts (texts are pool pointers, unique). */
    for (i = 0; i < l->n; i++)
        for (j = 0; j < l->n; j++)
            if (l->text[j] == idx[i]) {
                a[i] = l->a[j];
                b[i] = l->b[j];
                break;
            }
    for (i = 0; i < l->n; i++) {
        l->text[i] = idx[i];
        l->a[i] = a[i];
        l->b[i] = b[i];
    }
}

/* The states that have districts with figures. */
static void states_list(const struct ctx *c, struct list *l, struct pool *p)
{
    const struct directory *d = c->env->dir;
    enum i18n_lang s = script_of(c->st->lang);
    size_t i, j;

    memset(l, 0, sizeof(*l));
    l->numbered = 1;
    for (i = 0; i < d->n && l->n < LIST_MAX; i++) {
        const struct dir_district *r = &d->rows[i];

        if (!r->has_id)
            continue;
        for (j = 0; j < l->n; j++)
            if (l->a[j] == r->state_code)
                break;
        if (j < l->n)
            continue;
        clip(r->state[s], p->names[l->n], sizeof(p->names[0]));
        l->text[l->n] = p->names[l->n];
        l->a[l->n] = r->state_code;
        l->n++;
    }
    sort_list(l, c->st->lang);
}

/* The districts of state code sc (with an id). */
static void districts_list(const struct ctx *c, int sc, struct list *l, struct pool *p)
{
    const struct directory *d = c->env->dir;
    enum i18n_lang s = script_of(c->st->lang);
    size_t i;

    memset(l, 0, sizeof(*l));
    l->numbered = 1;
    for (i = 0; i < d->n && l->n < LIST_MAX; i++) {
        const struct dir_district *r = &d->rows[i];

        if (!r->has_id || r->state_code != sc)
            continue;
        clip(r->name[s], p->names[l->n], sizeof(p->names[0]));
        l->text[l->n] = p->names[l->n];
        l->a[l->n] = r->state_code;
        l->b[l->n] = r->district_code;
        l->n++;
    }
    sort_list(l, c->st->lang);
}

/* The choices of the state, as "Name (State)". */
static void choices_list(const struct ctx *c, struct list *l, struct pool *p)
{
    enum i18n_lang s = script_of(c->st->lang);
    char name[128], state[128], both[300];
    int i;

    memset(l, 0, sizeof(*l));
    l->numbered = 1;
    for (i = 0; i < c->st->nchoices; i++) {
        const struct dir_district *r =
            directory_get(c->env->dir, c->st->choice_state[i], c->st->choice_code[i]);

        if (r == NULL)
            continue;
        clip(r->name[s], name, sizeof(name));
        if (grapheme_clip(s == I18N_HI ? r->state[s] : r->state_short, 12, state, sizeof(state)) !=
            0)
            state[0] = '\0';
        snprintf(both, sizeof(both), "%s (%s)", name, state[0] != '\0' ? state : "-");
        if (grapheme_clip(both, I18N_VAR_MAX_CHARS, p->names[l->n], sizeof(p->names[0])) != 0)
            snprintf(p->names[l->n], sizeof(p->names[0]), "?");
        l->text[l->n] = p->names[l->n];
        l->a[l->n] = r->state_code;
        l->b[l->n] = r->district_code;
        l->n++;
    }
}

/* ---- screens ------------------------------------------------------------------------- */

static const struct dir_district *remembered(const struct ctx *c)
{
    if (!c->env->has_district || c->env->dir == NULL)
        return NULL;
    return directory_get(c->env->dir, c->env->state_code, c->env->district_code);
}

static int main_screen(const struct ctx *c, int wrong, const struct dir_district *r, size_t chars)
{
    struct buf *b = &c->out->screen;
    char name[128], keys[16];

    buf_reset(b);
    if (wrong) {
        snprintf(keys, sizeof(keys), "%s", r != NULL ? "1-5" : "2-5");
        if (line1(c, b, "WRONG", keys) != 0)
            return -1;
    } else if (line(c, b, "TITLE", NULL, 0) != 0) {
        return -1;
    }
    if (r != NULL) {
        if (grapheme_clip(r->name[script_of(c->st->lang)], chars, name, sizeof(name)) != 0 ||
            name[0] == '\0')
            snprintf(name, sizeof(name), "%d", r->district_code);
        if (line1(c, b, "MAIN_MINE", name) != 0)
            return -1;
    }
    if (line(c, b, "MAIN_PIN", NULL, 0) != 0 || line(c, b, "MAIN_NAME", NULL, 0) != 0 ||
        line(c, b, "MAIN_STATE", NULL, 0) != 0 || line(c, b, "MAIN_LANG", NULL, 0) != 0)
        return -1;
    return 0;
}

static int show_main(const struct ctx *c, int wrong)
{
    const struct dir_district *r = remembered(c);
    size_t chars;

    c->st->screen = UM_MAIN;
    c->st->page = 0;
    /* The remembered district's name as long as the screen allows. */
    for (chars = 20; chars >= 4; chars--)
        if (main_screen(c, wrong, r, chars) == 0 && (r == NULL || fits(c, &c->out->screen)))
            return 0;
    return main_screen(c, wrong, r, 4);
}

/* PIN or NAME: the question, a line on what went wrong (id NULL: none), 0 back. */
static int show_ask(const struct ctx *c, enum umenu_screen s, const char *problem)
{
    struct buf *b = &c->out->screen;

    c->st->screen = s;
    if (problem != NULL && line(c, b, problem, NULL, 0) != 0)
        return -1;
    if (line(c, b, s == UM_PIN ? "ASK_PIN" : "ASK_NAME", NULL, 0) != 0 ||
        line(c, b, "BACK", NULL, 0) != 0)
        return -1;
    return 0;
}

static int show_lang(const struct ctx *c, int wrong)
{
    struct buf *b = &c->out->screen;

    c->st->screen = UM_LANG;
    if (wrong && line(c, b, "LANG_WRONG", NULL, 0) != 0)
        return -1;
    if (line(c, b, "LANG_TITLE", NULL, 0) != 0 || line(c, b, "LANG_HI", NULL, 0) != 0 ||
        line(c, b, "LANG_EN", NULL, 0) != 0 || line(c, b, "LANG_HL", NULL, 0) != 0 ||
        line(c, b, "LANG_BACK", NULL, 0) != 0)
        return -1;
    return 0;
}

static const char *const list_footer[] = {"BACK"};

/* The title and the items of a list screen: the states, a state's districts (sc), the
 * choices. Returns 0, or -1 (nothing to list, or the title cannot be rendered). */
static int list_of(const struct ctx *c, enum umenu_screen kind, int sc, struct buf *title,
                   struct list *l, struct pool *p)
{
    char state[128] = "?";
    size_t i;

    if (kind == UM_STATES) {
        states_list(c, l, p);
        return line(c, title, "PICK_STATE", NULL, 0);
    }
    if (kind == UM_CHOICES) {
        choices_list(c, l, p);
        return line(c, title, "PICK_CHOICE", NULL, 0);
    }
    for (i = 0; i < c->env->dir->n; i++)
        if (c->env->dir->rows[i].has_id && c->env->dir->rows[i].state_code == sc) {
            clip(c->env->dir->rows[i].state[script_of(c->st->lang)], state, sizeof(state));
            break;
        }
    districts_list(c, sc, l, p);
    if (l->n == 0)
        return -1;
    return line1(c, title, "PICK_DISTRICT", state);
}

static int show_list(const struct ctx *c, enum umenu_screen kind, int sc, int page, int wrong)
{
    struct list *l = malloc(sizeof(*l));
    struct pool *p = malloc(sizeof(*p));
    struct buf title;
    size_t first, count;
    int rc = -1;

    buf_init(&title, UMENU_SCREEN_MAX);
    if (l == NULL || p == NULL || list_of(c, kind, sc, &title, l, p) != 0)
        goto out;
    c->st->screen = kind;
    if (kind == UM_DISTRICTS)
        c->st->list_state = sc;
    c->st->page = page;
    rc = render_list(c, buf_cstr(&title), l, page, list_footer, 1, NULL, wrong, &first, &count);
out:
    buf_free(&title);
    free(l);
    free(p);
    return rc;
}

static int show_states(const struct ctx *c, int page, int wrong)
{
    return show_list(c, UM_STATES, 0, page, wrong);
}

static int show_districts(const struct ctx *c, int sc, int page, int wrong)
{
    return show_list(c, UM_DISTRICTS, sc, page, wrong);
}

static int show_choices(const struct ctx *c, int wrong)
{
    return show_list(c, UM_CHOICES, 0, 0, wrong);
}

static const char *const summary_footer[] = {"SEND_SMS", "MENU"};
static const char *const nodata_footer[] = {"MENU"};

/* The summary of (sc, dc), page `page`. */
static int show_summary(const struct ctx *c, int sc, int dc, int page, int wrong)
{
    const struct dir_district *r = directory_get(c->env->dir, sc, dc);
    enum i18n_lang s = script_of(c->st->lang);
    static const char *const ids[] = {"SUM_FAMILIES", "SUM_DAYS", "SUM_WAGE", "SUM_PAID",
                                      "SUM_STATE"};
    struct summary_values sv;
    struct buf head, lines[5];
    struct list l;
    size_t first, count, i;
    int rc = -1, facts;

    if (r == NULL)
        return -1;
    buf_init(&head, UMENU_SCREEN_MAX);
    for (i = 0; i < 5; i++)
        buf_init(&lines[i], 256);
    memset(&l, 0, sizeof(l));
    c->st->screen = UM_SUMMARY;
    c->st->state_code = sc;
    c->st->district_code = dc;
    c->st->page = page;
    facts = r->has_facts && summary_facts_any(&r->facts);
    if (summary_values(s, r->name[s], &r->facts, &sv) != 0) {
        memset(&sv, 0, sizeof(sv));
        if (grapheme_clip(r->name[s], I18N_VAR_MAX_CHARS, sv.name, sizeof(sv.name)) != 0)
            snprintf(sv.name, sizeof(sv.name), "?");
        sv.v[SV_NAME] = sv.name;
        facts = 0;
    }
    if (!facts) {
        if (line1(c, &head, r->has_id ? "NODATA" : "NOT_LOADED", sv.v[SV_NAME]) != 0)
            goto out;
        rc = render_list(c, buf_cstr(&head), &l, 0, nodata_footer, 1, NULL, wrong, &first, &count);
        goto out;
    }
    /* The district and month head the first page only. */
    if (buf_puts(&head, "\x01") != 0 ||
        i18n_set_render(c->env->words, c->st->lang, "SUM_HEAD", sv.v, 2, &head) != 0)
        goto out;
    for (i = 0; i < 5; i++) {
        if (sv.v[SV_FAMILIES + i] == NULL)
            continue;
        if (line1(c, &lines[i], ids[i], sv.v[SV_FAMILIES + i]) != 0)
            goto out;
        l.text[l.n++] = buf_cstr(&lines[i]);
    }
    c->out->summary = !wrong;
    c->out->remember_district = r->has_id && page == 0 && !wrong;
    c->out->state_code = sc;
    c->out->district_code = dc;
    rc = render_list(c, buf_cstr(&head), &l, page, summary_footer, 2, "1", wrong, &first, &count);
out:
    buf_free(&head);
    for (i = 0; i < 5; i++)
        buf_free(&lines[i]);
    return rc;
}

static int show_end(const struct ctx *c, const char *id)
{
    c->st->screen = UM_END;
    c->out->end = 1;
    return line(c, &c->out->screen, id, NULL, 0);
}

/* ---- input --------------------------------------------------------------------------- */

/* A key: 1 to 3 digits, spaces around allowed. -1 for anything else. */
static int key_of(const char *in)
{
    char buf[8];
    size_t n = 0;
    long v;
    char *end;

    while (*in == ' ')
        in++;
    while (in[n] >= '0' && in[n] <= '9' && n < 3)
        n++;
    if (n == 0)
        return -1;
    memcpy(buf, in, n);
    buf[n] = '\0';
    for (in += n; *in == ' '; in++)
        ;
    if (*in != '\0')
        return -1;
    v = strtol(buf, &end, 10);
    return (int)v;
}

/* Go to the summary of a found district, or a choice between several. */
static int found(const struct ctx *c, const struct geo_lookup *g)
{
    size_t i, n = g->close > 1 ? g->close : 1;

    if (n == 1)
        return show_summary(c, g->m[0].row->state_code, g->m[0].row->district_code, 0, 0);
    if (n > UMENU_CHOICES)
        n = UMENU_CHOICES;
    c->st->nchoices = (int)n;
    for (i = 0; i < n; i++) {
        c->st->choice_state[i] = g->m[i].row->state_code;
        c->st->choice_code[i] = g->m[i].row->district_code;
    }
    return show_choices(c, 0);
}

/* Pick item k (1-based) of page st->page of list l; 0 when k is not on the page. */
static int pick(const struct ctx *c, const char *title, const struct list *l, int k, int *a, int *b)
{
    struct umenu_out scratch;
    struct ctx t = *c;
    size_t first = 0, count = 0;
    int rc;

    /* The page's extent, measured the way it was shown. */
    umenu_out_init(&scratch);
    t.out = &scratch;
    rc = render_list(&t, title, l, c->st->page, list_footer, 1, NULL, 0, &first, &count);
    umenu_out_free(&scratch);
    if (rc != 0 || k < 1 || (size_t)k > count)
        return 0;
    *a = l->a[first + (size_t)k - 1];
    *b = l->b[first + (size_t)k - 1];
    return 1;
}

/* Does page st->page + 1 of the list exist? */
static int has_page(const struct ctx *c, const char *title, const struct list *l, int page)
{
    struct umenu_out scratch;
    struct ctx t = *c;
    size_t first, count;
    int rc;

    umenu_out_init(&scratch);
    t.out = &scratch;
    rc = render_list(&t, title, l, page, list_footer, 1, NULL, 0, &first, &count);
    umenu_out_free(&scratch);
    return rc == 0 && count > 0;
}

static int on_list(const struct ctx *c, int k, int districts)
{
    struct list *l = malloc(sizeof(*l));
    struct pool *p = malloc(sizeof(*p));
    struct buf title;
    int a = 0, b = 0, rc = -1, sc = c->st->list_state, page = c->st->page;

    buf_init(&title, UMENU_SCREEN_MAX);
    if (l == NULL || p == NULL ||
        list_of(c, districts ? UM_DISTRICTS : UM_STATES, sc, &title, l, p) != 0)
        goto out;
    if (k == 0) {
        c->out->event = "back";
        if (page > 0)
            rc = districts ? show_districts(c, sc, page - 1, 0) : show_states(c, page - 1, 0);
        else
            rc = districts ? show_states(c, 0, 0) : show_main(c, 0);
    } else if (k == 98 && has_page(c, buf_cstr(&title), l, page + 1)) {
        c->out->event = "next";
        rc = districts ? show_districts(c, sc, page + 1, 0) : show_states(c, page + 1, 0);
    } else if (k > 0 && k <= UMENU_PAGE_MAX && pick(c, buf_cstr(&title), l, k, &a, &b)) {
        c->out->event = districts ? "district" : "state";
        rc = districts ? show_summary(c, a, b, 0, 0) : show_districts(c, a, 0, 0);
    } else {
        c->out->wrong = 1;
        rc = districts ? show_districts(c, sc, page, 1) : show_states(c, page, 1);
    }
out:
    buf_free(&title);
    free(l);
    free(p);
    return rc;
}

static int on_pin(const struct ctx *c, const char *in)
{
    struct geo_lookup g;
    int k = key_of(in), pin;

    if (k == 0)
        return show_main(c, 0);
    pin = pin_parse(in, strlen(in));
    if (pin == 0) {
        c->out->wrong = 1;
        return show_ask(c, UM_PIN, "BAD_PIN");
    }
    c->out->pin_step = 1;
    c->out->event = "pin";
    geo_lookup(c->env->dir, in, &g);
    if (g.n == 0) {
        c->out->wrong = 1;
        return show_ask(c, UM_PIN, "PIN_UNKNOWN");
    }
    return found(c, &g);
}

static int on_name(const struct ctx *c, const char *in)
{
    struct geo_lookup g;
    const char *p = in;

    while (*p == ' ')
        p++;
    if (key_of(in) == 0)
        return show_main(c, 0);
    c->out->event = "name";
    if (*p == '\0') {
        c->out->wrong = 1;
        return show_ask(c, UM_NAME, NULL);
    }
    geo_lookup(c->env->dir, in, &g);
    if (g.n == 0) {
        c->out->wrong = 1;
        return show_ask(c, UM_NAME, "NAME_UNKNOWN");
    }
    if (g.pin != 0)
        c->out->pin_step = 1;
    return found(c, &g);
}

static int on_main(const struct ctx *c, int k)
{
    const struct dir_district *r = remembered(c);

    switch (k) {
    case 1:
        if (r == NULL)
            break;
        c->out->event = "mine";
        return show_summary(c, r->state_code, r->district_code, 0, 0);
    case 2:
        c->out->event = "ask_pin";
        return show_ask(c, UM_PIN, NULL);
    case 3:
        c->out->event = "ask_name";
        return show_ask(c, UM_NAME, NULL);
    case 4:
        c->out->event = "states";
        return show_states(c, 0, 0);
    case 5:
        c->out->event = "ask_lang";
        return show_lang(c, 0);
    default:
        break;
    }
    c->out->wrong = 1;
    return show_main(c, 1);
}

static int on_lang(const struct ctx *c, int k)
{
    static const enum umenu_lang langs[] = {UL_HI, UL_EN, UL_HL};

    if (k == 0)
        return show_main(c, 0);
    if (k < 1 || k > 3) {
        c->out->wrong = 1;
        return show_lang(c, 1);
    }
    c->st->lang = langs[k - 1];
    c->out->event = "lang";
    c->out->remember_lang = 1;
    c->out->lang = c->st->lang == UL_EN ? I18N_EN : I18N_HI;
    return show_main(c, 0);
}

static int on_summary(const struct ctx *c, int k)
{
    const struct dir_district *r =
        directory_get(c->env->dir, c->st->state_code, c->st->district_code);
    int facts = r != NULL && r->has_facts && summary_facts_any(&r->facts);

    if (k == 0)
        return show_main(c, 0);
    if (k == 1 && facts) {
        c->out->event = "sms";
        c->out->send_sms = 1;
        c->out->state_code = c->st->state_code;
        c->out->district_code = c->st->district_code;
        /* The SMS is in Devanagari only for who chose it: romanised Hindi readers get
         * English, which their phones show. */
        c->out->lang = c->st->lang == UL_HI ? I18N_HI : I18N_EN;
        return show_end(c, "SMS_SENT");
    }
    if (k == 98 && facts) {
        struct umenu_state probe = *c->st;
        struct umenu_out scratch;
        struct ctx t = *c;
        int rc;

        /* Only when there is a next page. */
        umenu_out_init(&scratch);
        t.st = &probe;
        t.out = &scratch;
        rc = show_summary(&t, c->st->state_code, c->st->district_code, c->st->page + 1, 0);
        umenu_out_free(&scratch);
        if (rc == 0) {
            c->out->event = "next";
            return show_summary(c, c->st->state_code, c->st->district_code, c->st->page + 1, 0);
        }
    }
    c->out->wrong = 1;
    return show_summary(c, c->st->state_code, c->st->district_code, c->st->page, 1);
}

static int on_choice(const struct ctx *c, int k)
{
    if (k == 0)
        return show_main(c, 0);
    if (k >= 1 && k <= c->st->nchoices &&
        directory_get(c->env->dir, c->st->choice_state[k - 1], c->st->choice_code[k - 1]) != NULL) {
        c->out->event = "choice";
        return show_summary(c, c->st->choice_state[k - 1], c->st->choice_code[k - 1], 0, 0);
    }
    c->out->wrong = 1;
    return show_choices(c, 1);
}

int umenu_step(struct umenu_state *st, const char *input, const struct umenu_env *env,
               struct umenu_out *out)
{
    struct ctx c = {st, env, out};
    enum umenu_screen was = st->screen;
    int rc, k;

    {
        struct buf screen = out->screen;

        memset(out, 0, sizeof(*out));
        out->screen = screen;
        buf_reset(&out->screen);
    }
    out->event = "menu";
    if ((int)st->lang < 0 || st->lang >= UL_NLANGS)
        st->lang = UL_HL;
    if (env->words == NULL) {
        st->screen = UM_END;
        out->end = 1;
        return -1; /* nothing to say it with: the channel's own words */
    }
    if (env->dir == NULL) {
        rc = show_end(&c, "SORRY");
        out->event = "no_directory";
        return rc;
    }
    if (input == NULL)
        input = "";
    if (was == UM_START) {
        st->lang = env->has_lang && env->lang == I18N_EN ? UL_EN : UL_HL;
        st->step = 1;
        out->event = "start";
        return show_main(&c, 0);
    }
    if (++st->step > UMENU_STEPS_MAX) {
        out->event = "too_long";
        return show_end(&c, "BYE");
    }
    k = key_of(input);
    switch (was) {
    case UM_MAIN:
        rc = on_main(&c, k);
        break;
    case UM_PIN:
        rc = on_pin(&c, input);
        break;
    case UM_NAME:
        rc = on_name(&c, input);
        break;
    case UM_STATES:
        rc = on_list(&c, k, 0);
        break;
    case UM_DISTRICTS:
        rc = on_list(&c, k, 1);
        break;
    case UM_CHOICES:
        rc = on_choice(&c, k);
        break;
    case UM_SUMMARY:
        rc = on_summary(&c, k);
        break;
    case UM_LANG:
        rc = on_lang(&c, k);
        break;
    case UM_END:
    default:
        rc = -1;
        break;
    }
    if (out->wrong)
        out->event = "wrong";
    if (rc != 0) {
        /* A state that does not fit this directory (a district gone after a reload):
         * start again at the menu rather than end. */
        struct buf screen = out->screen;

        memset(out, 0, sizeof(*out));
        out->screen = screen;
        buf_reset(&out->screen);
        out->event = "restart";
        if (was == UM_END || show_main(&c, 0) != 0) {
            buf_reset(&out->screen);
            if (show_end(&c, "BYE") != 0)
                buf_reset(&out->screen);
            return -1;
        }
    }
    return 0;
}

/* ---- the state as text --------------------------------------------------------------- */

int umenu_encode(const struct umenu_state *st, struct buf *out)
{
    int i;

    if (buf_printf(out, "u1 %d %d %d %d %d %d %d %d", (int)st->screen, (int)st->lang, st->step,
                   st->page, st->list_state, st->state_code, st->district_code, st->nchoices) != 0)
        return -1;
    for (i = 0; i < st->nchoices && i < UMENU_CHOICES; i++)
        if (buf_printf(out, " %d %d", st->choice_state[i], st->choice_code[i]) != 0)
            return -1;
    return 0;
}

int umenu_decode(const char *s, size_t len, struct umenu_state *st)
{
    char text[256], *p, *end;
    long v[8 + 2 * UMENU_CHOICES];
    size_t n = 0, want = 8;
    int i;

    memset(st, 0, sizeof(*st));
    if (len < 3 || len >= sizeof(text) || strncmp(s, "u1 ", 3) != 0)
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    p = text + 3;
    while (n < sizeof(v) / sizeof(v[0])) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        v[n] = strtol(p, &end, 10);
        if (end == p || v[n] < -1000000 || v[n] > 1000000)
            return -1;
        p = end;
        n++;
        if (n == 8) {
            if (v[7] < 0 || v[7] > UMENU_CHOICES)
                return -1;
            want = 8 + 2 * (size_t)v[7];
        }
    }
    while (*p == ' ')
        p++;
    if (n != want || *p != '\0' || v[0] < UM_START || v[0] > UM_END || v[1] < 0 ||
        v[1] >= UL_NLANGS || v[2] < 0 || v[3] < 0 || v[3] > 1000)
        return -1;
    st->screen = (enum umenu_screen)v[0];
    st->lang = (enum umenu_lang)v[1];
    st->step = (int)v[2];
    st->page = (int)v[3];
    st->list_state = (int)v[4];
    st->state_code = (int)v[5];
    st->district_code = (int)v[6];
    st->nchoices = (int)v[7];
    for (i = 0; i < st->nchoices; i++) {
        st->choice_state[i] = (int)v[8 + 2 * i];
        st->choice_code[i] = (int)v[9 + 2 * i];
    }
    return 0;
}
