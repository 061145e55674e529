/*
 * Phone number normalisation and keyed hashing; see phone.h.
 */
#include "channel/phone.h"

#include <string.h>

#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "core/hex.h"

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
    unsigned char md[EVP_MAX_MD_SIZE];
    EVP_MAC_CTX *base, *ctx = NULL;
    size_t mdlen = 0;
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
    hex_encode(md, mdlen, out);
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

/* ---- sealing ------------------------------------------------------------------------- */

#define SEAL_NONCE 12
#define SEAL_TAG 16

static int seal_key(const char *secret, size_t secret_len, unsigned char key[32])
{
    static const char label[] = "hisaab phone seal v1";
    size_t n = 0;

    return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len,
                     (const unsigned char *)label, sizeof(label) - 1, key, 32, &n) != NULL &&
                   n == 32
               ? 0
               : -1;
}

static int from_hex(const char *s, unsigned char *out, size_t max, size_t *n)
{
    size_t len = strlen(s), i;

    if (len % 2 != 0 || len / 2 > max)
        return -1;
    for (i = 0; i < len; i += 2) {
        int hi, lo;

        hi = s[i] >= '0' && s[i] <= '9'   ? s[i] - '0'
             : s[i] >= 'a' && s[i] <= 'f' ? s[i] - 'a' + 10
                                          : -1;
        lo = s[i + 1] >= '0' && s[i + 1] <= '9'   ? s[i + 1] - '0'
             : s[i + 1] >= 'a' && s[i + 1] <= 'f' ? s[i + 1] - 'a' + 10
                                                  : -1;
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    *n = len / 2;
    return 0;
}

int phone_seal(const char *secret, size_t secret_len, const char *e164, char *out, size_t outlen)
{
    unsigned char key[32], box[SEAL_NONCE + PHONE_E164_MAX + SEAL_TAG];
    size_t len = e164 != NULL ? strlen(e164) : 0;
    EVP_CIPHER_CTX *ctx = NULL;
    int n = 0, fin = 0, rc = -1;

    if (len == 0 || len >= PHONE_E164_MAX || outlen < 2 * (SEAL_NONCE + len + SEAL_TAG) + 1 ||
        seal_key(secret, secret_len, key) != 0 || RAND_bytes(box, SEAL_NONCE) != 1)
        goto out;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, box) != 1 ||
        EVP_EncryptUpdate(ctx, box + SEAL_NONCE, &n, (const unsigned char *)e164, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, box + SEAL_NONCE + n, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, box + SEAL_NONCE + len) != 1)
        goto out;
    hex_encode(box, SEAL_NONCE + len + SEAL_TAG, out);
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int phone_unseal(const char *secret, size_t secret_len, const char *sealed, char *e164,
                 size_t outlen)
{
    unsigned char key[32], box[SEAL_NONCE + PHONE_E164_MAX + SEAL_TAG];
    unsigned char plain[PHONE_E164_MAX];
    EVP_CIPHER_CTX *ctx = NULL;
    size_t n = 0, len;
    int got = 0, fin = 0, rc = -1;

    if (e164 == NULL || outlen < PHONE_E164_MAX)
        return -1;
    e164[0] = '\0';
    if (sealed == NULL || from_hex(sealed, box, sizeof(box), &n) != 0 ||
        n <= SEAL_NONCE + SEAL_TAG || seal_key(secret, secret_len, key) != 0)
        goto out;
    len = n - SEAL_NONCE - SEAL_TAG;
    if (len >= PHONE_E164_MAX)
        goto out;
    if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
        EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, box) != 1 ||
        EVP_DecryptUpdate(ctx, plain, &got, box + SEAL_NONCE, (int)len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, box + SEAL_NONCE + len) != 1 ||
        EVP_DecryptFinal_ex(ctx, plain + got, &fin) != 1)
        goto out;
    memcpy(e164, plain, len);
    e164[len] = '\0';
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(plain, sizeof(plain));
    return rc;
}
