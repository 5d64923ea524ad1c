/* kafka.c - see kafka.h. */
#include "kafka.h"

#include "clock.h"
#include "log.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char **environ;

static void kafka__log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
    log_level lvl = level <= 3   ? LOG_ERROR
                    : level == 4 ? LOG_WARN
                    : level <= 6 ? LOG_INFO
                                 : LOG_DEBUG;
    if (!log_enabled(lvl))
        return;
    log_at(lvl, NULL, "librdkafka %s: %s", fac, buf);
}

static void kafka__error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof fatal);
        log_error("Kafka fatal error %s: %s; shutting down", rd_kafka_err2name(orig), fatal);
        shutdown_request();
        return;
    }
    /* Transport errors are retried by librdkafka itself. */
    log_warn("Kafka error %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

bool kafka_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *errstr,
                    size_t errsz)
{
    char rderr[256];
    if (rd_kafka_conf_set(conf, name, value, rderr, sizeof rderr) != RD_KAFKA_CONF_OK) {
        snprintf(errstr, errsz, "Kafka property %s: %s", name, rderr);
        return false;
    }
    return true;
}

rd_kafka_conf_t *kafka_conf_new(const char *bootstrap, const char *client_id, char *errstr,
                                size_t errsz)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errsz) ||
        !kafka_conf_set(conf, "client.id", client_id, errstr, errsz) ||
        !kafka_conf_set(conf, "log.connection.close", "false", errstr, errsz))
        goto failed;
    rd_kafka_conf_set_log_cb(conf, kafka__log_cb);
    rd_kafka_conf_set_error_cb(conf, kafka__error_cb);

    /* KAFKA_FOO_BAR=v -> foo.bar=v (KAFKA_BOOTSTRAP_SERVERS is handled above). */
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "KAFKA_", 6) != 0 || !strncmp(*e, "KAFKA_BOOTSTRAP_SERVERS=", 24))
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        char name[128];
        size_t n = (size_t)(eq - *e) - 6;
        if (n == 0 || n >= sizeof name)
            continue;
        for (size_t i = 0; i < n; i++) {
            char c = (*e)[6 + i];
            name[i] = c == '_' ? '.' : (char)tolower((unsigned char)c);
        }
        name[n] = '\0';
        if (!kafka_conf_set(conf, name, eq + 1, errstr, errsz))
            goto failed;
        log_info("Kafka property %s set from environment", name);
    }
    return conf;
failed:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* rd_kafka_new for `type`; on failure conf is destroyed and errstr says why. */
static rd_kafka_t *kafka__new(rd_kafka_type_t type, rd_kafka_conf_t *conf, char *errstr,
                              size_t errsz)
{
    char rderr[256];
    rd_kafka_t *rk = rd_kafka_new(type, conf, rderr, sizeof rderr);
    if (!rk) {
        snprintf(errstr, errsz, "cannot create Kafka %s: %s",
                 type == RD_KAFKA_PRODUCER ? "producer" : "consumer", rderr);
        rd_kafka_conf_destroy(conf);
    }
    return rk; /* on success conf is owned by rk */
}

rd_kafka_t *kafka_producer_new(rd_kafka_conf_t *conf, char *errstr, size_t errsz)
{
    /* Compression and linger are tuning: a KAFKA_* variable (applied by
     * kafka_conf_new) wins. Idempotence and acks are the guarantee: never. */
    bool own_codec = !getenv("KAFKA_COMPRESSION_CODEC") && !getenv("KAFKA_COMPRESSION_TYPE");
    bool own_linger = !getenv("KAFKA_LINGER_MS") && !getenv("KAFKA_QUEUE_BUFFERING_MAX_MS");
    if (!kafka_conf_set(conf, "enable.idempotence", "true", errstr, errsz) ||
        !kafka_conf_set(conf, "acks", "all", errstr, errsz) ||
        (own_codec && !kafka_conf_set(conf, "compression.codec", "lz4", errstr, errsz)) ||
        (own_linger && !kafka_conf_set(conf, "linger.ms", "5", errstr, errsz))) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    return kafka__new(RD_KAFKA_PRODUCER, conf, errstr, errsz);
}

rd_kafka_t *kafka_group_member_new(rd_kafka_conf_t *conf, const char *group, char *errstr,
                                   size_t errsz)
{
    if (!kafka_conf_set(conf, "group.id", group, errstr, errsz) ||
        !kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errsz) ||
        !kafka_conf_set(conf, "enable.auto.offset.store", "false", errstr, errsz) ||
        !kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, errsz) ||
        !kafka_conf_set(conf, "partition.assignment.strategy", "cooperative-sticky", errstr,
                        errsz)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = kafka__new(RD_KAFKA_CONSUMER, conf, errstr, errsz);
    if (rk)
        rd_kafka_poll_set_consumer(rk);
    return rk;
}

static int kafka__produce(rd_kafka_t *rk, const char *topic, const char *key, const void *val,
                          size_t len, void *opaque)
{
    for (int tries = 0; tries < 1000; tries++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
            RD_KAFKA_V_VALUE((void *)val, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            log_error("cannot produce to %s: %s", topic, rd_kafka_err2str(e));
            return -1;
        }
        rd_kafka_poll(rk, 10);
    }
    log_error("cannot produce to %s: local queue stayed full", topic);
    return -1;
}

int kafka_produce_copy(rd_kafka_t *rk, const char *topic, const char *key, const void *val,
                       size_t len)
{
    return kafka__produce(rk, topic, key, val, len, NULL);
}

/* refs: the waiter's one plus one per message not yet reported. */
struct kafka_acks {
    atomic_int refs;
    atomic_int failed;
};

kafka_acks *kafka_acks_new(void)
{
    kafka_acks *a = xcalloc(1, sizeof *a);
    atomic_init(&a->refs, 1);
    atomic_init(&a->failed, 0);
    return a;
}

void kafka_acks_drop(kafka_acks *a)
{
    if (atomic_fetch_sub(&a->refs, 1) == 1)
        free(a);
}

void *kafka_acks_hold(kafka_acks *a)
{
    atomic_fetch_add(&a->refs, 1);
    return a;
}

int kafka_produce_tracked(rd_kafka_t *rk, kafka_acks *acks, const char *topic, const char *key,
                          const void *val, size_t len)
{
    if (kafka__produce(rk, topic, key, val, len, kafka_acks_hold(acks)) == 0)
        return 0;
    kafka_acks_drop(acks);
    return -1;
}

void kafka_acks_on_delivery(const rd_kafka_message_t *m)
{
    kafka_acks *a = m->_private;
    if (!a)
        return;
    if (m->err)
        atomic_fetch_add(&a->failed, 1);
    kafka_acks_drop(a);
}

int kafka_acks_wait(rd_kafka_t *rk, kafka_acks *acks, int timeout_ms)
{
    int64_t t0 = clock_mono_us();
    /* Any thread polling the producer may serve our reports; we poll too so
     * they arrive even when nobody else does. */
    while (atomic_load(&acks->refs) > 1) {
        if ((clock_mono_us() - t0) / 1000 >= timeout_ms)
            break;
        rd_kafka_poll(rk, 10);
    }
    int rc = atomic_load(&acks->refs) > 1 || atomic_load(&acks->failed) ? -1 : 0;
    kafka_acks_drop(acks);
    return rc;
}

bool kafka_error_is_record_refusal(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           e == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE ||
           e == RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE || e == RD_KAFKA_RESP_ERR_INVALID_RECORD ||
           e == RD_KAFKA_RESP_ERR_INVALID_MSG;
}
