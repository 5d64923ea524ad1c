/* test_kafka_consumer: the batch consumer library on its own, against the
 * dev stack's real Kafka, with a client that is not ruth-worker.
 *
 * The client fails its first batches (RETRY), dead-letters the messages
 * whose payload starts with "bad", and counts what it processed. What a
 * user of the library relies on is checked from outside: every good message
 * processed exactly once though batches were retried, every bad one on the
 * DLQ byte for byte with the ruth.error.* headers, the group's committed
 * offsets at the end of every partition, and a second member of the same
 * group finding nothing left to do. */
#include "config.h"
#include "itest.h"
#include "kafka_consumer.h"
#include "metrics.h"
#include "shutdown.h"
#include "testlib.h"

#include <openssl/evp.h>
#include <string.h>

#define N_MSGS 600
#define BAD_EVERY 50
#define PARTITIONS 3

typedef struct client {
    int seen[N_MSGS]; /* DONE attempts that included message i */
    int retries_left; /* batches still to fail */
    int processed_ok; /* distinct good messages processed */
    int batches;      /* on_batch calls */
    int ends;         /* on_end calls */
    double stop_at;   /* on_idle requests shutdown after this (0: never) */
} client;

static int msg_index(const rd_kafka_message_t *m)
{
    char buf[32];
    size_t n = m->len < sizeof buf - 1 ? m->len : sizeof buf - 1;
    memcpy(buf, m->payload, n);
    buf[n] = 0;
    const char *dash = strchr(buf, '-');
    return dash ? atoi(dash + 1) : -1;
}

static kafka_consumer_verdict on_batch(void *arg, kafka_consumer *kc, const kafka_consumer_batch *b)
{
    client *c = arg;
    c->batches++;
    if (c->retries_left > 0) {
        c->retries_left--;
        return KAFKA_CONSUMER_RETRY; /* as if the database were down */
    }
    for (size_t i = 0; i < b->n; i++) {
        const rd_kafka_message_t *m = b->msgs[i];
        int idx = msg_index(m);
        if (m->len >= 3 && memcmp(m->payload, "bad", 3) == 0) {
            if (kafka_consumer_dead_letter(kc, m, "decode", "TEST_BAD", "a bad test payload"))
                return KAFKA_CONSUMER_RETRY;
            continue;
        }
        if (idx >= 0 && idx < N_MSGS && c->seen[idx]++ == 0)
            c->processed_ok++;
    }
    if (kafka_consumer_settle_dead_letters(kc))
        return KAFKA_CONSUMER_RETRY;
    if (c->processed_ok == N_MSGS - N_MSGS / BAD_EVERY)
        shutdown_request();
    return KAFKA_CONSUMER_DONE;
}

static void on_end(void *arg, kafka_consumer *kc)
{
    (void)kc;
    ((client *)arg)->ends++;
}

static void on_idle(void *arg, kafka_consumer *kc)
{
    (void)kc;
    client *c = arg;
    if (c->stop_at > 0 && itest_now() > c->stop_at)
        shutdown_request();
}

static int run_member(client *c, metrics *reg, const char *group)
{
    kafka_consumer_conf conf = {
        .bootstrap_servers = getenv("KAFKA_BOOTSTRAP_SERVERS"),
        .client_id = "ruth-test",
        .group = group,
        .topic = getenv("RUTH_TOPIC_INFERENCE"),
        .dlq_topic = getenv("RUTH_TOPIC_DLQ"),
        .batch_max = 100,
        .batch_ms = 20,
        .reg = reg,
        .metric_prefix = "ruth_test",
        .on_batch = on_batch,
        .on_end = on_end,
        .on_idle = on_idle,
        .idle_every_ms = 200,
        .arg = c,
    };
    char err[512];
    kafka_consumer *kc = kafka_consumer_new(&conf, err, sizeof err);
    if (!kc) {
        fprintf(stderr, "kafka_consumer_new: %s\n", err);
        return -1;
    }
    shutdown_install();
    int rc = kafka_consumer_run(kc);
    kafka_consumer_destroy(kc);
    return rc;
}

typedef struct dlq_seen {
    int n, headers_ok, bytes_ok;
    int forged_moved; /* one ruth.error.code (ours), the forged one moved aside */
} dlq_seen;

/* How many headers called `name` `m` carries. */
static int header_count(const rd_kafka_message_t *m, const char *name)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    int n = 0;
    if (rd_kafka_message_headers(m, &h))
        return 0;
    while (rd_kafka_header_get(h, (size_t)n, name, &v, &len) == RD_KAFKA_RESP_ERR_NO_ERROR)
        n++;
    return n;
}

static bool header_is(const rd_kafka_message_t *m, const char *name, const char *want)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t len;
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, name, &v, &len))
        return false;
    return len == strlen(want) && memcmp(v, want, len) == 0;
}

static void on_dlq(const rd_kafka_message_t *m, void *arg)
{
    dlq_seen *d = arg;
    d->n++;
    int idx = msg_index(m);
    char want[32];
    snprintf(want, sizeof want, "bad-%d", idx);
    if (m->len == strlen(want) && memcmp(m->payload, want, m->len) == 0)
        d->bytes_ok++;
    if (header_is(m, "ruth.error.code", "TEST_BAD") && header_is(m, "ruth.error.stage", "decode") &&
        header_is(m, "ruth.error.topic", getenv("RUTH_TOPIC_INFERENCE")) &&
        header_is(m, "origin", "test"))
        d->headers_ok++;
    if (header_count(m, "ruth.error.code") == 1 && header_count(m, "ruth.error.stage") == 1 &&
        header_is(m, "ruth.original.error.code", "FORGED") &&
        header_is(m, "ruth.original.error.stage", "forged"))
        d->forged_moved++;
}

/* Sum over partitions of (high watermark - committed offset) for `group`. */
static long long group_lag(const char *group)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", getenv("KAFKA_BOOTSTRAP_SERVERS"), err,
                      sizeof err);
    rd_kafka_conf_set(conf, "group.id", group, err, sizeof err);
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(PARTITIONS);
    for (int p = 0; p < PARTITIONS; p++)
        rd_kafka_topic_partition_list_add(parts, getenv("RUTH_TOPIC_INFERENCE"), p);
    long long lag = -1;
    if (rd_kafka_committed(c, parts, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        lag = 0;
        for (int p = 0; p < PARTITIONS; p++) {
            int64_t lo, hi;
            rd_kafka_query_watermark_offsets(c, parts->elems[p].topic, p, &lo, &hi, 5000);
            lag += hi - (parts->elems[p].offset < 0 ? 0 : parts->elems[p].offset);
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(c);
    return lag;
}

static double metric_named(metrics *reg, const char *name)
{
    size_t len;
    char *text = metrics_render(reg, &len);
    double v = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == ' ')
            v = atof(line + strlen(name) + 1);
    free(text);
    return v;
}

static void test_retries_dead_letters_and_commits(void)
{
    rd_kafka_t *p = itest_producer();
    const char *topic = getenv("RUTH_TOPIC_INFERENCE");
    for (int i = 0; i < N_MSGS; i++) {
        char key[16], val[32];
        snprintf(key, sizeof key, "cam-%d", i % 7);
        snprintf(val, sizeof val, "%s-%d", i % BAD_EVERY == 0 ? "bad" : "ok", i);
        rd_kafka_headers_t *h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, "origin", -1, "test", -1);
        if (i % BAD_EVERY == 0) { /* a producer's forged reasons come first */
            rd_kafka_header_add(h, "ruth.error.code", -1, "FORGED", -1);
            rd_kafka_header_add(h, "ruth.error.stage", -1, "forged", -1);
        }
        rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
                          RD_KAFKA_V_VALUE(val, strlen(val)),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                          RD_KAFKA_V_END);
    }
    CHECK(rd_kafka_flush(p, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);

    char group[160];
    snprintf(group, sizeof group, "%s.lib", getenv("RUTH_WORKER_GROUP"));
    static client c;
    c.retries_left = 2;
    c.stop_at = itest_now() + 60; /* a bound, never reached when all is well */
    metrics *reg = metrics_new();
    CHECK(run_member(&c, reg, group) == 0);

    CHECK_EQ_INT(c.processed_ok, N_MSGS - N_MSGS / BAD_EVERY);
    int twice = 0;
    for (int i = 0; i < N_MSGS; i++)
        twice += c.seen[i] > 1;
    CHECK_EQ_INT(twice, 0);
    CHECK(c.batches > 2);
    CHECK_EQ_INT(c.ends, c.batches - 2); /* one end per batch, after its last attempt */
    CHECK(metric_named(reg, "ruth_test_batch_retries_total") >= 2);
    CHECK_EQ_INT((long long)metric_named(reg, "ruth_test_messages_consumed_total"), N_MSGS);
    metrics_destroy(reg);

    dlq_seen d = {0};
    itest_consume(getenv("RUTH_TOPIC_DLQ"), 3, on_dlq, &d);
    CHECK_EQ_INT(d.n, N_MSGS / BAD_EVERY);
    CHECK_EQ_INT(d.bytes_ok, N_MSGS / BAD_EVERY);
    CHECK_EQ_INT(d.headers_ok, N_MSGS / BAD_EVERY);
    CHECK_EQ_INT(d.forged_moved, N_MSGS / BAD_EVERY);

    CHECK_EQ_INT(group_lag(group), 0);

    /* A new member of the same group has nothing left to do. */
    static client again;
    again.stop_at = itest_now() + 12;
    reg = metrics_new();
    CHECK(run_member(&again, reg, group) == 0);
    CHECK_EQ_INT(again.batches, 0);
    metrics_destroy(reg);
}

/* ---- a dead letter larger than the DLQ topic accepts ---- */

#define BIG_BYTES 400000
#define BIG_DLQ_LIMIT "200000" /* the DLQ topic's max.message.bytes */

/* Create `topic` with `partitions` and, when max_bytes is set, its
 * max.message.bytes; true once it exists. */
static bool create_topic(const char *topic, int partitions, const char *max_bytes)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", getenv("KAFKA_BOOTSTRAP_SERVERS"), err,
                      sizeof err);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, 1, err, sizeof err);
    if (max_bytes)
        rd_kafka_NewTopic_set_config(nt, "max.message.bytes", max_bytes);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    bool ok = false;
    if (ev) {
        const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
        size_t n = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
        ok = n == 1 &&
             (rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_NO_ERROR ||
              rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_destroy(rk);
    return ok;
}

typedef struct big_client {
    int ok; /* "ok" messages processed */
    int batches;
    double stop_at;
} big_client;

static kafka_consumer_verdict big_on_batch(void *arg, kafka_consumer *kc,
                                           const kafka_consumer_batch *b)
{
    big_client *c = arg;
    c->batches++;
    if (itest_now() > c->stop_at) { /* retried this long: stuck, give up */
        shutdown_request();
        return KAFKA_CONSUMER_RETRY;
    }
    for (size_t i = 0; i < b->n; i++) {
        const rd_kafka_message_t *m = b->msgs[i];
        if (m->len >= 3 && memcmp(m->payload, "big", 3) == 0) {
            if (kafka_consumer_dead_letter(kc, m, "decode", "TEST_BIG", "a big test payload"))
                return KAFKA_CONSUMER_RETRY;
        }
    }
    if (kafka_consumer_settle_dead_letters(kc))
        return KAFKA_CONSUMER_RETRY;
    for (size_t i = 0; i < b->n; i++)
        if (b->msgs[i]->len >= 2 && memcmp(b->msgs[i]->payload, "ok", 2) == 0)
            c->ok++;
    if (c->ok >= 1)
        shutdown_request();
    return KAFKA_CONSUMER_DONE;
}

static void big_on_idle(void *arg, kafka_consumer *kc)
{
    (void)kc;
    if (itest_now() > ((big_client *)arg)->stop_at)
        shutdown_request();
}

typedef struct big_dlq {
    int n, len_ok, headers_ok;
    char sha[65];
} big_dlq;

static void on_big_dlq(const rd_kafka_message_t *m, void *arg)
{
    big_dlq *d = arg;
    d->n++;
    d->len_ok += m->len > 0 && m->len < BIG_BYTES && memcmp(m->payload, "big", 3) == 0;
    char size[16];
    snprintf(size, sizeof size, "%d", BIG_BYTES);
    d->headers_ok += header_is(m, "ruth.error.code", "TEST_BIG") &&
                     header_is(m, "ruth.error.original_size", size) &&
                     header_is(m, "ruth.error.original_sha256", d->sha) &&
                     header_is(m, "origin", "test");
}

static void test_too_large_dead_letter_goes_truncated(void)
{
    char topic[200], dlq[200], group[200];
    snprintf(topic, sizeof topic, "%s.big", getenv("RUTH_TOPIC_INFERENCE"));
    snprintf(dlq, sizeof dlq, "%s.big", getenv("RUTH_TOPIC_DLQ"));
    snprintf(group, sizeof group, "%s.big", getenv("RUTH_WORKER_GROUP"));
    CHECK(create_topic(topic, 1, NULL));
    CHECK(create_topic(dlq, 1, BIG_DLQ_LIMIT));

    /* Incompressible (lz4 cannot bring it under the DLQ's limit). */
    unsigned char *big = xmalloc(BIG_BYTES);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < BIG_BYTES; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        big[i] = (unsigned char)x;
    }
    memcpy(big, "big", 3);
    rd_kafka_t *p = itest_producer();
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "origin", -1, "test", -1);
    CHECK(rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY("cam-big", 7),
                            RD_KAFKA_V_VALUE(big, BIG_BYTES),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
                            RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR);
    itest_produce(p, topic, "cam-ok", "ok-after", 8); /* must not be stuck behind it */
    CHECK(rd_kafka_flush(p, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);

    big_dlq d = {0};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(big, BIG_BYTES, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(d.sha + 2 * i, 3, "%02x", md[i]);
    free(big);

    static big_client c;
    c.stop_at = itest_now() + 25; /* a bound: stuck retrying means failure */
    kafka_consumer_conf conf = {
        .bootstrap_servers = getenv("KAFKA_BOOTSTRAP_SERVERS"),
        .client_id = "ruth-test",
        .group = group,
        .topic = topic,
        .dlq_topic = dlq,
        .batch_max = 100,
        .batch_ms = 20,
        .max_message_bytes = 1048576,
        .reg = metrics_new(),
        .metric_prefix = "ruth_test",
        .on_batch = big_on_batch,
        .on_idle = big_on_idle,
        .idle_every_ms = 200,
        .arg = &c,
    };
    char err[512];
    shutdown_install(); /* g_run = 1 again after the first test's stop */
    kafka_consumer *kc = kafka_consumer_new(&conf, err, sizeof err);
    CHECK(kc != NULL);
    if (!kc)
        return;
    CHECK(kafka_consumer_run(kc) == 0);
    kafka_consumer_destroy(kc);
    metrics_destroy(conf.reg);
    CHECK_EQ_INT(c.ok, 1);

    itest_consume(dlq, 3, on_big_dlq, &d);
    CHECK_EQ_INT(d.n, 1);
    CHECK_EQ_INT(d.len_ok, 1);
    CHECK_EQ_INT(d.headers_ok, 1);
}

/* Issue 14, item 1: a batch that keeps failing turns /ready false (with the
 * reason) and shows in <prefix>_batch_stalled_seconds; once it is done,
 * both recover. */
typedef struct stall_client {
    metrics *reg;
    double first_attempt;
    double stalled_after; /* seconds from the first attempt to "not ready" */
    double gauge_seen;    /* the stall gauge while not ready */
    char reason[256];
    int ready_after_done; /* 1 ready, 0 not, -1 not checked */
    double stop_at;
} stall_client;

static kafka_consumer_verdict stall_on_batch(void *arg, kafka_consumer *kc,
                                             const kafka_consumer_batch *b)
{
    stall_client *c = arg;
    if (b->attempt == 0)
        c->first_attempt = itest_now();
    char reason[256] = "";
    if (kafka_consumer_ready(kc, reason, sizeof reason))
        return itest_now() - c->first_attempt > 20 ? KAFKA_CONSUMER_DONE : KAFKA_CONSUMER_RETRY;
    c->stalled_after = itest_now() - c->first_attempt;
    c->gauge_seen = metric_named(c->reg, "ruth_test_batch_stalled_seconds");
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    return KAFKA_CONSUMER_DONE;
}

static void stall_on_idle(void *arg, kafka_consumer *kc)
{
    stall_client *c = arg;
    char reason[256];
    if (c->stalled_after > 0 && c->ready_after_done < 0) {
        c->ready_after_done = kafka_consumer_ready(kc, reason, sizeof reason);
        shutdown_request();
    }
    if (itest_now() > c->stop_at)
        shutdown_request();
}

static void test_stalled_batch_turns_not_ready(void)
{
    char topic[200], group[200];
    snprintf(topic, sizeof topic, "%s.stall", getenv("RUTH_TOPIC_INFERENCE"));
    snprintf(group, sizeof group, "%s.stall", getenv("RUTH_WORKER_GROUP"));
    CHECK(create_topic(topic, 1, NULL));
    rd_kafka_t *p = itest_producer();
    itest_produce(p, topic, "cam-stall", "stuck-1", 7);
    CHECK(rd_kafka_flush(p, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);

    static stall_client c;
    c.reg = metrics_new();
    c.ready_after_done = -1;
    c.stop_at = itest_now() + 40;
    kafka_consumer_conf conf = {
        .bootstrap_servers = getenv("KAFKA_BOOTSTRAP_SERVERS"),
        .client_id = "ruth-test",
        .group = group,
        .topic = topic,
        .dlq_topic = getenv("RUTH_TOPIC_DLQ"),
        .batch_max = 10,
        .batch_ms = 20,
        .stall_sec = 1,
        .reg = c.reg,
        .metric_prefix = "ruth_test",
        .on_batch = stall_on_batch,
        .on_idle = stall_on_idle,
        .idle_every_ms = 100,
        .arg = &c,
    };
    char err[512];
    shutdown_install();
    kafka_consumer *kc = kafka_consumer_new(&conf, err, sizeof err);
    CHECK(kc != NULL);
    if (!kc)
        return;
    ruth_config cfg; /* the stack's topics, as a worker checks them at start */
    CHECK_MSG(config_load(CFG_WORKER, &cfg, err, sizeof err) == 0, "%s", err);
    CHECK(kafka_consumer_wait_topics(kc, &cfg) == 0);
    config_free(&cfg);
    CHECK(kafka_consumer_run(kc) == 0);
    double gauge_after = metric_named(c.reg, "ruth_test_batch_stalled_seconds");
    kafka_consumer_destroy(kc);
    metrics_destroy(c.reg);
    CHECK_MSG(c.stalled_after > 1 && c.stalled_after < 10, "not ready after %.1f s",
              c.stalled_after);
    CHECK_MSG(strstr(c.reason, "stalled") != NULL, "reason: %s", c.reason);
    CHECK_MSG(c.gauge_seen > 1, "gauge %.2f while stalled", c.gauge_seen);
    CHECK_EQ_INT(c.ready_after_done, 1);
    CHECK_MSG(gauge_after == 0, "gauge %.2f after the batch was done", gauge_after);
}

int main(void)
{
    log_init("test_kafka_consumer", LOG_WARN, true);
    itest_setup("kcons", PARTITIONS);
    TEST_RUN(test_retries_dead_letters_and_commits);
    TEST_RUN(test_too_large_dead_letter_goes_truncated);
    TEST_RUN(test_stalled_batch_turns_not_ready);
    itest_teardown();
    return TEST_EXIT();
}
