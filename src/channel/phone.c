/*
 * Phone number normalisation and keyed hashing; see phone.h.
 */
#include "channel/phone.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/params.h>

/* Longest raw input looked at: separators included, a real number is far shorter. */
#define RAW_MAX 40

int phone_normalise(const char *raw, char *out, size_t outlen)
{
    char d[RAW_MAX];
    size_t n = 0, i, len;
    int plus = 0, rc = -1;
    const char *p;

    if (out == NULL || outlen < PHONE_E164_MAX)
        return -1;
    out[0] = '\0';
    if (raw == NULL)
        goto out;
    len = strlen(raw);
    if (len >= RAW_MAX)
        goto out;
    for (i = 0; i < len; i++) {
        char c = raw[i];

        if (c >= '0' && c <= '9')
            d[n++] = c;
        else if (c == '+' && n == 0 && !plus)
            plus = 1;
        else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')')
            goto out;
    }
    d[n] = '\0';
    p = d;
    if (!plus && n > 2 && d[0] == '0' && d[1] == '0') {
        /* 00 is the international prefix. */
        plus = 1;
        p += 2;
        n -= 2;
    }
    if (n == 12 && memcmp(p, "91", 2) == 0 && p[2] >= '6' && p[2] <= '9') {
        p += 2;
        n = 10;
    } else if (!plus && n == 11 && p[0] == '0') {
        p += 1;
        n = 10;
    } else if (!plus && n == 10 && p[0] >= '6' && p[0] <= '9') {
        /* A bare Indian mobile number. */
    } else {
        if (n < (plus ? 6u : 3u) || n > 15)
            goto out;
        out[0] = '+';
        memcpy(out + 1, p, n);
        out[n + 1] = '\0';
        rc = 0;
        goto out;
    }
    if (n != 10)
        goto out;
    memcpy(out, "+91", 3);
    memcpy(out + 3, p, 10);
    out[13] = '\0';
    rc = 0;
out:
    return rc;
}

/*
 * A keyed HMAC-SHA256 context for the last secret seen, copied for each hash: the
 * one-shot HMAC() looks the algorithm up and sets the key on every call, which costs more
 * than the hash itself (a worker hashes every message's sender). One per process.
 */
static struct {
    EVP_MAC_CTX *ctx;
    unsigned char key[256];
    size_t key_len;
} keyed;

static EVP_MAC_CTX *keyed_ctx(const char *secret, size_t secret_len)
{
    OSSL_PARAM params[2];
    EVP_MAC *mac;

    if (keyed.ctx != NULL && keyed.key_len == secret_len &&
        memcmp(keyed.key, secret, secret_len) == 0)
        return keyed.ctx;
    EVP_MAC_CTX_free(keyed.ctx);
    keyed.ctx = NULL;
    if (secret_len > sizeof(keyed.key) || (mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
        return NULL;
    keyed.ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    /* An empty key is HMAC's all-zero key; EVP_MAC_init wants a non-NULL pointer. */
    if (keyed.ctx == NULL ||
        EVP_MAC_init(keyed.ctx, (const unsigned char *)(secret_len > 0 ? secret : "\0"), secret_len,
                     params) != 1) {
        EVP_MAC_CTX_free(keyed.ctx);
        keyed.ctx = NULL;
        return NULL;
    }
    memcpy(keyed.key, secret, secret_len);
    keyed.key_len = secret_len;
    return keyed.ctx;
}

int phone_hash(const char *secret, size_t secret_len, const char *e164, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    EVP_MAC_CTX *base, *ctx = NULL;
    size_t mdlen = 0;
    unsigned int i;
    int rc = -1;

    if (out == NULL || outlen < PHONE_HASH_HEX || e164 == NULL)
        return -1;
    out[0] = '\0';
    if (secret == NULL)
        secret = "";
    base = keyed_ctx(secret, secret_len);
    ctx = base != NULL ? EVP_MAC_CTX_dup(base) : NULL;
    if (ctx == NULL || EVP_MAC_update(ctx, (const unsigned char *)e164, strlen(e164)) != 1 ||
        EVP_MAC_final(ctx, md, &mdlen, sizeof(md)) != 1 || mdlen != 32)
        goto out;
    for (i = 0; i < mdlen; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * mdlen] = '\0';
    rc = 0;
out:
    EVP_MAC_CTX_free(ctx);
    return rc;
}

int phone_hash_raw(const char *secret, size_t secret_len, const char *raw, char *e164, char *out,
                   size_t outlen)
{
    char num[PHONE_E164_MAX];

    if (phone_normalise(raw, num, sizeof(num)) != 0)
        return -1;
    if (e164 != NULL)
        memcpy(e164, num, strlen(num) + 1);
    return phone_hash(secret, secret_len, num, out, outlen);
}
