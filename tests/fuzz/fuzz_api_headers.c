/*
 * libFuzzer target for the request headers the district API parses itself: If-None-Match
 * (serve_etag_match) and Accept-Encoding (serve_accepts_gzip). The input is
 * "HEADER\nETAG"; each value is copied into a buffer of exactly its length plus a NUL, so
 * AddressSanitizer catches any read past it.
 * The answers must be 0 or 1, and a tag must match itself.
 *
 *   make fuzz && mkdir -p /tmp/corpus
 *   build/fuzz/fuzz_api_headers -max_total_time=60 /tmp/corpus tests/fuzz/corpus/fuzz_api_headers
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl != NULL ? (size_t)(nl - data) : size;
    char *header = malloc(hlen + 1), *etag = NULL;
    size_t elen = nl != NULL ? size - hlen - 1 : 0;
    int r;

    memcpy(header, data, hlen);
    header[hlen] = '\0';
    etag = malloc(elen + 1);
    if (elen > 0)
        memcpy(etag, nl + 1, elen);
    etag[elen] = '\0';
    r = serve_accepts_gzip(header);
    if (r != 0 && r != 1)
        abort();
    r = serve_etag_match(header, etag);
    if (r != 0 && r != 1)
        abort();
    if (strchr(etag, ',') == NULL && etag[0] != '\0' && etag[0] != ' ' && etag[0] != '\t' &&
        strncmp(etag, "W/", 2) != 0 && etag[0] != '*' && elen == strlen(etag) &&
        etag[elen - 1] != ' ' && etag[elen - 1] != '\t' && !serve_etag_match(etag, etag))
        abort();
    free(header);
    free(etag);
    return 0;
}
