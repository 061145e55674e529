/*
 * API keys with roles: their text form, the keyed hash under which they are stored, the
 * roles and the truncated source address written to the audit log. Pure functions over
 * libcrypto, shared by the server (api/api_auth.h) and hisaab-admin (etl/admin.h).
 *
 * A key is "hk_" + id + "_" + secret: id is 8 lower-case hex digits (random, the only part
 * shown in lists, logs and the audit log), secret 32 lower-case hex digits (128 random
 * bits). Only HMAC-SHA256(HISAAB_SECRET, "hisaab-api-key-v1:" + key) is stored, so a copy
 * of the database does not hold a usable key, and rotating HISAAB_SECRET retires every key.
 */
#ifndef HISAAB_CORE_APIKEY_H
#define HISAAB_CORE_APIKEY_H

#include <stddef.h>

#include "core/buf.h"

#define APIKEY_ID_HEX 8
#define APIKEY_SECRET_HEX 32
/* "hk_" id "_" secret and NUL. */
#define APIKEY_LEN (3 + APIKEY_ID_HEX + 1 + APIKEY_SECRET_HEX + 1)
#define APIKEY_ID_MAX (APIKEY_ID_HEX + 1)
/* A hash as hex plus NUL. */
#define APIKEY_HASH_HEX 65
/* A truncated source address ("203.0.113.0/24", "2001:db8:85a3::/48") plus NUL. */
#define APIKEY_SOURCE_MAX 48

/* Roles, each allowing what the ones below it allow. */
enum apikey_role {
    APIKEY_NONE = 0,
    APIKEY_READER = 1,   /* higher rate limits */
    APIKEY_OPERATOR = 2, /* caches, ETL status and queues */
    APIKEY_ADMIN = 3,    /* keys and the audit log */
};

/* A new random key into key (APIKEY_LEN bytes) and its id into id (APIKEY_ID_MAX bytes).
 * Returns 0, or -1 when the random generator fails. */
int apikey_generate(char *key, char *id) WUR;

/* 1 and the id of key into id (APIKEY_ID_MAX bytes) when key has the form of a key;
 * else 0. Says nothing about whether the key exists. */
int apikey_parse(const char *key, char *id);

/* The stored hash of key under secret (secret_len bytes, > 0) as hex into out
 * (APIKEY_HASH_HEX bytes). Returns 0, or -1 (no secret, libcrypto). */
int apikey_hash(const char *secret, size_t secret_len, const char *key, char *out) WUR;

/* 1 when the two hashes (hex, NUL-terminated) are equal; compares in constant time. */
int apikey_hash_eq(const char *a, const char *b);

/* "reader" | "operator" | "admin" -> the role; anything else APIKEY_NONE. */
enum apikey_role apikey_role_parse(const char *s);

/* The role's name ("none" for APIKEY_NONE). Static storage. */
const char *apikey_role_name(enum apikey_role r);

/* 1 when name may name a key: 1 to 32 of [a-z0-9._-], starting with a letter or digit. */
int apikey_name_ok(const char *name);

/* The address addr (IPv4 or IPv6 text) truncated to its /24 or /48 network into out
 * (APIKEY_SOURCE_MAX bytes): the audit log says where from without naming a person's
 * address. Anything not an address becomes "unknown". */
void apikey_source(const char *addr, char *out, size_t outlen);

#endif
