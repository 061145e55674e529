/*
 * Parse benchmark: reads one file (CSV, JSON or XML, chosen by --format or the file's
 * extension), runs etl_parse() with etl_clean_record() on every record, several times, and
 * prints records per second for parse+clean. A figure, never a pass/fail.
 *
 *   build/bench_parse FILE [csv|json|xml] [ROUNDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"

struct tally {
    long long records;
    long long rejected;
    long long flagged;
    struct etl_row row;
};

static int clean_one(void *arg, const struct etl_raw_record *rec)
{
    struct tally *t = arg;
    const char *why;

    t->records++;
    if (etl_clean_record(rec, &t->row, &why) != 0) {
        t->rejected++;
        return 0;
    }
    for (int i = ETL_F_FIRST_FIGURE; i < ETL_F_REMARKS; i++)
        t->flagged += t->row.flagged[i];
    return 0;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file, malloc'd (caller frees), or NULL. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    data = malloc((size_t)n + 1);
    if (data == NULL)
        goto out;
    if (fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
        goto out;
    }
    *len = (size_t)n;
out:
    fclose(f);
    return data;
}

int main(int argc, char **argv)
{
    enum etl_format fmt = ETL_FORMAT_CSV;
    struct etl_page_info info;
    struct tally *t = NULL;
    char err[256];
    double best = 1e30;
    size_t len = 0;
    char *data = NULL;
    const char *dot;
    long rounds = 3;
    int rc = 1;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE [csv|json|xml] [ROUNDS]\n", argv[0]);
        return 2;
    }
    dot = strrchr(argv[1], '.');
    if (argc > 2) {
        if (etl_format_from_name(argv[2], &fmt) != 0) {
            fprintf(stderr, "unknown format %s\n", argv[2]);
            return 2;
        }
    } else if (dot != NULL && etl_format_from_name(dot + 1, &fmt) != 0) {
        fmt = ETL_FORMAT_CSV;
    }
    if (argc > 3) {
        char *end;
        rounds = strtol(argv[3], &end, 10);
        if (*end != '\0' || rounds < 1 || rounds > 100) {
            fprintf(stderr, "ROUNDS must be 1..100\n");
            return 2;
        }
    }
    data = slurp(argv[1], &len);
    if (data == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        goto out;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        goto out;
    for (long r = 0; r < rounds; r++) {
        double t0 = now(), dt;
        memset(t, 0, sizeof(*t));
        if (etl_parse(fmt, data, len, clean_one, t, &info, err, sizeof(err)) != 0) {
            fprintf(stderr, "parse failed: %s\n", err);
            goto out;
        }
        dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    printf("bench_parse: %s (%s, %.1f MB): %lld records, %lld rejected, %lld flagged values\n",
           argv[1], etl_format_name(fmt), (double)len / 1e6, t->records, t->rejected, t->flagged);
    printf("bench_parse: parse+clean best of %ld: %.3f s, %.0f records/s, %.0f MB/s\n", rounds,
           best, (double)t->records / best, (double)len / 1e6 / best);
    rc = 0;
out:
    free(t);
    free(data);
    return rc;
}
