/*
 * The district API's per-worker response cache; see api_cache.h. A fixed table of
 * buckets with chained entries (FNV-1a on the key); everything lives in one process, so
 * no locking.
 */
#include "api/api_cache.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <zlib.h>

#include "core/mem.h"

#define NBUCKETS 1024

static struct {
    struct api_cache_entry *buckets[NBUCKETS];
    size_t bytes;
    size_t count;
    unsigned long long gen;
    long long version;
} cache = {.version = -1};

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#define FNV_BASIS 14695981039346656037ULL

static size_t bucket_of(const char *key)
{
    return (size_t)(fnv1a(key, strlen(key), FNV_BASIS) % NBUCKETS);
}

static long long now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

static void entry_free(struct api_cache_entry *e)
{
    free(e->key);
    free(e->body);
    free(e->gz);
    free(e);
}

const struct api_cache_entry *api_cache_get(const char *key)
{
    struct api_cache_entry *e, **link;

    for (link = &cache.buckets[bucket_of(key)]; (e = *link) != NULL; link = &e->next) {
        if (strcmp(e->key, key) != 0)
            continue;
        if (now_s() - e->born < API_CACHE_TTL)
            return e;
        *link = e->next;
        cache.bytes -= e->body_len + e->gz_len + strlen(e->key);
        cache.count--;
        entry_free(e);
        return NULL;
    }
    return NULL;
}

unsigned long long api_cache_generation(void)
{
    return cache.gen;
}

long long api_cache_version(void)
{
    return cache.version;
}

size_t api_cache_clear(void)
{
    struct api_cache_entry *e, *next;
    size_t i, n = cache.count;

    for (i = 0; i < NBUCKETS; i++) {
        for (e = cache.buckets[i]; e != NULL; e = next) {
            next = e->next;
            entry_free(e);
        }
        cache.buckets[i] = NULL;
    }
    cache.bytes = 0;
    cache.count = 0;
    cache.gen++;
    return n;
}

void api_cache_set_version(long long version)
{
    if (version == cache.version)
        return;
    api_cache_clear();
    cache.version = version;
}

const struct api_cache_entry *api_cache_put(const char *key, unsigned long long gen,
                                            const char *body, size_t len, const char *etag)
{
    struct api_cache_entry *e = NULL;
    size_t b, elen;

    if (gen != cache.gen || strlen(key) >= API_CACHE_KEY_MAX || api_cache_get(key) != NULL ||
        len > API_CACHE_MAX_BYTES || cache.bytes > API_CACHE_MAX_BYTES - len)
        goto out;
    elen = strlen(etag);
    if (elen < 2 || elen >= sizeof(e->etag))
        goto out;
    e = xcalloc(1, sizeof(*e));
    e->key = xstrdup(key);
    e->body = xmalloc(len + 1);
    memcpy(e->body, body, len);
    e->body[len] = '\0';
    e->body_len = len;
    e->gz = api_cache_gzip(body, len, &e->gz_len);
    memcpy(e->etag, etag, elen + 1);
    /* Same tag with "-gz" before the closing quote: another representation. */
    snprintf(e->gz_etag, sizeof(e->gz_etag), "%.*s-gz\"", (int)(elen - 1), etag);
    e->born = now_s();
    cache.bytes += len + e->gz_len + strlen(key);
    cache.count++;
    b = bucket_of(key);
    e->next = cache.buckets[b];
    cache.buckets[b] = e;
out:
    return e;
}

void api_cache_etag(long long version, const char *data, size_t len, char *out, size_t n)
{
    snprintf(out, n, "\"v%lld-%016llx\"", version, (unsigned long long)fnv1a(data, len, FNV_BASIS));
}

char *api_cache_gzip(const char *data, size_t len, size_t *out_len)
{
    z_stream z;
    char *out = NULL;
    uLong bound;

    memset(&z, 0, sizeof(z));
    /* windowBits 15 + 16: a gzip wrapper rather than zlib's. */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
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

int api_cache_etag_match(const char *inm, const char *etag)
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

int api_cache_accepts_gzip(const char *ae)
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
