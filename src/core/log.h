/*
 * Logging to stderr, one line per event: "2026-11-22T17:10:00Z hisaab[pid] LEVEL msg".
 * Used by the server (master and workers) and by hisaab-etl. Never pass a phone number,
 * an API key or coordinates to these functions in the clear.
 */
#ifndef HISAAB_LOG_H
#define HISAAB_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set the program name shown in each line and the lowest level printed. */
void log_init(const char *prog, enum log_level min);
/* Parse "debug", "info", "warn", "error"; returns LOG_INFO for anything else. */
enum log_level log_level_parse(const char *s);

void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Like log_msg(), but the line is queued in a per-process buffer and written with the
 * lines queued before it in one write(2) of whole lines (at most LOG_QUEUE_BYTES, so
 * writes to a pipe stay atomic) when the buffer is full, before any log_msg() line, or on
 * log_flush(). For high-rate lines such as the access log; whoever queues must call
 * log_flush() from a timer and before exiting.
 */
#define LOG_QUEUE_BYTES 4096
void log_queue(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_flush(void);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
