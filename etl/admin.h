/*
 * Administration from the command line (hisaab-admin, etl/admin_cli.c) and the ETL's
 * maintenance step: API keys (create, list, revoke), the audit log, the journal's
 * retention rule and forgetting one person. Blocking libpq on a connection the caller
 * owns; each change and its audit row are one statement, so neither exists without the
 * other. Keys and hashes: core/apikey.h; the tables: sql/011_admin.sql.
 */
#ifndef HISAAB_ETL_ADMIN_H
#define HISAAB_ETL_ADMIN_H

#include <libpq-fe.h>
#include <stdio.h>

#include "core/apikey.h"

/* Who acts, for the audit log: a key id or "cli:<user>", its role and where from. */
struct etl_actor {
    const char *key_id;
    const char *role;
    const char *source;
};

/* who as the user running the command ("cli:<login>", source "cli") with role; the name
 * goes into buf (n bytes, 64 is enough). */
void etl_actor_cli(struct etl_actor *who, const char *role, char *buf, size_t n);

/*
 * Create a key named name with role (reader | operator | admin) under secret: the key
 * goes to key (APIKEY_LEN bytes; shown once, never stored), its id to id (APIKEY_ID_MAX).
 * Returns 0, or -1 (bad name or role, no secret, database) with the reason on stderr.
 */
int etl_admin_key_create(PGconn *db, const char *secret, const char *name, const char *role,
                         const struct etl_actor *who, char *key, char *id) WUR;

/* Print every key (id, name, role, created, revoked; never a hash) to out. Returns 0 or -1. */
int etl_admin_key_list(PGconn *db, FILE *out) WUR;

/* Revoke key id. Returns 0 when revoked now, 1 when there is no such live key, -1 on error. */
int etl_admin_key_revoke(PGconn *db, const char *id, const struct etl_actor *who) WUR;

/* Rows removed by etl_admin_forget() or etl_admin_retention(), per table. */
#define ETL_ADMIN_TABLES 10
struct etl_admin_counts {
    const char *table[ETL_ADMIN_TABLES];
    long rows[ETL_ADMIN_TABLES];
    int n;
    long total;
};

/*
 * Remove everything kept about the person with phone number `number` (any form
 * channel/phone.h normalises), found by its keyed hash under secret: their messages,
 * subscriptions, monthly messages, caller memory, voice steps, calls and callbacks, USSD
 * steps and sessions. One transaction with its audit row (which names no number and no
 * hash, only the counts). Returns 0, or -1 (a number that does not normalise, database).
 */
int etl_admin_forget(PGconn *db, const char *secret, const char *number,
                     const struct etl_actor *who, struct etl_admin_counts *c) WUR;

/* The Redis copy of that person's caller memory (channel/memory.h), at redis_url. Returns
 * the keys deleted (0 or 1), or -1 when Redis cannot be reached or refuses. */
int etl_admin_forget_redis(const char *redis_url, const char *secret, const char *number) WUR;

/*
 * After HISAAB_SECRET changed to secret: recompute phone_hash of every subscription and
 * monthly message from the number they keep, so a STOP finds them again; with old_secret
 * (may be NULL) also reseal and rehash the numbers of callbacks still queued. One
 * transaction, audited. *rows receives the rows changed. Returns 0 or -1.
 */
int etl_admin_rehash(PGconn *db, const char *secret, const char *old_secret,
                     const struct etl_actor *who, long *rows) WUR;

/* The same on a connection of its own to database_url, for a command that has none open;
 * a failure is logged as a warning. */
void etl_admin_audit_url(const char *database_url, const struct etl_actor *who, const char *action,
                         const char *target, const char *result);

/* One audit row (target may be NULL). Returns 0 or -1. */
int etl_admin_audit(PGconn *db, const struct etl_actor *who, const char *action, const char *target,
                    const char *result) WUR;

/*
 * The retention rule: delete journal rows older than months (1..120): SMS messages, voice
 * steps and calls, finished callbacks, USSD steps and sessions, and monthly messages no
 * longer pending. Audited. Returns 0 or -1.
 */
int etl_admin_retention(PGconn *db, int months, const struct etl_actor *who,
                        struct etl_admin_counts *c) WUR;

/* Print the last `limit` audit rows (newest first) to out. Returns 0 or -1. */
int etl_admin_audit_print(PGconn *db, int limit, FILE *out) WUR;

#endif
