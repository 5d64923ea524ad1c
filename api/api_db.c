/* api_db.c - a request's database connection, queries and their errors. */
#include "api_db.h"

#include "api_response.h"
#include "log.h"
#include "outbox.h"
#include "pg.h"

#include <stdio.h>

void api_db_error(api_req *r, const char *what, const char *err)
{
    log_ctx ctx = LOG_CTX_INIT;
    ctx.request_id = r->request_id;
    log_at(LOG_ERROR, &ctx, "%s: %s", what, err);
    metric_inc(r->a->m_db_errors);
    /* The database's own message stays in the log: it can name tables and
     * values the caller has no business seeing. */
    api_error(r, 500, "DATABASE_ERROR", NULL, "the database could not complete the request");
}

PGconn *api_db(api_req *r, bool read_only)
{
    if (r->db)
        return r->db;
    char err[512];
    pg_pool *p = read_only ? r->a->read_pool : r->a->pool;
    r->db = pg_pool_get(p, 2000, err, sizeof err);
    r->db_pool = p;
    if (!r->db) {
        log_ctx ctx = LOG_CTX_INIT;
        ctx.request_id = r->request_id;
        log_at(LOG_WARN, &ctx, "no database connection: %s", err);
        metric_inc(r->a->m_db_errors);
        snprintf(r->retry_after, sizeof r->retry_after, "1");
        /* The contract's DATABASE_ERROR is a 500 (retry 1-2 times). */
        api_error(r, 500, "DATABASE_ERROR", json_pack("{s:i}", "retry_after_seconds", 1),
                  "the database is unavailable; retry shortly");
    }
    return r->db;
}

static PGresult *api_db__query(api_req *r, bool read_only, const char *sql, int nparams,
                               const char *const *params, int result_format)
{
    PGconn *db = api_db(r, read_only);
    if (!db)
        return NULL;
    char err[1024];
    PGresult *res =
        pg_pool_exec_fmt(r->db_pool, db, sql, nparams, params, result_format, err, sizeof err);
    if (!res)
        api_db_error(r, "query failed", err);
    return res;
}

PGresult *api_query(api_req *r, bool read_only, const char *sql, int nparams,
                    const char *const *params)
{
    return api_db__query(r, read_only, sql, nparams, params, 0);
}

PGresult *api_query_binary(api_req *r, bool read_only, const char *sql, int nparams,
                           const char *const *params)
{
    return api_db__query(r, read_only, sql, nparams, params, 1);
}

void api_outbox_relay(api_req *r, const char *ids)
{
    const char *p[1] = {ids};
    /* A request waits a second at most: a slow broker must not hold the
     * client or the connection; what is not acknowledged by then stays for
     * the background sweep. */
    if (r->db && outbox_relay(r->db, r->a->producer, 1000, "id = ANY($1::bigint[])", 1, p) < 0) {
        log_ctx ctx = LOG_CTX_INIT;
        ctx.request_id = r->request_id;
        log_at(LOG_WARN, &ctx, "outbox relay failed; the background sweep will publish later");
    }
}

bool api_db_commit_outbox(api_req *r, PGconn *db, outbox_batch *ob, pg_array *ids)
{
    char err[512];
    pg_array_begin(ids);
    if (outbox_batch_insert(ob, db, NULL, ids, err, sizeof err)) {
        api_db_error(r, "outbox insert failed", err);
        return false;
    }
    if (!pg_exec_ok(db, "COMMIT", err, sizeof err)) {
        api_db_error(r, "commit failed", err);
        return false;
    }
    return true;
}
