/*
 * libFuzzer target for the ETL's input parsers (etl/format.c) and cleaning rules
 * (etl/clean.c): the first byte picks CSV, JSON or XML, the rest is the input. Every
 * record handed out is cleaned, so the rules see whatever the parsers let through.
 *
 *   make fuzz && build/fuzz/fuzz_parse -max_total_time=60 tests/fixtures
 */
#include <stddef.h>
#include <stdint.h>

#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int clean_one(void *arg, const struct etl_raw_record *rec)
{
    struct etl_row *row = arg;
    const char *why;

    if (etl_clean_record(rec, row, &why) != 0 && why == NULL)
        __builtin_trap(); /* a refused record always says why */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct etl_row row;
    struct etl_page_info info;
    char err[128];
    enum etl_format fmt;

    if (size < 1)
        return 0;
    fmt = (enum etl_format)(data[0] % 3);
    if (etl_parse(fmt, (const char *)data + 1, size - 1, clean_one, &row, &info, err,
                  sizeof(err)) != 0 &&
        err[0] == '\0')
        __builtin_trap(); /* a failure always has a message */
    return 0;
}
