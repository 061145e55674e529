/*
 * Audio over HTTP, for telephony platforms (which probe with HEAD and cache by URL), the
 * web app and partners:
 *
 *   GET /api/v1/districts/{id}/voice?lang=hi|en   the spoken summary described (JSON:
 *       district, lang, month, text, clips ["hi/n22", ...], audio_url)
 *   GET /audio/districts/{id}/{lang}.wav           that summary as one WAV
 *   GET /audio/clips/{lang}/{id}.wav               one clip of the library
 *
 * The WAVs answer HEAD, carry a strong ETag (If-None-Match: 304), Content-Length and
 * Accept-Ranges, and honour one Range (206 with Content-Range; 416 when it starts past the
 * end; several ranges get the whole file). They are not rate limited per address: a
 * provider fetches every caller's audio from a few addresses, and each answer is served
 * from memory.
 */
#ifndef HISAAB_API_AUDIO_H
#define HISAAB_API_AUDIO_H

#include <stddef.h>

struct config;
struct http_request;

/* Per worker (after the directory). Returns 0 or -1. */
int api_audio_init(const struct config *cfg) __attribute__((warn_unused_result));
void api_audio_exit(void);

/* Handlers. */
void api_voice(struct http_request *req);
void api_audio_district(struct http_request *req);
void api_audio_clip(struct http_request *req);

#endif
