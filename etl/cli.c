/*
 * hisaab-etl: the command that keeps the MGNREGA figures in Postgres current.
 *
 *   hisaab-etl [-c kore.conf] migrate
 *   hisaab-etl [-c kore.conf] run [--source PATH|URL] [--format json|xml|csv]
 *                  [--state NAME] [--fin-year YYYY-YYYY] [--every 6h] [--limit N]
 *   hisaab-etl [-c kore.conf] status
 *   hisaab-etl [-c kore.conf] notify
 *   hisaab-etl [-c kore.conf] maintain
 *
 * With -c, settings come from the `hisaab { }` block of kore.conf (config.h: database_url,
 * redis_url, data_source, data_format, data_api_base, log_level), the environment winning
 * as config_load() applies it. Without -c, from the environment only: DATABASE_URL
 * (required), REDIS_URL, DATA_GOV_API_KEY, DATA_GOV_API_BASE, HISAAB_DATA_SOURCE /
 * HISAAB_DATA_FORMAT (the default source when --source is absent), HISAAB_LOG_LEVEL.
 * HISAAB_ETL_STATES (comma-separated states fetched one at a time from the API) is read in
 * both cases. Exit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 another run
 * holds the lock.
 *
 * `maintain` applies the retention rule (etl/admin.h): journal rows older than
 * journal_retention_months (kore.conf, or env HISAAB_JOURNAL_RETENTION_MONTHS; 12) are
 * deleted, with an audit row. Run it daily (docs/operations.md).
 *
 * `notify` queues and sends the subscribers' monthly SMS (etl/notify.h); `run` does the
 * same after a run that changed data. Kannel's sendsms is reached as the server reaches it
 * (gateway/sendsms.h): kannel_sendsms_url and kannel_sendsms_user from kore.conf with -c,
 * KANNEL_SENDSMS_URL, _USER, _PASSWORD and _FROM from the environment, which wins;
 * HISAAB_NOTIFY_* and HISAAB_TEMPLATES_DIR (default: the templates under assets_dir) from
 * the environment.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/config.h"
#include "admin.h"
#include "fetch.h"
#include "format.h"
#include "migrate.h"
#include "notify.h"
#include "run.h"
#include "core/log.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f, "usage: hisaab-etl [-c kore.conf] migrate\n"
               "       hisaab-etl [-c kore.conf] run [--source PATH|URL] "
               "[--format json|xml|csv] [--state NAME]\n"
               "                      [--fin-year YYYY-YYYY] [--every 30m|6h|1d] [--limit N]\n"
               "       hisaab-etl [-c kore.conf] status\n"
               "       hisaab-etl [-c kore.conf] notify\n"
               "       hisaab-etl [-c kore.conf] maintain\n"
               "environment: DATABASE_URL (required), REDIS_URL, DATA_GOV_API_KEY,\n"
               "             DATA_GOV_API_BASE, HISAAB_DATA_SOURCE, HISAAB_DATA_FORMAT,\n"
               "             HISAAB_ETL_STATES, KANNEL_SENDSMS_URL, KANNEL_SENDSMS_USER,\n"
               "             KANNEL_SENDSMS_PASSWORD, KANNEL_SENDSMS_FROM, HISAAB_TEMPLATES_DIR\n");
}

/* Where the command's settings come from: kore.conf (-c) or the environment. */
struct settings {
    const char *database_url;
    const char *redis_url;
    const char *source;   /* default source when --source is absent */
    const char *format;   /* its format */
    const char *api_base; /* the API when there is no source */
    const char *api_key;
    int retention_months;          /* journal rows older than this go (maintain) */
    struct etl_notify_opts notify; /* monthly SMS to subscribers */
};

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

static int valid_fin_year(const char *s)
{
    struct slice sl = slice_from_cstr(s);

    return strlen(s) == 9 && etl_parse_fin_year(sl) > 0;
}

static int cmd_migrate(const char *dburl)
{
    PGconn *db = etl_connect(dburl);
    int applied = 0, rc = 1;

    if (db == NULL)
        goto out;
    if (etl_migrate(db, &applied) != 0)
        goto out;
    printf("migrations applied: %d\n", applied);
    rc = 0;
out:
    PQfinish(db);
    return rc;
}

static int print_query(PGconn *db, const char *title, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    int i, j, rc = -1;

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "hisaab-etl: %s", PQerrorMessage(db));
        goto out;
    }
    printf("%s\n", title);
    for (j = 0; j < PQnfields(res); j++)
        printf("%s%s", j ? " | " : "  ", PQfname(res, j));
    printf("\n");
    for (i = 0; i < PQntuples(res); i++) {
        for (j = 0; j < PQnfields(res); j++)
            printf("%s%s", j ? " | " : "  ", PQgetisnull(res, i, j) ? "" : PQgetvalue(res, i, j));
        printf("\n");
    }
    rc = 0;
out:
    PQclear(res);
    return rc;
}

static int cmd_status(const char *dburl)
{
    PGconn *db = etl_connect(dburl);
    int rc = 1;

    if (db == NULL)
        goto out;
    if (print_query(db, "data:",
                    "SELECT (SELECT version FROM data_version) AS data_version, "
                    "(SELECT updated_at FROM data_version) AS updated_at, "
                    "(SELECT count(*) FROM states) AS states, "
                    "(SELECT count(*) FROM districts) AS districts, "
                    "(SELECT count(*) FROM monthly_figures) AS monthly_rows, "
                    "(SELECT count(*) FROM data_quality_flags) AS flags, "
                    "(SELECT max(fin_year) FROM monthly_figures) AS latest_year") != 0 ||
        print_query(db, "last runs:",
                    "SELECT id, started_at, finished_at, status, format, records_read AS read, "
                    "records_rejected AS rejected, rows_changed AS changed, "
                    "array_to_string(states_ok, ', ') AS states_ok, "
                    "array_to_string(states_failed, ', ') AS states_failed, data_version, "
                    "source, error FROM etl_runs ORDER BY id DESC LIMIT 10") != 0)
        goto out;
    rc = 0;
out:
    PQfinish(db);
    return rc;
}

/* Parse a positive long option value. */
static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Parse run's options into *o. Returns 0, or -1 after printing what is wrong. */
static int parse_run_args(int argc, char **argv, struct etl_options *o)
{
    enum etl_format fmt;
    const char *opt = NULL, *val = NULL, *want = NULL;
    int i, rc = -1;

    for (i = 0; i < argc; i += 2) {
        opt = argv[i];
        val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL) {
            want = "a value";
            goto out;
        }
        if (strcmp(opt, "--source") == 0) {
            o->source = val;
        } else if (strcmp(opt, "--format") == 0) {
            want = "json, xml or csv";
            if (etl_format_from_name(val, &fmt) != 0)
                goto out;
            o->format = val;
        } else if (strcmp(opt, "--state") == 0) {
            want = "a state name (at most 100 bytes)";
            if (*val == '\0' || strlen(val) > 100)
                goto out;
            o->state = val;
        } else if (strcmp(opt, "--fin-year") == 0) {
            want = "a financial year like 2024-2025";
            if (!valid_fin_year(val))
                goto out;
            o->fin_year = val;
        } else if (strcmp(opt, "--every") == 0) {
            want = "an interval like 30m, 6h or 1d (at most 30d)";
            if (etl_parse_interval(val, &o->every_s) != 0)
                goto out;
        } else if (strcmp(opt, "--limit") == 0) {
            want = "a page size 1..100000";
            if (parse_long(val, 1, 100000, &o->limit) != 0)
                goto out;
        } else {
            want = NULL;
            goto out;
        }
    }
    rc = 0;
out:
    if (rc != 0 && want == NULL) {
        fprintf(stderr, "hisaab-etl run: unknown option '%s'\n", opt);
        usage(stderr);
    } else if (rc != 0) {
        fprintf(stderr, "hisaab-etl run: %s takes %s%s%s%s\n", opt, want, val ? ", not '" : "",
                val ? val : "", val ? "'" : "");
    }
    return rc;
}

/* Queue and send the monthly messages now. */
static int cmd_notify(const struct settings *st)
{
    struct etl_notify_result res;
    PGconn *db = NULL;
    long queued = 0;
    int rc = 1, r;

    if (st->notify.sendsms.url == NULL) {
        fprintf(stderr, "hisaab-etl: no sendsms URL: set KANNEL_SENDSMS_URL or "
                        "kannel_sendsms_url in the hisaab block\n");
        rc = EXIT_USAGE;
        goto out;
    }
    db = etl_connect(st->database_url);
    if (db == NULL)
        goto out;
    PQclear(PQexec(db, "SET client_min_messages = warning"));
    PQclear(PQexec(db, "SET statement_timeout = '60s'"));
    if (etl_migrate(db, NULL) != 0 || etl_notify_enqueue(db, &st->notify, &queued) != 0)
        goto out;
    r = etl_notify_send(db, &st->notify, &res);
    if (r == ETL_NOTIFY_LOCKED) {
        fprintf(stderr, "hisaab-etl: another sender is running (lock held); try later\n");
        rc = 3;
        goto out;
    }
    if (r != 0)
        goto out;
    printf("queued: %ld, sent: %ld, failed: %ld, cancelled: %ld, pending: %ld%s\n", queued,
           res.sent, res.failed, res.cancelled, res.left,
           res.outside_window ? " (outside 09:00-21:00 IST)" : "");
    rc = 0;
out:
    PQfinish(db);
    return rc;
}

/* The retention rule, audited as the ETL. */
static int cmd_maintain(const struct settings *st)
{
    struct etl_actor who = {"etl", "operator", "etl"};
    struct etl_admin_counts c;
    PGconn *db = etl_connect(st->database_url);
    int rc = 1;

    if (db == NULL)
        goto out;
    PQclear(PQexec(db, "SET statement_timeout = '600s'"));
    if (etl_migrate(db, NULL) != 0 || etl_admin_retention(db, st->retention_months, &who, &c) != 0)
        goto out;
    printf("journal retention %d months: %ld rows deleted\n", st->retention_months, c.total);
    rc = 0;
out:
    PQfinish(db);
    return rc;
}

static int cmd_run(int argc, char **argv, const struct settings *st)
{
    struct etl_actor who;
    char actor[64];
    struct etl_options o;
    enum etl_format fmt;
    int rc = EXIT_USAGE, r;

    memset(&o, 0, sizeof(o));
    o.database_url = st->database_url;
    o.redis_url = st->redis_url;
    o.api_key = st->api_key;
    o.notify = &st->notify;
    o.states = env_nonempty("HISAAB_ETL_STATES");
    if (parse_run_args(argc, argv, &o) != 0)
        goto out;
    if (o.source == NULL) {
        o.source = st->source;
        if (o.format == NULL)
            o.format = st->format;
        if (o.format != NULL && etl_format_from_name(o.format, &fmt) != 0) {
            fprintf(stderr, "hisaab-etl: the data format must be json, xml or csv\n");
            goto out;
        }
    }
    if (o.source == NULL) /* The API itself. */
        o.source = st->api_base ? st->api_base : ETL_DEFAULT_API_BASE;
    etl_actor_cli(&who, "operator", actor, sizeof(actor));
    etl_admin_audit_url(st->database_url, &who, "etl.run", o.source, "started");
    r = etl_run(&o);
    etl_admin_audit_url(st->database_url, &who, "etl.run", o.source,
                        r == ETL_RUN_LOCKED ? "locked"
                        : r == 0            ? "ok"
                                            : "failed");
    if (r == ETL_RUN_LOCKED)
        fprintf(stderr, "hisaab-etl: another run is in progress (lock held); try later\n");
    rc = r == ETL_RUN_LOCKED ? 3 : r == 0 ? 0 : 1;
out:
    return rc;
}

int main(int argc, char **argv)
{
    struct config *cfg = NULL;
    struct settings st;
    const char *conf = NULL, *cmd;
    char err[512], templates[4096];
    long months;
    int rc = EXIT_USAGE;

    log_init("hisaab-etl", log_level_parse(getenv("HISAAB_LOG_LEVEL")));
    memset(&st, 0, sizeof(st));
    argv++;
    argc--;
    if (argc >= 1 && (strcmp(argv[0], "-c") == 0 || strcmp(argv[0], "--config") == 0)) {
        if (argc < 2) {
            fprintf(stderr, "hisaab-etl: %s needs a file\n", argv[0]);
            goto out;
        }
        conf = argv[1];
        argv += 2;
        argc -= 2;
    }
    if (argc < 1) {
        usage(stderr);
        goto out;
    }
    cmd = argv[0];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        rc = 0;
        goto out;
    }
    if (strcmp(cmd, "migrate") != 0 && strcmp(cmd, "run") != 0 && strcmp(cmd, "status") != 0 &&
        strcmp(cmd, "notify") != 0 && strcmp(cmd, "maintain") != 0) {
        fprintf(stderr, "hisaab-etl: unknown command '%s'\n", cmd);
        usage(stderr);
        goto out;
    }
    if (strcmp(cmd, "run") != 0 && argc > 1) {
        fprintf(stderr, "hisaab-etl %s: takes no arguments\n", cmd);
        goto out;
    }
    if (conf != NULL) {
        if (config_load(conf, &cfg, err, sizeof(err)) != 0) {
            fprintf(stderr, "hisaab-etl: %s\n", err);
            goto out;
        }
        if (getenv("HISAAB_LOG_LEVEL") == NULL && cfg->log_level)
            log_init("hisaab-etl", log_level_parse(cfg->log_level));
        st.database_url = cfg->database_url;
        st.redis_url = cfg->redis_url;
        st.source = cfg->data_source;
        st.format = cfg->data_format;
        st.api_base = cfg->data_api_base;
        st.api_key = cfg->data_api_key;
        st.retention_months = cfg->journal_retention_months;
        etl_notify_opts_init(&st.notify, cfg);
        if (getenv("HISAAB_TEMPLATES_DIR") == NULL && cfg->assets_dir &&
            (size_t)snprintf(templates, sizeof(templates), "%s/templates", cfg->assets_dir) <
                sizeof(templates))
            st.notify.templates_dir = templates;
    } else {
        st.database_url = env_nonempty("DATABASE_URL");
        st.redis_url = env_nonempty("REDIS_URL");
        st.source = env_nonempty("HISAAB_DATA_SOURCE");
        st.format = env_nonempty("HISAAB_DATA_FORMAT");
        st.api_base = env_nonempty("DATA_GOV_API_BASE");
        st.api_key = env_nonempty("DATA_GOV_API_KEY");
        if (env_nonempty("HISAAB_JOURNAL_RETENTION_MONTHS") == NULL ||
            parse_long(getenv("HISAAB_JOURNAL_RETENTION_MONTHS"), 1, 120, &months) != 0)
            months = 12;
        st.retention_months = (int)months;
        etl_notify_opts_init(&st.notify, NULL);
    }
    if (st.database_url == NULL || *st.database_url == '\0') {
        fprintf(stderr, "hisaab-etl: no database: set DATABASE_URL%s\n",
                conf ? " or database_url in the hisaab block" : " (or use -c kore.conf)");
        goto out;
    }
    if (strcmp(cmd, "migrate") == 0)
        rc = cmd_migrate(st.database_url);
    else if (strcmp(cmd, "status") == 0)
        rc = cmd_status(st.database_url);
    else if (strcmp(cmd, "notify") == 0)
        rc = cmd_notify(&st);
    else if (strcmp(cmd, "maintain") == 0)
        rc = cmd_maintain(&st);
    else
        rc = cmd_run(argc - 1, argv + 1, &st);
out:
    config_free(cfg);
    return rc;
}
