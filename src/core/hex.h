/*
 * Lower-case hexadecimal of bytes, the form every keyed hash and sealed value of Hisaab is
 * written in (channel/phone.h, core/apikey.h).
 */
#ifndef HISAAB_CORE_HEX_H
#define HISAAB_CORE_HEX_H

#include <stddef.h>

/* The n bytes at p as 2n lower-case hex digits and a NUL into out (2n + 1 bytes). */
void hex_encode(const unsigned char *p, size_t n, char *out);

#endif
