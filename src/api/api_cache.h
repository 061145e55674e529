/*
 * The district API's response cache: per worker, in memory, keyed by the request (path
 * plus its validated parameters). An entry holds the complete pre-rendered JSON body
 * (with "cached":true), its gzip form and a strong ETag, so a hit is answered without
 * touching Postgres or building anything.
 *
 * Entries belong to one data version. api_cache_set_version() with a new version (from
 * the ETL's Redis message or the periodic poll of data_version) drops them all, as does
 * api_cache_clear(). A generation counter lets a request that started before a drop
 * notice that its answer must not be stored. Memory is capped: when full, new answers
 * are simply not stored.
 */
#ifndef HISAAB_API_CACHE_H
#define HISAAB_API_CACHE_H

#include <stddef.h>

/* Most bytes of bodies (plain + gzip) held per worker. */
#define API_CACHE_MAX_BYTES (24u << 20)
/* Longest key. */
#define API_CACHE_KEY_MAX 256
/* Seconds an entry lives even without a new data version (so `stale` and the like are
 * at most this late). */
#define API_CACHE_TTL 3600

struct api_cache_entry {
    char *key;
    char *body; /* JSON, "cached":true */
    size_t body_len;
    char *gz; /* gzip of body; NULL when compression failed */
    size_t gz_len;
    char etag[48];    /* strong, quoted: "v<version>-<hash>" */
    char gz_etag[52]; /* the gzip representation's: "v<version>-<hash>-gz" */
    long long born;   /* monotonic seconds when stored */
    struct api_cache_entry *next;
};

/* The entry for key (NULL when absent or older than API_CACHE_TTL, which drops it).
 * Borrowed until the next api_cache_* call that changes the cache. */
const struct api_cache_entry *api_cache_get(const char *key);

/*
 * Store body (copied) with its ETag (from api_cache_etag()) under key if the cache was not
 * dropped since generation `gen` (see api_cache_generation()), the key is new and there is
 * room; returns the entry or NULL (not stored).
 */
const struct api_cache_entry *api_cache_put(const char *key, unsigned long long gen,
                                            const char *body, size_t len, const char *etag);

/* The current generation: changes whenever the cache is dropped. */
unsigned long long api_cache_generation(void);

/* The data version entries belong to (-1 before it is known). */
long long api_cache_version(void);

/* Record the data version; a different one than before drops every entry. */
void api_cache_set_version(long long version);

/* Drop every entry; returns how many there were. */
size_t api_cache_clear(void);

/*
 * The strong ETag of data text (len bytes) at version into out (>= 48 bytes):
 * "\"v<version>-<16 hex>\"".
 */
void api_cache_etag(long long version, const char *data, size_t len, char *out, size_t n);

/* gzip, entity tags and Accept-Encoding: net/serve.h. */

#endif
