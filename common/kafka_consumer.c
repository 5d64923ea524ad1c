/* kafka_consumer.c - the batch consumer (see kafka_consumer.h for what it
 * promises): the run loop (collect, process with retry, idle
 * housekeeping), dead letters, life cycle. Rebalances, commits and lag are
 * in kafka_consumer_offsets.c. */
#include "kafka_consumer_internal.h"

#include "clock.h"
#include "kafka.h"
#include "kafka_admin.h"
#include "log.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define IDLE_EVERY_MS_DEFAULT 2000
#define MAX_MESSAGE_BYTES_DEFAULT (1024 * 1024)
#define SESSION_TIMEOUT_MS "6000"
#define MAX_POLL_INTERVAL_MS "300000"
#define STALL_SEC_DEFAULT 60
#define FINAL_COMMIT_S 5.0

log_ctx kafka_consumer_msg_ctx(const rd_kafka_message_t *m)
{
    log_ctx c = LOG_CTX_INIT;
    if (m && m->rkt) {
        c.topic = rd_kafka_topic_name(m->rkt);
        c.partition = m->partition;
        c.offset = m->offset;
    }
    return c;
}

/* ---- metrics ---- */

metric *kafka_consumer__series(kafka_consumer *kc, const char *kind, const char *suffix,
                               const char *help, const char *labels)
{
    char name[128];
    snprintf(name, sizeof name, "%s_%s", kc->conf.metric_prefix, suffix);
    if (kind[0] == 'c')
        return metrics_counter(kc->conf.reg, name, help, labels);
    return metrics_gauge(kc->conf.reg, name, help, labels);
}

static void consumer__metrics_init(kafka_consumer *kc)
{
    char name[128];
    kc->m.consumed = kafka_consumer__series(kc, "c", "messages_consumed_total",
                                            "Messages read from Kafka.", NULL);
    kc->m.rebalances = kafka_consumer__series(
        kc, "c", "rebalances_total", "Consumer group rebalances (assign and revoke).", NULL);
    kc->m.retries = kafka_consumer__series(kc, "c", "batch_retries_total",
                                           "Batch attempts that had to be retried.", NULL);
    kc->m.stalled = kafka_consumer__series(
        kc, "g", "batch_stalled_seconds",
        "How long the batch in hand has been retried without being made durable (0: none).", NULL);
    kc->m.collect_first = kafka_consumer__series(
        kc, "c", "collect_first_seconds_total",
        "Time spent waiting for the first message of a batch (idle or fetching).", NULL);
    kc->m.collect_rest =
        kafka_consumer__series(kc, "c", "collect_rest_seconds_total",
                               "Time spent filling a batch after its first message.", NULL);
    kc->m.after_batch = kafka_consumer__series(
        kc, "c", "batch_release_seconds_total",
        "Time from a batch's success to the next collect: offset commit, messages released.", NULL);
    static const double sizes[] = {1, 10, 50, 100, 250, 500, 1000, 2500, 5000};
    snprintf(name, sizeof name, "%s_batch_size", kc->conf.metric_prefix);
    kc->m.batch_size = metrics_histogram(kc->conf.reg, name, "Messages per batch.", NULL, sizes,
                                         sizeof sizes / sizeof sizes[0]);
    snprintf(name, sizeof name, "%s_batch_seconds", kc->conf.metric_prefix);
    kc->m.batch_seconds =
        metrics_histogram(kc->conf.reg, name, "Time to make one batch's effects durable.", NULL,
                          metrics_latency_buckets, metrics_latency_nbuckets);
}

/* ---- librdkafka callbacks ---- */

static void consumer__on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    kafka_consumer *kc = opaque;
    kafka_acks_on_delivery(m);
    if (m->err) {
        kafka_consumer__dlq_on_delivery(kc, m);
        if (!m->_private) /* tracked ones (dead letters, outbox) are their waiter's */
            atomic_fetch_add(&kc->delivery_failures, 1);
        log_ctx ctx = kafka_consumer_msg_ctx(m);
        log_at(LOG_ERROR, &ctx, "delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
               rd_kafka_err2str(m->err));
    }
}

/* ---- the run loop ---- */

static void consumer__pause_all(kafka_consumer *kc, bool pause)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    kc->paused = pause; /* partitions assigned from now on follow it */
    if (rd_kafka_assignment(kc->consumer, &parts) || !parts)
        return;
    if (pause)
        rd_kafka_pause_partitions(kc->consumer, parts);
    else
        rd_kafka_resume_partitions(kc->consumer, parts);
    rd_kafka_topic_partition_list_destroy(parts);
}

static void consumer__hold(kafka_consumer *kc, rd_kafka_message_t *m)
{
    if (kc->nheld == kc->capheld) {
        kc->capheld = kc->capheld ? 2 * kc->capheld : 64;
        kc->held = xrealloc(kc->held, kc->capheld * sizeof *kc->held);
    }
    kc->held[kc->nheld++] = m;
}

/* Keep serving the group (rebalances, heartbeats) for `ms` while a batch
 * waits; what is still delivered was fetched before its partition was
 * paused, and is held for the next batch. */
static void consumer__wait(kafka_consumer *kc, int ms)
{
    double until = clock_mono_s() + ms / 1000.0;
    int64_t since = atomic_load(&kc->failing_since_us);
    while (clock_mono_s() < until && !shutdown_requested()) {
        metric_set(kc->m.stalled, (double)(clock_mono_us() - since) / 1e6);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(kc->consumer, 50);
        if (m && !m->err)
            consumer__hold(kc, m);
        else if (m)
            rd_kafka_message_destroy(m);
    }
}

/* Offer the batch to the client until it is DONE or shutdown is requested,
 * pausing every partition and backing off between attempts. The batch's
 * messages are destroyed on return. */
static void consumer__process(kafka_consumer *kc, intake *in)
{
    kafka_consumer_batch b = {in->msgs, in->n, 0};
    double done_at = 0;
    int backoff = BACKOFF_MIN_MS;
    /* A first attempt is made even when shutdown is already requested: the
     * batch in hand is finished, not abandoned. */
    /* From the first attempt's start, so that an attempt hanging inside the
     * callback (a database call that never returns) is a stall too. */
    atomic_store(&kc->failing_since_us, clock_mono_us());
    for (;; b.attempt++) {
        double t0 = clock_mono_s();
        atomic_store(&kc->delivery_failures, 0);
        kafka_consumer_verdict v = kc->conf.on_batch(kc->conf.arg, kc, &b);
        if (v == KAFKA_CONSUMER_DONE && kafka_consumer_settle_dead_letters(kc) == 0) {
            metric_observe(kc->m.batch_seconds, clock_mono_s() - t0);
            metric_observe(kc->m.batch_size, (double)in->n);
            done_at = clock_mono_s();
            kafka_consumer__commit(kc, in); /* a failed commit only means redelivery */
            break;
        }
        if (kc->dead_letters) { /* an attempt that gave up: its acks are not awaited */
            kafka_acks_wait(kc->producer, kc->dead_letters, 0);
            kc->dead_letters = NULL;
        }
        metric_inc(kc->m.retries);
        if (shutdown_requested())
            break;
        if (!kc->paused)
            consumer__pause_all(kc, true);
        kafka_consumer__lag_report(kc, true); /* the backlog grows while we wait */
        consumer__wait(kc, backoff);
        if (shutdown_requested())
            break;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
    atomic_store(&kc->failing_since_us, 0);
    metric_set(kc->m.stalled, 0);
    if (kc->paused)
        consumer__pause_all(kc, false);
    kafka_consumer__dlq_forget(kc); /* the batch's refused dead letters */
    if (kc->conf.on_end)
        kc->conf.on_end(kc->conf.arg, kc);
    for (size_t i = 0; i < in->n; i++)
        rd_kafka_message_destroy(in->msgs[i]);
    in->n = 0;
    if (done_at > 0)
        metric_add(kc->m.after_batch, clock_mono_s() - done_at);
}

/* The next message: one held during a wait first, else from the consumer. */
static rd_kafka_message_t *consumer__next(kafka_consumer *kc, int timeout_ms)
{
    if (!kc->nheld)
        return rd_kafka_consumer_poll(kc->consumer, timeout_ms);
    rd_kafka_message_t *m = kc->held[0];
    memmove(kc->held, kc->held + 1, --kc->nheld * sizeof *kc->held);
    return m;
}

/* Wait for the first message; then take what is already fetched, without
 * waiting for more: a caught-up member processes small batches at once
 * (low latency), one behind finds its queue full and processes large ones
 * (throughput). */
static void consumer__collect(kafka_consumer *kc, intake *in)
{
    double deadline = 0, t0 = clock_mono_s();
    kc->filling = in;
    while (in->n < in->cap && !shutdown_requested()) {
        int timeout = 100;
        if (in->n) {
            if (clock_mono_s() >= deadline)
                break;
            timeout = 0;
        }
        rd_kafka_message_t *m = consumer__next(kc, timeout);
        if (!m)
            break;
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                log_ctx ctx = kafka_consumer_msg_ctx(m);
                log_at(LOG_WARN, &ctx, "consumer: %s", rd_kafka_message_errstr(m));
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        if (in->n == 0) {
            double now = clock_mono_s();
            deadline = now + kc->conf.batch_ms / 1000.0;
            if (kc->collected_once)
                metric_add(kc->m.collect_first, now - t0);
            t0 = now; /* from here on: filling */
        }
        in->msgs[in->n++] = m;
        metric_inc(kc->m.consumed);
    }
    /* Nothing came (a poll timed out): that wait was for a first message too
     * (once batches flow; before the first one it is start-up). */
    if (in->n)
        metric_add(kc->m.collect_rest, clock_mono_s() - t0);
    else if (kc->collected_once)
        metric_add(kc->m.collect_first, clock_mono_s() - t0);
    kc->collected_once = kc->collected_once || in->n;
    kc->filling = NULL; /* handed over from here on: a revoke is handled by the commit */
}

/* At shutdown, before close() revokes and leaves: commit what is durable
 * while this member still owns its partitions. A rebalance in progress (a
 * member joining or leaving at the same moment) refuses the commit; serve
 * the rebalance (polling; what arrives is not processed, its next owner
 * reads it again) and commit again under the new generation, for up to
 * FINAL_COMMIT_S. Past that, the last batches are redelivered to the
 * partitions' next owner, whose idempotency keys make them no-ops. */
static void consumer__final_commit(kafka_consumer *kc)
{
    double until = clock_mono_s() + FINAL_COMMIT_S;
    for (;;) {
        rd_kafka_resp_err_t e = kafka_consumer__commit_last(kc, NULL);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
            return;
        bool rebalancing = e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
                           e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                           e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
        if (!rebalancing || clock_mono_s() >= until) {
            log_warn("final offset commit failed (%s): the last batches will be redelivered to "
                     "their partitions' next owner (idempotent, so no duplicates)",
                     rd_kafka_err2str(e));
            return;
        }
        for (int i = 0; i < 3; i++) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(kc->consumer, 100);
            if (m)
                rd_kafka_message_destroy(m);
        }
    }
}

int kafka_consumer_run(kafka_consumer *kc)
{
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(sub, kc->conf.topic, RD_KAFKA_PARTITION_UA);
    const char *second =
        kc->conf.second_topic && *kc->conf.second_topic ? kc->conf.second_topic : NULL;
    if (second)
        rd_kafka_topic_partition_list_add(sub, second, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(kc->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        log_error("cannot subscribe to %s: %s", kc->conf.topic, rd_kafka_err2str(e));
        return -1;
    }
    log_info("consuming %s%s%s in group %s (batches of up to %d messages / %d ms)", kc->conf.topic,
             second ? " and " : "", second ? second : "", kc->conf.group, kc->conf.batch_max,
             kc->conf.batch_ms);
    intake in = {xcalloc((size_t)kc->conf.batch_max, sizeof *in.msgs), 0,
                 (size_t)kc->conf.batch_max};
    double last_idle = 0;
    while (!shutdown_requested()) {
        consumer__collect(kc, &in);
        if (in.n)
            consumer__process(kc, &in);
        rd_kafka_poll(kc->producer, 0);
        double now = clock_mono_s();
        if (now - last_idle > kc->conf.idle_every_ms / 1000.0) {
            if (atomic_load(&kc->commit_retry))
                kafka_consumer__commit_last(kc, NULL);
            if (kc->conf.on_idle)
                kc->conf.on_idle(kc->conf.arg, kc);
            last_idle = now;
        }
    }
    for (size_t i = 0; i < in.n; i++)
        rd_kafka_message_destroy(in.msgs[i]);
    free(in.msgs);
    for (size_t i = 0; i < kc->nheld; i++) /* not committed: redelivered after a restart */
        rd_kafka_message_destroy(kc->held[i]);
    kc->nheld = 0;
    consumer__final_commit(kc);
    return 0;
}

/* ---- life cycle ---- */

/* Bound the prefetch queue (per partition in this librdkafka: 100,000
 * messages or 64 MB by default); it dominates a member's memory and buys
 * nothing beyond a couple of batches. But a couple it needs: librdkafka
 * stops fetching once the queue holds queued.min.messages, so with one
 * batch's worth (5000, as before) every batch emptied it and the next one
 * waited for a fetch round trip (bench/worker/profile.bash: ~50-65 ms of a
 * ~240 ms backlog batch spent waiting for its first message, PostgreSQL
 * idle meanwhile); with PREFETCH_BATCHES batches (and 4 MB) that wait is
 * 24-28 ms. 8 MB cut it to ~6 ms but took the worker's peak RSS from ~50 to
 * 88 MB (6 MB: 16 ms, 73 MB; 4 MB: 61-67 MB): the fetch buffers, up to
 * fetch.message.max.bytes (1 MB) per partition, live as long as a message
 * in them is queued. 512 KB per partition (a larger message still comes:
 * librdkafka grows the request for it) keeps 4 MB at ~57 MB, under the
 * 64 MB goal; 256 KB (42 MB) made the fetches too small to keep up.
 * Heartbeat every second (default 3 s):
 * a member joining or leaving is noticed by the others, and the group
 * settles, that much sooner.
 *
 * A member that crashes keeps its partitions until its session times out:
 * librdkafka's 45 s stalled them that long (a chaos run's lag grew to
 * ~190,000), so SESSION_TIMEOUT_MS (the brokers' default minimum). A live
 * member polls at least between batch attempts (the retry wait polls too),
 * so max.poll.interval.ms only has to outlast one attempt: its database
 * statements (no statement timeout bounds them), the outbox flush and the
 * dead letters' 10 s wait. MAX_POLL_INTERVAL_MS keeps librdkafka's 5 min,
 * stated here so the pair is chosen together: a member stuck longer is
 * taken out of the group, and heartbeats (a background thread) keep a slow
 * live member in it.
 * KAFKA_SESSION_TIMEOUT_MS and KAFKA_MAX_POLL_INTERVAL_MS override them. */
#define PREFETCH_BATCHES 2

static bool consumer__group_timeouts(rd_kafka_conf_t *conf, char *err, size_t errsz)
{
    return (getenv("KAFKA_SESSION_TIMEOUT_MS") ||
            kafka_conf_set(conf, "session.timeout.ms", SESSION_TIMEOUT_MS, err, errsz)) &&
           (getenv("KAFKA_MAX_POLL_INTERVAL_MS") ||
            kafka_conf_set(conf, "max.poll.interval.ms", MAX_POLL_INTERVAL_MS, err, errsz));
}

static rd_kafka_t *consumer__member_new(kafka_consumer *kc, char *err, size_t errsz)
{
    const kafka_consumer_conf *c = &kc->conf;
    rd_kafka_conf_t *conf = kafka_conf_new(c->bootstrap_servers, c->client_id, err, errsz);
    if (!conf)
        return NULL;
    char min_msgs[24];
    snprintf(min_msgs, sizeof min_msgs, "%d",
             PREFETCH_BATCHES * (c->batch_max > 0 ? c->batch_max : 1));
    if ((!getenv("KAFKA_QUEUED_MAX_MESSAGES_KBYTES") &&
         !kafka_conf_set(conf, "queued.max.messages.kbytes", "4096", err, errsz)) ||
        (!getenv("KAFKA_QUEUED_MIN_MESSAGES") &&
         !kafka_conf_set(conf, "queued.min.messages", min_msgs, err, errsz)) ||
        (!getenv("KAFKA_FETCH_MESSAGE_MAX_BYTES") && !getenv("KAFKA_MAX_PARTITION_FETCH_BYTES") &&
         !kafka_conf_set(conf, "fetch.message.max.bytes", "524288", err, errsz)) ||
        !kafka_conf_set(conf, "heartbeat.interval.ms", "1000", err, errsz) ||
        !consumer__group_timeouts(conf, err, errsz)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_rebalance_cb(conf, kafka_consumer__on_rebalance);
    rd_kafka_conf_set_offset_commit_cb(conf, kafka_consumer__on_commit);
    rd_kafka_conf_set_opaque(conf, kc);
    return kafka_group_member_new(conf, c->group, err, errsz); /* takes conf */
}

/* librdkafka's producer refuses messages over message.max.bytes (default
 * 1,000,000, below RUTH_MAX_MESSAGE_BYTES' 1 MiB): a dead letter carries
 * the original and headers, so it gets the largest accepted message plus
 * KAFKA_DLQ_HEADER_ROOM, unless KAFKA_MESSAGE_MAX_BYTES says otherwise. */
static bool consumer__producer_limit(kafka_consumer *kc, rd_kafka_conf_t *pconf, char *err,
                                     size_t errsz)
{
    if (getenv("KAFKA_MESSAGE_MAX_BYTES"))
        return true;
    char num[32];
    snprintf(
        num, sizeof num, "%d",
        (kc->conf.max_message_bytes > 0 ? kc->conf.max_message_bytes : MAX_MESSAGE_BYTES_DEFAULT) +
            KAFKA_DLQ_HEADER_ROOM);
    return kafka_conf_set(pconf, "message.max.bytes", num, err, errsz);
}

kafka_consumer *kafka_consumer_new(const kafka_consumer_conf *conf, char *errstr, size_t errsz)
{
    kafka_consumer *kc = xcalloc(1, sizeof *kc);
    kc->conf = *conf;
    pthread_mutex_init(&kc->refused_lock, NULL);
    if (kc->conf.idle_every_ms <= 0)
        kc->conf.idle_every_ms = IDLE_EVERY_MS_DEFAULT;
    if (kc->conf.batch_max < 1)
        kc->conf.batch_max = 1;
    if (kc->conf.stall_sec <= 0)
        kc->conf.stall_sec = STALL_SEC_DEFAULT;
    consumer__metrics_init(kc);
    rd_kafka_conf_t *pconf =
        kafka_conf_new(conf->bootstrap_servers, conf->client_id, errstr, errsz);
    if (!pconf)
        goto failed;
    if (!consumer__producer_limit(kc, pconf, errstr, errsz)) {
        rd_kafka_conf_destroy(pconf);
        goto failed;
    }
    rd_kafka_conf_set_dr_msg_cb(pconf, consumer__on_delivery);
    rd_kafka_conf_set_opaque(pconf, kc);
    kc->producer = kafka_producer_new(pconf, errstr, errsz); /* takes pconf */
    if (!kc->producer)
        goto failed;
    kc->consumer = consumer__member_new(kc, errstr, errsz);
    if (!kc->consumer)
        goto failed;
    return kc;
failed:
    kafka_consumer_destroy(kc);
    return NULL;
}

void kafka_consumer_destroy(kafka_consumer *kc)
{
    if (!kc)
        return;
    for (size_t i = 0; i < kc->nheld; i++) /* messages go before their consumer */
        rd_kafka_message_destroy(kc->held[i]);
    kc->nheld = 0;
    if (kc->consumer) {
        /* Closing revokes our partitions; the revoke callback commits the
         * offsets of the last batches synchronously. */
        rd_kafka_consumer_close(kc->consumer);
        rd_kafka_destroy(kc->consumer);
    }
    if (kc->last_offsets)
        rd_kafka_topic_partition_list_destroy(kc->last_offsets);
    if (kc->revoked_offsets)
        rd_kafka_topic_partition_list_destroy(kc->revoked_offsets);
    if (kc->producer) {
        if (kc->dead_letters)
            kafka_acks_wait(kc->producer, kc->dead_letters, 0);
        rd_kafka_flush(kc->producer, 5000);
        rd_kafka_destroy(kc->producer);
    }
    free(kc->held);
    kafka_consumer__dlq_forget(kc);
    pthread_mutex_destroy(&kc->refused_lock);
    free(kc);
}

rd_kafka_t *kafka_consumer_producer(kafka_consumer *kc)
{
    return kc->producer;
}

int kafka_consumer_take_delivery_failures(kafka_consumer *kc)
{
    return atomic_exchange(&kc->delivery_failures, 0);
}

bool kafka_consumer_assigned_once(kafka_consumer *kc)
{
    return atomic_load(&kc->assigned_once);
}

/* The DLQ topic must take a dead letter of the largest message accepted;
 * one that does not gets truncated copies (kafka_consumer_dlq.c), which
 * lose the original's bytes, so say so at start, with the fix. */
static void consumer__check_dlq_limit(kafka_consumer *kc)
{
    char value[32], err[512];
    int want =
        (kc->conf.max_message_bytes > 0 ? kc->conf.max_message_bytes : MAX_MESSAGE_BYTES_DEFAULT) +
        KAFKA_DLQ_HEADER_ROOM;
    if (kafka_admin_topic_config(kc->producer, kc->conf.dlq_topic, "max.message.bytes", value,
                                 sizeof value, 5000, err, sizeof err) != 0) {
        log_warn("cannot check the dead-letter topic's max.message.bytes: %s", err);
        return;
    }
    if (atol(value) < want)
        log_warn("dead-letter topic %s takes messages up to %s bytes (max.message.bytes), less "
                 "than the largest dead letter (%d: RUTH_MAX_MESSAGE_BYTES plus %d for headers); "
                 "larger ones are written truncated, with their original size and SHA-256. "
                 "Raise it: kafka-configs.sh --alter --entity-type topics --entity-name %s "
                 "--add-config max.message.bytes=%d",
                 kc->conf.dlq_topic, value, want, KAFKA_DLQ_HEADER_ROOM, kc->conf.dlq_topic, want);
}

int kafka_consumer_wait_topics(kafka_consumer *kc, const ruth_config *cfg)
{
    kafka_topic_spec specs[KAFKA_ADMIN_MAXTOPICS];
    size_t n = kafka_admin_topics_from_config(cfg, specs);
    for (size_t i = 0; i < n; i++)
        specs[i].partitions = 0; /* any count will do for a check */
    if (kafka_admin_wait_topics(kc->producer, specs, n, &kc->topics_ok) != 0)
        return -1;
    if (kc->conf.dlq_topic)
        consumer__check_dlq_limit(kc);
    return 0;
}

bool kafka_consumer_ready(kafka_consumer *kc, char *reason, size_t reasonsz)
{
    if (!atomic_load(&kc->topics_ok)) {
        snprintf(reason, reasonsz, "waiting for Kafka and the topics (see the log)");
        return false;
    }
    if (!atomic_load(&kc->assigned_once)) {
        snprintf(reason, reasonsz, "waiting for a partition assignment");
        return false;
    }
    int64_t since = atomic_load(&kc->failing_since_us);
    int64_t failing_s = since ? (clock_mono_us() - since) / 1000000 : 0;
    if (failing_s > kc->conf.stall_sec) {
        snprintf(reason, reasonsz,
                 "stalled: the batch in hand has not been made durable in %" PRId64
                 " s (see the log)",
                 failing_s);
        return false;
    }
    return true;
}
