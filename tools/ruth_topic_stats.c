/* ruth-topic-stats - messages held by each of the pipeline's topics.
 *
 * Sums (high - low watermark) over partitions of the five configured topics
 * (RUTH_TOPIC_*), so an operator or the demo can see what subscribers
 * received and what was dead-lettered without a Kafka tool chain. */
#include "config.h"
#include "kafka.h"
#include "kafka_admin.h"
#include "log.h"

#include <stdio.h>

static const char usage[] = "usage: ruth-topic-stats\n"
                            "Prints partitions and messages of every pipeline topic.";

int main(int argc, char **argv)
{
    ruth_config cfg;
    int st = config_startup(argc, argv, CFG_SIMULATE, "ruth-topic-stats", usage, &cfg);
    if (st)
        return st == 1 ? 0 : 2;
    char err[512];
    rd_kafka_t *rk =
        kafka_admin_new(cfg.kafka_bootstrap_servers, "ruth-topic-stats", err, sizeof err);
    if (!rk) {
        log_error("%s", err);
        config_free(&cfg);
        return 1;
    }
    int rc = 0;
    const char *topics[] = {cfg.topic_inference, cfg.topic_events, cfg.topic_violations,
                            cfg.topic_evidence, cfg.topic_dlq};
    printf("%-28s %10s %12s\n", "topic", "partitions", "messages");
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
        int parts = kafka_admin_topic_partitions(rk, topics[i], 10000, err, sizeof err);
        if (parts <= 0) {
            printf("%-28s %10s %12s\n", topics[i], "-", parts < 0 ? "error" : "missing");
            rc = 1;
            continue;
        }
        long long total = 0;
        for (int p = 0; p < parts; p++) {
            int64_t lo = 0, hi = 0;
            if (rd_kafka_query_watermark_offsets(rk, topics[i], p, &lo, &hi, 10000) == 0)
                total += hi - lo;
        }
        printf("%-28s %10d %12lld\n", topics[i], parts, total);
    }
    rd_kafka_destroy(rk);
    config_free(&cfg);
    return rc;
}
