/*
 * SMS length rules (3GPP TS 23.038 "GSM 03.38" and TS 23.040 concatenation), as pure
 * functions over UTF-8 text: no I/O, no allocation. The SMS channel uses them to choose the
 * coding it tells the gateway (Kannel coding 0 or 2), to check that a rendered reply fits,
 * and to split a long reply into parts itself.
 *
 * Rules implemented:
 *  - The input must be valid UTF-8 (no overlong forms, no UTF-16 surrogates, nothing
 *    above U+10FFFF); anything else is an error.
 *  - GSM-7 if every character is in the GSM 03.38 default alphabet or its extension table;
 *    one character outside both (a Devanagari letter, a backtick, the rupee sign, an emoji)
 *    makes the whole message UCS-2.
 *  - GSM-7 length is in septets: default-alphabet characters count 1, extension
 *    characters (form feed ^ { } \ [ ~ ] | and the euro sign) count 2 (ESC + code).
 *  - UCS-2 length is in UTF-16 code units: a character outside the BMP counts 2 (a
 *    surrogate pair, as phones and gateways send it).
 *  - One SMS holds 160 septets or 70 units; a concatenated message (with its 6-byte UDH)
 *    holds 153 septets or 67 units per part. An empty message is one part.
 *  - smsenc_split() cuts only between characters, so never inside a UTF-8 sequence, an
 *    escape pair or a surrogate pair; only where grapheme_can_break() allows (text/
 *    grapheme.h: no cut before a nukta, virama, dependent vowel sign, candrabindu,
 *    anusvara, visarga, ZWJ, ZWNJ, a variation selector or a combining diacritic, and no
 *    cut after a virama, ZWJ or ZWNJ, so conjuncts stay whole); and preferably right after
 *    a space or line break (the space stays at the end of the earlier part), so that the
 *    parts concatenate to the input exactly, as the phone reassembles them.
 */
#ifndef HISAAB_SMSENC_H
#define HISAAB_SMSENC_H

#include <stddef.h>

#include "core/buf.h"

/* Values as Kannel's `coding` field: 0 = GSM-7, 2 = UCS-2. */
enum smsenc_coding { SMSENC_GSM7 = 0, SMSENC_UCS2 = 2 };

#define SMSENC_GSM7_SINGLE 160
#define SMSENC_GSM7_PART 153
#define SMSENC_UCS2_SINGLE 70
#define SMSENC_UCS2_PART 67

/* Most parts smsenc_split() will produce (gateways cap concatenation well below 255). */
#define SMSENC_MAX_PARTS 16

struct smsenc_info {
    enum smsenc_coding coding;
    size_t units; /* septets (GSM-7) or UTF-16 code units (UCS-2) */
    size_t chars; /* Unicode code points */
    size_t parts; /* SMS parts a gateway needs at the least: 1 if units fit one SMS, else
                     ceil(units / 153) or ceil(units / 67) */
};

/*
 * Analyse `len` bytes of UTF-8 at `utf8` (need not be NUL-terminated) and fill *out.
 * Returns 0, or -1 if the text is not valid UTF-8 (*out is then zeroed).
 */
int smsenc_analyse(const char *utf8, size_t len, struct smsenc_info *out) WUR;

/*
 * Split a message into parts that each fit one SMS under the whole message's coding:
 * a message that fits a single SMS is returned as one part; otherwise every part holds at
 * most 153 septets / 67 UTF-16 units, cut at the last space or line break that fits, or,
 * for a word longer than a part, at the last character (cluster) boundary that fits.
 * `parts` receives up to `max_parts` slices that point into `utf8` (borrowed: nothing to
 * free; valid as long as the input is) and concatenate to it exactly; *nparts their count.
 * Returns 0, or -1 if the text is not valid UTF-8 or needs more than `max_parts` parts
 * (*nparts is then 0).
 */
int smsenc_split(const char *utf8, size_t len, struct slice *parts, size_t max_parts,
                 size_t *nparts) WUR;

#endif
