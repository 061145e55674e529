/*
 * The voice channel's assembly, timed (make bench): the clip library loaded as the
 * master loads it, then every district of the sample's size said in both languages,
 * each assembled once from nothing (no cache), as the first request for a summary after
 * a new data version does. Prints the load time, the library's size, and the assembly
 * times (median, 99th percentile, worst). Figures only; never fails on a number.
 *
 *   build/bench_voice [AUDIO_DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "media/clips.h"
#include "media/voicesum.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "audio";
    static double t[4096];
    struct dir_district row;
    struct voicesum vs;
    size_t n = 0, bytes = 0;
    char err[512];
    double t0;
    int code, l, rounds;

    t0 = now_ms();
    if (clips_load(dir, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_voice: %s\n", err);
        return 1;
    }
    printf("clip library: %zu clips, %.1f MB, loaded in %.1f ms\n", clips_count(),
           clips_bytes() / 1048576.0, now_ms() - t0);
    memset(&row, 0, sizeof(row));
    row.state_code = 17;
    row.has_id = 1;
    row.has_facts = 1;
    row.facts.year = 2025;
    row.facts.month = 3;
    row.facts.have_families = row.facts.have_days = row.facts.have_wage = 1;
    row.facts.have_paid = row.facts.have_state_days = 1;
    for (rounds = 0; rounds < 10; rounds++)
        for (code = 1701; code <= 1752; code++)
            for (l = 0; l < 2; l++) {
                char did[16];

                snprintf(did, sizeof(did), "d%d", code);
                if (clips_get(l ? I18N_HI : I18N_EN, did) == NULL)
                    continue; /* not a district of the library */
                row.district_code = code;
                /* Figures that vary, so numbers of every length are said. */
                row.facts.families = 1000 + (long long)code * 97 * (rounds + 1);
                row.facts.days = 20 + code % 60;
                row.facts.wage = 200 + code % 90;
                row.facts.paid_pct = 90 + code % 10;
                row.facts.state_days = 45;
                t0 = now_ms();
                if (voicesum_make(&row, l ? I18N_HI : I18N_EN, &vs) != VOICESUM_OK)
                    continue;
                t[n++] = now_ms() - t0;
                bytes += vs.wav_len;
                voicesum_free(&vs);
            }
    if (n == 0) {
        fprintf(stderr, "bench_voice: no summary could be made\n");
        return 1;
    }
    qsort(t, n, sizeof(t[0]), cmp);
    printf("first assembly of a summary (no cache): %zu made, median %.3f ms, p99 %.3f ms, "
           "worst %.3f ms (target < 5 ms); average WAV %zu KB\n",
           n, t[n / 2], t[n * 99 / 100], t[n - 1], bytes / n / 1024);
    clips_free();
    return 0;
}
