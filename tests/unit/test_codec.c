/* The codec: round trips in every format, the malformed-input corpus under
 * tests/fixtures/codec, hostile Avro built from valid encodings, and the
 * Confluent path against an in-process schema registry (libmicrohttpd). */
#include "clock.h"
#include "codec.h"
#include "testlib.h"
#include "xmalloc.h"

#include <avro.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <time.h>

static codec *cx;
static char errstr[512];

static codec_bbox sample_boxes[2] = {{10, 20, 300, 400, "person", 0.91, true},
                                     {0, 0, 1920, 1080, NULL, 0, false}};
static codec_attr sample_attrs[2] = {{"zone", "loading-dock"}, {"shift", "night"}};

static inference_result sample(void)
{
    inference_result r = {0};
    r.camera_id = "cam-001";
    r.model_id = "fall-detector";
    r.timestamp_us = 1795000000123456LL;
    r.event_type = "fall_detected";
    r.confidence = 0.87;
    r.boxes = sample_boxes;
    r.nboxes = 2;
    r.frame_id = "f-42";
    r.stream_id = "stream-1";
    r.model_version = "2.1.0";
    r.inference_time_ms = 12.5;
    r.has_inference_time = true;
    r.runtime_id = "rt-a";
    r.attributes = sample_attrs;
    r.nattributes = 2;
    r.result_id = "0B9E3A52-7C4D-4E7A-9F0A-0123456789AB";
    return r;
}

static int same_opt(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_boxes(const codec_bbox *a, const codec_bbox *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].x != b[i].x || a[i].y != b[i].y || a[i].width != b[i].width ||
            a[i].height != b[i].height || !same_opt(a[i].label, b[i].label) ||
            a[i].has_confidence != b[i].has_confidence ||
            (a[i].has_confidence && a[i].confidence != b[i].confidence))
            return 0;
    return 1;
}

static void check_equal(const inference_result *a, const inference_result *b, int *ok)
{
    *ok = same_opt(a->camera_id, b->camera_id) && same_opt(a->model_id, b->model_id) &&
          a->timestamp_us == b->timestamp_us && same_opt(a->event_type, b->event_type) &&
          a->confidence == b->confidence && a->nboxes == b->nboxes &&
          same_opt(a->frame_id, b->frame_id) && same_opt(a->stream_id, b->stream_id) &&
          same_opt(a->model_version, b->model_version) &&
          a->has_inference_time == b->has_inference_time &&
          (!a->has_inference_time || a->inference_time_ms == b->inference_time_ms) &&
          same_opt(a->runtime_id, b->runtime_id) && same_opt(a->error_code, b->error_code) &&
          same_opt(a->error_message, b->error_message) && a->nattributes == b->nattributes;
    for (size_t i = 0; *ok && i < a->nboxes; i++)
        *ok = same_boxes(&a->boxes[i], &b->boxes[i], 1);
    for (size_t i = 0; *ok && i < a->nattributes; i++)
        *ok = !strcmp(a->attributes[i].key, b->attributes[i].key) &&
              !strcmp(a->attributes[i].value, b->attributes[i].value);
}

static void round_trip_every_format(void)
{
    const codec_format fmts[] = {CODEC_FMT_SINGLE_OBJECT, CODEC_FMT_JSON};
    for (size_t f = 0; f < 2; f++) {
        inference_result in = sample(), out;
        buf b = {0};
        codec_error err;
        CHECK(codec_encode_inference(cx, fmts[f], 0, &in, &b, &err) == 0);
        int rc = codec_decode_inference(cx, b.data, b.len, &out, &err);
        buf_free(&b);
        CHECK_MSG(rc == 0, "format %zu: %s %s", f, codec_errcode_name(err.code), err.message);
        CHECK(out.format == fmts[f]);
        int ok;
        check_equal(&in, &out, &ok);
        /* result_id comes back canonical lower-case */
        int uuid_ok = !strcmp(out.result_id, "0b9e3a52-7c4d-4e7a-9f0a-0123456789ab");
        inference_result_free(&out);
        CHECK_MSG(ok, "format %zu differs after the round trip", f);
        CHECK(uuid_ok);
    }
    /* Minimal result: only the required fields. */
    inference_result min = {0}, out;
    min.camera_id = "c";
    min.model_id = "m";
    min.event_type = "no_fall";
    min.timestamp_us = 1;
    for (size_t f = 0; f < 2; f++) {
        buf b = {0};
        codec_error err;
        CHECK(codec_encode_inference(cx, fmts[f], 0, &min, &b, &err) == 0);
        CHECK(codec_decode_inference(cx, b.data, b.len, &out, &err) == 0);
        buf_free(&b);
        int ok;
        check_equal(&min, &out, &ok);
        CHECK(ok && out.frame_id == NULL && out.nboxes == 0 && out.result_id == NULL &&
              !out.has_inference_time && out.nattributes == 0);
        inference_result_free(&out);
    }
}

/* ---- an independent reader: avro-c generic values over the bundled schema ---- */

typedef struct {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t v;
} avro_doc;

static int avro_doc_read(avro_doc *d, const char *name, const unsigned char *data, size_t len)
{
    uint64_t fp;
    const char *json = codec_schema_json(cx, name, &fp);
    if (!json || len < 10 || data[0] != 0xC3 || data[1] != 0x01)
        return -1;
    for (int i = 0; i < 8; i++)
        if (data[2 + i] != (unsigned char)(fp >> (8 * i)))
            return -1;
    if (avro_schema_from_json_length(json, strlen(json), &d->schema))
        return -1;
    d->iface = avro_generic_class_from_schema(d->schema);
    avro_generic_value_new(d->iface, &d->v);
    avro_reader_t rd = avro_reader_memory((const char *)data + 10, (int64_t)len - 10);
    int rc = avro_value_read(rd, &d->v);
    avro_reader_free(rd);
    return rc;
}

static void avro_doc_free(avro_doc *d)
{
    avro_value_decref(&d->v);
    avro_value_iface_decref(d->iface);
    avro_schema_decref(d->schema);
}

/* Field `name` of record `rec`, through a ["null", T] union; false for null. */
static bool field(avro_value_t *rec, const char *name, avro_value_t *out)
{
    avro_value_t f;
    if (avro_value_get_by_name(rec, name, &f, NULL))
        return false;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        int disc;
        avro_value_get_discriminant(&f, &disc);
        if (disc == 0)
            return false;
        avro_value_get_current_branch(&f, out);
        return true;
    }
    *out = f;
    return true;
}

static bool str_is(avro_value_t *rec, const char *name, const char *want)
{
    avro_value_t f;
    if (!field(rec, name, &f))
        return want == NULL;
    const char *s;
    size_t n;
    if (avro_value_get_type(&f) == AVRO_ENUM) {
        int sym;
        avro_value_get_enum(&f, &sym);
        s = avro_schema_enum_get(avro_value_get_schema(&f), sym);
        return want && !strcmp(s, want);
    }
    avro_value_get_string(&f, &s, &n);
    return want && !strcmp(s, want);
}

static bool long_is(avro_value_t *rec, const char *name, int64_t want)
{
    avro_value_t f;
    int64_t l = 0;
    int32_t i;
    if (!field(rec, name, &f))
        return want == 0; /* optional timestamps: 0 means null */
    if (avro_value_get_type(&f) == AVRO_INT32) {
        avro_value_get_int(&f, &i);
        l = i;
    } else {
        avro_value_get_long(&f, &l);
    }
    return l == want;
}

static bool double_is(avro_value_t *rec, const char *name, bool has, double want)
{
    avro_value_t f;
    double d;
    if (!field(rec, name, &f))
        return !has;
    avro_value_get_double(&f, &d);
    return has && d == want;
}

static bool boxes_are(avro_value_t *rec, const codec_bbox *b, size_t n)
{
    avro_value_t arr, item;
    size_t got;
    avro_value_get_by_name(rec, "bounding_boxes", &arr, NULL);
    avro_value_get_size(&arr, &got);
    if (got != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        avro_value_get_by_index(&arr, i, &item, NULL);
        if (!double_is(&item, "x", true, b[i].x) || !double_is(&item, "y", true, b[i].y) ||
            !double_is(&item, "width", true, b[i].width) ||
            !double_is(&item, "height", true, b[i].height) || !str_is(&item, "label", b[i].label) ||
            !double_is(&item, "confidence", b[i].has_confidence, b[i].confidence))
            return false;
    }
    return true;
}

/* Our single-object InferenceResult is what avro-c reads with the bundled schema. */
static void inference_readable_by_avro_c(void)
{
    inference_result in = sample();
    buf b = {0};
    codec_error err;
    CHECK(codec_encode_inference(cx, CODEC_FMT_SINGLE_OBJECT, 0, &in, &b, &err) == 0);
    avro_doc d;
    CHECK_MSG(avro_doc_read(&d, "InferenceResult", b.data, b.len) == 0, "%s", avro_strerror());
    avro_value_t *v = &d.v, attrs, a;
    bool ok = str_is(v, "camera_id", in.camera_id) && str_is(v, "model_id", in.model_id) &&
              long_is(v, "timestamp", in.timestamp_us) && str_is(v, "event_type", in.event_type) &&
              double_is(v, "confidence", true, in.confidence) &&
              boxes_are(v, in.boxes, in.nboxes) && str_is(v, "frame_id", in.frame_id) &&
              str_is(v, "stream_id", in.stream_id) &&
              str_is(v, "model_version", in.model_version) &&
              double_is(v, "inference_time_ms", true, in.inference_time_ms) &&
              str_is(v, "runtime_id", in.runtime_id) && str_is(v, "error_code", NULL) &&
              str_is(v, "error_message", NULL) && str_is(v, "result_id", in.result_id);
    size_t n = 0;
    avro_value_get_by_name(v, "attributes", &attrs, NULL);
    avro_value_get_size(&attrs, &n);
    ok = ok && n == 2 && avro_value_get_by_name(&attrs, "zone", &a, NULL) == 0;
    avro_doc_free(&d);
    buf_free(&b);
    CHECK(ok);
}

static bool event_matches(avro_value_t *v, const event_msg *m)
{
    return str_is(v, "id", m->id) && str_is(v, "camera_id", m->camera_id) &&
           str_is(v, "stream_id", m->stream_id) && str_is(v, "event_type", m->event_type) &&
           str_is(v, "type_detail", m->type_detail) &&
           double_is(v, "confidence", true, m->confidence) &&
           long_is(v, "timestamp", m->timestamp_us) && str_is(v, "model_id", m->model_id) &&
           str_is(v, "model_version", m->model_version) && boxes_are(v, m->boxes, m->nboxes) &&
           str_is(v, "frame_id", m->frame_id) &&
           double_is(v, "inference_time_ms", m->has_inference_time, m->inference_time_ms) &&
           str_is(v, "violation_id", m->violation_id) && long_is(v, "created_at", m->created_at_us);
}

static bool json_str_is(json_t *o, const char *k, const char *want)
{
    json_t *v = json_object_get(o, k);
    return want ? json_is_string(v) && !strcmp(json_string_value(v), want) : json_is_null(v);
}

static bool json_event_matches(json_t *o, const event_msg *m)
{
    json_t *boxes = json_object_get(o, "bounding_boxes");
    bool ok =
        json_str_is(o, "id", m->id) && json_str_is(o, "camera_id", m->camera_id) &&
        json_str_is(o, "stream_id", m->stream_id) && json_str_is(o, "event_type", m->event_type) &&
        json_str_is(o, "type_detail", m->type_detail) &&
        json_real_value(json_object_get(o, "confidence")) == m->confidence &&
        json_integer_value(json_object_get(o, "timestamp")) == m->timestamp_us &&
        json_str_is(o, "model_id", m->model_id) &&
        json_str_is(o, "model_version", m->model_version) && json_array_size(boxes) == m->nboxes &&
        json_str_is(o, "frame_id", m->frame_id) &&
        (m->has_inference_time
             ? json_number_value(json_object_get(o, "inference_time_ms")) == m->inference_time_ms
             : json_is_null(json_object_get(o, "inference_time_ms"))) &&
        json_str_is(o, "violation_id", m->violation_id) &&
        json_integer_value(json_object_get(o, "created_at")) == m->created_at_us;
    for (size_t i = 0; ok && i < m->nboxes; i++) {
        json_t *b = json_array_get(boxes, i);
        ok = json_number_value(json_object_get(b, "x")) == m->boxes[i].x &&
             json_number_value(json_object_get(b, "height")) == m->boxes[i].height &&
             json_str_is(b, "label", m->boxes[i].label) &&
             (m->boxes[i].has_confidence
                  ? json_number_value(json_object_get(b, "confidence")) == m->boxes[i].confidence
                  : json_is_null(json_object_get(b, "confidence")));
    }
    return ok;
}

/* Events have no decoder in the codec (nothing in the pipeline reads them
 * back): check every field with avro-c and jansson instead. */
static void event_every_field(void)
{
    event_msg full = {.id = "4b4c2b36-5f7e-4a37-9a4a-0c7b8c1d2e3f",
                      .camera_id = "cam-9",
                      .stream_id = "s-1",
                      .event_type = "fall_detected",
                      .type_detail = "fall",
                      .confidence = 0.9,
                      .timestamp_us = 1795000000000001LL,
                      .model_id = "m",
                      .model_version = "3.0",
                      .boxes = sample_boxes,
                      .nboxes = 2,
                      .frame_id = "f-9",
                      .inference_time_ms = 7.25,
                      .has_inference_time = true,
                      .violation_id = "5b4c2b36-5f7e-4a37-9a4a-0c7b8c1d2e3f",
                      .created_at_us = 1795000000000002LL};
    event_msg min = {.id = full.id,
                     .camera_id = "c",
                     .event_type = "e",
                     .confidence = 0.5,
                     .timestamp_us = 1,
                     .model_id = "m",
                     .created_at_us = 2};
    const event_msg *cases[2] = {&full, &min};
    for (int i = 0; i < 2; i++) {
        buf b = {0};
        codec_error err;
        CHECK(codec_encode_event(cx, CODEC_FMT_SINGLE_OBJECT, cases[i], &b, &err) == 0);
        avro_doc d;
        CHECK(avro_doc_read(&d, "Event", b.data, b.len) == 0);
        bool ok = event_matches(&d.v, cases[i]);
        avro_doc_free(&d);
        CHECK_MSG(ok, "Event %d differs when read by avro-c", i);
        buf_reset(&b);
        CHECK(codec_encode_event(cx, CODEC_FMT_JSON, cases[i], &b, &err) == 0);
        json_t *o = json_loadb((const char *)b.data, b.len, 0, NULL);
        ok = o && json_event_matches(o, cases[i]);
        json_decref(o);
        buf_free(&b);
        CHECK_MSG(ok, "Event %d differs in JSON", i);
    }
    buf b = {0};
    codec_error err;
    CHECK(codec_encode_event(cx, CODEC_FMT_CONFLUENT, &full, &b, &err) == -1);
    buf_free(&b);
}

static int decode_json(const char *json, inference_result *out, codec_error *err)
{
    return codec_decode_inference(cx, json, strlen(json), out, err);
}

static void json_timestamps_and_defaults(void)
{
    const struct {
        const char *ts;
        int64_t want;
    } cases[] = {
        {"1795000000123456", 1795000000123456LL},
        {"\"2026-11-22T10:00:00Z\"", 1795341600000000LL},
        {"\"2026-11-22T12:00:00+02:00\"", 1795341600000000LL},
        {"\"2026-11-22T05:30:00.25-04:30\"", 1795341600250000LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[256];
        snprintf(
            json, sizeof json,
            "{\"camera_id\":\"c1\",\"model_id\":\"m\",\"timestamp\":%s,\"event_type\":\"error\","
            "\"error_code\":\"E42\",\"unknown_field\":[1,2]}",
            cases[i].ts);
        inference_result r;
        codec_error err;
        CHECK_MSG(decode_json(json, &r, &err) == 0, "%s: %s", cases[i].ts, err.message);
        int64_t got = r.timestamp_us;
        double conf = r.confidence;
        int code_ok = r.error_code && !strcmp(r.error_code, "E42");
        inference_result_free(&r);
        CHECK_MSG(got == cases[i].want, "%s -> %lld", cases[i].ts, (long long)got);
        CHECK(conf == 0.0); /* confidence defaults to 0 */
        CHECK(code_ok);
    }
}

static size_t read_file(const char *path, unsigned char **data)
{
    size_t n = 0;
    *data = (unsigned char *)testlib_read_file(path, &n);
    return n;
}

static void malformed_corpus(void)
{
    const char *dir = getenv("RUTH_FIXTURES");
    CHECK(dir != NULL);
    char path[1024];
    snprintf(path, sizeof path, "%s/codec", dir);
    DIR *d = opendir(path);
    CHECK_MSG(d != NULL, "cannot open %s", path);
    int n = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *sep = strstr(e->d_name, "__");
        if (!sep)
            continue;
        char want[64];
        snprintf(want, sizeof want, "%.*s", (int)(sep - e->d_name), e->d_name);
        char file[1400];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        unsigned char *data = NULL;
        size_t len = read_file(file, &data);
        if (strstr(e->d_name, ".hex")) { /* hex text -> bytes */
            size_t o = 0;
            for (size_t i = 0; i + 1 < len; i++) {
                unsigned v;
                if (sscanf((char *)data + i, "%2x", &v) == 1 && data[i] != ' ' && data[i] != '\n') {
                    data[o++] = (unsigned char)v;
                    i++;
                }
            }
            len = o;
        }
        inference_result r;
        codec_error err = {0};
        int rc = codec_decode_inference(cx, data, len, &r, &err);
        free(data);
        n++;
        if (!strcmp(want, "OK") ? rc != 0 : rc == 0 || strcmp(codec_errcode_name(err.code), want)) {
            fprintf(stderr, "  %s: got %s (%s)\n", e->d_name,
                    rc == 0 ? "success" : codec_errcode_name(err.code), err.message);
            bad++;
        }
        if (rc == 0)
            inference_result_free(&r);
    }
    closedir(d);
    CHECK_MSG(n >= 25, "only %d fixtures found", n);
    CHECK_MSG(bad == 0, "%d of %d fixtures decoded to the wrong outcome", bad, n);
}

/* ---- runtime input as the Ruth AI documents show it ---- */

static int decode_with(const char *json, const codec_decode_opts *o, inference_result *out,
                       codec_error *err)
{
    return codec_decode_inference_opts(cx, json, strlen(json), o, out, err);
}

/* Proto3 JSON names, `version`, empty strings as absent, box x/y left out,
 * both names of one field refused; without opts the old rules hold. */
static void proto3_names_and_defaults(void)
{
    codec_decode_opts o = {"cam-key", 1790000000000000LL, true, true};
    inference_result r;
    codec_error err;
    CHECK(decode_with("{\"cameraId\":\"c9\",\"eventType\":\"fall\",\"modelVersion\":\"2\","
                      "\"boundingBoxes\":[{\"y\":4,\"width\":5,\"height\":6}],"
                      "\"inferenceTimeMs\":85,\"streamId\":\"\",\"frameId\":\"f\"}",
                      &o, &r, &err) == 0);
    CHECK_EQ_STR(r.camera_id, "c9");
    CHECK_EQ_STR(r.event_type, "fall");
    CHECK_EQ_STR(r.model_version, "2");
    CHECK(r.model_id == NULL && r.stream_id == NULL && !strcmp(r.frame_id, "f"));
    CHECK(r.nboxes == 1 && r.boxes[0].x == 0 && r.boxes[0].y == 4 && r.boxes[0].width == 5);
    CHECK(r.has_inference_time && r.inference_time_ms == 85);
    CHECK(r.timestamp_us == 1790000000000000LL && r.defaulted == CODEC_DEFAULTED_TIMESTAMP);
    inference_result_free(&r);
    CHECK(decode_with("{\"event_type\":\"x\",\"version\":\"1.0.0\",\"timestamp\":5}", &o, &r,
                      &err) == 0);
    CHECK_EQ_STR(r.camera_id, "cam-key");
    CHECK_EQ_STR(r.model_version, "1.0.0");
    CHECK(r.defaulted == CODEC_DEFAULTED_CAMERA && r.timestamp_us == 5);
    inference_result_free(&r);
    CHECK(decode_with("{\"camera_id\":\"a\",\"cameraId\":\"a\",\"event_type\":\"x\"}", &o, &r,
                      &err) == -1 &&
          err.code == CODEC_E_INVALID_VALUE && strstr(err.message, "both given"));
    CHECK(decode_with("{\"event_type\":\"x\",\"version\":\"1\",\"model_version\":\"2\"}", &o, &r,
                      &err) == -1 &&
          err.code == CODEC_E_INVALID_VALUE);
    /* Without opts: camera_id, model_id and timestamp stay required. */
    CHECK(decode_json("{\"cameraId\":\"c\",\"eventType\":\"x\",\"timestamp\":1}", &r, &err) == -1 &&
          err.code == CODEC_E_MISSING_FIELD && strstr(err.message, "model_id"));
    CHECK(decode_json("{\"cameraId\":\"c\",\"modelId\":\"m\",\"eventType\":\"x\"}", &r, &err) ==
              -1 &&
          err.code == CODEC_E_MISSING_FIELD && strstr(err.message, "timestamp"));
}

/* metadata kept verbatim (any JSON), unknown fields kept and counted. */
static void metadata_and_unknown_fields(void)
{
    codec_decode_opts o = {"k", 1, true, true};
    inference_result r;
    codec_error err;
    CHECK(decode_with("{\"event_type\":\"x\",\"metadata\":{\"tracking_id\":7,\"pose_keypoints\":"
                      "[[1,2,0.5]]},\"zone\":\"A\",\"scores\":[1,2]}",
                      &o, &r, &err) == 0);
    json_t *m = json_loads(r.metadata_json, 0, NULL), *x = json_loads(r.extra_json, 0, NULL);
    CHECK(json_integer_value(json_object_get(m, "tracking_id")) == 7);
    CHECK(json_array_size(json_object_get(m, "pose_keypoints")) == 1);
    CHECK(strstr(r.metadata_json, "[[1,2,0.5]]") != NULL);
    CHECK(r.nunknown == 2 && !strcmp(json_string_value(json_object_get(x, "zone")), "A"));
    CHECK(json_array_size(json_object_get(x, "scores")) == 2);
    json_decref(m);
    json_decref(x); /* a JSON re-encoding carries them back */
    buf b = {0};
    CHECK(codec_encode_inference(cx, CODEC_FMT_JSON, 0, &r, &b, &err) == 0);
    inference_result_free(&r);
    CHECK(codec_decode_inference_opts(cx, b.data, b.len, &o, &r, &err) == 0);
    CHECK(r.nunknown == 2 && strstr(r.metadata_json, "\"tracking_id\":7"));
    inference_result_free(&r);
    buf_free(&b);
    CHECK(decode_with("{\"event_type\":\"x\",\"metadata\":[1,\"two\",0.9]}", &o, &r, &err) == 0);
    CHECK_EQ_STR(r.metadata_json, "[1,\"two\",0.9]"); /* decimals as written */
    CHECK(r.extra_json == NULL && r.nunknown == 0);
    inference_result_free(&r);
}

static char *contract_file(const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/contract/%s", testlib_env("RUTH_FIXTURES"), name);
    unsigned char *data = NULL;
    size_t n = read_file(path, &data);
    if (n == 0) {
        fprintf(stderr, "cannot read %s\n", path);
        testlib_failures++;
        free(data);
        return xstrdup("{}");
    }
    data[n] = '\0';
    return (char *)data;
}

/* The payloads of the public documents (tests/fixtures/contract/README.md). */
static void contract_payloads(void)
{
    codec_decode_opts o = {"cam-key", 1790000000000000LL, true, true};
    inference_result r;
    codec_error err;
    char *j = contract_file("event__model_output.json");
    CHECK(decode_with(j, &o, &r, &err) == 0);
    CHECK(!strcmp(r.camera_id, "cam-key") && r.model_id == NULL && r.confidence == 0.92);
    CHECK(r.nboxes == 1 && !strcmp(r.boxes[0].label, "person") && r.boxes[0].height == 400);
    CHECK(strstr(r.metadata_json, "\"scene_context\":\"corridor\"") != NULL);
    inference_result_free(&r);
    free(j);
    j = contract_file("event__inference_response_proto3.json");
    CHECK(decode_with(j, &o, &r, &err) == 0);
    CHECK(!strcmp(r.camera_id, "cam-contract-2") && !strcmp(r.model_version, "1.0.0"));
    CHECK(!strcmp(r.stream_id, "990e8400-e29b-41d4-a716-446655440004") && r.nunknown == 0);
    inference_result_free(&r);
    free(j);
    j = contract_file("event__inference_response_fields.json");
    CHECK(decode_with(j, &o, &r, &err) == 0);
    CHECK(r.error_code == NULL && r.error_message == NULL && r.nboxes == 0);
    inference_result_free(&r);
    free(j);
    j = contract_file("event__runtime_error.json");
    CHECK(decode_with(j, &o, &r, &err) == 0);
    CHECK(!strcmp(r.event_type, "error") && !strcmp(r.error_code, "INFERENCE_FAILED"));
    CHECK(!strcmp(r.error_message, "CUDA out of memory during forward pass"));
    CHECK(!strcmp(r.model_id, "fall_detection") && !strcmp(r.model_version, "1.0.0"));
    CHECK(!strcmp(r.camera_id, "camera_001") && r.confidence == 0 && r.nunknown == 0);
    CHECK(strstr(r.metadata_json, "\"model_error_code\":\"OUT_OF_MEMORY\"") &&
          strstr(r.metadata_json, "\"error_source\":\"model\""));
    inference_result_free(&r);
    free(j);
    j = contract_file("event__error_message.json");
    CHECK(decode_with(j, &o, &r, &err) == 0);
    CHECK(!strcmp(r.event_type, "error") &&
          !strcmp(r.error_message, "Human-readable error description"));
    CHECK(!strcmp(r.camera_id, "cam-key") && r.defaulted == CODEC_DEFAULTED_CAMERA);
    CHECK(strstr(r.metadata_json, "\"recoverable\":false") &&
          strstr(r.metadata_json, "\"details\""));
    inference_result_free(&r);
    free(j);
    j = contract_file("dlq_INVALID_VALUE__confidence_outside_range.json");
    CHECK(decode_with(j, &o, &r, &err) == -1 && err.code == CODEC_E_INVALID_VALUE);
    free(j);
    j = contract_file("dlq_MISSING_FIELD__event_type_missing.json");
    CHECK(decode_with(j, &o, &r, &err) == -1 && err.code == CODEC_E_MISSING_FIELD);
    free(j);
}

/* Encode the sample as single-object, then damage it in specific ways. */
static void hostile_avro(void)
{
    inference_result in = sample(), r;
    buf b = {0};
    codec_error err;
    CHECK(codec_encode_inference(cx, CODEC_FMT_SINGLE_OBJECT, 0, &in, &b, &err) == 0);
    /* Every truncation fails cleanly. */
    for (size_t cut = 0; cut < b.len; cut++) {
        int rc = codec_decode_inference(cx, b.data, cut, &r, &err);
        CHECK_MSG(rc == -1, "prefix of %zu bytes decoded", cut);
        CHECK_MSG(err.code == CODEC_E_AVRO_DECODE || err.code == CODEC_E_BAD_FRAMING, "cut %zu: %s",
                  cut, codec_errcode_name(err.code));
    }
    /* Trailing garbage. */
    buf t = {0};
    buf_append(&t, b.data, b.len);
    buf_append_byte(&t, 0);
    CHECK(codec_decode_inference(cx, t.data, t.len, &r, &err) == -1 &&
          err.code == CODEC_E_AVRO_DECODE);
    buf_free(&t);
    /* Header + camera_id claiming 2^40 bytes. */
    buf h = {0};
    buf_append(&h, b.data, 10);
    buf_avro_long(&h, (int64_t)1 << 40);
    buf_append_str(&h, "abc");
    CHECK(codec_decode_inference(cx, h.data, h.len, &r, &err) == -1 &&
          err.code == CODEC_E_AVRO_DECODE);
    buf_free(&h);
    /* Valid strings, then a bounding_boxes block claiming 2^31 items. */
    buf a = {0};
    buf_append(&a, b.data, 10);
    buf_avro_string(&a, "c");
    buf_avro_string(&a, "m");
    buf_avro_long(&a, 1);
    buf_avro_string(&a, "x");
    buf_avro_double(&a, 0.5);
    buf_avro_long(&a, (int64_t)1 << 31);
    CHECK(codec_decode_inference(cx, a.data, a.len, &r, &err) == -1 &&
          err.code == CODEC_E_TOO_LARGE);
    /* Same prefix, 900 boxes claimed but few bytes present. */
    a.len -= 5;
    buf_avro_long(&a, 900);
    CHECK(codec_decode_inference(cx, a.data, a.len, &r, &err) == -1 &&
          err.code == CODEC_E_AVRO_DECODE);
    buf_free(&a);
    /* NaN confidence and invalid UTF-8 in Avro. */
    inference_result bad = sample();
    bad.confidence = NAN;
    buf n = {0};
    codec_encode_inference(cx, CODEC_FMT_SINGLE_OBJECT, 0, &bad, &n, &err);
    CHECK(codec_decode_inference(cx, n.data, n.len, &r, &err) == -1 &&
          err.code == CODEC_E_INVALID_VALUE);
    buf_reset(&n);
    bad = sample();
    bad.camera_id = "cam\xc3\x28";
    codec_encode_inference(cx, CODEC_FMT_SINGLE_OBJECT, 0, &bad, &n, &err);
    CHECK(codec_decode_inference(cx, n.data, n.len, &r, &err) == -1 &&
          err.code == CODEC_E_INVALID_UTF8);
    buf_free(&n);
    buf_free(&b);
}

static void huge_and_deep_json(void)
{
    inference_result r;
    codec_error err;
    /* 10,000 levels of nesting: rejected before parsing, no stack overflow. */
    size_t depth = 10000;
    char *deep = xmalloc(depth * 2 + 64);
    size_t o = (size_t)sprintf(deep, "{\"camera_id\":\"c\",\"attributes\":");
    for (size_t i = 0; i < depth; i++)
        deep[o++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[o++] = ']';
    deep[o++] = '}';
    int rc = codec_decode_inference(cx, deep, o, &r, &err);
    free(deep);
    CHECK(rc == -1 && err.code == CODEC_E_JSON_TOO_DEEP);
    /* A 5 MB string field. */
    size_t big = 5u << 20;
    char *huge = xmalloc(big + 200);
    o = (size_t)sprintf(
        huge, "{\"model_id\":\"m\",\"timestamp\":1,\"event_type\":\"x\",\"camera_id\":\"");
    memset(huge + o, 'a', big);
    o += big;
    o += (size_t)sprintf(huge + o, "\"}");
    rc = codec_decode_inference(cx, huge, o, &r, &err);
    free(huge);
    CHECK(rc == -1 && err.code == CODEC_E_TOO_LARGE);
    /* Empty and whitespace-only. */
    CHECK(codec_decode_inference(cx, "", 0, &r, &err) == -1 && err.code == CODEC_E_BAD_FRAMING);
    CHECK(codec_decode_inference(cx, "  \n", 3, &r, &err) == -1 && err.code == CODEC_E_BAD_FRAMING);
}

static void skew(void)
{
    codec_error err;
    int64_t now = clock_wall_us();
    CHECK(codec_check_skew(now - 10 * 1000000LL, now, 60, &err) == 0);
    CHECK(codec_check_skew(now + 3600 * 1000000LL, now, 60, &err) == -1 &&
          err.code == CODEC_E_CLOCK_SKEW);
}

static bool same_violation_change(const violation_change_msg *a, const violation_change_msg *b)
{
    const violation_msg *x = &a->violation, *y = &b->violation;
    return same_opt(a->violation_id, b->violation_id) && same_opt(a->change, b->change) &&
           a->occurred_at_us == b->occurred_at_us && a->version == b->version &&
           same_opt(x->id, y->id) && same_opt(x->type, y->type) &&
           same_opt(x->camera_id, y->camera_id) && same_opt(x->stream_id, y->stream_id) &&
           same_opt(x->status, y->status) && same_opt(x->severity, y->severity) &&
           x->confidence == y->confidence && x->max_confidence == y->max_confidence &&
           x->event_count == y->event_count && x->first_event_at_us == y->first_event_at_us &&
           x->last_event_at_us == y->last_event_at_us && x->ended_at_us == y->ended_at_us &&
           x->nboxes == y->nboxes && same_boxes(x->boxes, y->boxes, x->nboxes) &&
           same_opt(x->reviewed_by, y->reviewed_by) && x->reviewed_at_us == y->reviewed_at_us &&
           same_opt(x->resolution_notes, y->resolution_notes) &&
           same_opt(x->snapshot_status, y->snapshot_status) &&
           same_opt(x->snapshot_url, y->snapshot_url) &&
           same_opt(x->bookmark_status, y->bookmark_status) &&
           same_opt(x->bookmark_url, y->bookmark_url) && x->created_at_us == y->created_at_us &&
           x->updated_at_us == y->updated_at_us && x->version == y->version;
}

static bool same_evidence_request(const evidence_request_msg *a, const evidence_request_msg *b)
{
    return same_opt(a->violation_id, b->violation_id) && same_opt(a->camera_id, b->camera_id) &&
           same_opt(a->stream_id, b->stream_id) && same_opt(a->kind, b->kind) &&
           a->center_timestamp_us == b->center_timestamp_us &&
           a->before_seconds == b->before_seconds && a->after_seconds == b->after_seconds &&
           a->attempt == b->attempt;
}

static void pipeline_messages_every_field(void)
{
    codec_error err;
    evidence_request_msg ers[2] = {
        {"4b4c2b36-5f7e-4a37-9a4a-0c7b8c1d2e3f", "cam-9", NULL, "bookmark", 1795000000000000LL, 5,
         10, 1},
        {"4b4c2b36-5f7e-4a37-9a4a-0c7b8c1d2e3f", "cam-9", "s-2", "snapshot", -1, 0, 2147483647, 3}};
    violation_change_msg vcs[2] = {{0}, {0}};
    vcs[0].violation_id = vcs[1].violation_id = "4b4c2b36-5f7e-4a37-9a4a-0c7b8c1d2e3f";
    vcs[0].change = "opened";
    vcs[0].occurred_at_us = 1795000000000000LL;
    vcs[0].version = 1;
    vcs[0].violation = (violation_msg){.id = vcs[0].violation_id,
                                       .type = "fall_detected",
                                       .camera_id = "cam-9",
                                       .status = "open",
                                       .severity = "low",
                                       .confidence = 0.6,
                                       .max_confidence = 0.6,
                                       .event_count = 1,
                                       .first_event_at_us = 1,
                                       .last_event_at_us = 1,
                                       .created_at_us = 2,
                                       .updated_at_us = 2,
                                       .version = 1};
    vcs[1].change = "evidence_ready";
    vcs[1].occurred_at_us = 1795000009000000LL;
    vcs[1].version = 9;
    vcs[1].violation = (violation_msg){.id = vcs[1].violation_id,
                                       .type = "ppe",
                                       .camera_id = "cam-9",
                                       .stream_id = "s-2",
                                       .status = "resolved",
                                       .severity = "critical",
                                       .confidence = 0.7,
                                       .max_confidence = 0.99,
                                       .event_count = 12345678901LL,
                                       .first_event_at_us = 1795000000000000LL,
                                       .last_event_at_us = 1795000005000000LL,
                                       .ended_at_us = 1795000006000000LL,
                                       .boxes = sample_boxes,
                                       .nboxes = 2,
                                       .reviewed_by = "bob",
                                       .reviewed_at_us = 1795000008000000LL,
                                       .resolution_notes = "fixed \"rail\" \u00e9",
                                       .snapshot_status = "ready",
                                       .snapshot_url = "https://vas/snap/1.jpg",
                                       .bookmark_status = "failed",
                                       .bookmark_url = "https://vas/b/1",
                                       .created_at_us = 1795000000000001LL,
                                       .updated_at_us = 1795000009000000LL,
                                       .version = 9};
    for (int f = 0; f < 2; f++) {
        codec_format fmt = f ? CODEC_FMT_JSON : CODEC_FMT_SINGLE_OBJECT;
        for (int i = 0; i < 2; i++) {
            buf b = {0};
            CHECK(codec_encode_evidence_request(cx, fmt, &ers[i], &b, &err) == 0);
            evidence_request_msg er;
            void *arena = NULL;
            CHECK_MSG(codec_decode_evidence_request(cx, b.data, b.len, &er, &arena, &err) == 0,
                      "%s", err.message);
            bool ok = same_evidence_request(&ers[i], &er);
            codec_arena_free(arena);
            CHECK_MSG(ok, "EvidenceRequest %d format %d differs", i, f);
            buf_reset(&b);
            CHECK(codec_encode_violation_change(cx, fmt, &vcs[i], &b, &err) == 0);
            violation_change_msg vc;
            CHECK_MSG(codec_decode_violation_change(cx, b.data, b.len, &vc, &arena, &err) == 0,
                      "%s", err.message);
            ok = same_violation_change(&vcs[i], &vc);
            codec_arena_free(arena);
            /* A ViolationChange is not an EvidenceRequest. */
            evidence_request_msg wrong;
            CHECK(codec_decode_evidence_request(cx, b.data, b.len, &wrong, &arena, &err) == -1 &&
                  arena == NULL);
            buf_free(&b);
            CHECK_MSG(ok, "ViolationChange %d format %d differs", i, f);
        }
    }
    /* Enum text outside the schema, in JSON input. */
    const char *bad =
        "{\"violation_id\":\"v\",\"change\":\"exploded\",\"occurred_at\":1,"
        "\"version\":1,\"violation\":{\"id\":\"v\",\"type\":\"t\",\"camera_id\":\"c\","
        "\"status\":\"open\",\"severity\":\"low\",\"confidence\":0.5,"
        "\"max_confidence\":0.5,\"event_count\":1,\"first_event_at\":1,"
        "\"last_event_at\":1,\"created_at\":1,\"updated_at\":1,\"version\":1}}";
    violation_change_msg vc;
    void *arena = NULL;
    CHECK(codec_decode_violation_change(cx, bad, strlen(bad), &vc, &arena, &err) == -1 &&
          err.code == CODEC_E_INVALID_VALUE && arena == NULL);
}

static void pipeline_messages(void)
{
    codec_error err;
    /* EvidenceRequest round trip in both encodings. */
    evidence_request_msg ev = {"4b4c2b36-5f7e-4a37-9a4a-0c7b8c1d2e3f",
                               "cam-9",
                               NULL,
                               "bookmark",
                               1795000000000000LL,
                               5,
                               10,
                               1};
    for (int f = 0; f < 2; f++) {
        buf b = {0};
        CHECK(codec_encode_evidence_request(cx, f ? CODEC_FMT_JSON : CODEC_FMT_SINGLE_OBJECT, &ev,
                                            &b, &err) == 0);
        evidence_request_msg got;
        void *arena;
        int rc = codec_decode_evidence_request(cx, b.data, b.len, &got, &arena, &err);
        buf_free(&b);
        CHECK_MSG(rc == 0, "%s", err.message);
        int ok = !strcmp(got.kind, "bookmark") && got.stream_id == NULL &&
                 got.center_timestamp_us == ev.center_timestamp_us && got.after_seconds == 10 &&
                 !strcmp(got.violation_id, ev.violation_id);
        codec_arena_free(arena);
        CHECK(ok);
    }
    /* ViolationChange round trip. */
    violation_change_msg vc = {0};
    vc.violation_id = "4b4c2b36-5f7e-4a37-9a4a-0c7b8c1d2e3f";
    vc.change = "status_changed";
    vc.occurred_at_us = 1795000001000000LL;
    vc.version = 3;
    vc.violation = (violation_msg){.id = vc.violation_id,
                                   .type = "fall_detected",
                                   .camera_id = "cam-9",
                                   .status = "dismissed",
                                   .severity = "high",
                                   .confidence = 0.8,
                                   .max_confidence = 0.95,
                                   .event_count = 7,
                                   .first_event_at_us = 1795000000000000LL,
                                   .last_event_at_us = 1795000000500000LL,
                                   .boxes = sample_boxes,
                                   .nboxes = 1,
                                   .reviewed_by = "alice",
                                   .reviewed_at_us = 1795000001000000LL,
                                   .snapshot_status = "pending",
                                   .created_at_us = 1795000000000000LL,
                                   .updated_at_us = 1795000001000000LL,
                                   .version = 3};
    for (int f = 0; f < 2; f++) {
        buf b = {0};
        CHECK(codec_encode_violation_change(cx, f ? CODEC_FMT_JSON : CODEC_FMT_SINGLE_OBJECT, &vc,
                                            &b, &err) == 0);
        violation_change_msg got;
        void *arena;
        int rc = codec_decode_violation_change(cx, b.data, b.len, &got, &arena, &err);
        buf_free(&b);
        CHECK_MSG(rc == 0, "%s", err.message);
        int ok = !strcmp(got.change, "status_changed") && got.version == 3 &&
                 !strcmp(got.violation.status, "dismissed") && got.violation.event_count == 7 &&
                 got.violation.ended_at_us == 0 && got.violation.nboxes == 1 &&
                 !strcmp(got.violation.reviewed_by, "alice") &&
                 got.violation.resolution_notes == NULL;
        codec_arena_free(arena);
        CHECK(ok);
    }
    vc.change = "exploded";
    buf b = {0};
    CHECK(codec_encode_violation_change(cx, CODEC_FMT_SINGLE_OBJECT, &vc, &b, &err) == -1 &&
          b.len == 0);
    /* Event: single-object header carries the Event fingerprint. */
    event_msg em = {.id = vc.violation_id,
                    .camera_id = "cam-9",
                    .event_type = "fall_detected",
                    .type_detail = "fall",
                    .confidence = 0.9,
                    .timestamp_us = 1,
                    .model_id = "m",
                    .created_at_us = 2};
    uint64_t fp;
    CHECK(codec_schema_json(cx, "Event", &fp) != NULL);
    CHECK(codec_encode_event(cx, CODEC_FMT_SINGLE_OBJECT, &em, &b, &err) == 0);
    uint64_t got = 0;
    for (int i = 0; i < 8; i++)
        got |= (uint64_t)b.data[2 + i] << (8 * i);
    CHECK(b.data[0] == 0xC3 && b.data[1] == 0x01 && got == fp);
    /* An Event is not an InferenceResult. */
    inference_result r;
    CHECK(codec_decode_inference(cx, b.data, b.len, &r, &err) == -1 &&
          err.code == CODEC_E_INCOMPATIBLE_SCHEMA);
    buf_reset(&b);
    CHECK(codec_encode_event(cx, CODEC_FMT_JSON, &em, &b, &err) == 0);
    CHECK(strstr(buf_cstr(&b), "\"type_detail\":\"fall\"") != NULL);
    buf_free(&b);
}

/* ---- Confluent framing against an in-process registry ---- */

static const char *foreign_schema =
    "{\"type\":\"record\",\"name\":\"InferenceResult\",\"namespace\":\"ai.ruth.v1\",\"fields\":["
    "{\"name\":\"event_type\",\"type\":\"string\"},"
    "{\"name\":\"camera_id\",\"type\":\"string\"},"
    "{\"name\":\"gpu\",\"type\":\"string\"},"
    "{\"name\":\"model_id\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"confidence\",\"type\":\"double\"}]}";

/* Incompatible: camera_id is an int. */
static const char *int_camera_schema =
    "{\"type\":\"record\",\"name\":\"InferenceResult\",\"fields\":["
    "{\"name\":\"camera_id\",\"type\":\"int\"},{\"name\":\"model_id\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":\"long\"},{\"name\":\"event_type\",\"type\":\"string\"}]}";

/* Another producer's record name, boxes, attributes and a float confidence. */
static const char *acme_schema =
    "{\"type\":\"record\",\"name\":\"Detection\",\"namespace\":\"com.acme\",\"fields\":["
    "{\"name\":\"camera_id\",\"type\":\"string\"},{\"name\":\"model_id\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":\"long\"},{\"name\":\"event_type\",\"type\":\"string\"},"
    "{\"name\":\"confidence\",\"type\":\"float\"},"
    "{\"name\":\"bounding_boxes\",\"type\":{\"type\":\"array\",\"items\":{\"type\":\"record\","
    "\"name\":\"BoundingBox\",\"fields\":[{\"name\":\"x\",\"type\":\"double\"},"
    "{\"name\":\"y\",\"type\":\"double\"},{\"name\":\"width\",\"type\":\"double\"},"
    "{\"name\":\"height\",\"type\":\"double\"},{\"name\":\"label\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"confidence\",\"type\":[\"null\",\"double\"]}]}}},"
    "{\"name\":\"attributes\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
    "{\"name\":\"result_id\",\"type\":[\"null\",\"string\"]}]}";

static int registry_gets; /* GET /schemas/ids/... served */

#define HUGE_ANSWER ((1 << 20) + 4096) /* over the client's REGISTRY_MAX_RESPONSE */

/* Hostile writer schemas (issue 14, item 3): our required fields, then a
 * writer-only field whose values multiply decoding work through nesting. */
static const char *hostile_prefix =
    "{\"type\":\"record\",\"name\":\"Hostile\",\"fields\":["
    "{\"name\":\"camera_id\",\"type\":\"string\"},{\"name\":\"model_id\",\"type\":\"string\"},"
    "{\"name\":\"timestamp\",\"type\":\"long\"},{\"name\":\"event_type\",\"type\":\"string\"},"
    "{\"name\":\"junk\",\"type\":";

/* Records D<k> holding D<k+1> twice, down to D<depth> (a null): a value of
 * D0 is 2^depth nulls in no bytes at all. */
static void hostile_doubling(buf *b, int k, int depth)
{
    char name[16];
    snprintf(name, sizeof name, "D%d", k);
    char text[64];
    snprintf(text, sizeof text, "{\"type\":\"record\",\"name\":\"%s\",\"fields\":[", name);
    buf_append_str(b, text);
    if (k == depth) {
        buf_append_str(b, "{\"name\":\"z\",\"type\":\"null\"}]}");
        return;
    }
    buf_append_str(b, "{\"name\":\"a\",\"type\":");
    hostile_doubling(b, k + 1, depth);
    snprintf(text, sizeof text, "},{\"name\":\"b\",\"type\":\"D%d\"}]}", k + 1);
    buf_append_str(b, text);
}

/* Streams HUGE_ANSWER bytes of a JSON string without a Content-Length. */
static ssize_t registry_huge_chunk(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)cls;
    if (pos >= HUGE_ANSWER)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = HUGE_ANSWER - pos < max ? (size_t)(HUGE_ANSWER - pos) : max;
    memset(out, 'x', n);
    if (pos == 0 && n >= 11)
        memcpy(out, "{\"schema\":\"", 11);
    return (ssize_t)n;
}

static enum MHD_Result registry_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version, const char *upload,
                                        size_t *upload_size, void **state)
{
    (void)cls, (void)version, (void)upload;
    if (!strcmp(method, "POST") && *state == NULL) {
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    unsigned status = 200;
    char *body;
    if (!strcmp(method, "GET"))
        __atomic_add_fetch(&registry_gets, 1, __ATOMIC_SEQ_CST);
    if (!strcmp(method, "POST")) {
        body = xstrdup("{\"id\":1}");
    } else if (!strcmp(url, "/schemas/ids/1")) {
        json_t *j = json_pack("{ss}", "schema", codec_schema_json(cx, "InferenceResult", NULL));
        body = json_dumps(j, 0);
        json_decref(j);
    } else if (!strcmp(url, "/schemas/ids/2")) {
        json_t *j = json_pack("{ss}", "schema", foreign_schema);
        body = json_dumps(j, 0);
        json_decref(j);
    } else if (!strcmp(url, "/schemas/ids/5") || !strcmp(url, "/schemas/ids/6")) {
        json_t *j = json_pack("{ss}", "schema", url[13] == '5' ? int_camera_schema : acme_schema);
        body = json_dumps(j, 0);
        json_decref(j);
    } else if (!strcmp(url, "/schemas/ids/7") || !strcmp(url, "/schemas/ids/8")) {
        /* acme's schema with the box record under its own name (7), and
         * without a height (8). */
        char *text = xstrdup(acme_schema);
        char *at = strstr(text, "BoundingBox");
        memmove(at, at + 8, strlen(at + 8) + 1); /* "Box" */
        if (url[13] == '8')
            memcpy(strstr(text, "\"height\""), "\"length\"", 8);
        json_t *j = json_pack("{ss}", "schema", text);
        body = json_dumps(j, 0);
        json_decref(j);
        free(text);
    } else if (!strcmp(url, "/schemas/ids/10")) {
        /* acme's schema with a box of coordinates only (our label and
         * confidence have defaults). */
        char *text = xstrdup(acme_schema);
        const char *extra = ",{\"name\":\"label\",\"type\":[\"null\",\"string\"]},"
                            "{\"name\":\"confidence\",\"type\":[\"null\",\"double\"]}";
        char *at = strstr(text, extra);
        memmove(at, at + strlen(extra), strlen(at + strlen(extra)) + 1);
        json_t *j = json_pack("{ss}", "schema", text);
        body = json_dumps(j, 0);
        json_decref(j);
        free(text);
    } else if (!strcmp(url, "/schemas/ids/11")) {
        /* An answer over the size limit, with its Content-Length. */
        body = xmalloc(HUGE_ANSWER + 1);
        memset(body, ' ', HUGE_ANSWER);
        body[HUGE_ANSWER] = '\0';
        memcpy(body, "{\"schema\":\"\"}", 13);
    } else if (!strcmp(url, "/schemas/ids/12")) {
        /* The same, streamed (chunked): the limit is met mid-transfer. */
        struct MHD_Response *resp = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 64 * 1024, registry_huge_chunk, NULL, NULL);
        enum MHD_Result r = MHD_queue_response(conn, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return r;
    } else if (!strcmp(url, "/schemas/ids/13") || !strcmp(url, "/schemas/ids/14")) {
        /* 13: junk is an array of arrays of nulls; 14: a doubling record. */
        buf t = {0};
        buf_append_str(&t, hostile_prefix);
        if (url[14] == '3')
            buf_append_str(&t, "{\"type\":\"array\",\"items\":{\"type\":\"array\","
                               "\"items\":\"null\"}}");
        else
            hostile_doubling(&t, 0, 22);
        buf_append_str(&t, "}]}");
        buf_append_byte(&t, 0);
        json_t *j = json_pack("{ss}", "schema", (const char *)t.data);
        body = json_dumps(j, 0);
        json_decref(j);
        buf_free(&t);
    } else if (!strcmp(url, "/schemas/ids/9")) {
        status = 401;
        body = xstrdup("{\"error_code\":401,\"message\":\"Unauthorized\"}");
    } else if (!strcmp(url, "/schemas/ids/4")) {
        status = 500;
        body = xstrdup("{\"error_code\":50001}");
    } else {
        status = 404;
        body = xstrdup("{\"error_code\":40403,\"message\":\"Schema not found\"}");
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* confluent_with_registry runs these steps in order against one codec and
 * one fake registry: later steps rely on what earlier ones left in the
 * codec's schema cache, and the failure steps reuse the foreign body. */
typedef struct registry_fx {
    codec *rc;
    char body[512]; /* a foreign writer's message, schema id in bytes 1..4 */
    size_t blen;
} registry_fx;

/* (a) our own schema under id 1: lean path. */
static void registry_own_schema(registry_fx *fx)
{
    codec_error err;
    inference_result in = sample(), out;
    buf b = {0};
    CHECK(codec_encode_inference(fx->rc, CODEC_FMT_CONFLUENT, 1, &in, &b, &err) == 0);
    CHECK(b.data[0] == 0 && b.data[4] == 1);
    CHECK_MSG(codec_decode_inference(fx->rc, b.data, b.len, &out, &err) == 0, "%s", err.message);
    int ok;
    check_equal(&in, &out, &ok);
    inference_result_free(&out);
    CHECK(ok);
    buf_free(&b);
}

/* fx->body: a message from a foreign writer schema (id 2; reordered, an
 * extra field, optionals missing), written with avro-c. */
static void registry_foreign_body(registry_fx *fx)
{
    avro_schema_t ws;
    CHECK(avro_schema_from_json_length(foreign_schema, strlen(foreign_schema), &ws) == 0);
    avro_value_iface_t *iface = avro_generic_class_from_schema(ws);
    avro_value_t v, f;
    avro_generic_value_new(iface, &v);
    avro_value_get_by_name(&v, "event_type", &f, NULL);
    avro_value_set_string(&f, "missing_hardhat");
    avro_value_get_by_name(&v, "camera_id", &f, NULL);
    avro_value_set_string(&f, "cam-7");
    avro_value_get_by_name(&v, "gpu", &f, NULL);
    avro_value_set_string(&f, "t4");
    avro_value_get_by_name(&v, "model_id", &f, NULL);
    avro_value_set_string(&f, "ppe");
    avro_value_get_by_name(&v, "timestamp", &f, NULL);
    avro_value_set_long(&f, 1795000000000000LL);
    avro_value_get_by_name(&v, "confidence", &f, NULL);
    avro_value_set_double(&f, 0.75);
    avro_writer_t w = avro_writer_memory(fx->body + 5, sizeof fx->body - 5);
    CHECK(avro_value_write(w, &v) == 0);
    fx->blen = (size_t)avro_writer_tell(w) + 5;
    avro_writer_free(w);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(ws);
    memcpy(fx->body, "\x00\x00\x00\x00\x02", 5);
}

/* (b) the foreign writer schema resolved through avro-c. */
static void registry_foreign_writer(registry_fx *fx)
{
    codec_error err;
    inference_result out;
    int drc = codec_decode_inference(fx->rc, fx->body, fx->blen, &out, &err);
    CHECK_MSG(drc == 0, "%s: %s", codec_errcode_name(err.code), err.message);
    int ok = !strcmp(out.camera_id, "cam-7") && !strcmp(out.event_type, "missing_hardhat") &&
             out.confidence == 0.75 && out.nboxes == 0 && out.frame_id == NULL &&
             out.format == CODEC_FMT_CONFLUENT;
    inference_result_free(&out);
    CHECK(ok);
}

/* The foreign path checks lengths before avro-c sees them: the extra
 * "gpu" string claiming 2^40 bytes, and trailing bytes. */
static void registry_foreign_lengths(registry_fx *fx)
{
    codec_error err;
    inference_result out;
    buf h = {0};
    buf_append(&h, "\x00\x00\x00\x00\x02", 5);
    buf_avro_string(&h, "e");
    buf_avro_string(&h, "c");
    buf_avro_long(&h, (int64_t)1 << 40);
    buf_append_str(&h, "t4");
    CHECK(codec_decode_inference(fx->rc, h.data, h.len, &out, &err) == -1 &&
          err.code == CODEC_E_AVRO_DECODE);
    buf_reset(&h);
    buf_append(&h, fx->body, fx->blen);
    buf_append_byte(&h, 0);
    CHECK(codec_decode_inference(fx->rc, h.data, h.len, &out, &err) == -1 &&
          err.code == CODEC_E_AVRO_DECODE);
    for (size_t cut = 5; cut < fx->blen; cut++)
        CHECK_MSG(codec_decode_inference(fx->rc, fx->body, cut, &out, &err) == -1 &&
                      err.code == CODEC_E_AVRO_DECODE,
                  "foreign body cut at %zu", cut);
    buf_free(&h);
}

/* The same schema id again is served from the cache. */
static void registry_schema_cached(registry_fx *fx)
{
    codec_error err;
    inference_result out;
    int gets = __atomic_load_n(&registry_gets, __ATOMIC_SEQ_CST);
    CHECK(codec_decode_inference(fx->rc, fx->body, fx->blen, &out, &err) == 0);
    inference_result_free(&out);
    CHECK(__atomic_load_n(&registry_gets, __ATOMIC_SEQ_CST) == gets);
}

/* An incompatible writer (camera_id an int), remembered per id. */
static void registry_incompatible_writer(registry_fx *fx)
{
    codec_error err;
    inference_result out;
    buf h = {0};
    buf_append(&h, "\x00\x00\x00\x00\x05", 5);
    buf_avro_long(&h, 7);
    buf_avro_string(&h, "m");
    buf_avro_long(&h, 1);
    buf_avro_string(&h, "e");
    for (int i = 0; i < 2; i++)
        CHECK(codec_decode_inference(fx->rc, h.data, h.len, &out, &err) == -1 &&
              err.code == CODEC_E_INCOMPATIBLE_SCHEMA);
    buf_free(&h);
}

/* Another record name, float confidence promoted, boxes and attributes
 * (id 6); the same bytes under a schema whose box record has the
 * producer's own name (7) decode alike; a box record without a height (8)
 * is incompatible. */
static void registry_acme_writer(registry_fx *fx)
{
    codec_error err;
    inference_result out;
    buf h = {0};
    buf_append(&h, "\x00\x00\x00\x00\x06", 5);
    buf_avro_string(&h, "cam-8");
    buf_avro_string(&h, "m");
    buf_avro_long(&h, 1795000000000000LL);
    buf_avro_string(&h, "e");
    const float fconf = 0.5f;
    buf_append(&h, &fconf, 4); /* little-endian hosts only, as everywhere here */
    buf_avro_long(&h, 1);
    const double coords[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4; i++)
        buf_avro_double(&h, coords[i]);
    buf_avro_long(&h, 1);
    buf_avro_string(&h, "helmet");
    buf_avro_long(&h, 0);
    buf_avro_long(&h, 0);
    buf_avro_long(&h, 1);
    buf_avro_string(&h, "site");
    buf_avro_string(&h, "north");
    buf_avro_long(&h, 0);
    buf_avro_long(&h, 1);
    buf_avro_string(&h, "0B9E3A52-7C4D-4E7A-9F0A-0123456789AB");
    int drc = codec_decode_inference(fx->rc, h.data, h.len, &out, &err);
    CHECK_MSG(drc == 0, "%s: %s", codec_errcode_name(err.code), err.message);
    int ok = !strcmp(out.camera_id, "cam-8") && out.confidence == 0.5 && out.nboxes == 1 &&
             out.boxes[0].height == 4 && !strcmp(out.boxes[0].label, "helmet") &&
             !out.boxes[0].has_confidence && out.nattributes == 1 &&
             !strcmp(out.attributes[0].value, "north") &&
             !strcmp(out.result_id, "0b9e3a52-7c4d-4e7a-9f0a-0123456789ab");
    inference_result_free(&out);
    CHECK(ok);

    h.data[4] = 7;
    drc = codec_decode_inference(fx->rc, h.data, h.len, &out, &err);
    CHECK_MSG(drc == 0, "%s: %s", codec_errcode_name(err.code), err.message);
    CHECK(out.nboxes == 1 && out.boxes[0].height == 4 && out.boxes[0].x == 1);
    inference_result_free(&out);
    h.data[4] = 8;
    CHECK(codec_decode_inference(fx->rc, h.data, h.len, &out, &err) == -1 &&
          err.code == CODEC_E_INCOMPATIBLE_SCHEMA && strstr(err.message, "height"));
    buf_free(&h);
}

/* A box without the optional label and confidence decodes, without them. */
static void registry_box_without_label(registry_fx *fx)
{
    codec_error err;
    inference_result out;
    buf h = {0};
    buf_append(&h, "\x00\x00\x00\x00\x0a", 5);
    buf_avro_string(&h, "cam-9");
    buf_avro_string(&h, "m");
    buf_avro_long(&h, 1795000000000000LL);
    buf_avro_string(&h, "e");
    const float fconf = 0.5f;
    buf_append(&h, &fconf, 4);
    buf_avro_long(&h, 1);
    const double coords[4] = {1, 2, 3, 4};
    for (int i = 0; i < 4; i++)
        buf_avro_double(&h, coords[i]);
    buf_avro_long(&h, 0);
    buf_avro_long(&h, 0); /* no attributes */
    buf_avro_long(&h, 0); /* result_id null */
    int drc = codec_decode_inference(fx->rc, h.data, h.len, &out, &err);
    CHECK_MSG(drc == 0, "%s: %s", codec_errcode_name(err.code), err.message);
    CHECK(out.nboxes == 1 && out.boxes[0].width == 3 && out.boxes[0].label == NULL &&
          !out.boxes[0].has_confidence);
    inference_result_free(&out);
    buf_free(&h);
}

/* (c) unknown id, (d) registry failing: transient, never dead-lettered. */
static void registry_failures(registry_fx *fx)
{
    codec_error err;
    inference_result out;
    memcpy(fx->body, "\x00\x00\x00\x00\x03", 5);
    CHECK(codec_decode_inference(fx->rc, fx->body, fx->blen, &out, &err) == -1 &&
          err.code == CODEC_E_UNKNOWN_SCHEMA_ID && !codec_error_is_transient(err.code));
    /* Asked once: more messages with that id do not reach the registry. */
    int gets = __atomic_load_n(&registry_gets, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 5; i++)
        CHECK(codec_decode_inference(fx->rc, fx->body, fx->blen, &out, &err) == -1 &&
              err.code == CODEC_E_UNKNOWN_SCHEMA_ID);
    CHECK_EQ_INT(__atomic_load_n(&registry_gets, __ATOMIC_SEQ_CST), gets);
    memcpy(fx->body, "\x00\x00\x00\x00\x04", 5);
    CHECK(codec_decode_inference(fx->rc, fx->body, fx->blen, &out, &err) == -1 &&
          err.code == CODEC_E_REGISTRY_UNAVAILABLE && codec_error_is_transient(err.code));
    /* A registry refusing our credentials is its problem, not the message's. */
    memcpy(fx->body, "\x00\x00\x00\x00\x09", 5);
    CHECK(codec_decode_inference(fx->rc, fx->body, fx->blen, &out, &err) == -1 &&
          err.code == CODEC_E_REGISTRY_UNAVAILABLE);
}

/* (e) an answer over the size limit (issue 14, item 4): the registry did
 * answer, so it is a permanent failure of that id, dead-lettered as
 * UNKNOWN_SCHEMA_ID naming the reason, not REGISTRY_UNAVAILABLE (which the
 * worker retries forever); remembered like a 404. Both with a declared
 * Content-Length (11) and streamed without one (12). */
static void registry_answer_too_large(registry_fx *fx)
{
    codec_error err;
    inference_result out;
    for (int id = 11; id <= 12; id++) {
        fx->body[4] = (char)id;
        int gets = __atomic_load_n(&registry_gets, __ATOMIC_SEQ_CST);
        CHECK(codec_decode_inference(fx->rc, fx->body, fx->blen, &out, &err) == -1);
        CHECK_MSG(err.code == CODEC_E_UNKNOWN_SCHEMA_ID && !codec_error_is_transient(err.code),
                  "id %d: %s: %s", id, codec_errcode_name(err.code), err.message);
        CHECK_MSG(strstr(err.message, "over") != NULL, "id %d: %s", id, err.message);
        CHECK_EQ_INT(__atomic_load_n(&registry_gets, __ATOMIC_SEQ_CST), gets + 1);
        CHECK(codec_decode_inference(fx->rc, fx->body, fx->blen, &out, &err) == -1 &&
              err.code == CODEC_E_UNKNOWN_SCHEMA_ID && strstr(err.message, "size limit"));
        CHECK_EQ_INT(__atomic_load_n(&registry_gets, __ATOMIC_SEQ_CST), gets + 1);
    }
}

/* (f) a hostile writer schema (issue 14, item 3): nested writer-only
 * arrays multiplied the skim's per-array cap (65,536 x 65,536 nulls in a
 * 262 KB message took 35 s), and a record naming another twice at every
 * level costs 2^22 values in a few bytes. Decoding work is bounded by the
 * message size: both fail fast, TOO_COMPLEX, dead-lettered. */
static void registry_hostile_writer(registry_fx *fx)
{
    codec_error err;
    inference_result out;
    buf h = {0};
    buf_append(&h, "\x00\x00\x00\x00\x0d", 5);
    buf_avro_string(&h, "cam-1");
    buf_avro_string(&h, "m");
    buf_avro_long(&h, 1795000000000000LL);
    buf_avro_string(&h, "e");
    buf_avro_long(&h, 65536); /* outer block: 65,536 inner arrays */
    for (int i = 0; i < 65536; i++) {
        buf_avro_long(&h, 65536); /* of 65,536 nulls each, in 4 bytes */
        buf_avro_long(&h, 0);
    }
    buf_avro_long(&h, 0);
    CHECK(h.len > 262144);
    double t0 = clock_mono_s();
    int drc = codec_decode_inference(fx->rc, h.data, h.len, &out, &err);
    double took = clock_mono_s() - t0;
    CHECK_MSG(drc == -1 && err.code == CODEC_E_TOO_COMPLEX, "%s: %s",
              drc ? codec_errcode_name(err.code) : "decoded", err.message);
    CHECK(!codec_error_is_transient(err.code) &&
          !strcmp(codec_errcode_name(err.code), "TOO_COMPLEX"));
    CHECK_MSG(took < 2.0, "took %.2f s", took);

    /* A few inner arrays of a few nulls are fine: the budget is per byte. */
    buf_reset(&h);
    buf_append(&h, "\x00\x00\x00\x00\x0d", 5);
    buf_avro_string(&h, "cam-1");
    buf_avro_string(&h, "m");
    buf_avro_long(&h, 1795000000000000LL);
    buf_avro_string(&h, "e");
    buf_avro_long(&h, 3);
    for (int i = 0; i < 3; i++) {
        buf_avro_long(&h, 10);
        buf_avro_long(&h, 0);
    }
    buf_avro_long(&h, 0);
    memset(&err, 0, sizeof err);
    drc = codec_decode_inference(fx->rc, h.data, h.len, &out, &err);
    CHECK_MSG(drc == 0, "%s: %s", codec_errcode_name(err.code), err.message);
    CHECK(!strcmp(out.camera_id, "cam-1"));
    inference_result_free(&out);

    /* The doubling record: a handful of bytes. */
    h.data[4] = 14;
    h.len = 5;
    buf_avro_string(&h, "cam-1");
    buf_avro_string(&h, "m");
    buf_avro_long(&h, 1795000000000000LL);
    buf_avro_string(&h, "e");
    t0 = clock_mono_s();
    drc = codec_decode_inference(fx->rc, h.data, h.len, &out, &err);
    took = clock_mono_s() - t0;
    CHECK_MSG(drc == -1 && err.code == CODEC_E_TOO_COMPLEX, "%s: %s",
              drc ? codec_errcode_name(err.code) : "decoded", err.message);
    CHECK_MSG(took < 2.0, "took %.2f s", took);
    buf_free(&h);
}

static void confluent_with_registry(void)
{
    static void (*const steps[])(registry_fx *) = {
        registry_own_schema,       registry_foreign_body,      registry_foreign_writer,
        registry_foreign_lengths,  registry_schema_cached,     registry_incompatible_writer,
        registry_acme_writer,      registry_box_without_label, registry_failures,
        registry_answer_too_large, registry_hostile_writer,
    };
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                                            registry_handler, NULL, MHD_OPTION_END);
    CHECK(d != NULL);
    int port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    registry_fx fx = {.rc = codec_new(url, errstr, sizeof errstr)};
    CHECK_MSG(fx.rc != NULL, "%s", errstr);
    codec_error err;
    int32_t id = 0;
    CHECK(codec_register_inference_schema(fx.rc, "ruth.inference.v1-value", &id, &err) == 0 &&
          id == 1);
    /* A failed CHECK returns from its step; the case stops there. */
    for (size_t i = 0; i < sizeof steps / sizeof steps[0] && !testlib_case_failed; i++)
        steps[i](&fx);
    codec_destroy(fx.rc);
    MHD_stop_daemon(d);
    if (testlib_case_failed)
        return;

    /* Registry down altogether. */
    inference_result out;
    codec *down = codec_new("http://127.0.0.1:1", errstr, sizeof errstr);
    CHECK(down != NULL);
    CHECK(codec_decode_inference(down, fx.body, fx.blen, &out, &err) == -1 &&
          err.code == CODEC_E_REGISTRY_UNAVAILABLE);
    codec_destroy(down);
}

static void throughput(void)
{
    /* Informative only (speed targets live in bench/): decodes per second. */
    const codec_format fmts[] = {CODEC_FMT_SINGLE_OBJECT, CODEC_FMT_JSON};
    const char *names[] = {"single-object", "json"};
    for (int f = 0; f < 2; f++) {
        inference_result in = sample(), out;
        buf b = {0};
        codec_error err;
        codec_encode_inference(cx, fmts[f], 0, &in, &b, &err);
        int n = 20000;
        double t0 = clock_mono_s();
        for (int i = 0; i < n; i++) {
            CHECK(codec_decode_inference(cx, b.data, b.len, &out, &err) == 0);
            inference_result_free(&out);
        }
        double s = clock_mono_s() - t0;
        fprintf(stderr, "   %s: %zu bytes, %.0f decodes/s (this build)\n", names[f], b.len, n / s);
        buf_free(&b);
    }
}

int main(void)
{
    cx = codec_new(NULL, errstr, sizeof errstr);
    if (!cx) {
        fprintf(stderr, "codec_new: %s\n", errstr);
        return 1;
    }
    TEST_RUN(round_trip_every_format);
    TEST_RUN(json_timestamps_and_defaults);
    TEST_RUN(malformed_corpus);
    TEST_RUN(hostile_avro);
    TEST_RUN(huge_and_deep_json);
    TEST_RUN(skew);
    TEST_RUN(proto3_names_and_defaults);
    TEST_RUN(metadata_and_unknown_fields);
    TEST_RUN(contract_payloads);
    TEST_RUN(pipeline_messages);
    TEST_RUN(pipeline_messages_every_field);
    TEST_RUN(inference_readable_by_avro_c);
    TEST_RUN(event_every_field);
    TEST_RUN(confluent_with_registry);
    TEST_RUN(throughput);
    codec_destroy(cx);
    return TEST_EXIT();
}
