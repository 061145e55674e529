/*
 * The two halves of the config module, and what they share. Internal: only
 * src/net/config.c and src/net/config_hisaab.c include this file; everything else reads
 * struct config through net/config.h, the module's public API.
 *
 * config.c owns the kore.conf syntax (lines, words, blocks) and the Kore directives
 * (server, workers, validator, domain, route and what goes in them). config_hisaab.c
 * owns the `hisaab { }` block: the table of its keys with their types, defaults and
 * ranges, the refusal of anything that looks like a secret, and the environment
 * variables that win over the file (config_apply_env). The parser hands every statement
 * inside `hisaab { }` to config_hisaab_key(), which reports errors through the parser's
 * config_perr() and config_parse_num(), the way an nginx module's directive handler
 * reports through ngx_conf_log_error(), so every message keeps its "FILE:LINE: " prefix.
 */
#ifndef HISAAB_CONFIG_HISAAB_H
#define HISAAB_CONFIG_HISAAB_H

#include <stddef.h>

#include "net/config.h"

#define CFG_NAME_MAX 128 /* longest name (server, validator, param, handler, hisaab key) */

/* The parser's state while one file is read; defined in config.c, opaque here. */
struct config_parser;

/* ---- provided by config.c ---- */

/*
 * Report an error at the line being parsed: writes "FILE:LINE: " and the printf-style
 * message into the caller's error buffer (cut to its size; nothing if it has none).
 */
void config_perr(struct config_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Parse the decimal integer s into *out if it lies in [lo, hi]. Leading blanks, '+', hex
 * and trailing junk are refused. `what` names the value in the error. Returns 0, or -1
 * after config_perr().
 */
int config_parse_num(struct config_parser *p, const char *what, const char *s, long lo, long hi,
                     long *out) __attribute__((warn_unused_result));

/* ---- provided by config_hisaab.c ---- */

/* Set the defaults of every `hisaab { }` setting in a zeroed cfg (strings malloc'd). */
void config_hisaab_defaults(struct config *cfg);

/*
 * One statement w[0..n) of the `hisaab { }` block: look the key w[0] up, check its one
 * value against the key's type, allowed values, prefixes and range, refuse secrets in it,
 * and store it in cfg (replacing the default; cfg owns the copy). seen (one byte per key,
 * CONFIG_HISAAB_KEYS_MAX, zeroed at the start) records the keys already given in this file
 * (a key may appear once). Returns 0, or -1 after config_perr().
 */
#define CONFIG_HISAAB_KEYS_MAX 160
int config_hisaab_key(struct config_parser *p, struct config *cfg, unsigned char *seen, char **w,
                      size_t n) __attribute__((warn_unused_result));

/*
 * 1 if a directive or key name would put a secret into the file ("api_key", "*_key",
 * "secret", "password", "token", ...; any case), else 0. Names longer than CFG_NAME_MAX
 * are not judged (0).
 */
int config_looks_secret(const char *word);

/* Free the strings of the `hisaab { }` settings and of the environment-only secrets. */
void config_hisaab_free(struct config *cfg);

#endif
