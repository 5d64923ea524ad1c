/* pg.h - small libpq helpers shared by every process that talks to PostgreSQL.
 *
 * Connections get an application_name (visible in pg_stat_activity), a
 * connect timeout, TimeZone=UTC, and libpq's notices routed into log.h.
 * The exec helpers check PQresultStatus on every result, clear what they do
 * not hand back, and describe failures in the caller's errstr as
 *   "<primary message> (SQLSTATE 23505; detail: ...; hint: ...)". */
#ifndef RUTH_PG_H
#define RUTH_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* SQLSTATE codes the callers branch on. */
#define PG_SQLSTATE_UNIQUE_VIOLATION "23505"
#define PG_SQLSTATE_CHECK_VIOLATION "23514"
#define PG_SQLSTATE_FOREIGN_KEY_VIOLATION "23503"
#define PG_SQLSTATE_SERIALIZATION_FAILURE "40001"
#define PG_SQLSTATE_DEADLOCK_DETECTED "40P01"

/* Connect to `url` (postgresql:// URL or key=value string). application_name,
 * connect_timeout (seconds, 0 = libpq default) and TimeZone=UTC are defaults
 * that settings in the URL itself override. Returns the connection, or NULL
 * with errstr naming the (password-redacted) target and libpq's reason.
 * Caller owns the result and releases it with pg_close(). */
PGconn *pg_connect(const char *url, const char *application_name, int timeout_sec, char *errstr,
                   size_t errsz);

/* PQfinish; accepts NULL. */
void pg_close(PGconn *conn);

/* Describe a failed result (or, when res is NULL, the connection's last
 * error) into errstr; `what` prefixes the message when not NULL. */
void pg_describe_error(const PGconn *conn, const PGresult *res, const char *what, char *errstr,
                       size_t errsz);

/* Run `sql` (one or more statements, no parameters) and expect success.
 * Nothing is returned; every result is cleared. */
bool pg_exec_ok(PGconn *conn, const char *sql, char *errstr, size_t errsz);

/* Run one statement with text parameters (NULL entries are SQL NULL).
 * On success (COMMAND_OK or TUPLES_OK) returns the result, which the caller
 * PQclear()s. On failure returns NULL with errstr filled and, when sqlstate
 * is not NULL, the five-character SQLSTATE copied there ("" if none). */
PGresult *pg_exec_params(PGconn *conn, const char *sql, int nparams, const char *const *params,
                         char sqlstate[6], char *errstr, size_t errsz);

/* pg_exec_params for statements whose result is not needed. */
bool pg_exec_params_ok(PGconn *conn, const char *sql, int nparams, const char *const *params,
                       char sqlstate[6], char *errstr, size_t errsz);

/* Run a query returning one row and one column and copy the value into out
 * (NUL-terminated, truncated to outsz). *isnull reports SQL NULL when the
 * pointer is not NULL. false when the query fails or returns no row. */
bool pg_query_value(PGconn *conn, const char *sql, int nparams, const char *const *params,
                    char *out, size_t outsz, bool *isnull, char *errstr, size_t errsz);

/* Prepared statements of one connection: every query text is prepared on
 * its first use (named after a hash of the text) and executed by name after
 * that, so PostgreSQL parses and plans it once per connection. Texts must
 * come from a small, fixed set (string constants, or SQL assembled from
 * fixed fragments); 128 are kept, a text colliding with another replaces
 * it. Call pg_stmts_reset() when the connection is replaced. Not
 * thread-safe: one cache per connection, used by its owner only. */
typedef struct pg_stmts pg_stmts;
pg_stmts *pg_stmts_new(void);
void pg_stmts_reset(pg_stmts *s);
void pg_stmts_free(pg_stmts *s);

/* pg_exec_params through the cache of `conn`. */
PGresult *pg_stmts_exec(pg_stmts *s, PGconn *conn, const char *sql, int nparams,
                        const char *const *params, char sqlstate[6], char *errstr, size_t errsz);

/* pg_stmts_exec with the results in `result_format` (0 text, 1 binary:
 * PostgreSQL's send functions, cheaper than its output functions for
 * timestamps and integers; the caller decodes by PQftype()). `s` NULL:
 * the statement is sent unprepared (pg_exec_params). */
PGresult *pg_stmts_exec_fmt(pg_stmts *s, PGconn *conn, const char *sql, int nparams,
                            const char *const *params, int result_format, char sqlstate[6],
                            char *errstr, size_t errsz);

/* pg_stmts_exec for statements whose result is not needed. */
bool pg_stmts_exec_ok(pg_stmts *s, PGconn *conn, const char *sql, int nparams,
                      const char *const *params, char sqlstate[6], char *errstr, size_t errsz);

/* Several statements in one round trip (libpq pipeline mode), in order,
 * inside the caller's transaction. Steps whose sql is NULL are skipped. On
 * success *last (when not NULL) holds the result of the last statement run,
 * which the caller PQclear()s. On the first failure false with errstr (and
 * sqlstate) filled; the statements after it did not run. A connection that
 * could not leave pipeline mode (PQpipelineStatus() not PQ_PIPELINE_OFF)
 * must be closed. */
#define PG_PIPELINE_MAX 16
typedef struct pg_step {
    const char *sql;
    int nparams;
    const char *const *params;
} pg_step;
bool pg_stmts_pipeline(pg_stmts *s, PGconn *conn, const pg_step *steps, int nsteps, PGresult **last,
                       char sqlstate[6], char *errstr, size_t errsz);

/* ROLLBACK, ignoring the outcome: for failed: paths of a transaction. */
void pg_rollback_quietly(PGconn *conn);

#endif
