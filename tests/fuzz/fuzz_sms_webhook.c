/*
 * libFuzzer target for what the SMS channel does with outside bytes before its core sees
 * them: the inbound text decoded in each of Kannel's charsets (text/charset.h; the output
 * must be valid UTF-8), clipping to the DLT limit (text/grapheme.h: never longer, never
 * cutting a UTF-8 sequence), the journal's array element (data/journal.h) and the TwiML
 * escaping (gateway/twilio.h) of the result, and the summary formatter (text/summary.h) on
 * arbitrary JSON. The first byte picks the charset and the clip length.
 *
 *   make fuzz && build/fuzz/fuzz_sms_webhook -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "data/journal.h"
#include "gateway/twilio.h"
#include "text/charset.h"
#include "text/grapheme.h"
#include "text/i18n.h"
#include "text/smsenc.h"
#include "text/summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int loaded;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const charsets[] = {"UTF-8",        "UTF-16BE", "UCS-2",  "ISO-8859-1",
                                           "WINDOWS-1252", "",         "KOI8-R", NULL};
    struct smsenc_info info;
    struct buf out, arr, xml, sum;
    char clipped[256];
    const char *cs;
    size_t max;

    if (!loaded) {
        char err[256];

        /* Run from the repository root; without the templates only the summary is skipped. */
        loaded = i18n_load("assets/templates", err, sizeof(err)) == 0 ? 1 : -1;
    }
    if (size < 1)
        return 0;
    cs = charsets[data[0] % 8];
    max = (size_t)(data[0] >> 3);
    buf_init(&out, 8192);
    buf_init(&arr, 65536);
    buf_init(&xml, 65536);
    buf_init(&sum, 4096);
    if (charset_to_utf8((const char *)data + 1, size - 1, cs, &out) == 0) {
        const char *s = buf_cstr(&out);

        if (memchr(s, '\0', out.len) == NULL) {
            if (smsenc_analyse(s, out.len, &info) != 0)
                abort(); /* decoded text must be valid UTF-8 */
            if (grapheme_clip(s, max, clipped, sizeof(clipped)) == 0) {
                if (strlen(clipped) > out.len || strncmp(clipped, s, strlen(clipped)) != 0 ||
                    smsenc_analyse(clipped, strlen(clipped), &info) != 0 || info.chars > max)
                    abort();
            }
            if (journal_array_elem(s, out.len, &arr) != 0 && out.len < 30000)
                abort();
            (void)twilio_twiml(s, &xml);
        }
    }
    if (loaded == 1)
        (void)summary_format(data[0] & 1 ? I18N_HI : I18N_EN, (const char *)data + 1, size - 1,
                             &sum);
    buf_free(&out);
    buf_free(&arr);
    buf_free(&xml);
    buf_free(&sum);
    return 0;
}
