/* kafka_consumer_dlq.c - the batch consumer's dead letters (see
 * kafka_consumer.h for what it promises).
 *
 * A dead letter can always be written: the producer's message.max.bytes
 * leaves room for the headers above the largest message accepted
 * (kafka_consumer_conf.max_message_bytes), and when the DLQ still refuses one
 * as too large (locally, or the topic's max.message.bytes at the broker) the
 * batch's next attempt sends a truncated copy instead, with
 * `ruth.error.original_size` and `ruth.error.original_sha256`: first the
 * first DLQ_TRUNCATED_BYTES of the value with the original headers that fit
 * in DLQ_TRUNCATED_HEADER_BYTES, then, if even that is refused, our headers
 * alone. A size refusal is permanent, so it is never retried as it was. */
#include "kafka_consumer_internal.h"

#include "kafka.h"
#include "log.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEAD_LETTER_ACK_TIMEOUT_MS 10000
#define DLQ_HEADER_PREFIX "ruth.error."
#define DLQ_MOVED_PREFIX "ruth.original.error."
#define DLQ_TRUNCATED_BYTES (64 * 1024)
#define DLQ_TRUNCATED_HEADER_BYTES (16 * 1024)

/* ---- refused as too large ---- */

/* A record refusal (kafka_error_is_record_refusal) gets the truncated copy.
 * Other failures (the broker or the topic unavailable, not authorised,
 * timed out) are the DLQ's, and the batch is retried until they pass, with
 * kafka_consumer_ready() turning false once it stalls. */

static char *dlq__key(const char *topic, int32_t partition, int64_t offset)
{
    return xasprintf("%s/%" PRId32 "/%" PRId64, topic, partition, offset);
}

static void dlq__refused_add(kafka_consumer *kc, char *key)
{
    pthread_mutex_lock(&kc->refused_lock);
    if (kc->nrefused == kc->caprefused) {
        kc->caprefused = kc->caprefused ? 2 * kc->caprefused : 8;
        kc->refused = xrealloc(kc->refused, kc->caprefused * sizeof *kc->refused);
    }
    kc->refused[kc->nrefused++] = key; /* taken */
    pthread_mutex_unlock(&kc->refused_lock);
}

/* How many times the dead letter of `key` was refused as too large. */
static int dlq__refusals(kafka_consumer *kc, const char *key)
{
    int n = 0;
    pthread_mutex_lock(&kc->refused_lock);
    for (size_t i = 0; i < kc->nrefused; i++)
        n += strcmp(kc->refused[i], key) == 0;
    pthread_mutex_unlock(&kc->refused_lock);
    return n;
}

/* The header `name` of `h` as a string, into buf; false when absent. */
static bool dlq__header(rd_kafka_headers_t *h, const char *name, char *buf, size_t size)
{
    const void *v;
    size_t len;
    if (rd_kafka_header_get_last(h, name, &v, &len) || !v || len >= size)
        return false;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return true;
}

void kafka_consumer__dlq_on_delivery(kafka_consumer *kc, const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *h = NULL;
    char topic[256], part[32], off[32];
    if (!kafka_error_is_record_refusal(m->err) ||
        strcmp(rd_kafka_topic_name(m->rkt), kc->conf.dlq_topic) != 0 ||
        rd_kafka_message_headers(m, &h) ||
        !dlq__header(h, DLQ_HEADER_PREFIX "topic", topic, sizeof topic) ||
        !dlq__header(h, DLQ_HEADER_PREFIX "partition", part, sizeof part) ||
        !dlq__header(h, DLQ_HEADER_PREFIX "offset", off, sizeof off))
        return;
    dlq__refused_add(kc, dlq__key(topic, (int32_t)atol(part), atoll(off)));
}

void kafka_consumer__dlq_forget(kafka_consumer *kc)
{
    pthread_mutex_lock(&kc->refused_lock);
    for (size_t i = 0; i < kc->nrefused; i++)
        free(kc->refused[i]);
    free(kc->refused);
    kc->refused = NULL;
    kc->nrefused = kc->caprefused = 0;
    pthread_mutex_unlock(&kc->refused_lock);
}

/* ---- the dead letter ---- */

/* The original headers, in order, except that the producer's own
 * `ruth.error.*` (forged or from an earlier hop) move under
 * `ruth.original.error.*`: the `ruth.error.*` of a dead letter are only
 * ours, whoever reads them first or last. Headers past `budget` bytes
 * (names and values) are left out. */
static rd_kafka_headers_t *dlq__headers(const rd_kafka_message_t *m, size_t budget)
{
    rd_kafka_headers_t *orig = NULL;
    if (rd_kafka_message_headers(m, &orig) != RD_KAFKA_RESP_ERR_NO_ERROR || !orig)
        return rd_kafka_headers_new(8);
    rd_kafka_headers_t *h = rd_kafka_headers_new(rd_kafka_header_cnt(orig) + 8);
    const char *name;
    const void *val;
    size_t len, used = 0;
    for (size_t i = 0; rd_kafka_header_get_all(orig, i, &name, &val, &len) == 0; i++) {
        used += strlen(name) + len;
        if (used > budget)
            break;
        if (strncmp(name, DLQ_HEADER_PREFIX, strlen(DLQ_HEADER_PREFIX)) != 0) {
            rd_kafka_header_add(h, name, -1, val, val ? (ssize_t)len : -1);
            continue;
        }
        char *moved = xasprintf(DLQ_MOVED_PREFIX "%s", name + strlen(DLQ_HEADER_PREFIX));
        rd_kafka_header_add(h, moved, -1, val, val ? (ssize_t)len : -1);
        free(moved);
    }
    return h;
}

/* Size and SHA-256 of the whole original value, on a truncated copy. */
static void dlq__add_original(rd_kafka_headers_t *h, const rd_kafka_message_t *m)
{
    char num[32], hex[2 * EVP_MAX_MD_SIZE + 1];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    snprintf(num, sizeof num, "%zu", m->len);
    rd_kafka_header_add(h, DLQ_HEADER_PREFIX "original_size", -1, num, -1);
    if (!EVP_Digest(m->payload ? m->payload : "", m->len, md, &mdlen, EVP_sha256(), NULL))
        return;
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    rd_kafka_header_add(h, DLQ_HEADER_PREFIX "original_sha256", -1, hex, (ssize_t)(2 * mdlen));
}

/* Produce the dead letter of `m` at `level` (0: in full, 1: truncated,
 * 2: our headers only); librdkafka's answer. */
static rd_kafka_resp_err_t dlq__produce(kafka_consumer *kc, const rd_kafka_message_t *m, int level,
                                        const char *stage, const char *code, const char *message)
{
    rd_kafka_headers_t *h = dlq__headers(m, level == 0   ? SIZE_MAX
                                            : level == 1 ? DLQ_TRUNCATED_HEADER_BYTES
                                                         : 0);
    char num[32];
    rd_kafka_header_add(h, DLQ_HEADER_PREFIX "topic", -1, rd_kafka_topic_name(m->rkt), -1);
    snprintf(num, sizeof num, "%" PRId32, m->partition);
    rd_kafka_header_add(h, DLQ_HEADER_PREFIX "partition", -1, num, -1);
    snprintf(num, sizeof num, "%" PRId64, m->offset);
    rd_kafka_header_add(h, DLQ_HEADER_PREFIX "offset", -1, num, -1);
    rd_kafka_header_add(h, DLQ_HEADER_PREFIX "stage", -1, stage, -1);
    rd_kafka_header_add(h, DLQ_HEADER_PREFIX "code", -1, code, -1);
    rd_kafka_header_add(h, DLQ_HEADER_PREFIX "message", -1, message, -1);
    size_t len = m->len;
    if (level > 0) {
        dlq__add_original(h, m);
        len = level == 1 && len > DLQ_TRUNCATED_BYTES ? DLQ_TRUNCATED_BYTES : level == 1 ? len : 0;
    }
    size_t key_len = level >= 2 && m->key_len > 256 ? 256 : m->key_len;
    rd_kafka_resp_err_t e;
    do {
        e = rd_kafka_producev(kc->producer, RD_KAFKA_V_TOPIC(kc->conf.dlq_topic),
                              RD_KAFKA_V_KEY(m->key, key_len), RD_KAFKA_V_VALUE(m->payload, len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                              RD_KAFKA_V_OPAQUE(kafka_acks_hold(kc->dead_letters)), RD_KAFKA_V_END);
        if (e)
            kafka_acks_drop(kc->dead_letters);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(kc->producer, 10);
    } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (e)
        rd_kafka_headers_destroy(h); /* not handed over on failure; else the producer's */
    return e;
}

int kafka_consumer_dead_letter(kafka_consumer *kc, const rd_kafka_message_t *m, const char *stage,
                               const char *code, const char *message)
{
    if (!kc->dead_letters)
        kc->dead_letters = kafka_acks_new();
    char *key = dlq__key(rd_kafka_topic_name(m->rkt), m->partition, m->offset);
    int level = dlq__refusals(kc, key);
    free(key);
    level = level > 2 ? 2 : level;
    rd_kafka_resp_err_t e;
    while (kafka_error_is_record_refusal(e = dlq__produce(kc, m, level, stage, code, message)) &&
           level < 2)
        level++; /* refused at once by librdkafka: truncate now */
    log_ctx ctx = kafka_consumer_msg_ctx(m);
    if (e) {
        log_at(LOG_ERROR, &ctx, "cannot dead-letter: %s", rd_kafka_err2str(e));
        return -1;
    }
    if (level > 0)
        log_at(LOG_WARN, &ctx, "dead letter of %zu bytes too large for %s: sent truncated", m->len,
               kc->conf.dlq_topic);
    log_at(LOG_WARN, &ctx, "dead-lettered (%s/%s): %s", stage, code, message);
    char labels[96];
    snprintf(labels, sizeof labels, "reason=\"%s\"", code);
    metric_inc(
        kafka_consumer__series(kc, "c", "dlq_total", "Messages dead-lettered, by reason.", labels));
    return 0;
}

/* Unacknowledged dead letters mean the batch is offered again (the DLQ is
 * at least once like every output); nothing is committed before they are
 * acknowledged. */
int kafka_consumer_settle_dead_letters(kafka_consumer *kc)
{
    if (!kc->dead_letters)
        return 0;
    int rc = kafka_acks_wait(kc->producer, kc->dead_letters, DEAD_LETTER_ACK_TIMEOUT_MS);
    kc->dead_letters = NULL; /* released by kafka_acks_wait */
    if (rc)
        log_warn("dead letters of a batch were not acknowledged; the batch will be retried");
    return rc;
}
