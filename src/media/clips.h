/*
 * The clip library: every pre-recorded (or, until people record them, synthesised) clip
 * the voice channel says, in Hindi and English, from audio/ (audio/README.md):
 *
 *   audio/clips.tsv          one clip per line: id, language (hi|en), the words said in
 *                            that language's script, and the source ("recorded", or how
 *                            it was synthesised); '#' starts a comment line
 *   audio/<lang>/<id>.wav    the clip: 8 kHz, mono, 16-bit PCM WAV
 *
 * Loaded once by the master before the workers fork, so every worker shares one copy
 * (copy-on-write, never written after). Each clip is checked (format, at least
 * CLIPS_MIN_MS of sound) and kept as the WAV bytes served at /audio/clips/<lang>/<id>.wav,
 * written again by libsndfile so every file has the same plain header; its samples are
 * the tail of those bytes. A clip missing, unreadable or in another format is a start-up
 * error naming it.
 */
#ifndef HISAAB_MEDIA_CLIPS_H
#define HISAAB_MEDIA_CLIPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "text/i18n.h"

#define CLIPS_MAX 4096
#define CLIPS_ID_MAX 48
#define CLIPS_MIN_MS 40 /* shorter than this is an empty clip, refused */

struct clip {
    const char *id; /* "n22", "thousand", "q_welcome", "d1752", "sil250" */
    enum i18n_lang lang;
    const char *words;        /* what it says, in the language's script ("" for a silence) */
    int recorded;             /* 1 when a person recorded it (the manifest's source) */
    const unsigned char *wav; /* the whole WAV as served */
    size_t wav_len;
    const int16_t *pcm; /* its samples (inside wav) */
    size_t frames;
    char etag[20]; /* "\"<16 hex digits>\"": a strong ETag of wav */
};

/*
 * Load the library from dir (clips.tsv and the WAVs). Replaces any library loaded before.
 * Returns 0, or -1 with the reason (the file and the clip) in err.
 */
int clips_load(const char *dir, char *err, size_t errlen) WUR;

/* 1 when a library is loaded. */
int clips_loaded(void);

/* A clip, or NULL. */
const struct clip *clips_get(enum i18n_lang lang, const char *id);

/* Check that every id of ids[0..n) is there in both languages. Returns 0, or -1 naming
 * the first missing clip in err. */
int clips_require(const char *const *ids, size_t n, char *err, size_t errlen) WUR;

/* Clips loaded, and the bytes they hold (for the metrics and the benchmark). */
size_t clips_count(void);
size_t clips_bytes(void);

/* The i-th clip (0 <= i < clips_count()), in (language, id) order. */
const struct clip *clips_at(size_t i);

/* Free the library. */
void clips_free(void);

/* A strong ETag ("\"<16 hex>\"", 19 characters and NUL) of data: SHA-256, first 8 bytes.
 * Returns 0 or -1. */
int clips_etag(const void *data, size_t len, char out[20]) WUR;

#endif
