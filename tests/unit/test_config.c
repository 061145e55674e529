/*
 * Unit tests for the kore.conf parser (src/net/config.c) and the `hisaab { }` settings
 * (src/net/config_hisaab.c): the project's real kore.conf, small good files, one broken
 * file per error (each checked for its exact "FILE:LINE:" and message), secrets kept out
 * of the file, and the environment overrides. Includes both .c files to reach their
 * static helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/net/config.c"
#include "../../src/net/config_hisaab.c"

static const char *const env_vars[] = {
    "DATABASE_URL",        "REDIS_URL",          "DATA_GOV_API_KEY",        "DATA_GOV_API_BASE",
    "HISAAB_SECRET",       "TWILIO_AUTH_TOKEN",  "KANNEL_SENDSMS_PASSWORD", "KANNEL_SENDSMS_URL",
    "KANNEL_SENDSMS_USER", "KANNEL_SENDSMS_FROM"};

static void clear_env(void)
{
    size_t i;

    for (i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
        unsetenv(env_vars[i]);
}

static int setup(void **state)
{
    (void)state;
    clear_env();
    return 0;
}

/* A file of the repository: the nearest directory above this binary holding a Makefile
 * and the file (the binary may sit in build/tests/ or build/asan/tests/). */
static void repo_file(const char *rel, char *out, size_t outlen)
{
    char dir[PATH_MAX], probe[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
    char *slash;

    assert_true(n > 0);
    dir[n] = '\0';
    while ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
        *slash = '\0';
        snprintf(probe, sizeof(probe), "%s/Makefile", dir);
        if (access(probe, R_OK) != 0)
            continue;
        assert_true((size_t)snprintf(out, outlen, "%s/%s", dir, rel) < outlen);
        if (access(out, R_OK) == 0)
            return;
    }
    fail_msg("no %s found above the test binary", rel);
}

static struct config *parse_ok(const char *text)
{
    struct config *cfg = NULL;
    char err[512] = "";

    if (config_parse("t.conf", text, &cfg, err, sizeof(err)) != 0)
        fail_msg("unexpected error: %s", err);
    assert_non_null(cfg);
    return cfg;
}

static const struct cfg_route *find_route(const struct config *cfg, const char *path)
{
    size_t i, j;

    for (i = 0; i < cfg->ndomains; i++) {
        for (j = 0; j < cfg->domains[i].nroutes; j++) {
            if (strcmp(cfg->domains[i].routes[j].path, path) == 0)
                return &cfg->domains[i].routes[j];
        }
    }
    return NULL;
}

static const struct cfg_validator *find_validator(const struct config *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->nvalidators; i++) {
        if (strcmp(cfg->validators[i].name, name) == 0)
            return &cfg->validators[i];
    }
    return NULL;
}

static void test_real_kore_conf(void **state)
{
    struct config *cfg = NULL;
    const struct cfg_route *r;
    const struct cfg_validator *v;
    char path[PATH_MAX], err[512] = "";
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    static const char *const fns[] = {"v_lang",     "v_int",    "v_lat",   "v_lon",
                                      "v_fin_year", "v_months", "v_search"};
    size_t i;

    (void)state;
    repo_file("kore.conf", path, sizeof(path));
    if (config_load(path, &cfg, err, sizeof(err)) != 0)
        fail_msg("kore.conf: %s", err);
    assert_string_equal(cfg->path, path);

    assert_int_equal(cfg->nservers, 1);
    assert_string_equal(cfg->servers[0].name, "default");
    assert_string_equal(cfg->servers[0].bind_addr, "127.0.0.1");
    assert_int_equal(cfg->servers[0].bind_port, 8080);
    assert_int_equal(cfg->workers, ncpu < 1 ? 1 : ncpu > 256 ? 256 : ncpu);

    for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
        v = find_validator(cfg, fns[i]);
        assert_non_null(v);
        assert_int_equal(v->type, CFG_VALIDATOR_FUNCTION);
        assert_string_equal(v->arg, fns[i]);
        assert_ptr_equal(v->fn, validator_lookup(fns[i]));
        assert_non_null(v->fn);
    }
    v = find_validator(cfg, "v_state");
    assert_non_null(v);
    assert_int_equal(v->type, CFG_VALIDATOR_REGEX);
    assert_int_equal(regexec(&v->re, "23", 0, NULL, 0), 0);
    assert_int_not_equal(regexec(&v->re, "234", 0, NULL, 0), 0);

    assert_int_equal(cfg->ndomains, 1);
    assert_string_equal(cfg->domains[0].name, "*");
    /* Other channels add routes; the operational ones and the district API's must be there. */
    assert_true(cfg->domains[0].nroutes >= 10);
    r = find_route(cfg, "^/api/v1/districts/[0-9]{1,9}/summary$");
    assert_non_null(r);
    assert_string_equal(r->handler, "api_summary");
    assert_true(r->is_regex);
    r = find_route(cfg, "/api/v1/health");
    assert_non_null(r);
    assert_string_equal(r->handler, "api_health");
    assert_int_equal(r->methods, CFG_METHOD_GET);
    assert_false(r->is_regex);
    r = find_route(cfg, "/api/v1/etl/status");
    assert_non_null(r);
    assert_string_equal(r->handler, "api_etl_status");
    assert_int_equal(r->methods, CFG_METHOD_GET);
    r = find_route(cfg, "/metrics");
    assert_non_null(r);
    assert_string_equal(r->handler, "metrics_handler");
    assert_int_equal(r->methods, CFG_METHOD_GET);

    assert_string_equal(cfg->database_url, "postgresql://hisaab@127.0.0.1:5433/hisaab");
    assert_string_equal(cfg->redis_url, "redis://127.0.0.1:6380/0");
    assert_string_equal(cfg->data_source, "data/mgnrega_mp_2024-25.csv");
    assert_string_equal(cfg->data_format, "csv");
    assert_string_equal(cfg->data_api_base, "https://api.data.gov.in");
    assert_string_equal(cfg->log_level, "info");
    assert_string_equal(cfg->assets_dir, "assets");
    assert_string_equal(cfg->spool_dir, "var/spool");
    assert_int_equal(cfg->insecure_dev, 0);
    assert_string_equal(cfg->kannel_sendsms_user, "hisaab");
    assert_null(cfg->kannel_sendsms_from);
    assert_null(cfg->data_api_key);
    assert_null(cfg->secret);
    assert_int_equal(cfg->max_body, 65536);
    assert_int_equal(cfg->max_headers, 8192);
    assert_int_equal(cfg->header_timeout, 10);
    assert_int_equal(cfg->backend_timeout_ms, 1000);
    assert_int_equal(cfg->max_data_age_hours, 2160);
    assert_int_equal(cfg->drain_timeout, 10);
    config_free(cfg);
}

/* The district API's keys: defaults, values, range checks. */
static void test_api_keys(void **state)
{
    struct config *cfg;
    char err[512] = "";

    (void)state;
    cfg = parse_ok("server s { bind 127.0.0.1 80 }");
    assert_int_equal(cfg->cache_max_age, 300);
    assert_int_equal(cfg->version_poll, 30);
    assert_int_equal(cfg->rate_ip, 100);
    assert_int_equal(cfg->rate_ip_window, 900);
    assert_int_equal(cfg->rate_key, 1000);
    assert_int_equal(cfg->rate_key_window, 3600);
    assert_null(cfg->cors_origins);
    config_free(cfg);
    cfg = parse_ok("server s { bind 127.0.0.1 80 }\nhisaab {\n cache_max_age_seconds 0\n "
                   "data_version_poll_seconds 5\n"
                   " rate_limit_ip 3\n rate_limit_ip_window_seconds 60\n"
                   " rate_limit_client 7\n rate_limit_client_window_seconds 120\n"
                   " cors_origins https://a.example,https://b.example\n}\n");
    assert_int_equal(cfg->cache_max_age, 0);
    assert_int_equal(cfg->version_poll, 5);
    assert_int_equal(cfg->rate_ip, 3);
    assert_int_equal(cfg->rate_ip_window, 60);
    assert_int_equal(cfg->rate_key, 7);
    assert_int_equal(cfg->rate_key_window, 120);
    assert_string_equal(cfg->cors_origins, "https://a.example,https://b.example");
    config_free(cfg);
    cfg = NULL;
    assert_int_equal(
        config_parse("t.conf",
                     "server s { bind 127.0.0.1 80 }\nhisaab {\n data_version_poll_seconds 0\n}\n",
                     &cfg, err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "t.conf:3:"));
    assert_int_equal(
        config_parse("t.conf", "hisaab {\n rate_limit_ip -1\n}\n", &cfg, err, sizeof(err)), -1);
}

/* The SMS channel's keys: defaults, values, ranges; its secrets only from the environment. */
static void test_sms_keys(void **state)
{
    struct config *cfg;
    char err[256];

    (void)state;
    cfg = parse_ok("server s { bind 127.0.0.1 80 }");
    assert_int_equal(cfg->sms_rate_per_hour, 10);
    assert_string_equal(cfg->sms_json_from, "from");
    assert_string_equal(cfg->sms_json_to, "to");
    assert_string_equal(cfg->sms_json_text, "text");
    assert_string_equal(cfg->sms_json_id, "id");
    assert_string_equal(cfg->kannel_sendsms_user, "hisaab");
    assert_null(cfg->kannel_sendsms_from);
    assert_null(cfg->kannel_sendsms_url);
    assert_null(cfg->public_url);
    assert_null(cfg->twilio_auth_token);
    assert_null(cfg->kannel_sendsms_password);
    config_free(cfg);
    setenv("TWILIO_AUTH_TOKEN", "tok12345", 1);
    setenv("KANNEL_SENDSMS_PASSWORD", "pw", 1);
    cfg = parse_ok("server s { bind 127.0.0.1 80 }\nhisaab {\n sms_rate_per_hour 3\n"
                   " sms_json_from sender\n sms_json_to dest\n sms_json_text message\n"
                   " sms_json_id msgid\n sms_public_url https://sms.example.in\n"
                   " kannel_sendsms_url http://127.0.0.1:13013/cgi-bin/sendsms\n"
                   " kannel_sendsms_user hs\n kannel_sendsms_from HISAAB\n}\n");
    clear_env();
    assert_int_equal(cfg->sms_rate_per_hour, 3);
    assert_string_equal(cfg->sms_json_from, "sender");
    assert_string_equal(cfg->sms_json_to, "dest");
    assert_string_equal(cfg->sms_json_text, "message");
    assert_string_equal(cfg->sms_json_id, "msgid");
    assert_string_equal(cfg->public_url, "https://sms.example.in");
    assert_string_equal(cfg->kannel_sendsms_url, "http://127.0.0.1:13013/cgi-bin/sendsms");
    assert_string_equal(cfg->kannel_sendsms_user, "hs");
    assert_string_equal(cfg->kannel_sendsms_from, "HISAAB");
    assert_string_equal(cfg->twilio_auth_token, "tok12345");
    assert_string_equal(cfg->kannel_sendsms_password, "pw");
    config_free(cfg);
    cfg = NULL;
    assert_int_equal(
        config_parse("t.conf", "hisaab {\n sms_rate_per_hour 0\n}\n", &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "t.conf:2:"));
    assert_int_equal(config_parse("t.conf", "hisaab {\n kannel_sendsms_url ftp://x\n}\n", &cfg, err,
                                  sizeof(err)),
                     -1);
    assert_int_equal(
        config_parse("t.conf", "hisaab {\n twilio_auth_token x\n}\n", &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "looks like a secret"));
}

static void test_defaults_and_one_line_block(void **state)
{
    struct config *cfg;

    (void)state;
    cfg = parse_ok("server s { bind 127.0.0.1 80 }");
    assert_int_equal(cfg->nservers, 1);
    assert_string_equal(cfg->servers[0].bind_addr, "127.0.0.1");
    assert_int_equal(cfg->servers[0].bind_port, 80);
    assert_true(cfg->workers >= 1);
    assert_int_equal(cfg->ndomains, 0);
    assert_int_equal(cfg->nvalidators, 0);
    assert_string_equal(cfg->database_url, "postgresql://hisaab@127.0.0.1:5433/hisaab");
    assert_string_equal(cfg->redis_url, "redis://127.0.0.1:6380/0");
    assert_string_equal(cfg->data_format, "csv");
    assert_string_equal(cfg->log_level, "info");
    assert_int_equal(cfg->max_body, 65536);
    assert_int_equal(cfg->max_headers, 8192);
    assert_int_equal(cfg->header_timeout, 10);
    assert_int_equal(cfg->keepalive_timeout, 0);
    assert_int_equal(cfg->max_connections, 1024);
    assert_int_equal(cfg->backend_timeout_ms, 1000);
    assert_int_equal(cfg->max_data_age_hours, 2160);
    assert_int_equal(cfg->drain_timeout, 10);
    assert_string_equal(cfg->spool_dir, "var/spool");
    assert_int_equal(cfg->insecure_dev, 0);
    config_free(cfg);
}

static void test_full_file(void **state)
{
    struct config *cfg;
    const struct cfg_route *r;
    const char *text = "# comment line\n"
                       "   # indented comment\n"
                       "\n"
                       "server a {\n"
                       "\tbind ::1 8081;\n"
                       "\ttls no\n"
                       "}\n"
                       "server b {\n"
                       "  bind 0.0.0.0 65535  # trailing comment\n"
                       "}\n"
                       "workers 3;\n"
                       "domain example.org {\n"
                       "  attach a\n"
                       "  route ^/d/[0-9]{1,3}/summary$ {\n"
                       "    handler h_summary\n"
                       "    methods get POST head\n"
                       "    validate qs:get months v_months\n"
                       "    validate post text v_word\n"
                       "    validate qs:post lang v_lang\n"
                       "  }\n"
                       "  route /x { handler h_x; methods post; }\n"
                       "}\n"
                       "validator v_word regex ^[a-z]+$\n"
                       "validator v_months function v_months\n"
                       "validator v_lang function v_lang\n"
                       "hisaab {\n"
                       "  database_url postgresql:///hisaab?host=/tmp\n"
                       "  redis_url redis://127.0.0.1:6399/2\n"
                       "  data_source https://example.org/x.json\n"
                       "  data_format json\n"
                       "  data_api_base http://127.0.0.1:9999\n"
                       "  log_level debug\n"
                       "  assets_dir /srv/assets\n"
                       "  spool_dir /var/lib/hisaab/spool\n"
                       "  insecure_dev yes\n"
                       "  kannel_sendsms_url http://127.0.0.1:13013/cgi-bin/sendsms\n"
                       "  max_body_bytes 1024\n"
                       "  max_header_bytes 256\n"
                       "  header_timeout_seconds 3600\n"
                       "  keepalive_timeout_seconds 30\n"
                       "  max_connections 5000\n"
                       "  backend_timeout_ms 10\n"
                       "  max_data_age_hours 1\n"
                       "  drain_timeout_seconds 0\n"
                       "}\n";

    (void)state;
    cfg = parse_ok(text);
    assert_int_equal(cfg->nservers, 2);
    assert_string_equal(cfg->servers[0].bind_addr, "::1");
    assert_int_equal(cfg->servers[0].bind_port, 8081);
    assert_string_equal(cfg->servers[1].name, "b");
    assert_int_equal(cfg->servers[1].bind_port, 65535);
    assert_int_equal(cfg->workers, 3);
    assert_int_equal(cfg->nvalidators, 3);

    r = find_route(cfg, "^/d/[0-9]{1,3}/summary$");
    assert_non_null(r);
    assert_true(r->is_regex);
    assert_int_equal(r->line, 14);
    assert_int_equal(r->methods, CFG_METHOD_GET | CFG_METHOD_POST | CFG_METHOD_HEAD);
    assert_int_equal(r->nparams, 3);
    assert_int_equal(r->params[0].where, CFG_PARAM_QS_GET);
    assert_string_equal(r->params[0].name, "months");
    assert_ptr_equal(r->params[0].validator, find_validator(cfg, "v_months"));
    assert_int_equal(r->params[1].where, CFG_PARAM_POST);
    assert_ptr_equal(r->params[1].validator, find_validator(cfg, "v_word"));
    assert_int_equal(r->params[2].where, CFG_PARAM_QS_POST);
    assert_ptr_equal(r->params[2].validator, find_validator(cfg, "v_lang"));
    assert_int_equal(regexec(&r->re, "/d/12/summary", 0, NULL, 0), 0);

    r = find_route(cfg, "/x");
    assert_non_null(r);
    assert_string_equal(r->handler, "h_x");
    assert_int_equal(r->methods, CFG_METHOD_POST);

    assert_string_equal(cfg->database_url, "postgresql:///hisaab?host=/tmp");
    assert_string_equal(cfg->redis_url, "redis://127.0.0.1:6399/2");
    assert_string_equal(cfg->data_source, "https://example.org/x.json");
    assert_string_equal(cfg->data_format, "json");
    assert_string_equal(cfg->data_api_base, "http://127.0.0.1:9999");
    assert_string_equal(cfg->log_level, "debug");
    assert_string_equal(cfg->assets_dir, "/srv/assets");
    assert_string_equal(cfg->spool_dir, "/var/lib/hisaab/spool");
    assert_int_equal(cfg->insecure_dev, 1);
    assert_string_equal(cfg->kannel_sendsms_url, "http://127.0.0.1:13013/cgi-bin/sendsms");
    assert_int_equal(cfg->max_body, 1024);
    assert_int_equal(cfg->max_headers, 256);
    assert_int_equal(cfg->header_timeout, 3600);
    assert_int_equal(cfg->keepalive_timeout, 30);
    assert_int_equal(cfg->max_connections, 5000);
    assert_int_equal(cfg->backend_timeout_ms, 10);
    assert_int_equal(cfg->max_data_age_hours, 1);
    assert_int_equal(cfg->drain_timeout, 0);
    config_free(cfg);
}

static void test_default_method_is_get(void **state)
{
    struct config *cfg;

    (void)state;
    cfg = parse_ok("server s { bind 127.0.0.1 80 }\n"
                   "domain * {\n"
                   "  route / {\n"
                   "    handler root\n"
                   "  }\n"
                   "}\n");
    assert_int_equal(cfg->domains[0].routes[0].methods, CFG_METHOD_GET);
    config_free(cfg);
}

#define SRV "server s {\n  bind 127.0.0.1 8080\n}\n" /* three lines */

struct bad {
    const char *text;
    const char *where; /* exact "t.conf:LINE: " prefix */
    const char *msg;   /* a substring of the message */
};

static const struct bad bad_files[] = {
    /* unknown directives */
    {SRV "frobnicate 1\n", "t.conf:4: ", "unknown directive 'frobnicate' in top level"},
    {SRV "domain * {\n route /a {\n  handler h\n  frob x\n }\n}\n",
     "t.conf:7: ", "unknown directive 'frob' in route block"},
    {"server s {\n bind 127.0.0.1 80\n listen 1\n}\n",
     "t.conf:3: ", "unknown directive 'listen' in server block"},
    {SRV "hisaab {\n  colour blue\n}\n", "t.conf:5: ", "unknown key 'colour' in hisaab block"},
    {SRV "bind 127.0.0.1 80\n", "t.conf:4: ", "'bind' is not allowed in top level"},
    {SRV "domain * {\n handler h\n}\n", "t.conf:5: ", "'handler' is not allowed in domain"},
    /* missing '{' */
    {"server s\n  bind 127.0.0.1 80\n}\n", "t.conf:1: ", "server: missing '{'"},
    {SRV "domain *\n", "t.conf:4: ", "domain: missing '{'"},
    {SRV "domain * {\n  route /a\n    handler h\n  }\n}\n", "t.conf:5: ", "route: missing '{'"},
    {SRV "hisaab\n", "t.conf:4: ", "hisaab: missing '{'"},
    {SRV "workers {\n", "t.conf:4: ", "'workers' does not take a '{' block"},
    {SRV "{\n", "t.conf:4: ", "'{' without a block name"},
    /* missing '}' */
    {SRV "domain * {\n  route /a {\n    handler h\n  route /b {\n",
     "t.conf:7: ", "'route' is not allowed in route block"},
    {SRV "domain * {\n  route /a {\n    handler h\n  }\n",
     "t.conf:4: ", "domain block opened here is never closed (missing '}')"},
    {SRV "domain * {\n  route /a {\n    handler h\n",
     "t.conf:5: ", "route block opened here is never closed"},
    {"server s {\n  bind 127.0.0.1 80\n", "t.conf:1: ", "server block opened here is never"},
    {SRV "}\n", "t.conf:4: ", "unexpected '}'"},
    /* numbers */
    {SRV "workers abc\n", "t.conf:4: ", "workers: 'abc' is not a number"},
    {SRV "workers 4x\n", "t.conf:4: ", "workers: '4x' is not a number"},
    {SRV "workers +4\n", "t.conf:4: ", "workers: '+4' is not a number"},
    {SRV "workers 0x10\n", "t.conf:4: ", "workers: '0x10' is not a number"},
    {SRV "workers\n", "t.conf:4: ", "workers: expected one number"},
    {SRV "workers 2\nworkers 3\n", "t.conf:5: ", "workers: already set at line 4"},
    {"server s {\n bind 127.0.0.1 http\n}\n", "t.conf:2: ", "bind port: 'http' is not a number"},
    {SRV "hisaab {\n max_body_bytes 1k\n}\n", "t.conf:5: ", "max_body_bytes: '1k' is not a number"},
    /* ranges */
    {SRV "workers 257\n", "t.conf:4: ", "workers: 257 is out of range (0..256)"},
    {SRV "workers -1\n", "t.conf:4: ", "workers: -1 is out of range (0..256)"},
    {SRV "workers 99999999999999999999999\n", "t.conf:4: ", "is out of range (0..256)"},
    {"server s {\n bind 127.0.0.1 65536\n}\n",
     "t.conf:2: ", "bind port: 65536 is out of range (1..65535)"},
    {"server s {\n bind 127.0.0.1 0\n}\n", "t.conf:2: ", "bind port: 0 is out of range"},
    {SRV "hisaab {\n max_body_bytes 0\n}\n", "t.conf:5: ", "max_body_bytes: 0 is out of range"},
    {SRV "hisaab {\n max_header_bytes 255\n}\n", "t.conf:5: ", "out of range (256..1048576)"},
    {SRV "hisaab {\n backend_timeout_ms 9\n}\n", "t.conf:5: ", "out of range (10..60000)"},
    {SRV "hisaab {\n header_timeout_seconds 3601\n}\n", "t.conf:5: ", "out of range"},
    {SRV "hisaab {\n keepalive_timeout_seconds 3601\n}\n", "t.conf:5: ", "out of range (0..3600)"},
    {SRV "hisaab {\n max_connections 0\n}\n", "t.conf:5: ", "out of range (1..1000000)"},
    {SRV "hisaab {\n max_data_age_hours 0\n}\n", "t.conf:5: ", "out of range"},
    {SRV "hisaab {\n drain_timeout_seconds -1\n}\n", "t.conf:5: ", "out of range"},
    /* validators */
    {SRV "domain * {\n route /a {\n  handler h\n  validate qs:get id v_nope\n }\n}\n",
     "t.conf:7: ", "validate: unknown validator 'v_nope'"},
    {SRV "validator v_id regex ^[0-9]+$\nvalidator v_id function v_int\n",
     "t.conf:5: ", "duplicate validator 'v_id' (first declared at line 4)"},
    {SRV "validator v_bad regex ^[a-$\n", "t.conf:4: ", "validator v_bad: bad regex '^[a-$'"},
    {SRV "validator v_bad regex ^(ab\n", "t.conf:4: ", "bad regex"},
    {SRV "validator v_big regex ^((a{200}){200}){200}$\n",
     "t.conf:4: ", "validator v_big: regex '^((a{200}){200}){200}$' too large"},
    {SRV "validator v_big regex ^(a{70}b*){70}$\n", "t.conf:4: ", "expand past 4096 parts"},
    {SRV "validator v_big regex ^a{5000}$\n", "t.conf:4: ", "too large"},
    {SRV "validator v_big regex ^((((((((((((((((((((((((((((((((((((((((((((((((((((((("
         "((((((((((((((((a))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))"
         ")))))))$\n",
     "t.conf:4: ", "too large"},
    {SRV "domain * {\n route ^/a/([0-9]{99}[a-z]{99}){30}$ {\n  handler h\n }\n}\n",
     "t.conf:5: ", "route: regex '^/a/([0-9]{99}[a-z]{99}){30}$' too large"},
    {SRV "validator v_f function v_does_not_exist\n",
     "t.conf:4: ", "validator v_f: unknown function 'v_does_not_exist'"},
    {SRV "validator v_f lambda x\n", "t.conf:4: ", "type must be 'regex' or 'function'"},
    {SRV "validator v_f regex\n", "t.conf:4: ", "validator: expected"},
    {SRV "validator v_sp regex ^a b$\n", "t.conf:4: ", "the regex must be one word"},
    {SRV "domain * {\n route /a {\n  handler h\n  validate qs:put id v_int\n }\n}\n",
     "t.conf:7: ", "source must be qs:get, post or qs:post"},
    {SRV "domain * {\n route /a {\n  handler h\n  validate qs:get id\n }\n}\n",
     "t.conf:7: ", "validate: expected"},
    {SRV "validator v function v_int\ndomain * {\n route /a {\n  handler h\n"
         "  validate qs:get id v\n  validate qs:get id v\n }\n}\n",
     "t.conf:9: ", "parameter 'id' declared twice"},
    {SRV "domain * {\n route /a {\n  handler h\n  validate qs:get a=b v\n }\n}\n",
     "t.conf:7: ", "'a=b' is not a parameter name"},
    /* routes */
    {SRV "domain * {\n route ^/a(b {\n  handler h\n }\n}\n",
     "t.conf:5: ", "route: bad regex '^/a(b'"},
    {SRV "domain * {\n route /a {\n }\n}\n", "t.conf:5: ", "route '/a' has no handler"},
    {SRV "domain * {\n route a {\n  handler h\n }\n}\n", "t.conf:5: ", "must start with '/'"},
    {SRV "domain * {\n route /a {\n  handler h\n }\n route /a {\n  handler g\n }\n}\n",
     "t.conf:8: ", "duplicate route '/a' (first at line 5)"},
    {SRV "domain * {\n route /a {\n  handler h\n  handler g\n }\n}\n",
     "t.conf:7: ", "already has handler 'h'"},
    {SRV "domain * {\n route /a {\n  handler 9lives\n }\n}\n",
     "t.conf:6: ", "is not a function name"},
    {SRV "domain * {\n route /a {\n  handler h\n  methods get fetch\n }\n}\n",
     "t.conf:7: ", "methods: unknown method 'fetch'"},
    {SRV "domain * {\n route /a {\n  handler h\n  methods\n }\n}\n",
     "t.conf:7: ", "methods: expected at least one method"},
    {SRV "domain * {\n route /a {\n  handler h\n  methods get\n  methods post\n }\n}\n",
     "t.conf:8: ", "methods: given twice"},
    /* servers and domains */
    {"workers 1\n\n", "t.conf:2: ", "no server configured"},
    {"", "t.conf:1: ", "no server configured"},
    {"# only a comment\n", "t.conf:1: ", "no server configured"},
    {"server s {\n tls no\n}\n", "t.conf:1: ", "server 's' has no bind"},
    {"server s {\n bind 127.0.0.1 80\n bind 127.0.0.1 81\n}\n", "t.conf:3: ", "already has a bind"},
    {"server s {\n bind localhost 80\n}\n", "t.conf:2: ", "'localhost' is not an IPv4 or IPv6"},
    {"server s {\n bind 127.0.0.1\n}\n", "t.conf:2: ", "bind: expected 'bind ADDRESS PORT'"},
    {"server s {\n bind 127.0.0.1 80\n tls yes\n}\n", "t.conf:3: ", "tls: not supported"},
    {"server s {\n bind 127.0.0.1 80\n tls maybe\n}\n", "t.conf:3: ", "tls: expected 'no'"},
    {SRV "server s {\n bind 127.0.0.1 81\n}\n", "t.conf:4: ", "duplicate server 's'"},
    {SRV "domain * {\n attach nowhere\n}\n", "t.conf:5: ", "attach: unknown server 'nowhere'"},
    {SRV "domain * {\n}\ndomain * {\n}\n", "t.conf:6: ", "duplicate domain '*'"},
    {SRV "hisaab {\n}\nhisaab {\n}\n", "t.conf:6: ", "duplicate hisaab block (first at line 4)"},
    /* hisaab values */
    {SRV "hisaab {\n log_level loud\n}\n", "t.conf:5: ", "log_level: 'loud' is not one of"},
    {SRV "hisaab {\n data_format yaml\n}\n", "t.conf:5: ", "data_format: 'yaml' is not one of"},
    {SRV "hisaab {\n database_url mysql://x/y\n}\n",
     "t.conf:5: ", "database_url: 'mysql://x/y' must start with postgresql://"},
    {SRV "hisaab {\n redis_url 127.0.0.1:6379\n}\n", "t.conf:5: ", "must start with redis://"},
    {SRV "hisaab {\n data_api_base ftp://x\n}\n", "t.conf:5: ", "must start with http://"},
    {SRV "hisaab {\n log_level\n}\n", "t.conf:5: ", "log_level: expected exactly one value"},
    {SRV "hisaab {\n log_level info debug\n}\n", "t.conf:5: ", "expected exactly one value"},
    {SRV "hisaab {\n log_level info\n log_level warn\n}\n", "t.conf:6: ", "log_level: given twice"},
    {SRV "hisaab {\n insecure_dev maybe\n}\n",
     "t.conf:5: ", "insecure_dev: 'maybe' must be yes or no"},
    {SRV "hisaab {\n insecure_dev\n}\n", "t.conf:5: ", "insecure_dev: expected exactly one value"},
    {SRV "hisaab {\n kannel_sendsms_from a b\n}\n", "t.conf:5: ", "expected exactly one value"},
    {SRV "hisaab {\n kannel_sendsms_from x\n kannel_sendsms_from y\n}\n",
     "t.conf:6: ", "kannel_sendsms_from: given twice"},
    /* secrets stay in the environment */
    {SRV "hisaab {\n api_key abc123\n}\n", "t.conf:5: ",
     "'api_key' looks like a secret; secrets are never read from the config file: set it in "
     "the environment"},
    {SRV "hisaab {\n data_gov_api_key abc\n}\n", "t.conf:5: ", "looks like a secret"},
    {SRV "hisaab {\n secret s3cr3t\n}\n", "t.conf:5: ", "looks like a secret"},
    {SRV "hisaab {\n hisaab_secret x\n}\n", "t.conf:5: ", "looks like a secret"},
    {SRV "hisaab {\n db_password x\n}\n", "t.conf:5: ", "looks like a secret"},
    {SRV "hisaab {\n auth_token x\n}\n", "t.conf:5: ", "looks like a secret"},
    {SRV "api_key abc\n", "t.conf:4: ", "looks like a secret"},
    {SRV "HISAAB_SECRET abc\n", "t.conf:4: ", "looks like a secret"},
    {SRV "hisaab {\n database_url postgresql://u:pw@127.0.0.1/h\n}\n",
     "t.conf:5: ", "database_url: secrets are never read from the config file"},
    {SRV "hisaab {\n redis_url redis://:pw@127.0.0.1:6379/0\n}\n",
     "t.conf:5: ", "redis_url: secrets are never read"},
    {SRV "hisaab {\n data_api_base https://x/r?api-key=abc\n}\n",
     "t.conf:5: ", "data_api_base: secrets are never read"},
    /* lexical limits */
    {SRV "domain * {\n attach a b c d e f g h i j k l m n o p q\n}\n",
     "t.conf:5: ", "too many words on one line"},
};

static void test_bad_files(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        const struct bad *b = &bad_files[i];
        struct config *cfg = (struct config *)(uintptr_t)1;
        char err[512] = "";
        int rc = config_parse("t.conf", b->text, &cfg, err, sizeof(err));
        if (rc != -1 || cfg != NULL)
            fail_msg("case %zu should fail:\n%s", i, b->text);
        if (strncmp(err, b->where, strlen(b->where)) != 0 || strstr(err, b->msg) == NULL)
            fail_msg("case %zu: got \"%s\", want \"%s...%s...\"", i, err, b->where, b->msg);
    }
}

static void test_long_line(void **state)
{
    size_t n = CFG_LINE_MAX + 100;
    char *text = malloc(n + 64);
    struct config *cfg = NULL;
    char err[256];
    int len;

    (void)state;
    assert_non_null(text);
    len = snprintf(text, 64, "%s# ", SRV);
    memset(text + len, 'x', n);
    text[len + n] = '\0';
    assert_int_equal(config_parse("t.conf", text, &cfg, err, sizeof(err)), -1);
    assert_null(cfg);
    assert_string_equal(err, "t.conf:4: line longer than 4096 bytes");
    free(text);
}

static void test_small_error_buffer(void **state)
{
    struct config *cfg = NULL;
    char err[8];

    (void)state;
    assert_int_equal(config_parse("t.conf", SRV "bogus\n", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "t.conf:");
    assert_int_equal(config_parse("t.conf", SRV "bogus\n", &cfg, NULL, 0), -1);
    assert_null(cfg);
}

static void test_crlf_and_semicolons(void **state)
{
    struct config *cfg;

    (void)state;
    cfg = parse_ok("server s {\r\n bind 127.0.0.1 80;\r\n}\r\n"
                   "domain * { route /a { handler h ; methods get post }; }\r\n"
                   "workers 2 ;\r\n");
    assert_int_equal(cfg->workers, 2);
    assert_int_equal(cfg->domains[0].routes[0].methods, CFG_METHOD_GET | CFG_METHOD_POST);
    assert_string_equal(cfg->domains[0].routes[0].handler, "h");
    config_free(cfg);
}

/* Regexes whose repetitions stay under the limit compile and match; brackets, classes
 * and escapes are not counted as repetitions. */
static void test_regex_size(void **state)
{
    struct config *cfg;
    const struct cfg_validator *v;

    (void)state;
    cfg = parse_ok(SRV "validator v_long regex ^[a-z]{1,4000}$\n"
                       "validator v_nest regex ^(x{1,30}y){1,60}$\n"
                       "validator v_cls regex ^[]{}[:digit:]]{3}[\\{]{2}\\{9999}$\n"
                       "validator v_star regex ^(a*b+c?){1,400}$\n");
    v = find_validator(cfg, "v_long");
    assert_int_equal(regexec(&v->re, "abc", 0, NULL, 0), 0);
    assert_int_not_equal(regexec(&v->re, "ab1", 0, NULL, 0), 0);
    v = find_validator(cfg, "v_nest");
    assert_int_equal(regexec(&v->re, "xxyxy", 0, NULL, 0), 0);
    v = find_validator(cfg, "v_cls");
    assert_int_equal(regexec(&v->re, "}9]{{{9999}", 0, NULL, 0), 0);
    v = find_validator(cfg, "v_star");
    assert_int_equal(regexec(&v->re, "bab", 0, NULL, 0), 0);
    config_free(cfg);
}

/* spool_dir and insecure_dev: defaults, values, and nothing but yes or no for the latter. */
static void test_spool_and_insecure_dev(void **state)
{
    static const char *const bad_bools[] = {"1", "0", "YES", "No", "true", "y", "yess"};
    struct config *cfg;
    char text[256], err[256], want[128];
    size_t i;

    (void)state;
    cfg = parse_ok(SRV);
    assert_string_equal(cfg->spool_dir, "var/spool");
    assert_int_equal(cfg->insecure_dev, 0);
    config_free(cfg);
    cfg = parse_ok(SRV "hisaab {\n spool_dir /tmp/hisaab-spool\n insecure_dev yes\n}\n");
    assert_string_equal(cfg->spool_dir, "/tmp/hisaab-spool");
    assert_int_equal(cfg->insecure_dev, 1);
    config_free(cfg);
    cfg = parse_ok(SRV "hisaab {\n insecure_dev no\n}\n");
    assert_int_equal(cfg->insecure_dev, 0);
    assert_string_equal(cfg->spool_dir, "var/spool");
    config_free(cfg);

    for (i = 0; i < sizeof(bad_bools) / sizeof(bad_bools[0]); i++) {
        cfg = (struct config *)(uintptr_t)1;
        snprintf(text, sizeof(text), SRV "hisaab {\n insecure_dev %s\n}\n", bad_bools[i]);
        snprintf(want, sizeof(want), "t.conf:5: insecure_dev: '%s' must be yes or no",
                 bad_bools[i]);
        assert_int_equal(config_parse("t.conf", text, &cfg, err, sizeof(err)), -1);
        assert_null(cfg);
        assert_string_equal(err, want);
    }
    cfg = NULL;
    assert_int_equal(config_parse("t.conf",
                                  SRV "hisaab {\n insecure_dev yes\n insecure_dev no\n}\n", &cfg,
                                  err, sizeof(err)),
                     -1);
    assert_string_equal(err, "t.conf:6: insecure_dev: given twice");
    assert_int_equal(
        config_parse("t.conf", SRV "hisaab {\n spool_dir a b\n}\n", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "t.conf:5: spool_dir: expected exactly one value");
}

static void test_env_overrides(void **state)
{
    struct config *cfg;

    (void)state;
    setenv("DATABASE_URL", "postgresql://env@127.0.0.1:1/e", 1);
    setenv("REDIS_URL", "redis://127.0.0.1:2/1", 1);
    setenv("DATA_GOV_API_KEY", "k-123", 1);
    setenv("DATA_GOV_API_BASE", "http://127.0.0.1:3", 1);
    setenv("HISAAB_SECRET", "s-456", 1);
    setenv("KANNEL_SENDSMS_URL", "http://127.0.0.1:5/cgi-bin/sendsms", 1);
    setenv("KANNEL_SENDSMS_USER", "env-user", 1);
    setenv("KANNEL_SENDSMS_FROM", "+911234567890", 1);
    cfg = parse_ok(SRV "hisaab {\n database_url postgresql://file/f\n"
                       " redis_url redis://file/0\n data_api_base https://file\n"
                       " kannel_sendsms_url https://file/sendsms\n kannel_sendsms_user file-user\n"
                       " kannel_sendsms_from FILEID\n}\n");
    assert_string_equal(cfg->database_url, "postgresql://env@127.0.0.1:1/e");
    assert_string_equal(cfg->redis_url, "redis://127.0.0.1:2/1");
    assert_string_equal(cfg->data_api_key, "k-123");
    assert_string_equal(cfg->data_api_base, "http://127.0.0.1:3");
    assert_string_equal(cfg->secret, "s-456");
    assert_string_equal(cfg->kannel_sendsms_url, "http://127.0.0.1:5/cgi-bin/sendsms");
    assert_string_equal(cfg->kannel_sendsms_user, "env-user");
    assert_string_equal(cfg->kannel_sendsms_from, "+911234567890");
    unsetenv("KANNEL_SENDSMS_URL");

    /* Applying again after a change picks up the new values. */
    setenv("REDIS_URL", "redis://127.0.0.1:4/0", 1);
    config_apply_env(cfg);
    assert_string_equal(cfg->redis_url, "redis://127.0.0.1:4/0");
    config_free(cfg);

    /* Empty variables count as unset: the file's values stay. */
    clear_env();
    setenv("DATABASE_URL", "", 1);
    setenv("DATA_GOV_API_KEY", "", 1);
    setenv("KANNEL_SENDSMS_USER", "", 1);
    setenv("KANNEL_SENDSMS_FROM", "", 1);
    cfg = parse_ok(SRV "hisaab {\n database_url postgresql://file/f\n"
                       " kannel_sendsms_from FILEID\n}\n");
    assert_string_equal(cfg->database_url, "postgresql://file/f");
    assert_null(cfg->data_api_key);
    assert_null(cfg->secret);
    assert_string_equal(cfg->kannel_sendsms_user, "hisaab");
    assert_string_equal(cfg->kannel_sendsms_from, "FILEID");
    config_free(cfg);

    /* Without the file's values, the environment's still apply over the defaults. */
    clear_env();
    setenv("KANNEL_SENDSMS_USER", "env-user", 1);
    setenv("KANNEL_SENDSMS_FROM", "HISAAB", 1);
    cfg = parse_ok(SRV);
    assert_string_equal(cfg->kannel_sendsms_user, "env-user");
    assert_string_equal(cfg->kannel_sendsms_from, "HISAAB");
    config_free(cfg);
    clear_env();
    config_apply_env(NULL);
}

static void test_load_errors(void **state)
{
    struct config *cfg = (struct config *)(uintptr_t)1;
    char err[512], path[] = "/tmp/hisaab-test-conf-XXXXXX";
    int fd;
    FILE *f;

    (void)state;
    assert_int_equal(config_load("/nonexistent/kore.conf", &cfg, err, sizeof(err)), -1);
    assert_null(cfg);
    assert_string_equal(err, "/nonexistent/kore.conf: cannot open: No such file or directory");

    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs("server s {\n bind 127.0.0.1 80\n}\nworkers many\n", f);
    fclose(f);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, ":4: workers: 'many' is not a number"));
    assert_int_equal(strncmp(err, path, strlen(path)), 0);

    /* A NUL byte inside the file is refused rather than silently ending it. */
    f = fopen(path, "w");
    assert_non_null(f);
    fwrite("server s {\n bind 127.0.0.1 80\n}\n\0junk\n", 1, 38, f);
    fclose(f);
    assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "NUL byte"));
    unlink(path);
}

static void test_helpers(void **state)
{
    (void)state;
    assert_true(config_looks_secret("api_key"));
    assert_true(config_looks_secret("API_KEY"));
    assert_true(config_looks_secret("ssh_key"));
    assert_true(config_looks_secret("apikey"));
    assert_false(config_looks_secret("database_url"));
    assert_false(config_looks_secret("max_body_bytes"));
    assert_false(config_looks_secret("key"));
    assert_true(url_has_password("postgresql://u:p@h/db"));
    assert_true(url_has_password("redis://:p@h:1/0"));
    assert_false(url_has_password("postgresql://u@h:5432/db"));
    assert_false(url_has_password("postgresql://h:5432/db?x=a:b@c"));
    assert_false(url_has_password("postgresql:///db?host=/tmp"));
    assert_true(is_ident("api_health"));
    assert_false(is_ident("a-b"));
    assert_false(is_ident(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_sms_keys, setup),
        cmocka_unit_test_setup(test_real_kore_conf, setup),
        cmocka_unit_test_setup(test_defaults_and_one_line_block, setup),
        cmocka_unit_test_setup(test_api_keys, setup),
        cmocka_unit_test_setup(test_full_file, setup),
        cmocka_unit_test_setup(test_default_method_is_get, setup),
        cmocka_unit_test_setup(test_bad_files, setup),
        cmocka_unit_test_setup(test_long_line, setup),
        cmocka_unit_test_setup(test_small_error_buffer, setup),
        cmocka_unit_test_setup(test_crlf_and_semicolons, setup),
        cmocka_unit_test_setup(test_regex_size, setup),
        cmocka_unit_test_setup(test_spool_and_insecure_dev, setup),
        cmocka_unit_test_setup(test_env_overrides, setup),
        cmocka_unit_test_setup(test_load_errors, setup),
        cmocka_unit_test_setup(test_helpers, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
