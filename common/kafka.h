/* kafka.h - librdkafka set-up shared by every process.
 *
 * Builds rd_kafka_conf_t from the loaded config: bootstrap servers, any
 * KAFKA_* environment variable passed through as a librdkafka property
 * (KAFKA_SECURITY_PROTOCOL -> security.protocol), librdkafka's own log lines
 * routed into log.h, and the fatal-error callback turned into a clean
 * shutdown request. */
#ifndef RUTH_KAFKA_H
#define RUTH_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

/* A configuration with bootstrap.servers, client.id and KAFKA_* pass-through
 * applied. Returns NULL with errstr filled when a property is rejected.
 * Caller owns the result (it is consumed by rd_kafka_new()). */
rd_kafka_conf_t *kafka_conf_new(const char *bootstrap, const char *client_id, char *errstr,
                                size_t errsz);

/* Set one property; false with errstr filled on rejection. */
bool kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                    size_t errsz);

/* Idempotent producer (enable.idempotence, acks=all, lz4, linger 5 ms; the
 * last two unless KAFKA_COMPRESSION_CODEC / KAFKA_LINGER_MS say otherwise).
 * Takes ownership of `conf` on success and on failure. */
rd_kafka_t *kafka_producer_new(rd_kafka_conf_t *conf, char *errstr, size_t errsz);

/* Consumer in `group` with auto-commit off and cooperative-sticky assignment.
 * Takes ownership of `conf` on success and on failure. */
rd_kafka_t *kafka_group_member_new(rd_kafka_conf_t *conf, const char *group, char *errstr,
                                   size_t errsz);

/* Produce a copy of `val` to `topic` with `key` (NUL-terminated; NULL = no
 * key), polling while the local queue is full. 0, or -1 when librdkafka
 * refuses the message (logged). */
int kafka_produce_copy(rd_kafka_t *rk, const char *topic, const char *key, const void *val,
                       size_t len);

/* Delivery tracking for one group of messages (one outbox relay), however
 * many threads share the producer: each message carries the group as its
 * opaque, and the producer's delivery-report callback must hand every report
 * to kafka_acks_on_delivery(). Reference-counted, so a waiter that gives up
 * leaves nothing dangling for reports that arrive later. */
typedef struct kafka_acks kafka_acks;
kafka_acks *kafka_acks_new(void);
/* One more message of the group, for callers producing it themselves: pass
 * the result as the message's opaque; kafka_acks_drop() if librdkafka
 * refuses the message. */
void *kafka_acks_hold(kafka_acks *acks);
void kafka_acks_drop(kafka_acks *acks);
/* kafka_produce_copy() for a message of the group. */
int kafka_produce_tracked(rd_kafka_t *rk, kafka_acks *acks, const char *topic, const char *key,
                          const void *val, size_t len);
/* Serve delivery reports until all of the group's are in or `timeout_ms`
 * passes, then release the caller's reference. 0 when every message was
 * acknowledged; -1 when one failed or is still unanswered. */
int kafka_acks_wait(rd_kafka_t *rk, kafka_acks *acks, int timeout_ms);

/* A refusal of the record itself, which sending it unchanged again can
 * never cure: its size (locally or over the topic's max.message.bytes), or
 * the broker finding it invalid. Unavailable brokers or topics, timeouts
 * and authorisation are not the record's. */
bool kafka_error_is_record_refusal(rd_kafka_resp_err_t e);
/* For the delivery-report callback; ignores messages produced untracked. */
void kafka_acks_on_delivery(const rd_kafka_message_t *m);

#endif
