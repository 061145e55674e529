/*
 * WAV files in memory, written and read with libsndfile (virtual I/O, no temporary
 * files): the one format of every clip and every assembled summary, 8 kHz, mono, 16-bit
 * PCM (WAV_RATE), what Exotel requires and Twilio, Plivo and VoiceXML platforms play.
 */
#ifndef HISAAB_MEDIA_WAV_H
#define HISAAB_MEDIA_WAV_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define WAV_RATE 8000
#define WAV_MAX_BYTES (64u << 20) /* a file written or read here, at most */

/* One run of samples to write. */
struct wav_part {
    const int16_t *pcm;
    size_t frames;
};

/*
 * Write the parts, one after the other, as one WAV_RATE mono PCM16 WAV into *out (a
 * malloc'd buffer, *out_len bytes; caller frees). *data_off gets the offset of the first
 * sample in it (may be NULL). Returns 0, or -1 (libsndfile error, WAV_MAX_BYTES).
 */
int wav_write(const struct wav_part *parts, size_t n, unsigned char **out, size_t *out_len,
              size_t *data_off) WUR;

/*
 * Read a WAV from memory: its samples as a malloc'd array (*pcm, *frames; caller frees).
 * Refuses anything but WAV_RATE, mono, 16-bit PCM WAV, with the reason in err. Returns 0
 * or -1.
 */
int wav_read(const void *data, size_t len, int16_t **pcm, size_t *frames, char *err,
             size_t errlen) WUR;

#endif
