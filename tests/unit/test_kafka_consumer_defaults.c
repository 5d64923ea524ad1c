/* test_kafka_consumer_defaults: the batch consumer's group timeouts
 * (issue 14 item 5): a crashed member's partitions move after 6 s, not
 * librdkafka's 45 s; KAFKA_SESSION_TIMEOUT_MS and KAFKA_MAX_POLL_INTERVAL_MS
 * still override them. No broker needed: the handles are only built. */
#include "kafka_consumer_internal.h"
#include "log.h"
#include "metrics.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static kafka_consumer_verdict on_batch(void *arg, kafka_consumer *kc, const kafka_consumer_batch *b)
{
    (void)arg, (void)kc, (void)b;
    return KAFKA_CONSUMER_DONE;
}

/* The consumer's (or producer's) setting `name`, into buf. */
static const char *setting(rd_kafka_t *rk, const char *name, char *buf, size_t size)
{
    buf[0] = '\0';
    rd_kafka_conf_get(rd_kafka_conf(rk), name, buf, &size);
    return buf;
}

static kafka_consumer *member(metrics *reg)
{
    kafka_consumer_conf conf = {
        .bootstrap_servers = "127.0.0.1:1",
        .client_id = "ruth-test",
        .group = "g.defaults",
        .topic = "t.defaults",
        .dlq_topic = "t.defaults.dlq",
        .batch_max = 10,
        .batch_ms = 10,
        .reg = reg,
        .metric_prefix = "ruth_test",
        .on_batch = on_batch,
    };
    char err[256];
    kafka_consumer *kc = kafka_consumer_new(&conf, err, sizeof err);
    if (!kc)
        fprintf(stderr, "kafka_consumer_new: %s\n", err);
    return kc;
}

static void test_group_timeouts(void)
{
    char buf[64];
    metrics *reg = metrics_new();
    kafka_consumer *kc = member(reg);
    CHECK(kc != NULL);
    if (kc) {
        CHECK(strcmp(setting(kc->consumer, "session.timeout.ms", buf, sizeof buf), "6000") == 0);
        CHECK(strcmp(setting(kc->consumer, "max.poll.interval.ms", buf, sizeof buf), "300000") ==
              0);
        /* a dead letter of a RUTH_MAX_MESSAGE_BYTES message fits (item 1) */
        CHECK(atoi(setting(kc->producer, "message.max.bytes", buf, sizeof buf)) > 1048576);
        kafka_consumer_destroy(kc);
    }
    metrics_destroy(reg);

    setenv("KAFKA_SESSION_TIMEOUT_MS", "10000", 1);
    setenv("KAFKA_MAX_POLL_INTERVAL_MS", "400000", 1);
    reg = metrics_new();
    kc = member(reg);
    CHECK(kc != NULL);
    if (kc) {
        CHECK(strcmp(setting(kc->consumer, "session.timeout.ms", buf, sizeof buf), "10000") == 0);
        CHECK(strcmp(setting(kc->consumer, "max.poll.interval.ms", buf, sizeof buf), "400000") ==
              0);
        kafka_consumer_destroy(kc);
    }
    metrics_destroy(reg);
    unsetenv("KAFKA_SESSION_TIMEOUT_MS");
    unsetenv("KAFKA_MAX_POLL_INTERVAL_MS");
}

int main(void)
{
    log_init("test_kafka_consumer_defaults", LOG_ERROR, true);
    TEST_RUN(test_group_timeouts);
    return TEST_EXIT();
}
