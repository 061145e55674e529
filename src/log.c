/*
 * Line-oriented logging to stderr; see log.h. Each line is formatted into one buffer and
 * written with a single write(2) so lines from several workers do not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "hisaab";
static enum log_level log_min = LOG_INFO;

void log_init(const char *prog, enum log_level min)
{
    log_prog = prog;
    log_min = min;
}

enum log_level log_level_parse(const char *s)
{
    if (s == NULL)
        return LOG_INFO;
    if (strcasecmp(s, "debug") == 0)
        return LOG_DEBUG;
    if (strcasecmp(s, "warn") == 0)
        return LOG_WARN;
    if (strcasecmp(s, "error") == 0)
        return LOG_ERROR;
    return LOG_INFO;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char line[2048];
    struct tm tm;
    time_t now;
    va_list ap;
    size_t off;
    int n;

    if (lvl < log_min)
        return;
    now = time(NULL);
    gmtime_r(&now, &tm);
    n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02dZ %s[%d] %s ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 log_prog, (int)getpid(), names[lvl]);
    off = n > 0 ? (size_t)n : 0;
    va_start(ap, fmt);
    n = vsnprintf(line + off, sizeof(line) - off - 1, fmt, ap);
    va_end(ap);
    if (n > 0)
        off += (size_t)n < sizeof(line) - off - 1 ? (size_t)n : sizeof(line) - off - 2;
    line[off++] = '\n';
    if (write(STDERR_FILENO, line, off) < 0) {
        /* Nowhere left to report a failing stderr. */
    }
}
