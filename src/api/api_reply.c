/*
 * What every API answer shares: the envelope and the error answers; see api_reply.h.
 */
#include "api/api_reply.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "net/http.h"

void api_now_iso(char *out, size_t n)
{
    struct tm tm;
    time_t t = time(NULL);

    if (gmtime_r(&t, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, n, "1970-01-01T00:00:00Z");
}

int api_envelope(struct buf *b, const char *data, size_t len, int cached)
{
    char ts[32];

    api_now_iso(ts, sizeof(ts));
    if (buf_puts(b, "{\"status\":\"ok\",\"data\":") != 0 || buf_append(b, data, len) != 0 ||
        buf_printf(b, ",\"timestamp\":\"%s\",\"cached\":%s,\"version\":\"" API_VERSION "\"}", ts,
                   cached ? "true" : "false") != 0)
        return -1;
    return 0;
}

void api_reply_unavailable(struct http_request *req)
{
    http_reply_error(req, 503, "database_unavailable",
                     "The figures cannot be read right now; please try again shortly.");
}

void api_reply_no_data(struct http_request *req)
{
    http_add_header(req, "Retry-After", "300");
    http_reply_error(req, 503, "no_data",
                     "No figures have been loaded yet; please try again later.");
}

void api_reply_bad_param(struct http_request *req, const char *name)
{
    char msg[160];

    snprintf(msg, sizeof(msg), "The parameter '%s' is missing or not valid.", name);
    http_reply_error(req, 400, "bad_parameter", msg);
}

void api_reply_not_found(struct http_request *req, const char *code)
{
    if (strcmp(code, "unknown_state") == 0)
        http_reply_error(req, 404, code, "There is no state with this code.");
    else if (strcmp(code, "unknown_pincode") == 0)
        http_reply_error(req, 404, code, "There is no post office with this PIN code.");
    else
        http_reply_error(req, 404, code, "There is no district with this code.");
}
