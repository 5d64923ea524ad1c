/* kafka_consumer.h - the batch consumer every consumer group of the product
 * runs on (ruth-worker first; ruth-evidence and later groups the same way).
 *
 * The hard parts of consuming live here once:
 *   - subscribe (cooperative-sticky, auto-commit off, a bounded prefetch);
 *   - collect a batch: wait for the first message, then take what is already
 *     fetched, up to `batch_max` messages or `batch_ms` of collecting;
 *   - hand it to the client's callback, which answers DONE (the effects of
 *     every message are durable, or its dead letter is acknowledged) or
 *     RETRY (a transient failure: the database or a service is down). On
 *     RETRY every assigned partition is paused, including partitions
 *     assigned while waiting, the group keeps being served (heartbeats,
 *     rebalances), anything still delivered is held for the next batch, and
 *     the same batch is offered again after an exponential backoff;
 *   - a revoked partition's messages not yet handed to the callback leave
 *     the batch (the next owner reads them from the committed offset);
 *   - offsets are committed only after DONE, only for partitions still
 *     assigned, asynchronously while running and synchronously on revoke
 *     and at shutdown;
 *   - dead letters to the DLQ topic with the original key, value and headers
 *     plus `ruth.error.{topic,partition,offset,stage,code,message}` (the
 *     original's own `ruth.error.*` headers are renamed
 *     `ruth.original.error.*`: that prefix is only ours);
 *   - metrics `<prefix>_messages_consumed_total`, `_rebalances_total`,
 *     `_batch_retries_total`, `_batch_size`, `_batch_seconds`,
 *     `_batch_stalled_seconds`,
 *     `_dlq_total{reason}` and `_consumer_lag{topic,partition}`;
 *   - SIGTERM (shutdown_requested()) finishes the batch in hand, commits,
 *     and leaves the group.
 *
 * One thread runs kafka_consumer_run(); the callbacks run on it. The
 * producer (kafka_consumer_producer()) may be shared with other threads. */
#ifndef RUTH_KAFKA_CONSUMER_H
#define RUTH_KAFKA_CONSUMER_H

#include "config.h"
#include "log.h"
#include "metrics.h"

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct kafka_consumer kafka_consumer;

typedef enum kafka_consumer_verdict {
    /* Every message's effects are durable (or its dead letter acknowledged):
     * the batch's offsets may be committed. */
    KAFKA_CONSUMER_DONE = 0,
    /* Nothing may be committed yet: pause, back off, offer the batch again. */
    KAFKA_CONSUMER_RETRY = -1,
} kafka_consumer_verdict;

/* The batch being processed. `msgs` stay the same, in the same order, for
 * every attempt of one batch (a partition revoked meanwhile is handled at
 * commit time, never by taking messages out). `attempt` is 0 the first time
 * a batch is offered. Messages are borrowed until the batch's `end`. */
typedef struct kafka_consumer_batch {
    rd_kafka_message_t *const *msgs;
    size_t n;
    int attempt;
} kafka_consumer_batch;

typedef kafka_consumer_verdict (*kafka_consumer_batch_fn)(void *arg, kafka_consumer *kc,
                                                          const kafka_consumer_batch *b);
/* Called once per batch after its last attempt (DONE, or abandoned at
 * shutdown), before its messages are destroyed: release what the client
 * kept across attempts. */
typedef void (*kafka_consumer_end_fn)(void *arg, kafka_consumer *kc);
/* Housekeeping between batches, about every `idle_every_ms`. */
typedef void (*kafka_consumer_idle_fn)(void *arg, kafka_consumer *kc);

typedef struct kafka_consumer_conf {
    const char *bootstrap_servers;
    const char *client_id; /* e.g. "ruth-worker" */
    const char *group;
    const char *topic; /* the topic subscribed */
    /* A second topic in the same subscription (NULL or "" = none), e.g.
     * ruth-worker's DeepStream topic; a message's topic is
     * rd_kafka_topic_name(m->rkt), so the client tells them apart. */
    const char *second_topic;
    const char *dlq_topic; /* where kafka_consumer_dead_letter() writes */
    int batch_max;         /* messages per batch, >= 1 */
    int batch_ms;          /* collecting time after the first message */
    /* The largest message the client accepts (RUTH_MAX_MESSAGE_BYTES; 0:
     * 1 MiB): the producer's message.max.bytes is this plus room for the
     * dead-letter headers, so a dead letter of any such message can go out
     * (KAFKA_MESSAGE_MAX_BYTES overrides it). */
    int max_message_bytes;
    /* A batch not made durable this many seconds after it was first
     * offered (retried, or an attempt hanging in the callback) is stalled:
     * kafka_consumer_ready() says so, and `<prefix>_batch_stalled_seconds`
     * (updated while it waits between attempts) shows for how long
     * (RUTH_STALL_SEC; 0: 60). */
    int stall_sec;
    metrics *reg;                     /* borrowed; series are registered at _new */
    const char *metric_prefix;        /* e.g. "ruth_worker" */
    kafka_consumer_batch_fn on_batch; /* required */
    kafka_consumer_end_fn on_end;     /* optional */
    kafka_consumer_idle_fn on_idle;   /* optional */
    int idle_every_ms;                /* 0: 2000 */
    void *arg;                        /* passed to every callback */
} kafka_consumer_conf;

/* Create the producer and the consumer (not subscribed yet). Strings in
 * `conf` are borrowed for the consumer's lifetime. NULL with errstr filled
 * when librdkafka refuses the configuration. */
kafka_consumer *kafka_consumer_new(const kafka_consumer_conf *conf, char *errstr, size_t errsz);

/* Subscribe and consume until shutdown_requested(). 0 after a clean stop,
 * -1 when the subscription failed (logged). */
int kafka_consumer_run(kafka_consumer *kc);

/* Leave the group (the revoke commits the last offsets synchronously),
 * flush the producer, free everything. Accepts NULL. */
void kafka_consumer_destroy(kafka_consumer *kc);

/* The producer, for the client's own messages; borrowed. Its delivery
 * callback feeds kafka_acks_on_delivery(), so kafka_acks groups work on it;
 * a failed untracked message is counted for
 * kafka_consumer_take_delivery_failures(). */
rd_kafka_t *kafka_consumer_producer(kafka_consumer *kc);

/* Failed deliveries of untracked messages since the current attempt began
 * or since the last call; resets the count. */
int kafka_consumer_take_delivery_failures(kafka_consumer *kc);

/* True once the group has assigned this member at least one partition set
 * (for /ready). Safe from any thread. */
bool kafka_consumer_assigned_once(kafka_consumer *kc);

/* Before kafka_consumer_run(): wait until Kafka answers and every topic of
 * `cfg` exists (the broker may be down or `ruth-migrate topics` not run
 * yet), logging why every 30 s. 0, or -1 when shutdown came first. */
int kafka_consumer_wait_topics(kafka_consumer *kc, const ruth_config *cfg);

/* The consumer's part of /ready: false with `reason` while its topics are
 * awaited, no partition was assigned yet, or the batch in hand has not
 * been made durable within `stall_sec` (a database, a service or the DLQ
 * refusing it: nothing behind it moves). Safe from any thread. */
bool kafka_consumer_ready(kafka_consumer *kc, char *reason, size_t reasonsz);

/* Dead-letter `m` (original key, value and headers, plus the ruth.error.*
 * headers naming where it came from, `stage`, `code` and `message`) and
 * count it in `<prefix>_dlq_total{reason=code}`. The acknowledgement is
 * awaited by kafka_consumer_settle_dead_letters(), and before any commit.
 * A dead letter the DLQ refuses as too large (librdkafka, or the topic's
 * max.message.bytes) is sent truncated by the batch's next attempt, with
 * `ruth.error.original_size` and `ruth.error.original_sha256`.
 * 0, or -1 when librdkafka refused it (logged): the batch must be retried. */
int kafka_consumer_dead_letter(kafka_consumer *kc, const rd_kafka_message_t *m, const char *stage,
                               const char *code, const char *message);

/* Wait for this attempt's dead letters. 0 when all were acknowledged (or
 * there were none); -1 otherwise, and the caller answers RETRY (dead
 * letters are at least once, like every output). */
int kafka_consumer_settle_dead_letters(kafka_consumer *kc);

/* Log context naming where a message came from (NULL: none). */
log_ctx kafka_consumer_msg_ctx(const rd_kafka_message_t *m);

#endif
