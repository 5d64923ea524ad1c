/* connect-produce: one Kafka record per line of a file, to one topic, at a
 * given rate (issue 15: bench/worker/run feeds the Kafka Connect sink the rows
 * the worker stored, as JSON-with-schema records). Built and run by
 * bench/worker/run only (cc ... -lrdkafka), not part of the product.
 *
 *   connect-produce BROKERS TOPIC FILE RATE
 *
 * RATE is records per second (0: as fast as it can). The producer is set up
 * as ruth-simulate's (librdkafka, a deep queue, batches of up to 10,000, lz4,
 * idempotence), so both pipelines are fed by the same client the same way.
 * Records are keyless, so librdkafka spreads them over the partitions.
 * Prints "<records> <seconds>" when every record is acknowledged; exits 1
 * with the reason on any failure (a refused record is a failed feed). */
#define _POSIX_C_SOURCE 200809L
#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long produce__failed;

static void produce__dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err && produce__failed++ == 0)
        fprintf(stderr, "connect-produce: delivery failed: %s\n", rd_kafka_err2str(m->err));
}

static double produce__now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static rd_kafka_t *produce__open(const char *brokers, char *err, size_t errsz)
{
    static const char *const props[][2] = {
        {"client.id", "ruth-bench-connect-produce"},
        {"enable.idempotence", "true"},
        {"compression.codec", "lz4"},
        {"linger.ms", "5"},
        {"queue.buffering.max.messages", "1000000"},
        {"queue.buffering.max.kbytes", "1048576"},
        {"batch.num.messages", "10000"},
        {"batch.size", "1000000"},
        {"message.timeout.ms", "60000"},
    };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, errsz) != RD_KAFKA_CONF_OK)
        goto fail;
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
        if (rd_kafka_conf_set(conf, props[i][0], props[i][1], err, errsz) != RD_KAFKA_CONF_OK)
            goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, produce__dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errsz);
    if (rk)
        return rk; /* conf is owned by rk now */
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* why: one loop reads, paces and produces; splitting it would only pass its
 * five locals around. */
int main(int argc, char **argv)
{
    char err[512];
    if (argc != 5) {
        fprintf(stderr, "usage: connect-produce BROKERS TOPIC FILE RATE\n");
        return 2;
    }
    char *end;
    double rate = strtod(argv[4], &end);
    if (*end || rate < 0) {
        fprintf(stderr, "connect-produce: RATE must be a number >= 0, got '%s'\n", argv[4]);
        return 2;
    }
    FILE *in = fopen(argv[3], "r");
    if (!in) {
        fprintf(stderr, "connect-produce: %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    int rc = 1;
    char *line = NULL;
    size_t cap = 0;
    long sent = 0;
    rd_kafka_t *rk = produce__open(argv[1], err, sizeof err);
    if (!rk) {
        fprintf(stderr, "connect-produce: %s\n", err);
        goto out;
    }
    double t0 = produce__now();
    ssize_t len;
    while ((len = getline(&line, &cap, in)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        if (len == 0)
            continue;
        /* Pace by the schedule from the start, so a stall is caught up. */
        if (rate > 0) {
            double due = t0 + (double)sent / rate;
            while (produce__now() < due)
                rd_kafka_poll(rk, 1);
        }
        for (;;) {
            rd_kafka_resp_err_t e = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(argv[2]), RD_KAFKA_V_VALUE(line, (size_t)len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
            if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
                break;
            if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                fprintf(stderr, "connect-produce: record %ld: %s\n", sent + 1, rd_kafka_err2str(e));
                goto out;
            }
            rd_kafka_poll(rk, 10);
        }
        sent++;
        rd_kafka_poll(rk, 0);
    }
    if (ferror(in)) {
        fprintf(stderr, "connect-produce: reading %s: %s\n", argv[3], strerror(errno));
        goto out;
    }
    if (rd_kafka_flush(rk, 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "connect-produce: %d records not acknowledged within 120 s\n",
                rd_kafka_outq_len(rk));
        goto out;
    }
    if (produce__failed) {
        fprintf(stderr, "connect-produce: %ld of %ld records failed\n", produce__failed, sent);
        goto out;
    }
    printf("%ld %.3f\n", sent, produce__now() - t0);
    rc = 0;
out:
    if (rk)
        rd_kafka_destroy(rk);
    free(line);
    fclose(in);
    return rc;
}
