/*
 * Unit tests for metrics.c: the Prometheus text format, request counters by route and
 * status, the latency histogram, label escaping and sharing across fork().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "net/metrics.h"

static char *render(void)
{
    struct buf b;
    char *s;

    buf_init(&b, 1 << 20);
    assert_int_equal(metrics_render(&b), 0);
    s = buf_steal(&b, NULL);
    buf_free(&b);
    return s;
}

/* The value of the sample line starting with `prefix` followed by a space; -1 if none. */
static long long sample(const char *text, const char *prefix)
{
    const char *p = text;
    size_t n = strlen(prefix);

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
            return strtoll(p + n + 1, NULL, 10);
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return -1;
}

static int setup(void **state)
{
    (void)state;
    /* A fresh zeroed block for each test (labels carry over). */
    return metrics_init();
}

static void test_format_every_line(void **state)
{
    char *text, *line, *save = NULL;
    int samples = 0, helps = 0, types = 0;

    (void)state;
    metrics_request(metrics_route_register("/metrics"), 200, 120);
    text = render();
    for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# HELP hisaab_", 14) == 0) {
            helps++;
        } else if (strncmp(line, "# TYPE hisaab_", 14) == 0) {
            const char *t = strrchr(line, ' ') + 1;
            assert_true(strcmp(t, "counter") == 0 || strcmp(t, "gauge") == 0 ||
                        strcmp(t, "histogram") == 0);
            types++;
        } else {
            /* name[{labels}] value */
            char *sp = strrchr(line, ' ');
            char *end;
            assert_non_null(sp);
            assert_true(strncmp(line, "hisaab_", 7) == 0);
            strtod(sp + 1, &end);
            assert_true(end != sp + 1 && *end == '\0');
            samples++;
        }
    }
    assert_int_equal(helps, types);
    assert_true(types >= 13);
    assert_true(samples >= 20);
    free(text);
}

static void test_requests_by_route_and_status(void **state)
{
    int slot = metrics_route_register("/api/v1/health");
    char *text;

    (void)state;
    assert_true(slot > 0);
    assert_int_equal(metrics_route_register("/api/v1/health"), slot);
    metrics_request(slot, 200, 10);
    metrics_request(slot, 200, 10);
    metrics_request(slot, 503, 10);
    metrics_request(slot, 418, 10);
    metrics_request(0, 404, 10);
    text = render();
    assert_int_equal(
        sample(text, "hisaab_http_requests_total{route=\"/api/v1/health\",status=\"200\"}"), 2);
    assert_int_equal(
        sample(text, "hisaab_http_requests_total{route=\"/api/v1/health\",status=\"503\"}"), 1);
    assert_int_equal(
        sample(text, "hisaab_http_requests_total{route=\"/api/v1/health\",status=\"other\"}"), 1);
    assert_int_equal(sample(text, "hisaab_http_requests_total{route=\"-\",status=\"404\"}"), 1);
    /* Zero series are left out. */
    assert_int_equal(
        sample(text, "hisaab_http_requests_total{route=\"/api/v1/health\",status=\"404\"}"), -1);
    free(text);
}

static void test_histogram(void **state)
{
    char *text;

    (void)state;
    metrics_request(0, 200, 400);     /* 0.4 ms: le 0.5 */
    metrics_request(0, 200, 500);     /* exactly 0.5 ms: le 0.5 */
    metrics_request(0, 200, 3000);    /* le 5 */
    metrics_request(0, 200, 2000000); /* 2 s: only +Inf */
    text = render();
    assert_int_equal(sample(text, "hisaab_http_request_duration_milliseconds_bucket{le=\"0.5\"}"),
                     2);
    assert_int_equal(sample(text, "hisaab_http_request_duration_milliseconds_bucket{le=\"2.5\"}"),
                     2);
    assert_int_equal(sample(text, "hisaab_http_request_duration_milliseconds_bucket{le=\"5\"}"), 3);
    assert_int_equal(sample(text, "hisaab_http_request_duration_milliseconds_bucket{le=\"1000\"}"),
                     3);
    assert_int_equal(sample(text, "hisaab_http_request_duration_milliseconds_bucket{le=\"+Inf\"}"),
                     4);
    assert_int_equal(sample(text, "hisaab_http_request_duration_milliseconds_count"), 4);
    /* 0.4 + 0.5 + 3 + 2000 ms */
    assert_non_null(strstr(text, "hisaab_http_request_duration_milliseconds_sum 2003.900\n"));
    free(text);
}

static void test_cache_etl_restarts(void **state)
{
    char *text;

    (void)state;
    text = render();
    assert_int_equal(sample(text, "hisaab_etl_last_run_success"), -1);
    free(text);
    metrics_cache_hit();
    metrics_cache_hit();
    metrics_cache_miss();
    metrics_set_etl(1700000000, 1, 1234, 2);
    metrics_worker_restart();
    text = render();
    assert_int_equal(sample(text, "hisaab_cache_hits_total"), 2);
    assert_int_equal(sample(text, "hisaab_cache_misses_total"), 1);
    assert_int_equal(sample(text, "hisaab_etl_last_run_timestamp_seconds"), 1700000000);
    assert_int_equal(sample(text, "hisaab_etl_last_run_success"), 1);
    assert_int_equal(sample(text, "hisaab_etl_rows_loaded_total"), 1234);
    assert_int_equal(sample(text, "hisaab_etl_failures_total"), 2);
    assert_int_equal(sample(text, "hisaab_worker_restarts_total"), 1);
    free(text);
}

static void test_journal_counters(void **state)
{
    char *text;

    (void)state;
    text = render();
    assert_int_equal(sample(text, "hisaab_journal_written_total"), 0);
    assert_int_equal(sample(text, "hisaab_journal_spooled_total"), 0);
    assert_int_equal(sample(text, "hisaab_journal_rejected_total"), 0);
    assert_int_equal(sample(text, "hisaab_journal_refused_total"), 0);
    assert_non_null(strstr(text, "# TYPE hisaab_journal_written_total counter\n"));
    free(text);
    metrics_journal_written(1000);
    metrics_journal_written(234);
    metrics_journal_spooled(7);
    metrics_journal_rejected(3);
    metrics_journal_refused();
    metrics_journal_refused();
    text = render();
    assert_int_equal(sample(text, "hisaab_journal_written_total"), 1234);
    assert_int_equal(sample(text, "hisaab_journal_spooled_total"), 7);
    assert_int_equal(sample(text, "hisaab_journal_rejected_total"), 3);
    assert_int_equal(sample(text, "hisaab_journal_refused_total"), 2);
    free(text);
}

static void test_label_escaping(void **state)
{
    int slot = metrics_route_register("^/a\\d\"x$");
    char *text;

    (void)state;
    metrics_request(slot, 200, 1);
    text = render();
    assert_int_equal(
        sample(text, "hisaab_http_requests_total{route=\"^/a\\\\d\\\"x$\",status=\"200\"}"), 1);
    free(text);
}

static void test_route_table_limits(void **state)
{
    char name[32];
    int i, slot, last = 0;

    (void)state;
    assert_int_equal(metrics_route_register(NULL), 0);
    for (i = 0; i < METRICS_MAX_ROUTES + 5; i++) {
        snprintf(name, sizeof(name), "/r%d", i);
        slot = metrics_route_register(name);
        assert_true(slot >= 0 && slot < METRICS_MAX_ROUTES);
        if (slot != 0)
            last = slot;
    }
    assert_int_equal(last, METRICS_MAX_ROUTES - 1);
    /* Full: new labels fall back to "-", old ones still resolve. */
    assert_int_equal(metrics_route_register("/one-more"), 0);
    assert_true(metrics_route_register("/r0") > 0);
    /* Out-of-range slots are counted as "-", not written out of bounds. */
    metrics_request(9999, 200, 1);
    metrics_request(-3, 200, 1);
}

static void test_shared_across_fork(void **state)
{
    int slot = metrics_route_register("/metrics");
    int status, i;
    char *text;
    pid_t pid;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (i = 0; i < 1000; i++)
            metrics_request(slot, 200, 10);
        metrics_cache_miss();
        _exit(0);
    }
    for (i = 0; i < 1000; i++)
        metrics_request(slot, 200, 10);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    text = render();
    assert_int_equal(sample(text, "hisaab_http_requests_total{route=\"/metrics\",status=\"200\"}"),
                     2000);
    assert_int_equal(sample(text, "hisaab_cache_misses_total"), 1);
    free(text);
}

static void test_render_cap(void **state)
{
    struct buf b;

    (void)state;
    buf_init(&b, 64);
    assert_int_equal(metrics_render(&b), -1);
    assert_true(b.len <= 64);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_format_every_line, setup),
        cmocka_unit_test_setup(test_requests_by_route_and_status, setup),
        cmocka_unit_test_setup(test_histogram, setup),
        cmocka_unit_test_setup(test_cache_etl_restarts, setup),
        cmocka_unit_test_setup(test_journal_counters, setup),
        cmocka_unit_test_setup(test_label_escaping, setup),
        cmocka_unit_test_setup(test_shared_across_fork, setup),
        cmocka_unit_test_setup(test_render_cap, setup),
        cmocka_unit_test_setup(test_route_table_limits, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
