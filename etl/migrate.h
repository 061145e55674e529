/*
 * Schema migrations: the files sql/NNN_name.sql applied in numeric order, each in its own
 * transaction, recorded in schema_migrations (version, name, checksum, applied_at) under a
 * Postgres advisory lock so two migrators never race. Re-running applies nothing new; a
 * file whose checksum changed after it was applied stops the migration with an error.
 */
#ifndef HISAAB_ETL_MIGRATE_H
#define HISAAB_ETL_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* Advisory lock keys (pg_advisory_lock) used by the ETL. */
#define ETL_LOCK_MIGRATE 0x48534d47L /* "HSMG" */
#define ETL_LOCK_RUN 0x48535255L     /* "HSRU" */

/*
 * The migrations directory: env HISAAB_SQL_DIR, else ./sql when it exists, else the
 * directory ../sql next to the running binary. Writes it into out (NUL-terminated).
 * Returns 0, or -1 if none exists.
 */
int etl_migrate_dir(char *out, size_t outlen) __attribute__((warn_unused_result));

/*
 * Apply every migration not yet applied, in numeric order, on db (a connection not in a
 * transaction). Logs each file applied. Returns 0 (also when nothing was new) or -1 on
 * error (a failing file is rolled back; files before it stay applied).
 * *applied, if not NULL, receives the number of files applied.
 */
int etl_migrate(PGconn *db, int *applied) __attribute__((warn_unused_result));

#endif
