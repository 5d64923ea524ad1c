/* api_pool.c - a fixed-size pool of PostgreSQL connections.
 *
 * Connections are opened lazily (the API starts while the database is still
 * coming up, and reports not-ready until it answers) and dropped when they
 * come back broken or mid-transaction, so a request never inherits another
 * request's failed state. */
#include "api.h"

#include "log.h"
#include "pg.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct api_pool {
    char *url;
    int size;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn **idle; /* stack of idle open connections */
    int nidle;
    int nopen;      /* open connections, idle or borrowed */
};

api_pool *api_pool_new(const char *url, int size, char *err, size_t errsz)
{
    if (!url || !*url || size < 1) {
        snprintf(err, errsz, "database pool needs a URL and a size >= 1");
        return NULL;
    }
    api_pool *p = xcalloc(1, sizeof *p);
    p->url = xstrdup(url);
    p->size = size;
    p->idle = xcalloc((size_t)size, sizeof *p->idle);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

void api_pool_free(api_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nidle; i++)
        pg_close(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->idle);
    free(p->url);
    free(p);
}

PGconn *api_pool_get(api_pool *p, int timeout_ms, char *err, size_t errsz)
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
        if (p->nidle > 0) {
            PGconn *c = p->idle[--p->nidle];
            pthread_mutex_unlock(&p->mu);
            return c;
        }
        if (p->nopen < p->size) {
            p->nopen++; /* reserve the slot, connect outside the lock */
            pthread_mutex_unlock(&p->mu);
            PGconn *c = pg_connect(p->url, "ruth-api", 5, err, errsz);
            if (c)
                return c;
            pthread_mutex_lock(&p->mu);
            p->nopen--;
            pthread_cond_signal(&p->cv);
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            snprintf(err, errsz, "all %d database connections are busy", p->size);
            return NULL;
        }
    }
}

void api_pool_put(api_pool *p, PGconn *c)
{
    if (!c)
        return;
    bool healthy = PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
    if (!healthy) {
        log_warn("dropping a database connection returned in a bad state");
        pg_close(c);
    }
    pthread_mutex_lock(&p->mu);
    if (healthy)
        p->idle[p->nidle++] = c;
    else
        p->nopen--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

bool api_pool_ping(api_pool *p, char *err, size_t errsz)
{
    PGconn *c = api_pool_get(p, 1000, err, errsz);
    if (!c)
        return false;
    bool ok = pg_exec_ok(c, "SELECT 1", err, errsz);
    api_pool_put(p, c);
    return ok;
}
