/*
 * The per-worker district directory; see directory.h. A build walks the districts in
 * pages, each page one query that also reads the data version, and installs the result
 * only when every page saw the same version (an ETL run that committed mid-build starts
 * the build again). Strings are copied out of each PGresult into the rows.
 */
#include "data/directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "backend/pg.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/district_sql.h"
#include "data/version.h"
#include "text/grapheme.h"

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define WAITERS_MAX 4096
#define NO_VERSION (-2LL) /* no page answered yet in this build */
#define STR_(x) #x
#define STR(x) STR_(x)

/* clang-format off */

/* One page of the directory: $1/$2 the last (district, state) of the page before, $3 the
 * age in seconds past which figures are stale. */
static const char page_sql[] =
    "SELECT d.state_code, d.district_code, d.name_en, d.name_hi, d.s_en, d.s_hi,"
    " array_to_json(d.aliases || ARRAY[lower(d.name_source)] || COALESCE(rd.aliases, '{}'))::text,"
    " COALESCE(d.lat, rd.lat), COALESCE(d.lon, rd.lon),"
    " " SUMMARY_TEXT("'en'", "$3::bigint") ", " SUMMARY_TEXT("'hi'", "$3::bigint") ","
    " " LOADED ", (SELECT version FROM data_version WHERE id = 1),"
    " d.lgd_district_code, d.state_code"
    " FROM " SUMMARY_ROWS
    " LEFT JOIN ref_districts rd ON rd.lgd_district_code = d.lgd_district_code"
    " WHERE (d.district_code, d.state_code) > ($1::int, $2::int)"
    " ORDER BY d.district_code, d.state_code LIMIT " STR(DIRECTORY_PAGE);

/* Every LGD district no `districts` row stands for (its state's figures are not loaded),
 * in the same columns: negated LGD codes in place of the NREGA ones, no summaries. */
static const char ref_sql[] =
    "SELECT -rd.lgd_state_code, -rd.lgd_district_code, rd.name_en, rd.name_hi, rs.name_en,"
    " rs.name_hi, array_to_json(rd.aliases)::text, rd.lat, rd.lon, NULL::text, NULL::text,"
    " " LOADED ", (SELECT version FROM data_version WHERE id = 1),"
    " rd.lgd_district_code, rs.nrega_state_code"
    " FROM ref_districts rd JOIN ref_states rs USING (lgd_state_code)"
    " WHERE NOT EXISTS (SELECT 1 FROM districts d WHERE d.lgd_district_code = rd.lgd_district_code)"
    " ORDER BY rd.lgd_district_code";

/* One page of PIN codes (sql/008): after ($1, $2). */
static const char pin_sql[] =
    "SELECT pincode, lgd_district_code, share FROM ref_pincodes"
    " WHERE (pincode, lgd_district_code) > ($1::int, $2::int)"
    " ORDER BY pincode, lgd_district_code LIMIT " STR(DIRECTORY_PIN_PAGE);

/* clang-format on */

enum {
    COL_STATE,
    COL_DISTRICT,
    COL_NAME_EN,
    COL_NAME_HI,
    COL_STATE_EN,
    COL_STATE_HI,
    COL_ALIASES,
    COL_LAT,
    COL_LON,
    COL_SUM_EN,
    COL_SUM_HI,
    COL_LOADED,
    COL_VERSION,
    COL_LGD,
    COL_NREGA_STATE,
    COL_N
};

/* A PIN row as read, before its district is resolved to a row. */
struct raw_pin {
    int pin, lgd;
    float share;
};

struct waiter {
    directory_fn fn;
    void *arg;
};

static struct {
    struct event_base *base;
    long long max_age_s;
    struct directory *cur;
    /* the build in progress */
    struct directory *next;
    size_t cap;
    int building;
    int again; /* the version moved during the build: start over when it ends */
    int last_state, last_district;
    int last_pin, last_pin_lgd;
    struct raw_pin *raw;
    size_t nraw, rawcap;
    long long page_version;
    int failures;
    struct event *timer; /* retry after a failure, and the periodic refresh */
    struct {
        directory_fn fn;
        void *arg;
    } listeners[DIRECTORY_LISTENERS];
    size_t nlisteners;
    struct waiter *waiters;
    size_t nwaiters;
    struct event *ready_ev; /* runs the waiters from the loop */
} dir;

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void directory_free(struct directory *d)
{
    size_t i;
    int l;

    if (d == NULL)
        return;
    for (i = 0; i < d->n; i++) {
        for (l = 0; l < I18N_NLANGS; l++) {
            free((char *)d->rows[i].summary[l]);
            if (l == 0 || d->rows[i].name[l] != d->rows[i].name[0])
                free((char *)d->rows[i].name[l]);
            if (l == 0 || d->rows[i].state[l] != d->rows[i].state[0])
                free((char *)d->rows[i].state[l]);
        }
    }
    free(d->rows);
    free(d->pins);
    free(d->by_lgd);
    search_index_free(d->index);
    search_memo_free(d->memo);
    free(d);
}

void directory_state_short(const char *name, char *out, size_t outlen)
{
    size_t n = 0, words = 0;
    const char *p;
    int start = 1;

    if (outlen == 0)
        return;
    for (p = name; *p != '\0'; p++) {
        if (*p == ' ') {
            start = 1;
            continue;
        }
        if (start) {
            words++;
            /* "Jammu And Kashmir" -> "JK", "Dadra & Nagar Haveli" -> "DNH". */
            if (strncasecmp(p, "and ", 4) != 0 && *p != '&' && n + 1 < outlen &&
                ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
                out[n++] = (char)(*p >= 'a' ? *p - 32 : *p);
        }
        start = 0;
    }
    out[n] = '\0';
    if (words < 2 && grapheme_clip(name, 12, out, outlen) != 0)
        out[0] = '\0';
}

static int row_cmp(const void *a, const void *b)
{
    const struct dir_district *x = a, *y = b;

    if (x->district_code != y->district_code)
        return x->district_code < y->district_code ? -1 : 1;
    return x->state_code < y->state_code ? -1 : x->state_code > y->state_code;
}

const struct directory *directory_current(void)
{
    return dir.cur;
}

const struct dir_district *directory_get(const struct directory *d, int state_code,
                                         int district_code)
{
    struct dir_district key;

    if (d == NULL || d->n == 0)
        return NULL;
    key.state_code = state_code;
    key.district_code = district_code;
    return bsearch(&key, d->rows, d->n, sizeof(key), row_cmp);
}

const struct dir_district *directory_find(const struct directory *d, int district_code)
{
    size_t lo = 0, hi;

    if (d == NULL || d->n == 0)
        return NULL;
    /* The first row with this district code (rows are sorted by district, then state). */
    hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (d->rows[mid].district_code < district_code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < d->n && d->rows[lo].district_code == district_code ? &d->rows[lo] : NULL;
}

static const char *col(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

/* Add one result row to the directory being built. Returns 0 or -1 (row skipped). */
static int add_row(struct directory *d, const PGresult *res, int r)
{
    const char *aliases[SEARCH_MAX_ALIASES + 1];
    struct dir_district *row;
    struct search_district sd;
    const char *s;
    json_t *a = NULL;
    size_t k, na = 0;
    int rc = -1, l;

    if (d->n == dir.cap) {
        dir.cap = dir.cap > 0 ? dir.cap * 2 : 1024;
        d->rows = xrealloc(d->rows, dir.cap * sizeof(*d->rows));
    }
    row = &d->rows[d->n];
    memset(row, 0, sizeof(*row));
    row->state_code = (int)strtol(PQgetvalue(res, r, COL_STATE), NULL, 10);       /* int */
    row->district_code = (int)strtol(PQgetvalue(res, r, COL_DISTRICT), NULL, 10); /* int */
    row->has_id = row->district_code > 0;
    if (col(res, r, COL_LGD) != NULL)
        row->lgd_code = (int)strtol(PQgetvalue(res, r, COL_LGD), NULL, 10);
    if (col(res, r, COL_NREGA_STATE) != NULL)
        row->nrega_state = (int)strtol(PQgetvalue(res, r, COL_NREGA_STATE), NULL, 10);
    if (col(res, r, COL_NAME_EN) == NULL || col(res, r, COL_STATE_EN) == NULL)
        goto out;
    row->name[I18N_EN] = xstrdup(PQgetvalue(res, r, COL_NAME_EN));
    row->has_hindi_name = col(res, r, COL_NAME_HI) != NULL && PQgetlength(res, r, COL_NAME_HI) > 0;
    row->name[I18N_HI] =
        row->has_hindi_name ? xstrdup(PQgetvalue(res, r, COL_NAME_HI)) : row->name[I18N_EN];
    row->state[I18N_EN] = xstrdup(PQgetvalue(res, r, COL_STATE_EN));
    s = col(res, r, COL_STATE_HI);
    row->state[I18N_HI] = s != NULL && s[0] != '\0' ? xstrdup(s) : row->state[I18N_EN];
    directory_state_short(row->state[I18N_EN], row->state_short, sizeof(row->state_short));
    if (col(res, r, COL_LAT) != NULL && col(res, r, COL_LON) != NULL) {
        row->lat = strtod(PQgetvalue(res, r, COL_LAT), NULL); /* float8 column */
        row->lon = strtod(PQgetvalue(res, r, COL_LON), NULL);
        row->has_point = 1;
    }
    for (l = 0; l < I18N_NLANGS; l++) {
        int c = l == I18N_EN ? COL_SUM_EN : COL_SUM_HI;

        if (col(res, r, c) == NULL)
            continue;
        row->summary_len[l] = (size_t)PQgetlength(res, r, c);
        row->summary[l] = xstrndup(PQgetvalue(res, r, c), row->summary_len[l]);
    }
    if (row->summary[I18N_EN] != NULL &&
        summary_facts_parse(row->summary[I18N_EN], row->summary_len[I18N_EN], &row->facts) == 0)
        row->has_facts = 1;
    a = col(res, r, COL_ALIASES) != NULL ? json_loads(PQgetvalue(res, r, COL_ALIASES), 0, NULL)
                                         : NULL;
    for (k = 0; json_is_array(a) && k < json_array_size(a) && na < SEARCH_MAX_ALIASES; k++)
        if (json_is_string(json_array_get(a, k)))
            aliases[na++] = json_string_value(json_array_get(a, k));
    aliases[na] = NULL;
    memset(&sd, 0, sizeof(sd));
    sd.state_code = row->state_code;
    sd.district_code = row->district_code;
    sd.name_en = row->name[I18N_EN];
    sd.name_hi = row->has_hindi_name ? row->name[I18N_HI] : NULL;
    sd.state_en = row->state[I18N_EN];
    sd.state_hi = col(res, r, COL_STATE_HI);
    sd.aliases = aliases;
    if (search_index_add(d->index, &sd) != 0)
        log_warn("directory: district %d not indexed for search", row->district_code);
    d->n++;
    rc = 0;
out:
    if (rc != 0) {
        /* Only the English name may have been copied: the rest is still NULL. */
        free((char *)row->name[I18N_EN]);
        memset(row, 0, sizeof(*row));
    }
    json_decref(a);
    return rc;
}

static void arm_timer(long long ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    if (dir.timer != NULL)
        evtimer_add(dir.timer, &tv);
}

static void start_build(void);

static void run_waiters(evutil_socket_t fd, short what, void *arg)
{
    struct waiter *w = dir.waiters;
    size_t i, n = dir.nwaiters;

    (void)fd;
    (void)what;
    (void)arg;
    dir.waiters = NULL;
    dir.nwaiters = 0;
    for (i = 0; i < n; i++)
        w[i].fn(w[i].arg, dir.cur);
    free(w);
}

static void install(struct directory *d)
{
    struct directory *old = dir.cur;
    size_t i, with_data = 0;

    d->built_ms = now_ms();
    dir.cur = d;
    for (i = 0; i < d->n; i++)
        with_data += d->rows[i].summary[I18N_EN] != NULL;
    log_info("directory: %zu districts indexed, %zu with figures, %zu PIN code rows (data "
             "version %lld)",
             d->n, with_data, d->npins, d->version);
    for (i = 0; i < dir.nlisteners; i++)
        dir.listeners[i].fn(dir.listeners[i].arg, d);
    directory_free(old);
    if (dir.nwaiters > 0 && dir.ready_ev != NULL)
        event_active(dir.ready_ev, EV_TIMEOUT, 0);
}

static void build_failed(const char *why)
{
    long long wait = RETRY_MIN_MS << (dir.failures < 5 ? dir.failures : 5);

    if (wait > RETRY_MAX_MS)
        wait = RETRY_MAX_MS;
    dir.failures++;
    log_warn("directory: build failed (%s); retry in %lld ms", why, wait);
    directory_free(dir.next);
    dir.next = NULL;
    free(dir.raw);
    dir.raw = NULL;
    dir.nraw = dir.rawcap = 0;
    dir.building = 0;
    arm_timer(wait);
}

static int query_page(void);
static int query_ref(void);
static int query_pins(void);

/* Add the rows of res (page_sql or ref_sql columns). Returns 0, or -1 when the result is
 * not what was asked. */
static int add_rows(struct directory *d, const PGresult *res)
{
    long long v;
    int r, rows;

    if (PQnfields(res) != COL_N)
        return -1;
    rows = PQntuples(res);
    for (r = 0; r < rows; r++) {
        v = col(res, r, COL_VERSION) != NULL ? strtoll(PQgetvalue(res, r, COL_VERSION), NULL, 10)
                                             : 0;
        if (dir.page_version == NO_VERSION)
            dir.page_version = v;
        else if (v != dir.page_version)
            dir.again = 1; /* an ETL run committed mid-build */
        d->loaded = strcmp(PQgetvalue(res, r, COL_LOADED), "t") == 0;
        dir.last_state = (int)strtol(PQgetvalue(res, r, COL_STATE), NULL, 10);
        dir.last_district = (int)strtol(PQgetvalue(res, r, COL_DISTRICT), NULL, 10);
        if (d->n >= SEARCH_MAX_DISTRICTS || add_row(d, res, r) != 0)
            log_warn("directory: district %d skipped", dir.last_district);
    }
    return 0;
}

static int lgd_cmp(const void *a, const void *b, void *arg)
{
    const struct dir_district *rows = arg;
    int x = rows[*(const unsigned *)a].lgd_code, y = rows[*(const unsigned *)b].lgd_code;

    return (x > y) - (x < y);
}

static int pin_cmp(const void *a, const void *b)
{
    const struct dir_pin *x = a, *y = b;

    if (x->pin != y->pin)
        return (x->pin > y->pin) - (x->pin < y->pin);
    if (x->share != y->share)
        return x->share < y->share ? 1 : -1; /* most post offices first */
    return (x->row > y->row) - (x->row < y->row);
}

/* The row index of LGD district lgd, or -1. */
static long row_of_lgd(const struct directory *d, int lgd)
{
    size_t lo = 0, hi = d->nlgd;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = d->rows[d->by_lgd[mid]].lgd_code;

        if (c == lgd)
            return (long)d->by_lgd[mid];
        if (c < lgd)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Every part is read: order the rows, index them by LGD code, tie the PINs to them. */
static void finish(struct directory *d)
{
    size_t i, k = 0, lost = 0;
    long row;

    qsort(d->rows, d->n, sizeof(*d->rows), row_cmp);
    d->by_lgd = xcalloc(d->n > 0 ? d->n : 1, sizeof(*d->by_lgd));
    for (i = 0; i < d->n; i++)
        if (d->rows[i].lgd_code > 0)
            d->by_lgd[d->nlgd++] = (unsigned)i;
    qsort_r(d->by_lgd, d->nlgd, sizeof(*d->by_lgd), lgd_cmp, d->rows);
    d->pins = xcalloc(dir.nraw > 0 ? dir.nraw : 1, sizeof(*d->pins));
    for (i = 0; i < dir.nraw; i++) {
        row = row_of_lgd(d, dir.raw[i].lgd);
        if (row < 0) {
            lost++;
            continue;
        }
        d->pins[k].pin = dir.raw[i].pin;
        d->pins[k].row = (unsigned)row;
        d->pins[k].share = dir.raw[i].share;
        k++;
    }
    d->npins = k;
    qsort(d->pins, d->npins, sizeof(*d->pins), pin_cmp);
    if (lost > 0)
        log_warn("directory: %zu PIN rows name a district that is not in the reference", lost);
    free(dir.raw);
    dir.raw = NULL;
    dir.nraw = dir.rawcap = 0;
}

static void build_done(void)
{
    struct directory *d = dir.next;

    dir.building = 0;
    dir.failures = 0;
    dir.next = NULL;
    if (dir.again) {
        directory_free(d);
        free(dir.raw);
        dir.raw = NULL;
        dir.nraw = dir.rawcap = 0;
        start_build();
        return;
    }
    finish(d);
    /* Without any row the version is still worth knowing (no districts yet). */
    d->version = dir.page_version != NO_VERSION ? dir.page_version : data_version_current();
    install(d);
    arm_timer((long long)DIRECTORY_REFRESH_S * 1000);
}

static void pins_done(void *arg, const PGresult *res, const char *err)
{
    const char *state = pg_last_sqlstate();
    int r, rows;

    (void)arg;
    if (res == NULL && state != NULL && strcmp(state, "42P01") == 0) {
        /* No PIN table (migration 008 not applied): districts only. */
        log_warn("directory: no PIN codes (ref_pincodes is missing; run hisaab-etl migrate)");
        build_done();
        return;
    }
    if (res == NULL || PQnfields(res) != 3) {
        build_failed(err != NULL ? err : "unexpected result");
        return;
    }
    rows = PQntuples(res);
    if (dir.nraw + (size_t)rows > dir.rawcap) {
        dir.rawcap = dir.nraw + (size_t)rows + 1024;
        dir.raw = xrealloc(dir.raw, dir.rawcap * sizeof(*dir.raw));
    }
    for (r = 0; r < rows; r++) {
        struct raw_pin *p = &dir.raw[dir.nraw++];

        p->pin = (int)strtol(PQgetvalue(res, r, 0), NULL, 10); /* integer columns */
        p->lgd = (int)strtol(PQgetvalue(res, r, 1), NULL, 10);
        p->share = strtof(PQgetvalue(res, r, 2), NULL);
        dir.last_pin = p->pin;
        dir.last_pin_lgd = p->lgd;
    }
    if (rows == DIRECTORY_PIN_PAGE) {
        if (query_pins() != 0)
            build_failed("postgres not started");
        return;
    }
    build_done();
}

static int query_pins(void)
{
    char pin[16], lgd[16];
    const char *params[2] = {pin, lgd};

    snprintf(pin, sizeof(pin), "%d", dir.last_pin);
    snprintf(lgd, sizeof(lgd), "%d", dir.last_pin_lgd);
    return pg_query_read(data_version_current(), pin_sql, 2, params, pins_done, NULL);
}

static void ref_done(void *arg, const PGresult *res, const char *err)
{
    (void)arg;
    if (res == NULL || add_rows(dir.next, res) != 0) {
        build_failed(err != NULL ? err : "unexpected result");
        return;
    }
    dir.last_pin = dir.last_pin_lgd = 0;
    if (query_pins() != 0)
        build_failed("postgres not started");
}

static int query_ref(void)
{
    return pg_query_read(data_version_current(), ref_sql, 0, NULL, ref_done, NULL);
}

static void page_done(void *arg, const PGresult *res, const char *err)
{
    (void)arg;
    if (res == NULL || add_rows(dir.next, res) != 0) {
        build_failed(err != NULL ? err : "unexpected result");
        return;
    }
    if (PQntuples(res) == DIRECTORY_PAGE) {
        if (query_page() != 0)
            build_failed("postgres not started");
        return;
    }
    if (query_ref() != 0)
        build_failed("postgres not started");
}

static int query_page(void)
{
    char last_d[16], last_s[16], age[32];
    const char *params[3] = {last_d, last_s, age};

    snprintf(last_d, sizeof(last_d), "%d", dir.last_district);
    snprintf(last_s, sizeof(last_s), "%d", dir.last_state);
    snprintf(age, sizeof(age), "%lld", dir.max_age_s);
    return pg_query_read(data_version_current(), page_sql, 3, params, page_done, NULL);
}

static void start_build(void)
{
    if (dir.building)
        return;
    dir.next = xcalloc(1, sizeof(*dir.next));
    dir.next->index = search_index_new();
    dir.next->memo = search_memo_new();
    dir.cap = 0;
    dir.again = 0;
    dir.page_version = NO_VERSION;
    dir.last_district = -1;
    dir.last_state = -1;
    dir.building = 1;
    if (query_page() != 0)
        build_failed("postgres not started");
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    start_build();
}

static void on_version(void *arg, long long version, int changed)
{
    (void)arg;
    (void)changed;
    if (dir.building) {
        if (dir.page_version != NO_VERSION && version != dir.page_version)
            dir.again = 1;
        return;
    }
    if (dir.cur == NULL || dir.cur->version != version)
        start_build();
}

int directory_init(struct event_base *base, long long max_age_s)
{
    memset(&dir, 0, sizeof(dir));
    dir.base = base;
    dir.max_age_s = max_age_s > 0 ? max_age_s : 2160LL * 3600;
    dir.timer = evtimer_new(base, on_timer, NULL);
    dir.ready_ev = event_new(base, -1, 0, run_waiters, NULL);
    if (dir.timer == NULL || dir.ready_ev == NULL || data_version_listen(on_version, NULL) != 0) {
        log_error("directory: cannot start");
        directory_exit();
        return -1;
    }
    start_build();
    return 0;
}

void directory_exit(void)
{
    struct waiter *w = dir.waiters;
    size_t i, n = dir.nwaiters;

    dir.waiters = NULL;
    dir.nwaiters = 0;
    for (i = 0; i < n; i++)
        w[i].fn(w[i].arg, NULL);
    free(w);
    if (dir.timer != NULL)
        event_free(dir.timer);
    if (dir.ready_ev != NULL)
        event_free(dir.ready_ev);
    /* A page still in flight is answered with "shutdown" by pg_shutdown() later; its
     * callback must find nothing to build. */
    directory_free(dir.next);
    directory_free(dir.cur);
    free(dir.raw);
    memset(&dir, 0, sizeof(dir));
}

int directory_listen(directory_fn fn, void *arg)
{
    if (fn == NULL || dir.nlisteners >= DIRECTORY_LISTENERS)
        return -1;
    dir.listeners[dir.nlisteners].fn = fn;
    dir.listeners[dir.nlisteners].arg = arg;
    dir.nlisteners++;
    return 0;
}

int directory_when_ready(directory_fn fn, void *arg)
{
    if (fn == NULL || dir.nwaiters >= WAITERS_MAX || dir.ready_ev == NULL)
        return -1;
    dir.waiters = xrealloc(dir.waiters, (dir.nwaiters + 1) * sizeof(*dir.waiters));
    dir.waiters[dir.nwaiters].fn = fn;
    dir.waiters[dir.nwaiters].arg = arg;
    dir.nwaiters++;
    if (dir.cur != NULL)
        event_active(dir.ready_ev, EV_TIMEOUT, 0);
    return 0;
}
