/*
 * The web channel's pages for browsers without JavaScript (Opera Mini's extreme mode,
 * KaiOS feature phones, a script that failed to load): plain HTML rendered by the server
 * from the worker's district directory, the same figures as /api/v1/districts/{id}/summary
 * with the app's rounding and wording (assets/web/app/text.json):
 *
 *   GET /d/{id}?lang=hi|en     a district's latest month: families, days of the 100
 *                              promised (a bar), wage, share paid on time, each compared
 *                              with the state in words, the month, a notice when stale
 *   GET /search?q=&lang=       the districts a name (any script, former names) or a PIN
 *                              code names, each linked to its page
 *
 * Without lang, Accept-Language picks Hindi when it starts with "hi". Pages carry WEB_CSP
 * and "Cache-Control: no-cache" (they change with the data); an unknown district is a 404
 * page, a worker without its directory yet a 503 page with Retry-After. Counted against the
 * per-address carrier-NAT budget like the app's files.
 */
#ifndef HISAAB_WEB_PAGE_H
#define HISAAB_WEB_PAGE_H

struct http_request;

/* Handlers. */
void web_district_page(struct http_request *req);
void web_search_page(struct http_request *req);

#endif
