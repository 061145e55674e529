/*
 * Decimal digits; see dec.h.
 */
#include "core/dec.h"

size_t dec_u64(uint64_t v, char *out)
{
    char tmp[DEC_U64_MAX];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}
