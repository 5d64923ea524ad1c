/* pg_pool.c - a fixed-size pool of PostgreSQL connections with a
 * prepared-statement cache per connection (moved here from api/ when
 * ruth-ingest needed one too).
 *
 * Connections are opened lazily (a server starts while the database is still
 * coming up, and reports not-ready until it answers) and dropped when they
 * come back broken or mid-transaction, so a request never inherits another
 * request's failed state. Every query text a handler runs is prepared once
 * per connection (handlers assemble their SQL from fixed fragments, so the
 * set of texts is small and bounded) and executed by name afterwards:
 * PostgreSQL parses and plans it once instead of on every request. */
#include "pg_pool.h"

#include "log.h"
#include "pg.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slot {
    PGconn *c; /* NULL = not open */
    bool busy;
    pg_stmts *stmts; /* prepared statements of c */
} slot;

struct pg_pool {
    char *url;
    char *app; /* application_name */
    int size;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot *slots;
};

pg_pool *pg_pool_new(const char *url, const char *application_name, int size, char *err,
                     size_t errsz)
{
    if (!url || !*url || size < 1) {
        snprintf(err, errsz, "database pool needs a URL and a size >= 1");
        return NULL;
    }
    pg_pool *p = xcalloc(1, sizeof *p);
    p->url = xstrdup(url);
    p->app = xstrdup(application_name);
    p->size = size;
    p->slots = xcalloc((size_t)size, sizeof *p->slots);
    for (int i = 0; i < size; i++)
        p->slots[i].stmts = pg_stmts_new();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

static void slot_close(slot *s)
{
    pg_close(s->c);
    s->c = NULL;
    pg_stmts_reset(s->stmts);
}

void pg_pool_free(pg_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->size; i++) {
        slot_close(&p->slots[i]);
        pg_stmts_free(p->slots[i].stmts);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->slots);
    free(p->url);
    free(p->app);
    free(p);
}

PGconn *pg_pool_get(pg_pool *p, int timeout_ms, char *err, size_t errsz)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->mu);
    for (;;) {
        slot *closed = NULL;
        for (int i = 0; i < p->size; i++) {
            slot *s = &p->slots[i];
            if (s->busy)
                continue;
            if (s->c) {
                s->busy = true;
                pthread_mutex_unlock(&p->mu);
                return s->c;
            }
            if (!closed)
                closed = s;
        }
        if (closed) {
            closed->busy = true; /* reserve it, connect outside the lock */
            pthread_mutex_unlock(&p->mu);
            PGconn *c = pg_connect(p->url, p->app, 5, err, errsz);
            pthread_mutex_lock(&p->mu);
            closed->c = c;
            if (!c) {
                closed->busy = false;
                pthread_cond_signal(&p->cv);
            }
            pthread_mutex_unlock(&p->mu);
            return c;
        }
        if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            snprintf(err, errsz, "all %d database connections are busy", p->size);
            return NULL;
        }
    }
}

static slot *slot_of(pg_pool *p, PGconn *c)
{
    for (int i = 0; i < p->size; i++)
        if (p->slots[i].c == c)
            return &p->slots[i];
    return NULL;
}

void pg_pool_put(pg_pool *p, PGconn *c)
{
    if (!c)
        return;
    bool healthy = PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
    if (!healthy)
        log_warn("dropping a database connection returned in a bad state");
    pthread_mutex_lock(&p->mu);
    slot *s = slot_of(p, c);
    if (s) {
        if (!healthy)
            slot_close(s);
        s->busy = false;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

bool pg_pool_ping(pg_pool *p, char *err, size_t errsz)
{
    PGconn *c = pg_pool_get(p, 1000, err, errsz);
    if (!c)
        return false;
    bool ok = pg_exec_ok(c, "SELECT 1", err, errsz);
    pg_pool_put(p, c);
    return ok;
}

PGresult *pg_pool_exec_fmt(pg_pool *p, PGconn *c, const char *sql, int nparams,
                           const char *const *params, int result_format, char *err, size_t errsz)
{
    /* The slot is this caller's while borrowed: no lock needed for its cache. */
    pthread_mutex_lock(&p->mu);
    slot *s = slot_of(p, c);
    pthread_mutex_unlock(&p->mu);
    return pg_stmts_exec_fmt(s ? s->stmts : NULL, c, sql, nparams, params, result_format, NULL, err,
                             errsz);
}

PGresult *pg_pool_exec(pg_pool *p, PGconn *c, const char *sql, int nparams,
                       const char *const *params, char *err, size_t errsz)
{
    return pg_pool_exec_fmt(p, c, sql, nparams, params, 0, err, errsz);
}
