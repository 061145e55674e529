/*
 * A district's spoken summary, the one the IVR plays, the web app offers and
 * GET /api/v1/districts/{id}/voice describes: the clip ids text/speech.h chooses for the
 * district's latest figures in the directory (the same figures the API and the SMS give),
 * the words those clips say, and one WAV of exactly their samples in that order, written
 * by libsndfile from the preloaded clip library (media/clips.h).
 *
 * Summaries are kept per worker, per (district, language), for the directory they were
 * made from: a new directory (a new data version) drops them all, like every other cache.
 * The cache holds at most VOICESUM_CACHE_BYTES of WAV; past that the least recently used
 * go (making one again takes about a third of a millisecond: the README's figures). They are
 * not shared through Redis: every worker has every clip, and assembling a summary costs
 * less than fetching its few hundred KB from Redis would.
 */
#ifndef HISAAB_MEDIA_VOICESUM_H
#define HISAAB_MEDIA_VOICESUM_H

#include <stddef.h>

#include "data/directory.h"
#include "media/clips.h"
#include "text/i18n.h"

#define VOICESUM_CACHE_BYTES (64u << 20)
#define VOICESUM_CLIPS 64

struct voicesum {
    int state_code, district_code;
    enum i18n_lang lang;
    int year, month;
    size_t nclips;
    const struct clip *clips[VOICESUM_CLIPS];
    char *text; /* the words said, in the language's script */
    unsigned char *wav;
    size_t wav_len;
    char etag[20];
    long long version;       /* of the directory it was made from */
    unsigned long long used; /* for the LRU */
    int refs;                /* the cache's and each reply's still writing it */
};

/* Why there is no summary. */
enum voicesum_status {
    VOICESUM_OK = 0,
    VOICESUM_NO_DATA,      /* the district has no figures */
    VOICESUM_MISSING_CLIP, /* the library lacks a clip it needs (logged: which) */
    VOICESUM_FAILED,       /* libsndfile or memory */
};

/*
 * The summary of row (a district of d, the current directory) in lang: from the cache,
 * or made now. Borrowed until the next voicesum_get() (copy what must live longer).
 */
const struct voicesum *voicesum_get(const struct directory *d, const struct dir_district *row,
                                    enum i18n_lang lang, enum voicesum_status *st);

/* Keep a summary from voicesum_get() alive past the next call (a reply still writing its
 * WAV); each hold is released once. */
void voicesum_hold(const struct voicesum *s);
void voicesum_release(const struct voicesum *s);

/* Per worker: drop the cache on every new directory. Returns 0 or -1. */
int voicesum_init(void) WUR;

/* Per worker, when stopping. */
void voicesum_exit(void);

/* Bytes of WAV cached in this worker and entries (metrics). */
size_t voicesum_cached_bytes(void);
size_t voicesum_cached(void);

/*
 * Make a summary without the cache (for tests and the benchmark): into *out (caller frees
 * with voicesum_free()). Returns the status.
 */
enum voicesum_status voicesum_make(const struct dir_district *row, enum i18n_lang lang,
                                   struct voicesum *out);
void voicesum_free(struct voicesum *s);

#endif
