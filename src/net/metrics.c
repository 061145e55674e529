/*
 * Prometheus counters in shared memory; see metrics.h. Every update is a relaxed atomic
 * add on a cache line the workers share, so counting costs a few nanoseconds and never
 * takes a lock. Readers may see a histogram bucket and its _count a moment apart, which
 * Prometheus tolerates.
 */
#include "net/metrics.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "net/http.h"
#include "core/log.h"

/* The exact statuses we count; anything else lands in "other". */
static const int status_codes[] = {200, 201, 202, 204, 301, 302, 304, 400, 401, 403,
                                   404, 405, 408, 413, 429, 500, 502, 503, 504};
#define NSTATUS (sizeof(status_codes) / sizeof(status_codes[0]))
#define STATUS_OTHER NSTATUS

/* Latency bucket upper bounds in microseconds (0.5 ms .. 1 s), then +Inf. */
static const uint64_t bucket_us[] = {500,   1000,   2500,   5000,   10000,  25000,
                                     50000, 100000, 250000, 500000, 1000000};
static const char *const bucket_le[] = {"0.5", "1",   "2.5", "5",   "10",  "25",
                                        "50",  "100", "250", "500", "1000"};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

struct metrics_block {
    char routes[METRICS_MAX_ROUTES][METRICS_ROUTE_LEN];
    int nroutes;
    _Atomic uint64_t requests[METRICS_MAX_ROUTES][NSTATUS + 1];
    _Atomic uint64_t buckets[NBUCKETS + 1]; /* per bucket, not cumulative; last is +Inf */
    _Atomic uint64_t latency_sum_us;
    _Atomic uint64_t cache_hits;
    _Atomic uint64_t cache_misses;
    _Atomic int64_t etl_last_run;
    _Atomic int64_t etl_last_ok;
    _Atomic uint64_t etl_rows;
    _Atomic uint64_t etl_failures;
    _Atomic uint64_t worker_restarts;
    _Atomic uint64_t journal_written;
    _Atomic uint64_t journal_spooled;
    _Atomic uint64_t journal_rejected;
    _Atomic uint64_t journal_refused;
};

static struct metrics_block local_block = {.routes = {"-"}, .nroutes = 1, .etl_last_ok = -1};
static struct metrics_block *mb = &local_block;

int metrics_init(void)
{
    struct metrics_block *m;
    int rc = -1;

    m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        log_error("metrics: mmap failed: %m");
        goto out;
    }
    /* The mapping is zero-filled; carry over labels registered so far. */
    memcpy(m->routes, mb->routes, sizeof(m->routes));
    m->nroutes = mb->nroutes;
    atomic_store(&m->etl_last_ok, -1);
    if (mb != &local_block)
        munmap(mb, sizeof(*mb));
    mb = m;
    rc = 0;
out:
    return rc;
}

int metrics_route_register(const char *pattern)
{
    int i;

    if (pattern == NULL)
        return 0;
    for (i = 1; i < mb->nroutes; i++)
        if (strncmp(mb->routes[i], pattern, METRICS_ROUTE_LEN) == 0)
            return i;
    if (mb->nroutes >= METRICS_MAX_ROUTES || strlen(pattern) >= METRICS_ROUTE_LEN)
        return 0;
    /* Length checked just above. */
    memcpy(mb->routes[mb->nroutes], pattern, strlen(pattern) + 1);
    return mb->nroutes++;
}

static size_t status_index(int status)
{
    size_t i;

    for (i = 0; i < NSTATUS; i++)
        if (status_codes[i] == status)
            return i;
    return STATUS_OTHER;
}

void metrics_request(int slot, int status, uint64_t usec)
{
    size_t b;

    if (slot < 0 || slot >= METRICS_MAX_ROUTES)
        slot = 0;
    atomic_fetch_add_explicit(&mb->requests[slot][status_index(status)], 1, memory_order_relaxed);
    for (b = 0; b < NBUCKETS; b++)
        if (usec <= bucket_us[b])
            break;
    atomic_fetch_add_explicit(&mb->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&mb->latency_sum_us, usec, memory_order_relaxed);
}

void metrics_cache_hit(void)
{
    atomic_fetch_add_explicit(&mb->cache_hits, 1, memory_order_relaxed);
}

void metrics_cache_miss(void)
{
    atomic_fetch_add_explicit(&mb->cache_misses, 1, memory_order_relaxed);
}

void metrics_set_etl(int64_t last_run_unix, int last_status_ok, uint64_t rows_loaded_total,
                     uint64_t failures_total)
{
    atomic_store(&mb->etl_last_run, last_run_unix);
    atomic_store(&mb->etl_last_ok, last_status_ok ? 1 : 0);
    atomic_store(&mb->etl_rows, rows_loaded_total);
    atomic_store(&mb->etl_failures, failures_total);
}

void metrics_journal_written(uint64_t n)
{
    atomic_fetch_add_explicit(&mb->journal_written, n, memory_order_relaxed);
}

void metrics_journal_spooled(uint64_t n)
{
    atomic_fetch_add_explicit(&mb->journal_spooled, n, memory_order_relaxed);
}

void metrics_journal_rejected(uint64_t n)
{
    atomic_fetch_add_explicit(&mb->journal_rejected, n, memory_order_relaxed);
}

void metrics_journal_refused(void)
{
    atomic_fetch_add_explicit(&mb->journal_refused, 1, memory_order_relaxed);
}

void metrics_worker_restart(void)
{
    atomic_fetch_add_explicit(&mb->worker_restarts, 1, memory_order_relaxed);
}

/* A label value with \, " and newline escaped as the exposition format requires. */
static int put_label(struct buf *out, const char *s)
{
    const char *p;
    int rc = 0;

    for (p = s; *p != '\0' && rc == 0; p++) {
        if (*p == '\\')
            rc = buf_puts(out, "\\\\");
        else if (*p == '"')
            rc = buf_puts(out, "\\\"");
        else if (*p == '\n')
            rc = buf_puts(out, "\\n");
        else
            rc = buf_append(out, p, 1);
    }
    return rc;
}

static int render_requests(struct buf *out)
{
    uint64_t v;
    size_t s;
    int r, rc = -1;

    if (buf_puts(out, "# HELP hisaab_http_requests_total HTTP requests answered, by route "
                      "pattern and status.\n"
                      "# TYPE hisaab_http_requests_total counter\n") != 0)
        goto out;
    for (r = 0; r < mb->nroutes; r++) {
        for (s = 0; s <= NSTATUS; s++) {
            v = atomic_load_explicit(&mb->requests[r][s], memory_order_relaxed);
            if (v == 0)
                continue;
            if (buf_puts(out, "hisaab_http_requests_total{route=\"") != 0 ||
                put_label(out, mb->routes[r]) != 0)
                goto out;
            if (s == STATUS_OTHER) {
                if (buf_printf(out, "\",status=\"other\"} %llu\n", (unsigned long long)v) != 0)
                    goto out;
            } else if (buf_printf(out, "\",status=\"%d\"} %llu\n", status_codes[s],
                                  (unsigned long long)v) != 0) {
                goto out;
            }
        }
    }
    rc = 0;
out:
    return rc;
}

static int render_latency(struct buf *out)
{
    uint64_t cum = 0;
    size_t b;
    int rc = -1;

    if (buf_puts(out, "# HELP hisaab_http_request_duration_milliseconds Time from a request "
                      "being read to its reply being queued.\n"
                      "# TYPE hisaab_http_request_duration_milliseconds histogram\n") != 0)
        goto out;
    for (b = 0; b < NBUCKETS; b++) {
        cum += atomic_load_explicit(&mb->buckets[b], memory_order_relaxed);
        if (buf_printf(out, "hisaab_http_request_duration_milliseconds_bucket{le=\"%s\"} %llu\n",
                       bucket_le[b], (unsigned long long)cum) != 0)
            goto out;
    }
    cum += atomic_load_explicit(&mb->buckets[NBUCKETS], memory_order_relaxed);
    if (buf_printf(out,
                   "hisaab_http_request_duration_milliseconds_bucket{le=\"+Inf\"} %llu\n"
                   "hisaab_http_request_duration_milliseconds_sum %.3f\n"
                   "hisaab_http_request_duration_milliseconds_count %llu\n",
                   (unsigned long long)cum,
                   (double)atomic_load_explicit(&mb->latency_sum_us, memory_order_relaxed) / 1000.0,
                   (unsigned long long)cum) != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

int metrics_render(struct buf *out)
{
    int rc = -1;

    if (render_requests(out) != 0 || render_latency(out) != 0)
        goto out;
    if (buf_printf(
            out,
            "# HELP hisaab_cache_hits_total API answers served from a worker's or the shared "
            "cache.\n"
            "# TYPE hisaab_cache_hits_total counter\n"
            "hisaab_cache_hits_total %llu\n"
            "# HELP hisaab_cache_misses_total API answers that had to be read from Postgres.\n"
            "# TYPE hisaab_cache_misses_total counter\n"
            "hisaab_cache_misses_total %llu\n",
            (unsigned long long)atomic_load(&mb->cache_hits),
            (unsigned long long)atomic_load(&mb->cache_misses)) != 0)
        goto out;
    if (buf_printf(out,
                   "# HELP hisaab_etl_last_run_timestamp_seconds Unix time of the last ETL run "
                   "(0: none seen).\n"
                   "# TYPE hisaab_etl_last_run_timestamp_seconds gauge\n"
                   "hisaab_etl_last_run_timestamp_seconds %lld\n"
                   "# HELP hisaab_etl_last_run_success 1 if the last ETL run succeeded, 0 if it "
                   "failed, -1 if unknown.\n"
                   "# TYPE hisaab_etl_last_run_success gauge\n"
                   "hisaab_etl_last_run_success %lld\n"
                   "# HELP hisaab_etl_rows_loaded_total Rows loaded by the ETL.\n"
                   "# TYPE hisaab_etl_rows_loaded_total counter\n"
                   "hisaab_etl_rows_loaded_total %llu\n"
                   "# HELP hisaab_etl_failures_total Failed ETL runs.\n"
                   "# TYPE hisaab_etl_failures_total counter\n"
                   "hisaab_etl_failures_total %llu\n",
                   (long long)atomic_load(&mb->etl_last_run),
                   (long long)atomic_load(&mb->etl_last_ok),
                   (unsigned long long)atomic_load(&mb->etl_rows),
                   (unsigned long long)atomic_load(&mb->etl_failures)) != 0)
        goto out;
    if (buf_printf(out,
                   "# HELP hisaab_worker_restarts_total Workers restarted by the master after "
                   "dying.\n"
                   "# TYPE hisaab_worker_restarts_total counter\n"
                   "hisaab_worker_restarts_total %llu\n",
                   (unsigned long long)atomic_load(&mb->worker_restarts)) != 0)
        goto out;
    if (buf_printf(out,
                   "# HELP hisaab_journal_written_total Records the journal wrote to Postgres.\n"
                   "# TYPE hisaab_journal_written_total counter\n"
                   "hisaab_journal_written_total %llu\n"
                   "# HELP hisaab_journal_spooled_total Records written to a spool file at "
                   "shutdown, to be written at the next start.\n"
                   "# TYPE hisaab_journal_spooled_total counter\n"
                   "hisaab_journal_spooled_total %llu\n"
                   "# HELP hisaab_journal_rejected_total Records Postgres refused on their own, "
                   "kept in the rejected file.\n"
                   "# TYPE hisaab_journal_rejected_total counter\n"
                   "hisaab_journal_rejected_total %llu\n"
                   "# HELP hisaab_journal_refused_total Requests answered 503 because the "
                   "journal had no room.\n"
                   "# TYPE hisaab_journal_refused_total counter\n"
                   "hisaab_journal_refused_total %llu\n",
                   (unsigned long long)atomic_load(&mb->journal_written),
                   (unsigned long long)atomic_load(&mb->journal_spooled),
                   (unsigned long long)atomic_load(&mb->journal_rejected),
                   (unsigned long long)atomic_load(&mb->journal_refused)) != 0)
        goto out;
    rc = 0;
out:
    return rc;
}

void metrics_handler(struct http_request *req)
{
    struct buf out;

    buf_init(&out, 1024 * 1024);
    if (metrics_render(&out) != 0) {
        log_error("metrics: exposition larger than %zu bytes", out.max);
        http_reply_error(req, 500, "internal", "metrics too large");
    } else {
        http_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
    }
    buf_free(&out);
}
