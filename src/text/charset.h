/*
 * Inbound SMS text to UTF-8. Gateways hand the text over in the charset the phone network
 * used, and Kannel names it in %C; everything after the webhook works on UTF-8 only, so
 * this is the one place where other charsets are read. UTF-8 is only validated (by
 * core/utf8.h's rules); the others are converted by iconv(3), whose tables are glibc's,
 * so WINDOWS-1252 reads 0x80 as the euro sign and 0x93/0x94 as curly quotes instead of
 * Latin-1's C1 controls.
 *
 * Only the charsets below are accepted (names compared ignoring ASCII case), never an
 * arbitrary name passed through to iconv:
 *   UTF-8, UTF8                                    (also NULL or "")
 *   UTF-16BE, UTF-16, UCS-2, UCS-2BE, UCS2         read as UTF-16BE: surrogate pairs are
 *                                                  joined (phones send emoji as UCS-2
 *                                                  that way), a lone surrogate is an error,
 *                                                  a byte-order mark is kept as U+FEFF
 *   ISO-8859-1, ISO8859-1, LATIN1
 *   WINDOWS-1252, CP1252                           0x81 0x8D 0x8F 0x90 0x9D are undefined
 *                                                  and make the text invalid
 *   US-ASCII, ASCII                                bytes 0x80..0xFF are invalid
 *
 * The iconv descriptors are opened on first use and kept for the life of the process (one
 * per charset; a worker is single-threaded and each use starts from a reset state).
 */
#ifndef HISAAB_CHARSET_H
#define HISAAB_CHARSET_H

#include <stddef.h>

#include "core/buf.h"

/*
 * Convert the len bytes at bytes (need not be NUL-terminated; NULL with len 0 is the empty
 * text) from charset into UTF-8 appended to out. A NUL in the input is kept (U+0000).
 * Returns 0, or -1 if the charset is not one of the above, the bytes are not valid in it
 * (an undefined byte, a lone surrogate, an odd UTF-16 length, malformed UTF-8), iconv
 * cannot be opened, or out's cap is reached; out is then unchanged.
 */
int charset_to_utf8(const char *bytes, size_t len, const char *charset, struct buf *out) WUR;

#endif
