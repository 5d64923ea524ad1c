/* Parsing Canonical Form and CRC-64-AVRO against published and reference
 * values: the Avro specification's fingerprint of "null"
 * (7195948357588979594 = 0x63dd24e7cc258f8a), and for the rest the values of
 * an independent implementation (fastavro 1.x to_parsing_canonical_form +
 * fingerprint(CRC-64-AVRO)), written down here so the test needs no Python. */
#include "avro_canonical.h"
#include "codec.h"
#include "embedded.h"
#include "testlib.h"

#include <stdlib.h>

extern const struct embedded_file ruth_schema_files[];
extern const size_t ruth_schema_files_count;

static char err[256];

static uint64_t fp_of(const char *schema)
{
    char *c = avro_canonical_form(schema, strlen(schema), err, sizeof err);
    if (!c)
        return 0;
    uint64_t fp = avro_fingerprint64(c, strlen(c));
    free(c);
    return fp;
}

static void primitives(void)
{
    CHECK(avro_fingerprint64("", 0) == 0xc15d213aa4d7a795ULL);
    CHECK(fp_of("\"null\"") == 0x63dd24e7cc258f8aULL);
    CHECK(fp_of("\"int\"") == 0x7275d51a3f395c8fULL);
    CHECK(fp_of("\"string\"") == 0x8f014872634503c7ULL);
    CHECK(fp_of("{\"type\": \"long\", \"logicalType\": \"timestamp-micros\"}") ==
          fp_of("\"long\""));
}

static void record_canonical_form(void)
{
    const char *s = "{\"namespace\":\"x\",\"type\":\"record\",\"name\":\"test\",\"doc\":\"d\","
                    "\"fields\":[{\"name\":\"a\",\"type\":\"long\",\"default\":1}]}";
    char *c = avro_canonical_form(s, strlen(s), err, sizeof err);
    CHECK_MSG(c != NULL, "%s", err);
    int ok = !strcmp(c, "{\"name\":\"x.test\",\"type\":\"record\",\"fields\":[{\"name\":\"a\","
                        "\"type\":\"long\"}]}");
    free(c);
    CHECK(ok);
    const char *t =
        "{\"type\":\"record\",\"name\":\"test\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"}]}";
    CHECK(fp_of(t) == 0xa0f726676061ed76ULL);
    CHECK(fp_of(s) == 0xc23832948f4558c3ULL);
}

/* Namespaces inherited and overridden, dotted names, named types referenced
 * again by short and full name, enum, fixed, map, array, union; doc, aliases,
 * default, order and logicalType stripped. */
static void named_types(void)
{
    const char *s =
        "{\"type\": \"record\", \"name\": \"Outer\", \"namespace\": \"a.b\", \"doc\": \"x\", "
        "\"aliases\": [\"O\"], \"fields\": [{\"name\": \"in\", \"type\": {\"type\": \"record\", "
        "\"name\": \"Inner\", \"fields\": [{\"name\": \"e\", \"type\": {\"type\": \"enum\", "
        "\"name\": \"E\", \"namespace\": \"c\", \"symbols\": [\"X\", \"Y\"], \"doc\": \"d\"}}]}}, "
        "{\"name\": \"again\", \"type\": \"Inner\"}, {\"name\": \"e2\", \"type\": \"c.E\"}, "
        "{\"name\": \"f\", \"type\": {\"type\": \"fixed\", \"name\": \"d.F\", \"size\": 16}}, "
        "{\"name\": \"m\", \"type\": {\"type\": \"map\", \"values\": {\"type\": \"array\", "
        "\"items\": [\"null\", \"Inner\"]}}}, {\"name\": \"l\", \"type\": {\"type\": \"long\", "
        "\"logicalType\": \"timestamp-micros\"}, \"default\": 0, \"order\": \"descending\"}]}";
    const char *want =
        "{\"name\":\"a.b.Outer\",\"type\":\"record\",\"fields\":[{\"name\":\"in\",\"type\":"
        "{\"name\":\"a.b.Inner\",\"type\":\"record\",\"fields\":[{\"name\":\"e\",\"type\":"
        "{\"name\":\"c.E\",\"type\":\"enum\",\"symbols\":[\"X\",\"Y\"]}}]}},{\"name\":\"again\","
        "\"type\":\"a.b.Inner\"},{\"name\":\"e2\",\"type\":\"c.E\"},{\"name\":\"f\",\"type\":"
        "{\"name\":\"d.F\",\"type\":\"fixed\",\"size\":16}},{\"name\":\"m\",\"type\":{\"type\":"
        "\"map\",\"values\":{\"type\":\"array\",\"items\":[\"null\",\"a.b.Inner\"]}}},"
        "{\"name\":\"l\",\"type\":\"long\"}]}";
    char *c = avro_canonical_form(s, strlen(s), err, sizeof err);
    CHECK_MSG(c != NULL, "%s", err);
    int same = !strcmp(c, want);
    if (!same)
        fprintf(stderr, "   got %s\n", c);
    free(c);
    CHECK(same);
    CHECK(fp_of(s) == 0xb82e9e6e5e08ad9eULL);
}

static const struct {
    const char *file;
    uint64_t fp;
    const char *canonical;
} bundled[] = {
    /* version 2, the current one */
    {"inference_result.avsc", 0x30f842eee97d5cb9ULL,
     "{\"name\":\"ai.ruth.v1.InferenceResult\",\"type\":\"record\",\"fields\":[{\"name\":\"camera_"
     "id\",\"type\":\"string\"},{\"name\":\"model_id\",\"type\":\"string\"},{\"name\":"
     "\"timestamp\",\"type\":\"long\"},{\"name\":\"event_type\",\"type\":\"string\"},{\"name\":"
     "\"confidence\",\"type\":\"double\"},{\"name\":\"bounding_boxes\",\"type\":{\"type\":"
     "\"array\",\"items\":{\"name\":\"ai.ruth.v1.BoundingBox\",\"type\":\"record\",\"fields\":[{"
     "\"name\":\"x\",\"type\":\"double\"},{\"name\":\"y\",\"type\":\"double\"},{\"name\":\"width\","
     "\"type\":\"double\"},{\"name\":\"height\",\"type\":\"double\"},{\"name\":\"label\",\"type\":["
     "\"null\",\"string\"]},{\"name\":\"confidence\",\"type\":[\"null\",\"double\"]}]}}},{\"name\":"
     "\"frame_id\",\"type\":[\"null\",\"string\"]},{\"name\":\"stream_id\",\"type\":[\"null\","
     "\"string\"]},{\"name\":\"model_version\",\"type\":[\"null\",\"string\"]},{\"name\":"
     "\"inference_time_ms\",\"type\":[\"null\",\"double\"]},{\"name\":\"runtime_id\",\"type\":["
     "\"null\",\"string\"]},{\"name\":\"error_code\",\"type\":[\"null\",\"string\"]},{\"name\":"
     "\"error_message\",\"type\":[\"null\",\"string\"]},{\"name\":\"attributes\",\"type\":{"
     "\"type\":\"map\",\"values\":\"string\"}},{\"name\":\"result_id\",\"type\":[\"null\","
     "\"string\"]},{\"name\":\"frame_width\",\"type\":[\"null\",\"int\"]},{\"name\":"
     "\"frame_height\",\"type\":[\"null\",\"int\"]}]}"},
    /* version 1, kept for older producers (schemas/history/) */
    {"inference_result.v1.avsc", 0xb0a2084e9f7607f0ULL,
     "{\"name\":\"ai.ruth.v1.InferenceResult\",\"type\":\"record\",\"fields\":[{\"name\":\"camera_"
     "id\",\"type\":\"string\"},{\"name\":\"model_id\",\"type\":\"string\"},{\"name\":"
     "\"timestamp\",\"type\":\"long\"},{\"name\":\"event_type\",\"type\":\"string\"},{\"name\":"
     "\"confidence\",\"type\":\"double\"},{\"name\":\"bounding_boxes\",\"type\":{\"type\":"
     "\"array\",\"items\":{\"name\":\"ai.ruth.v1.BoundingBox\",\"type\":\"record\",\"fields\":[{"
     "\"name\":\"x\",\"type\":\"double\"},{\"name\":\"y\",\"type\":\"double\"},{\"name\":\"width\","
     "\"type\":\"double\"},{\"name\":\"height\",\"type\":\"double\"},{\"name\":\"label\",\"type\":["
     "\"null\",\"string\"]},{\"name\":\"confidence\",\"type\":[\"null\",\"double\"]}]}}},{\"name\":"
     "\"frame_id\",\"type\":[\"null\",\"string\"]},{\"name\":\"stream_id\",\"type\":[\"null\","
     "\"string\"]},{\"name\":\"model_version\",\"type\":[\"null\",\"string\"]},{\"name\":"
     "\"inference_time_ms\",\"type\":[\"null\",\"double\"]},{\"name\":\"runtime_id\",\"type\":["
     "\"null\",\"string\"]},{\"name\":\"error_code\",\"type\":[\"null\",\"string\"]},{\"name\":"
     "\"error_message\",\"type\":[\"null\",\"string\"]},{\"name\":\"attributes\",\"type\":{"
     "\"type\":\"map\",\"values\":\"string\"}},{\"name\":\"result_id\",\"type\":[\"null\","
     "\"string\"]}]}"},
    {"event.avsc", 0xb7724a1be1d325e4ULL,
     "{\"name\":\"ai.ruth.v1.Event\",\"type\":\"record\",\"fields\":[{\"name\":\"id\",\"type\":"
     "\"string\"},{\"name\":\"camera_id\",\"type\":\"string\"},{\"name\":\"stream_id\",\"type\":["
     "\"null\",\"string\"]},{\"name\":\"event_type\",\"type\":\"string\"},{\"name\":\"type_"
     "detail\",\"type\":[\"null\",\"string\"]},{\"name\":\"confidence\",\"type\":\"double\"},{"
     "\"name\":\"timestamp\",\"type\":\"long\"},{\"name\":\"model_id\",\"type\":\"string\"},{"
     "\"name\":\"model_version\",\"type\":[\"null\",\"string\"]},{\"name\":\"bounding_boxes\","
     "\"type\":{\"type\":\"array\",\"items\":{\"name\":\"ai.ruth.v1.BoundingBox\",\"type\":"
     "\"record\",\"fields\":[{\"name\":\"x\",\"type\":\"double\"},{\"name\":\"y\",\"type\":"
     "\"double\"},{\"name\":\"width\",\"type\":\"double\"},{\"name\":\"height\",\"type\":"
     "\"double\"},{\"name\":\"label\",\"type\":[\"null\",\"string\"]},{\"name\":\"confidence\","
     "\"type\":[\"null\",\"double\"]}]}}},{\"name\":\"frame_id\",\"type\":[\"null\",\"string\"]},{"
     "\"name\":\"inference_time_ms\",\"type\":[\"null\",\"double\"]},{\"name\":\"violation_id\","
     "\"type\":[\"null\",\"string\"]},{\"name\":\"created_at\",\"type\":\"long\"},{\"name\":"
     "\"metadata\",\"type\":[\"null\",\"string\"]},{\"name\":\"extra\",\"type\":[\"null\","
     "\"string\"]}]}"},
    {"violation_change.avsc", 0xfe2f64f90c5ee9ebULL,
     "{\"name\":\"ai.ruth.v1.ViolationChange\",\"type\":\"record\",\"fields\":[{\"name\":"
     "\"violation_id\",\"type\":\"string\"},{\"name\":\"change\",\"type\":{\"name\":\"ai.ruth.v1."
     "ChangeKind\",\"type\":\"enum\",\"symbols\":[\"opened\",\"updated\",\"status_changed\","
     "\"evidence_ready\",\"evidence_failed\"]}},{\"name\":\"occurred_at\",\"type\":\"long\"},{"
     "\"name\":\"version\",\"type\":\"long\"},{\"name\":\"violation\",\"type\":{\"name\":\"ai.ruth."
     "v1.Violation\",\"type\":\"record\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{"
     "\"name\":\"type\",\"type\":\"string\"},{\"name\":\"camera_id\",\"type\":\"string\"},{"
     "\"name\":\"stream_id\",\"type\":[\"null\",\"string\"]},{\"name\":\"status\",\"type\":{"
     "\"name\":\"ai.ruth.v1.ViolationStatus\",\"type\":\"enum\",\"symbols\":[\"open\",\"reviewed\","
     "\"dismissed\",\"resolved\"]}},{\"name\":\"severity\",\"type\":\"string\"},{\"name\":"
     "\"confidence\",\"type\":\"double\"},{\"name\":\"max_confidence\",\"type\":\"double\"},{"
     "\"name\":\"event_count\",\"type\":\"long\"},{\"name\":\"first_event_at\",\"type\":\"long\"},{"
     "\"name\":\"last_event_at\",\"type\":\"long\"},{\"name\":\"ended_at\",\"type\":[\"null\","
     "\"long\"]},{\"name\":\"bounding_boxes\",\"type\":{\"type\":\"array\",\"items\":{\"name\":"
     "\"ai.ruth.v1.BoundingBox\",\"type\":\"record\",\"fields\":[{\"name\":\"x\",\"type\":"
     "\"double\"},{\"name\":\"y\",\"type\":\"double\"},{\"name\":\"width\",\"type\":\"double\"},{"
     "\"name\":\"height\",\"type\":\"double\"},{\"name\":\"label\",\"type\":[\"null\",\"string\"]},"
     "{\"name\":\"confidence\",\"type\":[\"null\",\"double\"]}]}}},{\"name\":\"reviewed_by\","
     "\"type\":[\"null\",\"string\"]},{\"name\":\"reviewed_at\",\"type\":[\"null\",\"long\"]},{"
     "\"name\":\"resolution_notes\",\"type\":[\"null\",\"string\"]},{\"name\":\"snapshot_status\","
     "\"type\":[\"null\",\"string\"]},{\"name\":\"snapshot_url\",\"type\":[\"null\",\"string\"]},{"
     "\"name\":\"bookmark_status\",\"type\":[\"null\",\"string\"]},{\"name\":\"bookmark_url\","
     "\"type\":[\"null\",\"string\"]},{\"name\":\"created_at\",\"type\":\"long\"},{\"name\":"
     "\"updated_at\",\"type\":\"long\"},{\"name\":\"version\",\"type\":\"long\"}]}}]}"},
    {"evidence_request.avsc", 0x832dffdde09a4b91ULL,
     "{\"name\":\"ai.ruth.v1.EvidenceRequest\",\"type\":\"record\",\"fields\":[{\"name\":"
     "\"violation_id\",\"type\":\"string\"},{\"name\":\"camera_id\",\"type\":\"string\"},{\"name\":"
     "\"stream_id\",\"type\":[\"null\",\"string\"]},{\"name\":\"kind\",\"type\":{\"name\":\"ai."
     "ruth.v1.EvidenceKind\",\"type\":\"enum\",\"symbols\":[\"snapshot\",\"bookmark\"]}},{\"name\":"
     "\"center_timestamp\",\"type\":\"long\"},{\"name\":\"before_seconds\",\"type\":\"int\"},{"
     "\"name\":\"after_seconds\",\"type\":\"int\"},{\"name\":\"attempt\",\"type\":\"int\"}]}"},
};

static void bundled_schemas(void)
{
    for (size_t i = 0; i < sizeof bundled / sizeof bundled[0]; i++) {
        const struct embedded_file *f = NULL;
        for (size_t k = 0; k < ruth_schema_files_count; k++)
            if (!strcmp(ruth_schema_files[k].name, bundled[i].file))
                f = &ruth_schema_files[k];
        CHECK_MSG(f != NULL, "%s not embedded", bundled[i].file);
        char *c = avro_canonical_form(f->data, f->len, err, sizeof err);
        CHECK_MSG(c != NULL, "%s: %s", bundled[i].file, err);
        int same = !strcmp(c, bundled[i].canonical);
        uint64_t fp = avro_fingerprint64(c, strlen(c));
        free(c);
        CHECK_MSG(same, "%s canonical form differs from the reference", bundled[i].file);
        CHECK_MSG(fp == bundled[i].fp, "%s fingerprint %016llx", bundled[i].file,
                  (unsigned long long)fp);
    }
}

static void not_a_schema(void)
{
    CHECK(avro_canonical_form("{", 1, err, sizeof err) == NULL);
    CHECK(avro_canonical_form("{\"name\":\"x\"}", 12, err, sizeof err) == NULL);
}

int main(void)
{
    TEST_RUN(primitives);
    TEST_RUN(record_canonical_form);
    TEST_RUN(named_types);
    TEST_RUN(bundled_schemas);
    TEST_RUN(not_a_schema);
    return TEST_EXIT();
}
