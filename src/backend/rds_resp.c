/*
 * Commands in Redis's protocol; see rds_resp.h.
 */
#include "backend/rds_resp.h"

#include <stdlib.h>
#include <string.h>

#include "core/dec.h"
#include "core/mem.h"

int rds_resp_send(redisAsyncContext *ac, redisCallbackFn *fn, void *priv, int argc,
                  const char *const *argv, const size_t *argvlen)
{
    char stack[1024], *buf = stack;
    size_t need = 24, at = 0;
    int i, st;

    for (i = 0; i < argc; i++)
        need += argvlen[i] + 26;
    if (need > sizeof(stack))
        buf = xmalloc(need);
    buf[at++] = '*';
    at += dec_u64((uint64_t)argc, buf + at);
    buf[at++] = '\r';
    buf[at++] = '\n';
    for (i = 0; i < argc; i++) {
        buf[at++] = '$';
        at += dec_u64(argvlen[i], buf + at);
        buf[at++] = '\r';
        buf[at++] = '\n';
        if (argvlen[i] > 0)
            memcpy(buf + at, argv[i], argvlen[i]);
        at += argvlen[i];
        buf[at++] = '\r';
        buf[at++] = '\n';
    }
    st = redisAsyncFormattedCommand(ac, fn, priv, buf, at);
    if (buf != stack)
        free(buf);
    return st;
}
