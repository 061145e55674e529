/*
 * GET /api/v1/export.csv?state=&fin_year=: a state's cleaned monthly figures as CSV,
 * streamed; see api_export.h.
 */
#include "api/api_export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_limit.h"
#include "api/api_reply.h"
#include "core/log.h"
#include "core/mem.h"
#include "data/district_store.h"
#include "net/config.h"
#include "net/http.h"

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
                api_reply_not_found(req, "unknown_state");
            else if (st == DISTRICT_STORE_NO_DATA)
                api_reply_no_data(req);
            else {
                log_warn("api: export: %s", err != NULL ? err : "?");
                api_reply_unavailable(req);
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
        if (http_method(req) == CFG_METHOD_HEAD) {
            export_finish(x); /* the headers are all HEAD wants */
            return;
        }
    }
    if (st != DISTRICT_STORE_OK) {
        /* Mid-stream failure: the status line is gone; make the cut visible. */
        log_warn("api: export cut short: %s", err != NULL ? err : "?");
        http_reply_abort(req);
        free(x);
        return;
    }
    if (http_reply_chunk(req, text, len, export_next, x) != 0)
        export_finish(x);
}

static void export_run(struct http_request *req)
{
    const char *state = http_param(req, "state");
    const char *year = http_param(req, "fin_year");
    struct export *x;

    if (state == NULL) {
        api_reply_bad_param(req, "state");
        return;
    }
    x = xcalloc(1, sizeof(*x));
    x->req = req;
    snprintf(x->state, sizeof(x->state), "%s", state);
    snprintf(x->year, sizeof(x->year), "%s", year != NULL ? year : "");
    if (district_store_export_batch(&x->cur, x->state, year != NULL ? x->year : NULL,
                                    export_batch_done, x) != 0) {
        free(x);
        api_reply_unavailable(req);
    }
}

/* Rate limited like every API endpoint. */
void api_export(struct http_request *req)
{
    api_limit_run(req, export_run);
}
