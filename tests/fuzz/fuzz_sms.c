/*
 * libFuzzer target for the inbound SMS text path: smscmd_parse() on any bytes, and
 * smsenc_analyse()/smsenc_split() with their invariants checked (parts concatenate to the
 * input, each fits, counts agree), so a bad text can never crash, hang or mis-split.
 *
 *   make fuzz && build/fuzz/fuzz_sms -max_total_time=60 tests/fuzz/corpus/fuzz_sms
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/smscmd.h"
#include "text/smsenc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct slice parts[SMSENC_MAX_PARTS];
    struct smsenc_info info, pi;
    struct smscmd cmd;
    size_t n, k, off = 0;
    int valid;

    if (size > 4096)
        return 0;
    valid = smsenc_analyse(s, size, &info) == 0;
    if (smscmd_parse(s, size, &cmd) == 0) {
        if (!valid)
            abort();
        if (cmd.arg.len > 0 && (cmd.arg.ptr < s || cmd.arg.ptr + cmd.arg.len > s + size))
            abort();
    } else if (valid) {
        abort();
    }
    if (smsenc_split(s, size, parts, SMSENC_MAX_PARTS, &n) != 0)
        return 0;
    if (!valid || n < info.parts)
        abort();
    for (k = 0; k < n; k++) {
        if (parts[k].ptr != s + off || smsenc_analyse(parts[k].ptr, parts[k].len, &pi) != 0)
            abort();
        if (n > 1 && info.coding == SMSENC_GSM7 && pi.units > SMSENC_GSM7_PART)
            abort();
        if (n > 1 && info.coding == SMSENC_UCS2 && pi.coding == SMSENC_UCS2 &&
            pi.units > SMSENC_UCS2_PART)
            abort();
        off += parts[k].len;
    }
    if (off != size)
        abort();
    return 0;
}
