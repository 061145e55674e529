/*
 * Helpers for unit tests that drive a worker's event loop (backends, curlm, the journal,
 * the channel core): the monotonic clock in seconds, and turning the loop until a flag
 * is set or a time has passed. Included by such tests (not built on its own); the test
 * defines `static struct event_base *base;` before including it.
 */
#ifndef HISAAB_TESTS_UNIT_LOOP_H
#define HISAAB_TESTS_UNIT_LOOP_H

#include <time.h>

#include <event2/event.h>

__attribute__((unused)) static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Drive the loop until *flag is non-zero (flag may be NULL) or `seconds` pass. Returns
 * the flag (0 for NULL). */
__attribute__((unused)) static int run_until(const int *flag, double seconds)
{
    double deadline = now_s() + seconds;
    struct timeval tick = {0, 20000};

    while ((flag == NULL || !*flag) && now_s() < deadline) {
        event_base_loopexit(base, &tick);
        event_base_loop(base, EVLOOP_ONCE);
    }
    return flag != NULL ? *flag : 0;
}

__attribute__((unused)) static void run_for(double seconds)
{
    run_until(NULL, seconds);
}

#endif
