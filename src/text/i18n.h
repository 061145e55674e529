/*
 * The shared wording module: every text Hisaab sends by SMS (and any other channel that
 * wants the same words) comes from a template file, assets/templates/<lang>.txt, so that an
 * operator can register the exact texts with India's DLT system and a translator can edit
 * words without touching C.
 *
 * Template files (UTF-8, one template per line):
 *     # comment
 *     SUMMARY = {#var#} {#var#}:{? {#var#} families got work.?}{? ...?}
 *  - `ID = text`; IDs are [A-Z0-9_], unique per file; blank lines and lines starting
 *    with '#' are skipped; the text is trimmed and may not be empty;
 *  - variables are written exactly `{#var#}` (DLT's variable marker) and filled in order;
 *  - `{?` ... `?}` marks an optional segment holding at least one variable: it is left
 *    out when any of its values is NULL (a missing figure is omitted, never shown as 0).
 *    Segments do not nest. Each combination of segments is one text to register with DLT
 *    (i18n_dlt_list() prints them all), so every outgoing text matches a registered one;
 *  - no other `{` or `}` may appear, and no control characters;
 *  - every language file has the same IDs, and each ID has the same number of variables
 *    in the same segments in every language, so a caller passes one value list for both.
 * Errors are reported as "file:line: reason".
 *
 * Values: at most 30 characters each (Unicode characters, not bytes: the DLT limit),
 * valid UTF-8, no control characters.
 *
 * Numbers: Indian grouping (12,34,567). Hindi replies keep Latin (international) digits:
 * every phone that shows Devanagari also shows them, they are what people see on job
 * cards, wage slips and bank passbooks, they take the same space, and a mixed-digit reply
 * cannot be misread (no confusing Devanagari 7 and 9 shapes on small screens).
 *
 * The loaded tables are process-wide and read-only after i18n_load(): load once at
 * start-up (before workers fork), then call the rest from any thread.
 */
#ifndef HISAAB_I18N_H
#define HISAAB_I18N_H

#include <stddef.h>

#include "core/buf.h"

enum i18n_lang { I18N_EN = 0, I18N_HI = 1 };
#define I18N_NLANGS 2

#define I18N_VAR_MAX_CHARS 30 /* DLT: a variable's value is at most 30 characters */
#define I18N_MAX_VARS 16      /* variables in one template */
#define I18N_MAX_TEMPLATES 128
#define I18N_ID_MAX 48
#define I18N_VAR_MARK "{#var#}"

/*
 * Load <dir>/en.txt and <dir>/hi.txt, replacing any tables loaded before (only when both
 * files are valid: a failed reload keeps the old tables). On error writes
 * "file:line: reason" (or "file: reason") into err (errlen bytes, may be 0) and returns
 * -1; returns 0 on success.
 */
int i18n_load(const char *dir, char *err, size_t errlen) WUR;

/* Release the loaded tables (i18n_render() then fails until the next i18n_load()). */
void i18n_free(void);

/* "en" / "hi"; NULL for an unknown value. */
const char *i18n_lang_code(enum i18n_lang lang);
/* Parse "en"/"hi" (ASCII case-insensitive) into *lang. Returns 0 or -1. */
int i18n_lang_parse(const char *code, enum i18n_lang *lang) WUR;

/*
 * Append template `id` of `lang` to `out`, its `n` values substituted in order. A NULL
 * value leaves out the optional segment that holds it. Fails with -1 (out unchanged) for
 * an unknown language or id, n different from the template's variable count, a NULL
 * value outside any optional segment, a value over 30 characters, invalid UTF-8 or a
 * control character in a value, or when out's cap is reached. Returns 0 on success.
 */
int i18n_render(enum i18n_lang lang, const char *id, const char *const *values, size_t n,
                struct buf *out) WUR;

/* Number of template IDs loaded (the same for every language). */
size_t i18n_count(void);
/* The i-th template ID (file order of en.txt), or NULL past the end. Owned by the module. */
const char *i18n_id_at(size_t i);
/* The raw template text of `id` in `lang`, or NULL. Owned by the module. */
const char *i18n_text(enum i18n_lang lang, const char *id);
/* Number of variables of `id` (same in every language), or -1 if unknown. */
int i18n_nvars(const char *id);
/* Index of the optional segment that variable `var` of `id` belongs to (0-based), -1 if
 * the variable is mandatory, -2 if id or var is unknown. */
int i18n_var_segment(const char *id, size_t var);
/* Number of optional segments of `id`, or -1 if unknown. */
int i18n_nsegments(const char *id);

/*
 * Append every text to register with DLT, one per line "<lang> <ID>[.<variant>] <text>":
 * each template with each combination of its optional segments (variant = bit mask of
 * the segments present, omitted when the template has none), variables as {#var#}.
 * Returns 0, or -1 when out's cap is reached.
 */
int i18n_dlt_list(struct buf *out) WUR;

/*
 * Wording sets: a channel's own texts that are not SMS (USSD screens), in the same file
 * format, for languages of its own (a set may have a language the SMS tables lack, such
 * as romanised Hindi). <dir>/<code>.txt for each of the n codes (at most I18N_SET_LANGS);
 * every file has the same IDs with the same variables, as for the SMS tables. A language
 * of a set is its index in codes. Load before workers fork; read-only afterwards.
 */
#define I18N_SET_LANGS 4
struct i18n_set;

/* Load a set into *out (caller frees with i18n_set_free()). Returns 0, or -1 with
 * "file:line: reason" in err. */
int i18n_set_load(const char *dir, const char *const *codes, size_t n, struct i18n_set **out,
                  char *err, size_t errlen) WUR;
void i18n_set_free(struct i18n_set *set);

/* As i18n_render(), for language index lang of set. */
int i18n_set_render(const struct i18n_set *set, size_t lang, const char *id,
                    const char *const *values, size_t n, struct buf *out) WUR;

/* The set's IDs (file order of its first language) and variable counts. */
size_t i18n_set_count(const struct i18n_set *set);
const char *i18n_set_id_at(const struct i18n_set *set, size_t i);
int i18n_set_nvars(const struct i18n_set *set, const char *id);

/*
 * Format v with Indian digit grouping (last three digits, then groups of two):
 * 0..999 unchanged, 1234 -> "1,234", 123456 -> "1,23,456", 123456789 -> "12,34,56,789",
 * negatives with a leading '-'. Writes a NUL-terminated string into out (len bytes;
 * 32 always suffice). Returns 0, or -1 if it does not fit (out is then "").
 */
int i18n_group_indian(long long v, char *out, size_t len) WUR;

/* Month name (month 1..12): "December" / "दिसंबर". NULL for an unknown lang or month.
 * Static strings. */
const char *i18n_month_name(enum i18n_lang lang, int month);
/* Short month name for SMS: "Dec" in English; Hindi has no customary abbreviations, so
 * the full name. NULL for an unknown lang or month. */
const char *i18n_month_short(enum i18n_lang lang, int month);

#endif
