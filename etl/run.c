/*
 * The ETL run; see run.h. A file source is read whole (mmap), parsed and reduced to the
 * most complete snapshot per district-month in memory, then loaded state by state. An
 * API source is fetched one state at a time; a state whose pages cannot all be fetched
 * is marked failed and not loaded, so the last good data for it stays, while the other
 * states go on.
 */
#include "run.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "fetch.h"
#include "format.h"
#include "load.h"
#include "core/log.h"
#include "core/mem.h"
#include "migrate.h"
#include "record.h"

#define NAMES_MAX (64 * 1024)
#define NAME_SEP "\x1f"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Everything one run counts and collects. */
struct run_ctx {
    PGconn *db;
    long long run_id;
    enum etl_format fmt;
    struct etl_batch *batch; /* where records go now */
    long recno;              /* records read so far (1-based numbering) */
    long rejected;
    long long rows_changed;
    struct buf ok;     /* state names, NAME_SEP-separated */
    struct buf failed; /* same */
    int nok, nfailed;
    char error[512];
};

PGconn *etl_connect(const char *database_url)
{
    const char *keys[] = {"connect_timeout", "dbname", NULL};
    const char *vals[] = {"10", database_url, NULL};
    PGconn *db;

    db = PQconnectdbParams(keys, vals, 1);
    if (db == NULL || PQstatus(db) != CONNECTION_OK) {
        char msg[512];
        size_t n;

        snprintf(msg, sizeof(msg), "%s", db ? PQerrorMessage(db) : "out of memory");
        n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            msg[--n] = '\0';
        log_error("cannot connect to the database: %s", msg);
        PQfinish(db);
        return NULL;
    }
    return db;
}

int etl_parse_interval(const char *s, long *seconds)
{
    char *end;
    long v, mul = 0;
    int rc = -1;

    if (s == NULL || !isdigit((unsigned char)*s))
        goto out;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || v <= 0)
        goto out;
    if (end[0] == '\0')
        mul = 1;
    else if (end[1] == '\0')
        mul = end[0] == 's'   ? 1
              : end[0] == 'm' ? 60
              : end[0] == 'h' ? 3600
              : end[0] == 'd' ? 86400
                              : 0;
    if (mul == 0 || v > 30L * 86400 / mul)
        goto out;
    *seconds = v * mul;
    rc = 0;
out:
    return rc;
}

static void add_name(struct buf *b, int *count, const char *name)
{
    /* A name is listed once. */
    const char *p = buf_cstr(b);
    size_t n = strlen(name);

    while (*p) {
        size_t len = strcspn(p, NAME_SEP);

        if (len == n && strncmp(p, name, n) == 0)
            return;
        p += len;
        if (*p)
            p++;
    }
    if ((b->len && buf_puts(b, NAME_SEP) != 0) || buf_puts(b, name) != 0)
        log_warn("run: too many state names to record");
    (*count)++;
}

static int on_record(void *arg, const struct etl_raw_record *raw)
{
    struct run_ctx *c = arg;
    struct etl_row row;
    const char *why = NULL;

    c->recno++;
    if (etl_clean_record(raw, &row, &why) != 0) {
        c->rejected++;
        if (c->rejected <= 10)
            log_warn("run: record %ld rejected: %s", c->recno, why ? why : "invalid");
        return 0;
    }
    etl_batch_add(c->batch, &row, c->recno);
    return 0;
}

/* API page callback: parse into a page batch; keep it only if the whole page parsed. */
struct page_ctx {
    struct run_ctx *run;
    struct etl_batch *page;
    struct etl_batch *state;
};

static int on_page(void *arg, const char *data, size_t len, struct etl_page_info *info, char *err,
                   size_t errlen)
{
    struct page_ctx *p = arg;
    long recno = p->run->recno, rejected = p->run->rejected;

    p->run->batch = p->page;
    if (etl_parse(p->run->fmt, data, len, on_record, p->run, info, err, errlen) != 0 ||
        (info->count >= 0 && info->count != info->records &&
         snprintf(err, errlen, "envelope count %lld but %lld records", info->count, info->records) >
             0)) {
        p->run->recno = recno;
        p->run->rejected = rejected;
        etl_batch_clear(p->page);
        return -1;
    }
    etl_batch_merge(p->state, p->page);
    return 0;
}

static void note_error(struct run_ctx *c, const char *msg)
{
    if (c->error[0] == '\0')
        snprintf(c->error, sizeof(c->error), "%s", msg);
}

/* Load a batch and record each state's outcome. */
static void load_batch(struct run_ctx *c, struct etl_batch *b)
{
    struct etl_load_result res = {NULL, 0, 0};
    char err[512] = "";
    size_t i;

    if (etl_load_batch(c->db, c->run_id, b, &res, err, sizeof(err)) != 0)
        note_error(c, err);
    for (i = 0; i < res.nstates; i++) {
        if (res.states[i].ok)
            add_name(&c->ok, &c->nok, res.states[i].name);
        else
            add_name(&c->failed, &c->nfailed, res.states[i].name);
    }
    c->rows_changed += res.rows_changed;
    etl_load_result_free(&res);
}

static int format_for(const struct etl_options *o, int is_url, enum etl_format *fmt)
{
    const char *dot;
    int rc = -1;

    if (o->format != NULL) {
        if (etl_format_from_name(o->format, fmt) != 0) {
            log_error("run: unknown format '%s' (json, xml or csv)", o->format);
            goto out;
        }
    } else if (is_url) {
        *fmt = ETL_FORMAT_JSON;
    } else {
        dot = strrchr(o->source, '.');
        if (dot == NULL || strchr(dot, '/') != NULL || etl_format_from_name(dot + 1, fmt) != 0) {
            log_error("run: cannot tell the format of %s from its name; use --format", o->source);
            goto out;
        }
    }
    rc = 0;
out:
    return rc;
}

static int run_file(struct run_ctx *c, const char *path)
{
    struct stat st;
    void *map = MAP_FAILED;
    char err[256] = "";
    struct etl_page_info info;
    int fd, rc = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(c->error, sizeof(c->error), "cannot read %s: %s", path,
                 fd < 0 ? strerror(errno) : "not a regular file");
        goto out;
    }
    if (st.st_size > 0) {
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            snprintf(c->error, sizeof(c->error), "cannot map %s: %s", path, strerror(errno));
            goto out;
        }
        (void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    }
    c->batch = etl_batch_new();
    if (etl_parse(c->fmt, map == MAP_FAILED ? "" : map, (size_t)st.st_size, on_record, c, &info,
                  err, sizeof(err)) != 0) {
        /* A file is all or nothing: a malformed one loads nothing. */
        snprintf(c->error, sizeof(c->error), "%s: %s", path, err);
        goto out;
    }
    log_info("run: %s: %ld records, %ld rejected, %zu district-months", path, c->recno, c->rejected,
             etl_batch_count(c->batch));
    load_batch(c, c->batch);
    rc = 0;
out:
    if (map != MAP_FAILED)
        munmap(map, (size_t)st.st_size);
    if (fd >= 0)
        close(fd);
    etl_batch_free(c->batch);
    c->batch = NULL;
    return rc;
}

/* Fetch and load one API query (one state, or all when state is NULL). */
static void run_api_state(struct run_ctx *c, const struct etl_fetch_opts *fo, const char *state,
                          const char *fin_year)
{
    struct page_ctx p;
    char err[512] = "";
    long pages = 0, requests = 0;

    p.run = c;
    p.page = etl_batch_new();
    p.state = etl_batch_new();
    if (etl_fetch_all(c->db, c->run_id, fo, state, fin_year, on_page, &p, &pages, &requests, err,
                      sizeof(err)) != 0) {
        log_error("run: state %s not loaded (last good data kept): %s", state ? state : "(all)",
                  err);
        note_error(c, err);
        add_name(&c->failed, &c->nfailed, state ? state : "(all)");
        goto out;
    }
    if (etl_batch_count(p.state) == 0) {
        log_warn("run: no records for state %s", state ? state : "(all)");
        add_name(&c->ok, &c->nok, state ? state : "(all)");
        goto out;
    }
    load_batch(c, p.state);
out:
    etl_batch_free(p.page);
    etl_batch_free(p.state);
}

static void run_api(struct run_ctx *c, const struct etl_options *o)
{
    struct etl_fetch_opts fo;
    char *list = NULL, *save = NULL, *tok;

    etl_fetch_opts_init(&fo);
    if (o->source)
        fo.base = o->source;
    if (o->api_key)
        fo.api_key = o->api_key;
    if (o->limit > 0)
        fo.limit = o->limit;
    fo.format = c->fmt;
    if (fo.api_key == NULL || *fo.api_key == '\0')
        log_warn("run: DATA_GOV_API_KEY is not set; data.gov.in will refuse the requests");
    if (o->state && *o->state) {
        run_api_state(c, &fo, o->state, o->fin_year);
        return;
    }
    if (o->states == NULL || *o->states == '\0') {
        run_api_state(c, &fo, NULL, o->fin_year);
        return;
    }
    list = xstrdup(o->states);
    for (tok = strtok_r(list, ",", &save); tok && !stop_requested;
         tok = strtok_r(NULL, ",", &save)) {
        struct slice s = slice_trim(slice_from_cstr(tok));
        char *name = slice_dup(s);

        if (*name)
            run_api_state(c, &fo, name, o->fin_year);
        free(name);
    }
    free(list);
}

static int exec_simple(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_error("run: %s", PQerrorMessage(db));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Try the run lock: 1 taken, 0 held by another session, -1 error. */
static int try_lock(PGconn *db)
{
    char sql[96];
    PGresult *res;
    int rc = -1;

    snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_lock(%ld)", ETL_LOCK_RUN);
    res = PQexec(db, sql);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        rc = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    else
        log_error("run: %s", PQerrorMessage(db));
    PQclear(res);
    return rc;
}

static long long start_run_row(PGconn *db, const char *source, const char *format)
{
    const char *params[2] = {source, format};
    PGresult *res;
    long long id = -1;

    res = PQexecParams(db, "INSERT INTO etl_runs (source, format) VALUES ($1, $2) RETURNING id", 2,
                       NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    else
        log_error("run: cannot create the run row: %s", PQerrorMessage(db));
    PQclear(res);
    return id;
}

static int finish_run_row(struct run_ctx *c, const char *status)
{
    char id[24], read[24], rej[24], changed[24];
    const char *params[8];
    PGresult *res;
    int rc = 0;

    snprintf(id, sizeof(id), "%lld", c->run_id);
    snprintf(read, sizeof(read), "%ld", c->recno);
    snprintf(rej, sizeof(rej), "%ld", c->rejected);
    snprintf(changed, sizeof(changed), "%lld", c->rows_changed);
    params[0] = id;
    params[1] = status;
    params[2] = read;
    params[3] = rej;
    params[4] = changed;
    params[5] = buf_cstr(&c->ok);
    params[6] = buf_cstr(&c->failed);
    params[7] = c->error[0] ? c->error : NULL;
    res = PQexecParams(c->db,
                       "UPDATE etl_runs SET finished_at = now(), status = $2, records_read = $3, "
                       "records_rejected = $4, rows_changed = $5, "
                       "states_ok = string_to_array($6, E'\\x1f'), "
                       "states_failed = string_to_array($7, E'\\x1f'), error = $8 WHERE id = $1",
                       8, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        log_error("run: cannot close the run row: %s", PQerrorMessage(c->db));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/*
 * After the run lock is released (sending may take a while and has its own lock): queue
 * the monthly messages of a new month and send what the window allows. A failure here is
 * logged and does not change the run's outcome; the next run or `hisaab-etl notify`
 * picks up what is left.
 */
static void notify_after_run(PGconn *db, const struct etl_notify_opts *n)
{
    long queued = 0;

    if (etl_notify_enqueue(db, n, &queued) != 0 || etl_notify_send(db, n, NULL) == -1)
        log_warn("run: monthly messages not all done; `hisaab-etl notify` resumes them");
}

/* One run. Returns 0 ok, -1 failed or partial, ETL_RUN_LOCKED. */
static int run_once(const struct etl_options *o)
{
    struct run_ctx c;
    struct etl_fetch_opts fo;
    char *source = NULL, err[512] = "";
    const char *status;
    long long version = -1;
    int is_url, locked = 0, rc = -1, r;

    memset(&c, 0, sizeof(c));
    buf_init(&c.ok, NAMES_MAX);
    buf_init(&c.failed, NAMES_MAX);
    is_url = o->source == NULL || strncasecmp(o->source, "http://", 7) == 0 ||
             strncasecmp(o->source, "https://", 8) == 0;
    if (format_for(o, is_url, &c.fmt) != 0)
        goto out;
    c.db = etl_connect(o->database_url);
    if (c.db == NULL)
        goto out;
    if (exec_simple(c.db, "SET client_min_messages = warning") != 0 ||
        exec_simple(c.db, "SET statement_timeout = '10min'") != 0)
        goto out;
    r = try_lock(c.db);
    if (r < 0)
        goto out;
    if (r == 0) {
        log_error("run: another hisaab-etl run holds the lock; not starting");
        rc = ETL_RUN_LOCKED;
        goto out;
    }
    locked = 1;
    if (etl_migrate(c.db, NULL) != 0) {
        log_error("run: migrations failed; not loading");
        goto out;
    }
    /* We hold the run lock, so a row still 'running' is from a run that died. */
    if (exec_simple(c.db, "UPDATE etl_runs SET status = 'failed', finished_at = now(), "
                          "error = 'interrupted: the process ended before finishing' "
                          "WHERE status = 'running'") != 0)
        goto out;
    if (is_url) {
        etl_fetch_opts_init(&fo);
        if (o->source)
            fo.base = o->source;
        fo.format = c.fmt;
        if (o->limit > 0)
            fo.limit = o->limit;
        source = etl_fetch_public_url(&fo, o->state, o->fin_year);
    } else {
        source = xstrdup(o->source);
    }
    c.run_id = start_run_row(c.db, source, etl_format_name(c.fmt));
    if (c.run_id < 0)
        goto out;
    log_info("run %lld: %s (%s)", c.run_id, source, etl_format_name(c.fmt));
    if (etl_load_prepare(c.db, err, sizeof(err)) != 0) {
        note_error(&c, err);
    } else if (is_url) {
        run_api(&c, o);
    } else if (run_file(&c, o->source) != 0) {
        c.nfailed++;
    }
    if (c.nok > 0 &&
        etl_load_finish(c.db, c.run_id, o->redis_url, &version, err, sizeof(err)) != 0) {
        note_error(&c, err);
        c.nfailed++;
    }
    if (c.nfailed == 0 && c.error[0] == '\0')
        status = "ok";
    else if (c.nok > 0)
        status = "partial";
    else
        status = "failed";
    if (finish_run_row(&c, status) != 0)
        goto out;
    log_msg(strcmp(status, "ok") == 0 ? LOG_INFO : LOG_ERROR,
            "run %lld %s: %ld records read, %ld rejected, %lld rows changed, %d states ok, "
            "%d failed%s%s",
            c.run_id, status, c.recno, c.rejected, c.rows_changed, c.nok, c.nfailed,
            c.error[0] ? ": " : "", c.error);
    rc = strcmp(status, "ok") == 0 ? 0 : -1;
out:
    if (c.db != NULL && c.run_id > 0 && rc == -1 && PQstatus(c.db) == CONNECTION_OK) {
        /* Close a row left open by an early error. */
        PGresult *res;
        char id[24];
        const char *params[2] = {id, c.error[0] ? c.error : "run aborted"};

        snprintf(id, sizeof(id), "%lld", c.run_id);
        res = PQexecParams(c.db,
                           "UPDATE etl_runs SET status = 'failed', finished_at = now(), "
                           "error = $2 WHERE id = $1 AND status = 'running'",
                           2, NULL, params, NULL, NULL, 0);
        PQclear(res);
    }
    if (locked) {
        char sql[96];

        snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%ld)", ETL_LOCK_RUN);
        (void)exec_simple(c.db, sql);
    }
    if (locked && o->notify != NULL && rc != ETL_RUN_LOCKED && PQstatus(c.db) == CONNECTION_OK &&
        (c.rows_changed > 0 || o->every_s > 0))
        notify_after_run(c.db, o->notify);
    PQfinish(c.db);
    free(source);
    buf_free(&c.ok);
    buf_free(&c.failed);
    return rc;
}

int etl_run(const struct etl_options *o)
{
    struct sigaction sa;
    int rc;

    if (o->every_s <= 0)
        return run_once(o);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    log_info("run: every %ld s until stopped", o->every_s);
    for (;;) {
        long slept;

        rc = run_once(o);
        if (rc != 0)
            log_warn("run: this run did not finish ok; next one in %ld s", o->every_s);
        for (slept = 0; slept < o->every_s && !stop_requested; slept++)
            sleep(1);
        if (stop_requested)
            break;
    }
    log_info("run: stopped by signal");
    return rc;
}
