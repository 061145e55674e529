/*
 * libFuzzer target for the kore.conf parser: any bytes must give either a config or a
 * "FILE:LINE: message" error, never a crash, a leak or an unbounded allocation. A config
 * that parses is also fed to the router, so the compiled route regexes get exercised.
 *
 *   make fuzz && build/fuzz/fuzz_config -max_total_time=60 tests/fuzz/corpus/fuzz_config
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/config.h"
#include "net/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const paths[] = {"/", "/api/v1/health", "/api/v1/districts/1/summary",
                                        "/metrics", "/a/b/c"};
    struct config *cfg = NULL;
    struct router *r;
    struct router_match m;
    char err[512];
    char *text;
    size_t i;

    if (size > (1 << 16))
        return 0;
    text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (config_parse("fuzz.conf", text, &cfg, err, sizeof(err)) == 0) {
        r = router_new(cfg, NULL, err, sizeof(err));
        if (r != NULL) {
            for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                router_match(r, CFG_METHOD_GET, paths[i], "a=1&b=%41", NULL, 0, &m);
                router_match_free(&m);
            }
            router_free(r);
        }
        config_free(cfg);
    } else if (strncmp(err, "fuzz.conf:", 10) != 0) {
        abort(); /* every parse error names the file and line */
    }
    free(text);
    return 0;
}
