/*
 * The operations gauges of GET /metrics; see api_ops.h.
 */
#include "api/api_ops.h"

#include <stdlib.h>

#include "backend/pg.h"
#include "backend/rds.h"
#include "core/buf.h"
#include "core/log.h"
#include "data/journal.h"
#include "net/config.h"
#include "net/http.h"
#include "net/metrics.h"

/* Largest exposition, counters and gauges together. */
#define OPS_METRICS_MAX (1024 * 1024)

/* One row: data age (NULL: no successful run), callbacks queued, overdue, finished ok and
 * failed in the last hour, outbox sent and failed in 24 h, call seconds today (the
 * dialer's own count, src/voice/callback.c). */
static const char gauges_sql[] =
    "SELECT (SELECT extract(epoch FROM now() - max(finished_at))::bigint FROM etl_runs"
    "  WHERE status = 'ok'),"
    " (SELECT count(*) FROM voice_callbacks WHERE state = 'queued'),"
    " (SELECT count(*) FROM voice_callbacks WHERE state = 'queued'"
    "  AND due_at < now() - interval '5 minutes'),"
    " (SELECT count(*) FROM voice_callbacks WHERE finished_at > now() - interval '1 hour'"
    "  AND state = 'done'),"
    " (SELECT count(*) FROM voice_callbacks WHERE finished_at > now() - interval '1 hour'"
    "  AND state = 'failed'),"
    " (SELECT count(*) FROM sms_outbox WHERE status = 'sent'"
    "  AND sent_at > now() - interval '1 day'),"
    " (SELECT count(*) FROM sms_outbox WHERE status = 'failed'"
    "  AND created_at > now() - interval '1 day'),"
    " (SELECT COALESCE(sum(duration_s), 0) FROM voice_callbacks"
    "  WHERE finished_at >= (date_trunc('day', now() AT TIME ZONE 'Asia/Kolkata')"
    "  AT TIME ZONE 'Asia/Kolkata'))";

static struct {
    long long max_age_s;
    long long queue_max;
    long long daily_minutes;
} oc;

void api_ops_init(const struct config *cfg)
{
    oc.max_age_s = (long long)(cfg->max_data_age_hours > 0 ? cfg->max_data_age_hours : 2160) * 3600;
    oc.queue_max = cfg->journal_queue_max;
    oc.daily_minutes = cfg->callback_daily_minutes;
}

static long long num(const PGresult *res, int c)
{
    return strtoll(PQgetvalue(res, 0, c), NULL, 10);
}

static int gauge(struct buf *b, const char *name, const char *help, long long v)
{
    return buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name, v);
}

static int gauges(struct buf *b, const PGresult *res)
{
    if (gauge(b, "hisaab_postgres_up", "1 when the answering worker reaches Postgres.",
              res != NULL && pg_is_up()) != 0 ||
        gauge(b, "hisaab_redis_up", "1 when the answering worker reaches Redis.", rds_is_up()) !=
            0 ||
        gauge(b, "hisaab_data_max_age_seconds", "max_data_age_hours in seconds.", oc.max_age_s) !=
            0 ||
        gauge(b, "hisaab_journal_queued", "Records the answering worker holds for Postgres.",
              (long long)journal_queued()) != 0 ||
        gauge(b, "hisaab_journal_queue_max", "journal_queue_max of a worker.", oc.queue_max) != 0 ||
        gauge(b, "hisaab_call_minutes_daily_cap", "callback_daily_minutes (0: no cap).",
              oc.daily_minutes) != 0)
        return -1;
    if (res == NULL)
        return 0;
    if (!PQgetisnull(res, 0, 0) &&
        gauge(b, "hisaab_data_age_seconds", "Seconds since the newest successful ETL run.",
              num(res, 0)) != 0)
        return -1;
    if (gauge(b, "hisaab_callbacks_queued", "Callbacks waiting to be dialled.", num(res, 1)) != 0 ||
        gauge(b, "hisaab_callbacks_overdue", "Queued callbacks due more than 5 minutes ago.",
              num(res, 2)) != 0 ||
        buf_printf(b,
                   "# HELP hisaab_voice_callbacks_finished_1h Callbacks ended in the last hour.\n"
                   "# TYPE hisaab_voice_callbacks_finished_1h gauge\n"
                   "hisaab_voice_callbacks_finished_1h{result=\"ok\"} %lld\n"
                   "hisaab_voice_callbacks_finished_1h{result=\"failed\"} %lld\n"
                   "# HELP hisaab_sms_outbox_finished_24h Monthly messages sent or failed in "
                   "the last 24 hours.\n"
                   "# TYPE hisaab_sms_outbox_finished_24h gauge\n"
                   "hisaab_sms_outbox_finished_24h{result=\"sent\"} %lld\n"
                   "hisaab_sms_outbox_finished_24h{result=\"failed\"} %lld\n",
                   num(res, 3), num(res, 4), num(res, 5), num(res, 6)) != 0 ||
        gauge(b, "hisaab_call_minutes_today", "Outbound callback minutes this India day.",
              (num(res, 7) + 59) / 60) != 0)
        return -1;
    return 0;
}

static void gauges_read(void *arg, const PGresult *res, const char *err)
{
    struct http_request *req = arg;
    struct buf out;

    if (res == NULL)
        log_warn("metrics: operations gauges unavailable: %s", err != NULL ? err : "?");
    buf_init(&out, OPS_METRICS_MAX);
    if (metrics_render(&out) != 0 || gauges(&out, res) != 0) {
        log_error("metrics: exposition larger than %zu bytes", out.max);
        http_reply_error(req, 500, "internal", "metrics too large");
    } else {
        http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    }
    buf_free(&out);
}

void api_ops_metrics(struct http_request *req)
{
    if (pg_query(gauges_sql, 0, NULL, gauges_read, req) != 0)
        gauges_read(req, NULL, "postgres not started");
}
