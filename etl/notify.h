/*
 * Monthly subscription messages: after an ETL run brings a new month for a district, each
 * active subscriber of that district (sms_subscriptions, migration 004) gets one SMS with
 * the new figures, through Kannel's sendsms HTTP API.
 *
 * Two steps, both safe to repeat at any time:
 *  - etl_notify_enqueue() renders one sms_outbox row (migration 005) per subscriber whose
 *    district's latest loaded month is newer than the last month they were sent, from the
 *    MONTHLY template (src/i18n.h) in the subscriber's language. The outbox is unique per
 *    (subscriber, district, month), so a month is never queued twice.
 *  - etl_notify_send() sends pending rows in id order, only between 09:00 and 21:00 India
 *    Standard Time, under a Postgres advisory lock (one sender at a time). Each row is
 *    looked at again just before it is sent (a STOP since it was queued cancels it), then
 *    marked sent, the subscription's last_notified_* moved on and the message recorded in
 *    sms_messages in one transaction right after the gateway accepted it: a crash resends
 *    at most the one message that was in flight. A failing send is retried with doubling
 *    delays up to max_attempts, then marked failed; when the gateway itself seems down or
 *    refuses us (no answer, 5xx, 429, 401, 403, 404) the batch stops there and the rest
 *    stays pending. Requests and the meaning of Kannel's answers are gateway/sendsms.h's,
 *    the same as the server's.
 *
 * last_notified_month is a calendar month (1..12, as monthly_figures.month); months are
 * compared in financial-year order (fin_year, then April = 1 .. March = 12).
 */
#ifndef HISAAB_ETL_NOTIFY_H
#define HISAAB_ETL_NOTIFY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <time.h>

#include "core/buf.h"
#include "gateway/sendsms.h"
#include "text/i18n.h"

struct config;

/* etl_notify_send() returns this when another sender holds the lock. */
#define ETL_NOTIFY_LOCKED 3

/* Advisory lock key of the sender ("HSNT"). */
#define ETL_LOCK_NOTIFY 0x48534e54L

/* The sending window in IST, minutes after midnight: [09:00, 21:00). */
#define ETL_NOTIFY_WINDOW_START (9 * 60)
#define ETL_NOTIFY_WINDOW_END (21 * 60)

struct etl_notify_opts {
    const char *templates_dir;   /* directory of en.txt / hi.txt */
    struct sendsms_opts sendsms; /* Kannel's sendsms: URL (NULL: nothing can be sent), user,
                                    password (never logged), from, timeout per request */
    int max_attempts;            /* per message, the first included (default 3) */
    long backoff_ms;             /* first retry delay, doubled per retry (default 1000) */
    int batch;                   /* most messages sent per call (default 500) */
};

/* What one etl_notify_send() did. */
struct etl_notify_result {
    int outside_window; /* 1: nothing tried, the IST clock is outside the window */
    long sent;
    long failed;    /* marked failed in this call */
    long cancelled; /* subscription stopped since the row was queued */
    long left;      /* still pending after this call */
};

/*
 * Fill *o: the sendsms settings as the server takes them, sendsms_opts_init(cfg) (kore.conf's
 * kannel_sendsms_* when cfg is not NULL, the environment's KANNEL_SENDSMS_URL, _USER,
 * _PASSWORD and _FROM winning), then from the environment HISAAB_NOTIFY_TIMEOUT_MS (the
 * sendsms timeout), HISAAB_NOTIFY_ATTEMPTS, HISAAB_NOTIFY_BACKOFF_MS, HISAAB_NOTIFY_BATCH
 * (out-of-range numbers are ignored with a warning) and HISAAB_TEMPLATES_DIR (else
 * ./assets/templates, else ../assets/templates next to the binary). Strings point into cfg,
 * the environment or static storage.
 */
void etl_notify_opts_init(struct etl_notify_opts *o, const struct config *cfg);

/*
 * Queue the monthly message of every active subscriber whose district has a month newer
 * than the one last sent to them (templates loaded from o->templates_dir). An older month
 * still pending for the same subscriber is cancelled (only the newest is worth sending).
 * Subscribers whose district has no figure at all for that month are skipped. Does
 * nothing (returns 0) while sms_subscriptions does not exist. *queued (may be NULL)
 * receives the number of rows added. Returns 0 or -1 (logged).
 */
int etl_notify_enqueue(PGconn *db, const struct etl_notify_opts *o, long *queued)
    __attribute__((warn_unused_result));

/*
 * Send up to o->batch pending messages if the IST time of etl_notify_now() is inside the
 * window. *res (may be NULL) receives the counts. Returns 0 (also outside the window, or
 * when nothing is pending), -1 on a database error or when messages are pending but no
 * sendsms URL is configured, ETL_NOTIFY_LOCKED when another sender runs.
 */
int etl_notify_send(PGconn *db, const struct etl_notify_opts *o, struct etl_notify_result *res)
    __attribute__((warn_unused_result));

/*
 * The current time: env HISAAB_NOW when set (ISO-8601 as accepted by
 * etl_notify_parse_time(), for tests), else the system clock. Returns 0, or -1 when
 * HISAAB_NOW is malformed.
 */
int etl_notify_now(time_t *now) __attribute__((warn_unused_result));

/*
 * Parse "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]" (a space may replace the T; no zone
 * means UTC) into *t. Returns 0 or -1.
 */
int etl_notify_parse_time(const char *s, time_t *t) __attribute__((warn_unused_result));

/* Minutes after midnight in IST (UTC+05:30, no daylight saving) of the UTC time t. */
int etl_notify_ist_minutes(time_t t);

/* 1 when t falls inside the sending window in IST, else 0. */
int etl_notify_in_window(time_t t);

/* The figures of one MONTHLY message. A field below 0 is missing (NULL in the data). */
struct etl_notify_figures {
    const char *district; /* display name in the message's language */
    const char *fin_year; /* "2024-2025" */
    int month;            /* calendar month 1..12 */
    long long families;   /* total households worked */
    long long days;       /* average days per household, rounded */
    long long wage;       /* average daily wage in rupees, rounded */
};

/*
 * Append the MONTHLY text for f in lang to out (templates must be loaded). Returns 0, or
 * -1 when every figure is missing, the month or year is invalid, or rendering fails
 * (a value over 30 characters, out's cap).
 */
int etl_notify_render(enum i18n_lang lang, const struct etl_notify_figures *f, struct buf *out)
    __attribute__((warn_unused_result));

#endif
