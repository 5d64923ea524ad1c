/* test_pipeline_smoke.c - the whole path once, short: inference results in
 * (Avro single-object and JSON, one invalid), ruth-worker stores events and
 * opens a violation, Event and ViolationChange messages come out on their
 * topics, the invalid one on the DLQ, and ruth-api serves the violation
 * and the events.
 *
 * Short on purpose: scripts/test also runs it with the arm64 ruth-worker
 * and ruth-api under qemu-user (RUTH_BIN_DIR pointing at wrappers that run
 * them emulated) against the same x86_64 Kafka and PostgreSQL, so the
 * results this x86_64 program encodes are decoded on arm64 and the
 * messages arm64 encodes are decoded here. */
#include "itest.h"

#include "api_auth.h"
#include "codec.h"

#include <curl/curl.h>
#include <jansson.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define NRESULTS 12 /* valid ones; cam-fall gets NRESULTS / 2, cam-low the rest */

static codec *cx;
static int port;
static char token[1024];

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    buf_append(arg, p, sz * n);
    return sz * n;
}

/* GET `path` on ruth-api with the viewer token: status, parsed body. */
static long api_get(const char *path, json_t **body)
{
    char url[512], auth[1100];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    buf b = {0};
    CURL *c = curl_easy_init();
    struct curl_slist *hs = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    *body = b.len ? json_loadb((const char *)b.data, b.len, 0, NULL) : NULL;
    buf_free(&b);
    return status;
}

static void produce_results(void)
{
    rd_kafka_t *prod = itest_producer();
    const char *topic = getenv("RUTH_TOPIC_INFERENCE");
    int64_t ts = itest_wall_us() - 30LL * 1000000;
    for (int i = 0; i < NRESULTS; i++) {
        bool fall = i < NRESULTS / 2;
        const char *cam = fall ? "cam-fall" : "cam-low";
        char json[512];
        int n = snprintf(json, sizeof json,
                         "{\"camera_id\":\"%s\",\"model_id\":\"m1\",\"timestamp\":%lld,"
                         "\"event_type\":\"%s\",\"confidence\":%s,"
                         "\"bounding_boxes\":[{\"x\":1.5,\"y\":2,\"width\":30,\"height\":40.25}]}",
                         cam, (long long)(ts + i * 1000), fall ? "fall_detected" : "ppe_violation",
                         fall ? "0.9" : "0.3");
        if (i % 2) { /* every other one as Avro single-object, encoded here */
            inference_result r = {0};
            codec_error err;
            buf avro = {0};
            CHECK_MSG(codec_decode_inference(cx, json, (size_t)n, &r, &err) == 0, "%s",
                      err.message);
            CHECK(codec_encode_inference(cx, CODEC_FMT_SINGLE_OBJECT, 0, &r, &avro, &err) == 0);
            itest_produce(prod, topic, cam, avro.data, avro.len);
            buf_free(&avro);
            inference_result_free(&r);
        } else {
            itest_produce(prod, topic, cam, json, (size_t)n);
        }
    }
    static const char bad[] = "{\"camera_id\":\"cam-fall\",\"model_id\":\"m1\"}"; /* no timestamp */
    itest_produce(prod, topic, "cam-fall", bad, sizeof bad - 1);
    rd_kafka_flush(prod, 10000);
    rd_kafka_destroy(prod);
}

typedef struct seen {
    int events, decoded, opened;
} seen;

static void on_event(const rd_kafka_message_t *m, void *arg)
{
    seen *s = arg;
    s->events++;
    const unsigned char *p = m->payload;
    s->decoded += m->len > 10 && p[0] == 0xC3 && p[1] == 0x01;
}

static void on_change(const rd_kafka_message_t *m, void *arg)
{
    seen *s = arg;
    violation_change_msg v;
    void *arena = NULL;
    codec_error err;
    if (codec_decode_violation_change(cx, m->payload, m->len, &v, &arena, &err) == 0) {
        s->decoded++;
        s->opened += !strcmp(v.change, "opened") && !strcmp(v.violation.camera_id, "cam-fall") &&
                     !strcmp(v.violation.type, "fall_detected");
    }
    codec_arena_free(arena);
}

static void results_in_events_and_violations_out(void)
{
    produce_results();
    /* Slow under emulation: generous waits, exact counts. */
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM events", NRESULTS, 120), NRESULTS);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM violations WHERE camera_id = 'cam-fall'"
             " AND type = 'fall_detected' AND event_count = %d",
             NRESULTS / 2);
    CHECK_EQ_INT(itest_wait_query(sql, 1, 60), 1);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violations WHERE camera_id = 'cam-low'"), 0);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE bounding_boxes->0->>'height'"
                             " = '40.25' AND confidence IN (0.9, 0.3)"),
                 NRESULTS);
    seen ev = {0}, ch = {0};
    itest_consume(getenv("RUTH_TOPIC_EVENTS"), 3, on_event, &ev);
    CHECK_EQ_INT(ev.events, NRESULTS);
    CHECK_EQ_INT(ev.decoded, NRESULTS);
    itest_consume(getenv("RUTH_TOPIC_VIOLATIONS"), 3, on_change, &ch);
    CHECK(ch.decoded >= 1);
    CHECK_EQ_INT(ch.opened, 1);
    CHECK_EQ_INT(itest_consume(getenv("RUTH_TOPIC_DLQ"), 3, NULL, NULL), 1);
}

static void api_answers(void)
{
    json_t *b = NULL;
    CHECK_EQ_INT(api_get("/api/v1/violations?camera_id=cam-fall", &b), 200);
    json_t *list = json_object_get(b, "violations");
    CHECK_EQ_INT(json_array_size(list), 1);
    json_t *v = json_array_get(list, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(v, "camera_id")), "cam-fall");
    CHECK_EQ_STR(json_string_value(json_object_get(v, "type")), "fall_detected");
    CHECK_EQ_STR(json_string_value(json_object_get(v, "status")), "open");
    json_decref(b);
    CHECK_EQ_INT(api_get("/api/v1/events?camera_id=cam-low", &b), 200);
    CHECK_EQ_INT(json_array_size(json_object_get(b, "events")), NRESULTS - NRESULTS / 2);
    json_decref(b);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("pipe", 2);
    char err[256];
    cx = codec_new(NULL, err, sizeof err);
    if (!cx) {
        fprintf(stderr, "codec: %s\n", err);
        return 1;
    }
    itest_api_env(SECRET);
    setenv("RUTH_API_CACHE_MS", "0", 1);
    itest_token(token, sizeof token, SECRET, "vera", ROLE_VIEWER);
    char alog[256], wlog[256];
    snprintf(alog, sizeof alog, "/tmp/%s-api.log", itest_db_name);
    snprintf(wlog, sizeof wlog, "/tmp/%s-worker.log", itest_db_name);
    pid_t api = itest_spawn("ruth-api", NULL, alog);
    pid_t w = itest_spawn("ruth-worker", NULL, wlog);
    double start = itest_now();
    while ((port = itest_log_int(alog, "\"api_port\":")) < 0 && itest_now() - start < 60)
        usleep(100 * 1000);
    if (port <= 0) {
        fprintf(stderr, "ruth-api did not start (log: %s)\n", alog);
        testlib_failures++;
    } else {
        TEST_RUN(results_in_events_and_violations_out);
        TEST_RUN(api_answers);
    }
    kill(w, SIGTERM);
    kill(api, SIGTERM);
    itest_stopped(w, 60, "ruth-worker", NULL);
    itest_stopped(api, 30, "ruth-api", NULL);
    codec_destroy(cx);
    if (!testlib_failures)
        itest_teardown();
    else
        fprintf(stderr, "database %s kept; logs %s %s\n", itest_db_name, alog, wlog);
    curl_global_cleanup();
    return TEST_EXIT();
}
