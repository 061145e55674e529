/*
 * Serving one body the way HTTP caches and players expect, for every channel that sends
 * files or cached answers: strong entity tags and If-None-Match (304), gzip chosen by
 * Accept-Encoding, one byte Range (206, 416) with If-Range, MIME types by file name. HEAD
 * needs nothing here: net/http.c sends a GET's headers without its body. The API's
 * cached JSON, the audio and the web app's files all answer through these.
 */
#ifndef HISAAB_NET_SERVE_H
#define HISAAB_NET_SERVE_H

#include <stddef.h>

#include "net/http.h"

/* Size of a buffer for serve_etag()'s tag, quotes and NUL included. */
#define SERVE_ETAG_MAX 40

/* 1 if an If-None-Match header value matches etag (weak comparison, "*" matches). */
int serve_etag_match(const char *if_none_match, const char *etag);

/* 1 if an Accept-Encoding header value accepts gzip (refused only by an explicit q=0). */
int serve_accepts_gzip(const char *accept_encoding);

/*
 * The range a Range header asks of a body of len bytes: 1 and [*start, *end] (inclusive)
 * for one satisfiable range, 0 for the whole body (no header, several ranges, or one that
 * does not parse), -1 when it cannot be satisfied (416).
 */
int serve_range(const char *header, size_t len, size_t *start, size_t *end);

/* data[0..len) gzip-compressed at level (1..9) into a malloc'd buffer (caller frees) of
 * *out_len bytes, or NULL on failure. */
char *serve_gzip(const void *data, size_t len, int level, size_t *out_len);

/* A strong entity tag for data: "\"" + 32 hex digits of its SHA-256 + "\"", into out
 * (n >= SERVE_ETAG_MAX). */
void serve_etag(const void *data, size_t len, char *out, size_t n);

/* The Content-Type for a file name by its extension (text types with charset=utf-8), or
 * NULL for an extension that is not served. */
const char *serve_mime(const char *name);

/* What serve_reply() sends. */
struct serve_body {
    const unsigned char *data; /* the identity body */
    size_t len;
    const char *etag;        /* its strong tag */
    const unsigned char *gz; /* the same gzip-compressed, or NULL */
    size_t gz_len;
    const char *gz_etag;       /* the gzip form's tag (with gz) */
    const char *type;          /* Content-Type */
    const char *cache_control; /* or NULL */
    int ranges;                /* honour Range on the identity body */
    /* The body is referenced, not copied: hold(arg) is called just before it is handed to
     * net/http.c and unref(arg) once it is written or dropped (http_reply_ref). Both NULL:
     * the body outlives every reply (worker-lifetime memory). */
    void (*hold)(void *arg);
    http_unref_fn unref;
    void *arg;
};

/*
 * Answer req with b: ETag, Cache-Control, Vary: Accept-Encoding (when there is a gzip
 * form), Accept-Ranges (with ranges); 304 when If-None-Match names the tag of the form
 * that would be sent; with ranges, a Range (honoured only on the identity body, and only
 * when If-Range, if given, is the identity tag) gives 206 with Content-Range or 416;
 * otherwise 200 with the gzip form when accepted.
 */
void serve_reply(struct http_request *req, const struct serve_body *b);

#endif
