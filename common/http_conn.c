/* http_conn.c - the request-header deadline (see http_conn.h for why).
 *
 * Every open connection has an entry in a list guarded by one mutex. The
 * entry is unlinked in libmicrohttpd's "closed" notification, which comes
 * before libmicrohttpd closes the socket; the watchdog calls shutdown() on
 * an entry's socket only with the mutex held, so it never touches a
 * descriptor that was closed and reused by another connection. */
#include "http_conn.h"
#include "clock.h"

#include "log.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define CONN_TICK_NS (250 * 1000 * 1000L)

typedef struct conn_entry conn_entry;
struct conn_entry {
    int fd;
    bool awaiting; /* waiting for request headers since `since` */
    double since;  /* monotonic seconds */
    conn_entry *prev, *next;
};

struct http_conn {
    double timeout;
    metric *expired;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    conn_entry *head;
    pthread_t thread;
};

static void *conn__watch(void *arg)
{
    http_conn *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += CONN_TICK_NS;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
        double now = clock_mono_s();
        int ended = 0;
        for (conn_entry *e = t->head; e; e = e->next) {
            if (!e->awaiting || now - e->since < t->timeout)
                continue;
            e->awaiting = false;
            /* libmicrohttpd sees end of input and closes the connection. */
            if (shutdown(e->fd, SHUT_RDWR) == 0 || errno == ENOTCONN)
                ended++;
        }
        if (ended) {
            if (t->expired)
                metric_add(t->expired, ended);
            log_debug("%d connection(s) closed: request headers not complete within %.0f s", ended,
                      t->timeout);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

http_conn *http_conn_new(int header_timeout_sec, metric *expired)
{
    http_conn *t = xcalloc(1, sizeof *t);
    t->timeout = header_timeout_sec;
    t->expired = expired;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    if (pthread_create(&t->thread, NULL, conn__watch, t) != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    return t;
}

void http_conn_free(http_conn *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    while (t->head) { /* none once the daemon stopped; freed anyway */
        conn_entry *e = t->head;
        t->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

void http_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code)
{
    http_conn *t = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci)
            return;
        conn_entry *e = xcalloc(1, sizeof *e);
        e->fd = ci->connect_fd;
        e->awaiting = true;
        e->since = clock_mono_s();
        pthread_mutex_lock(&t->mu);
        e->next = t->head;
        if (t->head)
            t->head->prev = e;
        t->head = e;
        pthread_mutex_unlock(&t->mu);
        *socket_context = e;
        return;
    }
    conn_entry *e = *socket_context;
    if (!e)
        return;
    pthread_mutex_lock(&t->mu);
    if (e->prev)
        e->prev->next = e->next;
    else
        t->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    pthread_mutex_unlock(&t->mu);
    free(e);
    *socket_context = NULL;
}

static void conn__set(http_conn *t, struct MHD_Connection *conn, bool awaiting)
{
    if (!t)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn_entry *e = ci ? ci->socket_context : NULL;
    if (!e)
        return;
    pthread_mutex_lock(&t->mu);
    e->awaiting = awaiting;
    e->since = clock_mono_s();
    pthread_mutex_unlock(&t->mu);
}

void http_conn_headers_done(http_conn *t, struct MHD_Connection *conn)
{
    conn__set(t, conn, false);
}

void http_conn_request_done(http_conn *t, struct MHD_Connection *conn)
{
    conn__set(t, conn, true);
}
