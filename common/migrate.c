/* migrate.c - numbered SQL migrations with checksums and an advisory lock;
 * see migrate.h. */
#include "migrate.h"

#include "clock.h"
#include "log.h"
#include "pg.h"
#include "text.h"
#include "xmalloc.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One row of schema_migrations. */
typedef struct applied_row {
    int version;
    char name[128];
    char checksum[65];
    char down_checksum[65]; /* "" when applied by a build that did not record it */
    char applied_at[40];
} applied_row;

typedef struct applied_list {
    applied_row *rows; /* ascending version */
    size_t count;
} applied_list;

void migrate_checksum(const char *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
        /* Only fails when libcrypto itself is broken; nothing sensible to do. */
        log_error("SHA-256 unavailable from libcrypto");
        abort();
    }
    text_hex_encode(md, mdlen, out);
}

/* ---- loading the file table ------------------------------------------ */

/* "0001_core.up.sql" -> version 1, name "0001_core", up = true. */
static bool parse_file_name(const char *file, int *version, char *name, size_t namesz, bool *up)
{
    size_t len = strlen(file);
    size_t digits = 0;
    while (isdigit((unsigned char)file[digits]))
        digits++;
    if (digits == 0 || digits > 6 || file[digits] != '_')
        return false;
    size_t stem;
    if (len > 7 && !strcmp(file + len - 7, ".up.sql")) {
        stem = len - 7;
        *up = true;
    } else if (len > 9 && !strcmp(file + len - 9, ".down.sql")) {
        stem = len - 9;
        *up = false;
    } else {
        return false;
    }
    if (stem <= digits + 1 || stem >= namesz)
        return false;
    for (size_t i = digits + 1; i < stem; i++)
        if (!islower((unsigned char)file[i]) && !isdigit((unsigned char)file[i]) && file[i] != '_')
            return false;
    memcpy(name, file, stem);
    name[stem] = '\0';
    *version = atoi(file);
    return true;
}

static int cmp_migration(const void *a, const void *b)
{
    const migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

int migrate_load(const struct embedded_file *files, size_t nfiles, migrate_set *set, char *errstr,
                 size_t errsz)
{
    memset(set, 0, sizeof *set);
    set->items = xcalloc(nfiles ? nfiles : 1, sizeof *set->items);
    for (size_t i = 0; i < nfiles; i++) {
        int version;
        char name[128];
        bool up;
        if (!parse_file_name(files[i].name, &version, name, sizeof name, &up)) {
            snprintf(errstr, errsz,
                     "migration file %s is not named NNNN_<name>.up.sql or NNNN_<name>.down.sql "
                     "(lower-case name, digits and underscores)",
                     files[i].name);
            goto failed;
        }
        migration *m = NULL;
        for (size_t j = 0; j < set->count; j++)
            if (set->items[j].version == version)
                m = &set->items[j];
        if (m && strcmp(m->name, name) != 0) {
            snprintf(errstr, errsz, "migration file %s reuses version %d of %s", files[i].name,
                     version, m->name);
            goto failed;
        }
        if (!m) {
            m = &set->items[set->count++];
            m->version = version;
            m->name = xstrdup(name);
        }
        if ((up && m->up_sql) || (!up && m->down_sql)) {
            snprintf(errstr, errsz, "migration file %s appears twice", files[i].name);
            goto failed;
        }
        if (up) {
            m->up_sql = files[i].data;
            migrate_checksum(files[i].data, files[i].len, m->checksum);
        } else {
            m->down_sql = files[i].data;
            migrate_checksum(files[i].data, files[i].len, m->down_checksum);
        }
    }
    for (size_t j = 0; j < set->count; j++) {
        const migration *m = &set->items[j];
        if (!m->up_sql || !m->down_sql) {
            snprintf(errstr, errsz, "migration %s has no %s.%s.sql; every step needs both", m->name,
                     m->name, m->up_sql ? "down" : "up");
            goto failed;
        }
    }
    qsort(set->items, set->count, sizeof *set->items, cmp_migration);
    return 0;

failed:
    migrate_free(set);
    return -1;
}

void migrate_free(migrate_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        free(set->items[i].name);
    free(set->items);
    set->items = NULL;
    set->count = 0;
}

/* ---- database side ------------------------------------------------------ */

static double now_ms(void)
{
    return (double)clock_mono_us() / 1e3;
}

/* Session advisory lock for the whole run; waits (and says so) when another
 * ruth-migrate holds it. */
static int lock_acquire(PGconn *conn, char *errstr, size_t errsz)
{
    char key[32], got[8];
    snprintf(key, sizeof key, "%lld", (long long)MIGRATE_LOCK_KEY);
    const char *params[] = {key};
    if (!pg_query_value(conn, "SELECT pg_try_advisory_lock($1::bigint)", 1, params, got, sizeof got,
                        NULL, errstr, errsz))
        return -1;
    if (got[0] == 't')
        return 0;
    log_info("another ruth-migrate holds the migration lock; waiting for it to finish");
    double t0 = now_ms();
    if (!pg_exec_params_ok(conn, "SELECT pg_advisory_lock($1::bigint)", 1, params, NULL, errstr,
                           errsz))
        return -1;
    log_info("migration lock acquired after %.0f ms", now_ms() - t0);
    return 0;
}

static void lock_release(PGconn *conn)
{
    char key[32], err[256];
    snprintf(key, sizeof key, "%lld", (long long)MIGRATE_LOCK_KEY);
    const char *params[] = {key};
    if (PQstatus(conn) == CONNECTION_OK &&
        !pg_exec_params_ok(conn, "SELECT pg_advisory_unlock($1::bigint)", 1, params, NULL, err,
                           sizeof err))
        log_warn("releasing the migration lock: %s", err);
}

static const char SCHEMA_MIGRATIONS_DDL[] = "CREATE TABLE schema_migrations ("
                                            " version integer PRIMARY KEY CHECK (version >= 0),"
                                            " name text NOT NULL,"
                                            " checksum text NOT NULL,"
                                            " down_checksum text,"
                                            " applied_at timestamptz NOT NULL DEFAULT now(),"
                                            " execution_ms bigint NOT NULL DEFAULT 0)";

/* Create schema_migrations if missing (under the lock, so no race). */
static int ensure_table(PGconn *conn, char *errstr, size_t errsz)
{
    bool isnull = true;
    char oid[32];
    if (!pg_query_value(conn, "SELECT to_regclass('schema_migrations')", 0, NULL, oid, sizeof oid,
                        &isnull, errstr, errsz))
        return -1;
    if (!isnull) {
        /* A table made by a build that did not record down checksums gets
         * the column once (ALTER only then: it needs the owner and a lock). */
        char n[16];
        if (!pg_query_value(conn,
                            "SELECT count(*) FROM pg_attribute WHERE attrelid ="
                            " 'schema_migrations'::regclass AND attname = 'down_checksum'"
                            " AND NOT attisdropped",
                            0, NULL, n, sizeof n, NULL, errstr, errsz))
            return -1;
        if (atoi(n) == 0 &&
            !pg_exec_ok(conn, "ALTER TABLE schema_migrations ADD COLUMN down_checksum text", errstr,
                        errsz))
            return -1;
        return 0;
    }
    if (!pg_exec_ok(conn, SCHEMA_MIGRATIONS_DDL, errstr, errsz))
        return -1;
    log_info("created table schema_migrations");
    return 0;
}

static int read_applied(PGconn *conn, applied_list *out, char *errstr, size_t errsz)
{
    memset(out, 0, sizeof *out);
    PGresult *res = pg_exec_params(conn,
                                   "SELECT version, name, checksum,"
                                   " to_char(applied_at AT TIME ZONE 'UTC',"
                                   "         'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                                   /* absent in tables older than the column */
                                   " coalesce(to_jsonb(sm) ->> 'down_checksum', '')"
                                   " FROM schema_migrations sm ORDER BY version",
                                   0, NULL, NULL, errstr, errsz);
    if (!res)
        return -1;
    int n = PQntuples(res);
    out->rows = xcalloc(n ? (size_t)n : 1, sizeof *out->rows);
    out->count = (size_t)n;
    for (int i = 0; i < n; i++) {
        applied_row *r = &out->rows[i];
        r->version = atoi(PQgetvalue(res, i, 0));
        snprintf(r->name, sizeof r->name, "%s", PQgetvalue(res, i, 1));
        snprintf(r->checksum, sizeof r->checksum, "%s", PQgetvalue(res, i, 2));
        snprintf(r->applied_at, sizeof r->applied_at, "%s", PQgetvalue(res, i, 3));
        snprintf(r->down_checksum, sizeof r->down_checksum, "%s", PQgetvalue(res, i, 4));
    }
    PQclear(res);
    return 0;
}

static const migration *find_migration(const migrate_set *set, int version)
{
    for (size_t i = 0; i < set->count; i++)
        if (set->items[i].version == version)
            return &set->items[i];
    return NULL;
}

static const applied_row *find_applied(const applied_list *al, int version)
{
    for (size_t i = 0; i < al->count; i++)
        if (al->rows[i].version == version)
            return &al->rows[i];
    return NULL;
}

/* Every applied migration this binary knows must still have the checksum it
 * was applied with. */
static int verify_checksums(const migrate_set *set, const applied_list *al, char *errstr,
                            size_t errsz)
{
    for (size_t i = 0; i < al->count; i++) {
        const migration *m = find_migration(set, al->rows[i].version);
        if (m && strcmp(m->checksum, al->rows[i].checksum) != 0) {
            snprintf(errstr, errsz,
                     "migration file %s.up.sql changed after it was applied on %s "
                     "(checksum %.12s... in schema_migrations, %.12s... in this build); "
                     "applied migrations must never be edited: restore the file and add a new "
                     "migration instead",
                     m->name, al->rows[i].applied_at, al->rows[i].checksum, m->checksum);
            return -1;
        }
        if (m && al->rows[i].down_checksum[0] &&
            strcmp(m->down_checksum, al->rows[i].down_checksum) != 0) {
            snprintf(errstr, errsz,
                     "migration file %s.down.sql changed after its step was applied on %s "
                     "(checksum %.12s... in schema_migrations, %.12s... in this build); "
                     "restore the file: the down step must undo what was applied",
                     m->name, al->rows[i].applied_at, al->rows[i].down_checksum, m->down_checksum);
            return -1;
        }
    }
    return 0;
}

/* Record the down checksums of steps applied by builds that did not. */
static int backfill_down_checksums(PGconn *conn, const migrate_set *set, const applied_list *al,
                                   char *errstr, size_t errsz)
{
    for (size_t i = 0; i < al->count; i++) {
        const migration *m = find_migration(set, al->rows[i].version);
        if (!m || al->rows[i].down_checksum[0])
            continue;
        char version[16];
        snprintf(version, sizeof version, "%d", m->version);
        const char *params[] = {version, m->down_checksum};
        if (!pg_exec_params_ok(conn,
                               "UPDATE schema_migrations SET down_checksum = $2"
                               " WHERE version = $1 AND down_checksum IS NULL",
                               2, params, NULL, errstr, errsz))
            return -1;
    }
    return 0;
}

/* Run `sql` and the bookkeeping statement in one transaction. */
static int run_step(PGconn *conn, const migration *m, bool up, char *errstr, size_t errsz)
{
    char err[1024], version[16], elapsed[32];
    double t0 = now_ms();
    snprintf(version, sizeof version, "%d", m->version);

    if (!pg_exec_ok(conn, "BEGIN", err, sizeof err))
        goto failed;
    if (!pg_exec_ok(conn, up ? m->up_sql : m->down_sql, err, sizeof err))
        goto failed;
    if (up) {
        snprintf(elapsed, sizeof elapsed, "%.0f", now_ms() - t0);
        const char *params[] = {version, m->name, m->checksum, elapsed, m->down_checksum};
        if (!pg_exec_params_ok(conn,
                               "INSERT INTO schema_migrations (version, name, checksum,"
                               " execution_ms, down_checksum) VALUES ($1, $2, $3, $4, $5)",
                               5, params, NULL, err, sizeof err))
            goto failed;
    } else {
        const char *params[] = {version};
        if (!pg_exec_params_ok(conn, "DELETE FROM schema_migrations WHERE version = $1", 1, params,
                               NULL, err, sizeof err))
            goto failed;
    }
    if (!pg_exec_ok(conn, "COMMIT", err, sizeof err))
        goto failed;
    log_info("%s %s in %.0f ms", up ? "applied" : "reverted", m->name, now_ms() - t0);
    return 0;

failed:
    pg_rollback_quietly(conn);
    snprintf(errstr, errsz, "migration %s.%s.sql failed, nothing of it was kept: %s", m->name,
             up ? "up" : "down", err);
    return -1;
}

int migrate_up(PGconn *conn, const migrate_set *set, int *applied, char *errstr, size_t errsz)
{
    int rc = -1, done = 0;
    applied_list al = {0};
    if (applied)
        *applied = 0;
    if (lock_acquire(conn, errstr, errsz) != 0)
        return -1;
    if (ensure_table(conn, errstr, errsz) != 0 || read_applied(conn, &al, errstr, errsz) != 0)
        goto done;
    if (verify_checksums(set, &al, errstr, errsz) != 0 ||
        backfill_down_checksums(conn, set, &al, errstr, errsz) != 0)
        goto done;

    int max_applied = al.count ? al.rows[al.count - 1].version : -1;
    for (size_t i = 0; i < al.count; i++)
        if (!find_migration(set, al.rows[i].version))
            log_warn("schema_migrations has %04d %s, which this ruth-migrate does not know; "
                     "the database is newer than this build",
                     al.rows[i].version, al.rows[i].name);
    for (size_t i = 0; i < set->count; i++) {
        const migration *m = &set->items[i];
        if (!find_applied(&al, m->version) && m->version < max_applied) {
            snprintf(errstr, errsz,
                     "migration %s.up.sql is pending but the newer migration %04d is already "
                     "applied; refusing to apply out of order (renumber the new migration)",
                     m->name, max_applied);
            goto done;
        }
    }
    for (size_t i = 0; i < set->count; i++) {
        const migration *m = &set->items[i];
        if (find_applied(&al, m->version))
            continue;
        if (run_step(conn, m, true, errstr, errsz) != 0)
            goto done;
        done++;
    }
    rc = 0;

done:
    if (applied)
        *applied = done;
    free(al.rows);
    lock_release(conn);
    return rc;
}

int migrate_down(PGconn *conn, const migrate_set *set, int n, int *reverted, char *errstr,
                 size_t errsz)
{
    int rc = -1, done = 0;
    applied_list al = {0};
    if (reverted)
        *reverted = 0;
    if (lock_acquire(conn, errstr, errsz) != 0)
        return -1;
    if (ensure_table(conn, errstr, errsz) != 0 || read_applied(conn, &al, errstr, errsz) != 0)
        goto done;
    if (verify_checksums(set, &al, errstr, errsz) != 0 ||
        backfill_down_checksums(conn, set, &al, errstr, errsz) != 0)
        goto done;
    for (size_t k = 0; k < al.count && done < n; k++) {
        const applied_row *r = &al.rows[al.count - 1 - k];
        const migration *m = find_migration(set, r->version);
        if (!m) {
            snprintf(errstr, errsz,
                     "cannot revert %04d %s: this ruth-migrate does not have its down step; "
                     "use the build that applied it",
                     r->version, r->name);
            goto done;
        }
        if (run_step(conn, m, false, errstr, errsz) != 0)
            goto done;
        done++;
    }
    rc = 0;

done:
    if (reverted)
        *reverted = done;
    free(al.rows);
    lock_release(conn);
    return rc;
}

int migrate_status(PGconn *conn, const migrate_set *set, FILE *out, char *errstr, size_t errsz)
{
    applied_list al = {0};
    bool isnull = true;
    char oid[32];
    /* Read-only: no lock, and no table created when it does not exist yet. */
    if (!pg_query_value(conn, "SELECT to_regclass('schema_migrations')", 0, NULL, oid, sizeof oid,
                        &isnull, errstr, errsz))
        return -1;
    if (!isnull && read_applied(conn, &al, errstr, errsz) != 0)
        return -1;

    int rc = 0, pending = 0;
    fprintf(out, "%-8s %-32s %-8s %s\n", "version", "name", "state", "applied_at");
    /* Merge the two ascending lists. */
    size_t i = 0, j = 0;
    while (i < set->count || j < al.count) {
        const migration *m = i < set->count ? &set->items[i] : NULL;
        const applied_row *r = j < al.count ? &al.rows[j] : NULL;
        if (m && (!r || m->version < r->version)) {
            fprintf(out, "%04d     %-32s %-8s %s\n", m->version, m->name, "pending", "-");
            pending++;
            i++;
        } else if (r && (!m || r->version < m->version)) {
            fprintf(out, "%04d     %-32s %-8s %s\n", r->version, r->name, "UNKNOWN", r->applied_at);
            rc = 1;
            j++;
        } else {
            bool same = !strcmp(m->checksum, r->checksum) &&
                        (!r->down_checksum[0] || !strcmp(m->down_checksum, r->down_checksum));
            fprintf(out, "%04d     %-32s %-8s %s\n", m->version, m->name,
                    same ? "applied" : "CHANGED", r->applied_at);
            if (!same)
                rc = 1;
            i++;
            j++;
        }
    }
    fprintf(out, "%zu applied, %d pending%s\n", al.count, pending,
            rc ? "; CHANGED = file edited after it was applied, UNKNOWN = applied by a newer build"
               : "");
    free(al.rows);
    return rc;
}
