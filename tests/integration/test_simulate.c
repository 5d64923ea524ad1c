/* test_simulate: ruth-simulate against the real Kafka of the dev stack.
 *
 * Each case creates topics of its own (ruth-test-sim-<pid>-<n>), runs the
 * ruth-simulate binary from RUTH_BIN_DIR with --count 2000 --fps 0 --seed 7
 * --malformed-fraction 0.05, reads the topic back and checks: exactly 2000
 * messages; keys are the camera ids; the number of malformed messages (those
 * with the ruth-simulate-malformed header) is the one in the summary; good
 * messages are valid inference results in per-camera frame order, malformed
 * ones are not; the same seed gives the same results again. */
#include "codec.h"
#include "kafka.h"
#include "kafka_admin.h"
#include "log.h"
#include "testlib.h"
#include "xmalloc.h"

#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 30000
#define COUNT 2000
#define CAMERAS 8
#define MALFORMED_HEADER "ruth-simulate-malformed"

static const char *g_bootstrap;
static rd_kafka_t *g_admin;
static int g_topic_seq;

typedef struct got_msg {
    char key[64];
    int32_t partition;
    unsigned char *val;
    size_t len;
    char malformed[32]; /* header value, "" when good */
} got_msg;

typedef struct run_result {
    int status;         /* exit status of ruth-simulate */
    char summary[4096]; /* the summary JSON log line */
} run_result;

static void new_topic(char *name, size_t sz, int partitions)
{
    snprintf(name, sz, "ruth-test-sim-%d-%d", (int)getpid(), ++g_topic_seq);
    kafka_topic_spec spec = {name, partitions, 1, 0};
    char err[512] = "";
    if (kafka_admin_create_topics(g_admin, &spec, 1, TIMEOUT_MS, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "cannot create topic %s: %s\n", name, err);
        exit(1);
    }
}

static void delete_topic(const char *name)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(name);
    rd_kafka_queue_t *q = rd_kafka_queue_new(g_admin);
    rd_kafka_DeleteTopics(g_admin, &dt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
}

/* Run ruth-simulate with `args` (NULL-terminated) plus --topic; stdout (the
 * JSON log) is scanned for the summary line. */
static void run_simulate(const char *topic, const char *const *args, run_result *res)
{
    char *bin = xasprintf("%s/ruth-simulate", testlib_env("RUTH_BIN_DIR"));
    char outpath[] = "/tmp/test_simulate_out_XXXXXX";
    int fd = mkstemp(outpath);
    if (fd < 0) {
        perror("mkstemp");
        exit(1);
    }
    const char *argv[32];
    size_t n = 0;
    argv[n++] = bin;
    for (size_t i = 0; args[i] && n < 28; i++)
        argv[n++] = args[i];
    argv[n++] = "--topic";
    argv[n++] = topic;
    argv[n++] = "--quiet";
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    res->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    res->summary[0] = '\0';
    FILE *f = fdopen(fd, "r");
    rewind(f);
    char line[4096];
    while (fgets(line, sizeof line, f))
        if (strstr(line, "\"summary\":true"))
            snprintf(res->summary, sizeof res->summary, "%s", line);
    fclose(f);
    unlink(outpath);
    free(bin);
}

static long long summary_field(const run_result *res, const char *name)
{
    json_error_t jerr;
    json_t *o = json_loads(res->summary, 0, &jerr);
    long long v = -1;
    if (o && json_is_integer(json_object_get(o, name)))
        v = json_integer_value(json_object_get(o, name));
    json_decref(o);
    return v;
}

/* Read every message of `topic` (all partitions, from the beginning, until
 * end of each partition). Returns how many were read into *out. */
static size_t consume_all(const char *topic, got_msg **out)
{
    char err[512];
    rd_kafka_conf_t *conf = kafka_conf_new(g_bootstrap, "test-simulate", err, sizeof err);
    if (!conf || !kafka_conf_set(conf, "enable.partition.eof", "true", err, sizeof err)) {
        fprintf(stderr, "consumer conf: %s\n", err);
        exit(1);
    }
    char group[128];
    snprintf(group, sizeof group, "test-simulate-%d", (int)getpid());
    rd_kafka_t *rk = kafka_group_member_new(conf, group, err, sizeof err);
    if (!rk) {
        fprintf(stderr, "consumer: %s\n", err);
        exit(1);
    }
    int parts = kafka_admin_topic_partitions(g_admin, topic, TIMEOUT_MS, err, sizeof err);
    rd_kafka_topic_partition_list_t *tl = rd_kafka_topic_partition_list_new(parts);
    for (int p = 0; p < parts; p++)
        rd_kafka_topic_partition_list_add(tl, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, tl);
    rd_kafka_topic_partition_list_destroy(tl);

    size_t n = 0, cap = COUNT + 64;
    got_msg *msgs = xcalloc(cap, sizeof *msgs);
    int eof = 0;
    time_t deadline = time(NULL) + 60;
    while (eof < parts && time(NULL) < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof++;
        } else if (!m->err) {
            if (n == cap) {
                cap *= 2;
                msgs = xrealloc(msgs, cap * sizeof *msgs);
            }
            got_msg *g = &msgs[n++];
            memset(g, 0, sizeof *g);
            snprintf(g->key, sizeof g->key, "%.*s", (int)m->key_len, (const char *)m->key);
            g->partition = m->partition;
            g->len = m->len;
            g->val = xmalloc(m->len + 1);
            if (m->len)
                memcpy(g->val, m->payload, m->len);
            g->val[m->len] = '\0';
            rd_kafka_headers_t *hdrs = NULL;
            const void *hv;
            size_t hl;
            if (!rd_kafka_message_headers(m, &hdrs) &&
                !rd_kafka_header_get_last(hdrs, MALFORMED_HEADER, &hv, &hl))
                snprintf(g->malformed, sizeof g->malformed, "%.*s", (int)hl, (const char *)hv);
        } else {
            fprintf(stderr, "consume: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    *out = msgs;
    return n;
}

static void free_msgs(got_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(msgs[i].val);
    free(msgs);
}

/* Is this JSON value a valid InferenceResult (ARCHITECTURE §4, §5.1)?
 * Fills *frame_id, result_id. */
/* Valid means: the shared codec (what ruth-worker uses) decodes it, and its
 * capture time is within a day of now. */
static codec *sim_codec;

static bool result_valid(const got_msg *g, long long *frame_id, char *result_id)
{
    inference_result r;
    codec_error err;
    if (codec_decode_inference(sim_codec, g->val, g->len, &r, &err) != 0)
        return false;
    codec_error skew;
    bool ok = codec_check_skew(r.timestamp_us, (int64_t)time(NULL) * 1000000, 86400, &skew) == 0;
    *frame_id = r.frame_id ? atoll(r.frame_id) : 0;
    snprintf(result_id, 37, "%s", r.result_id ? r.result_id : "");
    inference_result_free(&r);
    return ok;
}

typedef struct check_out {
    size_t good, bad;
    char (*rids)[37]; /* result ids of good messages per camera, in order */
} check_out;

static void check_topic(const char *topic, const run_result *res, check_out *co)
{
    got_msg *msgs = NULL;
    size_t n = consume_all(topic, &msgs);
    CHECK_EQ_INT(n, COUNT);
    long long last_frame[CAMERAS + 1] = {0};
    co->good = co->bad = 0;
    co->rids = xcalloc(COUNT, sizeof *co->rids);
    int32_t cam_partition[CAMERAS + 1];
    for (int i = 0; i <= CAMERAS; i++)
        cam_partition[i] = -1;
    for (size_t i = 0; i < n; i++) {
        const got_msg *g = &msgs[i];
        int cam = 0;
        CHECK_MSG(sscanf(g->key, "cam-%3d", &cam) == 1 && cam >= 1 && cam <= CAMERAS, "key %s",
                  g->key);
        /* one camera, one partition */
        if (cam_partition[cam] < 0)
            cam_partition[cam] = g->partition;
        CHECK_EQ_INT(g->partition, cam_partition[cam]);
        long long frame = 0;
        char rid[37] = "";
        bool valid = result_valid(g, &frame, rid);
        if (g->malformed[0]) {
            co->bad++;
            CHECK_MSG(!valid, "malformed (%s) message of %s passed validation: %.*s", g->malformed,
                      g->key, (int)g->len, (const char *)g->val);
        } else {
            CHECK_MSG(valid, "good message of %s failed validation: %.*s", g->key, (int)g->len,
                      (const char *)g->val);
            CHECK_MSG(frame > last_frame[cam], "%s frame %lld after %lld", g->key, frame,
                      last_frame[cam]);
            last_frame[cam] = frame;
            CHECK_EQ_INT(strlen(rid), 36);
            memcpy(co->rids[co->good], rid, 37);
            co->good++;
        }
    }
    CHECK_EQ_INT(co->good + co->bad, COUNT);
    CHECK_EQ_INT(summary_field(res, "malformed"), (long long)co->bad);
    /* about 5 %, give or take the draw */
    CHECK_MSG(co->bad > COUNT * 0.03 && co->bad < COUNT * 0.07, "%zu malformed", co->bad);
    free_msgs(msgs, n);
}

static int cmp_rid(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_json_count_keys_and_validity(void)
{
    char t1[128], t2[128];
    new_topic(t1, sizeof t1, 4);
    new_topic(t2, sizeof t2, 4);
    const char *args[] = {
        "--count", "2000",     "--fps", "0", "--seed", "7", "--malformed-fraction",
        "0.05",    "--format", "json",  NULL};
    run_result r1, r2;
    run_simulate(t1, args, &r1);
    run_simulate(t2, args, &r2);
    check_out c1 = {0}, c2 = {0};
    testlib_case_failed = 0;
    check_topic(t1, &r1, &c1);
    if (!testlib_case_failed)
        check_topic(t2, &r2, &c2);
    /* Consumption interleaves partitions differently each time: compare the
     * sets of result ids. */
    bool same = false;
    if (!testlib_case_failed && c1.good == c2.good) {
        qsort(c1.rids, c1.good, sizeof *c1.rids, cmp_rid);
        qsort(c2.rids, c2.good, sizeof *c2.rids, cmp_rid);
        same = !memcmp(c1.rids, c2.rids, c1.good * sizeof *c1.rids);
    }
    free(c1.rids);
    free(c2.rids);
    delete_topic(t1);
    delete_topic(t2);
    if (testlib_case_failed)
        return;
    CHECK_MSG(r1.status == 0, "exit %d", r1.status);
    CHECK_EQ_INT(summary_field(&r1, "sent"), COUNT);
    CHECK_EQ_INT(summary_field(&r1, "acked"), COUNT);
    CHECK_EQ_INT(summary_field(&r1, "failed"), 0);
    CHECK_MSG(same, "the same seed gave different results");
}

static void test_avro_single_object(void)
{
    char t[128];
    new_topic(t, sizeof t, 4);
    const char *args[] = {
        "--count", "2000",     "--fps", "0", "--seed", "8", "--malformed-fraction",
        "0.05",    "--format", "avro",  NULL};
    run_result r;
    run_simulate(t, args, &r);
    check_out c = {0};
    check_topic(t, &r, &c);
    free(c.rids);
    delete_topic(t);
    if (testlib_case_failed)
        return;
    CHECK_MSG(r.status == 0, "exit %d", r.status);
    CHECK_EQ_INT(c.good + c.bad, COUNT);
    CHECK_EQ_INT(c.bad, summary_field(&r, "malformed"));
}

static void test_missing_topic_fails(void)
{
    char name[128];
    snprintf(name, sizeof name, "ruth-test-sim-%d-missing", (int)getpid());
    const char *args[] = {"--count", "10", "--fps", "0", "--format", "json", NULL};
    run_result r;
    run_simulate(name, args, &r);
    CHECK_MSG(r.status != 0, "exit %d for a missing topic", r.status);
    CHECK_EQ_INT(kafka_admin_topic_partitions(g_admin, name, TIMEOUT_MS, (char[256]){0}, 256), 0);
}

static void test_confluent_needs_registry(void)
{
    char t[128];
    new_topic(t, sizeof t, 1);
    unsetenv("SCHEMA_REGISTRY_URL");
    const char *args[] = {"--count", "10", "--fps", "0", "--format", "avro-confluent", NULL};
    run_result r;
    run_simulate(t, args, &r);
    delete_topic(t);
    CHECK_EQ_INT(r.status, 2);
}

int main(void)
{
    g_bootstrap = testlib_env("KAFKA_BOOTSTRAP_SERVERS");
    testlib_env("RUTH_BIN_DIR");
    log_init("test_simulate", LOG_WARN, true);
    char err[512];
    sim_codec = codec_new(NULL, err, sizeof err);
    if (!sim_codec) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    g_admin = kafka_admin_new(g_bootstrap, "test-simulate-admin", err, sizeof err);
    if (!g_admin) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    TEST_RUN(test_json_count_keys_and_validity);
    TEST_RUN(test_avro_single_object);
    TEST_RUN(test_missing_topic_fails);
    TEST_RUN(test_confluent_needs_registry);
    rd_kafka_destroy(g_admin);
    codec_destroy(sim_codec);
    return TEST_EXIT();
}
