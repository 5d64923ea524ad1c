/* kafka_consumer_internal.h - what the files of the batch consumer share:
 * the consumer's struct and the cross-file helpers (double underscore).
 * Only kafka_consumer*.c include it; clients use kafka_consumer.h. */
#ifndef RUTH_KAFKA_CONSUMER_INTERNAL_H
#define RUTH_KAFKA_CONSUMER_INTERNAL_H

#include "kafka.h"
#include "kafka_consumer.h"

#include <pthread.h>
#include <stdatomic.h>

/* The messages being collected for the next batch. */
typedef struct intake {
    rd_kafka_message_t **msgs;
    size_t n, cap;
} intake;

struct kafka_consumer {
    kafka_consumer_conf conf;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    struct {
        metric *consumed, *rebalances, *retries, *batch_size, *batch_seconds, *stalled;
        metric *collect_first, *collect_rest, *after_batch; /* seconds waiting for a batch's first
                                                 message, then filling it; releasing a done batch */
    } m;
    /* Monotonic µs since the batch in hand was first offered, 0 between
     * batches; read by /ready on the HTTP thread. */
    _Atomic int64_t failing_since_us;
    atomic_int delivery_failures; /* untracked messages whose delivery failed */
    atomic_bool assigned_once;
    bool collected_once; /* a batch was collected: empty polls count as waiting from then on */
    atomic_bool topics_ok;
    /* kafka_consumer_wait_topics() passed */ /* read by /ready on the HTTP thread */
    atomic_bool commit_retry;                 /* an asynchronous commit failed */
    /* "offset commit failed" warnings: at most one line per 10 s (a
     * rebalance or a stop can fail thousands in a few ms), counting the
     * others. Written on the consumer's thread only. */
    int64_t commit_warned_us;
    unsigned commit_unlogged;
    rd_kafka_topic_partition_list_t *last_offsets; /* committed so far, per partition */
    /* Where this member had got to on partitions revoked from it. When one
     * comes back and the group's committed offset is behind (the commit in
     * the revoke can fail while the group is rebalancing), consuming
     * resumes from here instead of redelivering what is already durable. */
    rd_kafka_topic_partition_list_t *revoked_offsets;
    kafka_acks *dead_letters; /* this attempt's, NULL when none */
    /* While a batch waits for a retry every partition is paused, including
     * ones assigned meanwhile; a message that still arrives is held here
     * for the next batch, never dropped. */
    bool paused;
    rd_kafka_message_t **held;
    size_t nheld, capheld;
    /* The batch being filled (not handed to the callback yet), NULL
     * otherwise: a revoked partition's messages are taken out of it, as the
     * next owner reads them again from the committed offset. */
    intake *filling;
    /* Dead letters of the batch the DLQ refused as too large, as
     * "topic/partition/offset" of their original, once per refusal: the
     * next attempt sends a truncated copy (kafka_consumer_dlq.c). Filled by
     * the delivery callback, which may run on any thread polling the
     * producer, hence the lock. */
    pthread_mutex_t refused_lock;
    char **refused;
    size_t nrefused, caprefused;
};

/* kafka_consumer.c */
/* The series `<prefix>_<suffix>{labels}`: kind "c" a counter, else a gauge. */
metric *kafka_consumer__series(kafka_consumer *kc, const char *kind, const char *suffix,
                               const char *help, const char *labels);

/* kafka_consumer_dlq.c: dead letters. */
/* A failed delivery: a dead letter refused as too large is remembered. */
void kafka_consumer__dlq_on_delivery(kafka_consumer *kc, const rd_kafka_message_t *m);
/* Forget the refused dead letters (end of a batch). */
void kafka_consumer__dlq_forget(kafka_consumer *kc);

/* kafka_consumer_offsets.c: rebalances, commits, lag. */
void kafka_consumer__on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t *parts, void *opaque);
void kafka_consumer__on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t *offsets, void *opaque);
/* Commit, synchronously, the offsets committed so far of the partitions in
 * `only` (all when NULL) that are still assigned; the broker's answer. */
rd_kafka_resp_err_t kafka_consumer__commit_last(kafka_consumer *kc,
                                                const rd_kafka_topic_partition_list_t *only);
/* Commit the batch `in` (after DONE): see kafka_consumer_offsets.c. */
void kafka_consumer__commit(kafka_consumer *kc, const intake *in);
/* Consumer-lag gauges of the partitions with a committed offset; `query`
 * asks the broker for the high watermark. */
void kafka_consumer__lag_report(kafka_consumer *kc, bool query);

#endif
