/* api_db.h - a request's database access (api_db.c): the connection it
 * borrows, its queries, their failures, and relaying the outbox rows it
 * wrote.
 *
 * api_query() and api_outbox_relay() keep their names (handlers call them)
 * rather than an api_db_ prefix. */
#ifndef RUTH_API_DB_H
#define RUTH_API_DB_H

#include "api_context.h"

#include "outbox.h"
#include "pg_array.h"

#include <libpq-fe.h>
#include <stdbool.h>

/* The request's database connection (read pool when `read_only`), borrowed
 * until the request ends (api_http.c returns it); NULL after a 503 error
 * response was sent. */
PGconn *api_db(api_req *r, bool read_only);

/* Run a parameterised query on r's connection; NULL after api_db_error().
 * The caller PQclear()s the result. */
PGresult *api_query(api_req *r, bool read_only, const char *sql, int nparams,
                    const char *const *params);

/* api_query with binary results (api_rowjson.h says which column types
 * its writer decodes). */
PGresult *api_query_binary(api_req *r, bool read_only, const char *sql, int nparams,
                           const char *const *params);

/* 500 DATABASE_ERROR for a failed query (logged with the request id). */
void api_db_error(api_req *r, const char *what, const char *err);

/* The end of a write transaction that put messages in the outbox: insert
 * `ob`'s rows (their ids appended to `ids`, a pg_array the caller frees)
 * and COMMIT. False with the error answered (the caller rolls back). */
bool api_db_commit_outbox(api_req *r, PGconn *db, outbox_batch *ob, pg_array *ids);

/* Relay outbox rows just written (ids as a bigint[] literal); leftovers are
 * swept by the background relay. */
void api_outbox_relay(api_req *r, const char *ids);

#endif
