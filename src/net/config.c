/*
 * kore.conf parser (see config.h for the syntax): the lines, words and blocks of the file
 * and the Kore directives (server, bind, tls, workers, validator, domain, attach, route,
 * handler, methods, validate). The `hisaab { }` block's keys, defaults, secret checks and
 * the environment overrides are config_hisaab.c's; every statement inside that block is
 * handed to config_hisaab_key().
 *
 * The file is read line by line. A line is split into blank-separated words; a word that
 * starts with '#' starts a comment, a standalone '{' opens a block named by the words
 * before it, a standalone '}' closes the innermost block, and ';' (alone or at the end of
 * a word) ends a statement early, so `server s { bind 127.0.0.1 80; }` also works on one
 * line. Every error stops the parse and reports "FILE:LINE: message".
 *
 * Regexes are compiled after the whole file is read, once the arrays holding them have
 * stopped moving, and `validate` lines are resolved at the same point, so validators may
 * be declared anywhere in the file. Environment variables are applied last.
 */
#include "net/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/mem.h"
#include "net/config_hisaab.h"
#include "net/regex_cost.h"
#include "net/validator.h"

#define CFG_LINE_MAX 4096       /* longest line accepted */
#define CFG_WORDS_MAX 16        /* most words on one line */
#define CFG_FILE_MAX (1 << 20)  /* largest file accepted by config_load() */
#define CFG_WORKERS_MAX 256     /* most worker processes */
#define CFG_ROUTE_PARAMS_MAX 64 /* most `validate` lines in one route */
#define CFG_PATH_MAX 2048       /* longest route path (the router's limit too) */

enum block { B_TOP, B_SERVER, B_DOMAIN, B_ROUTE, B_HISAAB };

static const char *const block_names[] = {"top level", "server", "domain", "route", "hisaab"};

/* A `validate` line waiting for its validator name to be resolved. */
struct pending {
    char *vname;
    int line;
};

struct config_parser {
    const char *name; /* file name used in errors */
    struct config *cfg;
    char *err;
    size_t errlen;
    int line;
    enum block stack[4];
    int open_line[4];
    int depth;
    int workers_line;
    int hisaab_line;
    unsigned char hisaab_seen[CONFIG_HISAAB_KEYS_MAX]; /* for config_hisaab_key(): keys given */
    struct pending *pend;
    size_t npend;
};

static void vperr(struct config_parser *p, int line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void perr(struct config_parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void vperr(struct config_parser *p, int line, const char *fmt, va_list ap)
{
    int n;

    if (p->err == NULL || p->errlen == 0)
        return;
    n = snprintf(p->err, p->errlen, "%s:%d: ", p->name, line);
    if (n < 0 || (size_t)n >= p->errlen)
        return;
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
}

static void perr(struct config_parser *p, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vperr(p, line, fmt, ap);
    va_end(ap);
}

void config_perr(struct config_parser *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vperr(p, p->line, fmt, ap);
    va_end(ap);
}

/* ---- small parsing helpers ---- */

/* Leading blanks, '+', hex and trailing junk are all refused (strtol alone would accept some
 * of them). */
int config_parse_num(struct config_parser *p, const char *what, const char *s, long lo, long hi,
                     long *out)
{
    char *end = NULL;
    long v;
    const char *d = s[0] == '-' ? s + 1 : s;

    if (!isdigit((unsigned char)d[0])) {
        perr(p, p->line, "%s: '%s' is not a number", what, s);
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end != '\0') {
        perr(p, p->line, "%s: '%s' is not a number", what, s);
        return -1;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        perr(p, p->line, "%s: %s is out of range (%ld..%ld)", what, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int is_ident(const char *s)
{
    size_t i;

    if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (i = 1; s[i] != '\0'; i++) {
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return 0;
    }
    return i <= CFG_NAME_MAX;
}

/* Parameter names: letters, digits and "_-." (what a form or query uses in practice). */
static int is_param_name(const char *s)
{
    size_t i;

    for (i = 0; s[i] != '\0'; i++) {
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-' || s[i] == '.'))
            return 0;
    }
    return i > 0 && i <= CFG_NAME_MAX;
}

/* ---- statements ---- */

static struct cfg_domain *cur_domain(struct config_parser *p)
{
    return &p->cfg->domains[p->cfg->ndomains - 1];
}

static struct cfg_route *cur_route(struct config_parser *p)
{
    struct cfg_domain *d = cur_domain(p);
    return &d->routes[d->nroutes - 1];
}

static struct cfg_server *cur_server(struct config_parser *p)
{
    return &p->cfg->servers[p->cfg->nservers - 1];
}

static int dir_workers(struct config_parser *p, char **w, size_t n)
{
    long v;

    if (n != 2) {
        perr(p, p->line, "workers: expected one number");
        return -1;
    }
    if (p->workers_line != 0) {
        perr(p, p->line, "workers: already set at line %d", p->workers_line);
        return -1;
    }
    if (config_parse_num(p, "workers", w[1], 0, CFG_WORKERS_MAX, &v) != 0)
        return -1;
    p->cfg->workers = (int)v;
    p->workers_line = p->line;
    return 0;
}

static int dir_validator(struct config_parser *p, char **w, size_t n)
{
    struct config *cfg = p->cfg;
    struct cfg_validator *v;
    enum cfg_validator_type type;
    validator_fn fn = NULL;
    size_t i;

    if (n < 4) {
        perr(p, p->line,
             "validator: expected 'validator NAME regex PATTERN' or "
             "'validator NAME function FUNC'");
        return -1;
    }
    if (strcmp(w[2], "regex") == 0) {
        type = CFG_VALIDATOR_REGEX;
        if (n != 4) {
            perr(p, p->line,
                 "validator %s: the regex must be one word (write a blank as "
                 "[[:space:]])",
                 w[1]);
            return -1;
        }
    } else if (strcmp(w[2], "function") == 0) {
        type = CFG_VALIDATOR_FUNCTION;
        if (n != 4) {
            perr(p, p->line, "validator %s: expected one function name", w[1]);
            return -1;
        }
        fn = validator_lookup(w[3]);
        if (fn == NULL) {
            perr(p, p->line, "validator %s: unknown function '%s'", w[1], w[3]);
            return -1;
        }
    } else {
        perr(p, p->line, "validator %s: type must be 'regex' or 'function', not '%s'", w[1], w[2]);
        return -1;
    }
    if (strlen(w[1]) > CFG_NAME_MAX) {
        perr(p, p->line, "validator: name too long");
        return -1;
    }
    for (i = 0; i < cfg->nvalidators; i++) {
        if (strcmp(cfg->validators[i].name, w[1]) == 0) {
            perr(p, p->line, "duplicate validator '%s' (first declared at line %d)", w[1],
                 cfg->validators[i].line);
            return -1;
        }
    }
    cfg->validators = xrealloc(cfg->validators, (cfg->nvalidators + 1) * sizeof(*v));
    v = &cfg->validators[cfg->nvalidators++];
    memset(v, 0, sizeof(*v));
    v->name = xstrdup(w[1]);
    v->type = type;
    v->arg = xstrdup(w[3]);
    v->fn = fn;
    v->line = p->line;
    return 0;
}

static int dir_bind(struct config_parser *p, char **w, size_t n)
{
    struct cfg_server *s = cur_server(p);
    unsigned char addr[sizeof(struct in6_addr)];
    long port;

    if (n != 3) {
        perr(p, p->line, "bind: expected 'bind ADDRESS PORT'");
        return -1;
    }
    if (s->bind_addr != NULL) {
        perr(p, p->line, "bind: server '%s' already has a bind", s->name);
        return -1;
    }
    if (inet_pton(AF_INET, w[1], addr) != 1 && inet_pton(AF_INET6, w[1], addr) != 1) {
        perr(p, p->line, "bind: '%s' is not an IPv4 or IPv6 address", w[1]);
        return -1;
    }
    if (config_parse_num(p, "bind port", w[2], 1, 65535, &port) != 0)
        return -1;
    s->bind_addr = xstrdup(w[1]);
    s->bind_port = (int)port;
    return 0;
}

static int dir_tls(struct config_parser *p, char **w, size_t n)
{
    if (n == 2 && strcmp(w[1], "no") == 0)
        return 0; /* what we do anyway: TLS ends at a reverse proxy */
    if (n == 2 && strcmp(w[1], "yes") == 0) {
        perr(p, p->line,
             "tls: not supported; terminate TLS in a reverse proxy and use "
             "'tls no'");
        return -1;
    }
    perr(p, p->line, "tls: expected 'no'");
    return -1;
}

static int dir_attach(struct config_parser *p, char **w, size_t n)
{
    size_t i;

    if (n != 2) {
        perr(p, p->line, "attach: expected one server name");
        return -1;
    }
    /* Kore attaches a domain to a server; we serve every domain on every server, so only
     * check that the name means something. */
    for (i = 0; i < p->cfg->nservers; i++) {
        if (strcmp(p->cfg->servers[i].name, w[1]) == 0)
            return 0;
    }
    perr(p, p->line, "attach: unknown server '%s'", w[1]);
    return -1;
}

static int dir_handler(struct config_parser *p, char **w, size_t n)
{
    struct cfg_route *r = cur_route(p);

    if (n != 2) {
        perr(p, p->line, "handler: expected one function name");
        return -1;
    }
    if (r->handler != NULL) {
        perr(p, p->line, "handler: route '%s' already has handler '%s'", r->path, r->handler);
        return -1;
    }
    if (!is_ident(w[1])) {
        perr(p, p->line, "handler: '%s' is not a function name", w[1]);
        return -1;
    }
    r->handler = xstrdup(w[1]);
    return 0;
}

static unsigned method_bit(const char *m)
{
    static const struct {
        const char *name;
        unsigned bit;
    } methods[] = {{"get", CFG_METHOD_GET},    {"post", CFG_METHOD_POST},
                   {"put", CFG_METHOD_PUT},    {"delete", CFG_METHOD_DELETE},
                   {"head", CFG_METHOD_HEAD},  {"options", CFG_METHOD_OPTIONS},
                   {"patch", CFG_METHOD_PATCH}};
    size_t i;

    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcasecmp(methods[i].name, m) == 0)
            return methods[i].bit;
    }
    return 0;
}

/* Methods as given by `methods`; 0 means not given yet (the default is GET). */
static int dir_methods(struct config_parser *p, char **w, size_t n)
{
    struct cfg_route *r = cur_route(p);
    unsigned bits = 0;
    size_t i;

    if (n < 2) {
        perr(p, p->line, "methods: expected at least one method");
        return -1;
    }
    if (r->methods != 0) {
        perr(p, p->line, "methods: given twice for route '%s'", r->path);
        return -1;
    }
    for (i = 1; i < n; i++) {
        unsigned b = method_bit(w[i]);
        if (b == 0) {
            perr(p, p->line, "methods: unknown method '%s'", w[i]);
            return -1;
        }
        bits |= b;
    }
    r->methods = bits;
    return 0;
}

static int dir_validate(struct config_parser *p, char **w, size_t n)
{
    struct cfg_route *r = cur_route(p);
    struct cfg_param *pa;
    int where;
    size_t i;

    if (n != 4) {
        perr(p, p->line, "validate: expected 'validate qs:get|post|qs:post PARAM VALIDATOR'");
        return -1;
    }
    if (strcmp(w[1], "qs:get") == 0)
        where = CFG_PARAM_QS_GET;
    else if (strcmp(w[1], "post") == 0)
        where = CFG_PARAM_POST;
    else if (strcmp(w[1], "qs:post") == 0)
        where = CFG_PARAM_QS_POST;
    else {
        perr(p, p->line, "validate: source must be qs:get, post or qs:post, not '%s'", w[1]);
        return -1;
    }
    if (!is_param_name(w[2])) {
        perr(p, p->line, "validate: '%s' is not a parameter name", w[2]);
        return -1;
    }
    for (i = 0; i < r->nparams; i++) {
        if (r->params[i].where == where && strcmp(r->params[i].name, w[2]) == 0) {
            perr(p, p->line, "validate: parameter '%s' declared twice for %s", w[2], w[1]);
            return -1;
        }
    }
    if (r->nparams >= CFG_ROUTE_PARAMS_MAX) {
        perr(p, p->line, "validate: more than %d parameters in one route", CFG_ROUTE_PARAMS_MAX);
        return -1;
    }
    r->params = xrealloc(r->params, (r->nparams + 1) * sizeof(*pa));
    pa = &r->params[r->nparams++];
    pa->where = where;
    pa->name = xstrdup(w[2]);
    pa->validator = NULL;

    p->pend = xrealloc(p->pend, (p->npend + 1) * sizeof(*p->pend));
    p->pend[p->npend].vname = xstrdup(w[3]);
    p->pend[p->npend].line = p->line;
    p->npend++;
    return 0;
}

/* Where a known directive belongs, for "not allowed here" messages. */
static int directive_home(const char *w)
{
    static const struct {
        const char *name;
        enum block b;
    } homes[] = {{"server", B_TOP},    {"workers", B_TOP},   {"validator", B_TOP},
                 {"domain", B_TOP},    {"hisaab", B_TOP},    {"bind", B_SERVER},
                 {"tls", B_SERVER},    {"route", B_DOMAIN},  {"attach", B_DOMAIN},
                 {"handler", B_ROUTE}, {"methods", B_ROUTE}, {"validate", B_ROUTE}};
    size_t i;

    for (i = 0; i < sizeof(homes) / sizeof(homes[0]); i++) {
        if (strcmp(homes[i].name, w) == 0)
            return (int)homes[i].b;
    }
    return -1;
}

static int misplaced(struct config_parser *p, const char *w, enum block here)
{
    int home = directive_home(w);

    if (config_looks_secret(w)) {
        perr(p, p->line,
             "'%s' looks like a secret; secrets are never read from the config file: set it "
             "in the environment (DATA_GOV_API_KEY, HISAAB_SECRET)",
             w);
    } else if (home < 0) {
        perr(p, p->line, "unknown directive '%s' in %s%s", w, block_names[here],
             here == B_TOP ? "" : " block");
    } else {
        perr(p, p->line, "'%s' is not allowed in %s%s (it belongs in %s%s; missing '}'?)", w,
             block_names[here], here == B_TOP ? "" : " block", block_names[home],
             home == B_TOP ? "" : " block");
    }
    return -1;
}

/* One statement that does not open a block. */
static int statement(struct config_parser *p, char **w, size_t n)
{
    enum block b = p->stack[p->depth];
    const char *d = w[0];

    if (strcmp(d, "server") == 0 || strcmp(d, "domain") == 0 || strcmp(d, "route") == 0 ||
        strcmp(d, "hisaab") == 0) {
        if (directive_home(d) == (int)b) {
            perr(p, p->line, "%s: missing '{' at the end of the line", d);
            return -1;
        }
        return misplaced(p, d, b);
    }
    switch (b) {
    case B_TOP:
        if (strcmp(d, "workers") == 0)
            return dir_workers(p, w, n);
        if (strcmp(d, "validator") == 0)
            return dir_validator(p, w, n);
        break;
    case B_SERVER:
        if (strcmp(d, "bind") == 0)
            return dir_bind(p, w, n);
        if (strcmp(d, "tls") == 0)
            return dir_tls(p, w, n);
        break;
    case B_DOMAIN:
        if (strcmp(d, "attach") == 0)
            return dir_attach(p, w, n);
        break;
    case B_ROUTE:
        if (strcmp(d, "handler") == 0)
            return dir_handler(p, w, n);
        if (strcmp(d, "methods") == 0)
            return dir_methods(p, w, n);
        if (strcmp(d, "validate") == 0)
            return dir_validate(p, w, n);
        break;
    case B_HISAAB:
        if (config_looks_secret(d))
            return misplaced(p, d, b);
        return config_hisaab_key(p, p->cfg, p->hisaab_seen, w, n);
    }
    return misplaced(p, d, b);
}

static void push(struct config_parser *p, enum block b)
{
    p->depth++;
    p->stack[p->depth] = b;
    p->open_line[p->depth] = p->line;
}

/* A statement ending in '{'. */
static int open_block(struct config_parser *p, char **w, size_t n)
{
    struct config *cfg = p->cfg;
    enum block b = p->stack[p->depth];
    size_t i;

    if (n == 0) {
        perr(p, p->line, "'{' without a block name");
        return -1;
    }
    if (b == B_TOP && strcmp(w[0], "server") == 0) {
        struct cfg_server *s;
        if (n != 2) {
            perr(p, p->line, "server: expected 'server NAME {'");
            return -1;
        }
        for (i = 0; i < cfg->nservers; i++) {
            if (strcmp(cfg->servers[i].name, w[1]) == 0) {
                perr(p, p->line, "duplicate server '%s'", w[1]);
                return -1;
            }
        }
        cfg->servers = xrealloc(cfg->servers, (cfg->nservers + 1) * sizeof(*s));
        s = &cfg->servers[cfg->nservers++];
        memset(s, 0, sizeof(*s));
        s->name = xstrdup(w[1]);
        push(p, B_SERVER);
        return 0;
    }
    if (b == B_TOP && strcmp(w[0], "domain") == 0) {
        struct cfg_domain *d;
        if (n != 2) {
            perr(p, p->line, "domain: expected 'domain NAME {'");
            return -1;
        }
        for (i = 0; i < cfg->ndomains; i++) {
            if (strcmp(cfg->domains[i].name, w[1]) == 0) {
                perr(p, p->line, "duplicate domain '%s'", w[1]);
                return -1;
            }
        }
        cfg->domains = xrealloc(cfg->domains, (cfg->ndomains + 1) * sizeof(*d));
        d = &cfg->domains[cfg->ndomains++];
        memset(d, 0, sizeof(*d));
        d->name = xstrdup(w[1]);
        push(p, B_DOMAIN);
        return 0;
    }
    if (b == B_TOP && strcmp(w[0], "hisaab") == 0) {
        if (n != 1) {
            perr(p, p->line, "hisaab: expected 'hisaab {'");
            return -1;
        }
        if (p->hisaab_line != 0) {
            perr(p, p->line, "duplicate hisaab block (first at line %d)", p->hisaab_line);
            return -1;
        }
        p->hisaab_line = p->line;
        push(p, B_HISAAB);
        return 0;
    }
    if (b == B_DOMAIN && strcmp(w[0], "route") == 0) {
        struct cfg_domain *d = cur_domain(p);
        struct cfg_route *r;
        if (n != 2) {
            perr(p, p->line, "route: expected 'route PATH {'");
            return -1;
        }
        if (w[1][0] != '/' && w[1][0] != '^') {
            perr(p, p->line, "route: path '%s' must start with '/' (or '^' for a regex)", w[1]);
            return -1;
        }
        if (strlen(w[1]) > CFG_PATH_MAX) {
            perr(p, p->line, "route: path longer than %d bytes", CFG_PATH_MAX);
            return -1;
        }
        for (i = 0; i < d->nroutes; i++) {
            if (strcmp(d->routes[i].path, w[1]) == 0) {
                perr(p, p->line, "duplicate route '%s' (first at line %d)", w[1],
                     d->routes[i].line);
                return -1;
            }
        }
        d->routes = xrealloc(d->routes, (d->nroutes + 1) * sizeof(*r));
        r = &d->routes[d->nroutes++];
        memset(r, 0, sizeof(*r));
        r->path = xstrdup(w[1]);
        r->is_regex = w[1][0] == '^';
        r->line = p->line;
        push(p, B_ROUTE);
        return 0;
    }
    if (directive_home(w[0]) == (int)b ||
        (b == B_HISAAB && !config_looks_secret(w[0]) && directive_home(w[0]) < 0)) {
        perr(p, p->line, "'%s' does not take a '{' block", w[0]);
        return -1;
    }
    return misplaced(p, w[0], b);
}

static int close_block(struct config_parser *p)
{
    enum block b = p->stack[p->depth];
    int at = p->open_line[p->depth];

    if (p->depth == 0) {
        perr(p, p->line, "unexpected '}' (no block is open)");
        return -1;
    }
    if (b == B_SERVER && cur_server(p)->bind_addr == NULL) {
        perr(p, at, "server '%s' has no bind", cur_server(p)->name);
        return -1;
    }
    if (b == B_ROUTE) {
        struct cfg_route *r = cur_route(p);
        if (r->handler == NULL) {
            perr(p, at, "route '%s' has no handler", r->path);
            return -1;
        }
        if (r->methods == 0)
            r->methods = CFG_METHOD_GET; /* Kore's default */
    }
    p->depth--;
    return 0;
}

/* Split one line into words and feed its statements and braces to the parser. */
static int parse_line(struct config_parser *p, char *line)
{
    char *w[CFG_WORDS_MAX];
    size_t n = 0, i, start = 0;
    char *s = line;

    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' || *s == '\v')
            s++;
        if (*s == '\0' || *s == '#')
            break;
        if (n == CFG_WORDS_MAX) {
            perr(p, p->line, "too many words on one line (at most %d)", CFG_WORDS_MAX);
            return -1;
        }
        w[n++] = s;
        while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r' && *s != '\f' && *s != '\v')
            s++;
        if (*s != '\0')
            *s++ = '\0';
    }

    for (i = 0; i < n; i++) {
        size_t len = strlen(w[i]);
        if (strcmp(w[i], "{") == 0) {
            if (open_block(p, w + start, i - start) != 0)
                return -1;
            start = i + 1;
        } else if (strcmp(w[i], "}") == 0 || strcmp(w[i], "};") == 0) {
            if (i > start && statement(p, w + start, i - start) != 0)
                return -1;
            if (close_block(p) != 0)
                return -1;
            start = i + 1;
        } else if (w[i][len - 1] == ';') {
            w[i][len - 1] = '\0';
            if (len > 1 || i > start) {
                size_t cnt = len > 1 ? i + 1 - start : i - start;
                if (statement(p, w + start, cnt) != 0)
                    return -1;
            }
            start = i + 1;
        }
    }
    if (start < n && statement(p, w + start, n - start) != 0)
        return -1;
    return 0;
}

/* ---- after the last line ---- */

static int compile_one(struct config_parser *p, regex_t *re, const char *src, int flags, int line,
                       const char *what)
{
    char msg[256];
    int rc;

    if (regex_cost_too_big(src)) {
        perr(p, line, "%s: regex '%.64s' too large: its repetitions expand past %d parts", what,
             src, REGEX_PARTS_MAX);
        return -1;
    }
    rc = regcomp(re, src, flags);
    if (rc != 0) {
        regerror(rc, re, msg, sizeof(msg));
        perr(p, line, "%s: bad regex '%s': %s", what, src, msg);
        return -1;
    }
    return 0;
}

static int compile_regexes(struct config_parser *p, size_t *nv_done, size_t *nr_done)
{
    struct config *cfg = p->cfg;
    char what[96];
    size_t i, j;

    *nv_done = 0;
    *nr_done = 0;
    for (i = 0; i < cfg->nvalidators; i++) {
        struct cfg_validator *v = &cfg->validators[i];
        if (v->type == CFG_VALIDATOR_REGEX) {
            snprintf(what, sizeof(what), "validator %s", v->name);
            if (compile_one(p, &v->re, v->arg, REG_EXTENDED | REG_NOSUB, v->line, what) != 0)
                return -1;
            (void)fastre_compile(v->arg, &v->fast);
        }
        (*nv_done)++;
    }
    for (i = 0; i < cfg->ndomains; i++) {
        struct cfg_domain *d = &cfg->domains[i];
        for (j = 0; j < d->nroutes; j++) {
            struct cfg_route *r = &d->routes[j];
            if (r->is_regex && compile_one(p, &r->re, r->path, REG_EXTENDED, r->line, "route") != 0)
                return -1;
            (*nr_done)++;
        }
    }
    return 0;
}

static int resolve_params(struct config_parser *p)
{
    struct config *cfg = p->cfg;
    size_t i, j, k, v, at = 0;

    for (i = 0; i < cfg->ndomains; i++) {
        for (j = 0; j < cfg->domains[i].nroutes; j++) {
            struct cfg_route *r = &cfg->domains[i].routes[j];
            for (k = 0; k < r->nparams; k++, at++) {
                struct pending *pe = &p->pend[at];
                for (v = 0; v < cfg->nvalidators; v++) {
                    if (strcmp(cfg->validators[v].name, pe->vname) == 0)
                        break;
                }
                if (v == cfg->nvalidators) {
                    perr(p, pe->line, "validate: unknown validator '%s'", pe->vname);
                    return -1;
                }
                r->params[k].validator = &cfg->validators[v];
            }
        }
    }
    return 0;
}

static struct config *config_new(void)
{
    struct config *cfg = xcalloc(1, sizeof(*cfg));

    config_hisaab_defaults(cfg);
    return cfg;
}

/* Free cfg, releasing only the first nv validator and nr route regexes (in file order). */
static void free_partial(struct config *cfg, size_t nv, size_t nr)
{
    size_t i, j, k, at = 0;

    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->nservers; i++) {
        free(cfg->servers[i].name);
        free(cfg->servers[i].bind_addr);
    }
    free(cfg->servers);
    for (i = 0; i < cfg->nvalidators; i++) {
        struct cfg_validator *v = &cfg->validators[i];
        if (v->type == CFG_VALIDATOR_REGEX && i < nv)
            regfree(&v->re);
        free(v->name);
        free(v->arg);
    }
    free(cfg->validators);
    for (i = 0; i < cfg->ndomains; i++) {
        struct cfg_domain *d = &cfg->domains[i];
        for (j = 0; j < d->nroutes; j++, at++) {
            struct cfg_route *r = &d->routes[j];
            if (r->is_regex && at < nr)
                regfree(&r->re);
            for (k = 0; k < r->nparams; k++)
                free(r->params[k].name);
            free(r->params);
            free(r->path);
            free(r->handler);
        }
        free(d->routes);
        free(d->name);
    }
    free(cfg->domains);
    free(cfg->path);
    config_hisaab_free(cfg);
    free(cfg);
}

void config_free(struct config *cfg)
{
    free_partial(cfg, SIZE_MAX, SIZE_MAX);
}

int config_parse(const char *name, const char *text, struct config **out, char *err, size_t errlen)
{
    struct config_parser p;
    char line[CFG_LINE_MAX + 1];
    const char *s = text;
    size_t nv = 0, nr = 0, i;
    long ncpu;
    int rc = -1;

    memset(&p, 0, sizeof(p));
    p.name = name != NULL ? name : "(config)";
    p.err = err;
    p.errlen = errlen;
    p.cfg = config_new();
    p.cfg->path = xstrdup(p.name);
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    *out = NULL;

    while (*s != '\0') {
        size_t len = strcspn(s, "\n");
        p.line++;
        if (len > CFG_LINE_MAX) {
            perr(&p, p.line, "line longer than %d bytes", CFG_LINE_MAX);
            goto out;
        }
        memcpy(line, s, len);
        line[len] = '\0';
        if (parse_line(&p, line) != 0)
            goto out;
        s += len;
        if (*s == '\n')
            s++;
    }
    if (p.depth > 0) {
        perr(&p, p.open_line[p.depth], "%s block opened here is never closed (missing '}')",
             block_names[p.stack[p.depth]]);
        goto out;
    }
    if (p.cfg->nservers == 0) {
        perr(&p, p.line > 0 ? p.line : 1,
             "no server configured (need 'server NAME { bind ADDRESS PORT }')");
        goto out;
    }
    if (compile_regexes(&p, &nv, &nr) != 0)
        goto out;
    if (resolve_params(&p) != 0)
        goto out;

    if (p.cfg->workers == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        p.cfg->workers = ncpu < 1 ? 1 : ncpu > CFG_WORKERS_MAX ? CFG_WORKERS_MAX : (int)ncpu;
    }
    config_apply_env(p.cfg);
    *out = p.cfg;
    p.cfg = NULL;
    rc = 0;
out:
    if (p.cfg != NULL)
        free_partial(p.cfg, nv, nr);
    for (i = 0; i < p.npend; i++)
        free(p.pend[i].vname);
    free(p.pend);
    return rc;
}

int config_load(const char *path, struct config **out, char *err, size_t errlen)
{
    FILE *f = NULL;
    char *text = NULL;
    size_t n = 0;
    int rc = -1;

    *out = NULL;
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    text = xmalloc(CFG_FILE_MAX + 1);
    n = fread(text, 1, CFG_FILE_MAX + 1, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        goto out;
    }
    if (n > CFG_FILE_MAX) {
        snprintf(err, errlen, "%s: larger than %d bytes", path, CFG_FILE_MAX);
        goto out;
    }
    text[n] = '\0';
    if (strlen(text) != n) {
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        goto out;
    }
    rc = config_parse(path, text, out, err, errlen);
out:
    if (f != NULL)
        fclose(f);
    free(text);
    return rc;
}
