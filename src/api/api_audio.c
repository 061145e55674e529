/*
 * Audio over HTTP; see api_audio.h.
 */
#include "api/api_audio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_limit.h"
#include "api/api_reply.h"
#include "core/buf.h"
#include "core/mem.h"
#include "data/directory.h"
#include "media/clips.h"
#include "media/voicesum.h"
#include "net/config.h"
#include "net/http.h"
#include "net/serve.h"

static struct {
    char *public_url;
    char summary_cc[64];
    int started;
} A;

/* Clips change only with a new release: a day. */
#define CLIP_CACHE_CONTROL "public, max-age=86400"

static void hold_summary(void *arg)
{
    voicesum_hold(arg);
}

static void release_summary(void *arg)
{
    voicesum_release(arg);
}

/* Answer with a WAV body (or its range), as api_audio.h says, without copying it: a clip
 * lives as long as the worker; a summary (vs, may be NULL) is held until written. */
static void serve_wav(struct http_request *req, const unsigned char *data, size_t len,
                      const char *etag, const char *cache_control, const struct voicesum *vs)
{
    struct serve_body b;

    memset(&b, 0, sizeof(b));
    b.data = data;
    b.len = len;
    b.etag = etag;
    b.type = "audio/wav";
    b.cache_control = cache_control;
    b.ranges = 1;
    if (vs != NULL) {
        b.hold = hold_summary;
        b.unref = release_summary;
        b.arg = (void *)vs;
    }
    serve_reply(req, &b);
}

void api_audio_clip(struct http_request *req)
{
    const char *p = http_path(req), *lang_s, *id, *dot;
    char lang_code[4], cid[CLIPS_ID_MAX];
    enum i18n_lang lang;
    const struct clip *c;

    /* /audio/clips/<lang>/<id>.wav (the route's pattern checked the shape) */
    lang_s = p + strlen("/audio/clips/");
    id = strchr(lang_s, '/');
    dot = id != NULL ? strrchr(id, '.') : NULL;
    if (id == NULL || dot == NULL || id - lang_s != 2 || (size_t)(dot - id - 1) >= sizeof(cid)) {
        http_reply_error(req, 404, "unknown_clip", "There is no such clip.");
        return;
    }
    memcpy(lang_code, lang_s, 2);
    lang_code[2] = '\0';
    memcpy(cid, id + 1, (size_t)(dot - id - 1));
    cid[dot - id - 1] = '\0';
    if (i18n_lang_parse(lang_code, &lang) != 0 || (c = clips_get(lang, cid)) == NULL) {
        http_reply_error(req, 404, "unknown_clip", "There is no such clip.");
        return;
    }
    serve_wav(req, c->wav, c->wav_len, c->etag, CLIP_CACHE_CONTROL, NULL);
}

/* The district and language of a summary request, or 0 when answered (error). */
static const struct dir_district *summary_row(struct http_request *req, int district_code,
                                              enum i18n_lang lang, const struct voicesum **out)
{
    const struct directory *d = directory_current();
    const struct dir_district *row;
    enum voicesum_status st;

    *out = NULL;
    if (d == NULL) {
        api_reply_unavailable(req); /* callers wait for the first directory before */
        return NULL;
    }
    if (!d->loaded) {
        api_reply_no_data(req);
        return NULL;
    }
    row = directory_find(d, district_code);
    if (row == NULL || row->summary[lang] == NULL) {
        api_reply_not_found(req, "unknown_district");
        return NULL;
    }
    *out = voicesum_get(d, row, lang, &st);
    if (*out == NULL) {
        if (st == VOICESUM_NO_DATA)
            http_reply_error(req, 404, "no_figures",
                             "There are no figures for this district yet, so nothing to say.");
        else if (st == VOICESUM_MISSING_CLIP)
            http_reply_error(req, 404, "no_audio",
                             "This district's name has not been recorded yet.");
        else
            http_reply_error(req, 500, "internal", "The audio could not be made.");
        return NULL;
    }
    return row;
}

/* The digits after prefix up to the next '/', or -1. */
static int path_code(const char *p, const char *prefix)
{
    size_t n = strlen(prefix), i;
    long v = 0;

    if (strncmp(p, prefix, n) != 0)
        return -1;
    for (i = n; p[i] >= '0' && p[i] <= '9' && i - n < 9; i++)
        v = v * 10 + (p[i] - '0');
    return i > n && (p[i] == '/' || p[i] == '\0') ? (int)v : -1;
}

/* A request that came before this worker's first directory: answered once it is built. */
struct waiting {
    struct http_request *req;
    int voice;
    int code;
    enum i18n_lang lang;
};

static void district_answer(struct http_request *req, int code, enum i18n_lang lang);
static void voice_answer(struct http_request *req, int code, enum i18n_lang lang);

static void directory_came(void *arg, const struct directory *d)
{
    struct waiting *w = arg;

    if (d == NULL)
        api_reply_unavailable(w->req);
    else if (w->voice)
        voice_answer(w->req, w->code, w->lang);
    else
        district_answer(w->req, w->code, w->lang);
    free(w);
}

/* 1 when the request waits for the first directory (or was answered 503). */
static int wait_for_directory(struct http_request *req, int voice, int code, enum i18n_lang lang)
{
    struct waiting *w;

    if (directory_current() != NULL)
        return 0;
    w = xcalloc(1, sizeof(*w));
    w->req = req;
    w->voice = voice;
    w->code = code;
    w->lang = lang;
    if (directory_when_ready(directory_came, w) != 0) {
        free(w);
        api_reply_unavailable(req);
    }
    return 1;
}

static void district_answer(struct http_request *req, int code, enum i18n_lang lang)
{
    const struct voicesum *vs;

    if (summary_row(req, code, lang, &vs) == NULL)
        return;
    serve_wav(req, vs->wav, vs->wav_len, vs->etag, A.summary_cc, vs);
}

void api_audio_district(struct http_request *req)
{
    const char *p = http_path(req), *slash;
    enum i18n_lang lang;
    char code[4];
    int id = path_code(p, "/audio/districts/");

    slash = strrchr(p, '/');
    if (id < 0 || slash == NULL || strlen(slash) != 7) {
        api_reply_not_found(req, "unknown_district");
        return;
    }
    memcpy(code, slash + 1, 2);
    code[2] = '\0';
    if (i18n_lang_parse(code, &lang) != 0) {
        api_reply_not_found(req, "unknown_district");
        return;
    }
    if (!wait_for_directory(req, 0, id, lang))
        district_answer(req, id, lang);
}

static void voice_run(struct http_request *req)
{
    const char *lang_s = http_param(req, "lang");
    enum i18n_lang lang = I18N_EN;
    int code = path_code(http_path(req), "/api/v1/districts/");

    if (lang_s != NULL && i18n_lang_parse(lang_s, &lang) != 0) {
        api_reply_bad_param(req, "lang");
        return;
    }
    if (code < 0) {
        api_reply_not_found(req, "unknown_district");
        return;
    }
    if (!wait_for_directory(req, 1, code, lang))
        voice_answer(req, code, lang);
}

static void voice_answer(struct http_request *req, int code, enum i18n_lang lang)
{
    const struct dir_district *row;
    const struct voicesum *vs;
    struct buf url, body;
    json_t *clips, *data;
    char month[16], id[64];
    char *text;
    size_t i;

    if ((row = summary_row(req, code, lang, &vs)) == NULL)
        return;
    buf_init(&url, 4096);
    if (http_base_url(req, A.public_url, &url) != 0)
        buf_reset(&url); /* then a path the client resolves itself */
    if (buf_printf(&url, "/audio/districts/%d/%s.wav", row->district_code, i18n_lang_code(lang)) !=
        0) {
        buf_free(&url);
        http_reply_error(req, 500, "internal", "The answer could not be rendered.");
        return;
    }
    clips = json_array();
    for (i = 0; i < vs->nclips; i++) {
        snprintf(id, sizeof(id), "%s/%s", i18n_lang_code(lang), vs->clips[i]->id);
        json_array_append_new(clips, json_string(id));
    }
    snprintf(month, sizeof(month), "%04d-%02d", vs->year, vs->month);
    data = json_pack("{s:o, s:s, s:s, s:s, s:o, s:s, s:I, s:s}", "district",
                     api_district_json(row, (int)lang), "lang", i18n_lang_code(lang), "month",
                     month, "text", vs->text, "clips", clips, "audio_url", buf_cstr(&url),
                     "audio_bytes", (json_int_t)vs->wav_len, "audio_etag", vs->etag);
    buf_free(&url);
    text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    buf_init(&body, 1u << 20);
    if (text == NULL || api_envelope(&body, text, strlen(text), 0) != 0) {
        free(text);
        buf_free(&body);
        http_reply_error(req, 500, "internal", "The answer could not be rendered.");
        return;
    }
    free(text);
    http_add_header(req, "Cache-Control", A.summary_cc);
    http_reply(req, 200, "application/json; charset=utf-8", body.data, body.len);
    buf_free(&body);
}

void api_voice(struct http_request *req)
{
    api_limit_run_cached(req, voice_run);
}

int api_audio_init(const struct config *cfg)
{
    memset(&A, 0, sizeof(A));
    A.public_url = cfg->public_url != NULL ? xstrdup(cfg->public_url) : NULL;
    snprintf(A.summary_cc, sizeof(A.summary_cc), "public, max-age=%d",
             cfg->cache_max_age > 0 ? cfg->cache_max_age : 300);
    if (voicesum_init() != 0)
        return -1;
    A.started = 1;
    return 0;
}

void api_audio_exit(void)
{
    voicesum_exit();
    free(A.public_url);
    memset(&A, 0, sizeof(A));
}
