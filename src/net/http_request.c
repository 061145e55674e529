/*
 * Requests of the HTTP/1.1 layer; see http_wire.h: the recycled request objects (each
 * with its head storage inline, max_header_bytes plus a little), header lookup, and the
 * framing checks that decide whether a request's body can be told apart from the next.
 */
#include "net/http_wire.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <http_parser.h>

#include "core/mem.h"
#include "net/config.h"

#define HEAD_SLACK 64

struct http_request *wire_request_new(struct http_server *srv, struct http_conn *c)
{
    struct http_request *req;
    size_t cap = srv->cfg->max_headers + HEAD_SLACK;

    if (srv->npool > 0) {
        req = srv->pool[--srv->npool];
    } else {
        req = xmalloc(sizeof(*req) + cap);
        req->bodybuf = NULL;
        req->body_cap = 0;
        req->head_cap = cap;
    }
    memset(req, 0, offsetof(struct http_request, hdrs));
    req->srv = srv;
    req->conn = c;
    req->method_name = "OTHER";
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    return req;
}

void wire_request_free(struct http_request *req)
{
    struct http_server *srv = req->srv;
    struct arena_chunk *ch, *next;

    if (req->matched)
        router_match_free(&req->match);
    if (req->flush_ev != NULL)
        event_free(req->flush_ev);
    for (ch = req->chunks; ch != NULL; ch = next) {
        next = ch->next;
        free(ch);
    }
    if (req->body_cap > 16 * 1024) { /* keep small body buffers for the next request */
        free(req->bodybuf);
        req->bodybuf = NULL;
        req->body_cap = 0;
    }
    if (srv->npool < HTTP_REQ_POOL) {
        srv->pool[srv->npool++] = req;
    } else {
        free(req->bodybuf);
        free(req);
    }
}

const char *wire_header(const struct http_request *req, const char *name)
{
    size_t i, n = strlen(name);

    for (i = 0; i < req->nhdrs; i++)
        if (req->hdrs[i].nlen == n && strcasecmp(req->hdrs[i].name, name) == 0)
            return req->hdrs[i].value;
    return NULL;
}

int wire_reads_body(unsigned method)
{
    return method == CFG_METHOD_POST || method == CFG_METHOD_PUT || method == CFG_METHOD_PATCH;
}

/*
 * NULL if the request's framing is unambiguous, else why not. The parser refuses
 * Content-Length twice, Content-Length with Transfer-Encoding and a Transfer-Encoding
 * that does not end in chunked; this refuses what it lets through (chunked listed twice,
 * a coding before chunked) and a body on a method that takes none.
 */
const char *wire_check_framing(const struct http_request *req, const http_parser *p)
{
    const char *cl = NULL, *te = NULL;
    size_t i;

    for (i = 0; i < req->nhdrs; i++) {
        const struct http_hdr *h = &req->hdrs[i];

        if (h->nlen == 14 && strcasecmp(h->name, "Content-Length") == 0) {
            if (cl != NULL && strcmp(cl, req->hdrs[i].value) != 0)
                return "conflicting Content-Length headers";
            cl = req->hdrs[i].value;
        } else if (h->nlen == 17 && strcasecmp(h->name, "Transfer-Encoding") == 0) {
            if (te != NULL)
                return "repeated Transfer-Encoding header";
            te = req->hdrs[i].value;
        }
    }
    if (cl != NULL && te != NULL)
        return "both Content-Length and Transfer-Encoding";
    if (te != NULL && strcasecmp(te, "chunked") != 0)
        return "unsupported Transfer-Encoding";
    if (!wire_reads_body(req->method) &&
        (te != NULL || (p->flags & F_CHUNKED) || (cl != NULL && p->content_length != 0)))
        return "this method takes no body";
    return NULL;
}
