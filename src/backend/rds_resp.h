/*
 * A command written in Redis's protocol (an array of bulk strings: "*3\r\n$4\r\nHSET\r\n
 * ...") by our own code, without printf, and handed to hiredis as it is. hiredis's own
 * formatters (redisvFormatCommand, redisFormatCommandArgv) go through sprintf for every
 * length and cost several thousand instructions a command on the SMS path. Internal to
 * backend/rds.c.
 */
#ifndef HISAAB_RDS_RESP_H
#define HISAAB_RDS_RESP_H

#include <stddef.h>

#include <hiredis/async.h>

/* Queue argv[0..argc-1] (argvlen[i] bytes each, binary-safe, copied) on ac with callback
 * fn(priv) (NULL: nobody waits for the answer). Returns REDIS_OK or REDIS_ERR, as
 * redisAsyncFormattedCommand() does. */
int rds_resp_send(redisAsyncContext *ac, redisCallbackFn *fn, void *priv, int argc,
                  const char *const *argv, const size_t *argvlen);

#endif
