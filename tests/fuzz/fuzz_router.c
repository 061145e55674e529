/*
 * libFuzzer target for the router: a fixed configuration, and the input is one request
 * as "M PATH\nQUERY\nFORM" where M's low bits pick the method. The form body is copied
 * into a buffer of exactly its length (no NUL), so AddressSanitizer catches any read past
 * form_len. Each accepted value is checked to be non-NULL and at most 1024 bytes.
 *
 *   make fuzz && build/fuzz/fuzz_router -max_total_time=60 tests/fuzz/corpus/fuzz_router
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/config.h"
#include "net/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf[] =
    "server s { bind 127.0.0.1 8080 }\n"
    "validator v_int function v_int\n"
    "validator v_lang function v_lang\n"
    "validator v_lat function v_lat\n"
    "validator v_lon function v_lon\n"
    "validator v_fy function v_fin_year\n"
    "validator v_months function v_months\n"
    "validator v_search function v_search\n"
    "validator v_word regex ^[a-z]+$\n"
    "domain * {\n"
    "  route /api/v1/health { handler h }\n"
    "  route /api/v1/districts {\n"
    "    handler h; methods get post\n"
    "    validate qs:get state v_int; validate qs:get q v_search\n"
    "    validate qs:get lat v_lat; validate qs:get lon v_lon\n"
    "    validate post text v_search; validate qs:post lang v_lang\n"
    "  }\n"
    "  route ^/api/v1/districts/[0-9]+/summary$ {\n"
    "    handler h; validate qs:get months v_months; validate qs:get fy v_fy\n"
    "  }\n"
    "  route ^/w/(a|b)*c$ { handler h; validate qs:get w v_word }\n"
    "}\n";

static struct config *cfg;
static struct router *router;

static void init(void)
{
    char err[256];

    if (config_parse("fuzz.conf", conf, &cfg, err, sizeof(err)) != 0)
        abort();
    router = router_new(cfg, NULL, err, sizeof(err));
    if (router == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned methods[] = {CFG_METHOD_GET,
                                       CFG_METHOD_POST,
                                       CFG_METHOD_HEAD,
                                       CFG_METHOD_PUT,
                                       CFG_METHOD_DELETE,
                                       0,
                                       CFG_METHOD_GET | CFG_METHOD_POST,
                                       CFG_METHOD_PATCH};
    struct router_match m;
    const uint8_t *nl1, *nl2;
    char *path, *query = NULL, *form = NULL;
    size_t plen, qlen = 0, flen = 0, i;
    unsigned method;

    if (router == NULL)
        init();
    if (size < 1 || size > (1 << 16))
        return 0;
    method = methods[data[0] & 7];
    data++;
    size--;

    nl1 = memchr(data, '\n', size);
    plen = nl1 != NULL ? (size_t)(nl1 - data) : size;
    path = strndup((const char *)data, plen);
    if (nl1 != NULL) {
        const uint8_t *q = nl1 + 1;
        size_t rest = size - plen - 1;
        nl2 = memchr(q, '\n', rest);
        qlen = nl2 != NULL ? (size_t)(nl2 - q) : rest;
        query = strndup((const char *)q, qlen);
        if (nl2 != NULL) {
            flen = rest - qlen - 1;
            form = malloc(flen ? flen : 1);
            if (form != NULL && flen > 0)
                memcpy(form, nl2 + 1, flen);
        }
    }
    if (path == NULL)
        goto out;

    router_match(router, method, path, query, form, flen, &m);
    if (m.status == ROUTER_OK) {
        for (i = 0; i < m.nparams; i++) {
            if (m.params[i].value == NULL || strlen(m.params[i].value) > 1024)
                abort();
        }
    } else if (m.status == ROUTER_BAD_PARAM && (m.bad_param == NULL || m.nparams != 0)) {
        abort();
    }
    router_match_free(&m);
out:
    free(path);
    free(query);
    free(form);
    return 0;
}
