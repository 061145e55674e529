/*
 * Lua scripts on Redis through the connection of backend/rds.h: EVALSHA first, and the
 * whole script (EVAL, which caches it) when Redis does not know it yet (after a restart
 * or a SCRIPT FLUSH). The channel gate and the rate limiter run their scripts this way.
 */
#ifndef HISAAB_BACKEND_RDS_SCRIPT_H
#define HISAAB_BACKEND_RDS_SCRIPT_H

#include "backend/rds.h"

/* Most arguments (keys and values together) rds_eval() takes. */
#define RDS_EVAL_MAX_ARGS 32

/*
 * A Lua script run by its SHA1 (EVALSHA), sent whole (EVAL, which also caches it) only when
 * Redis does not know it yet. Declare one static struct per script with its text; the SHA1
 * is computed on first use.
 */
struct rds_script {
    const char *text;
    char sha[41];
};

/*
 * Run script s with args[0..nkeys-1] as KEYS and the rest of the nargs as ARGV (strings,
 * copied; NULL counts as ""). cb as for rds_command(), with the script's reply. Returns 0
 * when cb will be called, -1 (cb never called) when not started or arguments are invalid.
 */
int rds_eval(struct rds_script *s, rds_reply_fn cb, void *arg, int nkeys, const char *const *args,
             int nargs) WUR;

#endif
