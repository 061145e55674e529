/*
 * WAV in memory through libsndfile's virtual I/O; see wav.h. libsndfile writes the header
 * when the file is closed (seeking back to fill in the sizes), so the memory file keeps a
 * position and grows on write.
 */
#include "media/wav.h"

#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct memfile {
    unsigned char *data;
    size_t len, cap, pos;
    const unsigned char *ro; /* reading: the borrowed bytes */
    int failed;
};

static sf_count_t mf_len(void *user)
{
    return (sf_count_t)((struct memfile *)user)->len;
}

static sf_count_t mf_seek(sf_count_t off, int whence, void *user)
{
    struct memfile *m = user;
    sf_count_t base = whence == SEEK_CUR   ? (sf_count_t)m->pos
                      : whence == SEEK_END ? (sf_count_t)m->len
                                           : 0;

    if (base + off < 0 || base + off > (sf_count_t)WAV_MAX_BYTES)
        return -1;
    m->pos = (size_t)(base + off);
    return (sf_count_t)m->pos;
}

static sf_count_t mf_read(void *ptr, sf_count_t count, void *user)
{
    struct memfile *m = user;
    const unsigned char *src = m->ro != NULL ? m->ro : m->data;
    size_t n;

    if (count <= 0 || m->pos >= m->len)
        return 0;
    n = m->len - m->pos;
    if ((size_t)count < n)
        n = (size_t)count;
    memcpy(ptr, src + m->pos, n);
    m->pos += n;
    return (sf_count_t)n;
}

static sf_count_t mf_write(const void *ptr, sf_count_t count, void *user)
{
    struct memfile *m = user;
    size_t end;

    if (m->ro != NULL || count < 0)
        return 0;
    end = m->pos + (size_t)count;
    if (end > WAV_MAX_BYTES) {
        m->failed = 1;
        return 0;
    }
    if (end > m->cap) {
        size_t cap = m->cap > 0 ? m->cap : 4096;
        unsigned char *p;

        while (cap < end)
            cap *= 2;
        if ((p = realloc(m->data, cap)) == NULL) {
            m->failed = 1;
            return 0;
        }
        m->data = p;
        m->cap = cap;
    }
    if (m->pos > m->len)
        memset(m->data + m->len, 0, m->pos - m->len);
    memcpy(m->data + m->pos, ptr, (size_t)count);
    m->pos = end;
    if (end > m->len)
        m->len = end;
    return count;
}

static sf_count_t mf_tell(void *user)
{
    return (sf_count_t)((struct memfile *)user)->pos;
}

static SF_VIRTUAL_IO vio = {mf_len, mf_seek, mf_read, mf_write, mf_tell};

int wav_write(const struct wav_part *parts, size_t n, unsigned char **out, size_t *out_len,
              size_t *data_off)
{
    struct memfile m;
    SF_INFO info;
    SNDFILE *sf;
    size_t i, frames = 0;
    int ok = 1;

    *out = NULL;
    *out_len = 0;
    memset(&m, 0, sizeof(m));
    for (i = 0; i < n; i++)
        frames += parts[i].frames;
    /* Room for the header and every sample at once: one allocation in the common case. */
    m.cap = 4096 + frames * 2;
    if (m.cap > WAV_MAX_BYTES)
        return -1;
    if ((m.data = malloc(m.cap)) == NULL)
        return -1;
    memset(&info, 0, sizeof(info));
    info.samplerate = WAV_RATE;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    if ((sf = sf_open_virtual(&vio, SFM_WRITE, &info, &m)) == NULL) {
        free(m.data);
        return -1;
    }
    for (i = 0; i < n && ok; i++)
        if (parts[i].frames > 0 && sf_writef_short(sf, parts[i].pcm, (sf_count_t)parts[i].frames) !=
                                       (sf_count_t)parts[i].frames)
            ok = 0;
    if (sf_close(sf) != 0 || !ok || m.failed || m.len < frames * 2) {
        free(m.data);
        return -1;
    }
    *out = m.data;
    *out_len = m.len;
    if (data_off != NULL)
        *data_off = m.len - frames * 2; /* the data chunk is the last one written */
    return 0;
}

int wav_read(const void *data, size_t len, int16_t **pcm, size_t *frames, char *err, size_t errlen)
{
    struct memfile m;
    SF_INFO info;
    SNDFILE *sf;
    int16_t *p;
    sf_count_t got;

    *pcm = NULL;
    *frames = 0;
    memset(&m, 0, sizeof(m));
    m.ro = data;
    m.len = len;
    memset(&info, 0, sizeof(info));
    if ((sf = sf_open_virtual(&vio, SFM_READ, &info, &m)) == NULL) {
        snprintf(err, errlen, "not a sound file (%s)", sf_strerror(NULL));
        return -1;
    }
    if ((info.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAV ||
        (info.format & SF_FORMAT_SUBMASK) != SF_FORMAT_PCM_16 || info.channels != 1 ||
        info.samplerate != WAV_RATE) {
        snprintf(err, errlen, "%d Hz, %d channel(s), format 0x%x: not 8000 Hz mono 16-bit PCM WAV",
                 info.samplerate, info.channels, (unsigned)info.format);
        sf_close(sf);
        return -1;
    }
    if (info.frames <= 0 || (size_t)info.frames > WAV_MAX_BYTES / 2) {
        snprintf(err, errlen, "no samples");
        sf_close(sf);
        return -1;
    }
    if ((p = malloc((size_t)info.frames * sizeof(*p))) == NULL) {
        snprintf(err, errlen, "out of memory");
        sf_close(sf);
        return -1;
    }
    got = sf_readf_short(sf, p, info.frames);
    sf_close(sf);
    if (got != info.frames) {
        snprintf(err, errlen, "truncated (%lld of %lld frames)", (long long)got,
                 (long long)info.frames);
        free(p);
        return -1;
    }
    *pcm = p;
    *frames = (size_t)info.frames;
    return 0;
}
