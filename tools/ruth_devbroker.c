/* ruth-devbroker - NOT A REAL KAFKA BROKER.
 *
 * A stand-in for ./scripts/demo on machines where Java or the Kafka jars
 * cannot be had: librdkafka's built-in mock cluster, listening on loopback,
 * with the product's topics created. Other processes connect to it like to
 * any broker. It keeps everything in memory, has no durability and does not
 * implement the whole protocol; tests never use it.
 *
 *   ruth-devbroker [--port-file FILE]
 * prints "KAFKA_BOOTSTRAP_SERVERS=<addr>" on stdout (and into FILE), then runs
 * until SIGTERM/SIGINT. */
#include "log.h"
#include "shutdown.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: ruth-devbroker [--port-file FILE]\n"
    "In-memory stand-in for Kafka (librdkafka mock cluster) used by ./scripts/demo only\n"
    "when a real Kafka cannot be started. It is not a real broker.";

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            puts(usage);
            return 0;
        }
        if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
            port_file = argv[++i];
        else {
            fprintf(stderr, "%s\n", usage);
            return 2;
        }
    }
    log_init("ruth-devbroker", LOG_INFO, true);
    shutdown_install();

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err); /* only errors */
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!rk) {
        log_error("cannot create librdkafka handle: %s", err);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
    if (!mc) {
        log_error("cannot create the mock cluster");
        rd_kafka_destroy(rk);
        return 1;
    }
    /* Topic names follow the same RUTH_TOPIC_* settings as every process. */
    const struct {
        const char *env, *dflt;
        int partitions;
    } topics[] = {
        {"RUTH_TOPIC_INFERENCE", "ruth.inference.v1", 6},
        {"RUTH_TOPIC_EVENTS", "ruth.events.v1", 6},
        {"RUTH_TOPIC_VIOLATIONS", "ruth.violations.v1", 3},
        {"RUTH_TOPIC_EVIDENCE", "ruth.evidence.v1", 3},
        {"RUTH_TOPIC_DLQ", "ruth.dlq.v1", 1},
    };
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
        const char *name = getenv(topics[i].env);
        if (!name || !*name)
            name = topics[i].dflt;
        rd_kafka_mock_topic_create(mc, name, topics[i].partitions, 1);
    }
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
    printf("KAFKA_BOOTSTRAP_SERVERS=%s\n", bootstraps);
    fflush(stdout);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (f) {
            fprintf(f, "KAFKA_BOOTSTRAP_SERVERS=%s\n", bootstraps);
            fclose(f);
        }
    }
    log_warn("ruth-devbroker is an in-memory mock cluster, NOT a real Kafka broker; "
             "listening on %s",
             bootstraps);
    while (!shutdown_requested()) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
