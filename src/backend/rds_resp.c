/*
 * Commands in Redis's protocol; see rds_resp.h.
 */
#include "backend/rds_resp.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

/* Decimal digits of v at out (room for 20); returns how many. */
static size_t put_uint(char *out, size_t v)
{
    char tmp[20];
    size_t n = 0, i;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    for (i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

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
    at += put_uint(buf + at, (size_t)argc);
    buf[at++] = '\r';
    buf[at++] = '\n';
    for (i = 0; i < argc; i++) {
        buf[at++] = '$';
        at += put_uint(buf + at, argvlen[i]);
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
