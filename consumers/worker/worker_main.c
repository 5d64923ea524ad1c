/* ruth-worker - the stateless consumer that turns inference results into
 * events and violations (ARCHITECTURE §5).
 *
 * Loop: wait for a message, then take what is already fetched (at most
 * RUTH_WORKER_BATCH_MAX messages or RUTH_WORKER_BATCH_MS of collecting);
 * decode and validate each (bad ones to the DLQ with the reason in headers);
 * write the valid ones in one transaction (worker_batch.c); then commit the
 * batch's offsets. When PostgreSQL is down the assigned partitions are
 * paused and the same batch is retried with exponential backoff; nothing is
 * skipped and no offset moves past an unpersisted message. */
#include "worker.h"

#include "kafka.h"
#include "kafka_admin.h"
#include "log.h"
#include "ops_http.h"
#include "outbox.h"
#include "pg.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: ruth-worker\n"
    "\n"
    "Consumes InferenceResults from RUTH_TOPIC_INFERENCE in consumer group\n"
    "RUTH_WORKER_GROUP, stores events, rollups and violations in PostgreSQL,\n"
    "publishes Event, ViolationChange and EvidenceRequest messages and\n"
    "dead-letters undecodable input. Serves /health, /ready and /metrics on\n"
    "RUTH_METRICS_PORT. Stops cleanly on SIGTERM. Exit status: 0 after a clean\n"
    "stop, 1 on a start-up failure, 2 on a configuration error.";

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define SWEEP_EVERY_US (2 * 1000000LL)
#define MAINTAIN_EVERY_US (3600 * 1000000LL)

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- ops ---- */

static bool worker_ready(void *arg, char *reason, size_t n)
{
    worker *w = arg;
    if (!atomic_load(&w->db_ok)) {
        snprintf(reason, n, "PostgreSQL unavailable");
        return false;
    }
    if (!atomic_load(&w->assigned_once)) {
        snprintf(reason, n, "waiting for a partition assignment");
        return false;
    }
    return true;
}

static void worker_metrics_init(worker *w)
{
    metrics *r = w->reg;
    w->m.consumed = metrics_counter(r, "ruth_worker_messages_consumed_total",
                                    "Inference messages read from Kafka.", NULL);
    w->m.persisted = metrics_counter(r, "ruth_worker_events_persisted_total",
                                     "Events newly written to PostgreSQL.", NULL);
    w->m.duplicates = metrics_counter(r, "ruth_worker_events_duplicate_total",
                                      "Redelivered or repeated results that were already stored.",
                                      NULL);
    w->m.violations_opened = metrics_counter(r, "ruth_worker_violations_opened_total",
                                             "Violations opened.", NULL);
    w->m.violations_updated = metrics_counter(
        r, "ruth_worker_violations_updated_total", "Violations that gained events or ended.", NULL);
    w->m.db_errors = metrics_counter(r, "ruth_worker_db_errors_total",
                                     "Batches that PostgreSQL did not commit.", NULL);
    w->m.rebalances = metrics_counter(r, "ruth_worker_rebalances_total",
                                      "Consumer group rebalances (assign and revoke).", NULL);
    w->m.batches_failed = metrics_counter(r, "ruth_worker_batch_retries_total",
                                          "Batch attempts that had to be retried.", NULL);
    static const double sizes[] = {1, 10, 50, 100, 250, 500, 1000, 2500, 5000};
    w->m.batch_size = metrics_histogram(r, "ruth_worker_batch_size", "Messages per batch.", NULL,
                                        sizes, sizeof sizes / sizeof sizes[0]);
    w->m.batch_seconds = metrics_histogram(r, "ruth_worker_batch_seconds",
                                           "Time to persist and publish one batch.", NULL,
                                           metrics_latency_buckets, metrics_latency_nbuckets);
}

static void dlq_count(worker *w, const char *code)
{
    char labels[96];
    snprintf(labels, sizeof labels, "reason=\"%s\"", code);
    metric_inc(metrics_counter(w->reg, "ruth_worker_dlq_total",
                               "Messages dead-lettered, by reason.", labels));
}

/* ---- Kafka callbacks ---- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    worker *w = opaque;
    kafka_acks_on_delivery(m);
    if (m->err) {
        if (!m->_private) /* tracked ones (dead letters, outbox) are their waiter's */
            atomic_fetch_add(&w->delivery_failures, 1);
        log_ctx ctx = worker_msg_ctx(m);
        log_at(LOG_ERROR, &ctx, "delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
               rd_kafka_err2str(m->err));
    }
}

/* Asynchronous commits that fail (typically REBALANCE_IN_PROGRESS) are
 * retried from the run loop; until one succeeds the offsets stay behind,
 * which only means redelivery. */
static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk, (void)offsets;
    worker *w = opaque;
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        log_warn("offset commit failed: %s; retrying", rd_kafka_err2str(err));
        atomic_store(&w->commit_retry, true);
    }
}

/* Commit, synchronously, the last batch's offsets of the partitions in
 * `only` (all when NULL) that are still assigned to us. */
static void commit_last(worker *w, const rd_kafka_topic_partition_list_t *only)
{
    if (!w->last_offsets)
        return;
    rd_kafka_topic_partition_list_t *mine = NULL;
    if (rd_kafka_assignment(w->consumer, &mine) || !mine)
        return;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < w->last_offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &w->last_offsets->elems[i];
        if (!rd_kafka_topic_partition_list_find(mine, p->topic, p->partition))
            continue;
        if (only && !rd_kafka_topic_partition_list_find(only, p->topic, p->partition))
            continue;
        rd_kafka_topic_partition_list_add(offs, p->topic, p->partition)->offset = p->offset;
    }
    if (offs->cnt) {
        rd_kafka_resp_err_t e = rd_kafka_commit(w->consumer, offs, 0);
        if (e)
            log_warn("offset commit failed: %s", rd_kafka_err2str(e));
        else
            atomic_store(&w->commit_retry, false);
    }
    rd_kafka_topic_partition_list_destroy(offs);
    rd_kafka_topic_partition_list_destroy(mine);
}

static void lag_set(worker *w, const char *topic, int32_t partition, double lag)
{
    char labels[300];
    snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"%d\"", topic, partition);
    metric_set(metrics_gauge(w->reg, "ruth_worker_consumer_lag",
                             "Messages behind the high watermark per assigned partition, from "
                             "the last committed offset (0 once the partition moved away).",
                             labels),
               lag);
}

/* Lag of every partition with a committed offset: w->last_offsets holds
 * exactly those still assigned (batch_commit adds only assigned ones, a
 * revoke removes them), so no assignment lookup per batch. `query` asks
 * the broker for the high watermark (paused partitions are not fetched, so
 * the cached one stands still during an outage). */
static void lag_report(worker *w, bool query)
{
    if (!w->last_offsets)
        return;
    for (int i = 0; i < w->last_offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *c = &w->last_offsets->elems[i];
        int64_t lo, hi = -1;
        if (c->offset < 0)
            continue;
        if (query)
            rd_kafka_query_watermark_offsets(w->consumer, c->topic, c->partition, &lo, &hi, 500);
        else
            rd_kafka_get_watermark_offsets(w->consumer, c->topic, c->partition, &lo, &hi);
        if (hi >= 0)
            lag_set(w, c->topic, c->partition, (double)(hi - c->offset));
    }
}

static void drop_revoked(worker *w, const rd_kafka_topic_partition_list_t *parts);

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    worker *w = opaque;
    metric_inc(w->m.rebalances);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_info("assigned %d partition(s)", parts->cnt);
        rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
        if (e) {
            log_error("incremental assign failed: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        } else if (w->paused) {
            rd_kafka_pause_partitions(rk, parts); /* the database is still down */
        }
        atomic_store(&w->assigned_once, true);
    } else {
        /* Make what we stored for these partitions durable before handing
         * them over (an asynchronous commit may still be in flight). A batch
         * in progress is redelivered to the new owner, where the
         * idempotency key makes it harmless. */
        log_info("revoked %d partition(s)", parts->cnt);
        commit_last(w, parts);
        drop_revoked(w, parts);
        for (int i = 0; i < parts->cnt; i++) {
            lag_set(w, parts->elems[i].topic, parts->elems[i].partition, 0);
            if (w->last_offsets) /* the next owner's progress, not ours, from now on */
                rd_kafka_topic_partition_list_del(w->last_offsets, parts->elems[i].topic,
                                                  parts->elems[i].partition);
        }
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e) {
            log_error("incremental unassign failed: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
}

/* ---- dead letters ---- */

static int dlq_send(worker *w, kafka_acks *acks, const rd_kafka_message_t *m, const char *stage,
                    const char *code, const char *message)
{
    rd_kafka_headers_t *orig = NULL;
    rd_kafka_headers_t *h = rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR
                                ? rd_kafka_headers_copy(orig)
                                : rd_kafka_headers_new(8);
    char num[32];
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_header_add(h, "ruth.error.topic", -1, topic, -1);
    snprintf(num, sizeof num, "%" PRId32, m->partition);
    rd_kafka_header_add(h, "ruth.error.partition", -1, num, -1);
    snprintf(num, sizeof num, "%" PRId64, m->offset);
    rd_kafka_header_add(h, "ruth.error.offset", -1, num, -1);
    rd_kafka_header_add(h, "ruth.error.stage", -1, stage, -1);
    rd_kafka_header_add(h, "ruth.error.code", -1, code, -1);
    rd_kafka_header_add(h, "ruth.error.message", -1, message, -1);
    rd_kafka_resp_err_t e;
    do {
        e = rd_kafka_producev(w->producer, RD_KAFKA_V_TOPIC(w->cfg->topic_dlq),
                              RD_KAFKA_V_KEY(m->key, m->key_len),
                              RD_KAFKA_V_VALUE(m->payload, m->len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                              RD_KAFKA_V_OPAQUE(kafka_acks_hold(acks)), RD_KAFKA_V_END);
        if (e)
            kafka_acks_drop(acks);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(w->producer, 10);
    } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (e) {
        rd_kafka_headers_destroy(h); /* not handed over on failure */
        log_ctx ctx = worker_msg_ctx(m);
        log_at(LOG_ERROR, &ctx, "cannot dead-letter: %s", rd_kafka_err2str(e));
        return -1;
    }
    /* h now owned by the producer */
    log_ctx ctx = worker_msg_ctx(m);
    log_at(LOG_WARN, &ctx, "dead-lettered (%s/%s): %s", stage, code, message);
    dlq_count(w, code);
    return 0;
}

/* ---- one batch ---- */

typedef struct batch {
    rd_kafka_message_t **msgs;
    size_t nmsgs, cap;
    worker_event *events;
    size_t nevents;
    size_t decoded; /* msgs[0..decoded) are events or acknowledged dead letters */
} batch;

static void batch_forget_events(batch *b)
{
    for (size_t i = 0; i < b->nevents; i++)
        inference_result_free(&b->events[i].r);
    b->nevents = 0;
    b->decoded = 0;
}

/* Messages of `parts` leave `msgs` (destroyed, order kept). */
static size_t drop_partitions(rd_kafka_message_t **msgs, size_t n,
                              const rd_kafka_topic_partition_list_t *parts)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (rd_kafka_topic_partition_list_find(parts, rd_kafka_topic_name(msgs[i]->rkt),
                                               msgs[i]->partition))
            rd_kafka_message_destroy(msgs[i]);
        else
            msgs[kept++] = msgs[i];
    }
    return kept;
}

/* A revoked partition's messages not persisted yet are not ours to persist:
 * the next owner (perhaps this worker again) reads them from the committed
 * offset. Persisting them anyway would make that a redelivery. */
static void drop_revoked(worker *w, const rd_kafka_topic_partition_list_t *parts)
{
    if (w->filling)
        w->filling->nmsgs = drop_partitions(w->filling->msgs, w->filling->nmsgs, parts);
    w->nheld = drop_partitions(w->held, w->nheld, parts);
}

static void batch_clear(batch *b)
{
    batch_forget_events(b);
    for (size_t i = 0; i < b->nmsgs; i++)
        rd_kafka_message_destroy(b->msgs[i]);
    b->nmsgs = 0;
}

/* Wait for this pass's dead letters. Unacknowledged ones mean decoding the
 * whole batch again later (the DLQ is at-least-once like every output);
 * nothing is committed before they are acknowledged. */
static int batch_settle_dlq(worker *w, batch *b, kafka_acks *dlq)
{
    if (!dlq)
        return 0;
    if (kafka_acks_wait(w->producer, dlq, OUTBOX_FLUSH_TIMEOUT_MS) == 0)
        return 0;
    log_warn("dead letters of a batch were not acknowledged; the batch will be retried");
    batch_forget_events(b);
    return -1;
}

/* Decode, validate, dead-letter what is not decoded yet. Decoding happens
 * once per message, so a batch retried through a database outage sends its
 * dead letters once. Returns -1 on a transient failure (schema registry
 * unreachable, dead letters unacknowledged): the batch must be retried. */
static int batch_decode(worker *w, batch *b)
{
    kafka_acks *dlq = NULL;
    int64_t now = now_us();
    for (; b->decoded < b->nmsgs; b->decoded++) {
        rd_kafka_message_t *m = b->msgs[b->decoded];
        worker_event *e = &b->events[b->nevents];
        memset(e, 0, sizeof *e);
        codec_error err = {0};
        const char *stage = "decode";
        if (m->len > (size_t)w->cfg->max_message_bytes) {
            err.code = CODEC_E_TOO_LARGE;
            snprintf(err.message, sizeof err.message, "payload of %zu bytes exceeds %d", m->len,
                     w->cfg->max_message_bytes);
        } else if (codec_decode_inference(w->codec, m->payload, m->len, &e->r, &err) != 0) {
            if (codec_error_is_transient(err.code)) {
                log_ctx ctx = worker_msg_ctx(m);
                log_at(LOG_WARN, &ctx, "cannot decode yet: %s", err.message);
                batch_settle_dlq(w, b, dlq);
                return -1;
            }
        } else if (codec_check_skew(e->r.timestamp_us, now, w->cfg->max_clock_skew_sec, &err)) {
            stage = "validate";
            inference_result_free(&e->r);
        } else {
            worker_events_identify(e, m);
            e->msg = m;
            b->nevents++;
            continue;
        }
        if (!dlq)
            dlq = kafka_acks_new();
        if (dlq_send(w, dlq, m, stage, codec_errcode_name(err.code), err.message) != 0) {
            batch_settle_dlq(w, b, dlq);
            return -1;
        }
    }
    return batch_settle_dlq(w, b, dlq);
}

/* Commit the highest offset + 1 per partition of the batch, for the
 * partitions still ours (one revoked while the batch waited for the
 * database belongs to another member now, whose commits we must not undo). */
static int batch_commit(worker *w, batch *b)
{
    rd_kafka_topic_partition_list_t *mine = NULL;
    if (b->nmsgs == 0 || rd_kafka_assignment(w->consumer, &mine) || !mine)
        return 0;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < b->nmsgs; i++) {
        rd_kafka_message_t *m = b->msgs[i];
        if (!rd_kafka_topic_partition_list_find(mine, rd_kafka_topic_name(m->rkt), m->partition))
            continue;
        rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(
            offs, rd_kafka_topic_name(m->rkt), m->partition);
        if (!p)
            p = rd_kafka_topic_partition_list_add(offs, rd_kafka_topic_name(m->rkt),
                                                  m->partition);
        if (m->offset + 1 > p->offset)
            p->offset = m->offset + 1;
    }
    rd_kafka_topic_partition_list_destroy(mine);
    if (offs->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(offs);
        return 0;
    }
    /* Asynchronous while running (a lost commit only means a harmless
     * redelivery, and it saves a broker round trip per batch); synchronous
     * on the way out so a clean stop leaves nothing to redeliver. */
    bool sync = shutdown_requested();
    rd_kafka_resp_err_t e = rd_kafka_commit(w->consumer, offs, sync ? 0 : 1);
    if (e)
        log_warn("offset commit failed (%s); the batch will be redelivered, which is harmless",
                 rd_kafka_err2str(e));
    if (w->last_offsets) { /* keep the offsets of partitions this batch did not touch */
        for (int i = 0; i < w->last_offsets->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &w->last_offsets->elems[i];
            if (!rd_kafka_topic_partition_list_find(offs, p->topic, p->partition))
                rd_kafka_topic_partition_list_add(offs, p->topic, p->partition)->offset = p->offset;
        }
        rd_kafka_topic_partition_list_destroy(w->last_offsets);
    }
    w->last_offsets = offs; /* re-committed synchronously at shutdown */
    lag_report(w, false);
    return e ? -1 : 0;
}

static void pause_all(worker *w, bool pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(w->consumer, &parts) || !parts)
        return;
    if (pause)
        rd_kafka_pause_partitions(w->consumer, parts);
    else
        rd_kafka_resume_partitions(w->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
}

static void hold(worker *w, rd_kafka_message_t *m)
{
    if (w->nheld == w->capheld) {
        w->capheld = w->capheld ? 2 * w->capheld : 64;
        w->held = xrealloc(w->held, w->capheld * sizeof *w->held);
    }
    w->held[w->nheld++] = m;
}

/* Persist the batch, retrying with backoff (partitions paused) until it
 * succeeds or shutdown is requested. */
static int batch_process(worker *w, batch *b)
{
    int backoff = BACKOFF_MIN_MS;
    bool paused = false;
    int rc = -1;
    b->decoded = 0;
    b->nevents = 0;
    while (!shutdown_requested() || !paused) {
        double t0 = mono_s();
        atomic_store(&w->delivery_failures, 0);
        if (batch_decode(w, b) == 0 && worker_batch_write(w, b->events, b->nevents) == 0) {
            metric_observe(w->m.batch_seconds, mono_s() - t0);
            metric_observe(w->m.batch_size, (double)b->nmsgs);
            batch_commit(w, b); /* a failed commit only means redelivery */
            rc = 0;
            break;
        }
        metric_inc(w->m.batches_failed);
        if (shutdown_requested())
            break;
        if (!paused) {
            pause_all(w, true);
            paused = w->paused = true;
        }
        lag_report(w, true); /* the backlog grows while we wait */
        /* Keep serving the group (rebalances, heartbeats) while waiting. */
        double until = mono_s() + backoff / 1000.0;
        while (mono_s() < until && !shutdown_requested()) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(w->consumer, 50);
            if (m && !m->err)
                hold(w, m); /* fetched before its partition was paused */
            else if (m)
                rd_kafka_message_destroy(m);
        }
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    if (paused) {
        pause_all(w, false);
        w->paused = false;
    }
    batch_clear(b);
    return rc;
}

static int worker_run(worker *w)
{
    batch b = {0};
    b.cap = (size_t)w->cfg->worker_batch_max;
    b.msgs = xcalloc(b.cap, sizeof *b.msgs);
    b.events = xcalloc(b.cap, sizeof *b.events);
    int64_t last_sweep = 0, last_maintenance = 0;
    while (!shutdown_requested()) {
        double deadline = 0;
        w->filling = &b;
        while (b.nmsgs < b.cap && !shutdown_requested()) {
            /* Wait for the first message; then take what is already
             * fetched, without waiting for more: a caught-up worker writes
             * small batches at once (low latency), a worker behind finds
             * its queue full and writes large ones (throughput). */
            int timeout = 100;
            if (b.nmsgs) {
                if (mono_s() >= deadline)
                    break;
                timeout = 0;
            }
            rd_kafka_message_t *m;
            if (w->nheld) { /* held during an outage: first in line */
                m = w->held[0];
                memmove(w->held, w->held + 1, --w->nheld * sizeof *w->held);
            } else {
                m = rd_kafka_consumer_poll(w->consumer, timeout);
            }
            if (!m)
                break;
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    log_ctx ctx = worker_msg_ctx(m);
                    log_at(LOG_WARN, &ctx, "consumer: %s", rd_kafka_message_errstr(m));
                }
                rd_kafka_message_destroy(m);
                continue;
            }
            if (b.nmsgs == 0)
                deadline = mono_s() + w->cfg->worker_batch_ms / 1000.0;
            b.msgs[b.nmsgs++] = m;
            metric_inc(w->m.consumed);
        }
        w->filling = NULL; /* decoded from here on: a revoke is handled by the commit */
        if (b.nmsgs)
            batch_process(w, &b);
        rd_kafka_poll(w->producer, 0);
        int64_t now = now_us();
        if (now - last_sweep > SWEEP_EVERY_US) {
            /* Idle housekeeping: failed commits, outbox leftovers, and a
             * database check so /ready tells the truth between batches. */
            if (atomic_load(&w->commit_retry))
                commit_last(w, NULL);
            if (worker_db_connect(w) && PQstatus(w->db) == CONNECTION_OK) {
                PGresult *r = PQexec(w->db, "SELECT 1");
                bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
                PQclear(r);
                if (!ok) {
                    atomic_store(&w->db_ok, false);
                    pg_close(w->db);
                    w->db = NULL;
                }
            }
            worker_outbox_sweep(w);
            if (now - last_maintenance > MAINTAIN_EVERY_US && w->db) {
                worker_maintain(w);
                last_maintenance = now;
            }
            last_sweep = now;
        }
    }
    batch_clear(&b);
    free(b.msgs);
    free(b.events);
    for (size_t i = 0; i < w->nheld; i++) /* not committed: redelivered after a restart */
        rd_kafka_message_destroy(w->held[i]);
    free(w->held);
    return 0;
}

int main(int argc, char **argv)
{
    ruth_config cfg;
    int st = config_startup(argc, argv, CFG_WORKER, "ruth-worker", usage, &cfg);
    if (st)
        return st == 1 ? 0 : 2;
    shutdown_install();
    int rc = 1;
    char err[512];
    worker w = {0};
    w.cfg = &cfg;
    w.stmts = pg_stmts_new();
    w.reg = metrics_new();
    worker_metrics_init(&w);
    ops_http *ops = NULL;

    w.codec = codec_new(cfg.schema_registry_url, err, sizeof err);
    if (!w.codec) {
        log_error("%s", err);
        goto done;
    }
    ops = ops_http_start(cfg.metrics_port, w.reg, worker_ready, &w, err, sizeof err);
    if (!ops) {
        log_error("%s", err);
        goto done;
    }
    {
        log_ctx ctx = LOG_CTX_INIT;
        char extra[64];
        snprintf(extra, sizeof extra, "\"metrics_port\":%d", ops_http_port(ops));
        ctx.extra_json = extra;
        log_at(LOG_INFO, &ctx, "serving /health, /ready and /metrics on port %d",
               ops_http_port(ops));
    }
    rd_kafka_conf_t *pconf = kafka_conf_new(cfg.kafka_bootstrap_servers, "ruth-worker", err,
                                            sizeof err);
    if (!pconf) {
        log_error("%s", err);
        goto done;
    }
    rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
    rd_kafka_conf_set_opaque(pconf, &w);
    w.producer = kafka_producer_new(pconf, err, sizeof err); /* takes pconf */
    if (!w.producer) {
        log_error("%s", err);
        goto done;
    }
    kafka_topic_spec specs[KAFKA_ADMIN_NTOPICS];
    size_t ns = kafka_admin_topics_from_config(&cfg, specs);
    for (size_t i = 0; i < ns; i++)
        specs[i].partitions = 0; /* any count will do for a check */
    if (kafka_admin_check_topics(w.producer, specs, ns, 10000, err, sizeof err)) {
        log_error("%s", err);
        goto done;
    }
    rd_kafka_conf_t *cconf = kafka_conf_new(cfg.kafka_bootstrap_servers, "ruth-worker", err,
                                            sizeof err);
    if (!cconf) {
        log_error("%s", err);
        goto done;
    }
    /* Bound the prefetch queue (per partition in this librdkafka: 100,000
     * messages or 64 MB by default); it dominates the worker's memory and
     * buys nothing beyond a couple of batches. */
    /* Heartbeat every second (default 3 s): a replica joining or leaving
     * is noticed by the others, and the group settles, that much sooner. */
    if (!kafka_conf_set(cconf, "queued.max.messages.kbytes", "2048", err, sizeof err) ||
        !kafka_conf_set(cconf, "queued.min.messages", "5000", err, sizeof err) ||
        !kafka_conf_set(cconf, "heartbeat.interval.ms", "1000", err, sizeof err)) {
        log_error("%s", err);
        rd_kafka_conf_destroy(cconf);
        goto done;
    }
    rd_kafka_conf_set_rebalance_cb(cconf, on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(cconf, on_commit);
    rd_kafka_conf_set_opaque(cconf, &w);
    w.consumer = kafka_consumer_new(cconf, cfg.worker_group, err, sizeof err); /* takes cconf */
    if (!w.consumer) {
        log_error("%s", err);
        goto done;
    }
    worker_db_connect(&w); /* retried per batch when it fails */
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, cfg.topic_inference, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(w.consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        log_error("cannot subscribe to %s: %s", cfg.topic_inference, rd_kafka_err2str(e));
        goto done;
    }
    log_info("consuming %s in group %s (batches of up to %d messages / %d ms)",
             cfg.topic_inference, cfg.worker_group, cfg.worker_batch_max, cfg.worker_batch_ms);
    rc = worker_run(&w);
    log_info("stopping: leaving the consumer group");

done:
    if (w.consumer) {
        /* Closing revokes our partitions; the revoke callback commits the
         * last batch's offsets synchronously (commit_last). */
        rd_kafka_consumer_close(w.consumer);
        if (w.last_offsets)
            rd_kafka_topic_partition_list_destroy(w.last_offsets);
        w.last_offsets = NULL;
        rd_kafka_destroy(w.consumer);
    }
    if (w.producer) {
        rd_kafka_flush(w.producer, 5000);
        rd_kafka_destroy(w.producer);
    }
    ops_http_stop(ops);
    pg_close(w.db);
    pg_stmts_free(w.stmts);
    worker_caches_free(&w);
    codec_destroy(w.codec);
    metrics_destroy(w.reg);
    config_free(&cfg);
    log_info("stopped");
    return rc;
}
