/*
 * What the voice channels say, as a list of clip ids: a number in the Indian system
 * (lakh, crore), a district's summary in Hindi or English, and the menu prompts. A clip id
 * names the file audio/<lang>/<id>.wav of the clip library; audio/clips.tsv lists every id
 * with the words it says in each language (audio/README.md). This module only chooses and
 * orders ids: the audio assembly joins the files, the call flow decides when to play what.
 * Pure functions, no I/O; every returned id is a static string.
 *
 * The summary says the same figures as the SMS (text/summary.h), rounded the same way: days,
 * the wage and the state's days with summary_round(); the share paid within 15 days as a
 * whole number (half away from zero, so 100 from 99.5 up, and never more than 100). A
 * missing figure gets a plain sentence of its own ("The average wage is not available
 * yet."); when every figure is missing the summary is the district and s_nodata, as the SMS
 * sends NODATA. Sentences are separated by SPEECH_SIL_SENTENCE, the district from the month
 * by SPEECH_SIL_SHORT. The sentence parts are designed so that both languages keep one
 * order of ids (numbers come where each language says them: "22,629 families got work" /
 * "22,629 परिवारों को काम मिला"); only the words of the clips differ.
 */
#ifndef HISAAB_TEXT_SPEECH_H
#define HISAAB_TEXT_SPEECH_H

#include <stddef.h>

#include "core/buf.h"
#include "text/i18n.h"
#include "text/summary.h"

#define SPEECH_NUMBER_MAX 999999999LL /* 99,99,99,999: the largest number that can be said */
#define SPEECH_NUMBER_IDS 9           /* most ids one number takes (n99 crore ... n99) */
#define SPEECH_SUMMARY_IDS 64         /* most ids a summary takes */
#define SPEECH_ID_MAX 16              /* longest clip id, with its NUL */

/* Digital silences. */
#define SPEECH_SIL_SHORT "sil250"    /* 250 ms: a comma */
#define SPEECH_SIL_SENTENCE "sil500" /* 500 ms: between sentences */
#define SPEECH_SIL_LONG "sil1000"    /* 1 s: before a menu repeats */

/*
 * Menu prompts, each one clip. Said around other clips:
 *   SPEECH_Q_REMEMBERED_A <district> SPEECH_Q_REMEMBERED_B
 *   SPEECH_Q_CHOOSE_A <district> SPEECH_Q_CHOOSE_B <speech_number_id(1..9)>
 * SPEECH_Q_LANG is bilingual: its hi clip says "press 1 for Hindi" in Hindi and its en
 * clip "For English, press 2"; play hi then en.
 */
#define SPEECH_Q_WELCOME "q_welcome"
#define SPEECH_Q_LANG "q_lang"
#define SPEECH_Q_REMEMBERED_A "q_remembered_a"
#define SPEECH_Q_REMEMBERED_B "q_remembered_b"
#define SPEECH_Q_PIN "q_pin"
#define SPEECH_Q_CHOOSE_A "q_choose_a"
#define SPEECH_Q_CHOOSE_B "q_choose_b"
#define SPEECH_Q_AFTER "q_after"
#define SPEECH_Q_NO_INPUT "q_no_input"
#define SPEECH_Q_WRONG_KEY "q_wrong_key"
#define SPEECH_Q_PIN_UNKNOWN "q_pin_unknown"
#define SPEECH_Q_NOT_LOADED "q_not_loaded"
#define SPEECH_Q_SMS_SENT "q_sms_sent"
#define SPEECH_Q_GOODBYE "q_goodbye"
#define SPEECH_Q_TRY_LATER "q_try_later"

/* The clip id of the number k (0..99): "n0" .. "n99"; NULL outside that range. */
const char *speech_number_id(int k);

/* The clip id of the month (1..12): "m1" .. "m12"; NULL outside that range. */
const char *speech_month_id(int month);

/*
 * The clip id of the district with NREGA district code `code` ("d1752") into out (len
 * bytes; SPEECH_ID_MAX always suffice). Whether the library has that clip is for the
 * caller to know (audio/clips.tsv has every district of data/reference/mp_nrega_lgd.csv).
 * Returns 0, or -1 for a code that is not positive or when it does not fit.
 */
int speech_district_id(int code, char *out, size_t len) WUR;

/*
 * The clip ids that say v (0 .. SPEECH_NUMBER_MAX) in the Indian system, highest group
 * first, groups that are zero left out: 22629 -> n22 thousand n6 hundred n29;
 * 12345678 -> n1 crore n23 lakh n45 thousand n6 hundred n78; 200005 -> n2 lakh n5;
 * 0 -> n0. Writes them to ids[0..*n) (max entries at most; SPEECH_NUMBER_IDS always
 * suffice). Returns 0, or -1 (*n = 0) for a negative v, a v over SPEECH_NUMBER_MAX or when
 * max is too small.
 */
int speech_number(long long v, const char **ids, size_t max, size_t *n) WUR;

/*
 * The summary of figures f (its month and year, families, days, wage, paid_pct and
 * state_days with their have_* flags; f->name is not used) for the district whose clip id
 * is district_id ("d1752", see speech_district_id()), in lang, as clip ids written to
 * ids[0..*n) (max entries at most; SPEECH_SUMMARY_IDS always suffice). In English:
 *   Niwari, March 2025. 22,629 families got work. On average, each family got 49 days of
 *   work, out of a hundred. The average wage was 243 rupees a day. 99 percent of wages
 *   were paid within fifteen days. For the whole state, the average was 45 days of work.
 * with numbers said by speech_number() (a year too: 2025 = n2 thousand n25). The ids are
 * static strings except district_id itself, which ids[0] points to (the caller keeps it).
 * Returns 0, or -1 (*n = 0) for an unknown lang, an empty district_id, a month outside
 * 1..12, a year outside 1..9999, a figure that cannot be said (negative or over
 * SPEECH_NUMBER_MAX once rounded), or when max is too small.
 */
int speech_summary(enum i18n_lang lang, const char *district_id, const struct summary_facts *f,
                   const char **ids, size_t max, size_t *n) WUR;

/*
 * The i-th of every clip id this module can return apart from the districts' (numbers,
 * their group words, months, silences, prompts and sentence parts), for a check at start
 * that the library has them all; NULL past the end. Static strings.
 */
const char *speech_clip_at(size_t i);

#endif
