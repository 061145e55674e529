/*
 * API keys: text form, keyed hash, roles, truncated source addresses; see apikey.h.
 */
#include "core/apikey.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "core/hex.h"

/* What the stored hash is a hash of, besides the key: a new scheme gets a new label. */
#define HASH_LABEL "hisaab-api-key-v1:"

static int is_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

int apikey_generate(char *key, char *id)
{
    unsigned char rnd[APIKEY_ID_HEX / 2 + APIKEY_SECRET_HEX / 2];
    char idhex[APIKEY_ID_HEX + 1], sechex[APIKEY_SECRET_HEX + 1];
    int rc = -1;

    if (RAND_bytes(rnd, (int)sizeof(rnd)) != 1)
        goto out;
    hex_encode(rnd, APIKEY_ID_HEX / 2, idhex);
    hex_encode(rnd + APIKEY_ID_HEX / 2, APIKEY_SECRET_HEX / 2, sechex);
    snprintf(key, APIKEY_LEN, "hk_%s_%s", idhex, sechex);
    memcpy(id, idhex, sizeof(idhex));
    rc = 0;
out:
    OPENSSL_cleanse(rnd, sizeof(rnd));
    OPENSSL_cleanse(sechex, sizeof(sechex));
    return rc;
}

int apikey_parse(const char *key, char *id)
{
    if (key == NULL || strlen(key) != APIKEY_LEN - 1 || memcmp(key, "hk_", 3) != 0 ||
        key[3 + APIKEY_ID_HEX] != '_' || !is_hex(key + 3, APIKEY_ID_HEX) ||
        !is_hex(key + 4 + APIKEY_ID_HEX, APIKEY_SECRET_HEX))
        return 0;
    memcpy(id, key + 3, APIKEY_ID_HEX);
    id[APIKEY_ID_HEX] = '\0';
    return 1;
}

int apikey_hash(const char *secret, size_t secret_len, const char *key, char *out)
{
    unsigned char msg[sizeof(HASH_LABEL) + APIKEY_LEN], md[EVP_MAX_MD_SIZE];
    size_t llen = sizeof(HASH_LABEL) - 1, klen, mdlen = 0;
    int rc = -1;

    out[0] = '\0';
    if (secret == NULL || secret_len == 0 || key == NULL || (klen = strlen(key)) >= APIKEY_LEN)
        goto out;
    memcpy(msg, HASH_LABEL, llen);
    memcpy(msg + llen, key, klen);
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len, msg, llen + klen, md,
                  sizeof(md), &mdlen) == NULL ||
        mdlen != 32)
        goto out;
    hex_encode(md, mdlen, out);
    rc = 0;
out:
    OPENSSL_cleanse(msg, sizeof(msg));
    return rc;
}

int apikey_hash_eq(const char *a, const char *b)
{
    return strlen(a) == APIKEY_HASH_HEX - 1 && strlen(b) == APIKEY_HASH_HEX - 1 &&
           CRYPTO_memcmp(a, b, APIKEY_HASH_HEX - 1) == 0;
}

static const char *const role_names[] = {"none", "reader", "operator", "admin"};

enum apikey_role apikey_role_parse(const char *s)
{
    int i;

    for (i = APIKEY_READER; s != NULL && i <= APIKEY_ADMIN; i++)
        if (strcmp(s, role_names[i]) == 0)
            return (enum apikey_role)i;
    return APIKEY_NONE;
}

const char *apikey_role_name(enum apikey_role r)
{
    return r >= APIKEY_READER && r <= APIKEY_ADMIN ? role_names[r] : role_names[0];
}

int apikey_name_ok(const char *name)
{
    size_t i, n = name != NULL ? strlen(name) : 0;

    if (n == 0 || n > 32)
        return 0;
    for (i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (i > 0 && (c == '.' || c == '_' || c == '-'))))
            return 0;
    }
    return 1;
}

void apikey_source(const char *addr, char *out, size_t outlen)
{
    unsigned char a[16];
    char text[INET6_ADDRSTRLEN];

    if (addr != NULL && inet_pton(AF_INET, addr, a) == 1) {
        snprintf(out, outlen, "%u.%u.%u.0/24", a[0], a[1], a[2]);
        return;
    }
    if (addr != NULL && inet_pton(AF_INET6, addr, a) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

        if (memcmp(a, mapped, sizeof(mapped)) == 0) {
            snprintf(out, outlen, "%u.%u.%u.0/24", a[12], a[13], a[14]);
            return;
        }
        memset(a + 6, 0, 10);
        if (inet_ntop(AF_INET6, a, text, sizeof(text)) != NULL) {
            snprintf(out, outlen, "%s/48", text);
            return;
        }
    }
    snprintf(out, outlen, "unknown");
}
