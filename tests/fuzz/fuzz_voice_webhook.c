/*
 * libFuzzer target for the voice webhooks' parsers (gateway/plivo.h, vxml.h, exotel.h and
 * twilio_voice.h's fields): the input is split at its first NUL into a raw query and a
 * form body, parsed by each provider; whatever is accepted must hold only what
 * voice_call.h promises (printable fields within their sizes, keypad digits). The second
 * part also goes to the Greeting renderer as one audio URL, which must never be cut into
 * two lines.
 *
 *   make fuzz && build/fuzz/fuzz_voice_webhook -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "gateway/exotel.h"
#include "gateway/plivo.h"
#include "gateway/twilio_voice.h"
#include "gateway/vxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct voice_call_in *in)
{
    const char *fields[] = {in->call_id, in->from, in->to, in->status};
    size_t i, j;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        for (j = 0; fields[i][j] != '\0'; j++)
            if ((unsigned char)fields[i][j] < 0x20 || (unsigned char)fields[i][j] > 0x7e)
                abort();
    if (strspn(in->digits, "0123456789*#") != strlen(in->digits) ||
        in->has_digits != (in->digits[0] != '\0') || in->duration_s < -1)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *nul;
    struct gateway_error e;
    struct voice_call_in in;
    enum exotel_question q;
    struct twilio_kv kv[2];
    struct voice_step s;
    struct slice body;
    struct buf out;

    memcpy(copy, data, size);
    copy[size] = '\0';
    nul = memchr(copy, '\0', size);
    body.ptr = nul != NULL ? nul + 1 : "";
    body.len = nul != NULL ? size - (size_t)(nul + 1 - copy) : 0;
    if (plivo_parse_form(copy, body, NULL, &in, &e) == 0)
        check(&in);
    if (vxml_parse_form(copy, body, NULL, &in, &e) == 0)
        check(&in);
    if (exotel_parse_form(copy, body, NULL, &in, &q, &e) == 0)
        check(&in);
    kv[0].name = "CallSid";
    kv[0].value = copy;
    kv[1].name = "Digits";
    kv[1].value = body.len > 0 ? body.ptr : "";
    if (twilio_voice_fields(kv, 2, &in, &e) == 0)
        check(&in);
    memset(&s, 0, sizeof(s));
    s.play[0] = body.len > 0 ? body.ptr : copy;
    s.nplay = 1;
    s.hangup = 1;
    buf_init(&out, VOICE_STEP_DOC_MAX);
    if (exotel_greeting(&s, &out) == 0 &&
        (out.len == 0 || memchr(out.data, '\n', out.len) != out.data + out.len - 1))
        abort();
    buf_free(&out);
    free(copy);
    return 0;
}
