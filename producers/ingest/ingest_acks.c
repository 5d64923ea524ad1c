/* ingest_acks.c - see ingest_acks.h. */
#include "ingest_acks.h"

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ingest_wait {
    ingest *g;
    /* The messages not yet reported, plus one for the request until
     * ingest_acks_commit/_abandon; the wait is freed at 0. */
    atomic_int refs;
    atomic_int pending;    /* messages not yet reported, plus the same hold */
    atomic_int failed;     /* reports with an error */
    atomic_int refused;    /* the first permanent refusal among them (0: none) */
    atomic_bool committed; /* suspended: reports may answer from now on */
    atomic_bool claimed;   /* someone answers (or detached) the request */
    ingest_req *r;         /* valid until answered (or detached) */
    buf body;              /* the request body the messages point into */
    size_t n;
    double t0, deadline; /* monotonic s */
    bool listed;         /* in g->waits (under g->waits_mu) */
    ingest_wait *prev, *next;
};

ingest_wait *ingest_acks_begin(ingest_req *r, size_t n)
{
    ingest_wait *w = xcalloc(1, sizeof *w);
    w->g = r->g;
    atomic_init(&w->refs, 1);
    atomic_init(&w->pending, 1);
    w->r = r;
    w->body = r->body;
    r->body = (buf){0}; /* the wait's now: messages point into it */
    w->n = n;
    w->t0 = clock_mono_s();
    w->deadline = w->t0 + r->g->cfg->ingest_ack_timeout_ms / 1000.0;
    r->wait = w;
    return w;
}

void *ingest_acks_hold(ingest_wait *w)
{
    atomic_fetch_add(&w->refs, 1);
    atomic_fetch_add(&w->pending, 1);
    return w;
}

static void acks__release(ingest_wait *w)
{
    if (atomic_fetch_sub(&w->refs, 1) == 1) {
        buf_free(&w->body);
        free(w);
    }
}

void ingest_acks_unhold(ingest_wait *w)
{
    atomic_fetch_sub(&w->pending, 1);
    acks__release(w);
}

/* Off the list, and off its request (under the lock ingest_acks_detach
 * takes, so it never sees a wait being freed). */
static void acks__unlist(ingest_wait *w)
{
    ingest *g = w->g;
    pthread_mutex_lock(&g->waits_mu);
    if (w->r)
        w->r->wait = NULL;
    if (w->listed) {
        if (w->prev)
            w->prev->next = w->next;
        else
            g->waits = w->next;
        if (w->next)
            w->next->prev = w->prev;
        else
            g->waits_tail = w->prev;
        w->listed = false;
    }
    pthread_mutex_unlock(&g->waits_mu);
}

/* Answer the suspended request of w (once: the caller won the claim) and
 * resume its connection; w->r is not touched after. */
static void acks__answer(ingest_wait *w, bool timed_out)
{
    ingest_req *r = w->r;
    ingest *g = w->g;
    acks__unlist(w);
    metric_observe(g->m_produce_secs, clock_mono_s() - w->t0);
    if (!atomic_load(&w->failed) && !atomic_load(&w->pending) && !timed_out) {
        metric_add(g->m_results, (double)w->n);
        r->status = 202;
        buf_reset(&r->out);
        buf_printf(&r->out, "{\"accepted\":%zu,\"request_id\":\"%s\"}", w->n, r->request_id);
    } else if (atomic_load(&w->refused)) {
        rd_kafka_resp_err_t e = (rd_kafka_resp_err_t)atomic_load(&w->refused);
        ingest_error(r, 500, "INTERNAL_ERROR",
                     json_pack("{s:s, s:s}", "reason", rd_kafka_err2name(e), "kafka_error",
                               rd_kafka_err2str(e)),
                     "Kafka refused a result for good (%s): sending it again will not help; "
                     "the others of the request may have been written",
                     rd_kafka_err2str(e));
    } else if (timed_out) {
        ingest_unavailable(r, "not acknowledged by Kafka",
                           "Kafka did not acknowledge all %zu results in time; retry later", w->n);
    } else {
        ingest_unavailable(r, "delivery failed", "Kafka did not take all %zu results; retry later",
                           w->n);
    }
    atomic_store(&r->answered, true);
    struct MHD_Connection *conn = r->conn;
    w->r = NULL;
    MHD_resume_connection(conn); /* r may be answered and freed from here on */
    acks__release(w);            /* the request's reference */
}

static bool acks__claim(ingest_wait *w)
{
    bool no = false;
    return atomic_compare_exchange_strong(&w->claimed, &no, true);
}

void ingest_acks_commit(ingest_req *r)
{
    ingest_wait *w = r->wait;
    ingest *g = r->g;
    r->suspended = true;
    MHD_suspend_connection(r->conn);
    pthread_mutex_lock(&g->waits_mu);
    w->prev = g->waits_tail;
    if (g->waits_tail)
        g->waits_tail->next = w;
    else
        g->waits = w;
    g->waits_tail = w;
    w->listed = true;
    pthread_mutex_unlock(&g->waits_mu);
    atomic_store(&w->committed, true);
    /* The hold: when every report came in already, or one failed before
     * reports could answer, answer from here. */
    int left = atomic_fetch_sub(&w->pending, 1) - 1;
    if ((left == 0 || atomic_load(&w->failed)) && acks__claim(w))
        acks__answer(w, false);
}

void ingest_acks_abandon(ingest_req *r)
{
    ingest_wait *w = r->wait;
    r->wait = NULL;
    bool mine = acks__claim(w); /* no report answers this request */
    (void)mine;                 /* always ours: nothing else claims before commit */
    w->r = NULL;
    atomic_fetch_sub(&w->pending, 1);
    acks__release(w); /* the request's; the hold had no reference of its own */
}

/* Refusals that sending again cannot cure: the record itself
 * (kafka_error_is_record_refusal) or this producer's right to the topic. A
 * retry would be refused the same way, so the client is told so (500), not
 * asked to retry (503). */
static bool acks__permanent(rd_kafka_resp_err_t e)
{
    return kafka_error_is_record_refusal(e) || e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;
}

void ingest_acks_on_delivery(ingest *g, const rd_kafka_message_t *m)
{
    (void)g;
    ingest_wait *w = m->_private;
    if (!w)
        return;
    if (m->err) {
        atomic_fetch_add(&w->failed, 1);
        int none = 0;
        if (acks__permanent(m->err))
            atomic_compare_exchange_strong(&w->refused, &none, (int)m->err);
    }
    int left = atomic_fetch_sub(&w->pending, 1) - 1;
    /* Once the request is suspended, a failure answers it at once and the
     * last report with success (the hold keeps `left` above 0 until then;
     * a failure before it is seen by ingest_acks_commit). */
    if (atomic_load(&w->committed) && (m->err || left == 0) && !atomic_load(&w->claimed) &&
        acks__claim(w))
        acks__answer(w, false);
    acks__release(w);
}

void ingest_acks_sweep(ingest *g, double now)
{
    for (;;) {
        ingest_wait *due = NULL;
        pthread_mutex_lock(&g->waits_mu);
        /* Oldest first, and every request has the same timeout: the head
         * is the first to expire. */
        if (g->waits && g->waits->deadline <= now) {
            due = g->waits;
            atomic_fetch_add(&due->refs, 1); /* kept alive outside the lock */
        }
        pthread_mutex_unlock(&g->waits_mu);
        if (!due)
            return;
        if (acks__claim(due))
            acks__answer(due, true);
        else
            acks__unlist(due); /* being answered by a report right now */
        acks__release(due);
    }
}

void ingest_acks_drain(ingest *g, double timeout_s)
{
    double end = clock_mono_s() + timeout_s;
    for (;;) {
        pthread_mutex_lock(&g->waits_mu);
        bool any = g->waits != NULL;
        pthread_mutex_unlock(&g->waits_mu);
        double now = clock_mono_s();
        if (!any || now >= end)
            return;
        rd_kafka_poll(g->producer, 50);
        ingest_acks_sweep(g, clock_mono_s());
    }
}

void ingest_acks_detach(ingest_req *r)
{
    ingest *g = r->g;
    pthread_mutex_lock(&g->waits_mu);
    ingest_wait *w = r->wait; /* alive: its answer would have cleared this first */
    bool mine = w && acks__claim(w);
    pthread_mutex_unlock(&g->waits_mu);
    if (mine) {
        /* The connection went away while suspended (the daemon stopping):
         * nobody will answer it; drop it from the list. */
        acks__unlist(w);
        w->r = NULL;
        acks__release(w);
        return;
    }
    if (w) /* a report or the sweeper is answering it this moment */
        while (!atomic_load(&r->answered))
            sched_yield();
}
