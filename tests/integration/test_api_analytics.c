/* test_api_analytics.c - the contract's analytics, models status, health
 * and runtime registration against real PostgreSQL and Kafka: ruth-worker
 * stores inference results produced to Kafka (and their rollups), then every
 * field of the contract's example answers is checked by name, nesting and
 * type, and the figures are compared with what the raw events say. */
#include "ihttp.h"
#include "itest.h"

#include "api_auth.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <time.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define NRESULTS 300

static int port;
static char tok_viewer[1024], tok_operator[1024], tok_admin[1024], tok_runtime[1024];

typedef ihttp_resp resp;

static void req(const char *method, const char *path, const char *token, const char *body,
                resp *out)
{
    ihttp_request(port, method, path, token, body, NULL, out);
}

static const json_t *at(const json_t *j, const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    const json_t *cur = j;
    for (char *save = NULL, *k = strtok_r(tmp, ".", &save); k && cur;
         k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return cur;
}

/* Field `path` exists with type: s string, S string or null, i integer, n
 * number, N number or null, b boolean, o object, a array. */
static void field(const json_t *j, const char *path, char type)
{
    const json_t *v = at(j, path);
    bool ok = false;
    switch (type) {
    case 's':
        ok = json_is_string(v);
        break;
    case 'S':
        ok = json_is_string(v) || json_is_null(v);
        break;
    case 'i':
        ok = json_is_integer(v);
        break;
    case 'n':
        ok = json_is_number(v);
        break;
    case 'N':
        ok = json_is_number(v) || json_is_null(v);
        break;
    case 'b':
        ok = json_is_boolean(v);
        break;
    case 'o':
        ok = json_is_object(v);
        break;
    case 'a':
        ok = json_is_array(v);
        break;
    }
    CHECK_MSG(ok, "field %s: want type %c", path, type);
}

static long long num(const json_t *j, const char *path)
{
    const json_t *v = at(j, path);
    return json_is_integer(v) ? json_integer_value(v) : -999;
}

static double real(const json_t *j, const char *path)
{
    const json_t *v = at(j, path);
    return json_is_number(v) ? json_number_value(v) : -999;
}

static const char *str(const json_t *j, const char *path)
{
    return json_string_value(at(j, path));
}

/* A contract time: 2026-01-13T10:30:00.000Z. */
static bool contract_time(const char *s)
{
    return s && strlen(s) == 24 && s[10] == 'T' && s[19] == '.' && s[23] == 'Z';
}

static void query_text(const char *sql, char *out, size_t n)
{
    PGconn *db = PQconnectdb(itest_db_url);
    PGresult *res = PQexec(db, sql);
    snprintf(out, n, "%s",
             PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) ? PQgetvalue(res, 0, 0)
                                                                      : "?");
    PQclear(res);
    PQfinish(db);
}

static void check_error(const resp *r, long status, const char *code)
{
    CHECK_MSG(r->status == status, "status %ld, want %ld: %.*s", r->status, status,
              (int)r->body.len, (const char *)r->body.data);
    CHECK_EQ_STR(str(r->json, "error"), code);
    CHECK_EQ_INT(num(r->json, "status_code"), status);
}

/* ---- health before any runtime ---- */

static void test_health_unhealthy(void)
{
    resp r = {0};
    req("GET", "/api/v1/health", NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 503);
    CHECK_EQ_STR(str(r.json, "status"), "unhealthy");
    field(r.json, "service", 's');
    field(r.json, "version", 's');
    CHECK(contract_time(str(r.json, "timestamp")));
    CHECK_EQ_STR(str(r.json, "components.database"), "healthy");
    CHECK_EQ_STR(str(r.json, "components.kafka"), "healthy");
    CHECK_EQ_STR(str(r.json, "components.ai_runtime"), "unhealthy");
    CHECK(at(r.json, "components.redis") == NULL); /* no Redis is faked */
    CHECK(str(r.json, "error") && strstr(str(r.json, "error"), "AI runtime"));
    buf_free(&r.body);
    json_decref(r.json);
}

/* ---- runtime registration ---- */

#define FLAT                                                                                       \
    "{\"runtime_id\":\"ai-runtime-001\",\"supports_gpu\":true,\"hardware_type\":\"gpu\","          \
    "\"supported_models\":[\"fall-v1\",\"idle-model\"],\"max_fps\":100,"                           \
    "\"max_concurrent_streams\":10,\"inference_batch_size\":4,\"memory_available_mb\":8192,"       \
    "\"version\":\"1.0.0\"}"

static void test_register(void)
{
    resp r = {0};
    req("POST", "/api/v1/internal/runtime/register", tok_operator, FLAT, &r);
    check_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    /* A runtime registers itself with its own token (the role exists for
     * this and for ruth-ingest): 201, and that token opens nothing else. */
    req("POST", "/api/v1/internal/runtime/register", tok_runtime, FLAT, &r);
    CHECK_EQ_INT(r.status, 201);
    CHECK_EQ_STR(str(r.json, "runtime_id"), "ai-runtime-001");
    CHECK(json_is_true(at(r.json, "supports_gpu")));
    CHECK_EQ_STR(str(r.json, "hardware_type"), "gpu");
    CHECK_EQ_INT(json_array_size(at(r.json, "supported_models")), 2);
    CHECK_EQ_INT(num(r.json, "max_fps"), 100);
    CHECK_EQ_INT(num(r.json, "max_concurrent_streams"), 10);
    CHECK_EQ_INT(num(r.json, "inference_batch_size"), 4);
    CHECK_EQ_INT(num(r.json, "memory_available_mb"), 8192);
    CHECK_EQ_STR(str(r.json, "version"), "1.0.0");
    CHECK(contract_time(str(r.json, "registered_at")));
    resp other = {0};
    static const char *const closed[][2] = {{"GET", "/api/v1/violations"},
                                            {"GET", "/api/v1/models/status"},
                                            {"GET", "/api/v1/devices"},
                                            {"GET", "/api/v1/rules"}};
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++) {
        req(closed[i][0], closed[i][1], tok_runtime, NULL, &other);
        check_error(&other, 403, "INSUFFICIENT_PERMISSIONS");
        CHECK_EQ_STR(str(other.json, "details.role"), "runtime");
        CHECK_EQ_STR(str(other.json, "details.required_role"), "viewer");
    }
    req("POST", "/api/v1/rules", tok_runtime, "{}", &other);
    check_error(&other, 403, "INSUFFICIENT_PERMISSIONS");
    buf_free(&other.body);
    json_decref(other.json);
    /* A heartbeat by an admin; the system architecture's path. */
    req("POST", "/api/internal/register", tok_admin, FLAT, &r);
    CHECK_EQ_INT(r.status, 200);
    req("POST", "/api/internal/register", tok_runtime, FLAT, &r);
    CHECK_EQ_INT(r.status, 200);
    /* The runtime design's nested form, at its own path. */
    req("POST", "/api/internal/runtime/register", tok_admin,
        "{\"runtime_id\":\"ai-runtime-002\",\"version\":\"1.0.0\",\"hardware\":{\"type\":\"cpu\","
        "\"supports_gpu\":false,\"memory_available_mb\":2048},\"capacity\":{\"max_fps_total\":30,"
        "\"max_concurrent_streams\":3,\"recommended_batch_size\":1},\"models\":[{\"model_id\":"
        "\"loading-model\",\"version\":\"0.1.0\",\"state\":\"LOADING\",\"health\":\"HEALTHY\"}],"
        "\"health_summary\":{\"status\":\"healthy\"}}",
        &r);
    CHECK_EQ_INT(r.status, 201);
    CHECK_EQ_STR(str(r.json, "hardware_type"), "cpu");
    CHECK_EQ_INT(num(r.json, "max_fps"), 30);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM runtimes WHERE runtime_id = 'ai-runtime-002'"
                             " AND supported_models = '{loading-model}' AND NOT supports_gpu"
                             " AND memory_available_mb = 2048 AND inference_batch_size = 1"
                             " AND declaration ? 'health_summary'"),
                 1);
    /* Bad input: every bad field named, nothing stored. */
    req("POST", "/api/v1/internal/runtime/register", tok_admin,
        "{\"runtime_id\":\"bad\",\"supports_gpu\":\"yes\",\"hardware_type\":\"fpga\","
        "\"supported_models\":[1],\"max_fps\":\"fast\",\"max_concurrent_streams\":-1,"
        "\"inference_batch_size\":0,\"memory_available_mb\":1,\"version\":\"1\"}",
        &r);
    check_error(&r, 400, "VALIDATION_ERROR");
    const char *bad[] = {"supports_gpu", "hardware_type",          "supported_models",
                         "max_fps",      "max_concurrent_streams", "inference_batch_size"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(json_object_get(at(r.json, "details"), bad[i]) != NULL, "details names %s",
                  bad[i]);
    req("POST", "/api/v1/internal/runtime/register", tok_admin, "{\"runtime_id\":\"bad\"}", &r);
    check_error(&r, 400, "MISSING_REQUIRED_FIELD");
    CHECK(json_object_get(at(r.json, "details"), "hardware_type") != NULL);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM runtimes WHERE runtime_id = 'bad'"), 0);
    buf_free(&r.body);
    json_decref(r.json);
}

/* ---- results through ruth-worker ---- */

static void produce_results(void)
{
    rd_kafka_t *p = itest_producer();
    const char *topic = getenv("RUTH_TOPIC_INFERENCE");
    int64_t now = itest_wall_us();
    for (int i = 0; i < NRESULTS; i++) {
        char msg[512], lat[48] = "";
        const char *cam = i % 3 == 0 ? "cam-1" : i % 3 == 1 ? "cam-2" : "cam-3";
        const char *model = i % 4 == 0 ? "ppe-v3" : "fall-v1";
        const char *type = i % 10 == 0 ? "error" : i % 5 == 1 ? "fall_detected" : "no_fall";
        if (i % 7)
            snprintf(lat, sizeof lat, ",\"inference_time_ms\":%d", 20 + (i * 37) % 400);
        snprintf(msg, sizeof msg,
                 "{\"camera_id\":\"%s\",\"model_id\":\"%s\",\"model_version\":\"%s\","
                 "\"timestamp\":%lld,\"event_type\":\"%s\",\"confidence\":%.2f%s%s}",
                 cam, model, !strcmp(model, "ppe-v3") ? "3.1.0" : "1.2.0",
                 (long long)(now - (int64_t)(i % 150) * 1000000 - 1000000), type,
                 !strcmp(type, "error") ? 0.0 : (i % 100) / 100.0, lat,
                 !strcmp(type, "error") ? ",\"error_code\":\"MODEL_TIMEOUT\"" : "");
        itest_produce(p, topic, cam, msg, strlen(msg));
    }
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM events", NRESULTS, 60), NRESULTS);
}

static void test_summary(void)
{
    resp r = {0};
    req("GET", "/api/v1/analytics/summary?granularity=minute", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    const char *tf[] = {"summary.time_range.from", "summary.time_range.to", "generated_at"};
    for (int i = 0; i < 3; i++)
        CHECK_MSG(contract_time(str(r.json, tf[i])), "%s", tf[i]);
    const char *ti[] = {"violations_total",     "violations_open",     "violations_reviewed",
                        "violations_dismissed", "violations_resolved", "events_total",
                        "events_fall_detected", "events_no_fall",      "events_error",
                        "cameras_active"};
    char path[128], sqlq[512];
    for (size_t i = 0; i < sizeof ti / sizeof ti[0]; i++) {
        snprintf(path, sizeof path, "summary.totals.%s", ti[i]);
        field(r.json, path, 'i');
    }
    CHECK_EQ_INT(num(r.json, "summary.totals.events_total"), NRESULTS);
    CHECK_EQ_INT(num(r.json, "summary.totals.events_error"),
                 itest_query("SELECT count(*) FROM events WHERE event_type = 'error'"));
    CHECK_EQ_INT(num(r.json, "summary.totals.events_fall_detected"),
                 itest_query("SELECT count(*) FROM events WHERE event_type = 'fall_detected'"));
    CHECK_EQ_INT(num(r.json, "summary.totals.cameras_active"), 3);
    const char *statuses[] = {"open", "reviewed", "dismissed", "resolved"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "summary.totals.violations_%s", statuses[i]);
        snprintf(sqlq, sizeof sqlq, "SELECT count(*) FROM violations WHERE status = '%s'",
                 statuses[i]);
        CHECK_EQ_INT(num(r.json, path), itest_query(sqlq));
    }
    CHECK(num(r.json, "summary.totals.violations_total") > 0); /* the seeded rules fired */
    const json_t *cams = at(r.json, "summary.by_camera");
    CHECK_EQ_INT(json_array_size(cams), 3);
    size_t i;
    const json_t *c;
    json_array_foreach(cams, i, c)
    {
        field(c, "camera_id", 's');
        field(c, "camera_name", 's');
        field(c, "violations_total", 'i');
        field(c, "violations_open", 'i');
        field(c, "events_total", 'i');
        field(c, "last_event_at", 'S');
        char want[64];
        snprintf(sqlq, sizeof sqlq,
                 "SELECT ruth_time(max(\"timestamp\")) FROM events WHERE camera_id = '%s'",
                 str(c, "camera_id"));
        query_text(sqlq, want, sizeof want);
        CHECK_EQ_STR(str(c, "last_event_at"), want);
        snprintf(sqlq, sizeof sqlq, "SELECT count(*) FROM events WHERE camera_id = '%s'",
                 str(c, "camera_id"));
        CHECK_EQ_INT(num(c, "events_total"), itest_query(sqlq));
        snprintf(sqlq, sizeof sqlq, "SELECT count(*) FROM violations WHERE camera_id = '%s'",
                 str(c, "camera_id"));
        CHECK_EQ_INT(num(c, "violations_total"), itest_query(sqlq));
    }
    const json_t *series = at(r.json, "summary.time_series");
    long long events = 0, violations = 0;
    json_array_foreach(series, i, c)
    {
        CHECK(contract_time(str(c, "bucket")));
        field(c, "violations", 'i');
        field(c, "events", 'i');
        events += num(c, "events");
        violations += num(c, "violations");
    }
    CHECK_EQ_INT(events, NRESULTS);
    CHECK_EQ_INT(violations, itest_query("SELECT count(*) FROM violations"));
    CHECK(json_array_size(series) >= 1440 && json_array_size(series) <= 1441); /* zeros too */
    req("GET", "/api/v1/analytics/summary?granularity=week", tok_viewer, NULL, &r);
    check_error(&r, 400, "VALIDATION_ERROR");
    req("GET", "/api/v1/analytics/summary", NULL, NULL, &r);
    check_error(&r, 401, "INVALID_TOKEN");
    buf_free(&r.body);
    json_decref(r.json);
}

static void test_camera(void)
{
    resp r = {0};
    req("GET", "/api/v1/analytics/cameras/cam-1", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(str(r.json, "camera_id"), "cam-1");
    field(r.json, "camera_name", 's');
    CHECK(contract_time(str(r.json, "time_range.from")));
    CHECK(contract_time(str(r.json, "time_range.to")) &&
          contract_time(str(r.json, "generated_at")));
    const char *ints[] = {"metrics.violations_total",
                          "metrics.violations_by_status.open",
                          "metrics.violations_by_status.reviewed",
                          "metrics.violations_by_status.dismissed",
                          "metrics.violations_by_status.resolved",
                          "metrics.events_total",
                          "inference_stats.frames_processed"};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        field(r.json, ints[i], 'i');
    field(r.json, "metrics.events_by_type", 'o');
    field(r.json, "metrics.avg_confidence", 'n');
    field(r.json, "metrics.last_violation_at", 'S');
    field(r.json, "inference_stats.fps_avg", 'n');
    field(r.json, "inference_stats.inference_latency_ms_avg", 'n');
    long long n = itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-1'");
    CHECK_EQ_INT(num(r.json, "metrics.events_total"), n);
    CHECK_EQ_INT(num(r.json, "inference_stats.frames_processed"), n);
    CHECK_EQ_INT(num(r.json, "metrics.events_by_type.no_fall"),
                 itest_query("SELECT count(*) FROM events WHERE camera_id = 'cam-1'"
                             " AND event_type = 'no_fall'"));
    char want[64];
    query_text("SELECT round(avg(confidence)::numeric, 4) FROM events WHERE camera_id = 'cam-1'",
               want, sizeof want);
    CHECK_MSG(fabs(real(r.json, "metrics.avg_confidence") - atof(want)) < 1e-6, "avg %f vs %s",
              real(r.json, "metrics.avg_confidence"), want);
    query_text("SELECT round(avg(inference_time_ms)::numeric, 1) FROM events"
               " WHERE camera_id = 'cam-1'",
               want, sizeof want);
    CHECK_MSG(fabs(real(r.json, "inference_stats.inference_latency_ms_avg") - atof(want)) < 1e-6,
              "latency %f vs %s", real(r.json, "inference_stats.inference_latency_ms_avg"), want);
    query_text(
        "SELECT round(count(*) / (60.0 * count(DISTINCT date_trunc('minute', \"timestamp\")))"
        " , 2) FROM events WHERE camera_id = 'cam-1'",
        want, sizeof want);
    CHECK_MSG(fabs(real(r.json, "inference_stats.fps_avg") - atof(want)) < 1e-6, "fps %f vs %s",
              real(r.json, "inference_stats.fps_avg"), want);
    query_text("SELECT ruth_time(max(\"timestamp\")) FROM events WHERE camera_id = 'cam-1'", want,
               sizeof want);
    CHECK_EQ_STR(str(r.json, "metrics.last_event_at"), want);
    req("GET", "/api/v1/analytics/cameras/nowhere", tok_viewer, NULL, &r);
    check_error(&r, 404, "DEVICE_NOT_FOUND");
    req("GET", "/api/v1/analytics/cameras/cam-1?from=yesterday", tok_viewer, NULL, &r);
    check_error(&r, 400, "VALIDATION_ERROR");
    buf_free(&r.body);
    json_decref(r.json);
}

/* Rollups whose confidence sum is not known (review finding 12: migration
 * 0009 could backfill sums only from the events still stored): over them
 * avg_confidence is null, not 0, and over a range mixing them with known
 * sums it is the average of the rows that carry one. */
static void test_camera_unknown_sums(void)
{
    const char *url = getenv("DATABASE_URL");
    CHECK(itest_exec(url, "INSERT INTO event_rollups_hourly (hour, camera_id, event_type, count,"
                          " max_confidence) VALUES ('2020-01-01 10:00+00', 'cam-1', 'no_fall', 7,"
                          " 0.9)"));
    CHECK(itest_exec(url, "INSERT INTO event_rollups_hourly (hour, camera_id, event_type, count,"
                          " max_confidence, confidence_sum) VALUES ('2020-01-01 11:00+00', 'cam-1',"
                          " 'fall_detected', 2, 0.6, 1.0)"));
    resp r = {0};
    req("GET", "/api/v1/analytics/cameras/cam-1?from=2020-01-01T10:00:00Z&to=2020-01-01T11:00:00Z",
        tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(num(r.json, "metrics.events_total"), 7);
    CHECK_MSG(json_is_null(at(r.json, "metrics.avg_confidence")), "avg_confidence not null: %s",
              buf_cstr(&r.body));
    req("GET", "/api/v1/analytics/cameras/cam-1?from=2020-01-01T10:00:00Z&to=2020-01-01T12:00:00Z",
        tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(num(r.json, "metrics.events_total"), 9);
    CHECK_MSG(fabs(real(r.json, "metrics.avg_confidence") - 0.5) < 1e-9, "avg %f, want 0.5",
              real(r.json, "metrics.avg_confidence"));
    CHECK(itest_exec(url, "DELETE FROM event_rollups_hourly WHERE hour < '2021-01-01'"));
    buf_free(&r.body);
    json_decref(r.json);
}

/* An hourly summary over a range that starts and ends inside an hour: the
 * ragged minutes at each end come from the minute rollups (summed per
 * bucket, camera and type in PostgreSQL), the whole hours from the hourly
 * ones, and nothing outside the range counts. */
static void test_summary_ragged_hours(void)
{
    const char *url = getenv("DATABASE_URL");
    CHECK(itest_exec(url, "INSERT INTO event_rollups (minute, camera_id, event_type, count,"
                          " max_confidence, last_event_at) VALUES"
                          " ('2020-01-02 10:29+00', 'cam-1', 'no_fall', 100, 0.99, NULL),"
                          " ('2020-01-02 10:31+00', 'cam-1', 'no_fall', 2, 0.4,"
                          "  '2020-01-02 10:31:10.5+00'),"
                          " ('2020-01-02 10:45+00', 'cam-1', 'no_fall', 3, 0.7,"
                          "  '2020-01-02 10:45:59.25+00'),"
                          " ('2020-01-02 10:50+00', 'cam-2', 'fall_detected', 1, 0.8, NULL),"
                          " ('2020-01-02 13:01+00', 'cam-1', 'no_fall', 1, 0.3, NULL),"
                          " ('2020-01-02 13:10+00', 'cam-1', 'no_fall', 4, 0.5,"
                          "  '2020-01-02 13:10:30+00'),"
                          " ('2020-01-02 13:15+00', 'cam-1', 'no_fall', 100, 0.99, NULL)"));
    CHECK(itest_exec(url, "INSERT INTO event_rollups_hourly (hour, camera_id, event_type, count,"
                          " max_confidence) VALUES ('2020-01-02 11:00+00', 'cam-1', 'no_fall', 7,"
                          " 0.6), ('2020-01-02 12:00+00', 'cam-1', 'fall_detected', 11, 0.65)"));
    /* Rollups written by hand: the summary's per-block ones follow them
     * (migration 0015), whole hours from the hourly rows as before. */
    CHECK(itest_exec(url, "SELECT ruth_summary_rollups_rebuild()"));
    resp r = {0};
    req("GET",
        "/api/v1/analytics/summary?from=2020-01-02T10:30:00Z&to=2020-01-02T13:15:00Z"
        "&granularity=hour",
        tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(num(r.json, "summary.totals.events_total"), 29);
    CHECK_EQ_INT(num(r.json, "summary.totals.events_no_fall"), 17);
    CHECK_EQ_INT(num(r.json, "summary.totals.events_fall_detected"), 12);
    CHECK_EQ_INT(num(r.json, "summary.totals.cameras_active"), 2);
    const json_t *series = at(r.json, "summary.time_series");
    long long want[] = {6, 7, 11, 5};
    CHECK_EQ_INT(json_array_size(series), 4);
    for (size_t i = 0; i < 4 && i < json_array_size(series); i++)
        CHECK_EQ_INT(num(json_array_get(series, i), "events"), want[i]);
    CHECK_EQ_STR(str(json_array_get(series, 0), "bucket"), "2020-01-02T10:00:00.000Z");
    const json_t *cams = at(r.json, "summary.by_camera");
    size_t i;
    const json_t *c;
    int seen = 0;
    json_array_foreach(cams, i, c) if (!strcmp(str(c, "camera_id"), "cam-1"))
    {
        seen++;
        CHECK_EQ_INT(num(c, "events_total"), 28);
        CHECK_EQ_STR(str(c, "last_event_at"), "2020-01-02T13:10:30.000Z");
    }
    CHECK_EQ_INT(seen, 1);
    CHECK(itest_exec(url, "DELETE FROM event_rollups WHERE minute < '2021-01-01'"));
    CHECK(itest_exec(url, "DELETE FROM event_rollups_hourly WHERE hour < '2021-01-01'"));
    CHECK(itest_exec(url, "SELECT ruth_summary_rollups_rebuild()"));
    buf_free(&r.body);
    json_decref(r.json);
}

static const json_t *model_named(const json_t *models, const char *id)
{
    size_t i;
    const json_t *m;
    json_array_foreach(models, i, m) if (!strcmp(str(m, "model_id"), id)) return m;
    return NULL;
}

static void test_models(void)
{
    resp r = {0};
    req("GET", "/api/v1/models/status", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    const json_t *models = at(r.json, "models");
    size_t i;
    const json_t *m;
    json_array_foreach(models, i, m)
    {
        field(m, "model_id", 's');
        field(m, "version", 'S');
        field(m, "status", 's');
        field(m, "health", 's');
        field(m, "metrics.inference_latency_ms_avg", 'N');
        field(m, "metrics.inference_latency_ms_p99", 'N');
        field(m, "metrics.throughput_fps", 'n');
        field(m, "metrics.frames_processed_total", 'i');
        field(m, "metrics.errors_total", 'i');
        field(m, "cameras_active", 'i');
        field(m, "last_inference_at", 'S');
        field(m, "started_at", 'S');
    }
    CHECK_EQ_INT(num(r.json, "summary.total_models"), (long long)json_array_size(models));
    field(r.json, "summary.healthy_models", 'i');
    CHECK_EQ_INT(num(r.json, "summary.total_cameras_processed"), 3);
    const json_t *f = model_named(models, "fall-v1");
    CHECK(f != NULL);
    CHECK_EQ_STR(str(f, "version"), "1.2.0");
    CHECK_EQ_STR(str(f, "status"), "active");
    CHECK_EQ_INT(num(f, "metrics.frames_processed_total"),
                 itest_query("SELECT count(*) FROM events WHERE model_id = 'fall-v1'"));
    long long errs = itest_query("SELECT count(*) FROM events WHERE model_id = 'fall-v1'"
                                 " AND event_type = 'error'");
    CHECK_EQ_INT(num(f, "metrics.errors_total"), errs);
    CHECK_EQ_STR(str(f, "health"), "degraded"); /* 15 errors in 225: 1-10 % */
    CHECK_EQ_INT(num(f, "cameras_active"), 3);
    char want[64];
    query_text("SELECT ruth_time(max(\"timestamp\")) FROM events WHERE model_id = 'fall-v1'", want,
               sizeof want);
    CHECK_EQ_STR(str(f, "last_inference_at"), want);
    query_text("SELECT round(avg(inference_time_ms)::numeric, 1) FROM events"
               " WHERE model_id = 'fall-v1'",
               want, sizeof want);
    CHECK_MSG(fabs(real(f, "metrics.inference_latency_ms_avg") - atof(want)) < 1e-6,
              "latency %f vs %s", real(f, "metrics.inference_latency_ms_avg"), want);
    /* p99 from the histogram: within the bucket of the true p99, never
     * above the largest latency. */
    query_text("SELECT percentile_disc(0.99) WITHIN GROUP (ORDER BY inference_time_ms)"
               " FROM events WHERE model_id = 'fall-v1'",
               want, sizeof want);
    double p99 = real(f, "metrics.inference_latency_ms_p99"), truth = atof(want);
    double maxl = (double)itest_query("SELECT max(inference_time_ms)::bigint FROM events"
                                      " WHERE model_id = 'fall-v1'");
    CHECK_MSG(p99 <= maxl + 1e-9 && p99 >= 300 && truth >= 300, "p99 %f, true %f", p99, truth);
    CHECK(real(f, "metrics.throughput_fps") > 0);
    CHECK(contract_time(str(f, "started_at"))); /* the runtime that declared it */
    const json_t *idle = model_named(models, "idle-model");
    CHECK(idle && !strcmp(str(idle, "status"), "idle") && !strcmp(str(idle, "health"), "healthy"));
    CHECK_EQ_INT(num(idle, "metrics.frames_processed_total"), 0);
    const json_t *ld = model_named(models, "loading-model");
    CHECK(ld && !strcmp(str(ld, "status"), "starting") && !strcmp(str(ld, "version"), "0.1.0"));
    const json_t *ppe = model_named(models, "ppe-v3");
    CHECK(ppe && !strcmp(str(ppe, "version"), "3.1.0"));
    CHECK_EQ_INT(json_array_size(at(r.json, "runtimes")), 2);
    buf_free(&r.body);
    json_decref(r.json);
}

static void test_health_healthy(void)
{
    resp r = {0};
    req("GET", "/health", NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(str(r.json, "status"), "healthy");
    CHECK_EQ_STR(str(r.json, "components.ai_runtime"), "healthy");
    CHECK(at(r.json, "error") == NULL);
    buf_free(&r.body);
    json_decref(r.json);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("apian", 3);
    itest_api_env(SECRET);
    setenv("RUTH_API_CACHE_MS", "0", 1);
    itest_token(tok_viewer, sizeof tok_viewer, SECRET, "vera", ROLE_VIEWER);
    itest_token(tok_operator, sizeof tok_operator, SECRET, "olga", ROLE_OPERATOR);
    itest_token(tok_admin, sizeof tok_admin, SECRET, "adam", ROLE_ADMIN);
    itest_token(tok_runtime, sizeof tok_runtime, SECRET, "ai-runtime-001", ROLE_RUNTIME);
    char log[256], wlog[256];
    snprintf(log, sizeof log, "/tmp/test_api_analytics_%d.log", (int)getpid());
    snprintf(wlog, sizeof wlog, "/tmp/test_api_analytics_worker_%d.log", (int)getpid());
    unlink(log);
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    pid_t wpid = itest_spawn("ruth-worker", NULL, wlog);
    if ((port = itest_api_port(log)) < 0)
        return 1;
    TEST_RUN(test_health_unhealthy);
    TEST_RUN(test_register);
    produce_results();
    TEST_RUN(test_summary);
    TEST_RUN(test_camera);
    TEST_RUN(test_camera_unknown_sums);
    TEST_RUN(test_summary_ragged_hours);
    TEST_RUN(test_models);
    TEST_RUN(test_health_healthy);
    kill(wpid, SIGTERM);
    kill(pid, SIGTERM);
    itest_stopped(wpid, 30, "ruth-worker", NULL);
    itest_stopped(pid, 20, "ruth-api", NULL);
    if (testlib_failures)
        fprintf(stderr, "logs: %s %s\n", log, wlog);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT();
}
