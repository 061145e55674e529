/*
 * The district API's common answers (docs/api.md): every JSON answer is
 * {"status":"ok","data":...,"timestamp":"...Z","cached":bool,"version":"1.0"}, and every
 * error {"status":"error","error":{"code","message"}} with its HTTP status. Used by the
 * API's modules (api.c, api_admin.c, api_export.c).
 */
#ifndef HISAAB_API_REPLY_H
#define HISAAB_API_REPLY_H

#include <stddef.h>

#include "core/buf.h"

struct http_request;

#define API_VERSION "1.0"

/* UTC now as ISO-8601 ("2026-12-01T21:07:34Z") into out (at least 24 bytes). */
void api_now_iso(char *out, size_t n);

/* The envelope around data (JSON text of len bytes) appended to b. Returns 0 or -1 (b's
 * cap). */
int api_envelope(struct buf *b, const char *data, size_t len, int cached) WUR;

/* 503 database_unavailable: the figures cannot be read now (no internals named). */
void api_reply_unavailable(struct http_request *req);
/* 503 no_data with Retry-After: nothing loaded by the ETL yet. */
void api_reply_no_data(struct http_request *req);
/* 400 bad_parameter naming the parameter. */
void api_reply_bad_param(struct http_request *req, const char *name);
/* 404 with code: unknown_state, unknown_pincode, or (any other) unknown_district. */
void api_reply_not_found(struct http_request *req, const char *code);

#endif
