/*
 * Monthly subscription messages; see notify.h. Enqueueing is one query for the
 * subscribers due (keyset-paged) and one insert per message; sending is a loop over the
 * pending rows with one blocking sendsms request each (sendsms_send_blocking(): this runs
 * in the hisaab-etl command, never in a server worker), every row closed by its own
 * one-statement transaction so that what was acknowledged by the gateway is never sent
 * again.
 */
#include "notify.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "text/smsenc.h"

#define PAGE_ROWS 1000
#define TEXT_MAX 2048
#define BACKOFF_CAP_MS 60000L
#define IST_OFFSET_S (5 * 3600 + 30 * 60)

static char templates_path[PATH_MAX];

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

/* A numeric setting from the environment within [min, max]; otherwise def. */
static long env_long(const char *name, long min, long max, long def)
{
    const char *v = env_nonempty(name);
    char *end;
    long n;

    if (v == NULL)
        return def;
    errno = 0;
    n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < min || n > max) {
        log_warn("notify: %s must be %ld..%ld; using %ld", name, min, max, def);
        return def;
    }
    return n;
}

/* ./assets/templates, else ../assets/templates next to the binary (as migrations do). */
static const char *default_templates_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n;
    char *slash;

    if (is_dir("assets/templates"))
        return "assets/templates";
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            if ((size_t)snprintf(templates_path, sizeof(templates_path), "%s/../assets/templates",
                                 exe) < sizeof(templates_path) &&
                is_dir(templates_path))
                return templates_path;
        }
    }
    return "assets/templates";
}

void etl_notify_opts_init(struct etl_notify_opts *o, const struct config *cfg)
{
    memset(o, 0, sizeof(*o));
    o->templates_dir = env_nonempty("HISAAB_TEMPLATES_DIR");
    if (o->templates_dir == NULL)
        o->templates_dir = default_templates_dir();
    sendsms_opts_init(&o->sendsms, cfg);
    o->sendsms.timeout_ms =
        env_long("HISAAB_NOTIFY_TIMEOUT_MS", 100, 120000, o->sendsms.timeout_ms);
    o->max_attempts = (int)env_long("HISAAB_NOTIFY_ATTEMPTS", 1, 20, 3);
    o->backoff_ms = env_long("HISAAB_NOTIFY_BACKOFF_MS", 0, BACKOFF_CAP_MS, 1000);
    o->batch = (int)env_long("HISAAB_NOTIFY_BATCH", 1, 100000, 500);
}

/* ---- time ------------------------------------------------------------------------- */

/* Exactly n decimal digits at s into *v. */
static int digits(const char *s, int n, int *v)
{
    int i, x = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int etl_notify_parse_time(const char *s, time_t *t)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    struct tm tm;
    int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, sign = 0, rc = -1;
    const char *p;
    time_t v;

    if (s == NULL || strlen(s) < 16)
        goto out;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi))
        goto out;
    p = s + 16;
    if (*p == ':') {
        if (digits(p + 1, 2, &sec))
            goto out;
        p += 3;
    }
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
            goto out;
        p += 6;
    }
    if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
        mi > 59 || sec > 60)
        goto out;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    v = timegm(&tm);
    if (v == (time_t)-1)
        goto out;
    *t = v - sign * (oh * 3600 + om * 60);
    rc = 0;
out:
    return rc;
}

int etl_notify_now(time_t *now)
{
    const char *fake = env_nonempty("HISAAB_NOW");

    if (fake == NULL) {
        *now = time(NULL);
        return 0;
    }
    if (etl_notify_parse_time(fake, now) != 0) {
        log_error("notify: HISAAB_NOW '%s' is not a time like 2025-04-10T10:00:00Z", fake);
        return -1;
    }
    return 0;
}

int etl_notify_ist_minutes(time_t t)
{
    long long s = ((long long)t + IST_OFFSET_S) % 86400;

    if (s < 0)
        s += 86400;
    return (int)(s / 60);
}

int etl_notify_in_window(time_t t)
{
    int m = etl_notify_ist_minutes(t);

    return m >= ETL_NOTIFY_WINDOW_START && m < ETL_NOTIFY_WINDOW_END;
}

/* ---- rendering -------------------------------------------------------------------- */

int etl_notify_render(enum i18n_lang lang, const struct etl_notify_figures *f, struct buf *out)
{
    char month[64], families[32], days[32], wage[32];
    const char *vals[5];
    const char *mname = i18n_month_short(lang, f->month);
    int start, rc = -1;

    if (mname == NULL || f->district == NULL || f->fin_year == NULL ||
        sscanf(f->fin_year, "%4d", &start) != 1 || start < 1990 || start > 9000)
        goto out;
    if (f->families < 0 && f->days < 0 && f->wage < 0)
        goto out; /* MONTHLY without any figure is never sent (see en.txt) */
    /* The financial year starts in April: January to March belong to its second year. */
    snprintf(month, sizeof(month), "%s %d", mname, f->month >= 4 ? start : start + 1);
    if ((f->families >= 0 && i18n_group_indian(f->families, families, sizeof(families)) != 0) ||
        (f->days >= 0 && i18n_group_indian(f->days, days, sizeof(days)) != 0) ||
        (f->wage >= 0 && i18n_group_indian(f->wage, wage, sizeof(wage)) != 0))
        goto out;
    vals[0] = f->district;
    vals[1] = month;
    vals[2] = f->families >= 0 ? families : NULL;
    vals[3] = f->days >= 0 ? days : NULL;
    vals[4] = f->wage >= 0 ? wage : NULL;
    if (i18n_render(lang, "MONTHLY", vals, 5, out) != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

/* ---- database helpers ------------------------------------------------------------- */

static int exec_ok(PGconn *db, PGresult *res, const char *what)
{
    ExecStatusType st = PQresultStatus(res);

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 0;
    log_error("notify: %s: %s", what, PQerrorMessage(db));
    return -1;
}

/* 1 if the relation exists, 0 if not, -1 on error. */
static int table_exists(PGconn *db, const char *name)
{
    const char *params[1] = {name};
    PGresult *res;
    int rc = -1;

    res = PQexecParams(db, "SELECT to_regclass($1) IS NOT NULL", 1, NULL, params, NULL, NULL, 0);
    if (exec_ok(db, res, "catalog lookup") == 0 && PQntuples(res) == 1)
        rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return rc;
}

static long long field_ll(PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return -1;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* ---- enqueue ---------------------------------------------------------------------- */

/* Subscribers due, after the keyset ($1, $2), with their district's latest month. */
static const char due_sql[] =
    "WITH latest AS ("
    " SELECT DISTINCT ON (m.state_code, m.district_code) m.state_code, m.district_code,"
    "  m.fin_year, m.month, m.fy_month, m.total_households_worked AS hh,"
    "  round(m.average_days_of_employment_provided_per_household)::bigint AS days,"
    "  round(m.average_wage_rate_per_day_per_person)::bigint AS wage"
    " FROM monthly_figures m"
    " WHERE m.district_code IN (SELECT district_code FROM sms_subscriptions WHERE active)"
    " ORDER BY m.state_code, m.district_code, m.fin_year DESC, m.fy_month DESC)"
    " SELECT s.phone_hash, s.phone, s.district_code, l.state_code, s.lang, l.fin_year, l.month,"
    "  d.name_en, d.name_hi, l.hh, l.days, l.wage"
    " FROM sms_subscriptions s"
    " JOIN latest l ON l.district_code = s.district_code"
    "  AND (s.state_code IS NULL OR l.state_code = s.state_code)"
    " JOIN districts d ON d.state_code = l.state_code AND d.district_code = l.district_code"
    " WHERE s.active AND s.phone_hash IS NOT NULL AND s.phone IS NOT NULL"
    "  AND (s.last_notified_fin_year IS NULL OR s.last_notified_month IS NULL"
    "   OR (l.fin_year, l.fy_month) >"
    "      (s.last_notified_fin_year, (s.last_notified_month + 8) % 12 + 1))"
    "  AND NOT EXISTS (SELECT 1 FROM sms_outbox o WHERE o.phone_hash = s.phone_hash"
    "   AND o.district_code = s.district_code AND o.fin_year = l.fin_year"
    "   AND o.month = l.month)"
    "  AND (s.phone_hash, s.district_code) > ($1, $2::int)"
    " ORDER BY s.phone_hash, s.district_code LIMIT 1000";

/* Cancel an older pending month of the same subscriber, then queue this one. */
static const char queue_sql[] =
    "WITH old AS (UPDATE sms_outbox SET status = 'cancelled',"
    "  last_error = 'superseded by a newer month'"
    " WHERE phone_hash = $1 AND district_code = $3::int AND status = 'pending'"
    "  AND (fin_year, month) <> ($5, $6::smallint))"
    " INSERT INTO sms_outbox (phone_hash, phone, district_code, state_code, fin_year, month,"
    "  lang, text) VALUES ($1, $2, $3::int, $4::int, $5, $6::smallint, $7, $8)"
    " ON CONFLICT DO NOTHING";

/* Render and queue row i of a due page. Returns 1 queued, 0 skipped, -1 error. */
static int queue_row(PGconn *db, PGresult *due, int i, struct buf *text)
{
    struct etl_notify_figures f;
    enum i18n_lang lang = I18N_EN;
    const char *params[8];
    const char *code;
    PGresult *res = NULL;
    int rc = -1;

    code = PQgetvalue(due, i, 4);
    if (i18n_lang_parse(code, &lang) != 0)
        lang = I18N_EN;
    memset(&f, 0, sizeof(f));
    f.district = PQgetvalue(due, i, 7);
    if (lang == I18N_HI && !PQgetisnull(due, i, 8) && *PQgetvalue(due, i, 8))
        f.district = PQgetvalue(due, i, 8);
    f.fin_year = PQgetvalue(due, i, 5);
    f.month = (int)strtol(PQgetvalue(due, i, 6), NULL, 10);
    f.families = field_ll(due, i, 9);
    f.days = field_ll(due, i, 10);
    f.wage = field_ll(due, i, 11);
    buf_reset(text);
    if (etl_notify_render(lang, &f, text) != 0) {
        log_warn("notify: no monthly message for district %s %s month %d (no figures or "
                 "a value the template refuses)",
                 PQgetvalue(due, i, 2), f.fin_year, f.month);
        rc = 0;
        goto out;
    }
    params[0] = PQgetvalue(due, i, 0);
    params[1] = PQgetvalue(due, i, 1);
    params[2] = PQgetvalue(due, i, 2);
    params[3] = PQgetvalue(due, i, 3);
    params[4] = f.fin_year;
    params[5] = PQgetvalue(due, i, 6);
    params[6] = i18n_lang_code(lang);
    params[7] = buf_cstr(text);
    res = PQexecParams(db, queue_sql, 8, NULL, params, NULL, NULL, 0);
    if (exec_ok(db, res, "queue a monthly message") != 0)
        goto out;
    rc = strcmp(PQcmdTuples(res), "1") == 0;
out:
    PQclear(res);
    return rc;
}

int etl_notify_enqueue(PGconn *db, const struct etl_notify_opts *o, long *queued)
{
    char err[512] = "", after_hash[256] = "", after_code[16] = "-1";
    const char *params[2] = {after_hash, after_code};
    struct buf text;
    PGresult *due = NULL;
    long n = 0;
    int i, r, rc = -1;

    buf_init(&text, TEXT_MAX);
    r = table_exists(db, "sms_subscriptions");
    if (r <= 0) {
        if (r == 0) {
            log_debug("notify: no sms_subscriptions table yet; nothing to queue");
            rc = 0;
        }
        goto out;
    }
    if (i18n_count() == 0 && i18n_load(o->templates_dir, err, sizeof(err)) != 0) {
        log_error("notify: templates: %s", err);
        goto out;
    }
    for (;;) {
        due = PQexecParams(db, due_sql, 2, NULL, params, NULL, NULL, 0);
        if (exec_ok(db, due, "find subscribers due") != 0)
            goto out;
        for (i = 0; i < PQntuples(due); i++) {
            r = queue_row(db, due, i, &text);
            if (r < 0)
                goto out;
            n += r;
        }
        if (PQntuples(due) < PAGE_ROWS)
            break;
        i = PQntuples(due) - 1;
        snprintf(after_hash, sizeof(after_hash), "%s", PQgetvalue(due, i, 0));
        snprintf(after_code, sizeof(after_code), "%s", PQgetvalue(due, i, 2));
        PQclear(due);
        due = NULL;
    }
    if (n > 0)
        log_info("notify: %ld monthly message%s queued", n, n == 1 ? "" : "s");
    rc = 0;
out:
    if (queued)
        *queued = n;
    PQclear(due);
    buf_free(&text);
    return rc;
}

/* ---- send ------------------------------------------------------------------------- */

/* One pending row. Strings point into the PGresult. */
struct outmsg {
    const char *id, *phone, *phone_hash, *district_code, *state_code, *fin_year, *month, *lang,
        *text;
    int attempts;
    int active;
};

/*
 * One sendsms request. Returns 0 when the gateway accepted (2xx), 1 on a failure worth
 * stopping the batch for (no answer, 5xx, 429, 401, 403, 404), 2 on a refusal of this
 * message (another status). err receives the reason.
 */
static int send_one(const struct etl_notify_opts *o, const struct outmsg *m,
                    enum smsenc_coding coding, long *latency_ms, char *err, size_t errlen)
{
    enum sendsms_outcome oc =
        sendsms_send_blocking(&o->sendsms, m->phone, m->text, coding, latency_ms, err, errlen);

    return oc == SENDSMS_SENT ? 0 : oc == SENDSMS_GATEWAY_DOWN ? 1 : 2;
}

/* Mark a row sent, move its subscription on and record the message: one statement. */
static const char sent_sql[] =
    "WITH o AS (UPDATE sms_outbox SET status = 'sent', sent_at = now(),"
    "  attempts = attempts + 1, last_error = NULL"
    " WHERE id = $1::bigint AND status = 'pending' RETURNING *),"
    " s AS (UPDATE sms_subscriptions s SET last_notified_fin_year = o.fin_year,"
    "  last_notified_month = o.month FROM o"
    " WHERE s.phone_hash = o.phone_hash AND s.district_code = o.district_code"
    "  AND (s.last_notified_fin_year IS NULL OR s.last_notified_month IS NULL"
    "   OR (s.last_notified_fin_year, (s.last_notified_month + 8) % 12 + 1)"
    "      < (o.fin_year, (o.month + 8) % 12 + 1)))"
    " INSERT INTO sms_messages (direction, gateway, phone_hash, text, district_code,"
    "  state_code, lang, kind, parts, coding, latency_ms)"
    " SELECT 'out', 'kannel', o.phone_hash, o.text, o.district_code, o.state_code, o.lang,"
    "  'monthly', $2::int, $3::int, $4::int FROM o";

static int mark(PGconn *db, const char *sql, int n, const char *const *params, const char *what)
{
    PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    int rc = exec_ok(db, res, what);

    PQclear(res);
    return rc;
}

static int mark_sent(PGconn *db, const struct outmsg *m, const struct smsenc_info *info,
                     long latency_ms)
{
    char parts[16], coding[16], lat[24];
    const char *params[4] = {m->id, parts, coding, lat};

    snprintf(parts, sizeof(parts), "%zu", info->parts);
    snprintf(coding, sizeof(coding), "%d", (int)info->coding);
    snprintf(lat, sizeof(lat), "%ld", latency_ms < INT_MAX ? latency_ms : INT_MAX);
    return mark(db, sent_sql, 4, params, "mark a message sent");
}

static int mark_attempt(PGconn *db, const struct outmsg *m, int failed, const char *err)
{
    const char *params[3] = {m->id, failed ? "failed" : "pending", err};

    return mark(db,
                "UPDATE sms_outbox SET attempts = attempts + 1, status = $2, last_error = $3"
                " WHERE id = $1::bigint AND status = 'pending'",
                3, params, "record a failed attempt");
}

static void sleep_ms(long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Whether row m is still pending: 1 (and m->active refreshed), 0 if not, -1 on error. */
static int still_wanted(PGconn *db, struct outmsg *m)
{
    const char *params[1] = {m->id};
    PGresult *res;
    int rc = -1;

    res = PQexecParams(db,
                       "SELECT coalesce(s.active, false) FROM sms_outbox o"
                       " LEFT JOIN sms_subscriptions s ON s.phone_hash = o.phone_hash"
                       "  AND s.district_code = o.district_code"
                       " WHERE o.id = $1::bigint AND o.status = 'pending'",
                       1, NULL, params, NULL, NULL, 0);
    if (exec_ok(db, res, "re-read a message") == 0) {
        rc = PQntuples(res) == 1;
        if (rc)
            m->active = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    }
    PQclear(res);
    return rc;
}

/*
 * Send one row with its retries. Returns 0 when it ended sent, cancelled or failed for
 * itself, 1 when the batch should stop (gateway down or the window closed), -1 on a
 * database error.
 */
static int deliver(PGconn *db, const struct etl_notify_opts *o, struct outmsg *m,
                   struct etl_notify_result *res)
{
    struct smsenc_info info;
    char err[256];
    long backoff = o->backoff_ms, latency = 0;
    const char *cancel[2] = {m->id, "subscription stopped"};
    time_t now;
    int r;

    /* The batch was read a while ago: a STOP, or a newer month superseding this one, may
     * have come in since. Look again right before sending. */
    r = still_wanted(db, m);
    if (r < 0)
        return -1;
    if (r == 0)
        return 0;
    if (!m->active) {
        if (mark(db,
                 "UPDATE sms_outbox SET status = 'cancelled', last_error = $2"
                 " WHERE id = $1::bigint AND status = 'pending'",
                 2, cancel, "cancel a message") != 0)
            return -1;
        res->cancelled++;
        return 0;
    }
    if (smsenc_analyse(m->text, strlen(m->text), &info) != 0) {
        if (mark_attempt(db, m, 1, "text is not valid UTF-8") != 0)
            return -1;
        res->failed++;
        return 0;
    }
    for (;;) {
        if (etl_notify_now(&now) != 0 || !etl_notify_in_window(now))
            return 1; /* the window closed while we were sending */
        r = send_one(o, m, info.coding, &latency, err, sizeof(err));
        if (r == 0) {
            if (mark_sent(db, m, &info, latency) != 0)
                return -1;
            res->sent++;
            return 0;
        }
        m->attempts++;
        log_warn("notify: message %s (attempt %d of %d) not accepted: %s", m->id, m->attempts,
                 o->max_attempts, err);
        if (mark_attempt(db, m, m->attempts >= o->max_attempts, err) != 0)
            return -1;
        if (m->attempts >= o->max_attempts) {
            res->failed++;
            return r == 1;
        }
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : backoff * 2;
    }
}

static const char pending_sql[] =
    "SELECT o.id, o.phone, o.phone_hash, o.district_code, o.state_code, o.fin_year, o.month,"
    "  o.lang, o.text, o.attempts, coalesce(s.active, false)"
    " FROM sms_outbox o LEFT JOIN sms_subscriptions s"
    "  ON s.phone_hash = o.phone_hash AND s.district_code = o.district_code"
    " WHERE o.status = 'pending' ORDER BY o.id LIMIT $1::int";

/* Count of pending rows into *n. */
static int count_pending(PGconn *db, long *n)
{
    PGresult *res = PQexec(db, "SELECT count(*) FROM sms_outbox WHERE status = 'pending'");
    int rc = -1;

    if (exec_ok(db, res, "count pending messages") == 0 && PQntuples(res) == 1) {
        *n = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        rc = 0;
    }
    PQclear(res);
    return rc;
}

/* Try the sender's lock: 1 taken, 0 held elsewhere, -1 error. */
static int lock_sender(PGconn *db, int unlock)
{
    char sql[96];
    PGresult *res;
    int rc = -1;

    snprintf(sql, sizeof(sql), "SELECT %s(%ld)",
             unlock ? "pg_advisory_unlock" : "pg_try_advisory_lock", ETL_LOCK_NOTIFY);
    res = PQexec(db, sql);
    if (exec_ok(db, res, "sender lock") == 0 && PQntuples(res) == 1)
        rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return rc;
}

int etl_notify_send(PGconn *db, const struct etl_notify_opts *o, struct etl_notify_result *res)
{
    struct etl_notify_result r;
    char batch[16];
    const char *params[1] = {batch};
    PGresult *rows = NULL;
    time_t now;
    int i, locked = 0, rc = -1, x;

    memset(&r, 0, sizeof(r));
    if (etl_notify_now(&now) != 0)
        goto out;
    x = table_exists(db, "sms_subscriptions");
    if (x <= 0) {
        rc = x == 0 ? 0 : -1;
        goto out;
    }
    if (count_pending(db, &r.left) != 0)
        goto out;
    if (r.left == 0) {
        rc = 0;
        goto out;
    }
    if (!etl_notify_in_window(now)) {
        int m = etl_notify_ist_minutes(now);

        r.outside_window = 1;
        log_info("notify: %02d:%02d IST is outside the sending window (09:00-21:00); %ld "
                 "message%s wait",
                 m / 60, m % 60, r.left, r.left == 1 ? "" : "s");
        rc = 0;
        goto out;
    }
    if (o->sendsms.url == NULL || *o->sendsms.url == '\0') {
        log_error("notify: %ld message%s pending but no sendsms URL (KANNEL_SENDSMS_URL or "
                  "kannel_sendsms_url)",
                  r.left, r.left == 1 ? "" : "s");
        goto out;
    }
    x = lock_sender(db, 0);
    if (x <= 0) {
        if (x == 0) {
            log_warn("notify: another sender holds the lock; not sending");
            rc = ETL_NOTIFY_LOCKED;
        }
        goto out;
    }
    locked = 1;
    snprintf(batch, sizeof(batch), "%d", o->batch > 0 ? o->batch : 500);
    rows = PQexecParams(db, pending_sql, 1, NULL, params, NULL, NULL, 0);
    if (exec_ok(db, rows, "read pending messages") != 0)
        goto out;
    for (i = 0; i < PQntuples(rows); i++) {
        struct outmsg m;

        m.id = PQgetvalue(rows, i, 0);
        m.phone = PQgetvalue(rows, i, 1);
        m.phone_hash = PQgetvalue(rows, i, 2);
        m.district_code = PQgetvalue(rows, i, 3);
        m.state_code = PQgetvalue(rows, i, 4);
        m.fin_year = PQgetvalue(rows, i, 5);
        m.month = PQgetvalue(rows, i, 6);
        m.lang = PQgetvalue(rows, i, 7);
        m.text = PQgetvalue(rows, i, 8);
        m.attempts = (int)strtol(PQgetvalue(rows, i, 9), NULL, 10);
        m.active = strcmp(PQgetvalue(rows, i, 10), "t") == 0;
        x = deliver(db, o, &m, &r);
        if (x < 0)
            goto out;
        if (x > 0) {
            log_warn("notify: stopping this batch (gateway unavailable or window closed)");
            break;
        }
    }
    if (count_pending(db, &r.left) != 0)
        goto out;
    log_info("notify: %ld sent, %ld failed, %ld cancelled, %ld still pending", r.sent, r.failed,
             r.cancelled, r.left);
    rc = 0;
out:
    PQclear(rows);
    if (locked && PQstatus(db) == CONNECTION_OK && lock_sender(db, 1) < 0)
        log_warn("notify: could not release the sender lock (released at disconnect)");
    if (res)
        *res = r;
    return rc;
}
