/* test_simulate_malform: the deliberately malformed messages of ruth-simulate.
 *
 * The fraction is honoured, the choice depends on the seed only, every kind a
 * format can carry shows up, and each kind really breaks the message: framing
 * kinds on Avro headers, content and syntax kinds on JSON (checked with
 * jansson, the way a strict reader would). */
#include "simulate_encode.h"
#include "simulate_malform.h"
#include "testlib.h"

#include <jansson.h>
#include <math.h>

#define NOW_US 1763800000000000LL

static void test_fraction_and_determinism(void)
{
    sim_malform *a = sim_malform_new(SIM_FORMAT_AVRO, 0.05, 7);
    sim_malform *b = sim_malform_new(SIM_FORMAT_AVRO, 0.05, 7);
    sim_malform *c = sim_malform_new(SIM_FORMAT_AVRO, 0.05, 8);
    const int n = 100000;
    int bad = 0, differ = 0;
    for (int i = 0; i < n; i++) {
        sim_malform_kind ka = sim_malform_pick(a), kb = sim_malform_pick(b);
        sim_malform_kind kc = sim_malform_pick(c);
        CHECK_EQ_INT(ka, kb);
        bad += ka != SIM_MAL_NONE;
        differ += ka != kc;
    }
    CHECK_MSG(fabs((double)bad / n - 0.05) < 0.005, "%d of %d malformed", bad, n);
    CHECK(differ > 0);
    /* every Avro kind, none of the JSON-only ones */
    const uint64_t *cnt = sim_malform_counts(a);
    for (int k = SIM_MAL_TRUNCATED; k <= SIM_MAL_TIMESTAMP_ABSURD; k++)
        CHECK_MSG(cnt[k] > 0, "%s never chosen", sim_malform_kind_name(k));
    CHECK_EQ_INT(cnt[SIM_MAL_MISSING_EVENT_TYPE], 0);
    CHECK_EQ_INT(cnt[SIM_MAL_WRONG_TYPE], 0);
    sim_malform_free(a);
    sim_malform_free(b);
    sim_malform_free(c);

    sim_malform *z = sim_malform_new(SIM_FORMAT_JSON, 0, 1);
    for (int i = 0; i < 10000; i++)
        CHECK_EQ_INT(sim_malform_pick(z), SIM_MAL_NONE);
    sim_malform_free(z);
    sim_malform *all = sim_malform_new(SIM_FORMAT_JSON, 1, 1);
    for (int i = 0; i < 1000; i++)
        CHECK(sim_malform_pick(all) != SIM_MAL_NONE);
    CHECK(sim_malform_counts(all)[SIM_MAL_MISSING_EVENT_TYPE] > 0);
    CHECK_EQ_INT(sim_malform_counts(all)[SIM_MAL_UNKNOWN_SCHEMA], 0);
    sim_malform_free(all);
}

static void test_avro_framing(void)
{
    /* A single-object message: C3 01, fingerprint, body. */
    unsigned char msg[40] = {0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8};
    for (int i = 10; i < 40; i++)
        msg[i] = (unsigned char)i;
    sim_malform *m = sim_malform_new(SIM_FORMAT_AVRO, 1, 3);
    buf b = {0};

    for (int i = 0; i < 200; i++) {
        buf_set(&b, msg, sizeof msg);
        CHECK(sim_malform_bytes(m, SIM_MAL_TRUNCATED, &b));
        CHECK(b.len >= 10 && b.len < sizeof msg);
        CHECK(!memcmp(b.data, msg, 10));
    }
    buf_set(&b, msg, sizeof msg);
    CHECK(sim_malform_bytes(m, SIM_MAL_BAD_MAGIC, &b));
    CHECK(b.data[0] != 0xc3 && b.data[0] != 0x00 && b.data[0] != '{');
    buf_set(&b, msg, sizeof msg);
    CHECK(sim_malform_bytes(m, SIM_MAL_UNKNOWN_SCHEMA, &b));
    CHECK(b.data[0] == 0xc3 && b.data[1] == 0x01 && memcmp(b.data + 2, msg + 2, 8) != 0);
    CHECK(!memcmp(b.data + 10, msg + 10, 30));
    buf_set(&b, msg, sizeof msg);
    CHECK(sim_malform_bytes(m, SIM_MAL_EMPTY, &b));
    CHECK_EQ_INT(b.len, 0);
    sim_malform_free(m);

    /* Confluent: magic 0 + schema id. */
    unsigned char cf[20] = {0, 0, 0, 0, 1};
    m = sim_malform_new(SIM_FORMAT_AVRO_CONFLUENT, 1, 3);
    buf_set(&b, cf, sizeof cf);
    CHECK(sim_malform_bytes(m, SIM_MAL_UNKNOWN_SCHEMA, &b));
    CHECK(b.data[0] == 0 && b.data[1] == 0x7f);
    buf_set(&b, cf, sizeof cf);
    CHECK(sim_malform_bytes(m, SIM_MAL_TRUNCATED, &b));
    CHECK(b.len >= 5 && b.len < sizeof cf);
    sim_malform_free(m);
    buf_free(&b);
}

static void test_frame_kinds(void)
{
    sim_options o;
    sim_options_default(&o);
    sim_scenario *sc = sim_scenario_new(&o);
    sim_malform *m = sim_malform_new(SIM_FORMAT_AVRO, 1, 1);
    sim_frame f;

    sim_scenario_next(sc, NOW_US, &f);
    sim_malform_frame(m, SIM_MAL_CONFIDENCE_RANGE, &f);
    CHECK(f.confidence > 1);
    sim_malform_frame(m, SIM_MAL_CONFIDENCE_NAN, &f);
    CHECK(isnan(f.confidence));
    sim_malform_frame(m, SIM_MAL_NEGATIVE_BOX, &f);
    CHECK(f.nboxes >= 1 && f.boxes[0].x < 0 && f.boxes[0].width < 0);
    sim_malform_frame(m, SIM_MAL_TIMESTAMP_ABSURD, &f);
    CHECK(f.timestamp_us - NOW_US > 20LL * 365 * 86400 * 1000000);
    sim_malform_frame(m, SIM_MAL_INVALID_UTF8, &f);
    CHECK(strchr(f.camera_id, '\xff') != NULL);
    sim_malform_frame(m, SIM_MAL_EMPTY_CAMERA, &f);
    CHECK_EQ_STR(f.camera_id, "");
    sim_malform_free(m);
    sim_scenario_free(sc);
}

/* Each JSON kind, through the JSON encoder, must fail a strict reading. */
static void test_json_kinds_break_the_message(void)
{
    sim_options o;
    sim_options_default(&o);
    sim_scenario *sc = sim_scenario_new(&o);
    char err[256];
    sim_encoder *enc = sim_encoder_new(SIM_FORMAT_JSON, NULL, err, sizeof err);
    CHECK_MSG(enc != NULL, "%s", err);
    sim_malform *m = sim_malform_new(SIM_FORMAT_JSON, 1, 5);
    buf b = {0};
    static const sim_malform_kind kinds[] = {
        SIM_MAL_TRUNCATED,          SIM_MAL_BAD_MAGIC,      SIM_MAL_EMPTY,
        SIM_MAL_CONFIDENCE_RANGE,   SIM_MAL_CONFIDENCE_NAN, SIM_MAL_NEGATIVE_BOX,
        SIM_MAL_EMPTY_CAMERA,       SIM_MAL_INVALID_UTF8,   SIM_MAL_TIMESTAMP_ABSURD,
        SIM_MAL_MISSING_EVENT_TYPE, SIM_MAL_WRONG_TYPE,
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        sim_frame f;
        sim_scenario_next(sc, NOW_US, &f);
        /* The good message first: it parses and has a camera_id. */
        CHECK(sim_encode(enc, &f, &b, err, sizeof err) == 0);
        json_error_t jerr;
        json_t *ok = json_loadb((const char *)b.data, b.len, 0, &jerr);
        CHECK_MSG(ok && json_is_string(json_object_get(ok, "camera_id")), "%s", jerr.text);
        json_decref(ok);

        sim_malform_frame(m, kinds[i], &f);
        CHECK(sim_encode(enc, &f, &b, err, sizeof err) == 0);
        CHECK_MSG(sim_malform_bytes(m, kinds[i], &b), "%s", sim_malform_kind_name(kinds[i]));
        json_t *o = json_loadb((const char *)b.data, b.len, 0, &jerr);
        bool broken = !o;
        if (o) {
            json_t *cam = json_object_get(o, "camera_id"), *conf = json_object_get(o, "confidence");
            json_t *box = json_array_get(json_object_get(o, "bounding_boxes"), 0);
            long long ts = json_integer_value(json_object_get(o, "timestamp"));
            broken = !json_is_string(cam) || !json_string_length(cam) || !json_is_number(conf) ||
                     !json_is_string(json_object_get(o, "event_type")) ||
                     json_number_value(conf) > 1 ||
                     (box && json_number_value(json_object_get(box, "x")) < 0) ||
                     ts - NOW_US > 86400LL * 1000000;
        }
        json_decref(o);
        CHECK_MSG(broken, "%s left a valid message: %.*s", sim_malform_kind_name(kinds[i]),
                  (int)b.len, (const char *)b.data);
    }
    buf_free(&b);
    sim_malform_free(m);
    sim_encoder_free(enc);
    sim_scenario_free(sc);
}

int main(void)
{
    TEST_RUN(test_fraction_and_determinism);
    TEST_RUN(test_avro_framing);
    TEST_RUN(test_frame_kinds);
    TEST_RUN(test_json_kinds_break_the_message);
    return TEST_EXIT();
}
