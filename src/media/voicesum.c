/*
 * Spoken summaries; see voicesum.h. The cache is a small array searched linearly: a
 * worker holds a few hundred summaries at most (VOICESUM_CACHE_BYTES).
 */
#include "media/voicesum.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "media/wav.h"
#include "text/speech.h"

#define CACHE_SLOTS 1024

static struct {
    struct voicesum **e;
    size_t n, cap;
    size_t bytes;
    unsigned long long tick;
    long long version;
    int listening;
} C;

void voicesum_free(struct voicesum *s)
{
    if (s == NULL)
        return;
    free(s->text);
    free(s->wav);
    memset(s, 0, sizeof(*s));
}

enum voicesum_status voicesum_make(const struct dir_district *row, enum i18n_lang lang,
                                   struct voicesum *out)
{
    const char *ids[SPEECH_SUMMARY_IDS];
    char did[SPEECH_ID_MAX];
    struct wav_part parts[VOICESUM_CLIPS];
    struct buf text;
    size_t n = 0, i;

    memset(out, 0, sizeof(*out));
    if (row == NULL || !row->has_id || !row->has_facts || !summary_facts_any(&row->facts))
        return VOICESUM_NO_DATA;
    if (speech_district_id(row->district_code, did, sizeof(did)) != 0 ||
        speech_summary(lang, did, &row->facts, ids, SPEECH_SUMMARY_IDS, &n) != 0 ||
        n > VOICESUM_CLIPS) {
        log_error("voice: the summary of district %d cannot be said", row->district_code);
        return VOICESUM_FAILED;
    }
    for (i = 0; i < n; i++) {
        const struct clip *c = clips_get(lang, ids[i]);

        if (c == NULL) {
            log_warn("voice: clip %s/%s is missing: no summary for district %d",
                     i18n_lang_code(lang), ids[i], row->district_code);
            return VOICESUM_MISSING_CLIP;
        }
        out->clips[i] = c;
        parts[i].pcm = c->pcm;
        parts[i].frames = c->frames;
    }
    out->nclips = n;
    out->state_code = row->state_code;
    out->district_code = row->district_code;
    out->lang = lang;
    out->year = row->facts.year;
    out->month = row->facts.month;
    /* The words: each clip's, in order, a silence saying nothing. */
    buf_init(&text, 16384);
    for (i = 0; i < n; i++) {
        const char *w = out->clips[i]->words;

        if (w[0] == '\0')
            continue;
        if ((text.len > 0 && buf_puts(&text, " ") != 0) || buf_puts(&text, w) != 0) {
            buf_free(&text);
            return VOICESUM_FAILED;
        }
    }
    out->text = buf_steal(&text, NULL);
    buf_free(&text);
    if (wav_write(parts, n, &out->wav, &out->wav_len, NULL) != 0 ||
        clips_etag(out->wav, out->wav_len, out->etag) != 0) {
        voicesum_free(out);
        return VOICESUM_FAILED;
    }
    return VOICESUM_OK;
}

void voicesum_hold(const struct voicesum *s)
{
    ((struct voicesum *)s)->refs++;
}

void voicesum_release(const struct voicesum *cs)
{
    struct voicesum *s = (struct voicesum *)cs;

    if (--s->refs > 0)
        return;
    voicesum_free(s);
    free(s);
}

/* Out of the cache (still alive while a reply holds it). */
static void evict(size_t i)
{
    C.bytes -= C.e[i]->wav_len;
    voicesum_release(C.e[i]);
    C.e[i] = C.e[C.n - 1];
    C.n--;
}

static void drop_all(void)
{
    while (C.n > 0)
        evict(C.n - 1);
}

/* Room for one more of `bytes`: the least recently used go first. */
static void make_room(size_t bytes)
{
    while (C.n > 0 && (C.bytes + bytes > VOICESUM_CACHE_BYTES || C.n == CACHE_SLOTS)) {
        size_t i, lru = 0;

        for (i = 1; i < C.n; i++)
            if (C.e[i]->used < C.e[lru]->used)
                lru = i;
        evict(lru);
    }
}

const struct voicesum *voicesum_get(const struct directory *d, const struct dir_district *row,
                                    enum i18n_lang lang, enum voicesum_status *st)
{
    struct voicesum *made;
    enum voicesum_status s;
    size_t i;

    if (d == NULL || row == NULL) {
        *st = VOICESUM_NO_DATA;
        return NULL;
    }
    if (d->version != C.version) {
        drop_all();
        C.version = d->version;
    }
    for (i = 0; i < C.n; i++)
        if (C.e[i]->district_code == row->district_code && C.e[i]->state_code == row->state_code &&
            C.e[i]->lang == lang) {
            C.e[i]->used = ++C.tick;
            *st = VOICESUM_OK;
            return C.e[i];
        }
    made = xcalloc(1, sizeof(*made));
    if ((s = voicesum_make(row, lang, made)) != VOICESUM_OK) {
        free(made);
        *st = s;
        return NULL;
    }
    made->version = d->version;
    made->used = ++C.tick;
    made->refs = 1; /* the cache's */
    make_room(made->wav_len);
    if (C.n == C.cap) {
        C.cap = C.cap > 0 ? C.cap * 2 : 64;
        C.e = xrealloc(C.e, C.cap * sizeof(*C.e));
    }
    C.e[C.n++] = made;
    C.bytes += made->wav_len;
    *st = VOICESUM_OK;
    return made;
}

static void on_directory(void *arg, const struct directory *d)
{
    (void)arg;
    drop_all();
    C.version = d != NULL ? d->version : 0;
}

int voicesum_init(void)
{
    if (C.listening)
        return 0;
    if (directory_listen(on_directory, NULL) != 0)
        return -1;
    C.listening = 1;
    return 0;
}

void voicesum_exit(void)
{
    drop_all();
    free(C.e);
    memset(&C, 0, sizeof(C));
}

size_t voicesum_cached_bytes(void)
{
    return C.bytes;
}

size_t voicesum_cached(void)
{
    return C.n;
}
