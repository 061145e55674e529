/*
 * The district API's CSV export: GET /api/v1/export.csv?state=&fin_year= streams the
 * cleaned monthly figures of one state (optionally one financial year) in key order, one
 * batch query at a time (data/district_store.h), each asked for only once the chunk before
 * has gone to the client, so memory stays at one batch however large the export. 404 for
 * an unknown state, 503 before the first load; a failure mid-stream cuts the reply.
 */
#ifndef HISAAB_API_EXPORT_H
#define HISAAB_API_EXPORT_H

struct http_request;

/* Handler (http_handler_fn). */
void api_export(struct http_request *req);

#endif
