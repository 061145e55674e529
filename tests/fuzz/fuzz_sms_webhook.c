/*
 * libFuzzer target for what the SMS webhooks do with outside bytes before the core sees
 * them (src/sms.c): the inbound text decoded in each of Kannel's charsets (the output must
 * be valid UTF-8), clipping to the DLT limit (never longer, never cutting a UTF-8
 * sequence), the Postgres array element and the TwiML escaping of the result, and the
 * summary formatter on arbitrary JSON. The first byte picks the charset and the clip
 * length.
 *
 *   make fuzz && build/fuzz/fuzz_sms_webhook -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "text/i18n.h"
#include "sms/sms.h"
#include "text/smsenc.h"

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
    if (sms_decode_text((const char *)data + 1, size - 1, cs, &out) == 0) {
        const char *s = buf_cstr(&out);

        if (memchr(s, '\0', out.len) == NULL) {
            if (smsenc_analyse(s, out.len, &info) != 0)
                abort(); /* decoded text must be valid UTF-8 */
            if (sms_clip(s, max, clipped, sizeof(clipped)) == 0) {
                if (strlen(clipped) > out.len || strncmp(clipped, s, strlen(clipped)) != 0 ||
                    smsenc_analyse(clipped, strlen(clipped), &info) != 0 || info.chars > max)
                    abort();
            }
            if (sms_pg_array_elem(s, &arr) != 0 && out.len < 30000)
                abort();
            (void)sms_twiml(s, &xml);
        }
    }
    if (loaded == 1)
        (void)sms_format_summary(data[0] & 1 ? I18N_HI : I18N_EN, (const char *)data + 1, size - 1,
                                 &sum);
    buf_free(&out);
    buf_free(&arr);
    buf_free(&xml);
    buf_free(&sum);
    return 0;
}
