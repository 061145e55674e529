/*
 * The inbound voice webhook's common form; see voice_call.h. The providers' parsers give
 * their parameter names; the checks on the values are made here, once.
 */
#include "gateway/voice_call.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "net/form.h"

#define VALUE_MAX 1024 /* a decoded parameter at most: longer than any field */

void voice_call_init(struct voice_call_in *in, const char *provider)
{
    memset(in, 0, sizeof(*in));
    in->provider = provider;
    in->duration_s = -1;
}

/* Copy value into dst (size bytes); 0, or -1 when it does not fit or holds a byte that is
 * not printable ASCII (ids, numbers and statuses are, and they reach logs and keys). */
static int copy(char *dst, size_t size, const char *value)
{
    size_t n = strlen(value), i;

    if (n >= size)
        return -1;
    for (i = 0; i < n; i++)
        if ((unsigned char)value[i] < 0x20 || (unsigned char)value[i] > 0x7e)
            return -1;
    memcpy(dst, value, n + 1);
    return 0;
}

static int set_digits(struct voice_call_in *in, const char *value)
{
    size_t n = strlen(value), i;

    /* Exotel's Passthru sends what its Gather applet collected in double quotes. */
    if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
        value++;
        n -= 2;
    }
    if (n >= sizeof(in->digits))
        return -1;
    for (i = 0; i < n; i++)
        if (strchr("0123456789*#", value[i]) == NULL)
            return -1;
    memcpy(in->digits, value, n);
    in->digits[n] = '\0';
    in->has_digits = n > 0;
    return 0;
}

static int set_duration(struct voice_call_in *in, const char *value)
{
    char *end = NULL;
    long v;

    if (value[0] < '0' || value[0] > '9')
        return -1;
    errno = 0;
    v = strtol(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || v < 0 || v > VOICE_CALL_DURATION_MAX)
        return -1;
    in->duration_s = (int)v;
    return 0;
}

int voice_call_set(struct voice_call_in *in, enum voice_field f, const char *value,
                   struct gateway_error *e)
{
    int rc = -1;

    if (value == NULL)
        goto out;
    switch (f) {
    case VOICE_FIELD_CALL_ID:
        rc = copy(in->call_id, sizeof(in->call_id), value);
        break;
    case VOICE_FIELD_FROM:
        rc = copy(in->from, sizeof(in->from), value);
        break;
    case VOICE_FIELD_TO:
        rc = copy(in->to, sizeof(in->to), value);
        break;
    case VOICE_FIELD_DIGITS:
        rc = set_digits(in, value);
        break;
    case VOICE_FIELD_STATUS:
        rc = copy(in->status, sizeof(in->status), value);
        break;
    case VOICE_FIELD_DURATION:
        rc = set_duration(in, value);
        break;
    }
out:
    if (rc != 0) {
        static const char *const why[] = {
            [VOICE_FIELD_CALL_ID] = "The call id is not valid.",
            [VOICE_FIELD_FROM] = "The caller's number is not valid.",
            [VOICE_FIELD_TO] = "The called number is not valid.",
            [VOICE_FIELD_DIGITS] = "The digits are not valid.",
            [VOICE_FIELD_STATUS] = "The call status is not valid.",
            [VOICE_FIELD_DURATION] = "The call duration is not valid.",
        };

        return gateway_refuse(
            e, 400, "bad_parameter",
            (unsigned)f < sizeof(why) / sizeof(why[0]) ? why[f] : "A parameter is not valid.");
    }
    return 0;
}

int voice_call_fill(struct voice_call_in *in, voice_param_fn get, void *ctx,
                    const struct voice_field_name *names, size_t n, struct gateway_error *e)
{
    unsigned done = 0;
    const char *v;
    size_t i;
    int bad;

    for (i = 0; i < n; i++) {
        unsigned bit = 1u << names[i].field;

        if (done & bit)
            continue;
        bad = 0;
        v = get(ctx, names[i].name, &bad);
        if (bad)
            return gateway_refuse(e, 400, "bad_parameter", "A parameter is not valid.");
        if (v == NULL)
            continue;
        if (voice_call_set(in, names[i].field, v, e) != 0)
            return -1;
        done |= bit;
    }
    return 0;
}

struct form_ctx {
    const char *query;
    struct slice body;
    struct buf value;
};

/* A value of the body, else of the query, decoded into c->value. */
static const char *form_param(void *ctx, const char *name, int *bad)
{
    struct form_ctx *c = ctx;
    int r = form_get(c->body.ptr, c->body.len, name, &c->value);

    if (r == 0 && c->query != NULL)
        r = form_get(c->query, strlen(c->query), name, &c->value);
    if (r == 0)
        return NULL;
    if (r < 0 || memchr(buf_cstr(&c->value), '\0', c->value.len) != NULL) {
        *bad = 1;
        return NULL;
    }
    return buf_cstr(&c->value);
}

int voice_call_from_form(struct voice_call_in *in, const char *query, struct slice body,
                         const struct voice_field_name *names, size_t n, struct gateway_error *e)
{
    struct form_ctx c;
    int rc;

    c.query = query;
    c.body = body;
    buf_init(&c.value, VALUE_MAX);
    rc = voice_call_fill(in, form_param, &c, names, n, e);
    buf_free(&c.value);
    return rc;
}

int voice_call_key_ok(const char *query, const char *key)
{
    struct buf got;
    size_t kl;
    int ok = 0;

    if (key == NULL || key[0] == '\0')
        return 1;
    if (query == NULL)
        return 0;
    kl = strlen(key);
    buf_init(&got, VALUE_MAX);
    if (form_get(query, strlen(query), "key", &got) == 1 && got.len == kl &&
        CRYPTO_memcmp(got.data, key, kl) == 0)
        ok = 1;
    buf_free(&got);
    return ok;
}
