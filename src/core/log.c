/*
 * Line-oriented logging to stderr; see log.h. Each line is formatted into one buffer and
 * written with a single write(2) so lines from several workers do not interleave. Queued
 * lines (log_queue) wait in a small buffer so a busy worker pays one system call per few
 * dozen access-log lines instead of one each; the timestamp is formatted once a second.
 */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "hisaab";
static enum log_level log_min = LOG_INFO;

static char queue[LOG_QUEUE_BYTES];
static size_t queued;

static void write_all(const char *p, size_t n)
{
    if (write(STDERR_FILENO, p, n) < 0) {
        /* Nowhere left to report a failing stderr. */
    }
}

void log_flush(void)
{
    if (queued > 0) {
        write_all(queue, queued);
        queued = 0;
    }
}

/* Format "TIMESTAMP prog[pid] LEVEL " into line; returns its length. Cached per second. */
static size_t format_prefix(char *line, size_t size, enum log_level lvl)
{
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    static char stamp[64];
    static time_t stamp_time = (time_t)-1;
    struct tm tm;
    time_t now;
    int n;

    now = time(NULL);
    if (now != stamp_time) {
        gmtime_r(&now, &tm);
        snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        stamp_time = now;
    }
    n = snprintf(line, size, "%s %s[%d] %s ", stamp, log_prog, (int)getpid(), names[lvl]);
    return n > 0 ? ((size_t)n < size ? (size_t)n : size - 1) : 0;
}

/* Format a whole line ending in '\n' into line (size > 2); returns its length. */
static size_t format_line(char *line, size_t size, enum log_level lvl, const char *fmt, va_list ap)
{
    size_t off = format_prefix(line, size, lvl);
    int n;

    n = vsnprintf(line + off, size - off - 1, fmt, ap);
    if (n > 0)
        off += (size_t)n < size - off - 1 ? (size_t)n : size - off - 2;
    line[off++] = '\n';
    return off;
}

void log_queue(enum log_level lvl, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    size_t n;

    if (lvl < log_min)
        return;
    va_start(ap, fmt);
    n = format_line(line, sizeof(line), lvl, fmt, ap);
    va_end(ap);
    if (queued + n > sizeof(queue))
        log_flush();
    memcpy(queue + queued, line, n);
    queued += n;
}

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
    char line[2048];
    va_list ap;
    size_t n;

    if (lvl < log_min)
        return;
    va_start(ap, fmt);
    n = format_line(line, sizeof(line), lvl, fmt, ap);
    va_end(ap);
    /* Keep the order: queued lines happened first. */
    log_flush();
    write_all(line, n);
}
