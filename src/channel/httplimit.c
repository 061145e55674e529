/*
 * The limiter in front of HTTP handlers; see httplimit.h.
 */
#include "channel/httplimit.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/mem.h"
#include "net/http.h"

struct check {
    struct http_request *req;
    httplimit_next_fn next;
    int window;
};

/* Headers, then either the handler or a 429. */
static void decide(void *arg, const struct limit_verdict *v)
{
    struct check *c = arg;
    char s[64];

    snprintf(s, sizeof(s), "%lld", v->limit);
    http_add_header(c->req, "RateLimit-Limit", s);
    snprintf(s, sizeof(s), "%lld", v->remaining);
    http_add_header(c->req, "RateLimit-Remaining", s);
    snprintf(s, sizeof(s), "%lld", v->reset_s);
    http_add_header(c->req, "RateLimit-Reset", s);
    snprintf(s, sizeof(s), "%lld;w=%d", v->limit, c->window);
    http_add_header(c->req, "RateLimit-Policy", s);
    if (v->over) {
        snprintf(s, sizeof(s), "%lld", v->reset_s);
        http_add_header(c->req, "Retry-After", s);
        http_reply_error(c->req, 429, "rate_limited",
                         "Too many requests; please wait before trying again.");
    } else {
        c->next(c->req);
    }
    free(c);
}

void httplimit_run(struct http_request *req, const char *id, const struct limit_policy *p,
                   httplimit_next_fn next)
{
    struct check *c;

    if (p->limit <= 0) {
        next(req);
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->req = req;
    c->next = next;
    c->window = p->window_s;
    limit_count(id, p, decide, c);
}
