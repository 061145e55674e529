/*
 * Schema migrations; see migrate.h. Files are found by name (NNN_*.sql, NNN a decimal
 * version), read whole (capped), checksummed with SHA-256 and sent with PQexec, which
 * runs a multi-statement script inside the transaction we opened around it.
 */
#include "migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"

#define MIGRATE_MAX_FILE (64L * 1024 * 1024)
#define MIGRATE_MAX_FILES 1000

struct migration {
    long version;
    char name[256];
};

static int is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int etl_migrate_dir(char *out, size_t outlen)
{
    const char *env = getenv("HISAAB_SQL_DIR");
    char exe[PATH_MAX];
    ssize_t n;
    char *slash;
    int rc = -1;

    if (env != NULL && *env != '\0') {
        if (is_dir(env) && (size_t)snprintf(out, outlen, "%s", env) < outlen)
            rc = 0;
        goto out;
    }
    if (is_dir("sql") && (size_t)snprintf(out, outlen, "sql") < outlen) {
        rc = 0;
        goto out;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        goto out;
    exe[n] = '\0';
    slash = strrchr(exe, '/');
    if (slash == NULL)
        goto out;
    *slash = '\0';
    if ((size_t)snprintf(out, outlen, "%s/../sql", exe) >= outlen)
        goto out;
    if (is_dir(out))
        rc = 0;
out:
    return rc;
}

/* "012_name.sql" -> 12; -1 when the name is not a migration. */
static long migration_version(const char *name)
{
    const char *p = name;
    size_t len = strlen(name);
    long v = 0;

    if (len < 6 || strcmp(name + len - 4, ".sql") != 0)
        return -1;
    if (!isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p)) {
        if (v > 100000000L)
            return -1;
        v = v * 10 + (*p - '0');
        p++;
    }
    return *p == '_' ? v : -1;
}

static int cmp_migration(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;

    return x->version < y->version ? -1 : x->version > y->version;
}

/* Read a whole file (at most MIGRATE_MAX_FILE bytes) into a malloc'd NUL-terminated
 * string; caller frees. Returns NULL on error. */
static char *read_file(const char *path, size_t *lenp)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    size_t len = 0, cap = 0, n;

    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - len < 65536) {
            if (cap >= (size_t)MIGRATE_MAX_FILE) {
                free(data);
                data = NULL;
                goto out;
            }
            cap = cap ? cap * 2 : 65536;
            data = xrealloc(data, cap + 1);
        }
        n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        free(data);
        data = NULL;
        goto out;
    }
    data[len] = '\0';
    *lenp = len;
out:
    fclose(f);
    return data;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (i = 0; i < mdlen && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[2 * i] = '\0';
}

/* Run a command that returns no rows; logs and returns -1 on failure. */
static int exec_ok(PGconn *db, const char *sql)
{
    PGresult *res = PQexec(db, sql);
    int rc = 0;

    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_error("migrate: %s", PQerrorMessage(db));
        rc = -1;
    }
    PQclear(res);
    return rc;
}

/* Scan dir for migrations; returns a malloc'd sorted array (caller frees) or NULL. */
static struct migration *scan_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    struct migration *list = NULL;
    size_t n = 0, i;

    if (d == NULL) {
        log_error("migrate: cannot open %s: %s", dir, strerror(errno));
        return NULL;
    }
    list = xcalloc(MIGRATE_MAX_FILES, sizeof(*list));
    while ((de = readdir(d)) != NULL) {
        long v = migration_version(de->d_name);

        if (v < 0 || strlen(de->d_name) >= sizeof(list[0].name))
            continue;
        if (n == MIGRATE_MAX_FILES) {
            log_error("migrate: more than %d files in %s", MIGRATE_MAX_FILES, dir);
            free(list);
            list = NULL;
            goto out;
        }
        list[n].version = v;
        snprintf(list[n].name, sizeof(list[n].name), "%s", de->d_name);
        n++;
    }
    qsort(list, n, sizeof(*list), cmp_migration);
    for (i = 1; i < n; i++) {
        if (list[i].version == list[i - 1].version) {
            log_error("migrate: two files with version %ld: %s and %s", list[i].version,
                      list[i - 1].name, list[i].name);
            free(list);
            list = NULL;
            goto out;
        }
    }
    *count = n;
out:
    closedir(d);
    return list;
}

/* Apply one file unless already applied. Returns 1 applied, 0 skipped, -1 error. */
static int apply_one(PGconn *db, const char *dir, const struct migration *m)
{
    char path[PATH_MAX + 300], sum[65], vbuf[24];
    const char *params[3];
    PGresult *res = NULL;
    char *sql = NULL;
    size_t len = 0;
    int rc = -1;

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, m->name) >= sizeof(path))
        goto out;
    sql = read_file(path, &len);
    if (sql == NULL) {
        log_error("migrate: cannot read %s (missing or over %ld bytes)", path, MIGRATE_MAX_FILE);
        goto out;
    }
    sha256_hex(sql, len, sum);
    snprintf(vbuf, sizeof(vbuf), "%ld", m->version);
    params[0] = vbuf;
    res = PQexecParams(db, "SELECT checksum FROM schema_migrations WHERE version = $1", 1, NULL,
                       params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_error("migrate: %s", PQerrorMessage(db));
        goto out;
    }
    if (PQntuples(res) == 1) {
        if (strcmp(PQgetvalue(res, 0, 0), sum) != 0) {
            log_warn("migrate: %s was changed after it was applied (checksum differs); "
                     "refusing to go on: write a new migration instead",
                     m->name);
            goto out;
        }
        rc = 0;
        goto out;
    }
    PQclear(res);
    res = NULL;
    if (exec_ok(db, "BEGIN") != 0)
        goto out;
    res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_error("migrate: %s failed: %s", m->name, PQerrorMessage(db));
        PQclear(res);
        res = NULL;
        (void)exec_ok(db, "ROLLBACK");
        goto out;
    }
    PQclear(res);
    params[1] = m->name;
    params[2] = sum;
    res = PQexecParams(db,
                       "INSERT INTO schema_migrations (version, name, checksum) "
                       "VALUES ($1, $2, $3)",
                       3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        log_error("migrate: recording %s: %s", m->name, PQerrorMessage(db));
        (void)exec_ok(db, "ROLLBACK");
        goto out;
    }
    if (exec_ok(db, "COMMIT") != 0)
        goto out;
    log_info("migrate: applied %s", m->name);
    rc = 1;
out:
    PQclear(res);
    free(sql);
    return rc;
}

int etl_migrate(PGconn *db, int *applied)
{
    char dir[PATH_MAX], lock[128];
    struct migration *list = NULL;
    size_t n = 0, i;
    int locked = 0, count = 0, rc = -1, r;

    if (etl_migrate_dir(dir, sizeof(dir)) != 0) {
        log_error("migrate: no sql directory (set HISAAB_SQL_DIR)");
        goto out;
    }
    list = scan_dir(dir, &n);
    if (list == NULL)
        goto out;
    snprintf(lock, sizeof(lock), "SELECT pg_advisory_lock(%ld)", ETL_LOCK_MIGRATE);
    if (exec_ok(db, lock) != 0)
        goto out;
    locked = 1;
    if (exec_ok(db, "SET client_min_messages = warning") != 0 ||
        exec_ok(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY,"
                    " name text NOT NULL,"
                    " checksum text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())") != 0)
        goto out;
    for (i = 0; i < n; i++) {
        r = apply_one(db, dir, &list[i]);
        if (r < 0)
            goto out;
        count += r;
    }
    if (count == 0)
        log_info("migrate: schema up to date (%zu files)", n);
    rc = 0;
out:
    if (locked) {
        snprintf(lock, sizeof(lock), "SELECT pg_advisory_unlock(%ld)", ETL_LOCK_MIGRATE);
        (void)exec_ok(db, lock);
    }
    if (applied)
        *applied = count;
    free(list);
    return rc;
}
