/* pg_pool.h - a fixed-size pool of PostgreSQL connections with a
 * prepared-statement cache per connection (pg_pool.c), shared by the HTTP
 * servers (ruth-api's request pool, ruth-ingest's runtime registration). A
 * leaf: it knows nothing of requests. */
#ifndef RUTH_PG_POOL_H
#define RUTH_PG_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pg_pool pg_pool;

/* A pool of up to `size` connections to `url`, opened lazily (on first use,
 * again after one broke) under `application_name` (copied). */
pg_pool *pg_pool_new(const char *url, const char *application_name, int size, char *err,
                     size_t errsz);
void pg_pool_free(pg_pool *p); /* accepts NULL */
/* Borrow a connection, waiting up to `timeout_ms`; NULL when none could be had
 * (all busy, or the database is unreachable: err says which). */
PGconn *pg_pool_get(pg_pool *p, int timeout_ms, char *err, size_t errsz);
/* Return a borrowed connection. A connection in a failed state or inside a
 * transaction is reset or closed, never handed out again as is. */
void pg_pool_put(pg_pool *p, PGconn *c);
/* Run `sql` on borrowed connection `c` as a statement prepared once per
 * connection and query text. Text parameters and results. The result on
 * success (caller PQclear()s), NULL with err filled otherwise. */
PGresult *pg_pool_exec(pg_pool *p, PGconn *c, const char *sql, int nparams,
                       const char *const *params, char *err, size_t errsz);
/* pg_pool_exec with the results in `result_format` (0 text, 1 binary). */
PGresult *pg_pool_exec_fmt(pg_pool *p, PGconn *c, const char *sql, int nparams,
                           const char *const *params, int result_format, char *err, size_t errsz);
/* true when a connection can be had and answers SELECT 1. */
bool pg_pool_ping(pg_pool *p, char *err, size_t errsz);

#endif
