/* kafka_admin.c - topic creation and checks; see kafka_admin.h. */
#include "kafka_admin.h"

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

size_t kafka_admin_topics_from_config(const ruth_config *cfg,
                                      kafka_topic_spec specs[KAFKA_ADMIN_MAXTOPICS])
{
    const kafka_topic_spec all[KAFKA_ADMIN_NTOPICS] = {
        {cfg->topic_inference, cfg->partitions_inference, cfg->topic_replication, 0},
        {cfg->topic_events, cfg->partitions_events, cfg->topic_replication, 0},
        {cfg->topic_violations, cfg->partitions_violations, cfg->topic_replication, 0},
        {cfg->topic_evidence, cfg->partitions_evidence, cfg->topic_replication, 0},
        {cfg->topic_dlq, cfg->partitions_dlq, cfg->topic_replication,
         cfg->max_message_bytes + KAFKA_DLQ_HEADER_ROOM},
    };
    memcpy(specs, all, sizeof all);
    if (!cfg->topic_deepstream || !*cfg->topic_deepstream)
        return KAFKA_ADMIN_NTOPICS;
    specs[KAFKA_ADMIN_NTOPICS] = (kafka_topic_spec){
        cfg->topic_deepstream, cfg->partitions_inference, cfg->topic_replication, 0};
    return KAFKA_ADMIN_MAXTOPICS;
}

rd_kafka_t *kafka_admin_new(const char *bootstrap, const char *client_id, char *errstr,
                            size_t errsz)
{
    rd_kafka_conf_t *conf = kafka_conf_new(bootstrap, client_id, errstr, errsz);
    if (!conf)
        return NULL;
    char rderr[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rderr, sizeof rderr);
    if (!rk) {
        snprintf(errstr, errsz, "cannot create Kafka admin client: %s", rderr);
        rd_kafka_conf_destroy(conf); /* rd_kafka_new() only takes it on success */
        return NULL;
    }
    return rk; /* conf now owned by rk */
}

/* Partition count of `topic` in `md`: 0 when absent. */
static int md_partitions(const struct rd_kafka_metadata *md, const char *topic)
{
    for (int i = 0; i < md->topic_cnt; i++) {
        const struct rd_kafka_metadata_topic *t = &md->topics[i];
        if (strcmp(t->topic, topic) != 0)
            continue;
        if (t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || t->partition_cnt <= 0)
            return 0;
        return t->partition_cnt;
    }
    return 0;
}

/* All topics' metadata (all_topics = 1 never triggers broker-side
 * auto-creation, which asking for one topic by name could). */
static const struct rd_kafka_metadata *fetch_metadata(rd_kafka_t *rk, int timeout_ms, char *errstr,
                                                      size_t errsz)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms > 0 ? timeout_ms : 1);
    if (err) {
        snprintf(errstr, errsz, "cannot fetch Kafka metadata: %s", rd_kafka_err2str(err));
        return NULL;
    }
    return md;
}

int kafka_admin_topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                                 size_t errsz)
{
    const struct rd_kafka_metadata *md = fetch_metadata(rk, timeout_ms, errstr, errsz);
    if (!md)
        return -1;
    int n = md_partitions(md, topic);
    rd_kafka_metadata_destroy(md);
    return n;
}

int kafka_admin_check_topics(rd_kafka_t *rk, const kafka_topic_spec *specs, size_t n,
                             int timeout_ms, char *errstr, size_t errsz)
{
    const struct rd_kafka_metadata *md = fetch_metadata(rk, timeout_ms, errstr, errsz);
    if (!md)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int parts = md_partitions(md, specs[i].name);
        if (parts == 0) {
            snprintf(errstr, errsz,
                     "Kafka topic %s does not exist; create the topics with `ruth-migrate topics`",
                     specs[i].name);
            rc = -1;
            break;
        }
        if (specs[i].partitions > 0 && parts != specs[i].partitions)
            log_warn("Kafka topic %s has %d partitions, the configuration says %d; existing "
                     "topics are not changed (adding partitions would move cameras between "
                     "partitions)",
                     specs[i].name, parts, specs[i].partitions);
    }
    rd_kafka_metadata_destroy(md);
    return rc;
}

/* Send one CreateTopics request and read the per-topic results. */
static int create_missing(rd_kafka_t *rk, const kafka_topic_spec *specs, size_t n, int timeout_ms,
                          int *created, char *errstr, size_t errsz)
{
    int rc = -1;
    char rderr[512];
    rd_kafka_NewTopic_t **nt = xcalloc(n, sizeof *nt);
    rd_kafka_AdminOptions_t *opts = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;

    for (size_t i = 0; i < n; i++) {
        nt[i] = rd_kafka_NewTopic_new(specs[i].name, specs[i].partitions, specs[i].replication,
                                      rderr, sizeof rderr);
        if (!nt[i]) {
            snprintf(errstr, errsz, "Kafka topic %s: %s", specs[i].name, rderr);
            goto failed;
        }
        if (specs[i].max_message_bytes > 0) {
            char num[32];
            snprintf(num, sizeof num, "%d", specs[i].max_message_bytes);
            rd_kafka_NewTopic_set_config(nt[i], "max.message.bytes", num);
        }
    }
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    /* operation_timeout: the broker waits for the topics to be created on the
     * controller before answering, so success means they exist. */
    if (rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, rderr, sizeof rderr) ||
        rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, rderr, sizeof rderr)) {
        snprintf(errstr, errsz, "Kafka admin options: %s", rderr);
        goto failed;
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, n, opts, q);
    ev = rd_kafka_queue_poll(q, timeout_ms + 5000);
    if (!ev) {
        snprintf(errstr, errsz, "Kafka CreateTopics: no answer within %d ms", timeout_ms + 5000);
        goto failed;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errsz, "Kafka CreateTopics failed: %s", rd_kafka_event_error_string(ev));
        goto failed;
    }
    size_t cnt = 0;
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    const rd_kafka_topic_result_t **tr =
        res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
    if (!res) {
        snprintf(errstr, errsz, "Kafka CreateTopics: unexpected event %s", rd_kafka_event_name(ev));
        goto failed;
    }
    for (size_t i = 0; i < cnt; i++) {
        const char *name = rd_kafka_topic_result_name(tr[i]);
        rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[i]);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (created)
                (*created)++;
            log_info("created Kafka topic %s", name);
        } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            log_info("Kafka topic %s already exists", name);
        } else {
            const char *why = rd_kafka_topic_result_error_string(tr[i]);
            snprintf(errstr, errsz, "cannot create Kafka topic %s: %s (%s)", name,
                     why && *why ? why : rd_kafka_err2str(err), rd_kafka_err2name(err));
            goto failed;
        }
    }
    rc = 0;

failed:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    for (size_t i = 0; i < n; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    free(nt);
    return rc;
}

int kafka_admin_create_topics(rd_kafka_t *rk, const kafka_topic_spec *specs, size_t n,
                              int timeout_ms, int *created, char *errstr, size_t errsz)
{
    if (created)
        *created = 0;
    if (n == 0)
        return 0;
    int64_t deadline = clock_mono_ms() + timeout_ms;
    if (create_missing(rk, specs, n, timeout_ms, created, errstr, errsz) != 0)
        return -1;

    /* Other brokers learn about new topics shortly after the controller. */
    for (;;) {
        int left = (int)(deadline - clock_mono_ms());
        const struct rd_kafka_metadata *md =
            fetch_metadata(rk, left > 1000 ? left : 1000, errstr, errsz);
        if (!md)
            return -1;
        const char *missing = NULL;
        for (size_t i = 0; i < n && !missing; i++)
            if (md_partitions(md, specs[i].name) == 0)
                missing = specs[i].name;
        if (!missing) {
            for (size_t i = 0; i < n; i++) {
                int parts = md_partitions(md, specs[i].name);
                if (parts != specs[i].partitions)
                    log_warn("Kafka topic %s has %d partitions, the configuration says %d; "
                             "existing topics are not changed",
                             specs[i].name, parts, specs[i].partitions);
            }
        }
        rd_kafka_metadata_destroy(md);
        if (!missing)
            return 0;
        if (clock_mono_ms() >= deadline) {
            snprintf(errstr, errsz,
                     "Kafka topic %s was created but is not in the cluster metadata after %d ms",
                     missing, timeout_ms);
            return -1;
        }
        sleep_ms(200);
    }
}

int kafka_admin_wait_topics(rd_kafka_t *rk, const kafka_topic_spec *specs, size_t n,
                            atomic_bool *ok)
{
    double next_log = 0;
    while (!shutdown_requested()) {
        char err[1024];
        if (kafka_admin_check_topics(rk, specs, n, 5000, err, sizeof err) == 0) {
            atomic_store(ok, true);
            return 0;
        }
        if (clock_mono_s() >= next_log) {
            log_warn("%s; not ready, checking again", err);
            next_log = clock_mono_s() + 30;
        }
        for (int i = 0; i < 10 && !shutdown_requested(); i++)
            rd_kafka_poll(rk, 100); /* serve the producer while waiting */
    }
    return -1;
}

int kafka_admin_topic_config(rd_kafka_t *rk, const char *topic, const char *name, char *out,
                             size_t outsz, int timeout_ms, char *errstr, size_t errsz)
{
    int rc = -1;
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_AdminOptions_t *opts =
        rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, NULL, 0);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DescribeConfigs(rk, &res, 1, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 1000);
    snprintf(errstr, errsz, "DescribeConfigs %s: no answer", topic);
    const rd_kafka_DescribeConfigs_result_t *dr =
        ev ? rd_kafka_event_DescribeConfigs_result(ev) : NULL;
    if (ev && rd_kafka_event_error(ev))
        snprintf(errstr, errsz, "DescribeConfigs %s: %s", topic, rd_kafka_event_error_string(ev));
    size_t nres = 0, ncfg = 0;
    const rd_kafka_ConfigResource_t **rs =
        dr ? rd_kafka_DescribeConfigs_result_resources(dr, &nres) : NULL;
    const rd_kafka_ConfigEntry_t **entries =
        nres ? rd_kafka_ConfigResource_configs(rs[0], &ncfg) : NULL;
    for (size_t i = 0; i < ncfg; i++) {
        const char *value = rd_kafka_ConfigEntry_value(entries[i]);
        if (strcmp(rd_kafka_ConfigEntry_name(entries[i]), name) == 0 && value) {
            snprintf(out, outsz, "%s", value);
            rc = 0;
        }
    }
    if (dr && rc != 0 && nres)
        snprintf(errstr, errsz, "DescribeConfigs %s: no %s (%s)", topic, name,
                 rd_kafka_err2str(rd_kafka_ConfigResource_error(rs[0])));
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_ConfigResource_destroy(res);
    return rc;
}
