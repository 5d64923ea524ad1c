/* test_api_contract.c - ruth-api against the Ruth AI API & Contract
 * Specification (docs/RUTH_AI_API_CONTRACT_SPECIFICATION.md, v1.0), on real
 * PostgreSQL and Kafka, for violations, events, devices, inference
 * control, evidence media and the error format.
 *
 * Every example response of those endpoints is pasted below as the
 * document prints it (only "..." abbreviations of ids are kept as they
 * are: they are strings either way), and each answer is checked against it
 * with contract_shape() (tests/contract.h): every field, its nesting and
 * its type, times in the contract's format. Every status code the document
 * lists for an endpoint is produced and checked with its error code. The
 * data is written with SQL so every field has a value to check; inference
 * start is checked once without VAS (the stored stream state decides) and
 * once against the VAS double (VAS decides). */
#include "contract.h"
#include "itest.h"

#include "api.h"

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define VC1 "33333333-3333-4333-8333-000000000001" /* evidence ready */
#define VC2 "33333333-3333-4333-8333-000000000002" /* for PATCH */
#define VC3 "33333333-3333-4333-8333-000000000003" /* evidence processing */
#define VC4 "33333333-3333-4333-8333-000000000004" /* no evidence */
#define VC5 "33333333-3333-4333-8333-000000000005" /* media on the VAS double */
#define EV1 "44444444-4444-4444-8444-000000000001"
#define NOPE "99999999-9999-4999-8999-999999999999"

static int port;
static char tok_viewer[1024], tok_operator[1024], tok_admin[1024];

/* ---- the document's examples (§1.3, §1.4, §1.6, §1.7, §4.1) ---- */

#define BOX                                                                                        \
    "{\"x\": 100, \"y\": 150, \"width\": 200, \"height\": 400, \"label\": \"person\","             \
    " \"confidence\": 0.95}"

static const char ex_violations[] =
    "{\"violations\": [{\"id\": \"550e8400-e29b-41d4-a716-446655440000\","
    " \"type\": \"fall_detected\", \"camera_id\": \"660e8400-e29b-41d4-a716-446655440001\","
    " \"camera_name\": \"Front Door Camera\", \"status\": \"open\", \"confidence\": 0.92,"
    " \"timestamp\": \"2026-01-13T10:30:00.000Z\", \"model_id\": \"fall_detection\","
    " \"model_version\": \"1.0.0\", \"evidence\": {"
    "   \"snapshot_id\": \"770e8400-e29b-41d4-a716-446655440002\","
    "   \"snapshot_url\": \"/api/v1/violations/550e8400.../snapshot\","
    "   \"bookmark_id\": \"880e8400-e29b-41d4-a716-446655440003\","
    "   \"bookmark_url\": \"/api/v1/violations/550e8400.../video\","
    "   \"evidence_status\": \"ready\"},"
    " \"reviewed_by\": null, \"reviewed_at\": null,"
    " \"created_at\": \"2026-01-13T10:30:00.123Z\", \"updated_at\": \"2026-01-13T10:30:00.123Z\"}],"
    " \"pagination\": {\"total\": 150, \"limit\": 20, \"offset\": 0, \"has_more\": true}}";

static const char ex_violation[] =
    "{\"id\": \"550e8400-e29b-41d4-a716-446655440000\", \"type\": \"fall_detected\","
    " \"camera_id\": \"660e8400-e29b-41d4-a716-446655440001\","
    " \"camera_name\": \"Front Door Camera\","
    " \"stream_id\": \"990e8400-e29b-41d4-a716-446655440004\", \"status\": \"open\","
    " \"confidence\": 0.92, \"timestamp\": \"2026-01-13T10:30:00.000Z\","
    " \"model_id\": \"fall_detection\", \"model_version\": \"1.0.0\","
    " \"bounding_boxes\": [" BOX "],"
    " \"evidence\": {\"snapshot_id\": \"770e8400-e29b-41d4-a716-446655440002\","
    "   \"snapshot_url\": \"/api/v1/violations/550e8400.../snapshot\","
    "   \"snapshot_status\": \"ready\","
    "   \"bookmark_id\": \"880e8400-e29b-41d4-a716-446655440003\","
    "   \"bookmark_url\": \"/api/v1/violations/550e8400.../video\","
    "   \"bookmark_status\": \"ready\", \"bookmark_duration_seconds\": 15},"
    " \"events\": [{\"id\": \"aa0e8400-e29b-41d4-a716-446655440005\","
    "   \"timestamp\": \"2026-01-13T10:30:00.000Z\", \"confidence\": 0.92}],"
    " \"reviewed_by\": null, \"reviewed_at\": null, \"resolution_notes\": null,"
    " \"created_at\": \"2026-01-13T10:30:00.123Z\", \"updated_at\": \"2026-01-13T10:30:00.123Z\"}";

static const char ex_patch[] =
    "{\"id\": \"550e8400-e29b-41d4-a716-446655440000\", \"status\": \"reviewed\","
    " \"reviewed_by\": \"operator@example.com\", \"reviewed_at\": \"2026-01-13T11:00:00.000Z\","
    " \"resolution_notes\": \"Operator confirmed fall incident, emergency services notified\","
    " \"updated_at\": \"2026-01-13T11:00:00.000Z\"}";

static const char ex_events[] =
    "{\"events\": [{\"id\": \"aa0e8400-e29b-41d4-a716-446655440005\","
    " \"camera_id\": \"660e8400-e29b-41d4-a716-446655440001\","
    " \"stream_id\": \"990e8400-e29b-41d4-a716-446655440004\", \"event_type\": \"fall_detected\","
    " \"confidence\": 0.92, \"timestamp\": \"2026-01-13T10:30:00.000Z\","
    " \"model_id\": \"fall_detection\", \"model_version\": \"1.0.0\","
    " \"bounding_boxes\": [" BOX "],"
    " \"frame_id\": \"bb0e8400-e29b-41d4-a716-446655440006\","
    " \"violation_id\": \"550e8400-e29b-41d4-a716-446655440000\","
    " \"created_at\": \"2026-01-13T10:30:00.123Z\"}],"
    " \"pagination\": {\"total\": 5000, \"limit\": 50, \"offset\": 0, \"has_more\": true}}";

static const char ex_event[] =
    "{\"id\": \"aa0e8400-e29b-41d4-a716-446655440005\","
    " \"camera_id\": \"660e8400-e29b-41d4-a716-446655440001\","
    " \"camera_name\": \"Front Door Camera\","
    " \"stream_id\": \"990e8400-e29b-41d4-a716-446655440004\", \"event_type\": \"fall_detected\","
    " \"confidence\": 0.92, \"timestamp\": \"2026-01-13T10:30:00.000Z\","
    " \"model_id\": \"fall_detection\", \"model_version\": \"1.0.0\","
    " \"bounding_boxes\": [" BOX "],"
    " \"frame_id\": \"bb0e8400-e29b-41d4-a716-446655440006\", \"inference_time_ms\": 85,"
    " \"violation_id\": \"550e8400-e29b-41d4-a716-446655440000\","
    " \"created_at\": \"2026-01-13T10:30:00.123Z\"}";

static const char ex_devices[] =
    "{\"devices\": [{\"id\": \"660e8400-e29b-41d4-a716-446655440001\","
    " \"name\": \"Front Door Camera\", \"description\": \"Main entrance camera\","
    " \"location\": \"Building A - Entrance\", \"is_active\": true,"
    " \"streaming\": {\"active\": true, \"stream_id\": \"990e8400-e29b-41d4-a716-446655440004\","
    "   \"ai_enabled\": true, \"model_id\": \"fall_detection\"},"
    " \"created_at\": \"2026-01-10T08:00:00.000Z\"}],"
    " \"pagination\": {\"total\": 10, \"limit\": 100, \"offset\": 0, \"has_more\": false}}";

static const char ex_device[] =
    "{\"id\": \"660e8400-e29b-41d4-a716-446655440001\", \"name\": \"Front Door Camera\","
    " \"description\": \"Main entrance camera\", \"location\": \"Building A - Entrance\","
    " \"is_active\": true,"
    " \"streaming\": {\"active\": true, \"stream_id\": \"990e8400-e29b-41d4-a716-446655440004\","
    "   \"state\": \"live\", \"ai_enabled\": true, \"model_id\": \"fall_detection\","
    "   \"inference_fps\": 10, \"started_at\": \"2026-01-13T00:00:00.000Z\"},"
    " \"statistics\": {\"violations_24h\": 3, \"events_24h\": 850,"
    "   \"last_violation_at\": \"2026-01-13T10:30:00.000Z\"},"
    " \"created_at\": \"2026-01-10T08:00:00.000Z\"}";

static const char ex_started[] =
    "{\"device_id\": \"660e8400-e29b-41d4-a716-446655440001\","
    " \"stream_id\": \"990e8400-e29b-41d4-a716-446655440004\", \"status\": \"started\","
    " \"model_id\": \"fall_detection\", \"inference_fps\": 10, \"confidence_threshold\": 0.7,"
    " \"started_at\": \"2026-01-13T11:00:00.000Z\"}";

static const char ex_stopped[] = "{\"device_id\": \"660e8400-e29b-41d4-a716-446655440001\","
                                 " \"status\": \"stopped\", \"stopped_at\": "
                                 "\"2026-01-13T11:30:00.000Z\"}";

static const char ex_already[] = "{\"error\": \"INFERENCE_ALREADY_ACTIVE\","
                                 " \"error_description\": \"AI inference is already active\","
                                 " \"status_code\": 409, \"details\": {\"device_id\": "
                                 "\"660e8400...\", \"model_id\": \"fall_detection\","
                                 " \"started_at\": \"2026-01-13T00:00:00.000Z\"}}";

static const char ex_stream_unavailable[] =
    "{\"error\": \"STREAM_UNAVAILABLE\", \"error_description\": \"Cannot start inference\","
    " \"status_code\": 503, \"details\": {\"vas_error\": \"RTSP_TIMEOUT\"}}";

static const char ex_transition[] =
    "{\"error\": \"INVALID_STATUS_TRANSITION\", \"error_description\": \"Cannot transition\","
    " \"status_code\": 400, \"details\": {\"current_status\": \"resolved\","
    " \"requested_status\": \"reviewed\", \"allowed_transitions\": []}}";

static const char ex_processing_snapshot[] =
    "{\"error\": \"EVIDENCE_PROCESSING\", \"error_description\": \"Snapshot is still being\","
    " \"status_code\": 202, \"details\": {\"snapshot_id\": \"770e8400...\","
    " \"status\": \"processing\", \"retry_after_seconds\": 5}}";

static const char ex_processing_video[] =
    "{\"error\": \"EVIDENCE_PROCESSING\", \"error_description\": \"Video bookmark is still\","
    " \"status_code\": 202, \"details\": {\"bookmark_id\": \"880e8400...\","
    " \"status\": \"processing\", \"retry_after_seconds\": 10}}";

/* §4.1: every error. `details` is an object ("field" stands for any). */
static const char ex_error[] =
    "{\"error\": \"ERROR_CODE\", \"error_description\": \"Human-readable error message\","
    " \"status_code\": 400, \"details\": {}, \"request_id\": \"req_abc123xyz\","
    " \"timestamp\": \"2026-01-13T10:00:00.000Z\"}";

/* ---- checks ---- */

static contract_resp r;

static void call(const char *method, const char *path, const char *token, const char *body)
{
    contract_http(port, method, path, token, body, &r);
}

/* What the document's schemas declare `| null` (§3.1 violation_id, §3.2
 * reviewed_by/at and resolution_notes, §3.3 the evidence ids and URLs);
 * devices: what a camera without inference has none of. */
#define NULLABLE                                                                                   \
    "violation_id|reviewed_by|reviewed_at|resolution_notes|snapshot_id|snapshot_url|bookmark_id|"  \
    "bookmark_url"
#define NULLABLE_DEVICE NULLABLE "|model_id|inference_fps|started_at|last_violation_at"

#define SHAPE_N(where, example, nullable)                                                          \
    do {                                                                                           \
        CHECK_MSG(r.json != NULL, "%s: not JSON: %.*s", where, (int)r.body.len,                    \
                  (const char *)r.body.data);                                                      \
        CHECK(contract_shape_text(where, example, r.json, nullable) > 1);                          \
    } while (0)
#define SHAPE(where, example) SHAPE_N(where, example, NULLABLE)

/* An error answer: the status, the code, the §4.1 format, request id echoed. */
#define ERROR_IS(st, code)                                                                         \
    do {                                                                                           \
        CHECK_MSG(r.status == (st), "status %ld (want %d), body %.*s", r.status, st,               \
                  (int)r.body.len, (const char *)r.body.data);                                     \
        SHAPE(code, ex_error);                                                                     \
        CHECK_EQ_STR(json_string_value(json_object_get(r.json, "error")), code);                   \
        CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "status_code")), st);              \
        CHECK_EQ_STR(json_string_value(json_object_get(r.json, "request_id")), r.request_id);      \
    } while (0)

static const char *jstr(const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    const json_t *cur = r.json;
    for (char *save = NULL, *k = strtok_r(tmp, ".", &save); k && cur;
         k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return json_string_value(cur);
}

static bool sql(const char *s)
{
    return itest_exec(itest_db_url, s);
}

static void seed(void)
{
    sql("INSERT INTO cameras (id, name, description, location, stream_id, stream_state,"
        " inference_active, inference_model_id, inference_fps, inference_confidence_threshold,"
        " inference_started_at) VALUES"
        " ('cam-1', 'Front Door Camera', 'Main entrance camera', 'Building A - Entrance',"
        "  'str-1', 'LIVE', true, 'fall_detection', 10, 0.7, now() - interval '1 hour'),"
        " ('cam-2', 'Gate', 'Side gate', 'Building B', 'str-2', 'LIVE', false, NULL, NULL,"
        "  NULL, NULL),"
        " ('cam-3', 'Yard', 'Yard camera', 'Outside', 'str-3', 'STOPPED', false, NULL, NULL,"
        "  NULL, NULL)");
    sql("INSERT INTO violations (id, type, camera_id, stream_id, model_id, model_version,"
        " confidence, max_confidence, opening_confidence, first_event_at, last_event_at,"
        " bounding_boxes, ended_at) SELECT v::uuid, 'fall_detected', 'cam-1', 'str-1',"
        " 'fall_detection', '1.0.0', 0.92, 0.92, 0.81, now() - interval '1 hour',"
        " now() - interval '1 hour', '[" BOX "]', now() - interval '50 minutes'"
        " FROM unnest(ARRAY['" VC1 "', '" VC2 "', '" VC3 "', '" VC4 "']) v");
    sql("INSERT INTO evidence (violation_id, kind, camera_id, stream_id, status, vas_id,"
        " duration_seconds, before_seconds, after_seconds) VALUES"
        " ('" VC1 "', 'snapshot', 'cam-1', 'str-1', 'ready', 'snap-1', NULL, 0, 0),"
        " ('" VC1 "', 'bookmark', 'cam-1', 'str-1', 'ready', 'bm-1', 15.2, 5, 10),"
        " ('" VC2 "', 'snapshot', 'cam-1', 'str-1', 'ready', 'snap-2', NULL, 0, 0),"
        " ('" VC2 "', 'bookmark', 'cam-1', 'str-1', 'ready', 'bm-2', 15, 5, 10),"
        " ('" VC3 "', 'snapshot', 'cam-1', 'str-1', 'processing', 'snap-3', NULL, 0, 0),"
        " ('" VC3 "', 'bookmark', 'cam-1', 'str-1', 'processing', 'bm-3', NULL, 5, 10)");
    sql("INSERT INTO events (id, camera_id, stream_id, event_type, confidence, \"timestamp\","
        " model_id, model_version, bounding_boxes, frame_id, inference_time_ms, violation_id,"
        " idempotency_key) VALUES ('" EV1 "', 'cam-1', 'str-1', 'fall_detected', 0.92,"
        " (SELECT first_event_at FROM violations WHERE id = '" VC1 "'), 'fall_detection',"
        " '1.0.0', '[" BOX "]', 'frame-1', 85,"
        " '" VC1 "', 'c1')");
    sql("INSERT INTO event_rollups SELECT date_trunc('minute', \"timestamp\"), camera_id,"
        " event_type, count(*), max(confidence) FROM events GROUP BY 1, 2, 3");
}

static void test_violations(void)
{
    call("GET", "/api/v1/violations?status=open&limit=20&offset=0", tok_viewer, NULL);
    CHECK_EQ_INT(r.status, 200);
    SHAPE("violations", ex_violations);
    /* `confidence` is the highest of its events (§3.2); the detail of VC1. */
    call("GET", "/api/v1/violations/" VC1, tok_viewer, NULL);
    CHECK_EQ_INT(r.status, 200);
    SHAPE("violation", ex_violation);
    CHECK_EQ_STR(jstr("evidence.snapshot_url"), "/api/v1/violations/" VC1 "/snapshot");
    CHECK_EQ_STR(jstr("evidence.bookmark_url"), "/api/v1/violations/" VC1 "/video");
    CHECK_EQ_STR(jstr("evidence.snapshot_id"), "snap-1");
    CHECK_EQ_STR(jstr("evidence.evidence_status"), "ready");
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(r.json, "evidence"),
                                                    "bookmark_duration_seconds")),
                 15);
    CHECK_EQ_STR(jstr("camera_name"), "Front Door Camera");
    call("GET", "/api/v1/violations/" NOPE, tok_viewer, NULL);
    ERROR_IS(404, "VIOLATION_NOT_FOUND");
    call("GET", "/api/v1/violations/" VC3, tok_viewer, NULL);
    CHECK_EQ_STR(jstr("evidence.evidence_status"), "processing");
    call("GET", "/api/v1/violations/" VC4, tok_viewer, NULL);
    CHECK_EQ_STR(jstr("evidence.evidence_status"), "failed"); /* nothing will come */
}

static void test_patch(void)
{
    call("PATCH", "/api/v1/violations/" VC2, tok_operator,
         "{\"status\": \"reviewed\", \"resolution_notes\": \"Operator confirmed fall incident\"}");
    CHECK_EQ_INT(r.status, 200);
    SHAPE("patch", ex_patch);
    CHECK_EQ_STR(jstr("reviewed_by"), "olga");
    call("PATCH", "/api/v1/violations/" VC2, tok_operator, "{\"status\": \"resolved\"}");
    CHECK_EQ_INT(r.status, 200);
    call("PATCH", "/api/v1/violations/" VC2, tok_operator, "{\"status\": \"reviewed\"}");
    ERROR_IS(400, "INVALID_STATUS_TRANSITION");
    SHAPE("transition", ex_transition);
}

static void test_media(void)
{
    call("GET", "/api/v1/violations/" VC4 "/snapshot", tok_viewer, NULL);
    ERROR_IS(404, "EVIDENCE_NOT_FOUND");
    call("GET", "/api/v1/violations/" VC4 "/video", tok_viewer, NULL);
    ERROR_IS(404, "EVIDENCE_NOT_FOUND");
    call("GET", "/api/v1/violations/" VC3 "/snapshot", tok_viewer, NULL);
    ERROR_IS(202, "EVIDENCE_PROCESSING");
    SHAPE("snapshot 202", ex_processing_snapshot);
    call("GET", "/api/v1/violations/" VC3 "/video", tok_viewer, NULL);
    ERROR_IS(202, "EVIDENCE_PROCESSING");
    SHAPE("video 202", ex_processing_video);
    /* 200 with the bytes needs VAS: test_vas_inference. */
}

static void test_events(void)
{
    call("GET", "/api/v1/events?camera_id=cam-1&event_type=fall_detected&limit=50", tok_viewer,
         NULL);
    CHECK_EQ_INT(r.status, 200);
    SHAPE("events", ex_events);
    call("GET", "/api/v1/events/" EV1, tok_viewer, NULL);
    CHECK_EQ_INT(r.status, 200);
    SHAPE("event", ex_event);
    CHECK_EQ_STR(jstr("camera_name"), "Front Door Camera");
    call("GET", "/api/v1/events/" NOPE, tok_viewer, NULL);
    ERROR_IS(404, "EVENT_NOT_FOUND");
}

static void test_devices(void)
{
    call("GET", "/api/v1/devices?is_active=true", tok_viewer, NULL);
    CHECK_EQ_INT(r.status, 200);
    SHAPE_N("devices", ex_devices, NULLABLE_DEVICE);
    CHECK_EQ_INT(
        json_integer_value(json_object_get(json_object_get(r.json, "pagination"), "limit")), 100);
    call("GET", "/api/v1/devices/cam-1", tok_viewer, NULL);
    CHECK_EQ_INT(r.status, 200);
    SHAPE("device", ex_device);
    CHECK_EQ_STR(jstr("streaming.state"), "live");
    CHECK_EQ_INT(json_integer_value(
                     json_object_get(json_object_get(r.json, "statistics"), "violations_24h")),
                 4);
    CHECK_EQ_INT(
        json_integer_value(json_object_get(json_object_get(r.json, "statistics"), "events_24h")),
        1);
    call("GET", "/api/v1/devices/cam-none", tok_viewer, NULL);
    ERROR_IS(404, "DEVICE_NOT_FOUND");
}

/* Without VAS: the stored stream state decides. */
static void test_inference(void)
{
    const char *body = "{\"model_id\": \"fall_detection\", \"inference_fps\": 10,"
                       " \"confidence_threshold\": 0.7}";
    call("POST", "/api/v1/devices/cam-2/start-inference", tok_viewer, body);
    ERROR_IS(403, "INSUFFICIENT_PERMISSIONS");
    call("POST", "/api/v1/devices/cam-2/start-inference", tok_operator, "{}");
    ERROR_IS(400, "MISSING_REQUIRED_FIELD");
    call("POST", "/api/v1/devices/cam-2/start-inference", tok_operator,
         "{\"model_id\": \"m\", \"inference_fps\": 0}");
    ERROR_IS(400, "VALIDATION_ERROR");
    call("POST", "/api/v1/devices/cam-2/start-inference", tok_operator, body);
    CHECK_EQ_INT(r.status, 200);
    SHAPE("started", ex_started);
    CHECK_EQ_STR(jstr("stream_id"), "str-2");
    call("POST", "/api/v1/devices/cam-2/start-inference", tok_operator, body);
    ERROR_IS(409, "INFERENCE_ALREADY_ACTIVE");
    SHAPE("409", ex_already);
    CHECK_EQ_STR(jstr("details.device_id"), "cam-2");
    call("POST", "/api/v1/devices/cam-2/stop-inference", tok_operator, NULL);
    CHECK_EQ_INT(r.status, 200);
    SHAPE("stopped", ex_stopped);
    call("POST", "/api/v1/devices/cam-2/stop-inference", tok_operator, NULL);
    ERROR_IS(404, "INFERENCE_NOT_ACTIVE");
    call("POST", "/api/v1/devices/cam-3/start-inference", tok_operator, body);
    ERROR_IS(503, "STREAM_UNAVAILABLE");
    SHAPE("503", ex_stream_unavailable);
    CHECK_EQ_STR(jstr("details.state"), "stopped");
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM cameras WHERE id = 'cam-3' AND"
                             " inference_active"),
                 0);
    call("POST", "/api/v1/devices/cam-none/start-inference", tok_operator, body);
    ERROR_IS(404, "DEVICE_NOT_FOUND");
}

/* §4.2's client errors that are not tied to one endpoint. */
static void test_errors(void)
{
    call("GET", "/api/v1/violations", NULL, NULL);
    ERROR_IS(401, "INVALID_TOKEN");
    char *old = auth_mint(SECRET, "bob", ROLE_ADMIN, time(NULL) - 7200, time(NULL) - 3600);
    call("GET", "/api/v1/violations", old, NULL);
    free(old);
    ERROR_IS(401, "TOKEN_EXPIRED");
    call("GET", "/api/v1/violations?confidence_min=2&limit=101", tok_viewer, NULL);
    ERROR_IS(400, "VALIDATION_ERROR");
    CHECK(jstr("details.confidence_min") && jstr("details.limit"));
    call("GET", "/api/v1/violations/not-a-uuid", tok_viewer, NULL);
    ERROR_IS(400, "INVALID_PARAMETER");
    call("GET", "/api/v1/no-such-thing", tok_viewer, NULL);
    ERROR_IS(404, "RESOURCE_NOT_FOUND");
    call("POST", "/api/v1/rules", tok_admin, "{\"min_confidence\": 0.5}");
    ERROR_IS(400, "MISSING_REQUIRED_FIELD");
    CHECK(jstr("details.event_type") != NULL);
    /* Unknown query parameters, on every kind of endpoint. */
    const char *paths[] = {"/api/v1/violations?bogus=1", "/api/v1/violations/" VC1 "?bogus=1",
                           "/api/v1/events?bogus=1", "/api/v1/devices?bogus=1",
                           "/api/v1/devices/cam-1?bogus=1"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        call("GET", paths[i], tok_viewer, NULL);
        ERROR_IS(400, "VALIDATION_ERROR");
        CHECK_MSG(jstr("details.bogus") != NULL, "%s", paths[i]);
    }
    call("POST", "/api/v1/devices/cam-2/stop-inference?force=1", tok_operator, NULL);
    ERROR_IS(400, "VALIDATION_ERROR");
}

/* ---- with VAS (the VAS double, tests/vas) ---- */

static int vas_port;

static void vas_call(const char *method, const char *path, const char *token, const char *body)
{
    contract_http(vas_port, method, path, token, body, &r);
}

/* A snapshot and a bookmark on the double, ready; their ids into snap/bm. */
static bool vas_media(char *snap, char *bm, size_t n)
{
    vas_call("POST", "/v2/auth/token", NULL,
             "{\"client_id\":\"ruth\",\"client_secret\":\"ruth-secret\"}");
    char tok[1024];
    snprintf(tok, sizeof tok, "%s", jstr("access_token") ? jstr("access_token") : "");
    vas_call("POST", "/v2/streams/str-1/snapshots", tok, "{\"source\":\"live\"}");
    snprintf(snap, n, "%s", jstr("id") ? jstr("id") : "");
    vas_call("POST", "/v2/streams/str-1/bookmarks", tok,
             "{\"source\":\"live\",\"before_seconds\":5,\"after_seconds\":10}");
    snprintf(bm, n, "%s", jstr("id") ? jstr("id") : "");
    char path[256];
    for (double t = itest_now(); *snap && *bm && itest_now() - t < 15; usleep(200 * 1000)) {
        snprintf(path, sizeof path, "/v2/bookmarks/%s", bm);
        vas_call("GET", path, tok, NULL);
        if (jstr("status") && !strcmp(jstr("status"), "ready"))
            return true;
    }
    return false;
}

static void vas_checks(int api_port, const char *snap, const char *bm)
{
    char q[1024];
    snprintf(q, sizeof q,
             "INSERT INTO violations (id, type, camera_id, confidence, max_confidence,"
             " first_event_at, last_event_at) VALUES ('" VC5 "', 'fall_detected', 'cam-1', 0.9,"
             " 0.9, now(), now());"
             "INSERT INTO evidence (violation_id, kind, camera_id, stream_id, status, vas_id)"
             " VALUES ('" VC5 "', 'snapshot', 'cam-1', 'str-1', 'ready', '%s'),"
             " ('" VC5 "', 'bookmark', 'cam-1', 'str-1', 'ready', '%s')",
             snap, bm);
    CHECK(sql(q));
    int keep = port;
    port = api_port;
    call("GET", "/api/v1/violations/" VC5 "/snapshot", tok_viewer, NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.ctype, "image/jpeg");
    CHECK(r.body.len > 100);
    call("GET", "/api/v1/violations/" VC5 "/video", tok_viewer, NULL);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.ctype, "video/mp4");
    CHECK(r.body.len > 100);
    /* VAS's stream of cam-2 is LIVE: started on it, its stream id kept. */
    sql("INSERT INTO cameras (id, vas_device_id, name, stream_state) VALUES"
        " ('cam-v', 'cam-2', 'V', 'STOPPED'), ('cam-w', 'cam-3', 'W', 'LIVE'),"
        " ('cam-x', 'cam-1', 'X', NULL)");
    const char *body = "{\"model_id\": \"fall_detection\"}";
    call("POST", "/api/v1/devices/cam-v/start-inference", tok_operator, body);
    CHECK_MSG(r.status == 200, "%ld %.*s", r.status, (int)r.body.len, (const char *)r.body.data);
    SHAPE("started (VAS)", ex_started);
    CHECK_EQ_STR(jstr("stream_id"), "str-2");
    CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "inference_fps")), 10);
    /* VAS says cam-3's stream is stopped (whatever the row says). */
    vas_call("PUT", "/_control/devices", NULL,
             "[{\"id\":\"cam-1\",\"name\":\"CAM-1\",\"stream_id\":\"str-1\"},"
             "{\"id\":\"cam-2\",\"name\":\"CAM-2\",\"stream_id\":\"str-2\"},"
             "{\"id\":\"cam-3\",\"name\":\"CAM-3\",\"stream_id\":\"str-3\","
             "\"state\":\"STOPPED\"}]");
    CHECK_EQ_INT(r.status, 200);
    call("POST", "/api/v1/devices/cam-w/start-inference", tok_operator, body);
    ERROR_IS(503, "STREAM_UNAVAILABLE");
    SHAPE("503 (VAS)", ex_stream_unavailable);
    CHECK_EQ_STR(jstr("details.vas_error"), "STREAM_NOT_LIVE");
    CHECK_EQ_STR(jstr("details.state"), "stopped");
    /* VAS failing: not the stream's fault. */
    vas_call("POST", "/_control/fail", NULL,
             "{\"status\":503,\"count\":-1,\"error\":\"SERVICE_UNAVAILABLE\","
             "\"prefix\":\"/v2/streams\"}");
    call("POST", "/api/v1/devices/cam-x/start-inference", tok_operator, body);
    ERROR_IS(503, "VAS_UNAVAILABLE");
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM cameras WHERE id IN ('cam-w', 'cam-x')"
                             " AND inference_active"),
                 0);
    port = keep;
}

static void test_vas_inference(void)
{
    char dlog[256], alog[256], url[64], snap[64], bm[64];
    snprintf(dlog, sizeof dlog, "/tmp/test_api_contract_vas_%d.log", (int)getpid());
    snprintf(alog, sizeof alog, "/tmp/test_api_contract_api2_%d.log", (int)getpid());
    const char *args[] = {"--port", "0", "--bookmark-delay-ms", "0", NULL};
    unlink(dlog);
    pid_t dpid = itest_spawn("ruth-vas-double", args, dlog);
    for (double t = itest_now();
         (vas_port = itest_log_int(dlog, "listening on 127.0.0.1:")) < 0 && itest_now() - t < 15;)
        usleep(100 * 1000);
    bool up = vas_port > 0 && vas_media(snap, bm, sizeof snap);
    CHECK_MSG(up, "the VAS double did not start or its media never became ready: %s", dlog);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", vas_port);
    setenv("VAS_BASE_URL", url, 1);
    setenv("VAS_CLIENT_ID", "ruth", 1);
    setenv("VAS_CLIENT_SECRET", "ruth-secret", 1);
    unlink(alog);
    pid_t pid = up ? itest_spawn("ruth-api", NULL, alog) : -1;
    int p2 = -1;
    for (double t = itest_now();
         pid > 0 && (p2 = itest_log_int(alog, "\"api_port\":")) < 0 && itest_now() - t < 30;)
        usleep(100 * 1000);
    CHECK_MSG(!up || p2 > 0, "ruth-api with VAS did not start; log: %s", alog);
    if (p2 > 0)
        vas_checks(p2, snap, bm);
    if (pid > 0) {
        kill(pid, SIGTERM);
        CHECK_EQ_INT(itest_wait_exit(pid, 20), 0);
    }
    kill(dpid, SIGTERM);
    itest_wait_exit(dpid, 10);
    if (testlib_failures)
        fprintf(stderr, "logs: %s %s\n", alog, dlog);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("api_contract", 3);
    seed();
    itest_api_env(SECRET);
    setenv("RUTH_API_DB_POOL", "4", 1);
    setenv("RUTH_API_CACHE_MS", "0", 1);
    unsetenv("VAS_BASE_URL");
    itest_token(tok_viewer, sizeof tok_viewer, SECRET, "vera", ROLE_VIEWER);
    itest_token(tok_operator, sizeof tok_operator, SECRET, "olga", ROLE_OPERATOR);
    itest_token(tok_admin, sizeof tok_admin, SECRET, "adam", ROLE_ADMIN);

    char log[256];
    snprintf(log, sizeof log, "/tmp/test_api_contract_%d.log", (int)getpid());
    unlink(log);
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    for (double s = itest_now(); (port = itest_log_int(log, "\"api_port\":")) < 0;) {
        if (itest_now() - s > 30) {
            fprintf(stderr, "ruth-api did not start; log: %s\n", log);
            return 1;
        }
        usleep(100 * 1000);
    }
    TEST_RUN(test_violations);
    TEST_RUN(test_patch);
    TEST_RUN(test_media);
    TEST_RUN(test_events);
    TEST_RUN(test_devices);
    TEST_RUN(test_inference);
    TEST_RUN(test_errors);
    TEST_RUN(test_vas_inference);
    contract_resp_free(&r);
    kill(pid, SIGTERM);
    if (itest_wait_exit(pid, 20) != 0) {
        fprintf(stderr, "ruth-api exited badly on SIGTERM; log: %s\n", log);
        testlib_failures++;
    }
    if (testlib_failures)
        fprintf(stderr, "ruth-api log: %s\n", log);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT();
}
