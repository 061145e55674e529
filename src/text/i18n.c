/*
 * Template loading and rendering, Indian digit grouping and month names (see i18n.h for
 * the file format and the rules). Templates are checked once at load time, so rendering
 * is a single pass over a text already known to be well formed.
 */
#include "text/i18n.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "text/smsenc.h"
#include "core/utf8.h"

#define LINE_MAX_BYTES 2048
#define PH_LEN (sizeof(I18N_VAR_MARK) - 1)

struct tmpl {
    char id[I18N_ID_MAX];
    char *text; /* malloc'd */
    int nvars;
    int nsegs;
    signed char var_seg[I18N_MAX_VARS];
};

struct table {
    struct tmpl t[I18N_MAX_TEMPLATES];
    size_t n;
};

static struct table *tables[I18N_NLANGS];
static const char *const lang_codes[I18N_NLANGS] = {"en", "hi"};

static void table_free(struct table *tb)
{
    size_t i;

    if (tb == NULL)
        return;
    for (i = 0; i < tb->n; i++)
        free(tb->t[i].text);
    free(tb);
}

static const struct tmpl *find(const struct table *tb, const char *id)
{
    size_t i;

    if (tb == NULL || id == NULL)
        return NULL;
    for (i = 0; i < tb->n; i++)
        if (strcmp(tb->t[i].id, id) == 0)
            return &tb->t[i];
    return NULL;
}

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Check a template text and record its variables and segments in *t. On error returns -1
 * with a reason in `why`.
 */
static int parse_text(const char *text, struct tmpl *t, const char **why)
{
    size_t i = 0, len = strlen(text), seg_vars = 0;
    int in_seg = 0, rc = -1, n;
    unsigned cp;

    t->nvars = 0;
    t->nsegs = 0;
    while (i < len) {
        if (starts(text + i, I18N_VAR_MARK)) {
            if (t->nvars == I18N_MAX_VARS) {
                *why = "too many variables";
                goto out;
            }
            t->var_seg[t->nvars++] = (signed char)(in_seg ? t->nsegs : -1);
            seg_vars++;
            i += PH_LEN;
        } else if (starts(text + i, "{?")) {
            if (in_seg) {
                *why = "optional segments do not nest";
                goto out;
            }
            in_seg = 1;
            seg_vars = 0;
            i += 2;
        } else if (starts(text + i, "?}")) {
            if (!in_seg) {
                *why = "'?}' without '{?'";
                goto out;
            }
            if (seg_vars == 0) {
                *why = "optional segment without a variable";
                goto out;
            }
            in_seg = 0;
            t->nsegs++;
            i += 2;
        } else if (text[i] == '{' || text[i] == '}') {
            *why = "stray brace (a variable is written {#var#})";
            goto out;
        } else {
            n = utf8_decode(text + i, len - i, &cp);
            if (n < 0) {
                *why = "invalid UTF-8";
                goto out;
            }
            if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
                *why = "control character";
                goto out;
            }
            i += (size_t)n;
        }
    }
    if (in_seg) {
        *why = "'{?' not closed";
        goto out;
    }
    rc = 0;
out:
    return rc;
}

static void set_err(char *err, size_t errlen, const char *path, size_t line, const char *why)
{
    if (errlen == 0)
        return;
    if (line > 0)
        snprintf(err, errlen, "%s:%zu: %s", path, line, why);
    else
        snprintf(err, errlen, "%s: %s", path, why);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse one line into *t. Returns 1 for a template, 0 for a blank/comment line, -1 on
 * error (reason in why). */
static int parse_line(char *line, struct tmpl *t, const char **why)
{
    char *p = line, *eq, *end, *text;
    size_t idlen;

    while (is_space(*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    eq = strchr(p, '=');
    if (eq == NULL) {
        *why = "expected 'ID = text'";
        return -1;
    }
    end = eq;
    while (end > p && is_space(end[-1]))
        end--;
    idlen = (size_t)(end - p);
    if (idlen == 0 || idlen >= I18N_ID_MAX) {
        *why = "missing or overlong template ID";
        return -1;
    }
    for (size_t i = 0; i < idlen; i++) {
        char c = p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            *why = "template ID may only hold A-Z, 0-9 and _";
            return -1;
        }
    }
    memcpy(t->id, p, idlen);
    t->id[idlen] = '\0';
    text = eq + 1;
    while (is_space(*text))
        text++;
    end = text + strlen(text);
    while (end > text && is_space(end[-1]))
        end--;
    *end = '\0';
    if (*text == '\0') {
        *why = "empty template text";
        return -1;
    }
    if (parse_text(text, t, why) != 0)
        return -1;
    t->text = xstrdup(text);
    return 1;
}

/* Read one language file into a new table (*out; caller frees with table_free()). */
static int load_file(const char *path, struct table **out, char *err, size_t errlen)
{
    char line[LINE_MAX_BYTES];
    struct table *tb = xcalloc(1, sizeof(*tb));
    struct tmpl t;
    const char *why = NULL;
    size_t lineno = 0, len;
    FILE *f;
    int rc = -1, r;

    *out = NULL;
    f = fopen(path, "r");
    if (f == NULL) {
        set_err(err, errlen, path, 0, strerror(errno));
        goto out;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        lineno++;
        len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(f)) {
            set_err(err, errlen, path, lineno, "line too long");
            goto out;
        }
        /* A UTF-8 byte order mark on the first line is not part of the ID. */
        char *p = line;
        if (lineno == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
            p += 3;
        memset(&t, 0, sizeof(t));
        r = parse_line(p, &t, &why);
        if (r < 0) {
            set_err(err, errlen, path, lineno, why);
            goto out;
        }
        if (r == 0)
            continue;
        if (find(tb, t.id) != NULL) {
            free(t.text);
            set_err(err, errlen, path, lineno, "duplicate template ID");
            goto out;
        }
        if (tb->n == I18N_MAX_TEMPLATES) {
            free(t.text);
            set_err(err, errlen, path, lineno, "too many templates");
            goto out;
        }
        tb->t[tb->n++] = t;
    }
    if (ferror(f)) {
        set_err(err, errlen, path, lineno, "read error");
        goto out;
    }
    if (tb->n == 0) {
        set_err(err, errlen, path, 0, "no templates");
        goto out;
    }
    *out = tb;
    tb = NULL;
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    table_free(tb);
    return rc;
}

/* Every language has the same IDs with the same variables in the same segments. */
static int check_same_shape(struct table **tb, size_t ntb, char *const *paths, char *err,
                            size_t errlen)
{
    char why[128];
    const struct tmpl *a, *b;
    size_t i;
    int l;

    for (l = 1; l < (int)ntb; l++) {
        if (tb[l]->n != tb[0]->n) {
            /* find the ID that one side lacks, to name it */
            for (i = 0; i < tb[0]->n; i++)
                if (find(tb[l], tb[0]->t[i].id) == NULL)
                    break;
            snprintf(why, sizeof(why), "template %s missing (it is in %s)",
                     i < tb[0]->n ? tb[0]->t[i].id : "?", paths[0]);
            set_err(err, errlen, paths[l], 0, why);
            if (i < tb[0]->n)
                return -1;
            for (i = 0; i < tb[l]->n; i++)
                if (find(tb[0], tb[l]->t[i].id) == NULL)
                    break;
            snprintf(why, sizeof(why), "template %s missing (it is in %s)",
                     i < tb[l]->n ? tb[l]->t[i].id : "?", paths[l]);
            set_err(err, errlen, paths[0], 0, why);
            return -1;
        }
        for (i = 0; i < tb[0]->n; i++) {
            a = &tb[0]->t[i];
            b = find(tb[l], a->id);
            if (b == NULL) {
                snprintf(why, sizeof(why), "template %s missing (it is in %s)", a->id, paths[0]);
                set_err(err, errlen, paths[l], 0, why);
                return -1;
            }
            if (a->nvars != b->nvars || a->nsegs != b->nsegs ||
                memcmp(a->var_seg, b->var_seg, (size_t)a->nvars) != 0) {
                snprintf(why, sizeof(why),
                         "template %s: variables or optional segments differ from %s", a->id,
                         paths[0]);
                set_err(err, errlen, paths[l], 0, why);
                return -1;
            }
        }
    }
    return 0;
}

int i18n_load(const char *dir, char *err, size_t errlen)
{
    struct table *tb[I18N_NLANGS] = {NULL};
    char *paths[I18N_NLANGS] = {NULL};
    struct buf b;
    int l, rc = -1;

    if (errlen > 0)
        err[0] = '\0';
    for (l = 0; l < I18N_NLANGS; l++) {
        buf_init(&b, 4096);
        if (buf_printf(&b, "%s/%s.txt", dir, lang_codes[l]) != 0) {
            buf_free(&b);
            set_err(err, errlen, dir, 0, "directory name too long");
            goto out;
        }
        paths[l] = buf_steal(&b, NULL);
        buf_free(&b);
        if (load_file(paths[l], &tb[l], err, errlen) != 0)
            goto out;
    }
    if (check_same_shape(tb, I18N_NLANGS, paths, err, errlen) != 0)
        goto out;
    for (l = 0; l < I18N_NLANGS; l++) {
        table_free(tables[l]);
        tables[l] = tb[l];
        tb[l] = NULL;
    }
    rc = 0;
out:
    for (l = 0; l < I18N_NLANGS; l++) {
        table_free(tb[l]);
        free(paths[l]);
    }
    return rc;
}

void i18n_free(void)
{
    int l;

    for (l = 0; l < I18N_NLANGS; l++) {
        table_free(tables[l]);
        tables[l] = NULL;
    }
}

const char *i18n_lang_code(enum i18n_lang lang)
{
    if ((int)lang < 0 || (int)lang >= I18N_NLANGS)
        return NULL;
    return lang_codes[lang];
}

int i18n_lang_parse(const char *code, enum i18n_lang *lang)
{
    int l;

    if (code == NULL)
        return -1;
    for (l = 0; l < I18N_NLANGS; l++) {
        if (strcasecmp(code, lang_codes[l]) == 0) {
            *lang = (enum i18n_lang)l;
            return 0;
        }
    }
    return -1;
}

static const struct table *table_of(enum i18n_lang lang)
{
    if ((int)lang < 0 || (int)lang >= I18N_NLANGS)
        return NULL;
    return tables[lang];
}

/* A value may be substituted: valid UTF-8, no control characters, at most 30 chars. */
static int value_ok(const char *v)
{
    size_t i = 0, len = strlen(v), chars = 0;
    unsigned cp;
    int n;

    while (i < len) {
        n = utf8_decode(v + i, len - i, &cp);
        if (n < 0 || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0))
            return 0;
        i += (size_t)n;
        if (++chars > I18N_VAR_MAX_CHARS)
            return 0;
    }
    return 1;
}

static int render(const struct tmpl *t, const char *const *values, size_t n, struct buf *out)
{
    unsigned char seg_ok[I18N_MAX_VARS];
    size_t saved = out->len, i, vi = 0, lit;
    int rc = -1, skip = 0, seg = 0;
    const char *s;

    if (t == NULL || n != (size_t)t->nvars || (n > 0 && values == NULL))
        goto out;
    memset(seg_ok, 1, sizeof(seg_ok));
    for (i = 0; i < n; i++) {
        if (values[i] == NULL) {
            if (t->var_seg[i] < 0)
                goto out;
            seg_ok[t->var_seg[i]] = 0;
        } else if (!value_ok(values[i])) {
            goto out;
        }
    }
    s = t->text;
    while (*s != '\0') {
        if (starts(s, I18N_VAR_MARK)) {
            if (!skip && buf_puts(out, values[vi]) != 0)
                goto out;
            vi++;
            s += PH_LEN;
        } else if (starts(s, "{?")) {
            skip = !seg_ok[seg++];
            s += 2;
        } else if (starts(s, "?}")) {
            skip = 0;
            s += 2;
        } else {
            /* copy the literal run up to the next brace or '?' in one append */
            lit = strcspn(s + 1, "{?") + 1;
            if (!skip && buf_append(out, s, lit) != 0)
                goto out;
            s += lit;
        }
    }
    rc = 0;
out:
    if (rc != 0 && out->len != saved) {
        out->len = saved;
        out->data[saved] = '\0';
    }
    return rc;
}

int i18n_render(enum i18n_lang lang, const char *id, const char *const *values, size_t n,
                struct buf *out)
{
    return render(find(table_of(lang), id), values, n, out);
}

/* ---- wording sets -------------------------------------------------------------------- */

struct i18n_set {
    size_t n;
    struct table *tb[I18N_SET_LANGS];
};

int i18n_set_load(const char *dir, const char *const *codes, size_t n, struct i18n_set **out,
                  char *err, size_t errlen)
{
    struct i18n_set *set = xcalloc(1, sizeof(*set));
    char *paths[I18N_SET_LANGS] = {NULL};
    struct buf b;
    size_t l;
    int rc = -1;

    *out = NULL;
    if (errlen > 0)
        err[0] = '\0';
    if (n == 0 || n > I18N_SET_LANGS) {
        set_err(err, errlen, dir, 0, "too many or no languages");
        goto out;
    }
    set->n = n;
    for (l = 0; l < n; l++) {
        buf_init(&b, 4096);
        if (buf_printf(&b, "%s/%s.txt", dir, codes[l]) != 0) {
            buf_free(&b);
            set_err(err, errlen, dir, 0, "directory name too long");
            goto out;
        }
        paths[l] = buf_steal(&b, NULL);
        buf_free(&b);
        if (load_file(paths[l], &set->tb[l], err, errlen) != 0)
            goto out;
    }
    if (check_same_shape(set->tb, n, paths, err, errlen) != 0)
        goto out;
    *out = set;
    set = NULL;
    rc = 0;
out:
    for (l = 0; l < I18N_SET_LANGS; l++)
        free(paths[l]);
    i18n_set_free(set);
    return rc;
}

void i18n_set_free(struct i18n_set *set)
{
    size_t l;

    if (set == NULL)
        return;
    for (l = 0; l < set->n; l++)
        table_free(set->tb[l]);
    free(set);
}

int i18n_set_render(const struct i18n_set *set, size_t lang, const char *id,
                    const char *const *values, size_t n, struct buf *out)
{
    if (set == NULL || lang >= set->n)
        return -1;
    return render(find(set->tb[lang], id), values, n, out);
}

size_t i18n_set_count(const struct i18n_set *set)
{
    return set == NULL ? 0 : set->tb[0]->n;
}

const char *i18n_set_id_at(const struct i18n_set *set, size_t i)
{
    if (set == NULL || i >= set->tb[0]->n)
        return NULL;
    return set->tb[0]->t[i].id;
}

int i18n_set_nvars(const struct i18n_set *set, const char *id)
{
    const struct tmpl *t = set != NULL ? find(set->tb[0], id) : NULL;

    return t == NULL ? -1 : t->nvars;
}

size_t i18n_count(void)
{
    return tables[0] == NULL ? 0 : tables[0]->n;
}

const char *i18n_id_at(size_t i)
{
    if (tables[0] == NULL || i >= tables[0]->n)
        return NULL;
    return tables[0]->t[i].id;
}

const char *i18n_text(enum i18n_lang lang, const char *id)
{
    const struct tmpl *t = find(table_of(lang), id);

    return t == NULL ? NULL : t->text;
}

int i18n_nvars(const char *id)
{
    const struct tmpl *t = find(tables[0], id);

    return t == NULL ? -1 : t->nvars;
}

int i18n_var_segment(const char *id, size_t var)
{
    const struct tmpl *t = find(tables[0], id);

    if (t == NULL || var >= (size_t)t->nvars)
        return -2;
    return t->var_seg[var];
}

int i18n_nsegments(const char *id)
{
    const struct tmpl *t = find(tables[0], id);

    return t == NULL ? -1 : t->nsegs;
}

int i18n_dlt_list(struct buf *out)
{
    const char *vals[I18N_MAX_VARS];
    const struct tmpl *t;
    unsigned mask, nmask;
    size_t i;
    int l, v, rc = -1;

    for (l = 0; l < I18N_NLANGS; l++) {
        if (tables[l] == NULL)
            continue;
        for (i = 0; i < tables[l]->n; i++) {
            t = &tables[l]->t[i];
            nmask = 1u << t->nsegs;
            for (mask = 0; mask < nmask; mask++) {
                for (v = 0; v < t->nvars; v++)
                    vals[v] = (t->var_seg[v] < 0 || (mask & (1u << t->var_seg[v]))) ? I18N_VAR_MARK
                                                                                    : NULL;
                if (buf_printf(out, "%s %s", lang_codes[l], t->id) != 0 ||
                    (t->nsegs > 0 && buf_printf(out, ".%u", mask) != 0) ||
                    buf_puts(out, " ") != 0 ||
                    i18n_render((enum i18n_lang)l, t->id, vals, (size_t)t->nvars, out) != 0 ||
                    buf_puts(out, "\n") != 0)
                    goto out;
            }
        }
    }
    rc = 0;
out:
    return rc;
}

int i18n_group_indian(long long v, char *out, size_t len)
{
    char rev[32];
    unsigned long long m;
    size_t n = 0, digits = 0, i;
    int rc = -1;

    if (len == 0)
        goto out;
    out[0] = '\0';
    /* magnitude without overflow for LLONG_MIN */
    m = v < 0 ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
    do {
        if (digits == 3 || (digits > 3 && (digits - 3) % 2 == 0))
            rev[n++] = ',';
        rev[n++] = (char)('0' + m % 10);
        digits++;
        m /= 10;
    } while (m > 0);
    if (v < 0)
        rev[n++] = '-';
    if (n + 1 > len)
        goto out;
    for (i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    out[n] = '\0';
    rc = 0;
out:
    return rc;
}

static const char *const months_en[12] = {"January",   "February", "March",    "April",
                                          "May",       "June",     "July",     "August",
                                          "September", "October",  "November", "December"};
static const char *const months_en_short[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
/* Everyday spellings (as on Hindi calendars and in newspapers), without nukta. */
static const char *const months_hi[12] = {"जनवरी", "फरवरी", "मार्च",  "अप्रैल",  "मई",   "जून",
                                          "जुलाई",  "अगस्त",  "सितंबर", "अक्टूबर", "नवंबर", "दिसंबर"};

const char *i18n_month_name(enum i18n_lang lang, int month)
{
    if (month < 1 || month > 12)
        return NULL;
    if (lang == I18N_EN)
        return months_en[month - 1];
    if (lang == I18N_HI)
        return months_hi[month - 1];
    return NULL;
}

const char *i18n_month_short(enum i18n_lang lang, int month)
{
    if (month < 1 || month > 12)
        return NULL;
    if (lang == I18N_EN)
        return months_en_short[month - 1];
    return i18n_month_name(lang, month);
}
