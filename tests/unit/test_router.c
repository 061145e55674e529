/*
 * Unit tests for the router (exact and regex routes, 404, 405 with Allow, declared and
 * validated parameters, decoding, limits) and for every function validator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/net/router.c"
#include "net/config.h"
#include "net/validator.h"

static const char conf[] =
    "server s { bind 127.0.0.1 8080 }\n"
    "validator v_int function v_int\n"
    "validator v_lang function v_lang\n"
    "validator v_lat function v_lat\n"
    "validator v_lon function v_lon\n"
    "validator v_fin_year function v_fin_year\n"
    "validator v_months function v_months\n"
    "validator v_search function v_search\n"
    "validator v_word regex ^[a-z]+$\n"
    "validator v_any regex .*\n"
    "domain * {\n"
    "  route /api/v1/health { handler h_health }\n"
    "  route /api/v1/districts {\n"
    "    handler h_list\n"
    "    methods get\n"
    "    validate qs:get state v_int\n"
    "    validate qs:get lang v_lang\n"
    "    validate qs:get q v_search\n"
    "  }\n"
    "  route /api/v1/feedback {\n"
    "    handler h_feedback\n"
    "    methods post\n"
    "    validate post district v_int\n"
    "    validate post text v_search\n"
    "    validate qs:post lang v_lang\n"
    "  }\n"
    "  route /both { handler h_both; methods get post\n"
    "    validate qs:get a v_word; validate post a v_word }\n"
    "  route /long { handler h_long; validate qs:get a v_word; validate qs:get any v_any }\n"
    "  route ^/api/v1/districts/[0-9]+/summary$ {\n"
    "    handler h_summary\n"
    "    validate qs:get months v_months\n"
    "    validate qs:get fy v_fin_year\n"
    "  }\n"
    "  route ^/api/v1/districts/[0-9]+$ { handler h_district }\n"
    "  route /api/v1/districts/0 { handler h_zero }\n"
    "  route ^/catch/.*$ { handler h_catch1 }\n"
    "  route ^/catch/a$ { handler h_catch2 }\n"
    "  route ^/loose/[0-9]+ { handler h_loose }\n"
    "  route ^/deep/a+$ { handler h_deep }\n"
    "  route ^/opt/ab?c$ { handler h_opt }\n"
    "  route ^/alt/x$|^/other/y$ { handler h_alt }\n"
    "  route ^/pre/(one|two)$ { handler h_pre }\n"
    "  route /geo { handler h_geo; validate qs:get lat v_lat; validate qs:get lon v_lon }\n"
    "  route /all { handler h_all; methods get head post put delete options patch }\n"
    "  route /many {\n"
    "    handler h_many\n"
    "    validate qs:get p00 v_word\n    validate qs:get p01 v_word\n"
    "    validate qs:get p02 v_word\n    validate qs:get p03 v_word\n"
    "    validate qs:get p04 v_word\n    validate qs:get p05 v_word\n"
    "    validate qs:get p06 v_word\n    validate qs:get p07 v_word\n"
    "    validate qs:get p08 v_word\n    validate qs:get p09 v_word\n"
    "    validate qs:get p10 v_word\n    validate qs:get p11 v_word\n"
    "    validate qs:get p12 v_word\n    validate qs:get p13 v_word\n"
    "    validate qs:get p14 v_word\n    validate qs:get p15 v_word\n"
    "    validate qs:get p16 v_word\n    validate qs:get p17 v_word\n"
    "  }\n"
    "}\n";

/* Handlers are only compared by address here. */
static const char *const handler_names[] = {
    "h_health",   "h_list", "h_feedback", "h_both",   "h_long",  "h_summary",
    "h_district", "h_zero", "h_catch1",   "h_catch2", "h_loose", "h_deep",
    "h_geo",      "h_all",  "h_many",     "h_opt",    "h_alt",   "h_pre"};
static char handler_slots[sizeof(handler_names) / sizeof(handler_names[0])];

static void *lookup(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(handler_names) / sizeof(handler_names[0]); i++) {
        if (strcmp(handler_names[i], name) == 0)
            return &handler_slots[i];
    }
    return NULL;
}

static void *H(const char *name)
{
    void *h = lookup(name);
    assert_non_null(h);
    return h;
}

struct fixture {
    struct config *cfg;
    struct router *r;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[512] = "";

    if (f == NULL)
        return -1;
    if (config_parse("r.conf", conf, &f->cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        free(f);
        return -1;
    }
    f->r = router_new(f->cfg, lookup, err, sizeof(err));
    if (f->r == NULL) {
        fprintf(stderr, "%s\n", err);
        config_free(f->cfg);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    if (f == NULL)
        return 0;
    router_free(f->r);
    config_free(f->cfg);
    free(f);
    return 0;
}

static const struct router *R(void **state)
{
    return ((struct fixture *)*state)->r;
}

static void get(void **state, const char *path, const char *query, struct router_match *m)
{
    router_match(R(state), CFG_METHOD_GET, path, query, NULL, 0, m);
}

/* ---- routes ---- */

static void test_exact(void **state)
{
    struct router_match m;

    get(state, "/api/v1/health", NULL, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_ptr_equal(m.handler, H("h_health"));
    assert_string_equal(m.route->path, "/api/v1/health");
    assert_int_equal(m.nparams, 0);
    router_match_free(&m);

    get(state, "/api/v1/districts", "", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_ptr_equal(m.handler, H("h_list"));
    router_match_free(&m);

    /* Exact means exact: no prefix, no trailing slash, case matters. */
    get(state, "/api/v1/health/", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
    assert_null(m.route);
    assert_null(m.handler);
    get(state, "/api/v1/healt", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
    get(state, "/API/v1/health", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
}

static void test_regex(void **state)
{
    struct router_match m;

    get(state, "/api/v1/districts/1234/summary", NULL, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_ptr_equal(m.handler, H("h_summary"));
    router_match_free(&m);

    get(state, "/api/v1/districts/17", NULL, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_ptr_equal(m.handler, H("h_district"));

    get(state, "/api/v1/districts/x/summary", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
    get(state, "/api/v1/districts/12/summary/extra", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);

    /* A regex without '$' must still match the whole path. */
    get(state, "/loose/12", NULL, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_ptr_equal(m.handler, H("h_loose"));
    get(state, "/loose/12abc", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
    get(state, "/x/loose/12", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);

    /* The literal start that lets most paths skip a regex never hides a match: a
     * character a quantifier makes optional, a top-level alternative, a group. */
    get(state, "/opt/ac", NULL, &m);
    assert_ptr_equal(m.handler, H("h_opt"));
    get(state, "/opt/abc", NULL, &m);
    assert_ptr_equal(m.handler, H("h_opt"));
    get(state, "/other/y", NULL, &m);
    assert_ptr_equal(m.handler, H("h_alt"));
    get(state, "/alt/x", NULL, &m);
    assert_ptr_equal(m.handler, H("h_alt"));
    get(state, "/pre/two", NULL, &m);
    assert_ptr_equal(m.handler, H("h_pre"));
    get(state, "/pre/three", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
}

/* The per-path memo in front of the regexes answers as the regexes do: every path asked
 * twice over (so the second time comes from the memo), among more paths than the memo
 * has slots (so slots are replaced), one longer than a slot holds. */
static void test_regex_memo(void **state)
{
    static const char *const paths[] = {
        "/api/v1/districts/1234/summary",
        "/api/v1/districts/17",
        "/loose/12",
        "/loose/12abc",
        "/opt/ac",
        "/pre/three",
        "/catch/a",
        "/deep/aaaa",
        "/nothing/here",
        "/catch/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    const size_t n = sizeof(paths) / sizeof(paths[0]);
    const void *first[sizeof(paths) / sizeof(paths[0])];
    struct router_match m;
    char p[64];
    size_t i, k;

    for (k = 0; k < 3; k++) {
        for (i = 0; i < n; i++) {
            get(state, paths[i], NULL, &m);
            if (k == 0)
                first[i] = m.route;
            assert_ptr_equal(m.route, first[i]);
            router_match_free(&m);
        }
        /* 2,000 other paths between the rounds: the memo's 512 slots are reused. */
        for (i = 0; i < 2000; i++) {
            snprintf(p, sizeof(p), "/api/v1/districts/%zu%s", i, i % 2 ? "/summary" : "/x");
            get(state, p, NULL, &m);
            assert_int_equal(m.status, i % 2 ? ROUTER_OK : ROUTER_NOT_FOUND);
            if (i % 2)
                assert_ptr_equal(m.handler, H("h_summary"));
            router_match_free(&m);
        }
    }
    assert_null(first[8]);
    assert_non_null(first[9]);
}

static void test_exact_before_regex_and_file_order(void **state)
{
    struct router_match m;

    /* /api/v1/districts/0 matches an earlier regex route, but exact paths come first. */
    get(state, "/api/v1/districts/0", NULL, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_ptr_equal(m.handler, H("h_zero"));

    /* Both regexes match /catch/a: the first in the file wins. */
    get(state, "/catch/a", NULL, &m);
    assert_ptr_equal(m.handler, H("h_catch1"));
    get(state, "/catch/", NULL, &m);
    assert_ptr_equal(m.handler, H("h_catch1"));
}

static void test_not_found(void **state)
{
    struct router_match m;
    char path[2100];

    get(state, "/nope", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
    get(state, "", NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
    router_match(R(state), CFG_METHOD_GET, NULL, NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
    router_match(NULL, CFG_METHOD_GET, "/api/v1/health", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);

    /* 2048 bytes is the longest path routed; 2049 is not looked at. */
    memcpy(path, "/deep/", 6);
    memset(path + 6, 'a', 2048 - 6);
    path[2048] = '\0';
    get(state, path, NULL, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_ptr_equal(m.handler, H("h_deep"));
    path[2048] = 'a';
    path[2049] = '\0';
    get(state, path, NULL, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
}

static void test_methods(void **state)
{
    struct router_match m;

    router_match(R(state), CFG_METHOD_POST, "/api/v1/health", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_BAD_METHOD);
    assert_string_equal(m.allow, "GET");
    assert_non_null(m.route);
    assert_null(m.handler);

    router_match(R(state), CFG_METHOD_PUT, "/both", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_BAD_METHOD);
    assert_string_equal(m.allow, "GET, POST");

    router_match(R(state), CFG_METHOD_GET, "/api/v1/feedback", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_BAD_METHOD);
    assert_string_equal(m.allow, "POST");

    /* HEAD goes wherever GET does, but not where only POST does. */
    router_match(R(state), CFG_METHOD_HEAD, "/api/v1/health", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_ptr_equal(m.handler, H("h_health"));
    router_match(R(state), CFG_METHOD_HEAD, "/api/v1/feedback", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_BAD_METHOD);
    assert_string_equal(m.allow, "POST");

    /* Regex routes check methods too. */
    router_match(R(state), CFG_METHOD_DELETE, "/api/v1/districts/3", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_BAD_METHOD);
    assert_string_equal(m.allow, "GET");

    /* No method or several bits at once are never allowed. */
    router_match(R(state), 0, "/all", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_BAD_METHOD);
    assert_string_equal(m.allow, "GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH");
    router_match(R(state), CFG_METHOD_GET | CFG_METHOD_POST, "/all", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_BAD_METHOD);
    router_match(R(state), CFG_METHOD_PATCH, "/all", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_OK);

    assert_int_equal(router_method_bit("GET"), CFG_METHOD_GET);
    assert_int_equal(router_method_bit("HEAD"), CFG_METHOD_HEAD);
    assert_int_equal(router_method_bit("POST"), CFG_METHOD_POST);
    assert_int_equal(router_method_bit("PUT"), CFG_METHOD_PUT);
    assert_int_equal(router_method_bit("DELETE"), CFG_METHOD_DELETE);
    assert_int_equal(router_method_bit("OPTIONS"), CFG_METHOD_OPTIONS);
    assert_int_equal(router_method_bit("PATCH"), CFG_METHOD_PATCH);
    assert_int_equal(router_method_bit("get"), 0); /* methods are case-sensitive */
    assert_int_equal(router_method_bit("TRACE"), 0);
    assert_int_equal(router_method_bit(""), 0);
    assert_int_equal(router_method_bit(NULL), 0);
}

/* ---- parameters ---- */

static void test_declared_params_only(void **state)
{
    struct router_match m;

    get(state, "/api/v1/districts", "state=23&evil=1&lang=hi&__proto__=x", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(router_param(&m, "state"), "23");
    assert_string_equal(router_param(&m, "lang"), "hi");
    assert_null(router_param(&m, "evil"));
    assert_null(router_param(&m, "__proto__"));
    assert_null(router_param(&m, "q"));
    assert_null(router_param(NULL, "q"));
    assert_null(router_param(&m, NULL));
    router_match_free(&m);
    assert_int_equal(m.nparams, 0);
    router_match_free(&m); /* twice is harmless */
    router_match_free(NULL);

    /* An undeclared parameter is dropped even when its value is garbage. */
    get(state, "/api/v1/health", "state=abc&x=%00", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_int_equal(m.nparams, 0);
}

static void test_bad_param_named(void **state)
{
    struct router_match m;

    get(state, "/api/v1/districts", "lang=hi&state=23x&q=ok", &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "state");
    assert_non_null(m.route);
    assert_null(m.handler);
    assert_int_equal(m.nparams, 0); /* nothing half-validated reaches anyone */
    router_match_free(&m);

    get(state, "/api/v1/districts", "lang=fr&state=x", &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "lang"); /* the first failure in request order */

    /* A declared parameter with an empty value or no '=' is checked (and fails) too. */
    get(state, "/api/v1/districts", "state=", &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "state");
    get(state, "/api/v1/districts", "state", &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);

    /* Regex validators. */
    get(state, "/both", "a=Hello", &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "a");
    get(state, "/both", "a=hello", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_string_equal(router_param(&m, "a"), "hello");
    router_match_free(&m);

    /* Regex route parameters. */
    get(state, "/api/v1/districts/5/summary", "months=12&fy=2024-2025", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_string_equal(router_param(&m, "months"), "12");
    assert_string_equal(router_param(&m, "fy"), "2024-2025");
    router_match_free(&m);
    get(state, "/api/v1/districts/5/summary", "months=61", &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "months");
}

static void test_decoding(void **state)
{
    struct router_match m;

    get(state, "/api/v1/districts", "q=new%20delhi+east", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_string_equal(router_param(&m, "q"), "new delhi east");
    router_match_free(&m);

    /* UTF-8 (Devanagari) percent-encoded, and an encoded key. */
    get(state, "/api/v1/districts", "%71=%E0%A4%AD%E0%A5%8B%E0%A4%AA%E0%A4%BE%E0%A4%B2&l%61ng=hi",
        &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_string_equal(router_param(&m, "q"), "\xe0\xa4\xad\xe0\xa5\x8b\xe0\xa4\xaa\xe0\xa4\xbe"
                                               "\xe0\xa4\xb2");
    assert_string_equal(router_param(&m, "lang"), "hi");
    router_match_free(&m);

    /* %2B is a literal '+', %26 a literal '&' inside a value. */
    get(state, "/api/v1/districts", "q=a%2Bb%26c", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_string_equal(router_param(&m, "q"), "a+b&c");
    router_match_free(&m);

    /* A NUL byte inside a declared value is refused, not truncated. */
    get(state, "/api/v1/districts", "state=12%0034", &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "state");

    /* Control characters are refused by v_search. */
    get(state, "/api/v1/districts", "q=a%0Ab", &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "q");

    /* Invalid UTF-8 after decoding. */
    get(state, "/api/v1/districts", "q=%C3%28", &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
}

static void test_repeated_and_malformed(void **state)
{
    struct router_match m;

    get(state, "/api/v1/districts", "state=5&state=6", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(router_param(&m, "state"), "5");
    router_match_free(&m);

    /* Only the first value is looked at, so a bad repeat does not matter. */
    get(state, "/api/v1/districts", "state=5&state=abc", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_string_equal(router_param(&m, "state"), "5");
    router_match_free(&m);

    /* Stray '&', pairs without a key or '=' are skipped, not fatal. */
    get(state, "/api/v1/districts", "&&flag&=3&=&state=7&", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(router_param(&m, "state"), "7");
    router_match_free(&m);

    /* '=' inside a value belongs to the value. */
    get(state, "/long", "any=a=b=c", &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_string_equal(router_param(&m, "any"), "a=b=c");
    router_match_free(&m);
}

static void test_long_values(void **state)
{
    struct router_match m;
    char q[3 * 1025 + 8];
    size_t i;

    /* 1024 decoded bytes pass, 1025 do not. */
    memcpy(q, "a=", 2);
    memset(q + 2, 'z', 1024);
    q[2 + 1024] = '\0';
    get(state, "/long", q, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_int_equal(strlen(router_param(&m, "a")), 1024);
    router_match_free(&m);
    q[2 + 1024] = 'z';
    q[2 + 1025] = '\0';
    get(state, "/long", q, &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "a");

    /* The limit counts decoded bytes: 1024 x "%7A" is 3072 raw bytes and passes. */
    for (i = 0; i < 1024; i++)
        memcpy(q + 2 + 3 * i, "%7A", 3);
    q[2 + 3 * 1024] = '\0';
    get(state, "/long", q, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_int_equal(strlen(router_param(&m, "a")), 1024);
    router_match_free(&m);
    memcpy(q + 2 + 3 * 1024, "%7A", 4);
    get(state, "/long", q, &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);

    /* Undeclared long values cost nothing and are dropped. */
    memcpy(q, "b=", 2);
    get(state, "/long", q, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_int_equal(m.nparams, 0);
}

static void test_param_cap(void **state)
{
    struct router_match m;
    char q[512];
    size_t used = 0;
    int i;

    for (i = 0; i < 18; i++)
        used += (size_t)snprintf(q + used, sizeof(q) - used, "%sp%02d=v", i ? "&" : "", i);
    get(state, "/many", q, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_int_equal(m.nparams, ROUTER_MAX_PARAMS);
    assert_string_equal(router_param(&m, "p15"), "v");
    assert_null(router_param(&m, "p16"));
    router_match_free(&m);
}

static void test_post_sources(void **state)
{
    struct router_match m;
    /* The body is not NUL-terminated: only form_len bytes may be read. */
    const char body[] = "district=12&text=hi+there&evil=1GARBAGE";
    size_t body_len = strlen("district=12&text=hi+there&evil=1");

    router_match(R(state), CFG_METHOD_POST, "/api/v1/feedback", "lang=en&district=99", body,
                 body_len, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_ptr_equal(m.handler, H("h_feedback"));
    assert_int_equal(m.nparams, 3);
    assert_string_equal(router_param(&m, "lang"), "en");
    assert_string_equal(router_param(&m, "district"), "12"); /* form, not the query */
    assert_string_equal(router_param(&m, "text"), "hi there");
    assert_null(router_param(&m, "evil"));
    router_match_free(&m);

    router_match(R(state), CFG_METHOD_POST, "/api/v1/feedback", NULL, "district=x", 10, &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "district");

    router_match(R(state), CFG_METHOD_POST, "/api/v1/feedback", "lang=xx", NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
    assert_string_equal(m.bad_param, "lang");

    /* /both: GET reads qs:get from the query; POST reads `post` from the body only. */
    router_match(R(state), CFG_METHOD_POST, "/both", "a=fromquery", "a=frombody", 10, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_string_equal(router_param(&m, "a"), "frombody");
    router_match_free(&m);
    router_match(R(state), CFG_METHOD_POST, "/both", "a=fromquery", NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_null(router_param(&m, "a"));
    router_match(R(state), CFG_METHOD_GET, "/both", "a=fromquery", "a=frombody", 10, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_string_equal(router_param(&m, "a"), "fromquery");
    router_match_free(&m);

    /* HEAD reads the query like GET. */
    router_match(R(state), CFG_METHOD_HEAD, "/both", "a=x1", NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_BAD_PARAM);
}

static void test_router_new_errors(void **state)
{
    struct config *cfg = NULL;
    struct router *r;
    struct router_match m;
    char err[256] = "";

    (void)state;
    assert_int_equal(config_parse("u.conf",
                                  "server s { bind 127.0.0.1 1 }\n"
                                  "domain * {\n"
                                  "  route /a { handler h_health }\n"
                                  "  route /b { handler h_missing }\n"
                                  "}\n",
                                  &cfg, err, sizeof(err)),
                     0);
    r = router_new(cfg, lookup, err, sizeof(err));
    assert_null(r);
    assert_string_equal(err, "u.conf:4: unknown handler 'h_missing'");

    /* Without a lookup function handlers are left NULL (useful for tools and tests). */
    r = router_new(cfg, NULL, err, sizeof(err));
    assert_non_null(r);
    router_match(r, CFG_METHOD_GET, "/b", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_OK);
    assert_null(m.handler);
    router_free(r);
    router_free(NULL);
    config_free(cfg);

    /* No domains at all: everything is 404. */
    assert_int_equal(
        config_parse("e.conf", "server s { bind 127.0.0.1 1 }", &cfg, err, sizeof(err)), 0);
    r = router_new(cfg, lookup, err, sizeof(err));
    assert_non_null(r);
    router_match(r, CFG_METHOD_GET, "/", NULL, NULL, 0, &m);
    assert_int_equal(m.status, ROUTER_NOT_FOUND);
    router_free(r);
    config_free(cfg);
}

static void test_same_path_two_domains(void **state)
{
    struct config *cfg = NULL;
    struct router *r;
    struct router_match m;
    char err[256] = "";

    (void)state;
    assert_int_equal(config_parse("d.conf",
                                  "server s { bind 127.0.0.1 1 }\n"
                                  "domain a { route /x { handler h_health } }\n"
                                  "domain b { route /x { handler h_list } }\n"
                                  "domain c { route /x { handler h_both } }\n",
                                  &cfg, err, sizeof(err)),
                     0);
    r = router_new(cfg, lookup, err, sizeof(err));
    assert_non_null(r);
    router_match(r, CFG_METHOD_GET, "/x", NULL, NULL, 0, &m);
    assert_ptr_equal(m.handler, H("h_health")); /* the first in the file */
    router_free(r);
    config_free(cfg);
}

/* ---- function validators ---- */

static int V(const char *fn, const char *value)
{
    validator_fn f = validator_lookup(fn);
    assert_non_null(f);
    return f(value);
}

static void test_validator_lookup(void **state)
{
    (void)state;
    assert_null(validator_lookup("v_nope"));
    assert_null(validator_lookup(""));
    assert_null(validator_lookup(NULL));
    assert_null(validator_lookup("V_INT"));
}

static void test_v_lang(void **state)
{
    (void)state;
    assert_true(V("v_lang", "hi"));
    assert_true(V("v_lang", "en"));
    assert_false(V("v_lang", "HI"));
    assert_false(V("v_lang", "hin"));
    assert_false(V("v_lang", "h"));
    assert_false(V("v_lang", ""));
    assert_false(V("v_lang", "en "));
}

static void test_v_int(void **state)
{
    (void)state;
    assert_true(V("v_int", "0"));
    assert_true(V("v_int", "7"));
    assert_true(V("v_int", "007"));
    assert_true(V("v_int", "999999999"));
    assert_false(V("v_int", "1000000000")); /* 10 digits */
    assert_false(V("v_int", ""));
    assert_false(V("v_int", "-1"));
    assert_false(V("v_int", "+1"));
    assert_false(V("v_int", " 1"));
    assert_false(V("v_int", "1 "));
    assert_false(V("v_int", "1.0"));
    assert_false(V("v_int", "0x1"));
    assert_false(V("v_int", "\xd9\xa3")); /* Arabic-Indic digit three */
}

static void test_v_lat_lon(void **state)
{
    (void)state;
    assert_true(V("v_lat", "0"));
    assert_true(V("v_lat", "23.2599"));
    assert_true(V("v_lat", "-90"));
    assert_true(V("v_lat", "90.000"));
    assert_true(V("v_lat", "+45.5"));
    assert_true(V("v_lat", ".5"));
    assert_false(V("v_lat", "90.0001"));
    assert_false(V("v_lat", "-90.5"));
    assert_false(V("v_lat", ""));
    assert_false(V("v_lat", "-"));
    assert_false(V("v_lat", "."));
    assert_false(V("v_lat", "nan"));
    assert_false(V("v_lat", "inf"));
    assert_false(V("v_lat", "1e1"));
    assert_false(V("v_lat", "0x10"));
    assert_false(V("v_lat", " 10"));
    assert_false(V("v_lat", "10 "));
    assert_false(V("v_lat", "1.2.3"));
    assert_false(V("v_lat", "1-2"));
    assert_false(V("v_lat", "12,5"));
    assert_false(V("v_lat", "0.000000000000000000000000000000001")); /* > 32 bytes */

    assert_true(V("v_lon", "77.4126"));
    assert_true(V("v_lon", "-180"));
    assert_true(V("v_lon", "180"));
    assert_true(V("v_lon", "95"));
    assert_false(V("v_lon", "180.01"));
    assert_false(V("v_lon", "-181"));
    assert_false(V("v_lon", "infinity"));
    assert_false(V("v_lon", "77.4E0"));
}

static void test_v_fin_year(void **state)
{
    (void)state;
    assert_true(V("v_fin_year", "2024-2025"));
    assert_true(V("v_fin_year", "1999-2000"));
    assert_true(V("v_fin_year", "2100-2101"));
    assert_false(V("v_fin_year", "2024-2024"));
    assert_false(V("v_fin_year", "2024-2026"));
    assert_false(V("v_fin_year", "2025-2024"));
    assert_false(V("v_fin_year", "2024-25"));
    assert_false(V("v_fin_year", "2024/2025"));
    assert_false(V("v_fin_year", "2024-2025 "));
    assert_false(V("v_fin_year", "+024-2025"));
    assert_false(V("v_fin_year", "1949-1950"));
    assert_false(V("v_fin_year", "2101-2102"));
    assert_false(V("v_fin_year", ""));
}

static void test_v_months(void **state)
{
    (void)state;
    assert_true(V("v_months", "1"));
    assert_true(V("v_months", "06"));
    assert_true(V("v_months", "12"));
    assert_true(V("v_months", "60"));
    assert_false(V("v_months", "0"));
    assert_false(V("v_months", "00"));
    assert_false(V("v_months", "61"));
    assert_false(V("v_months", "060"));
    assert_false(V("v_months", "-1"));
    assert_false(V("v_months", ""));
    assert_false(V("v_months", "1a"));
}

static void test_v_search(void **state)
{
    char s[80];

    (void)state;
    assert_true(V("v_search", "a"));
    assert_true(V("v_search", "Bhopal district"));
    assert_true(V("v_search", "\xe0\xa4\xad\xe0\xa5\x8b\xe0\xa4\xaa\xe0\xa4\xbe\xe0\xa4\xb2"));
    assert_true(V("v_search", "\xf0\x9f\x99\x82")); /* 4-byte sequence */
    assert_true(V("v_search", "\xc2\xa0"));         /* U+00A0 is not a control */
    memset(s, 'x', 64);
    s[64] = '\0';
    assert_true(V("v_search", s));
    s[64] = 'x';
    s[65] = '\0';
    assert_false(V("v_search", s)); /* 65 bytes */
    assert_false(V("v_search", ""));
    assert_false(V("v_search", "a\tb"));
    assert_false(V("v_search", "a\nb"));
    assert_false(V("v_search", "\x7f"));
    assert_false(V("v_search", "\xc2\x85"));         /* U+0085, a C1 control */
    assert_false(V("v_search", "\xc3\x28"));         /* bad continuation */
    assert_false(V("v_search", "\xc0\xaf"));         /* overlong '/' */
    assert_false(V("v_search", "\xe0\x80\xaf"));     /* overlong, 3 bytes */
    assert_false(V("v_search", "\xf0\x80\x80\xaf")); /* overlong, 4 bytes */
    assert_false(V("v_search", "\xed\xa0\x80"));     /* surrogate U+D800 */
    assert_false(V("v_search", "\xf4\x90\x80\x80")); /* above U+10FFFF */
    assert_false(V("v_search", "\xe0\xa4"));         /* truncated */
    assert_false(V("v_search", "\x80"));
    assert_false(V("v_search", "\xff"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_regex_memo),
        cmocka_unit_test(test_exact_before_regex_and_file_order),
        cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_declared_params_only),
        cmocka_unit_test(test_bad_param_named),
        cmocka_unit_test(test_decoding),
        cmocka_unit_test(test_repeated_and_malformed),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_param_cap),
        cmocka_unit_test(test_post_sources),
        cmocka_unit_test(test_router_new_errors),
        cmocka_unit_test(test_same_path_two_domains),
        cmocka_unit_test(test_validator_lookup),
        cmocka_unit_test(test_v_lang),
        cmocka_unit_test(test_v_int),
        cmocka_unit_test(test_v_lat_lon),
        cmocka_unit_test(test_v_fin_year),
        cmocka_unit_test(test_v_months),
        cmocka_unit_test(test_v_search),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
