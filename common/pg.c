/* pg.c - libpq helpers; see pg.h. */
#include "pg.h"

#include "hash.h"
#include "log.h"
#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append printf-style text to errstr at *len, never past errsz-1. */
static void append(char *errstr, size_t errsz, size_t *len, const char *fmt, const char *s)
{
    if (*len + 1 >= errsz)
        return;
    int n = snprintf(errstr + *len, errsz - *len, fmt, s);
    if (n > 0)
        *len += (size_t)n < errsz - *len ? (size_t)n : errsz - *len - 1;
}

/* Copy `s` without its trailing newlines (libpq messages end in one). */
static void chomp_copy(char *out, size_t outsz, const char *s)
{
    snprintf(out, outsz, "%s", s ? s : "");
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
}

void pg_describe_error(const PGconn *conn, const PGresult *res, const char *what, char *errstr,
                       size_t errsz)
{
    if (!errstr || errsz == 0)
        return;
    errstr[0] = '\0';
    size_t len = 0;
    if (what)
        append(errstr, errsz, &len, "%s: ", what);

    char primary[1024];
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg && res)
        msg = PQresultErrorMessage(res);
    if ((!msg || !*msg) && res)
        msg = PQresStatus(PQresultStatus(res));
    if (!msg || !*msg)
        msg = conn ? PQerrorMessage(conn) : "no connection";
    chomp_copy(primary, sizeof primary, msg);
    append(errstr, errsz, &len, "%s", primary);

    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    if (state || detail || hint) {
        append(errstr, errsz, &len, "%s", " (");
        const char *sep = "";
        if (state) {
            append(errstr, errsz, &len, "SQLSTATE %s", state);
            sep = "; ";
        }
        if (detail) {
            append(errstr, errsz, &len, "%s", sep);
            append(errstr, errsz, &len, "detail: %s", detail);
            sep = "; ";
        }
        if (hint) {
            append(errstr, errsz, &len, "%s", sep);
            append(errstr, errsz, &len, "hint: %s", hint);
        }
        append(errstr, errsz, &len, "%s", ")");
    }
}

/* libpq notices (NOTICE, WARNING from the server; client-side warnings) go
 * to the process log instead of stderr. */
static void notice_to_log(void *arg, const PGresult *res)
{
    (void)arg;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    char msg[1024];
    chomp_copy(msg, sizeof msg, PQresultErrorMessage(res));
    log_level lvl = LOG_INFO;
    if (sev && (!strcmp(sev, "WARNING")))
        lvl = LOG_WARN;
    else if (sev && (!strcmp(sev, "DEBUG") || !strcmp(sev, "LOG")))
        lvl = LOG_DEBUG;
    if (log_enabled(lvl))
        log_at(lvl, NULL, "postgresql: %s", msg);
}

PGconn *pg_connect(const char *url, const char *application_name, int timeout_sec, char *errstr,
                   size_t errsz)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", timeout_sec > 0 ? timeout_sec : 0);
    /* Later entries override earlier ones, so the URL (expanded from
     * "dbname") comes last and wins over these defaults. */
    const char *keys[5], *vals[5];
    int n = 0;
    keys[n] = "application_name", vals[n++] = application_name ? application_name : "ruth";
    if (timeout_sec > 0)
        keys[n] = "connect_timeout", vals[n++] = timeout;
    keys[n] = "options", vals[n++] = "-c TimeZone=UTC";
    keys[n] = "dbname", vals[n++] = url ? url : "";
    keys[n] = NULL, vals[n] = NULL;

    PGconn *conn = PQconnectdbParams(keys, vals, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        char target[512], reason[512];
        log_redact_url(url ? url : "", target, sizeof target);
        chomp_copy(reason, sizeof reason, conn ? PQerrorMessage(conn) : "out of memory");
        snprintf(errstr, errsz, "cannot connect to PostgreSQL at %s: %s", target, reason);
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeReceiver(conn, notice_to_log, NULL);
    return conn;
}

void pg_close(PGconn *conn)
{
    if (conn)
        PQfinish(conn);
}

bool pg_exec_ok(PGconn *conn, const char *sql, char *errstr, size_t errsz)
{
    /* PQexec returns only the last statement's result; an error stops the
     * string there, so checking it is sufficient. */
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    bool ok = res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY);
    if (!ok)
        pg_describe_error(conn, res, NULL, errstr, errsz);
    PQclear(res);
    return ok;
}

/* `res` when it succeeded; else NULL, with errstr and sqlstate filled. */
static PGresult *pg__checked(PGconn *conn, PGresult *res, char sqlstate[6], char *errstr,
                             size_t errsz)
{
    if (sqlstate)
        sqlstate[0] = '\0';
    ExecStatusType st = PQresultStatus(res);
    if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
        return res;
    pg_describe_error(conn, res, NULL, errstr, errsz);
    if (sqlstate && res) {
        const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (s)
            snprintf(sqlstate, 6, "%s", s);
    }
    PQclear(res);
    return NULL;
}

PGresult *pg_exec_params(PGconn *conn, const char *sql, int nparams, const char *const *params,
                         char sqlstate[6], char *errstr, size_t errsz)
{
    return pg_stmts_exec_fmt(NULL, conn, sql, nparams, params, 0, sqlstate, errstr, errsz);
}

/* ---- prepared-statement cache ---- */

#define PG_STMT_SLOTS 128

typedef struct pg_stmt {
    uint64_t hash;
    char *sql; /* NULL = free */
} pg_stmt;

struct pg_stmts {
    pg_stmt slot[PG_STMT_SLOTS];
};

pg_stmts *pg_stmts_new(void)
{
    return xcalloc(1, sizeof(pg_stmts));
}

void pg_stmts_reset(pg_stmts *s)
{
    if (!s)
        return;
    for (int i = 0; i < PG_STMT_SLOTS; i++) {
        free(s->slot[i].sql);
        s->slot[i].sql = NULL;
    }
}

void pg_stmts_free(pg_stmts *s)
{
    pg_stmts_reset(s);
    free(s);
}

/* FNV-1a from the seed this file always used (the FNV offset basis short of
 * its last digit): kept so statement names and cache slots, and so which
 * pipeline steps share a slot, stay as they were. */
static uint64_t pg__hash(const char *sql)
{
    return hash_fnv1a64_update(1469598103934665603ull, sql, strlen(sql));
}

/* Make sure `sql` is prepared on `conn` as `name` (out). NULL on success,
 * else the failed result (for pg__checked). */
static PGresult *pg__stmt_prepare(pg_stmts *s, PGconn *conn, const char *sql, int nparams,
                                  char name[32])
{
    uint64_t h = pg__hash(sql);
    snprintf(name, 32, "s%016llx", (unsigned long long)h);
    pg_stmt *st = &s->slot[h % PG_STMT_SLOTS];
    if (!st->sql || st->hash != h || strcmp(st->sql, sql)) {
        if (st->sql) { /* evict the text sharing the slot */
            char dealloc[64];
            snprintf(dealloc, sizeof dealloc, "DEALLOCATE s%016llx", (unsigned long long)st->hash);
            PQclear(PQexec(conn, dealloc));
            free(st->sql);
            st->sql = NULL;
        }
        PGresult *res = PQprepare(conn, name, sql, nparams, NULL);
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        /* 42P05: still prepared because an earlier DEALLOCATE failed (it
         * cannot run in an aborted transaction); the name is the text's. */
        if (PQresultStatus(res) != PGRES_COMMAND_OK && !(state && !strcmp(state, "42P05")))
            return res;
        PQclear(res);
        st->hash = h;
        st->sql = xstrdup(sql);
    }
    return NULL;
}

PGresult *pg_stmts_exec_fmt(pg_stmts *s, PGconn *conn, const char *sql, int nparams,
                            const char *const *params, int result_format, char sqlstate[6],
                            char *errstr, size_t errsz)
{
    if (!s) /* unprepared */
        return pg__checked(
            conn, PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, result_format),
            sqlstate, errstr, errsz);
    char name[32];
    PGresult *failed = pg__stmt_prepare(s, conn, sql, nparams, name);
    if (failed)
        return pg__checked(conn, failed, sqlstate, errstr, errsz);
    PGresult *res = PQexecPrepared(conn, name, nparams, params, NULL, NULL, result_format);
    return pg__checked(conn, res, sqlstate, errstr, errsz);
}

PGresult *pg_stmts_exec(pg_stmts *s, PGconn *conn, const char *sql, int nparams,
                        const char *const *params, char sqlstate[6], char *errstr, size_t errsz)
{
    return pg_stmts_exec_fmt(s, conn, sql, nparams, params, 0, sqlstate, errstr, errsz);
}

/* Statements new to this connection are prepared first, one round trip
 * each, once per connection; names[i] gets step i's statement name. */
static bool pg__pipeline_prepare(pg_stmts *s, PGconn *conn, const pg_step *steps, int nsteps,
                                 char names[][32], char sqlstate[6], char *errstr, size_t errsz)
{
    for (int i = 0; i < nsteps && i < PG_PIPELINE_MAX; i++) {
        if (!steps[i].sql)
            continue;
        PGresult *failed = pg__stmt_prepare(s, conn, steps[i].sql, steps[i].nparams, names[i]);
        if (failed) {
            /* Its status is an error, so pg__checked clears it and says NULL. */
            PQclear(pg__checked(conn, failed, sqlstate, errstr, errsz));
            return false;
        }
    }
    return true;
}

/* Whether every step's statement is still in its cache slot once all are
 * prepared: two steps sharing a slot evict each other. */
static bool pg__pipeline_all_cached(const pg_stmts *s, const pg_step *steps, int nsteps)
{
    for (int i = 0; i < nsteps && i < PG_PIPELINE_MAX; i++) {
        if (!steps[i].sql)
            continue;
        const pg_stmt *st = &s->slot[pg__hash(steps[i].sql) % PG_STMT_SLOTS];
        if (!st->sql || strcmp(st->sql, steps[i].sql))
            return false;
    }
    return true;
}

/* The steps run one by one, for steps sharing a cache slot (correct, only
 * slower). Same contract as pg_stmts_pipeline. */
static bool pg__steps_one_by_one(pg_stmts *s, PGconn *conn, const pg_step *steps, int nsteps,
                                 PGresult **last, char sqlstate[6], char *errstr, size_t errsz)
{
    for (int k = 0; k < nsteps; k++) {
        if (!steps[k].sql)
            continue;
        PGresult *res = pg_stmts_exec(s, conn, steps[k].sql, steps[k].nparams, steps[k].params,
                                      sqlstate, errstr, errsz);
        if (!res) {
            if (last && *last) {
                PQclear(*last);
                *last = NULL;
            }
            return false;
        }
        if (last) {
            PQclear(*last);
            *last = res;
        } else {
            PQclear(res);
        }
    }
    return true;
}

/* Queue every step in pipeline mode; returns how many were sent, *ok false
 * (errstr filled) if one could not be. */
static int pg__pipeline_send(PGconn *conn, const pg_step *steps, int nsteps, char names[][32],
                             bool *ok, char *errstr, size_t errsz)
{
    int sent = 0;
    for (int i = 0; i < nsteps && i < PG_PIPELINE_MAX && *ok; i++) {
        if (!steps[i].sql)
            continue;
        if (!PQsendQueryPrepared(conn, names[i], steps[i].nparams, steps[i].params, NULL, NULL,
                                 0)) {
            snprintf(errstr, errsz, "cannot send a statement: %s", PQerrorMessage(conn));
            *ok = false;
            break;
        }
        sent++;
    }
    return sent;
}

/* Read the results of `sent` statements up to the sync point. Each
 * statement's result, then NULL; the sync point ends it all. A failed
 * statement aborts the ones after it. Returns `ok` and'ed with their
 * outcome; *last gets the last statement's result if all went well. */
static bool pg__pipeline_results(PGconn *conn, int sent, bool ok, PGresult **last, char sqlstate[6],
                                 char *errstr, size_t errsz)
{
    int got = 0, nulls = 0;
    for (;;) {
        PGresult *res = PQgetResult(conn);
        if (!res) {
            if (++nulls > sent + 2 || PQstatus(conn) == CONNECTION_BAD) {
                if (ok)
                    snprintf(errstr, errsz, "connection lost in a pipeline: %s",
                             PQerrorMessage(conn));
                return false;
            }
            continue;
        }
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            return ok;
        }
        got++;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (last && got == sent && ok)
                *last = res;
            else
                PQclear(res);
        } else {
            if (ok && st != PGRES_PIPELINE_ABORTED)
                pg__checked(conn, res, sqlstate, errstr, errsz); /* clears res */
            else
                PQclear(res);
            ok = false;
        }
    }
}

bool pg_stmts_pipeline(pg_stmts *s, PGconn *conn, const pg_step *steps, int nsteps, PGresult **last,
                       char sqlstate[6], char *errstr, size_t errsz)
{
    if (last)
        *last = NULL;
    if (sqlstate)
        sqlstate[0] = '\0';
    char names[PG_PIPELINE_MAX][32];
    if (!pg__pipeline_prepare(s, conn, steps, nsteps, names, sqlstate, errstr, errsz))
        return false;
    if (!pg__pipeline_all_cached(s, steps, nsteps))
        return pg__steps_one_by_one(s, conn, steps, nsteps, last, sqlstate, errstr, errsz);
    if (!PQenterPipelineMode(conn)) {
        snprintf(errstr, errsz, "cannot enter pipeline mode: %s", PQerrorMessage(conn));
        return false;
    }
    bool ok = true;
    int sent = pg__pipeline_send(conn, steps, nsteps, names, &ok, errstr, errsz);
    if (!PQpipelineSync(conn)) {
        snprintf(errstr, errsz, "cannot sync the pipeline: %s", PQerrorMessage(conn));
        ok = false;
    } else {
        ok = pg__pipeline_results(conn, sent, ok, last, sqlstate, errstr, errsz);
    }
    if (!PQexitPipelineMode(conn)) {
        /* Results left unread (the sync failed, or the loop gave up on a
         * connection going bad): the connection is not usable for plain
         * statements any more; the caller closes it (PQpipelineStatus). */
        if (ok)
            snprintf(errstr, errsz, "cannot leave pipeline mode: %s", PQerrorMessage(conn));
        ok = false;
    }
    if (!ok && last && *last) {
        PQclear(*last);
        *last = NULL;
    }
    return ok;
}

bool pg_stmts_exec_ok(pg_stmts *s, PGconn *conn, const char *sql, int nparams,
                      const char *const *params, char sqlstate[6], char *errstr, size_t errsz)
{
    PGresult *res = pg_stmts_exec(s, conn, sql, nparams, params, sqlstate, errstr, errsz);
    PQclear(res);
    return res != NULL;
}

bool pg_exec_params_ok(PGconn *conn, const char *sql, int nparams, const char *const *params,
                       char sqlstate[6], char *errstr, size_t errsz)
{
    PGresult *res = pg_exec_params(conn, sql, nparams, params, sqlstate, errstr, errsz);
    PQclear(res);
    return res != NULL;
}

bool pg_query_value(PGconn *conn, const char *sql, int nparams, const char *const *params,
                    char *out, size_t outsz, bool *isnull, char *errstr, size_t errsz)
{
    PGresult *res = pg_exec_params(conn, sql, nparams, params, NULL, errstr, errsz);
    if (!res)
        return false;
    bool ok = PQntuples(res) >= 1 && PQnfields(res) >= 1;
    if (ok) {
        if (isnull)
            *isnull = PQgetisnull(res, 0, 0);
        if (out && outsz)
            snprintf(out, outsz, "%s", PQgetvalue(res, 0, 0));
    } else {
        snprintf(errstr, errsz, "query returned no row");
    }
    PQclear(res);
    return ok;
}

void pg_rollback_quietly(PGconn *conn)
{
    if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "ROLLBACK"));
}
