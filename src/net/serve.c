/*
 * Serving one body with its validators, encodings and ranges; see serve.h.
 */
#include "net/serve.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "core/mem.h"

char *serve_gzip(const void *data, size_t len, int level, size_t *out_len)
{
    z_stream z;
    char *out = NULL;
    uLong bound;

    memset(&z, 0, sizeof(z));
    /* windowBits 15 + 16: a gzip wrapper rather than zlib's. */
    if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    bound = deflateBound(&z, (uLong)len) + 32;
    out = xmalloc(bound);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
        free(out);
        out = NULL;
    } else {
        *out_len = (size_t)z.total_out;
    }
    deflateEnd(&z);
    return out;
}

/* Skip optional whitespace. */
static const char *ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int serve_etag_match(const char *inm, const char *etag)
{
    size_t elen = strlen(etag), n;
    const char *p = inm;

    if (inm == NULL)
        return 0;
    for (;;) {
        p = ows(p);
        if (*p == '\0')
            return 0;
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == elen && memcmp(p, etag, n) == 0)
            return 1;
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
}

int serve_accepts_gzip(const char *ae)
{
    const char *p = ae, *q;
    size_t n;

    if (ae == NULL)
        return 0;
    while (*p != '\0') {
        p = ows(p);
        n = strcspn(p, ",;");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if ((n == 4 && strncasecmp(p, "gzip", 4) == 0) || (n == 1 && *p == '*')) {
            /* Refused only by an explicit q=0 (q=0, q=0.0, q=0.000). */
            q = p + strcspn(p, ",;");
            if (*q != ';')
                return 1;
            q = ows(q + 1);
            if (strncasecmp(q, "q=", 2) != 0)
                return 1;
            q += 2;
            if (*q != '0')
                return 1;
            q++;
            if (*q == '.')
                for (q++; *q == '0'; q++)
                    ;
            q = ows(q);
            if (*q != '\0' && *q != ',')
                return 1; /* q=0.5 and the like */
            return 0;
        }
        p += strcspn(p, ",");
        if (*p == ',')
            p++;
    }
    return 0;
}

/* A decimal size_t from s[0..n), or -1. */
static int parse_size(const char *s, size_t n, size_t *out)
{
    size_t v = 0, i;

    if (n == 0 || n > 18)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

int serve_range(const char *h, size_t len, size_t *start, size_t *end)
{
    const char *dash, *spec;
    size_t a, b, n;

    if (h == NULL || strncmp(h, "bytes=", 6) != 0)
        return 0;
    spec = h + 6;
    while (*spec == ' ')
        spec++;
    n = strlen(spec);
    while (n > 0 && spec[n - 1] == ' ')
        n--;
    if (memchr(spec, ',', n) != NULL || (dash = memchr(spec, '-', n)) == NULL)
        return 0; /* several ranges, or nonsense: the whole body */
    if (dash == spec) {
        /* bytes=-N: the last N bytes */
        if (parse_size(dash + 1, n - 1, &b) != 0)
            return 0;
        if (b == 0 || len == 0)
            return -1;
        *start = b >= len ? 0 : len - b;
        *end = len - 1;
        return 1;
    }
    if (parse_size(spec, (size_t)(dash - spec), &a) != 0)
        return 0;
    if ((size_t)(dash - spec) + 1 == n) {
        b = len > 0 ? len - 1 : 0; /* bytes=A- */
    } else {
        if (parse_size(dash + 1, n - (size_t)(dash - spec) - 1, &b) != 0 || b < a)
            return 0;
        if (b >= len)
            b = len - 1;
    }
    if (a >= len)
        return -1;
    *start = a;
    *end = b;
    return 1;
}

void serve_etag(const void *data, size_t len, char *out, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0, i;
    char hex[33];

    if (EVP_Digest(data, len, md, &mlen, EVP_sha256(), NULL) != 1 || mlen < 16)
        memset(md, 0, 16);
    for (i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    snprintf(out, n, "\"%s\"", hex);
}

static const struct {
    const char *ext;
    const char *type;
} mime[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json; charset=utf-8"},
    {"webmanifest", "application/manifest+json; charset=utf-8"},
    {"svg", "image/svg+xml; charset=utf-8"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"webp", "image/webp"},
    {"wav", "audio/wav"},
    {"txt", "text/plain; charset=utf-8"},
    {"woff2", "font/woff2"},
};

const char *serve_mime(const char *name)
{
    const char *dot = strrchr(name, '.');
    size_t i;

    if (dot == NULL || strchr(dot, '/') != NULL)
        return NULL;
    for (i = 0; i < sizeof(mime) / sizeof(mime[0]); i++)
        if (strcasecmp(dot + 1, mime[i].ext) == 0)
            return mime[i].type;
    return NULL;
}

static void keep(void *arg)
{
    (void)arg; /* worker-lifetime memory */
}

/* Hand b->data[a..z] (or the gzip form) to net/http.c without copying it. */
static void send_ref(struct http_request *req, const struct serve_body *b, int status,
                     const unsigned char *p, size_t n)
{
    if (b->unref == NULL) {
        http_reply_ref(req, status, b->type, p, n, keep, NULL);
        return;
    }
    if (b->hold != NULL)
        b->hold(b->arg);
    http_reply_ref(req, status, b->type, p, n, b->unref, b->arg);
}

void serve_reply(struct http_request *req, const struct serve_body *b)
{
    const char *range = b->ranges ? http_header(req, "Range") : NULL;
    const char *if_range = http_header(req, "If-Range");
    const char *tag;
    char cr[96];
    size_t a = 0, z = 0;
    int gz, r = 0;

    if (range != NULL && if_range != NULL && strcmp(if_range, b->etag) != 0)
        range = NULL; /* changed since: the whole body */
    if (range != NULL && b->len > 0)
        r = serve_range(range, b->len, &a, &z);
    /* A range is of the identity body; otherwise gzip when the client takes it. */
    gz = r == 0 && b->gz != NULL && serve_accepts_gzip(http_header(req, "Accept-Encoding"));
    tag = gz ? b->gz_etag : b->etag;
    http_add_header(req, "ETag", tag);
    if (b->cache_control != NULL)
        http_add_header(req, "Cache-Control", b->cache_control);
    if (b->gz != NULL)
        http_add_header(req, "Vary", "Accept-Encoding");
    if (b->ranges)
        http_add_header(req, "Accept-Ranges", "bytes");
    if (serve_etag_match(http_header(req, "If-None-Match"), tag)) {
        http_reply(req, 304, NULL, NULL, 0);
        return;
    }
    if (r < 0) {
        snprintf(cr, sizeof(cr), "bytes */%zu", b->len);
        http_add_header(req, "Content-Range", cr);
        http_reply_error(req, 416, "range_not_satisfiable", "The range starts past the end.");
        return;
    }
    if (r > 0) {
        snprintf(cr, sizeof(cr), "bytes %zu-%zu/%zu", a, z, b->len);
        http_add_header(req, "Content-Range", cr);
        send_ref(req, b, 206, b->data + a, z - a + 1);
        return;
    }
    if (gz) {
        http_add_header(req, "Content-Encoding", "gzip");
        send_ref(req, b, 200, b->gz, b->gz_len);
        return;
    }
    send_ref(req, b, 200, b->data, b->len);
}
