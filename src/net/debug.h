/*
 * Handlers that exist only for the black-box tests. app_handler_lookup() hands them out
 * only when HISAAB_TEST_HANDLERS=1 is in the environment, so a production kore.conf that
 * names one fails its configuration test.
 */
#ifndef HISAAB_DEBUG_H
#define HISAAB_DEBUG_H

struct http_request;

/* 1 if the test handlers are enabled (HISAAB_TEST_HANDLERS=1). */
int debug_handlers_enabled(void);

/*
 * GET ?ms=N (0..60000, validated by the route): replies {"status":"ok","slept_ms":N}
 * after N milliseconds, from an event timer, so the request stays in flight meanwhile.
 */
void debug_sleep(struct http_request *req);

#endif
