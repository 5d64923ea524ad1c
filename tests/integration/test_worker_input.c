/* test_worker_input: what real runtimes send becomes events (and violations)
 * through a real ruth-worker on real Kafka and PostgreSQL.
 *
 * 1. The runtime payloads of the public Ruth AI documents
 *    (tests/fixtures/contract, each citing its section) on the inference
 *    topic: every `event__` one is a row in `events` with its version,
 *    metadata, error code and message kept, filled from the Kafka key, the
 *    record's time and the camera's inference session where the document
 *    leaves them out; the two the documents call invalid are dead-lettered
 *    with their code; the Event messages carry the metadata.
 * 2. NVIDIA DeepStream nvmsgconv payloads (tests/fixtures/deepstream) on
 *    RUTH_TOPIC_DEEPSTREAM, consumed by the same worker: one event per
 *    object, sensors mapped to cameras through vas_device_id (or taken as the
 *    camera id), object types through event_type_map, a person violation
 *    opened, the unparseable ones dead-lettered with a reason, and a
 *    repeated full-schema message (same messageid) stored once.
 * 3. GET /api/v1/events (a real ruth-api) returns the kept metadata. */
#include "ihttp.h"
#include "itest.h"

#include "api_auth.h"

#include <curl/curl.h>
#include <dirent.h>
#include <jansson.h>
#include <time.h>

#define SKEW "315360000" /* the fixtures' capture times are fixed dates */

static char *read_fixture(const char *dir, const char *name, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s/%s", testlib_env("RUTH_FIXTURES"), dir, name);
    char *d = testlib_read_file(path, len);
    if (!d) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    return d;
}

static void produce_fixture(rd_kafka_t *p, const char *topic, const char *dir, const char *name,
                            const char *key)
{
    size_t len;
    char *d = read_fixture(dir, name, &len);
    itest_produce(p, topic, key, d, len);
    free(d);
}

typedef struct dlq_seen {
    int invalid_value, missing_field, json_syntax, other;
} dlq_seen;

static void on_dead_letter(const rd_kafka_message_t *m, void *arg)
{
    dlq_seen *s = arg;
    rd_kafka_headers_t *h;
    const void *v;
    size_t n;
    if (rd_kafka_message_headers(m, &h) || rd_kafka_header_get_last(h, "ruth.error.code", &v, &n)) {
        s->other++;
        return;
    }
    if (n == 13 && !memcmp(v, "INVALID_VALUE", 13))
        s->invalid_value++;
    else if (n == 13 && !memcmp(v, "MISSING_FIELD", 13))
        s->missing_field++;
    else if (n == 11 && !memcmp(v, "JSON_SYNTAX", 11))
        s->json_syntax++;
    else
        s->other++;
}

static bool contains(const void *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp((const char *)hay + i, needle, k))
            return true;
    return false;
}

static void on_event(const rd_kafka_message_t *m, void *arg)
{
    int *with_metadata = arg;
    /* Avro strings are their bytes: the metadata's JSON text is in the value. */
    if (contains(m->payload, m->len, "\"scene_context\":\"corridor\""))
        (*with_metadata)++;
}

static const char *const contract_files[] = {"event__model_output.json",
                                             "event__inference_response_proto3.json",
                                             "event__inference_response_fields.json",
                                             "event__runtime_error.json",
                                             "event__error_message.json",
                                             "dlq_INVALID_VALUE__confidence_outside_range.json",
                                             "dlq_MISSING_FIELD__event_type_missing.json"};

/* Keys: the camera each message belongs to (the topic is keyed by camera). */
static const char *const contract_keys[] = {"cam-contract-1", "cam-contract-2", "cam-contract-3",
                                            "camera_001",     "cam-contract-5", "cam-contract-6",
                                            "cam-contract-7"};

static void contract_payloads_become_events(void)
{
    rd_kafka_t *p = itest_producer();
    for (size_t i = 0; i < sizeof contract_files / sizeof contract_files[0]; i++)
        produce_fixture(p, getenv("RUTH_TOPIC_INFERENCE"), "contract", contract_files[i],
                        contract_keys[i]);
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM events WHERE camera_id LIKE 'cam-contract%'"
                                  " OR camera_id = 'camera_001'",
                                  5, 60),
                 5);
    /* §5.3 model output: camera from the key, model from the session, time
     * from the record, metadata kept. */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-contract-1'"
                             " AND model_id = 'fall_detection' AND event_type = 'fall_detected'"
                             " AND confidence = 0.92 AND metadata->>'scene_context' = 'corridor'"
                             " AND metadata->'tracking_id' = '7'"
                             " AND jsonb_array_length(metadata->'pose_keypoints') = 2"
                             " AND bounding_boxes->0->>'label' = 'person'"
                             " AND abs(extract(epoch FROM now() - \"timestamp\")) < 120"),
                 1);
    /* §2.2 proto3 names: version kept, model from the session. */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-contract-2'"
                             " AND model_version = '1.0.0' AND model_id = 'fall_detection'"
                             " AND inference_time_ms = 85"
                             " AND stream_id = '990e8400-e29b-41d4-a716-446655440004'"
                             " AND frame_id = 'bb0e8400-e29b-41d4-a716-446655440006'"
                             " AND metadata IS NULL AND extra IS NULL"),
                 1);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-contract-3'"
                             " AND event_type = 'no_fall' AND error_code IS NULL"
                             " AND model_version = '1.0.0'"),
                 1);
    /* §6.3 and §6.5 error payloads: error events with code and message. */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'camera_001'"
                             " AND event_type = 'error' AND error_code = 'INFERENCE_FAILED'"
                             " AND error_message = 'CUDA out of memory during forward pass'"
                             " AND model_id = 'fall_detection' AND model_version = '1.0.0'"
                             " AND frame_id = 'abc123' AND confidence = 0"
                             " AND metadata->'error_details'->>'model_error_code' = 'OUT_OF_MEMORY'"
                             " AND metadata->>'error_source' = 'model'"),
                 1);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-contract-5'"
                             " AND event_type = 'error' AND error_code = 'INFERENCE_FAILED'"
                             " AND error_message = 'Human-readable error description'"
                             " AND \"timestamp\" = '2026-01-14T10:30:00Z'"
                             " AND metadata->>'recoverable' = 'false'"
                             " AND metadata->'details' = '{}'"),
                 1);
    /* Both fall detections above the seeded rule's 0.7 opened violations. */
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM violations WHERE type = 'fall_detected'"
                                  " AND camera_id IN ('cam-contract-1', 'cam-contract-2')",
                                  2, 30),
                 2);
    int with_metadata = 0;
    itest_consume(getenv("RUTH_TOPIC_EVENTS"), 3, on_event, &with_metadata);
    CHECK_MSG(with_metadata == 1, "%d Event messages carry the metadata", with_metadata);
}

static void deepstream_payloads_become_events(void)
{
    const char *topic = getenv("RUTH_TOPIC_DEEPSTREAM");
    rd_kafka_t *p = itest_producer();
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/deepstream", testlib_env("RUTH_FIXTURES"));
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, "__") && strstr(e->d_name, ".json"))
            /* nvmsgbroker keys full-schema messages by sensor id; minimal ones
             * arrive without a key (here: empty). */
            produce_fixture(p, topic, "deepstream", e->d_name,
                            strstr(e->d_name, "full") ? "CAMERA_ID_DS_1" : "");
    if (d)
        closedir(d);
    /* DeepStream's retry of a message: the same messageid, one event. */
    produce_fixture(p, topic, "deepstream", "event__full_person.json", "CAMERA_ID_DS_1");
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
    CHECK_EQ_INT(
        itest_wait_query("SELECT count(*) FROM events WHERE camera_id LIKE 'cam-ds-%'", 6, 60), 6);
    /* Full schema: sensor -> camera by vas_device_id, person -> person_detected. */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-ds-1'"
                             " AND event_type = 'person_detected' AND type_detail = 'person'"
                             " AND model_id = 'peoplenet' AND model_version = '2.6'"
                             " AND confidence = 0.92"
                             " AND idempotency_key = 'ds:84a3a0ad-7eb8-49a2-9aa7-104ded6764d0'"
                             " AND bounding_boxes = '[{\"x\":585,\"y\":472,\"width\":74,"
                             "\"height\":78,\"label\":\"person\",\"confidence\":0.92}]'"
                             " AND attributes->>'deepstream_event' = 'entry'"
                             " AND metadata->'sensor'->>'id' = 'CAMERA_ID_DS_1'"),
                 1);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-ds-1'"
                             " AND event_type = 'vehicle' AND confidence = 1"
                             " AND model_id = 'trafficcamnet'"),
                 1);
    /* Unknown sensor: the camera id itself; no module id, no session: "deepstream". */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-ds-2'"
                             " AND event_type = 'forklift' AND model_id = 'deepstream'"
                             " AND confidence = 0 AND attributes->>'deepstream_event' = ''"),
                 1);
    /* Minimal schema: three objects of frame 1234, Person mapped as well. */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-ds-1'"
                             " AND frame_id = '1234' AND model_id = 'deepstream'"),
                 3);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM events WHERE frame_id = '1234'"
                             " AND event_type = 'person_detected' AND type_detail = 'Person'"
                             " AND confidence = 0"),
                 1);
    /* The person above the rule opened a violation; the one without a
     * confidence did not. */
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM violations WHERE camera_id = 'cam-ds-1'"
                                  " AND type = 'person_detected' AND event_count = 1",
                                  1, 30),
                 1);
}

static void invalid_payloads_dead_lettered(void)
{
    dlq_seen s = {0};
    itest_consume(getenv("RUTH_TOPIC_DLQ"), 3, on_dead_letter, &s);
    /* contract: confidence 1.7, no event_type; DeepStream: a corner, no
     * bbox, neither schema, truncated JSON. */
    CHECK_MSG(s.invalid_value == 2 && s.missing_field == 3 && s.json_syntax == 1 && s.other == 0,
              "dead letters: INVALID_VALUE %d, MISSING_FIELD %d, JSON_SYNTAX %d, other %d",
              s.invalid_value, s.missing_field, s.json_syntax, s.other);
}

/* One JSON result on the inference topic, flushed. */
static void produce_result(const char *key, const char *json)
{
    rd_kafka_t *p = itest_producer();
    itest_produce(p, getenv("RUTH_TOPIC_INFERENCE"), key, json, strlen(json));
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
}

/* A session started a moment ago (start-inference, then results at once)
 * is found: a result without model_id from a camera the worker has no
 * session for makes it re-read the sessions, instead of dead-lettering
 * what its cache, up to 5 s old, does not know yet. */
static void session_started_just_now_is_used(void)
{
    /* First a result that makes the worker (re)load its caches, so they are
     * fresh when the session starts. */
    const char *warm = "{\"camera_id\":\"cam-contract-3\",\"event_type\":\"warm_up\","
                       "\"confidence\":0.1}";
    produce_result("cam-contract-3", warm);
    CHECK_EQ_INT(
        itest_wait_query("SELECT count(*) FROM events WHERE event_type = 'warm_up'", 1, 30), 1);
    CHECK(itest_exec(itest_db_url, "INSERT INTO cameras (id, inference_active, inference_model_id,"
                                   " inference_started_at) VALUES"
                                   " ('cam-fresh', true, 'ppe_detection', now())"));
    const char *result = "{\"camera_id\":\"cam-fresh\",\"event_type\":\"no_helmet\","
                         "\"confidence\":0.4}";
    produce_result("cam-fresh", result);
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM events WHERE camera_id = 'cam-fresh'"
                                  " AND model_id = 'ppe_detection'",
                                  1, 30),
                 1);
}

#define SECRET "test-secret-key-of-at-least-32-bytes"

/* GET /api/v1/events of camera cam-contract-1 from a real ruth-api. */
static void events_api_returns_metadata(void)
{
    itest_api_env(SECRET);
    char log[256];
    snprintf(log, sizeof log, "/tmp/%s-api.log", itest_db_name);
    pid_t api = itest_spawn("ruth-api", NULL, log);
    int port = itest_api_port(log);
    CHECK_MSG(port > 0, "ruth-api did not log its port (%s)", log);
    char *tok = auth_mint(SECRET, "vera", ROLE_VIEWER, time(NULL), time(NULL) + 600);
    ihttp_resp r = {0};
    ihttp_request(port, "GET", "/api/v1/events?camera_id=cam-contract-1", tok, NULL, NULL, &r);
    free(tok);
    kill(api, SIGTERM);
    itest_wait_exit(api, 15);
    long status = r.status;
    json_t *j = json_incref(r.json);
    ihttp_resp_free(&r);
    json_t *ev = json_array_get(json_object_get(j, "events"), 0);
    json_t *meta = json_object_get(ev, "metadata");
    CHECK_MSG(status == 200 && json_array_size(json_object_get(j, "events")) == 1,
              "status %ld, log %s", status, log);
    CHECK_EQ_STR(json_string_value(json_object_get(meta, "scene_context")), "corridor");
    CHECK(json_integer_value(json_object_get(meta, "tracking_id")) == 7);
    CHECK(json_array_size(json_object_get(meta, "pose_keypoints")) == 2);
    CHECK(json_is_null(json_object_get(ev, "extra")));
    json_decref(j);
}

int main(void)
{
    itest_setup("winput", 1);
    char topic[160];
    snprintf(topic, sizeof topic, "t.%s.deepstream", itest_db_name);
    setenv("RUTH_TOPIC_DEEPSTREAM", topic, 1);
    const char *tp[] = {"topics", NULL};
    if (itest_run("ruth-migrate", tp) != 0) {
        fprintf(stderr, "ruth-migrate topics failed for %s\n", topic);
        return 1;
    }
    setenv("RUTH_MAX_CLOCK_SKEW_SEC", SKEW, 1);
    if (!itest_exec(itest_db_url,
                    "INSERT INTO cameras (id, inference_active, inference_model_id,"
                    " inference_started_at) VALUES"
                    " ('cam-contract-1', true, 'fall_detection', now()),"
                    " ('cam-contract-2', true, 'fall_detection', now()),"
                    " ('cam-contract-3', true, 'fall_detection', now());"
                    "INSERT INTO cameras (id, vas_device_id) VALUES ('cam-ds-1', 'CAMERA_ID_DS_1');"
                    "INSERT INTO event_type_map (raw_label, event_type) VALUES"
                    " ('person', 'person_detected'), ('Person', 'person_detected');"
                    "INSERT INTO rules (event_type, min_confidence, min_hits, window_seconds,"
                    " cooldown_seconds, severity) VALUES ('person_detected', 0.5, 1, 10, 60,"
                    " 'high')"))
        return 1;
    char log[256];
    snprintf(log, sizeof log, "/tmp/%s-worker.log", itest_db_name);
    pid_t w = itest_spawn("ruth-worker", NULL, log);
    TEST_RUN(contract_payloads_become_events);
    TEST_RUN(deepstream_payloads_become_events);
    TEST_RUN(invalid_payloads_dead_lettered);
    TEST_RUN(events_api_returns_metadata);
    TEST_RUN(session_started_just_now_is_used);
    kill(w, SIGTERM);
    itest_stopped(w, 15, "ruth-worker", log);
    if (itest_log_count(log, "deepstream in group") < 1) {
        fprintf(stderr, "the worker did not log consuming both topics (log %s)\n", log);
        testlib_failures++;
    }
    if (!testlib_failures)
        itest_teardown();
    else
        fprintf(stderr, "database %s kept; worker log %s\n", itest_db_name, log);
    return TEST_EXIT();
}
