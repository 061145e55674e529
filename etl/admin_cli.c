/*
 * hisaab-admin: what an operator does by hand, each action written to the audit log.
 *
 *   hisaab-admin [-c kore.conf] keys create --name NAME --role reader|operator|admin
 *   hisaab-admin [-c kore.conf] keys list
 *   hisaab-admin [-c kore.conf] keys revoke ID
 *   hisaab-admin [-c kore.conf] forget NUMBER
 *   hisaab-admin [-c kore.conf] rehash
 *   hisaab-admin [-c kore.conf] retention [--months N]
 *   hisaab-admin [-c kore.conf] audit [--limit N]
 *
 * Settings: database_url and journal_retention_months from kore.conf with -c (the
 * environment winning as config_load() applies it), else DATABASE_URL and
 * HISAAB_JOURNAL_RETENTION_MONTHS; HISAAB_SECRET always from the environment (keys and
 * numbers are hashed with it). The audit log names the actor "cli:<login>" with the role
 * admin and the source "cli". `forget` also deletes the caller's memory in Redis (redis_url or
 * REDIS_URL). `rehash`, after HISAAB_SECRET was changed, recomputes the hashes of
 * subscriptions and monthly messages from their numbers, and with HISAAB_SECRET_OLD set
 * reseals the numbers of queued callbacks (README, "Security"). Exit codes: 0 ok, 1 failure, 2
 * usage, 4 nothing to revoke. A key is printed once, on stdout, and never again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "core/log.h"
#include "net/config.h"
#include "run.h"

#define EXIT_USAGE 2
#define EXIT_NOT_FOUND 4
#define RETENTION_DEFAULT 12

static void usage(FILE *f)
{
    fprintf(f, "usage: hisaab-admin [-c kore.conf] keys create --name NAME --role "
               "reader|operator|admin\n"
               "       hisaab-admin [-c kore.conf] keys list\n"
               "       hisaab-admin [-c kore.conf] keys revoke ID\n"
               "       hisaab-admin [-c kore.conf] forget NUMBER\n"
               "       hisaab-admin [-c kore.conf] rehash\n"
               "       hisaab-admin [-c kore.conf] retention [--months 1..120]\n"
               "       hisaab-admin [-c kore.conf] audit [--limit 1..1000]\n"
               "environment: DATABASE_URL, REDIS_URL, HISAAB_SECRET, HISAAB_SECRET_OLD,\n"
               "             HISAAB_JOURNAL_RETENTION_MONTHS\n");
}

static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v;

    if (s == NULL)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static void print_counts(const char *what, const struct etl_admin_counts *c)
{
    int i;

    for (i = 0; i < c->n; i++)
        printf("  %-18s %ld\n", c->table[i], c->rows[i]);
    printf("%s: %ld rows\n", what, c->total);
}

/* The command after the settings: argv[0] is the command. */
static int dispatch(PGconn *db, int argc, char **argv, const char *secret, int retention,
                    const char *redis_url, const struct etl_actor *who)
{
    struct etl_admin_counts c;
    char key[APIKEY_LEN], id[APIKEY_ID_MAX];
    const char *name = NULL, *role = NULL;
    int i, n, r;

    if (strcmp(argv[0], "keys") == 0 && argc >= 2 && strcmp(argv[1], "create") == 0) {
        for (i = 2; i + 1 < argc; i += 2) {
            if (strcmp(argv[i], "--name") == 0)
                name = argv[i + 1];
            else if (strcmp(argv[i], "--role") == 0)
                role = argv[i + 1];
            else
                break;
        }
        if (i != argc || name == NULL || role == NULL) {
            usage(stderr);
            return EXIT_USAGE;
        }
        if (etl_admin_key_create(db, secret, name, role, who, key, id) != 0)
            return 1;
        printf("%s\n", key);
        fprintf(stderr, "hisaab-admin: key %s (%s, %s) created; it is shown only now\n", id, name,
                role);
        return 0;
    }
    if (strcmp(argv[0], "keys") == 0 && argc == 2 && strcmp(argv[1], "list") == 0)
        return etl_admin_key_list(db, stdout) == 0 ? 0 : 1;
    if (strcmp(argv[0], "keys") == 0 && argc == 3 && strcmp(argv[1], "revoke") == 0) {
        r = etl_admin_key_revoke(db, argv[2], who);
        if (r == 1)
            fprintf(stderr, "hisaab-admin: no live key %s\n", argv[2]);
        else if (r == 0)
            printf("revoked %s\n", argv[2]);
        return r == 0 ? 0 : r == 1 ? EXIT_NOT_FOUND : 1;
    }
    if (strcmp(argv[0], "forget") == 0 && argc == 2) {
        if (etl_admin_forget(db, secret, argv[1], who, &c) != 0)
            return 1;
        print_counts("forgotten", &c);
        if (redis_url != NULL && redis_url[0] != '\0') {
            r = etl_admin_forget_redis(redis_url, secret, argv[1]);
            if (r < 0) {
                fprintf(stderr, "hisaab-admin: the caller's memory in Redis was not deleted; "
                                "it expires within a year\n");
                return 1;
            }
            printf("  %-18s %d\n", "redis caller", r);
        }
        return 0;
    }
    if (strcmp(argv[0], "rehash") == 0 && argc == 1) {
        long rows;

        if (etl_admin_rehash(db, secret, getenv("HISAAB_SECRET_OLD"), who, &rows) != 0)
            return 1;
        printf("rehashed: %ld rows\n", rows);
        return 0;
    }
    if (strcmp(argv[0], "retention") == 0 && (argc == 1 || argc == 3)) {
        if (argc == 3 &&
            (strcmp(argv[1], "--months") != 0 || parse_int(argv[2], 1, 120, &retention) != 0)) {
            fprintf(stderr, "hisaab-admin retention: --months takes 1..120\n");
            return EXIT_USAGE;
        }
        if (etl_admin_retention(db, retention, who, &c) != 0)
            return 1;
        print_counts("deleted", &c);
        return 0;
    }
    if (strcmp(argv[0], "audit") == 0 && (argc == 1 || argc == 3)) {
        n = 50;
        if (argc == 3 &&
            (strcmp(argv[1], "--limit") != 0 || parse_int(argv[2], 1, 1000, &n) != 0)) {
            fprintf(stderr, "hisaab-admin audit: --limit takes 1..1000\n");
            return EXIT_USAGE;
        }
        return etl_admin_audit_print(db, n, stdout) == 0 ? 0 : 1;
    }
    usage(stderr);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    struct config *cfg = NULL;
    struct etl_actor who;
    PGconn *db = NULL;
    const char *conf = NULL, *dburl, *redis_url, *secret = getenv("HISAAB_SECRET");
    char err[512], actor[64];
    int rc = EXIT_USAGE, retention = RETENTION_DEFAULT, v;

    log_init("hisaab-admin", log_level_parse(getenv("HISAAB_LOG_LEVEL")));
    argv++;
    argc--;
    if (argc >= 2 && strcmp(argv[0], "-c") == 0) {
        conf = argv[1];
        argv += 2;
        argc -= 2;
    }
    if (argc < 1 || strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        usage(argc < 1 ? stderr : stdout);
        rc = argc < 1 ? EXIT_USAGE : 0;
        goto out;
    }
    if (conf != NULL && config_load(conf, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "hisaab-admin: %s\n", err);
        goto out;
    }
    dburl = cfg != NULL ? cfg->database_url : getenv("DATABASE_URL");
    redis_url = cfg != NULL ? cfg->redis_url : getenv("REDIS_URL");
    if (cfg != NULL && cfg->journal_retention_months > 0)
        retention = cfg->journal_retention_months;
    else if (cfg == NULL && parse_int(getenv("HISAAB_JOURNAL_RETENTION_MONTHS"), 1, 120, &v) == 0)
        retention = v;
    if (dburl == NULL || dburl[0] == '\0') {
        fprintf(stderr, "hisaab-admin: no database: set DATABASE_URL (or use -c kore.conf)\n");
        goto out;
    }
    etl_actor_cli(&who, "admin", actor, sizeof(actor));
    rc = 1;
    if ((db = etl_connect(dburl)) == NULL)
        goto out;
    PQclear(PQexec(db, "SET statement_timeout = '300s'"));
    rc = dispatch(db, argc, argv, secret, retention, redis_url, &who);
out:
    PQfinish(db);
    config_free(cfg);
    return rc;
}
