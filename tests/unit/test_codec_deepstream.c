/* test_codec_deepstream: NVIDIA DeepStream nvmsgconv JSON (full and minimal
 * schema) as InferenceResults: every fixture of tests/fixtures/deepstream
 * (see its README) decodes to the outcome its name gives, and the mapping
 * (sensor, corners to boxes, object type, confidence, model, idempotency
 * key, metadata) is what the README's mapping table says. */
#include "codec.h"
#include "testlib.h"
#include "xmalloc.h"

#include <dirent.h>
#include <jansson.h>

static codec *cx;
static inference_result rs[CODEC_MAX_BOXES];
static const codec_decode_opts opts = {"key-cam", 1790000000000000LL, true, true};

static char *fixture(const char *name, size_t *len)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/deepstream/%s", testlib_env("RUTH_FIXTURES"), name);
    char *d = testlib_read_file(path, len);
    if (!d) {
        fprintf(stderr, "cannot read %s\n", path);
        testlib_failures++;
        *len = 2;
        return xstrdup("{}");
    }
    return d;
}

static int decode(const char *name, size_t *n, codec_error *err)
{
    size_t len;
    char *d = fixture(name, &len);
    int rc = codec_decode_deepstream(cx, d, len, &opts, rs, CODEC_MAX_BOXES, n, err);
    free(d);
    return rc;
}

static void release(size_t n)
{
    for (size_t i = 0; i < n; i++)
        inference_result_free(&rs[i]);
}

static const char *attr(const inference_result *r, const char *key)
{
    for (size_t i = 0; i < r->nattributes; i++)
        if (!strcmp(r->attributes[i].key, key))
            return r->attributes[i].value;
    return NULL;
}

/* Every fixture: <outcome>__<what>.json, outcome event[N] or dlq_<CODE>. */
static void corpus(void)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/deepstream", testlib_env("RUTH_FIXTURES"));
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *sep = strstr(e->d_name, "__");
        if (!sep || !strstr(e->d_name, ".json"))
            continue;
        files++;
        size_t n = 0;
        codec_error err = {0};
        int rc = decode(e->d_name, &n, &err);
        if (!strncmp(e->d_name, "dlq_", 4)) {
            char want[64];
            snprintf(want, sizeof want, "%.*s", (int)(sep - e->d_name - 4), e->d_name + 4);
            CHECK_MSG(rc == -1 && !strcmp(codec_errcode_name(err.code), want), "%s: got %s (%s)",
                      e->d_name, rc ? codec_errcode_name(err.code) : "events", err.message);
        } else {
            size_t want = e->d_name[5] == '_' ? 1 : (size_t)(e->d_name[5] - '0');
            CHECK_MSG(rc == 0 && n == want, "%s: rc %d, %zu events (%s)", e->d_name, rc, n,
                      err.message);
        }
        release(n);
    }
    closedir(d);
    CHECK_MSG(files >= 9, "only %d fixtures", files);
}

static void full_schema_mapping(void)
{
    size_t n;
    codec_error err;
    CHECK(decode("event__full_person.json", &n, &err) == 0 && n == 1);
    inference_result *r = &rs[0];
    CHECK_EQ_STR(r->camera_id, "CAMERA_ID_DS_1"); /* the worker maps it to a camera */
    CHECK_EQ_STR(r->event_type, "person");
    CHECK_EQ_STR(r->model_id, "peoplenet");
    CHECK_EQ_STR(r->model_version, "2.6");
    CHECK(r->confidence == 0.92);
    CHECK(r->nboxes == 1 && r->boxes[0].x == 585 && r->boxes[0].y == 472 &&
          r->boxes[0].width == 74 && r->boxes[0].height == 78);
    CHECK(!strcmp(r->boxes[0].label, "person") && r->boxes[0].has_confidence);
    CHECK_EQ_STR(r->idempotency_key, "ds:84a3a0ad-7eb8-49a2-9aa7-104ded6764d0");
    CHECK_EQ_STR(attr(r, "tracking_id"), "957");
    CHECK_EQ_STR(attr(r, "deepstream_event"), "entry");
    CHECK(r->timestamp_us == 1796032801828000LL && r->defaulted == 0);
    json_t *m = json_loads(r->metadata_json, 0, NULL);
    CHECK(json_is_object(json_object_get(m, "place")) &&
          !strcmp(json_string_value(json_object_get(m, "videoPath")),
                  "rtsp://example.invalid/stream1"));
    json_decref(m);
    release(n);
    /* Vehicle without attributes: nvmsgconv's confidence 1.0; a negative
     * corner clamped. */
    CHECK(decode("event__full_vehicle_no_attributes.json", &n, &err) == 0 && n == 1);
    CHECK(!strcmp(rs[0].event_type, "vehicle") && rs[0].confidence == 1.0);
    CHECK(rs[0].boxes[0].x == 0 && rs[0].boxes[0].width == 220);
    release(n);
    /* Unknown type: the objectId key, no confidence; empty event type and no
     * module id: model left to the worker. */
    CHECK(decode("event__full_unknown_type_empty_event.json", &n, &err) == 0 && n == 1);
    CHECK(!strcmp(rs[0].event_type, "forklift") && rs[0].confidence == 0);
    CHECK(!rs[0].boxes[0].has_confidence && rs[0].model_id == NULL);
    CHECK_EQ_STR(attr(&rs[0], "deepstream_event"), "");
    CHECK(attr(&rs[0], "video_path") == NULL);
    release(n);
}

static void minimal_schema_mapping(void)
{
    size_t n;
    codec_error err;
    CHECK(decode("event3__minimal_frame.json", &n, &err) == 0 && n == 3);
    CHECK(!strcmp(rs[0].event_type, "Vehicle") && rs[0].confidence == 0.8);
    CHECK(rs[0].boxes[0].x == 1834 && rs[0].boxes[0].width == 84 && rs[0].boxes[0].height == 65);
    CHECK(!strcmp(rs[1].event_type, "Person") && rs[1].confidence == 0 &&
          !rs[1].boxes[0].has_confidence);
    CHECK_EQ_STR(rs[2].event_type, "forklift");
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ_STR(rs[i].camera_id, "CAMERA_ID_DS_1");
        CHECK_EQ_STR(rs[i].frame_id, "1234");
        CHECK(rs[i].model_id == NULL);
    }
    CHECK_EQ_STR(rs[0].idempotency_key, "ds:CAMERA_ID_DS_1/1234/2026-11-30T10:00:04.500Z/0");
    CHECK_EQ_STR(rs[2].idempotency_key, "ds:CAMERA_ID_DS_1/1234/2026-11-30T10:00:04.500Z/2");
    json_t *m = json_loads(rs[0].metadata_json, 0, NULL);
    CHECK(json_array_size(json_object_get(m, "attributes")) == 6);
    CHECK_EQ_STR(json_string_value(json_object_get(m, "tracking_id")), "957");
    json_decref(m);
    release(n);
    /* Without a sensor id the Kafka key is the camera; without a time, the
     * record's. */
    const char *bare = "{\"version\":\"4.0\",\"id\":1,\"objects\":[\"1|0|0|10|10|Person\"]}";
    CHECK(codec_decode_deepstream(cx, bare, strlen(bare), &opts, rs, 4, &n, &err) == 0 && n == 1);
    CHECK(!strcmp(rs[0].camera_id, "key-cam") &&
          rs[0].defaulted == (CODEC_DEFAULTED_CAMERA | CODEC_DEFAULTED_TIMESTAMP));
    release(n);
    CHECK(codec_decode_deepstream(cx, bare, strlen(bare), NULL, rs, 4, &n, &err) == -1 &&
          err.code == CODEC_E_MISSING_FIELD);
    /* More objects than room: TOO_LARGE, nothing left allocated. */
    const char *two = "{\"sensorId\":\"s\",\"@timestamp\":\"2026-11-30T10:00:00Z\","
                      "\"objects\":[\"1|0|0|1|1|A\",\"2|0|0|1|1|B\"]}";
    CHECK(codec_decode_deepstream(cx, two, strlen(two), &opts, rs, 1, &n, &err) == -1 &&
          err.code == CODEC_E_TOO_LARGE && n == 0);
    /* A corner pair the wrong way round, a confidence that is not a number. */
    const char *bad[] = {"{\"sensorId\":\"s\",\"objects\":[\"1|50|0|10|10|A\"]}",
                         "{\"sensorId\":\"s\",\"objects\":[\"1|0|0|10|10|A|#|x|high\"]}",
                         "{\"sensorId\":\"s\",\"objects\":[\"1|0|0|10|10|A|x|0.5\"]}",
                         "{\"sensorId\":\"s\",\"objects\":[\"1|0|0|10|10|A|#|x|1.5\"]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(codec_decode_deepstream(cx, bad[i], strlen(bad[i]), &opts, rs, 4, &n, &err) ==
                          -1 &&
                      err.code == CODEC_E_INVALID_VALUE && n == 0,
                  "case %zu: %s", i, err.message);
    const char *both = "{\"object\":{},\"objects\":[]}";
    CHECK(codec_decode_deepstream(cx, both, strlen(both), &opts, rs, 4, &n, &err) == -1 &&
          err.code == CODEC_E_INVALID_VALUE);
}

/* A long sensor id and time: each object still has a key of its own (they
 * were cut to 511 bytes, which lost the object index and so merged a
 * frame's objects into one event), and a long frame id is kept whole. */
static void long_keys_stay_distinct(void)
{
    char sensor[601], frame[201];
    memset(sensor, 's', 600);
    sensor[600] = '\0';
    memset(frame, 'f', 200);
    frame[200] = '\0';
    char msg[2048];
    snprintf(msg, sizeof msg,
             "{\"sensorId\":\"%s\",\"id\":\"%s\",\"@timestamp\":\"2026-11-30T10:00:00Z\","
             "\"objects\":[\"1|0|0|1|1|A\",\"2|0|0|1|1|B\"]}",
             sensor, frame);
    size_t n = 0;
    codec_error err;
    CHECK_MSG(codec_decode_deepstream(cx, msg, strlen(msg), &opts, rs, 4, &n, &err) == 0 && n == 2,
              "%s", err.message);
    CHECK(strcmp(rs[0].idempotency_key, rs[1].idempotency_key) != 0);
    CHECK(strlen(rs[0].idempotency_key) > 800);
    CHECK_EQ_STR(rs[0].frame_id, frame);
    release(n);
}

int main(void)
{
    char err[256];
    cx = codec_new(NULL, err, sizeof err);
    if (!cx) {
        fprintf(stderr, "codec: %s\n", err);
        return 1;
    }
    TEST_RUN(corpus);
    TEST_RUN(full_schema_mapping);
    TEST_RUN(minimal_schema_mapping);
    TEST_RUN(long_keys_stay_distinct);
    codec_destroy(cx);
    return TEST_EXIT();
}
