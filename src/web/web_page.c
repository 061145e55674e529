/*
 * Server-rendered pages; see web_page.h.
 */
#include "web/web_page.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "data/directory.h"
#include "data/geo.h"
#include "net/http.h"
#include "text/i18n.h"
#include "text/summary.h"
#include "web/web_static.h"

#define PAGE_MAX (64u * 1024)

/* The word for key in lang's wording, or the key itself (never NULL). */
static const char *word(enum i18n_lang lang, const char *key)
{
    const char *s = json_string_value(json_object_get(web_static_text(i18n_lang_code(lang)), key));

    return s != NULL ? s : key;
}

/* s with &, <, >, " and ' escaped. */
static int esc(struct buf *b, const char *s)
{
    const char *rep;
    size_t n;

    while (*s != '\0') {
        n = strcspn(s, "&<>\"'");
        if (buf_append(b, s, n) != 0)
            return -1;
        s += n;
        if (*s == '\0')
            break;
        rep = *s == '&'   ? "&amp;"
              : *s == '<' ? "&lt;"
              : *s == '>' ? "&gt;"
              : *s == '"' ? "&quot;"
                          : "&#39;";
        if (buf_puts(b, rep) != 0)
            return -1;
        s++;
    }
    return 0;
}

/* The word for key with "{name}" replaced by value, escaped. */
static int esc_fill(struct buf *b, enum i18n_lang lang, const char *key, const char *name,
                    const char *value)
{
    const char *w = word(lang, key), *at = strstr(w, name);
    struct buf t;
    int rc;

    if (at == NULL)
        return esc(b, w);
    buf_init(&t, 1024);
    rc = buf_append(&t, w, (size_t)(at - w)) != 0 || buf_puts(&t, value) != 0 ||
                 buf_puts(&t, at + strlen(name)) != 0
             ? -1
             : esc(b, buf_cstr(&t));
    buf_free(&t);
    return rc;
}

static enum i18n_lang page_lang(struct http_request *req)
{
    const char *l = http_param(req, "lang"), *al = http_header(req, "Accept-Language");
    enum i18n_lang lang = I18N_EN;

    if (l != NULL && i18n_lang_parse(l, &lang) == 0)
        return lang;
    return al != NULL && strncmp(al, "hi", 2) == 0 ? I18N_HI : I18N_EN;
}

static int head(struct buf *b, enum i18n_lang lang, const char *title)
{
    const char *v = web_static_build();

    if (buf_printf(b,
                   "<!doctype html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                   "<title>",
                   i18n_lang_code(lang)) != 0 ||
        esc(b, title) != 0 ||
        buf_printf(b,
                   " · %s</title><link rel=\"stylesheet\" href=\"/app/%s/style.css\">"
                   "<link rel=\"icon\" href=\"/app/%s/icons/icon.svg\" type=\"image/svg+xml\">"
                   "</head><body><header class=\"top\"><a class=\"brand\" href=\"/\">",
                   word(lang, "app"), v, v) != 0 ||
        esc(b, word(lang, "app")) != 0 || buf_puts(b, "</a>") != 0)
        return -1;
    return 0;
}

/* The search form, as the app's start screen has it. */
static int search_form(struct buf *b, enum i18n_lang lang, const char *q)
{
    if (buf_puts(b, "<form class=\"search\" action=\"/search\" method=\"get\" role=\"search\">"
                    "<label for=\"q\">") != 0 ||
        esc(b, word(lang, "search_label")) != 0 ||
        buf_puts(b, "</label><div class=\"row\"><input type=\"search\" id=\"q\" name=\"q\" "
                    "maxlength=\"64\" autocomplete=\"off\" value=\"") != 0 ||
        esc(b, q != NULL ? q : "") != 0 ||
        buf_printf(b, "\"><input type=\"hidden\" name=\"lang\" value=\"%s\"><button>",
                   i18n_lang_code(lang)) != 0 ||
        esc(b, word(lang, "search_button")) != 0 || buf_puts(b, "</button></div></form>") != 0)
        return -1;
    return 0;
}

static void send_page(struct http_request *req, int status, struct buf *b)
{
    http_add_header(req, "Content-Security-Policy", WEB_CSP);
    http_add_header(req, "Cache-Control", "no-cache");
    http_add_header(req, "Vary", "Accept-Language");
    if (buf_puts(b, "</main></body></html>\n") != 0) {
        http_reply_error(req, 500, "internal", "The page could not be rendered.");
        return;
    }
    http_reply(req, status, "text/html; charset=utf-8", b->data, b->len);
}

/* A page that only says msg_key (404, 503). */
static void short_page(struct http_request *req, int status, enum i18n_lang lang,
                       const char *msg_key)
{
    struct buf b;

    buf_init(&b, PAGE_MAX);
    if (head(&b, lang, word(lang, msg_key)) != 0 || buf_puts(&b, "</header><main><h1>") != 0 ||
        esc(&b, word(lang, msg_key)) != 0 || buf_puts(&b, "</h1>") != 0 ||
        search_form(&b, lang, NULL) != 0)
        http_reply_error(req, 500, "internal", "The page could not be rendered.");
    else
        send_page(req, status, &b);
    buf_free(&b);
}

/* "better" / "worse" / "same" for a trend of the summary ("up", "down", "steady"). */
static const char *compare_of(const json_t *summary, const char *metric)
{
    const char *t = json_string_value(json_object_get(json_object_get(summary, "trend"), metric));

    if (t == NULL)
        return NULL;
    return strcmp(t, "up") == 0 ? "better" : strcmp(t, "down") == 0 ? "worse" : "same";
}

/* One figure: icon, value, words, the comparison (word and mark, never colour alone). */
static int fact(struct buf *b, enum i18n_lang lang, const char *key, const char *icon,
                const char *value, const char *cmp, int bar_days)
{
    const char *mark = cmp == NULL                  ? ""
                       : strcmp(cmp, "better") == 0 ? "▲ "
                       : strcmp(cmp, "worse") == 0  ? "▼ "
                                                    : "≈ ";

    if (buf_printf(b,
                   "<li class=\"fact %s\" data-k=\"%s\"><span class=\"icon\" "
                   "aria-hidden=\"true\">%s</span><span class=\"value\">%s</span> "
                   "<span class=\"what\">",
                   cmp != NULL ? cmp : "", key, icon, value) != 0 ||
        esc(b, word(lang, key)) != 0 || buf_puts(b, "</span>") != 0)
        return -1;
    if (bar_days >= 0 &&
        buf_printf(b,
                   "<svg class=\"days\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" "
                   "aria-hidden=\"true\"><rect class=\"track\" width=\"100\" height=\"10\"/>"
                   "<rect class=\"fill\" width=\"%d\" height=\"10\"/></svg>",
                   bar_days > 100 ? 100 : bar_days) != 0)
        return -1;
    if (cmp != NULL && (buf_printf(b, "<span class=\"cmp\">%s", mark) != 0 ||
                        esc(b, word(lang, cmp)) != 0 || buf_puts(b, "</span>") != 0))
        return -1;
    return buf_puts(b, "</li>");
}

/* The share paid on time as the summary module rounds it: one decimal, 100 from 99.95. */
static void pct_text(double v, char *out, size_t n)
{
    if (v >= 99.95)
        snprintf(out, n, "100%%");
    else
        snprintf(out, n, "%.1f%%", floor(v * 10 + 0.5) / 10);
}

static int district_body(struct buf *b, enum i18n_lang lang, const struct dir_district *row,
                         const json_t *s)
{
    const struct summary_facts *f = &row->facts;
    const char *other = lang == I18N_HI ? "en" : "hi";
    char v[48], month[64];

    if (head(b, lang, row->name[lang]) != 0 ||
        buf_printf(b, "<a class=\"lang\" href=\"/d/%d?lang=%s\" lang=\"%s\">", row->district_code,
                   other, other) != 0 ||
        esc(b, word(lang, "lang_switch")) != 0 ||
        buf_puts(b, "</a></header><main><h1 id=\"name\">") != 0 || esc(b, row->name[lang]) != 0 ||
        buf_puts(b, "</h1><p class=\"where\">") != 0 || esc(b, row->state[lang]) != 0 ||
        buf_puts(b, "</p>") != 0)
        return -1;
    snprintf(month, sizeof(month), "%s %d", i18n_month_name(lang, f->month), f->year);
    if (buf_puts(b, "<p class=\"month\" id=\"month\">") != 0 ||
        esc_fill(b, lang, "month", "{month}", month) != 0 || buf_puts(b, "</p>") != 0)
        return -1;
    if (json_is_true(json_object_get(s, "stale")) &&
        (buf_puts(b, "<p class=\"notice\" role=\"status\">") != 0 ||
         esc(b, word(lang, "stale")) != 0 || buf_puts(b, "</p>") != 0))
        return -1;
    if (buf_puts(b, "<ul class=\"facts\">") != 0)
        return -1;
    if (f->have_families) {
        if (i18n_group_indian(f->families, v, sizeof(v)) != 0 ||
            fact(b, lang, "families", "👪", v, NULL, -1) != 0)
            return -1;
    }
    if (f->have_days) {
        snprintf(v, sizeof(v), "%lld", summary_round(f->days));
        if (fact(b, lang, "days", "📅", v, compare_of(s, "avg_days_per_household"),
                 (int)summary_round(f->days)) != 0)
            return -1;
    }
    if (f->have_wage) {
        snprintf(v, sizeof(v), "₹%lld", summary_round(f->wage));
        if (fact(b, lang, "wage", "💰", v, compare_of(s, "avg_wage_rate"), -1) != 0)
            return -1;
    }
    if (f->have_paid) {
        pct_text(f->paid_pct, v, sizeof(v));
        if (fact(b, lang, "ontime", "⏱", v, compare_of(s, "payments_within_15_days_pct"), -1) != 0)
            return -1;
    }
    if (buf_puts(b, "</ul>") != 0)
        return -1;
    if (f->have_state_days) {
        snprintf(v, sizeof(v), "%lld", summary_round(f->state_days));
        if (buf_puts(b, "<p class=\"state\">") != 0 ||
            esc_fill(b, lang, "state_days", "{n}", v) != 0 || buf_puts(b, "</p>") != 0)
            return -1;
    }
    return search_form(b, lang, NULL);
}

static void district_run(struct http_request *req)
{
    const struct directory *d = directory_current();
    const struct dir_district *row;
    enum i18n_lang lang = page_lang(req);
    const char *p = http_path(req) + strlen("/d/");
    json_t *s = NULL;
    struct buf b;
    char *end;
    long id;

    id = strtol(p, &end, 10);
    if (d == NULL) {
        http_add_header(req, "Retry-After", "5");
        short_page(req, 503, lang, "busy");
        return;
    }
    row = *end == '\0' && id > 0 && id < 1000000000 ? directory_find(d, (int)id) : NULL;
    if (row == NULL || !row->has_id) {
        short_page(req, 404, lang, "unknown");
        return;
    }
    if (row->summary[lang] == NULL || !row->has_facts ||
        (s = json_loadb(row->summary[lang], row->summary_len[lang], 0, NULL)) == NULL) {
        short_page(req, 404, lang, "no_data");
        return;
    }
    buf_init(&b, PAGE_MAX);
    if (district_body(&b, lang, row, s) != 0)
        http_reply_error(req, 500, "internal", "The page could not be rendered.");
    else
        send_page(req, 200, &b);
    buf_free(&b);
    json_decref(s);
}

static int search_body(struct buf *b, enum i18n_lang lang, const struct directory *d, const char *q)
{
    struct geo_lookup m;
    size_t i;

    if (head(b, lang, word(lang, "search_button")) != 0 || buf_puts(b, "</header><main>") != 0 ||
        search_form(b, lang, q) != 0)
        return -1;
    if (q == NULL || q[0] == '\0')
        return 0;
    geo_lookup(d, q, &m);
    if (m.n == 0)
        return buf_puts(b, "<p class=\"notice\">") != 0 || esc(b, word(lang, "no_results")) != 0 ||
                       buf_puts(b, "</p>") != 0
                   ? -1
                   : 0;
    if (buf_puts(b, "<ul class=\"results\">") != 0)
        return -1;
    for (i = 0; i < m.n; i++) {
        const struct dir_district *row = m.m[i].row;
        int link = row->has_id && geo_has_data(row);

        if ((link && buf_printf(b, "<li><a href=\"/d/%d?lang=%s\">", row->district_code,
                                i18n_lang_code(lang)) != 0) ||
            (!link && buf_puts(b, "<li>") != 0) || esc(b, row->name[lang]) != 0 ||
            buf_puts(b, link ? "</a> <span class=\"where\">" : " <span class=\"where\">") != 0 ||
            esc(b, row->state[lang]) != 0 || buf_puts(b, "</span>") != 0 ||
            (!link && (buf_puts(b, " <span class=\"nodata\">") != 0 ||
                       esc(b, word(lang, "no_data")) != 0 || buf_puts(b, "</span>") != 0)) ||
            buf_puts(b, "</li>") != 0)
            return -1;
    }
    return buf_puts(b, "</ul>");
}

static void search_run(struct http_request *req)
{
    const struct directory *d = directory_current();
    enum i18n_lang lang = page_lang(req);
    struct buf b;

    if (d == NULL) {
        http_add_header(req, "Retry-After", "5");
        short_page(req, 503, lang, "busy");
        return;
    }
    buf_init(&b, PAGE_MAX);
    if (search_body(&b, lang, d, http_param(req, "q")) != 0)
        http_reply_error(req, 500, "internal", "The page could not be rendered.");
    else
        send_page(req, 200, &b);
    buf_free(&b);
}

void web_district_page(struct http_request *req)
{
    web_limit(req, district_run);
}

void web_search_page(struct http_request *req)
{
    web_limit(req, search_run);
}
