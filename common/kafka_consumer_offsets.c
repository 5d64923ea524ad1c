/* kafka_consumer_offsets.c - the batch consumer's group membership:
 * partitions assigned and revoked, offsets committed, consumer lag. See
 * kafka_consumer.h for what it promises. */
#include "kafka_consumer_internal.h"

#include "clock.h"
#include "log.h"
#include "shutdown.h"

#include <inttypes.h>
#include <stdio.h>

#define COMMIT_WARN_EVERY_US (10 * 1000000LL)

static void consumer__lag_set(kafka_consumer *kc, const char *topic, int32_t partition, double lag)
{
    char labels[300];
    snprintf(labels, sizeof labels, "topic=\"%s\",partition=\"%d\"", topic, partition);
    metric_set(
        kafka_consumer__series(kc, "g", "consumer_lag",
                               "Messages behind the high watermark per assigned partition, from "
                               "the last committed offset (0 once the partition moved away).",
                               labels),
        lag);
}

/* Lag of every partition with a committed offset: last_offsets holds
 * exactly those still assigned (kafka_consumer__commit adds only assigned ones, a
 * revoke removes them), so no assignment lookup per batch. `query` asks
 * the broker for the high watermark (paused partitions are not fetched, so
 * the cached one stands still during an outage). */
void kafka_consumer__lag_report(kafka_consumer *kc, bool query)
{
    if (!kc->last_offsets)
        return;
    for (int i = 0; i < kc->last_offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *c = &kc->last_offsets->elems[i];
        int64_t lo, hi = -1;
        if (c->offset < 0)
            continue;
        if (query)
            rd_kafka_query_watermark_offsets(kc->consumer, c->topic, c->partition, &lo, &hi, 500);
        else
            rd_kafka_get_watermark_offsets(kc->consumer, c->topic, c->partition, &lo, &hi);
        if (hi >= 0)
            consumer__lag_set(kc, c->topic, c->partition, (double)(hi - c->offset));
    }
}

/* Log "offset commit failed: <err><tail>" unless one was logged in the last
 * COMMIT_WARN_EVERY_US; those left out are counted in the next line. */
static void consumer__commit_warn(kafka_consumer *kc, rd_kafka_resp_err_t err, const char *tail)
{
    int64_t now = clock_mono_us();
    if (kc->commit_warned_us && now - kc->commit_warned_us < COMMIT_WARN_EVERY_US) {
        kc->commit_unlogged++;
        return;
    }
    if (kc->commit_unlogged)
        log_warn("offset commit failed: %s%s (%u more since the last report)",
                 rd_kafka_err2str(err), tail, kc->commit_unlogged);
    else
        log_warn("offset commit failed: %s%s", rd_kafka_err2str(err), tail);
    kc->commit_warned_us = now;
    kc->commit_unlogged = 0;
}

/* Asynchronous commits that fail (typically REBALANCE_IN_PROGRESS) are
 * retried between batches; until one succeeds the offsets stay behind,
 * which only means redelivery. */
void kafka_consumer__on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk, (void)offsets;
    kafka_consumer *kc = opaque;
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        consumer__commit_warn(kc, err, "; retrying");
        atomic_store(&kc->commit_retry, true);
    }
}

/* Commit, synchronously, the offsets committed so far of the partitions in
 * `only` (all when NULL) that are still assigned to us. */
rd_kafka_resp_err_t kafka_consumer__commit_last(kafka_consumer *kc,
                                                const rd_kafka_topic_partition_list_t *only)
{
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!kc->last_offsets)
        return e;
    rd_kafka_topic_partition_list_t *mine = NULL;
    if (rd_kafka_assignment(kc->consumer, &mine) || !mine)
        return e;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < kc->last_offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &kc->last_offsets->elems[i];
        if (!rd_kafka_topic_partition_list_find(mine, p->topic, p->partition))
            continue;
        if (only && !rd_kafka_topic_partition_list_find(only, p->topic, p->partition))
            continue;
        rd_kafka_topic_partition_list_add(offs, p->topic, p->partition)->offset = p->offset;
    }
    if (offs->cnt) {
        e = rd_kafka_commit(kc->consumer, offs, 0);
        if (e)
            consumer__commit_warn(kc, e, "");
        else
            atomic_store(&kc->commit_retry, false);
    }
    rd_kafka_topic_partition_list_destroy(offs);
    rd_kafka_topic_partition_list_destroy(mine);
    return e;
}

/* Messages of `parts` leave `msgs` (destroyed, order kept). */
static size_t consumer__drop_partitions(rd_kafka_message_t **msgs, size_t n,
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

/* Partitions of `parts` this member processed before they were revoked
 * start from where it had got to when the group's committed offset is
 * behind it: everything before ours is durable, so nothing is skipped, and
 * a revoke-time commit lost in the rebalance (illegal generation) does not
 * turn into redelivery. Only over a real committed offset (none committed
 * means a new or recreated topic: start as the group would). The positions
 * taken are returned (NULL when none), to be committed once assigned.
 * rd_kafka_committed() blocks this callback for up to 5 s; it is asked only
 * when a partition comes back. */
static rd_kafka_topic_partition_list_t *
consumer__resume_positions(kafka_consumer *kc, rd_kafka_topic_partition_list_t *parts)
{
    if (!kc->revoked_offsets || kc->revoked_offsets->cnt == 0)
        return NULL;
    rd_kafka_topic_partition_list_t *back = rd_kafka_topic_partition_list_new(parts->cnt);
    rd_kafka_topic_partition_list_t *resumed = NULL;
    for (int i = 0; i < parts->cnt; i++)
        if (rd_kafka_topic_partition_list_find(kc->revoked_offsets, parts->elems[i].topic,
                                               parts->elems[i].partition))
            rd_kafka_topic_partition_list_add(back, parts->elems[i].topic,
                                              parts->elems[i].partition);
    if (back->cnt && rd_kafka_committed(kc->consumer, back, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < back->cnt; i++) {
            const rd_kafka_topic_partition_t *c = &back->elems[i];
            const rd_kafka_topic_partition_t *ours =
                rd_kafka_topic_partition_list_find(kc->revoked_offsets, c->topic, c->partition);
            if (c->err || c->offset < 0 || c->offset >= ours->offset)
                continue;
            rd_kafka_topic_partition_list_find(parts, c->topic, c->partition)->offset =
                ours->offset;
            if (!resumed)
                resumed = rd_kafka_topic_partition_list_new(back->cnt);
            rd_kafka_topic_partition_list_add(resumed, c->topic, c->partition)->offset =
                ours->offset;
            log_info("partition %s/%d resumes at offset %" PRId64 " (committed %" PRId64
                     "): its commit was lost in the rebalance",
                     c->topic, c->partition, ours->offset, c->offset);
        }
    }
    for (int i = 0; i < back->cnt; i++)
        rd_kafka_topic_partition_list_del(kc->revoked_offsets, back->elems[i].topic,
                                          back->elems[i].partition);
    rd_kafka_topic_partition_list_destroy(back);
    return resumed;
}

/* The resumed positions are ours again: kept with the offsets committed so
 * far (for lag, the revoke and shutdown) and committed now, so the group's
 * offset catches up even if no new message arrives. */
static void consumer__keep_resumed(kafka_consumer *kc, rd_kafka_topic_partition_list_t *resumed)
{
    if (!kc->last_offsets)
        kc->last_offsets = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < resumed->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &resumed->elems[i];
        rd_kafka_topic_partition_list_del(kc->last_offsets, p->topic, p->partition);
        rd_kafka_topic_partition_list_add(kc->last_offsets, p->topic, p->partition)->offset =
            p->offset;
    }
    rd_kafka_resp_err_t e = rd_kafka_commit(kc->consumer, resumed, 1);
    if (e)
        atomic_store(&kc->commit_retry, true);
}

void kafka_consumer__on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    kafka_consumer *kc = opaque;
    metric_inc(kc->m.rebalances);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        log_info("assigned %d partition(s)", parts->cnt);
        rd_kafka_topic_partition_list_t *resumed = consumer__resume_positions(kc, parts);
        rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
        if (e) {
            log_error("incremental assign failed: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        } else {
            if (kc->paused)
                rd_kafka_pause_partitions(rk, parts); /* the batch is still waiting */
            if (resumed)
                consumer__keep_resumed(kc, resumed);
        }
        if (resumed)
            rd_kafka_topic_partition_list_destroy(resumed);
        atomic_store(&kc->assigned_once, true);
        return;
    }
    /* Make what we committed for these partitions durable before handing
     * them over (an asynchronous commit may still be in flight). A batch in
     * progress is redelivered to the new owner, where the client's
     * idempotency makes it harmless. A revoked partition's messages not
     * handed to the callback yet are not ours to process: the next owner
     * (perhaps this member again) reads them from the committed offset. */
    log_info("revoked %d partition(s)", parts->cnt);
    kafka_consumer__commit_last(kc, parts);
    if (kc->filling)
        kc->filling->n = consumer__drop_partitions(kc->filling->msgs, kc->filling->n, parts);
    kc->nheld = consumer__drop_partitions(kc->held, kc->nheld, parts);
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &parts->elems[i];
        consumer__lag_set(kc, p->topic, p->partition, 0);
        rd_kafka_topic_partition_t *ours =
            kc->last_offsets
                ? rd_kafka_topic_partition_list_find(kc->last_offsets, p->topic, p->partition)
                : NULL;
        if (!ours)
            continue;
        if (!kc->revoked_offsets)
            kc->revoked_offsets = rd_kafka_topic_partition_list_new(8);
        rd_kafka_topic_partition_list_del(kc->revoked_offsets, p->topic, p->partition);
        rd_kafka_topic_partition_list_add(kc->revoked_offsets, p->topic, p->partition)->offset =
            ours->offset;
        /* the next owner's progress, not ours, from now on */
        rd_kafka_topic_partition_list_del(kc->last_offsets, p->topic, p->partition);
    }
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
    if (e) {
        log_error("incremental unassign failed: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
    }
}

/* Commit the highest offset + 1 per partition of the batch, for the
 * partitions still ours (one revoked while the batch waited belongs to
 * another member now, whose commits we must not undo). */
void kafka_consumer__commit(kafka_consumer *kc, const intake *in)
{
    rd_kafka_topic_partition_list_t *mine = NULL;
    if (in->n == 0 || rd_kafka_assignment(kc->consumer, &mine) || !mine)
        return;
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < in->n; i++) {
        rd_kafka_message_t *m = in->msgs[i];
        const char *topic = rd_kafka_topic_name(m->rkt);
        if (!rd_kafka_topic_partition_list_find(mine, topic, m->partition))
            continue;
        rd_kafka_topic_partition_t *p =
            rd_kafka_topic_partition_list_find(offs, topic, m->partition);
        if (!p)
            p = rd_kafka_topic_partition_list_add(offs, topic, m->partition);
        if (m->offset + 1 > p->offset)
            p->offset = m->offset + 1;
    }
    rd_kafka_topic_partition_list_destroy(mine);
    if (offs->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(offs);
        return;
    }
    /* Asynchronous while running (a lost commit only means a harmless
     * redelivery, and it saves a broker round trip per batch); synchronous
     * on the way out so a clean stop leaves nothing to redeliver. */
    bool sync = shutdown_requested();
    rd_kafka_resp_err_t e = rd_kafka_commit(kc->consumer, offs, sync ? 0 : 1);
    if (e)
        consumer__commit_warn(kc, e, "; the batch will be redelivered, which is harmless");
    if (kc->last_offsets) { /* keep the offsets of partitions this batch did not touch */
        for (int i = 0; i < kc->last_offsets->cnt; i++) {
            const rd_kafka_topic_partition_t *p = &kc->last_offsets->elems[i];
            if (!rd_kafka_topic_partition_list_find(offs, p->topic, p->partition))
                rd_kafka_topic_partition_list_add(offs, p->topic, p->partition)->offset = p->offset;
        }
        rd_kafka_topic_partition_list_destroy(kc->last_offsets);
    }
    kc->last_offsets = offs; /* re-committed synchronously on revoke and at shutdown */
    kafka_consumer__lag_report(kc, false);
}
