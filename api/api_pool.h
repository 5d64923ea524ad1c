/* api_pool.h - a fixed-size pool of PostgreSQL connections with a
 * prepared-statement cache per connection (api_pool.c). A leaf: it knows
 * nothing of requests. */
#ifndef RUTH_API_POOL_H
#define RUTH_API_POOL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct api_pool api_pool;

/* Open `size` connections to `url` (lazily re-opened when one breaks). */
api_pool *api_pool_new(const char *url, int size, char *err, size_t errsz);
void api_pool_free(api_pool *p); /* accepts NULL */
/* Borrow a connection, waiting up to `timeout_ms`; NULL when none could be had
 * (all busy, or the database is unreachable: err says which). */
PGconn *api_pool_get(api_pool *p, int timeout_ms, char *err, size_t errsz);
/* Return a borrowed connection. A connection in a failed state or inside a
 * transaction is reset or closed, never handed out again as is. */
void api_pool_put(api_pool *p, PGconn *c);
/* Run `sql` on borrowed connection `c` as a statement prepared once per
 * connection and query text. Text parameters and results. The result on
 * success (caller PQclear()s), NULL with err filled otherwise. */
PGresult *api_pool_exec(api_pool *p, PGconn *c, const char *sql, int nparams,
                        const char *const *params, char *err, size_t errsz);
/* true when a connection can be had and answers SELECT 1. */
bool api_pool_ping(api_pool *p, char *err, size_t errsz);

#endif
