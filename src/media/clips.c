/*
 * The clip library; see clips.h. One array of clips sorted by (language, id) for
 * bsearch, each owning its strings and WAV bytes.
 */
#include "media/clips.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "media/wav.h"

#define LINE_MAX_BYTES 4096

struct entry {
    struct clip c;
    char *id, *words;
    unsigned char *wav;
};

static struct {
    struct entry *e;
    size_t n;
    size_t bytes;
    int loaded;
} L;

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;

    if (x->c.lang != y->c.lang)
        return (int)x->c.lang - (int)y->c.lang;
    return strcmp(x->c.id, y->c.id);
}

static void free_entries(struct entry *e, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(e[i].id);
        free(e[i].words);
        free(e[i].wav);
    }
    free(e);
}

int clips_etag(const void *data, size_t len, char out[20])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int i;

    if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
        return -1;
    out[0] = '"';
    for (i = 0; i < 8; i++)
        snprintf(out + 1 + i * 2, 3, "%02x", md[i]);
    out[17] = '"';
    out[18] = '\0';
    return 0;
}

/* The whole file into a malloc'd buffer. Returns 0 or -1 (errno). */
static int slurp(const char *path, unsigned char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p = NULL;
    size_t n = 0, cap = 0, got;

    *data = NULL;
    *len = 0;
    if (f == NULL)
        return -1;
    for (;;) {
        if (n == cap) {
            cap = cap > 0 ? cap * 2 : 65536;
            if (cap > WAV_MAX_BYTES) {
                free(p);
                fclose(f);
                errno = EFBIG;
                return -1;
            }
            p = xrealloc(p, cap);
        }
        got = fread(p + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(p);
        fclose(f);
        return -1;
    }
    fclose(f);
    *data = p;
    *len = n;
    return 0;
}

/* Read one clip's file into e (id, lang, words already set). */
static int load_clip(const char *dir, struct entry *e, char *err, size_t errlen)
{
    char path[2048], why[256];
    unsigned char *raw;
    size_t len, frames, off;
    int16_t *pcm;
    struct wav_part part;

    snprintf(path, sizeof(path), "%s/%s/%s.wav", dir, i18n_lang_code(e->c.lang), e->c.id);
    if (slurp(path, &raw, &len) != 0) {
        snprintf(err, errlen, "clip %s/%s: %s: %s", i18n_lang_code(e->c.lang), e->c.id, path,
                 strerror(errno));
        return -1;
    }
    if (wav_read(raw, len, &pcm, &frames, why, sizeof(why)) != 0) {
        free(raw);
        snprintf(err, errlen, "clip %s/%s: %s: %s", i18n_lang_code(e->c.lang), e->c.id, path, why);
        return -1;
    }
    free(raw);
    if (frames < (size_t)WAV_RATE * CLIPS_MIN_MS / 1000) {
        free(pcm);
        snprintf(err, errlen, "clip %s/%s: %s: only %zu samples (an empty clip)",
                 i18n_lang_code(e->c.lang), e->c.id, path, frames);
        return -1;
    }
    part.pcm = pcm;
    part.frames = frames;
    if (wav_write(&part, 1, &e->wav, &e->c.wav_len, &off) != 0 ||
        clips_etag(e->wav, e->c.wav_len, e->c.etag) != 0) {
        free(pcm);
        snprintf(err, errlen, "clip %s/%s: cannot be written again", i18n_lang_code(e->c.lang),
                 e->c.id);
        return -1;
    }
    free(pcm);
    e->c.wav = e->wav;
    e->c.pcm = (const int16_t *)(const void *)(e->wav + off);
    e->c.frames = frames;
    return 0;
}

/* Split a manifest line at tabs into up to 4 fields (in place). Returns the count. */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;

    while (n < max) {
        f[n++] = p;
        p = strchr(p, '\t');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
    return n;
}

static int valid_id(const char *id)
{
    size_t i, n = strlen(id);

    if (n == 0 || n >= CLIPS_ID_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char ch = id[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return 1;
}

int clips_load(const char *dir, char *err, size_t errlen)
{
    char path[2048], line[LINE_MAX_BYTES], *f[4];
    struct entry *e = NULL;
    size_t n = 0, cap = 0, i, bytes = 0;
    int lineno = 0, nf;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/clips.tsv", dir);
    if ((fp = fopen(path, "r")) == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        size_t len = strlen(line);
        enum i18n_lang lang;

        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0 || line[0] == '#')
            continue;
        nf = split_tabs(line, f, 4);
        if (lineno == 1 && strcmp(f[0], "id") == 0)
            continue; /* a header line */
        if (nf < 3 || !valid_id(f[0]) || i18n_lang_parse(f[1], &lang) != 0) {
            snprintf(err, errlen, "%s:%d: expected id<TAB>hi|en<TAB>words<TAB>source", path,
                     lineno);
            goto fail;
        }
        if (n == CLIPS_MAX) {
            snprintf(err, errlen, "%s:%d: more than %d clips", path, lineno, CLIPS_MAX);
            goto fail;
        }
        if (n == cap) {
            cap = cap > 0 ? cap * 2 : 256;
            e = xrealloc(e, cap * sizeof(*e));
        }
        memset(&e[n], 0, sizeof(e[n]));
        e[n].id = xstrdup(f[0]);
        e[n].words = xstrdup(f[2]);
        e[n].c.id = e[n].id;
        e[n].c.words = e[n].words;
        e[n].c.lang = lang;
        e[n].c.recorded = nf >= 4 && strcmp(f[3], "recorded") == 0;
        n++;
    }
    if (ferror(fp)) {
        snprintf(err, errlen, "%s: read error", path);
        goto fail;
    }
    fclose(fp);
    fp = NULL;
    if (n == 0) {
        snprintf(err, errlen, "%s: no clips", path);
        goto fail;
    }
    qsort(e, n, sizeof(*e), cmp_entry);
    for (i = 1; i < n; i++)
        if (cmp_entry(&e[i - 1], &e[i]) == 0) {
            snprintf(err, errlen, "%s: clip %s/%s listed twice", path, i18n_lang_code(e[i].c.lang),
                     e[i].c.id);
            goto fail;
        }
    for (i = 0; i < n; i++) {
        if (load_clip(dir, &e[i], err, errlen) != 0)
            goto fail;
        bytes += e[i].c.wav_len;
    }
    clips_free();
    L.e = e;
    L.n = n;
    L.bytes = bytes;
    L.loaded = 1;
    return 0;
fail:
    if (fp != NULL)
        fclose(fp);
    free_entries(e, n);
    return -1;
}

int clips_loaded(void)
{
    return L.loaded;
}

const struct clip *clips_get(enum i18n_lang lang, const char *id)
{
    struct entry key, *hit;

    if (!L.loaded || id == NULL)
        return NULL;
    memset(&key, 0, sizeof(key));
    key.c.lang = lang;
    key.c.id = id;
    hit = bsearch(&key, L.e, L.n, sizeof(*L.e), cmp_entry);
    return hit != NULL ? &hit->c : NULL;
}

int clips_require(const char *const *ids, size_t n, char *err, size_t errlen)
{
    static const enum i18n_lang langs[] = {I18N_HI, I18N_EN};
    size_t i, l;

    for (i = 0; i < n; i++)
        for (l = 0; l < sizeof(langs) / sizeof(langs[0]); l++)
            if (clips_get(langs[l], ids[i]) == NULL) {
                snprintf(err, errlen, "clip %s/%s is missing (audio/clips.tsv)",
                         i18n_lang_code(langs[l]), ids[i]);
                return -1;
            }
    return 0;
}

size_t clips_count(void)
{
    return L.n;
}

size_t clips_bytes(void)
{
    return L.bytes;
}

const struct clip *clips_at(size_t i)
{
    return i < L.n ? &L.e[i].c : NULL;
}

void clips_free(void)
{
    free_entries(L.e, L.n);
    memset(&L, 0, sizeof(L));
}
