/*
 * The router: what Kore does between the HTTP parser and a handler. It finds the route
 * for a path (exact paths first, then regex routes in file order), checks the method
 * (405 with the Allow list), and keeps only the parameters declared with `validate` for
 * that method, each checked by its validator (400 naming the first that fails). Handlers
 * never see an undeclared parameter.
 */
#ifndef HISAAB_ROUTER_H
#define HISAAB_ROUTER_H

#include <stddef.h>

#include "net/config.h"

/* Resolves a handler name to a function pointer (NULL = unknown). */
typedef void *(*router_lookup_fn)(const char *name);

struct router;

#define ROUTER_MAX_PARAMS 16

struct router_param {
    const char *name; /* borrowed from the config */
    char *value;      /* decoded, malloc'd; freed by router_match_free() */
};

enum router_status {
    ROUTER_OK = 0,
    ROUTER_NOT_FOUND,  /* 404 */
    ROUTER_BAD_METHOD, /* 405: see allow */
    ROUTER_BAD_PARAM,  /* 400: see bad_param */
};

struct router_match {
    enum router_status status;
    const struct cfg_route *route; /* set for OK, BAD_METHOD, BAD_PARAM */
    void *handler;                 /* set for OK */
    char allow[64];                /* "GET, POST" for BAD_METHOD */
    const char *bad_param;         /* name of the failing parameter for BAD_PARAM */
    struct router_param params[ROUTER_MAX_PARAMS];
    size_t nparams;
};

/*
 * Build a router from every route of every domain in cfg (borrowed; must outlive the
 * router). Each handler name is resolved with lookup; an unknown one is an error.
 * Returns NULL on error with "PATH:LINE: unknown handler 'x'" in err. Caller frees with
 * router_free().
 */
struct router *router_new(const struct config *cfg, router_lookup_fn lookup, char *err,
                          size_t errlen);
void router_free(struct router *r);

/*
 * Match one request. method is one CFG_METHOD_* bit; path excludes the query; query is
 * the raw query string (may be NULL); form is the raw application/x-www-form-urlencoded
 * body of a POST (may be NULL). Fills *m; call router_match_free(m) afterwards.
 */
void router_match(const struct router *r, unsigned method, const char *path, const char *query,
                  const char *form, size_t form_len, struct router_match *m);
void router_match_free(struct router_match *m);

/* The validated value of a parameter, or NULL. */
const char *router_param(const struct router_match *m, const char *name);

/* Method name ("GET") to its CFG_METHOD_* bit; 0 if unknown. */
unsigned router_method_bit(const char *name);

#endif
