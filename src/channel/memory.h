/*
 * What Hisaab remembers of a caller, whatever the channel: the language they chose
 * (HINDI / ENGLISH by SMS, a menu choice on USSD, a key on a call) and the district they
 * last asked about, so that another channel can use it: a missed call is answered with
 * "your" district, a USSD menu offers it first. Keyed by the caller's hash (phone.h).
 *
 *   Redis     hash hisaab:caller:<hash> with fields lang ("en"|"hi") and district
 *             ("<state code>:<district code>"), kept MEMORY_TTL_S after the last change:
 *             the working copy, read by the channel gate (gate.h) in its one round trip.
 *   Postgres  table callers (sql/007_callers.sql), written through the journal (streams
 *             "callers_lang" and "callers_district", last write wins): the durable copy,
 *             read by memory_recall() when Redis has nothing for the caller (Redis
 *             restarted empty).
 */
#ifndef HISAAB_CHANNEL_MEMORY_H
#define HISAAB_CHANNEL_MEMORY_H

#include <stddef.h>

#include "core/buf.h"
#include "text/i18n.h"

#define MEMORY_KEY_PREFIX "hisaab:caller:"
#define MEMORY_TTL_S 34560000 /* 400 days: a little over a year after the last change */

struct memory {
    int has_lang;
    enum i18n_lang lang;
    int has_district;
    int state_code, district_code;
};

/* Per worker, before journal_init(): declare the journal stream. Returns 0 or -1. */
int memory_init(void) WUR;

/* The Redis key of a caller into out (n bytes). Returns 0 or -1. */
int memory_key(const char *hash, char *out, size_t n) WUR;

/* A memory from the Redis fields (each NULL or "" when absent; bad values are ignored). */
void memory_parse(const char *lang, const char *district, struct memory *m);

/*
 * Remember a caller's language / district: Redis now (best effort) and Postgres through
 * the journal (one record; check journal_room() before acknowledging). Returns 0, or -1
 * when the journal did not take the record.
 */
int memory_set_lang(const char *hash, const char *at, enum i18n_lang lang) WUR;
int memory_set_district(const char *hash, const char *at, int state_code, int district_code) WUR;

/*
 * What is remembered of hash: Redis, else Postgres (which then refills Redis). cb gets it
 * exactly once from the loop (an empty memory when neither knows the caller or both are
 * away). Returns 0, or -1 (cb never called) when neither backend is started.
 */
typedef void (*memory_fn)(void *arg, const struct memory *m);
int memory_recall(const char *hash, memory_fn cb, void *arg) WUR;

#endif
