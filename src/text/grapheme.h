/*
 * Where a text may be cut: the one rule every module that shortens or splits text follows
 * (SMS parts in smsenc, names clipped to a DLT variable's length in the channels), so that
 * no reply ever ends in a dangling virama or a sign torn from its letter.
 *
 * It is a small subset of Unicode's extended grapheme clusters (UAX #29), enough for the
 * scripts Hisaab speaks and the emoji people send:
 *  - no cut before a combining mark: a nukta, virama, dependent vowel sign (matra),
 *    candrabindu, anusvara or visarga of Devanagari and the other Indic blocks laid out
 *    like it (Bengali .. Malayalam), a Vedic sign, a combining diacritic (U+0300..036F and
 *    the extended blocks), a variation selector, an emoji skin-tone modifier, ZWJ or ZWNJ;
 *  - no cut after a virama, ZWJ or ZWNJ, so a conjunct ("क्ष") or a ZWJ emoji sequence
 *    stays whole;
 *  - no cut between CR and LF.
 * The start and the end of a text are always boundaries.
 */
#ifndef HISAAB_GRAPHEME_H
#define HISAAB_GRAPHEME_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* 1 if a text may be cut between the code points prev and cp (cp follows prev), else 0. */
int grapheme_can_break(uint32_t prev, uint32_t cp);

/*
 * Copy at most max_chars Unicode code points of the NUL-terminated UTF-8 string s into out
 * (outlen bytes), NUL-terminated. The cut falls only where grapheme_can_break() allows, so
 * the copy may hold fewer than max_chars code points (none, if the first cluster is longer
 * than that), and it never takes more than outlen - 1 bytes. Nothing to free.
 * Returns 0, or -1 if s is NULL or not valid UTF-8 (anywhere, also past the cut) or
 * outlen is 0; out is then "" (when outlen > 0).
 */
int grapheme_clip(const char *s, size_t max_chars, char *out, size_t outlen) WUR;

#endif
