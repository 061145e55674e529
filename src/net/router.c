/*
 * The router (see router.h): path -> route -> method check -> declared, validated params.
 *
 * Exact paths sit in one array sorted by path and are found with bsearch(); regex routes
 * are tried afterwards in file order and must match the whole path (which one matched is
 * remembered per path, so the regexes mostly run once per distinct path). Parameters are
 * split and percent-decoded (with '+' as a blank) by net/form.h, the server's one decoder.
 * We do not use libevent's evhttp_parse_query_str(): it throws away the whole query when
 * one pair lacks '=' ("?a=1&flag") or is empty ("a=1&&b=2"), leaves keys encoded, and
 * silently truncates a value at "%00". Here a malformed pair is only skipped, and a
 * declared value that decodes to a NUL byte is rejected.
 */
#include "net/router.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"
#include "net/fastre.h"
#include "net/form.h"

#define ROUTER_PATH_MAX 2048  /* longer paths are never routed */
#define ROUTER_VALUE_MAX 1024 /* longest decoded parameter value */
#define ROUTER_KEY_MAX 256    /* longest raw parameter name looked at */

struct exact {
    const char *path;
    const struct cfg_route *route;
    void *handler;
    size_t order; /* file order, so the first of two equal paths wins after sorting */
};

struct regex_route {
    const struct cfg_route *route;
    void *handler;
    char prefix[64]; /* what every match starts with, so most paths skip the regex */
    size_t plen;
};

/*
 * The literal start of an anchored pattern: the characters after '^' up to the first
 * special one, less a last character that a quantifier makes optional. Nothing when the
 * pattern has a top-level alternative ('|' outside parentheses: "^/a|/b").
 */
static size_t literal_prefix(const char *re, char *out, size_t n)
{
    size_t len = 0, depth = 0;
    const char *p;

    out[0] = '\0';
    for (p = re; *p != '\0'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '(')
            depth++;
        else if (*p == ')' && depth > 0)
            depth--;
        else if (*p == '|' && depth == 0)
            return 0;
    }
    if (re[0] != '^')
        return 0;
    for (p = re + 1; *p != '\0' && len + 1 < n; p++) {
        if (strchr(".[]()*+?{}|\\$^", *p) != NULL) {
            if ((*p == '?' || *p == '*' || *p == '{') && len > 0)
                len--;
            break;
        }
        out[len++] = *p;
    }
    out[len] = '\0';
    return len;
}

/*
 * Which regex route a path matched (or that none did), remembered per path: a worker
 * sees the same few paths over and over, and a regexec() costs more than the rest of
 * routing. Direct-mapped by a hash of the path; a collision just replaces the slot.
 */
#define MEMO_SLOTS 512
#define MEMO_PATH 96

struct memo {
    unsigned short len; /* path length + 1; 0 = empty slot */
    short idx;          /* index into rx, or -1 for no regex route */
    char path[MEMO_PATH];
};

struct router {
    struct exact *exact;
    size_t nexact;
    struct regex_route *rx;
    size_t nrx;
    struct memo *memo; /* MEMO_SLOTS, allocated when there are regex routes */
};

static int exact_cmp(const void *a, const void *b)
{
    const struct exact *x = a, *y = b;
    int c = strcmp(x->path, y->path);

    if (c != 0)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int exact_key_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const struct exact *)elem)->path);
}

struct router *router_new(const struct config *cfg, router_lookup_fn lookup, char *err,
                          size_t errlen)
{
    struct router *r = xcalloc(1, sizeof(*r));
    size_t i, j, total = 0, order = 0;

    for (i = 0; i < cfg->ndomains; i++)
        total += cfg->domains[i].nroutes;
    r->exact = xcalloc(total, sizeof(*r->exact));
    r->rx = xcalloc(total, sizeof(*r->rx));

    for (i = 0; i < cfg->ndomains; i++) {
        for (j = 0; j < cfg->domains[i].nroutes; j++) {
            const struct cfg_route *rt = &cfg->domains[i].routes[j];
            void *h = NULL;
            if (lookup != NULL) {
                h = lookup(rt->handler);
                if (h == NULL) {
                    if (err != NULL && errlen > 0)
                        snprintf(err, errlen, "%s:%d: unknown handler '%s'",
                                 cfg->path != NULL ? cfg->path : "(config)", rt->line, rt->handler);
                    router_free(r);
                    return NULL;
                }
            }
            if (rt->is_regex) {
                r->rx[r->nrx].route = rt;
                r->rx[r->nrx].handler = h;
                r->rx[r->nrx].plen =
                    literal_prefix(rt->path, r->rx[r->nrx].prefix, sizeof(r->rx[r->nrx].prefix));
                r->nrx++;
            } else {
                r->exact[r->nexact].path = rt->path;
                r->exact[r->nexact].route = rt;
                r->exact[r->nexact].handler = h;
                r->exact[r->nexact].order = order;
                r->nexact++;
            }
            order++;
        }
    }
    if (r->nexact > 1)
        qsort(r->exact, r->nexact, sizeof(*r->exact), exact_cmp);
    if (r->nrx > 0 && r->nrx < 32768)
        r->memo = xcalloc(MEMO_SLOTS, sizeof(*r->memo));
    return r;
}

void router_free(struct router *r)
{
    if (r == NULL)
        return;
    free(r->exact);
    free(r->rx);
    free(r->memo);
    free(r);
}

unsigned router_method_bit(const char *name)
{
    static const struct {
        const char *name;
        unsigned bit;
    } methods[] = {{"GET", CFG_METHOD_GET},       {"HEAD", CFG_METHOD_HEAD},
                   {"POST", CFG_METHOD_POST},     {"PUT", CFG_METHOD_PUT},
                   {"DELETE", CFG_METHOD_DELETE}, {"OPTIONS", CFG_METHOD_OPTIONS},
                   {"PATCH", CFG_METHOD_PATCH}};
    size_t i;

    if (name == NULL)
        return 0;
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(methods[i].name, name) == 0)
            return methods[i].bit;
    }
    return 0;
}

/* "GET, POST": the methods the route declares, in a fixed order. */
static void build_allow(unsigned methods, char *out, size_t outlen)
{
    static const struct {
        unsigned bit;
        const char *name;
    } order[] = {{CFG_METHOD_GET, "GET"},       {CFG_METHOD_HEAD, "HEAD"},
                 {CFG_METHOD_POST, "POST"},     {CFG_METHOD_PUT, "PUT"},
                 {CFG_METHOD_DELETE, "DELETE"}, {CFG_METHOD_OPTIONS, "OPTIONS"},
                 {CFG_METHOD_PATCH, "PATCH"}};
    size_t i, used = 0;

    out[0] = '\0';
    for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        int n;
        if (!(methods & order[i].bit))
            continue;
        n = snprintf(out + used, outlen - used, "%s%s", used > 0 ? ", " : "", order[i].name);
        if (n < 0 || (size_t)n >= outlen - used)
            break; /* cannot happen: all seven fit in 64 bytes */
        used += (size_t)n;
    }
}

static int value_ok(const struct cfg_validator *v, const char *value)
{
    if (v == NULL)
        return 0;
    if (v->type == CFG_VALIDATOR_REGEX)
        return v->fast.ok ? fastre_match(&v->fast, value) : regexec(&v->re, value, 0, NULL, 0) == 0;
    return v->fn != NULL && v->fn(value) == 1;
}

static const struct cfg_param *declared(const struct cfg_route *rt, int where, const char *name)
{
    size_t i;

    for (i = 0; i < rt->nparams; i++) {
        if ((rt->params[i].where & where) && strcmp(rt->params[i].name, name) == 0)
            return &rt->params[i];
    }
    return NULL;
}

static int already_have(const struct router_match *m, const char *name)
{
    size_t i;

    for (i = 0; i < m->nparams; i++) {
        if (strcmp(m->params[i].name, name) == 0)
            return 1;
    }
    return 0;
}

/*
 * Decode the first n bytes of s; returns a malloc'd string (caller frees), or NULL if it
 * does not decode to at most max bytes free of NUL.
 */
static char *decode(const char *s, size_t n, size_t max)
{
    struct buf b;
    char *dec = NULL;
    size_t len;

    buf_init(&b, max);
    if (form_decode(s, n, &b) == 0 && memchr(buf_cstr(&b), '\0', b.len) == NULL)
        dec = buf_steal(&b, &len);
    buf_free(&b);
    return dec;
}

/*
 * Collect the parameters of one source (a query string or a form body) that the route
 * declares for `where`. Returns 0, or -1 with m->bad_param set when a declared value is
 * too long, does not decode, or fails its validator.
 */
static int collect(const struct cfg_route *rt, int where, const char *s, size_t len,
                   struct router_match *m)
{
    struct slice k, v;
    size_t pos = 0;

    while (form_next(s, len, &pos, &k, &v)) {
        const struct cfg_param *pa;
        char *key, *value;

        if (k.len == 0 || k.len > ROUTER_KEY_MAX)
            continue;
        key = decode(k.ptr, k.len, ROUTER_KEY_MAX);
        if (key == NULL)
            continue;
        pa = declared(rt, where, key);
        free(key);
        if (pa == NULL || already_have(m, pa->name))
            continue; /* undeclared: dropped; repeated: the first value wins */
        if (m->nparams == ROUTER_MAX_PARAMS)
            continue;

        /* Each decoded byte takes at most 3 encoded ones ("%41"). */
        value = v.len <= 3 * ROUTER_VALUE_MAX ? decode(v.ptr, v.len, ROUTER_VALUE_MAX) : NULL;
        if (value == NULL || !value_ok(pa->validator, value)) {
            free(value);
            m->bad_param = pa->name;
            return -1;
        }
        m->params[m->nparams].name = pa->name;
        m->params[m->nparams].value = value;
        m->nparams++;
    }
    return 0;
}

static const struct exact *find_exact(const struct router *r, const char *path)
{
    const struct exact *e;

    if (r->nexact == 0)
        return NULL;
    e = bsearch(path, r->exact, r->nexact, sizeof(*r->exact), exact_key_cmp);
    /* bsearch may land on any of several equal paths: step back to the first. */
    while (e != NULL && e > r->exact && strcmp((e - 1)->path, path) == 0)
        e--;
    return e;
}

/* The first regex route that matches the whole path, as an index into rx, or -1. */
static int regex_route_of(const struct router *r, const char *path, size_t plen)
{
    struct memo *m = NULL;
    uint32_t h = 2166136261u;
    size_t i;
    int idx = -1;

    if (r->memo != NULL && plen < MEMO_PATH) {
        for (i = 0; i < plen; i++)
            h = (h ^ (unsigned char)path[i]) * 16777619u;
        m = &r->memo[h & (MEMO_SLOTS - 1)];
        if (m->len == plen + 1 && memcmp(m->path, path, plen) == 0)
            return m->idx;
    }
    for (i = 0; i < r->nrx; i++) {
        regmatch_t pm[1];

        if (r->rx[i].plen > 0 && strncmp(path, r->rx[i].prefix, r->rx[i].plen) != 0)
            continue;
        if (regexec(&r->rx[i].route->re, path, 1, pm, 0) == 0 && pm[0].rm_so == 0 &&
            (size_t)pm[0].rm_eo == plen) {
            idx = (int)i;
            break;
        }
    }
    if (m != NULL) {
        memcpy(m->path, path, plen);
        m->len = (unsigned short)(plen + 1);
        m->idx = (short)idx;
    }
    return idx;
}

void router_match(const struct router *r, unsigned method, const char *path, const char *query,
                  const char *form, size_t form_len, struct router_match *m)
{
    const struct cfg_route *rt = NULL;
    void *handler = NULL;
    const struct exact *e;
    size_t plen, i;
    unsigned allowed;

    memset(m, 0, sizeof(*m));
    m->status = ROUTER_NOT_FOUND;
    if (r == NULL || path == NULL)
        return;
    plen = strnlen(path, ROUTER_PATH_MAX + 1);
    if (plen > ROUTER_PATH_MAX)
        return;

    e = find_exact(r, path);
    if (e != NULL) {
        rt = e->route;
        handler = e->handler;
    } else {
        int idx = regex_route_of(r, path, plen);

        if (idx >= 0) {
            rt = r->rx[idx].route;
            handler = r->rx[idx].handler;
        }
    }
    if (rt == NULL)
        return;
    m->route = rt;

    allowed = rt->methods;
    if (allowed & CFG_METHOD_GET)
        allowed |= CFG_METHOD_HEAD;
    /* Exactly one known bit, and one the route allows. */
    if (method == 0 || (method & (method - 1)) != 0 || !(method & allowed)) {
        m->status = ROUTER_BAD_METHOD;
        build_allow(rt->methods, m->allow, sizeof(m->allow));
        return;
    }

    if (method == CFG_METHOD_GET || method == CFG_METHOD_HEAD) {
        if (query != NULL && collect(rt, CFG_PARAM_QS_GET, query, strlen(query), m) != 0)
            goto bad;
    } else if (method == CFG_METHOD_POST) {
        if (query != NULL && collect(rt, CFG_PARAM_QS_POST, query, strlen(query), m) != 0)
            goto bad;
        if (form != NULL && collect(rt, CFG_PARAM_POST, form, form_len, m) != 0)
            goto bad;
    }
    m->status = ROUTER_OK;
    m->handler = handler;
    return;
bad:
    m->status = ROUTER_BAD_PARAM;
    for (i = 0; i < m->nparams; i++) {
        free(m->params[i].value);
        m->params[i].value = NULL;
    }
    m->nparams = 0;
}

void router_match_free(struct router_match *m)
{
    size_t i;

    if (m == NULL)
        return;
    for (i = 0; i < m->nparams; i++) {
        free(m->params[i].value);
        m->params[i].value = NULL;
    }
    m->nparams = 0;
}

const char *router_param(const struct router_match *m, const char *name)
{
    size_t i;

    if (m == NULL || name == NULL)
        return NULL;
    for (i = 0; i < m->nparams; i++) {
        if (strcmp(m->params[i].name, name) == 0)
            return m->params[i].value;
    }
    return NULL;
}
