/*
 * The district REST API handlers; see api.h. Each handler checks what the router could
 * not (required parameters, India's box, the id in the path), asks district_store for the
 * data as JSON text and wraps it in the envelope. Replies are sent from the store's
 * callback; a client that went away meanwhile is handled by http.c.
 */
#include "api.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "district_store.h"
#include "http.h"
#include "log.h"
#include "mem.h"

/* Largest JSON body we build (60 months of history is ~150 KB). */
#define BODY_MAX (8u << 20)
/* Most bytes of a streamed CSV export queued at once (one batch). */
#define API_VERSION "1.0"

static struct {
    long long max_age_s;
} ac = {2160LL * 3600};

/* What a JSON handler is waiting for. */
struct api_call {
    struct http_request *req;
    const char *not_found; /* 404 code for this endpoint */
};

/* UTC now as ISO-8601 into out (at least 24 bytes). */
static void now_iso(char *out, size_t n)
{
    struct tm tm;
    time_t t = time(NULL);

    if (gmtime_r(&t, &tm) == NULL || strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, n, "1970-01-01T00:00:00Z");
}

/* The envelope around data (JSON text of len bytes) into b. Returns 0 or -1 (too big). */
static int envelope(struct buf *b, const char *data, size_t len, int cached)
{
    char ts[32];

    now_iso(ts, sizeof(ts));
    if (buf_puts(b, "{\"status\":\"ok\",\"data\":") != 0 || buf_append(b, data, len) != 0 ||
        buf_printf(b, ",\"timestamp\":\"%s\",\"cached\":%s,\"version\":\"" API_VERSION "\"}", ts,
                   cached ? "true" : "false") != 0)
        return -1;
    return 0;
}

static void reply_unavailable(struct http_request *req)
{
    http_reply_error(req, 503, "database_unavailable",
                     "The figures cannot be read right now; please try again shortly.");
}

static void reply_no_data(struct http_request *req)
{
    http_add_header(req, "Retry-After", "300");
    http_reply_error(req, 503, "no_data",
                     "No figures have been loaded yet; please try again later.");
}

static void reply_bad_param(struct http_request *req, const char *name)
{
    char msg[160];

    snprintf(msg, sizeof(msg), "The parameter '%s' is missing or not valid.", name);
    http_reply_error(req, 400, "bad_parameter", msg);
}

static void reply_not_found(struct http_request *req, const char *code)
{
    if (strcmp(code, "unknown_state") == 0)
        http_reply_error(req, 404, code, "There is no state with this code.");
    else
        http_reply_error(req, 404, code, "There is no district with this code.");
}

static void json_done(void *arg, enum district_store_status st, const char *text, size_t len,
                      const char *err)
{
    struct api_call *call = arg;
    struct http_request *req = call->req;
    const char *not_found = call->not_found;
    struct buf b;

    free(call);
    switch (st) {
    case DISTRICT_STORE_OK:
        buf_init(&b, BODY_MAX);
        if (envelope(&b, text, len, 0) != 0) {
            http_reply_error(req, 500, "internal", "The answer is too large.");
        } else {
            http_add_header(req, "Cache-Control", "public, max-age=60");
            http_reply(req, 200, "application/json; charset=utf-8", b.data, b.len);
        }
        buf_free(&b);
        break;
    case DISTRICT_STORE_NOT_FOUND:
        reply_not_found(req, not_found);
        break;
    case DISTRICT_STORE_NO_DATA:
        reply_no_data(req);
        break;
    case DISTRICT_STORE_ERROR:
    default:
        log_warn("api: %s: %s", http_path(req), err != NULL ? err : "?");
        reply_unavailable(req);
        break;
    }
}

static struct api_call *call_new(struct http_request *req, const char *not_found)
{
    struct api_call *call = xcalloc(1, sizeof(*call));

    call->req = req;
    call->not_found = not_found;
    return call;
}

/* Finish a handler whose store call could not start. */
static void started(struct http_request *req, struct api_call *call, int rc)
{
    if (rc != 0) {
        free(call);
        reply_unavailable(req);
    }
}

static const char *lang_of(struct http_request *req)
{
    const char *lang = http_param(req, "lang");

    return lang != NULL ? lang : "en";
}

/*
 * The numeric path segment after `prefix` (e.g. "/api/v1/districts/") into out; 0, or -1
 * when it is not 1..9 digits.
 */
static int path_id(struct http_request *req, const char *prefix, char *out, size_t n)
{
    const char *p = http_path(req);
    size_t plen = strlen(prefix), i;

    if (strncmp(p, prefix, plen) != 0)
        return -1;
    p += plen;
    for (i = 0; p[i] >= '0' && p[i] <= '9'; i++)
        ;
    if (i == 0 || i > 9 || i >= n || (p[i] != '/' && p[i] != '\0'))
        return -1;
    memcpy(out, p, i);
    out[i] = '\0';
    return 0;
}

void api_states(struct http_request *req)
{
    struct api_call *call = call_new(req, "unknown_state");

    started(req, call, district_store_states(lang_of(req), json_done, call));
}

void api_districts(struct http_request *req)
{
    struct api_call *call = call_new(req, "unknown_state");

    started(req, call,
            district_store_districts(lang_of(req), http_param(req, "state"), http_param(req, "q"),
                                     json_done, call));
}

/* A validated coordinate, rounded to 2 decimals; -1 when missing or outside [lo, hi]. */
static int coordinate(struct http_request *req, const char *name, double lo, double hi, double *out)
{
    const char *s = http_param(req, name);
    char *end = NULL;
    double d;

    if (s == NULL)
        return -1;
    errno = 0;
    d = strtod(s, &end); /* v_lat/v_lon accepted plain decimal notation */
    if (errno != 0 || end == s || *end != '\0' || !isfinite(d))
        return -1;
    d = round(d * 100.0) / 100.0;
    if (d < lo || d > hi)
        return -1;
    *out = d;
    return 0;
}

void api_nearby(struct http_request *req)
{
    struct api_call *call;
    double lat, lon;

    if (coordinate(req, "lat", API_LAT_MIN, API_LAT_MAX, &lat) != 0) {
        reply_bad_param(req, "lat");
        return;
    }
    if (coordinate(req, "lon", API_LON_MIN, API_LON_MAX, &lon) != 0) {
        reply_bad_param(req, "lon");
        return;
    }
    call = call_new(req, "unknown_district");
    started(req, call, district_store_nearby(lang_of(req), lat, lon, json_done, call));
}

void api_summary(struct http_request *req)
{
    struct api_call *call;
    char id[16];

    if (path_id(req, "/api/v1/districts/", id, sizeof(id)) != 0) {
        reply_not_found(req, "unknown_district");
        return;
    }
    call = call_new(req, "unknown_district");
    started(req, call, district_store_summary(lang_of(req), id, ac.max_age_s, json_done, call));
}

void api_history(struct http_request *req)
{
    const char *months = http_param(req, "months");
    struct api_call *call;
    char id[16];

    if (path_id(req, "/api/v1/districts/", id, sizeof(id)) != 0) {
        reply_not_found(req, "unknown_district");
        return;
    }
    call = call_new(req, "unknown_district");
    started(
        req, call,
        district_store_history(lang_of(req), id, months != NULL ? months : "12", json_done, call));
}

void api_comparison(struct http_request *req)
{
    const char *metric = http_param(req, "metric");
    struct api_call *call;
    char code[16];

    if (path_id(req, "/api/v1/states/", code, sizeof(code)) != 0) {
        reply_not_found(req, "unknown_state");
        return;
    }
    if (metric == NULL || !district_store_is_metric(metric)) {
        reply_bad_param(req, "metric");
        return;
    }
    call = call_new(req, "unknown_state");
    started(req, call, district_store_comparison(lang_of(req), code, metric, json_done, call));
}

/*
 * The CSV export: one batch query at a time; the next is asked for only once the previous
 * chunk has been written to the client, so memory stays at one batch however large the
 * export.
 */
struct export
{
    struct http_request *req;
    struct district_store_export cur;
    int streaming;
    char state[16];
    char year[16];
};

static void export_batch_done(void *arg, enum district_store_status st, const char *text,
                              size_t len, const char *err);

static void export_finish(struct export *x)
{
    http_reply_end(x->req);
    free(x);
}

static void export_next(struct http_request *req, void *arg)
{
    struct export *x = arg;

    (void)req;
    if (http_is_gone(x->req) || x->cur.done) {
        export_finish(x);
        return;
    }
    if (district_store_export_batch(&x->cur, x->state, x->year, export_batch_done, x) != 0) {
        log_warn("api: export stopped: postgres not started");
        export_finish(x);
    }
}

static void export_batch_done(void *arg, enum district_store_status st, const char *text,
                              size_t len, const char *err)
{
    struct export *x = arg;
    struct http_request *req = x->req;
    char disp[96];

    if (!x->streaming) {
        if (st == DISTRICT_STORE_NOT_FOUND || st == DISTRICT_STORE_NO_DATA ||
            st == DISTRICT_STORE_ERROR) {
            if (st == DISTRICT_STORE_NOT_FOUND)
                reply_not_found(req, "unknown_state");
            else if (st == DISTRICT_STORE_NO_DATA)
                reply_no_data(req);
            else {
                log_warn("api: export: %s", err != NULL ? err : "?");
                reply_unavailable(req);
            }
            free(x);
            return;
        }
        snprintf(disp, sizeof(disp), "attachment; filename=\"mgnrega_%s%s%s.csv\"", x->state,
                 x->year[0] != '\0' ? "_" : "", x->year);
        http_add_header(req, "Content-Disposition", disp);
        http_add_header(req, "Cache-Control", "public, max-age=60");
        http_reply_start(req, 200, "text/csv; charset=utf-8");
        x->streaming = 1;
    }
    if (st != DISTRICT_STORE_OK) {
        /* Mid-stream failure: the status line is gone; cut the body short. */
        log_warn("api: export cut short: %s", err != NULL ? err : "?");
        export_finish(x);
        return;
    }
    if (http_reply_chunk(req, text, len, export_next, x) != 0)
        export_finish(x);
}

void api_export(struct http_request *req)
{
    const char *state = http_param(req, "state");
    const char *year = http_param(req, "fin_year");
    struct export *x;

    if (state == NULL) {
        reply_bad_param(req, "state");
        return;
    }
    x = xcalloc(1, sizeof(*x));
    x->req = req;
    snprintf(x->state, sizeof(x->state), "%s", state);
    snprintf(x->year, sizeof(x->year), "%s", year != NULL ? year : "");
    if (district_store_export_batch(&x->cur, x->state, year != NULL ? x->year : NULL,
                                    export_batch_done, x) != 0) {
        free(x);
        reply_unavailable(req);
    }
}

int api_init(struct event_base *base, const struct config *cfg)
{
    (void)base;
    ac.max_age_s = (long long)(cfg->max_data_age_hours > 0 ? cfg->max_data_age_hours : 2160) * 3600;
    return 0;
}

void api_exit(void)
{
}
