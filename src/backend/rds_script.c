/*
 * Lua scripts on Redis; see rds_script.h. The SHA1 is computed on first use; a call is
 * one allocation holding what a resend as EVAL needs.
 */
#include "backend/rds_script.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* An EVALSHA on its way: what to send again as EVAL when Redis does not know the script.
 * One allocation: the struct, then argv and argvlen, then the argument bytes. */
struct eval_call {
    struct rds_script *script;
    rds_reply_fn cb;
    void *arg;
    int full; /* sent as EVAL */
    int argc;
    const char **argv;
    size_t *argvlen;
};

static int eval_send(struct eval_call *e);

static void eval_reply(void *arg, const redisReply *reply, const char *err)
{
    struct eval_call *e = arg;

    if (err != NULL && strncmp(err, "NOSCRIPT", 8) == 0 && !e->full) {
        /* After a Redis restart or SCRIPT FLUSH: the whole script, which caches it. */
        e->full = 1;
        if (eval_send(e) == 0)
            return;
    }
    e->cb(e->arg, reply, err);
    free(e);
}

static int eval_send(struct eval_call *e)
{
    e->argv[0] = e->full ? "EVAL" : "EVALSHA";
    e->argv[1] = e->full ? e->script->text : e->script->sha;
    e->argvlen[0] = strlen(e->argv[0]);
    e->argvlen[1] = strlen(e->argv[1]);
    /* hiredis formats the command at once: nothing in argv needs to outlive the call but
     * what a resend as EVAL uses again. */
    return rds_command_argv(eval_reply, e, e->argc, e->argv, e->argvlen);
}

int rds_eval(struct rds_script *s, rds_reply_fn cb, void *arg, int nkeys, const char *const *args,
             int nargs)
{
    struct eval_call *e;
    unsigned char md[SHA_DIGEST_LENGTH];
    size_t bytes = 0, len[RDS_EVAL_MAX_ARGS];
    char *p;
    int i;

    if (s == NULL || s->text == NULL || cb == NULL || nkeys < 0 || nkeys > nargs ||
        nargs > RDS_EVAL_MAX_ARGS || (nargs > 0 && args == NULL))
        return -1;
    if (s->sha[0] == '\0') {
        SHA1((const unsigned char *)s->text, strlen(s->text), md);
        for (i = 0; i < SHA_DIGEST_LENGTH; i++)
            snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
    }
    for (i = 0; i < nargs; i++) {
        len[i] = args[i] != NULL ? strlen(args[i]) : 0;
        bytes += len[i] + 1;
    }
    e = xmalloc(sizeof(*e) + (size_t)(3 + nargs) * (sizeof(char *) + sizeof(size_t)) + 16 + bytes);
    e->script = s;
    e->cb = cb;
    e->arg = arg;
    e->full = 0;
    e->argc = 3 + nargs;
    e->argv = (const char **)(void *)(e + 1);
    e->argvlen = (size_t *)(void *)(e->argv + e->argc);
    p = (char *)(e->argvlen + e->argc);
    e->argvlen[2] = (size_t)snprintf(p, 16, "%d", nkeys);
    e->argv[2] = p;
    p += 16;
    for (i = 0; i < nargs; i++) {
        if (len[i] > 0)
            memcpy(p, args[i], len[i]);
        p[len[i]] = '\0';
        e->argv[3 + i] = p;
        e->argvlen[3 + i] = len[i];
        p += len[i] + 1;
    }
    if (eval_send(e) != 0) {
        free(e);
        return -1;
    }
    return 0;
}
