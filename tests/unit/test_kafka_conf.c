/* KAFKA_* environment variables become librdkafka properties; a bad one is
 * reported by name; the producer's tuning defaults yield to them, its
 * guarantee (idempotence, acks=all) does not. */
#include "kafka.h"
#include "testlib.h"

#include <stdlib.h>

static void passthrough(void)
{
    char err[512];
    setenv("KAFKA_SOCKET_TIMEOUT_MS", "12345", 1);
    setenv("KAFKA_CLIENT_RACK", "rack-7", 1);
    rd_kafka_conf_t *conf = kafka_conf_new("127.0.0.1:1", "ruth-test", err, sizeof err);
    CHECK_MSG(conf != NULL, "%s", err);
    char val[64];
    size_t n = sizeof val;
    CHECK(rd_kafka_conf_get(conf, "socket.timeout.ms", val, &n) == RD_KAFKA_CONF_OK);
    CHECK_EQ_STR(val, "12345");
    n = sizeof val;
    CHECK(rd_kafka_conf_get(conf, "client.rack", val, &n) == RD_KAFKA_CONF_OK);
    CHECK_EQ_STR(val, "rack-7");
    n = sizeof val;
    CHECK(rd_kafka_conf_get(conf, "bootstrap.servers", val, &n) == RD_KAFKA_CONF_OK);
    CHECK_EQ_STR(val, "127.0.0.1:1");
    rd_kafka_conf_destroy(conf);
    unsetenv("KAFKA_SOCKET_TIMEOUT_MS");
    unsetenv("KAFKA_CLIENT_RACK");
}

/* A producer's property as it was created. */
static void producer_prop(rd_kafka_t *rk, const char *name, char *val, size_t n)
{
    val[0] = '\0';
    rd_kafka_conf_get(rd_kafka_conf(rk), name, val, &n);
}

static void producer_tuning(void)
{
    char err[512], val[64];
    rd_kafka_t *rk =
        kafka_producer_new(kafka_conf_new("127.0.0.1:1", "t", err, sizeof err), err, sizeof err);
    CHECK_MSG(rk != NULL, "%s", err);
    producer_prop(rk, "linger.ms", val, sizeof val);
    CHECK_EQ_STR(val, "5");
    producer_prop(rk, "compression.codec", val, sizeof val);
    CHECK_EQ_STR(val, "lz4");
    rd_kafka_destroy(rk);
    setenv("KAFKA_LINGER_MS", "20", 1);
    setenv("KAFKA_COMPRESSION_CODEC", "zstd", 1);
    setenv("KAFKA_ACKS", "1", 1); /* the guarantee is not the environment's */
    rk = kafka_producer_new(kafka_conf_new("127.0.0.1:1", "t", err, sizeof err), err, sizeof err);
    CHECK_MSG(rk != NULL, "%s", err);
    producer_prop(rk, "linger.ms", val, sizeof val);
    CHECK_EQ_STR(val, "20");
    producer_prop(rk, "compression.codec", val, sizeof val);
    CHECK_EQ_STR(val, "zstd");
    producer_prop(rk, "acks", val, sizeof val);
    CHECK_EQ_STR(val, "-1"); /* all */
    producer_prop(rk, "enable.idempotence", val, sizeof val);
    CHECK_EQ_STR(val, "true");
    rd_kafka_destroy(rk);
    unsetenv("KAFKA_LINGER_MS");
    unsetenv("KAFKA_COMPRESSION_CODEC");
    unsetenv("KAFKA_ACKS");
}

static void bad_property_named(void)
{
    char err[512];
    setenv("KAFKA_NO_SUCH_PROPERTY", "1", 1);
    rd_kafka_conf_t *conf = kafka_conf_new("127.0.0.1:1", "ruth-test", err, sizeof err);
    unsetenv("KAFKA_NO_SUCH_PROPERTY");
    CHECK(conf == NULL);
    CHECK_MSG(strstr(err, "no.such.property") != NULL, "%s", err);
}

static void consumer_defaults(void)
{
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_new("127.0.0.1:1", "ruth-test", err, sizeof err);
    CHECK(conf != NULL);
    rd_kafka_t *rk = kafka_group_member_new(conf, "ruth-test-group", err, sizeof err);
    conf = NULL; /* owned by kafka_group_member_new */
    CHECK_MSG(rk != NULL, "%s", err);
    const rd_kafka_conf_t *c = rd_kafka_conf(rk);
    char val[64];
    size_t n = sizeof val;
    CHECK(rd_kafka_conf_get(c, "enable.auto.commit", val, &n) == RD_KAFKA_CONF_OK);
    CHECK_EQ_STR(val, "false");
    n = sizeof val;
    CHECK(rd_kafka_conf_get(c, "partition.assignment.strategy", val, &n) == RD_KAFKA_CONF_OK);
    CHECK_EQ_STR(val, "cooperative-sticky");
    rd_kafka_destroy(rk);
}

int main(void)
{
    TEST_RUN(passthrough);
    TEST_RUN(bad_property_named);
    TEST_RUN(consumer_defaults);
    TEST_RUN(producer_tuning);
    return TEST_EXIT();
}
