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
#include "net/serve.h"

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
    e->gz = serve_gzip(body, len, 6, &e->gz_len);
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
