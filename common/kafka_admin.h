/* kafka_admin.h - the pipeline's topics: creation and start-up checks.
 *
 * `ruth-migrate topics` creates the five topics with their configured
 * partitions and replication factor through librdkafka's admin API
 * (CreateTopics); a topic that already exists counts as success, so the
 * command is idempotent and safe from many replicas. Every process checks at
 * start that the topics it needs exist (kafka_admin_check_topics).
 * Existing topics are never altered: a partition count that differs from the
 * configuration is reported, not changed, because adding partitions moves
 * cameras to other partitions (and so breaks per-camera ordering).
 *
 * The dead-letter topic is created with max.message.bytes large enough for
 * a dead letter of the largest message accepted (RUTH_MAX_MESSAGE_BYTES plus
 * KAFKA_DLQ_HEADER_ROOM); consumers check it at start
 * (kafka_admin_topic_config) and warn when an existing topic's is lower. */
#ifndef RUTH_KAFKA_ADMIN_H
#define RUTH_KAFKA_ADMIN_H

#include "config.h"

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stddef.h>

typedef struct kafka_topic_spec {
    const char *name;      /* borrowed */
    int partitions;        /* for creation; 0 in checks = any count */
    int replication;       /* for creation */
    int max_message_bytes; /* topic config at creation; 0 = the broker's default */
} kafka_topic_spec;

/* Room for the dead-letter headers (ruth.error.*, the original's headers)
 * above the largest message a consumer accepts. */
#define KAFKA_DLQ_HEADER_ROOM (64 * 1024)

#define KAFKA_ADMIN_NTOPICS 5
#define KAFKA_ADMIN_MAXTOPICS (KAFKA_ADMIN_NTOPICS + 1)

/* The five topics of the configuration (inference, events, violations,
 * evidence, dlq) with their partitions and replication factor, plus
 * RUTH_TOPIC_DEEPSTREAM when set (the inference topic's partitions). Names
 * are borrowed from cfg. Returns how many: KAFKA_ADMIN_NTOPICS or one more. */
size_t kafka_admin_topics_from_config(const ruth_config *cfg,
                                      kafka_topic_spec specs[KAFKA_ADMIN_MAXTOPICS]);

/* A client handle for admin requests and metadata (a producer that never
 * produces) with bootstrap servers, client.id and KAFKA_* pass-through from
 * kafka_conf_new(). NULL with errstr on failure. Destroy with
 * rd_kafka_destroy(). */
rd_kafka_t *kafka_admin_new(const char *bootstrap, const char *client_id, char *errstr,
                            size_t errsz);

/* Create every topic of `specs` that does not exist yet, then wait (up to
 * timeout_ms in total) until metadata shows all of them. Returns 0, or -1
 * with errstr naming the topic and the broker's reason (for instance a
 * replication factor larger than the number of brokers). *created (may be
 * NULL) receives how many were newly created. */
int kafka_admin_create_topics(rd_kafka_t *rk, const kafka_topic_spec *specs, size_t n,
                              int timeout_ms, int *created, char *errstr, size_t errsz);

/* Metadata check: every topic of `specs` exists; when a spec's partitions is
 * > 0 and the topic has a different count, a warning is logged (not an
 * error). Returns 0, or -1 with errstr naming the first missing topic and
 * how to create it. */
int kafka_admin_check_topics(rd_kafka_t *rk, const kafka_topic_spec *specs, size_t n,
                             int timeout_ms, char *errstr, size_t errsz);

/* Start-up for a long-running process: the check, again and again until it
 * passes (the broker may be down or the topics not created yet), logging
 * the reason at the first failure and every 30 s after. *ok is set once it
 * passes (for /ready). 0, or -1 when shutdown was requested first. */
int kafka_admin_wait_topics(rd_kafka_t *rk, const kafka_topic_spec *specs, size_t n,
                            atomic_bool *ok);

/* The value of topic config `name` (e.g. "max.message.bytes") of `topic`
 * into out (DescribeConfigs). 0, or -1 with errstr. */
int kafka_admin_topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *out,
                             size_t outsz, int timeout_ms, char *errstr, size_t errsz);

/* Partition count of `topic`: > 0 when it exists, 0 when it does not,
 * -1 with errstr when metadata could not be fetched. */
int kafka_admin_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                                 size_t errsz);

#endif
