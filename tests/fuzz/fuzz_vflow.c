/*
 * libFuzzer target for the call flow's state as it comes back in a URL
 * (voice/vflow.h): any query either decodes to a valid state or is refused, a decoded
 * state encodes and decodes to itself, and any keys pressed from it give a step that
 * plays a bounded list and either gathers or hangs up, never both.
 *
 *   make fuzz && build/fuzz/fuzz_vflow -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "voice/vflow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, 0, size);
    size_t qlen = nul != NULL ? (size_t)(nul - (const char *)data) : size;
    struct vflow_state st, back;
    struct vflow_input in;
    struct vflow_env env;
    struct vflow_out o;
    char digits[32];
    struct buf b;

    if (vflow_decode((const char *)data, qlen, &st) != 0)
        return 0;
    buf_init(&b, 4096);
    if (vflow_encode(&st, &b) != 0 || vflow_decode(b.data, b.len, &back) != 0 ||
        memcmp(&st, &back, sizeof(st)) != 0)
        abort();
    buf_free(&b);
    memset(digits, 0, sizeof(digits));
    if (nul != NULL) {
        size_t n = size - qlen - 1;

        memcpy(digits, nul + 1, n < sizeof(digits) - 1 ? n : sizeof(digits) - 1);
    }
    memset(&env, 0, sizeof(env));
    in.digits = digits;
    (void)vflow_step(&st, &in, &env, &o);
    if (o.nplay > VFLOW_PLAY_MAX || (o.gather && o.hangup) || (!o.gather && !o.hangup))
        abort();
    return 0;
}
