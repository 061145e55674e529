/*
 * Decimal digits of an unsigned number written without printf, for the few places on the
 * hot path that put lengths into protocol text (HTTP's Content-Length, Redis's bulk
 * string lengths).
 */
#ifndef HISAAB_DEC_H
#define HISAAB_DEC_H

#include <stddef.h>
#include <stdint.h>

#define DEC_U64_MAX 20 /* digits of the largest uint64_t */

/* The digits of v at out (room for DEC_U64_MAX; not NUL-terminated); returns how many. */
size_t dec_u64(uint64_t v, char *out);

#endif
