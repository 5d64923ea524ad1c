/* migrate.h - schema migrations: numbered up/down SQL pairs applied in order.
 *
 * A migration is a pair of files NNNN_<name>.up.sql / NNNN_<name>.down.sql
 * (see migrations/). Applied migrations are recorded in schema_migrations
 * (version, name, checksum = SHA-256 hex of the up file, applied_at,
 * execution_ms), which this module owns and creates on first use.
 *
 * Every operation holds a session advisory lock (MIGRATE_LOCK_KEY) for its
 * whole run, so any number of replicas may run `up` at start-up at once: the
 * first applies, the others wait and then find nothing pending. Each
 * migration runs in its own transaction together with its bookkeeping row, so
 * a failure leaves the schema at the previous version. Migration files must
 * therefore not contain transaction control or CREATE INDEX CONCURRENTLY.
 *
 * Refusals (nothing is changed, errstr says why and names the file):
 * - an applied migration's file changed since it was applied (checksum);
 * - a pending migration is older than one already applied (out of order);
 * - `down` would have to revert a migration this binary does not know. */
#ifndef RUTH_MIGRATE_H
#define RUTH_MIGRATE_H

#include "embedded.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* pg_advisory_lock key shared by every ruth-migrate ("ruth" + 0). */
#define MIGRATE_LOCK_KEY 7299496881640000LL

typedef struct migration {
    int version;            /* NNNN */
    char *name;             /* "0001_core" (owned) */
    const char *up_sql;     /* borrowed from the file table */
    const char *down_sql;   /* borrowed from the file table */
    char checksum[65];      /* SHA-256 of the up file, lower-case hex */
    char down_checksum[65]; /* and of the down file */
} migration;

typedef struct migrate_set {
    migration *items; /* ascending version */
    size_t count;
} migrate_set;

/* Pair the files of `files` (typically ruth_migration_files) into a set.
 * File names must be NNNN_<name>.up.sql / .down.sql with exactly one of
 * each per version. The table must outlive the set (SQL is borrowed).
 * Returns 0, or -1 with errstr naming the offending file. */
int migrate_load(const struct embedded_file *files, size_t nfiles, migrate_set *set, char *errstr,
                 size_t errsz);
/* Release what migrate_load() allocated; accepts a zeroed set. */
void migrate_free(migrate_set *set);

/* Apply every pending migration in order. *applied (may be NULL) receives
 * how many were applied. Returns 0 or -1 with errstr. */
int migrate_up(PGconn *conn, const migrate_set *set, int *applied, char *errstr, size_t errsz);

/* Revert the last `n` applied migrations (fewer if fewer are applied), newest
 * first. *reverted (may be NULL) receives how many. Returns 0 or -1. */
int migrate_down(PGconn *conn, const migrate_set *set, int n, int *reverted, char *errstr,
                 size_t errsz);

/* Print one line per known or applied migration (version, name, state,
 * applied_at), state being applied | pending | CHANGED (checksum differs) |
 * UNKNOWN (applied, not in this binary). Returns 0 when the database and
 * the set agree (pending is fine), 1 when something is CHANGED or UNKNOWN,
 * -1 on a database error (errstr). */
int migrate_status(PGconn *conn, const migrate_set *set, FILE *out, char *errstr, size_t errsz);

/* SHA-256 of data as 64 lower-case hex digits plus NUL. */
void migrate_checksum(const char *data, size_t len, char out[65]);

#endif
