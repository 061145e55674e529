/*
 * libFuzzer target for the district search (src/text/search.c and search_norm.c). The
 * first byte picks how many results to ask for (low 5 bits) and whether the rest is also
 * added to a fresh index as a district's English name, Hindi name and alias (high bit);
 * the rest, copied into a buffer of exactly its length plus a NUL, is the query:
 * arbitrary bytes, so also invalid UTF-8. Checks: no crash or sanitizer report, at most
 * `max` results, scores in (0, 1] and in descending order, and a name added to an index
 * finds its own district. The same query goes through the PIN code reader (text/pin.c):
 * a PIN it reads is a PIN, and its redaction leaves no PIN-like run behind.
 *
 *   make fuzz && build/fuzz/fuzz_search -max_total_time=60 tests/fuzz/corpus/fuzz_search
 *
 * or on its own (the search needs only mem.c and utf8.c):
 *
 *   clang -g -O1 -std=c11 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
 *       -o build/fuzz/fuzz_search tests/fuzz/fuzz_search.c src/text/search.c \
 *       src/text/search_norm.c src/text/pin.c src/core/buf.c src/core/mem.c src/core/utf8.c
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "text/pin.h"
#include "text/search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct search_index *idx;

static void init(void)
{
    static const char *const niwari[] = {"niwari", "nivari", NULL};
    static const char *const chhindwara[] = {"chhindwara", "chindwara", "chhindwada", NULL};
    static const char *const narmadapuram[] = {"narmadapuram", "hoshangabad", NULL};
    static const struct search_district ds[] = {
        {17, 1752, "NIWARI", "निवाड़ी", "MADHYA PRADESH", "मध्य प्रदेश", niwari},
        {17, 1707, "TIKAMGARH", "टीकमगढ़", "MADHYA PRADESH", "मध्य प्रदेश", NULL},
        {17, 1736, "CHHINDWARA", "छिंदवाड़ा", "MADHYA PRADESH", NULL, chhindwara},
        {17, 1732, "NARMADAPURAM", "नर्मदापुरम", "MADHYA PRADESH", NULL, narmadapuram},
        {13, 100015, "BILASPUR", "बिलासपुर", "HIMACHAL PRADESH", "हिमाचल प्रदेश", NULL},
        {33, 100375, "BILASPUR", "बिलासपुर", "CHHATTISGARH", "छत्तीसगढ़", NULL},
        {17, 1748, "ASHOK NAGAR", NULL, NULL, NULL, NULL},
    };
    size_t i;

    idx = search_index_new();
    for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
        if (search_index_add(idx, &ds[i]) != 0)
            abort();
    }
}

static void check(const struct search_result *res, size_t n, size_t max)
{
    size_t i;

    if (n > max || n > SEARCH_MAX_RESULTS)
        abort();
    for (i = 0; i < n; i++) {
        if (!(res[i].score > 0.0 && res[i].score <= 1.0))
            abort();
        if (i > 0 && res[i].score > res[i - 1].score)
            abort();
    }
    (void)search_is_ambiguous(res, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct search_result res[SEARCH_MAX_RESULTS + 8];
    size_t max, n = 0, i;
    int self;
    char *q;

    if (idx == NULL)
        init();
    if (size < 1 || size > (1 << 16))
        return 0;
    max = data[0] & 0x1f;
    self = data[0] & 0x80;
    q = malloc(size);
    if (q == NULL)
        return 0;
    memcpy(q, data + 1, size - 1);
    q[size - 1] = '\0';

    if (search_find(idx, q, res, max, &n) != 0)
        abort();
    check(res, n, max);
    {
        int pin = pin_parse(q, size - 1);
        struct buf red, again;

        if (pin != 0 && !pin_valid(pin))
            abort();
        buf_init(&red, 4 * size + 64);
        buf_init(&again, 4 * size + 64);
        /* Redacting twice changes nothing more: no PIN-like run is left. */
        if (pin_redact(q, size - 1, &red) != 0 ||
            pin_redact(buf_cstr(&red), red.len, &again) != 0 || red.len != again.len ||
            memcmp(buf_cstr(&red), buf_cstr(&again), red.len) != 0)
            abort();
        buf_free(&red);
        buf_free(&again);
    }

    if (self) {
        /* The query as the only district's name: found exactly whenever the name has a
         * key and the query is not only keywords or digits (then it may find nothing). */
        struct search_index *one = search_index_new();
        const char *aliases[] = {q, NULL};
        struct search_district d = {1, 42, q, q, q, q, aliases};
        if (search_index_add(one, &d) != 0)
            abort();
        if (search_find(one, q, res, SEARCH_MAX_RESULTS, &n) != 0)
            abort();
        check(res, n, SEARCH_MAX_RESULTS);
        for (i = 0; i < n; i++) {
            if (res[i].district_code != 42)
                abort();
        }
        search_index_free(one);
    }
    free(q);
    return 0;
}
