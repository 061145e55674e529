/*
 * The provider-neutral call step; see voice_step.h. Only the checks every renderer makes
 * live here; the formats are in twilio_voice.c, plivo.c, vxml.c and exotel.c.
 */
#include "gateway/voice_step.h"

#include <string.h>

#include "net/http.h"

int voice_step_url_ok(const char *url)
{
    const unsigned char *p;
    size_t n;

    if (url == NULL || strlen(url) > VOICE_STEP_URL_MAX)
        return 0;
    if (strncmp(url, "https://", 8) == 0)
        n = 8;
    else if (strncmp(url, "http://", 7) == 0)
        n = 7;
    else
        return 0;
    /* A host must follow; blanks and control bytes would end a line (Exotel's greeting)
     * or a header, and a URL is sent percent-encoded anyway. */
    if (url[n] == '\0' || url[n] == '/')
        return 0;
    for (p = (const unsigned char *)url; *p != '\0'; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return 0;
    return 1;
}

int voice_step_check(const struct voice_step *s)
{
    size_t i;

    if (s == NULL || s->nplay > VOICE_STEP_MAX_PLAY)
        return -1;
    for (i = 0; i < s->nplay; i++)
        if (!voice_step_url_ok(s->play[i]))
            return -1;
    /* Exactly one way on: a renderer never has to guess which of two wins. */
    if ((s->gather != 0) + (s->redirect != NULL) + (s->hangup != 0) != 1)
        return -1;
    if (s->gather && (!voice_step_url_ok(s->action) || s->num_digits < 1 ||
                      s->num_digits > VOICE_STEP_MAX_DIGITS || s->timeout_s < 1 ||
                      s->timeout_s > VOICE_STEP_MAX_TIMEOUT))
        return -1;
    if (s->redirect != NULL && !voice_step_url_ok(s->redirect))
        return -1;
    return 0;
}

int voice_step_reply(struct http_request *req, voice_render_fn render, const struct voice_step *s,
                     const char *content_type)
{
    struct voice_step hangup;
    struct buf b;
    int rc = -1;

    buf_init(&b, VOICE_STEP_DOC_MAX);
    if (render(s, &b) == 0) {
        rc = 0;
    } else {
        /* The call ends rather than hangs in silence on a step the flow got wrong. */
        memset(&hangup, 0, sizeof(hangup));
        hangup.hangup = 1;
        buf_reset(&b);
        if (render(&hangup, &b) != 0) {
            http_reply(req, 500, "text/plain; charset=UTF-8", "", 0);
            goto out;
        }
    }
    http_reply(req, 200, content_type, b.data, b.len);
out:
    buf_free(&b);
    return rc;
}
