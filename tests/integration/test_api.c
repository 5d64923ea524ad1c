/* test_api.c - ruth-api against real PostgreSQL and Kafka: the REST
 * contract (bodies, status codes, error codes, every review transition,
 * roles, pagination edges, cursors), the ViolationChange a review publishes,
 * the live stream with resume, and hostile input (injection, oversize and
 * deeply nested bodies, bad UTF-8, floods, rate limits, CORS).
 *
 * Rows are written directly with SQL, so the API is tested on its own. */
#include "ihttp.h"
#include "itest.h"

#include <time.h>

#include "api.h"
#include "codec.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define V1 "11111111-1111-4111-8111-000000000001"
#define V2 "11111111-1111-4111-8111-000000000002"
#define V3 "11111111-1111-4111-8111-000000000003"
#define NOPE "99999999-9999-4999-8999-999999999999"

static int port;
static char api_log[256]; /* ruth-api's log */
static char tok_viewer[1024], tok_operator[1024], tok_admin[1024];

typedef ihttp_resp resp;

static void req(const char *method, const char *path, const char *token, const char *body,
                resp *out)
{
    ihttp_request(port, method, path, token, body, NULL, out);
}

static const char *jstr(const json_t *j, const char *path)
{
    /* "a.b.c" lookups on objects */
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    const json_t *cur = j;
    for (char *save = NULL, *k = strtok_r(tmp, ".", &save); k && cur;
         k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return json_string_value(cur);
}

static long long jint(const json_t *j, const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    const json_t *cur = j;
    for (char *save = NULL, *k = strtok_r(tmp, ".", &save); k && cur;
         k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return json_is_integer(cur) ? json_integer_value(cur) : -999;
}

/* An error response per the contract: code, status_code, request id, timestamp. */
#define CHECK_ERROR(r, st, code)                                                                   \
    do {                                                                                           \
        CHECK_MSG((r).status == (st), "status %ld, body %.*s", (r).status, (int)(r).body.len,      \
                  (const char *)(r).body.data);                                                    \
        CHECK_EQ_STR(jstr((r).json, "error"), code);                                               \
        CHECK_EQ_INT(jint((r).json, "status_code"), st);                                           \
        CHECK(jstr((r).json, "error_description") && *jstr((r).json, "error_description"));        \
        CHECK(json_is_object(json_object_get((r).json, "details")));                               \
        CHECK(jstr((r).json, "timestamp") != NULL);                                                \
        CHECK_EQ_STR(jstr((r).json, "request_id"), (r).request_id);                                \
    } while (0)

static bool sql(const char *s)
{
    return itest_exec(itest_db_url, s);
}

static void seed(void)
{
    sql("INSERT INTO cameras (id, name, location) VALUES ('cam-a', 'Dock A', 'north'),"
        " ('cam-b', 'Dock B', 'south');"
        "INSERT INTO cameras (id, discovered) VALUES ('cam-new', true);");
    sql("INSERT INTO violations (id, type, camera_id, confidence, max_confidence, first_event_at,"
        " last_event_at, ended_at, created_at, severity) VALUES"
        " ('" V1 "', 'fall_detected', 'cam-a', 0.91, 0.95, now() - interval '3 hours',"
        /* last_event_at: just after its last event below (a violation spans
         * its events; the detail reads only the days in between) */
        "  now() - interval '3 hours' + interval '4 minutes 1 second',"
        "  now() - interval '2 hours', now() - interval '3 hours', "
        "'high'),"
        " ('" V2 "', 'ppe_violation', 'cam-b', 0.72, 0.80, now() - interval '2 hours',"
        "  now() - interval '2 hours', NULL, now() - interval '2 hours', 'medium'),"
        " ('" V3 "', 'fall_detected', 'cam-a', 0.85, 0.85, now() - interval '1 hours',"
        "  now() - interval '1 hours', NULL, now() - interval '1 hours', 'high')");
    sql("INSERT INTO events (camera_id, event_type, type_detail, confidence, \"timestamp\","
        " model_id, idempotency_key, violation_id)"
        " SELECT CASE WHEN g % 2 = 0 THEN 'cam-a' ELSE 'cam-b' END,"
        "  CASE WHEN g % 3 = 0 THEN 'no_fall' ELSE 'fall_detected' END, NULL, (g % 100) / 100.0,"
        "  now() - interval '3 hours' + g * interval '1 minute', 'fall-v1', 'k' || g,"
        "  CASE WHEN g <= 4 THEN '" V1 "'::uuid END FROM generate_series(1, 120) g");
    sql("INSERT INTO event_rollups SELECT date_trunc('minute', \"timestamp\"), camera_id,"
        " event_type, count(*), max(confidence) FROM events GROUP BY 1, 2, 3");
    sql("INSERT INTO event_rollups_hourly SELECT date_trunc('hour', minute), camera_id,"
        " event_type, sum(count), max(max_confidence) FROM event_rollups GROUP BY 1, 2, 3");
    sql("INSERT INTO evidence (violation_id, kind, camera_id, status, url) VALUES"
        " ('" V1 "', 'snapshot', 'cam-a', 'ready', 'http://vas/s.jpg'),"
        " ('" V1 "', 'bookmark', 'cam-a', 'pending', NULL)");
}

/* ---- auth and roles ---- */

static void test_auth(void)
{
    resp r = {0};
    /* No AI runtime here: /health is 503 (test_api_analytics covers it). */
    req("GET", "/health", NULL, NULL, &r);
    CHECK_EQ_STR(jstr(r.json, "components.database"), "healthy");
    req("GET", "/ready", NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    req("GET", "/api/v1/violations", NULL, NULL, &r);
    CHECK_ERROR(r, 401, "INVALID_TOKEN");
    req("GET", "/api/v1/violations", "not.a.token", NULL, &r);
    CHECK_ERROR(r, 401, "INVALID_TOKEN");
    /* Signed with another key. */
    char *other = auth_mint("other-key", "eve", ROLE_ADMIN, time(NULL), time(NULL) + 600);
    req("GET", "/api/v1/violations", other, NULL, &r);
    free(other);
    CHECK_ERROR(r, 401, "INVALID_TOKEN");
    /* alg "none" with the same claims and no signature. */
    req("GET", "/api/v1/violations",
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJldmUiLCJyb2xlIjoiYWRtaW4iLCJleHAiOjQx"
        "MDI0NDQ4MDB9.",
        NULL, &r);
    CHECK_ERROR(r, 401, "INVALID_TOKEN");
    char *old = auth_mint(SECRET, "bob", ROLE_ADMIN, time(NULL) - 7200, time(NULL) - 3600);
    req("GET", "/api/v1/violations", old, NULL, &r);
    free(old);
    CHECK_ERROR(r, 401, "TOKEN_EXPIRED");
    req("PATCH", "/api/v1/violations/" V2, tok_viewer, "{\"status\":\"reviewed\"}", &r);
    CHECK_ERROR(r, 403, "INSUFFICIENT_PERMISSIONS");
    /* Operators may start and stop inference (contract §1.7); viewers not. */
    req("POST", "/api/v1/devices/cam-a/start-inference", tok_viewer, "{\"model_id\":\"m\"}", &r);
    CHECK_ERROR(r, 403, "INSUFFICIENT_PERMISSIONS");
    /* The caller's request id is echoed in the header and the error body. */
    ihttp_request(port, "GET", "/api/v1/violations", NULL, NULL, "X-Request-ID: trace-42", &r);
    CHECK_EQ_STR(r.request_id, "trace-42");
    CHECK_EQ_STR(jstr(r.json, "request_id"), "trace-42");
    /* None given, or one that is not a plain token: a fresh UUID instead. */
    req("GET", "/api/v1/violations", NULL, NULL, &r);
    CHECK_EQ_INT((long long)strlen(r.request_id), 36);
    CHECK_EQ_STR(jstr(r.json, "request_id"), r.request_id);
    ihttp_request(port, "GET", "/api/v1/violations", NULL, NULL, "X-Request-ID: a b\"c", &r);
    CHECK_EQ_INT((long long)strlen(r.request_id), 36);
    /* ...and it is on the request's log line, as a field. */
    ihttp_request(port, "GET", "/api/v1/violations?limit=1", tok_viewer, NULL,
                  "X-Request-ID: trace-log-77", &r);
    CHECK_EQ_INT(r.status, 200);
    usleep(200 * 1000);
    CHECK(itest_log_count(api_log, "\"request_id\":\"trace-log-77\"") >= 1);
    /* The document is not public either. */
    req("GET", "/api/v1/openapi.json", NULL, NULL, &r);
    CHECK_ERROR(r, 401, "INVALID_TOKEN");
    req("GET", "/api/v1/nothing-here", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "RESOURCE_NOT_FOUND");
    req("DELETE", "/api/v1/violations", tok_admin, NULL, &r);
    CHECK_ERROR(r, 405, "METHOD_NOT_ALLOWED");
    ihttp_resp_free(&r);
}

/* ---- violations ---- */

static void ids_of(const json_t *list, char *out, size_t n)
{
    out[0] = '\0';
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%c", json_string_value(json_object_get(v, "id")) + 35,
                 i + 1 < json_array_size(list) ? ',' : '\0');
    }
}

static void test_violations_list(void)
{
    resp r = {0};
    char ids[256];
    req("GET", "/api/v1/violations", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 3);
    CHECK_EQ_INT(jint(r.json, "pagination.limit"), 50);
    CHECK_EQ_INT(jint(r.json, "pagination.offset"), 0);
    CHECK(json_is_false(json_object_get(json_object_get(r.json, "pagination"), "has_more")));
    ids_of(json_object_get(r.json, "violations"), ids, sizeof ids);
    CHECK_EQ_STR(ids, "3,2,1"); /* newest first */
    json_t *v1 = json_array_get(json_object_get(r.json, "violations"), 2);
    CHECK_EQ_STR(jstr(v1, "snapshot_status"), "ready");
    CHECK_EQ_STR(jstr(v1, "snapshot_url"), "http://vas/s.jpg");
    CHECK_EQ_STR(jstr(v1, "type"), "fall_detected");
    CHECK_EQ_STR(jstr(v1, "severity"), "high");
    CHECK_EQ_INT(jint(v1, "version"), 1);

    req("GET", "/api/v1/violations?type=fall_detected&camera_id=cam-a", tok_viewer, NULL, &r);
    ids_of(json_object_get(r.json, "violations"), ids, sizeof ids);
    CHECK_EQ_STR(ids, "3,1");
    req("GET", "/api/v1/violations?confidence_min=0.8&sort_by=confidence&sort_order=asc",
        tok_viewer, NULL, &r);
    ids_of(json_object_get(r.json, "violations"), ids, sizeof ids);
    CHECK_EQ_STR(ids, "3,1");
    req("GET", "/api/v1/violations?status=open&limit=1&offset=1", tok_viewer, NULL, &r);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 3);
    CHECK(json_is_true(json_object_get(json_object_get(r.json, "pagination"), "has_more")));
    ids_of(json_object_get(r.json, "violations"), ids, sizeof ids);
    CHECK_EQ_STR(ids, "2");
    /* Time range on created_at, ISO 8601 with an offset. */
    req("GET", "/api/v1/violations?from=2000-01-01T00:00:00%2B02:00&to=2999-01-01T00:00:00Z",
        tok_viewer, NULL, &r);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 3);
    /* Offset past the end: an empty page, not an error. */
    req("GET", "/api/v1/violations?offset=500", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "violations")), 0);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 3);
    /* Limits and malformed parameters: every bad field named. */
    req("GET", "/api/v1/violations?limit=0", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    CHECK(jstr(r.json, "details.limit") != NULL);
    req("GET",
        "/api/v1/violations?limit=101&status=closed&sort_by=name&from=yesterday"
        "&confidence_min=2",
        tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    const char *bad[] = {"limit", "status", "sort_by", "from", "confidence_min"};
    for (int i = 0; i < 5; i++)
        CHECK_MSG(json_object_get(json_object_get(r.json, "details"), bad[i]), "%s", bad[i]);
    req("GET", "/api/v1/violations?limit=100", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    /* Unknown query parameters are refused by name, never ignored. */
    req("GET", "/api/v1/violations?status=open&camera=cam-a&sort=confidence", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    CHECK_EQ_STR(jstr(r.json, "details.camera"), "unknown query parameter");
    CHECK(jstr(r.json, "details.sort") != NULL);
    CHECK(json_object_size(json_object_get(r.json, "details")) == 2);
    CHECK(strstr(jstr(r.json, "error_description"), "camera"));
    req("GET", "/api/v1/violations/" V1 "?x=1", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("GET", "/health?verbose=1", NULL, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    ihttp_resp_free(&r);
}

static void test_violations_cursor(void)
{
    resp r = {0};
    char path[512], seen[256] = "";
    const char *orders[] = {"sort_by=created_at", "sort_by=confidence&sort_order=asc",
                            "sort_by=status"};
    for (int o = 0; o < 3; o++) {
        seen[0] = '\0';
        snprintf(path, sizeof path, "/api/v1/violations?limit=1&%s", orders[o]);
        int pages = 0;
        for (;;) {
            req("GET", path, tok_viewer, NULL, &r);
            CHECK_EQ_INT(r.status, 200);
            json_t *list = json_object_get(r.json, "violations");
            CHECK_EQ_INT(json_array_size(list), 1);
            strcat(seen, jstr(json_array_get(list, 0), "id") + 35);
            pages++;
            const char *next = jstr(r.json, "pagination.next_cursor");
            if (!next)
                break;
            CHECK(pages < 5);
            snprintf(path, sizeof path, "/api/v1/violations?limit=1&%s&cursor=%s", orders[o], next);
        }
        CHECK_EQ_INT(pages, 3);
        /* Every violation exactly once. */
        CHECK(strchr(seen, '1') && strchr(seen, '2') && strchr(seen, '3'));
    }
    /* A cursor is bound to its sort order, and must be one we issued. */
    req("GET", "/api/v1/violations?limit=1", tok_viewer, NULL, &r);
    snprintf(path, sizeof path, "/api/v1/violations?sort_by=confidence&cursor=%s",
             jstr(r.json, "pagination.next_cursor"));
    req("GET", path, tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("GET", "/api/v1/violations?cursor=bm90LWEtY3Vyc29y", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    CHECK(jstr(r.json, "details.cursor") != NULL);
    ihttp_resp_free(&r);
}

static void test_violation_get(void)
{
    resp r = {0};
    req("GET", "/api/v1/violations/" V1, tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(jstr(r.json, "id"), V1);
    CHECK_EQ_STR(r.etag, "\"1\"");
    json_t *ev = json_object_get(r.json, "events");
    CHECK_EQ_INT(json_array_size(ev), 4);
    /* newest first */
    CHECK(strcmp(jstr(json_array_get(ev, 0), "timestamp"),
                 jstr(json_array_get(ev, 3), "timestamp")) > 0);
    /* The rows themselves, under evidence_items; `evidence` is the contract's object. */
    json_t *evid = json_object_get(r.json, "evidence_items");
    CHECK_EQ_INT(json_array_size(evid), 2);
    CHECK_EQ_STR(jstr(r.json, "evidence.snapshot_status"), "ready");
    CHECK_EQ_STR(jstr(r.json, "evidence.bookmark_status"), "pending");
    CHECK_EQ_STR(jstr(r.json, "evidence.evidence_status"), "pending");
    CHECK_EQ_STR(jstr(r.json, "evidence.snapshot_url"), "/api/v1/violations/" V1 "/snapshot");
    CHECK_EQ_STR(jstr(r.json, "camera_name"), "Dock A");
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "event_ids")), 4);
    CHECK_EQ_STR(jstr(json_array_get(evid, 0), "kind"), "bookmark");
    CHECK_EQ_STR(jstr(json_array_get(evid, 0), "status"), "pending");
    /* Byte for byte what PostgreSQL's json_agg(row_to_json) wrote before
     * ruth-api built the items itself, awkward values included. */
    sql("UPDATE evidence SET last_error = E'say \"no\"\\\\ \\n\\t\\x01 \xc3\xa9', attempts = 2,"
        " duration_seconds = 12.345678901234, before_seconds = 5,"
        " completed_at = '1969-12-31 23:59:59.9995+00' WHERE violation_id = '" V1 "'"
        " AND kind = 'bookmark'");
    sql("UPDATE evidence SET duration_seconds = '-Infinity' WHERE violation_id = '" V1 "'"
        " AND kind = 'snapshot'");
    nanosleep(&(struct timespec){1, 100000000}, NULL); /* past the microcache's second */
    req("GET", "/api/v1/violations/" V1, tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    PGconn *db = PQconnectdb(itest_db_url);
    PGresult *res = PQexec(
        db,
        "SELECT '\"evidence_items\" : ' || json_agg(x ORDER BY x.kind) || '}' FROM ("
        " SELECT id, kind, status, url, vas_id, ruth_time(center_timestamp) AS center_timestamp,"
        " before_seconds, after_seconds, duration_seconds, attempts, last_error,"
        " ruth_time(requested_at) AS requested_at, ruth_time(completed_at) AS completed_at,"
        " ruth_time(updated_at) AS updated_at FROM evidence WHERE violation_id = '" V1 "') x");
    const char *want = PQresultStatus(res) == PGRES_TUPLES_OK ? PQgetvalue(res, 0, 0) : "?";
    const char *body = buf_cstr(&r.body);
    CHECK(strlen(body) > strlen(want) && !strcmp(body + strlen(body) - strlen(want), want));
    PQclear(res);
    PQfinish(db);
    /* A bookmark length that is no number of seconds (NaN) is unknown, not a
     * 500: the answer falls back to before + after seconds. */
    sql("UPDATE evidence SET duration_seconds = 'NaN', after_seconds = 7 WHERE violation_id = '" V1
        "' AND kind = 'bookmark'");
    nanosleep(&(struct timespec){1, 100000000}, NULL);
    req("GET", "/api/v1/violations/" V1, tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(jint(r.json, "evidence.bookmark_duration_seconds"), 12);
    req("GET", "/api/v1/violations?limit=5", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    sql("UPDATE evidence SET last_error = NULL, attempts = 0, duration_seconds = NULL, "
        "after_seconds = NULL,"
        " before_seconds = NULL, completed_at = NULL WHERE violation_id = '" V1 "'");
    req("GET", "/api/v1/violations/" NOPE, tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "VIOLATION_NOT_FOUND");
    req("GET", "/api/v1/violations/not-a-uuid", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "INVALID_PARAMETER");
    ihttp_resp_free(&r);
}

/* Every (from, to) pair of the transition table, on a real row. */
static void test_transitions(void)
{
    static const char *st[] = {"open", "reviewed", "dismissed", "resolved"};
    static const bool ok[4][4] = {
        /* to:   open   reviewed dismissed resolved */
        /* open */ {false, true, true, false},
        /* reviewed */ {false, false, true, true},
        /* dismissed */ {true, false, false, false},
        /* resolved */ {false, false, false, false},
    };
    resp r = {0};
    char q[256], body[128];
    for (int f = 0; f < 4; f++)
        for (int t = 0; t < 4; t++) {
            snprintf(q, sizeof q, "UPDATE violations SET status = '%s' WHERE id = '" V3 "'", st[f]);
            CHECK(sql(q));
            long long before = itest_query("SELECT version FROM violations WHERE id = '" V3 "'");
            snprintf(body, sizeof body, "{\"status\":\"%s\"}", st[t]);
            req("PATCH", "/api/v1/violations/" V3, tok_operator, body, &r);
            if (ok[f][t]) {
                CHECK_MSG(r.status == 200, "%s -> %s gave %ld", st[f], st[t], r.status);
                CHECK_EQ_STR(jstr(r.json, "status"), st[t]);
                CHECK_EQ_STR(jstr(r.json, "reviewed_by"), "olga");
                CHECK(jstr(r.json, "reviewed_at") != NULL);
                CHECK_EQ_INT(jint(r.json, "version"), before + 1);
            } else {
                CHECK_ERROR(r, 400, "INVALID_STATUS_TRANSITION");
                CHECK_EQ_STR(jstr(r.json, "details.current_status"), st[f]);
                CHECK_EQ_STR(jstr(r.json, "details.requested_status"), st[t]);
                json_t *allowed =
                    json_object_get(json_object_get(r.json, "details"), "allowed_transitions");
                CHECK(json_is_array(allowed));
                int n = 0;
                for (int k = 0; k < 4; k++)
                    n += ok[f][k];
                CHECK_EQ_INT(json_array_size(allowed), n);
                CHECK_EQ_INT(itest_query("SELECT version FROM violations WHERE id = '" V3 "'"),
                             before);
            }
        }
    ihttp_resp_free(&r);
}

static long changes_seen;
static void count_changes(const rd_kafka_message_t *m, void *arg)
{
    codec *c = arg;
    violation_change_msg vc;
    void *arena = NULL;
    codec_error err;
    if (codec_decode_violation_change(c, m->payload, m->len, &vc, &arena, &err) == 0 &&
        !strcmp(vc.violation_id, V2) && !strcmp(vc.change, "status_changed") &&
        !strcmp(vc.violation.status, "reviewed") && vc.version == 2 && vc.violation.reviewed_by &&
        !strcmp(vc.violation.reviewed_by, "olga") && vc.violation.resolution_notes &&
        !strcmp(vc.violation.resolution_notes, "checked"))
        changes_seen++;
    codec_arena_free(arena);
}

static void test_patch_publishes(void)
{
    resp r = {0};
    /* Stale If-Match: 412, nothing changes. */
    ihttp_request(port, "PATCH", "/api/v1/violations/" V2, tok_operator,
                  "{\"status\":\"reviewed\"}", "If-Match: \"7\"", &r);
    CHECK_ERROR(r, 412, "PRECONDITION_FAILED");
    CHECK_EQ_INT(jint(r.json, "details.current_version"), 1);
    ihttp_request(port, "PATCH", "/api/v1/violations/" V2, tok_operator,
                  "{\"status\":\"reviewed\"}", "If-Match: W/\"7\"", &r);
    CHECK_ERROR(r, 412, "PRECONDITION_FAILED");
    ihttp_request(port, "PATCH", "/api/v1/violations/" V2, tok_operator,
                  "{\"status\":\"reviewed\"}", "If-Match: version-one", &r);
    CHECK_ERROR(r, 400, "INVALID_PARAMETER");
    CHECK_EQ_INT(itest_query("SELECT version FROM violations WHERE id = '" V2 "'"), 1);
    /* Validation: notes too long, unknown field, bad status, empty body. */
    char big[2100 + 40];
    snprintf(big, sizeof big, "{\"resolution_notes\":\"%02100d\"}", 0);
    req("PATCH", "/api/v1/violations/" V2, tok_operator, big, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    CHECK(jstr(r.json, "details.resolution_notes") != NULL);
    req("PATCH", "/api/v1/violations/" V2, tok_operator, "{\"status\":\"closed\",\"x\":1}", &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    CHECK(jstr(r.json, "details.status") && jstr(r.json, "details.x"));
    req("PATCH", "/api/v1/violations/" V2, tok_operator, "{}", &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("PATCH", "/api/v1/violations/" V2, tok_operator, "[1,2", &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("PATCH", "/api/v1/violations/" NOPE, tok_operator, "{\"status\":\"reviewed\"}", &r);
    CHECK_ERROR(r, 404, "VIOLATION_NOT_FOUND");
    /* Read it first: the answer is now in the microcache... */
    req("GET", "/api/v1/violations/" V2, tok_viewer, NULL, &r);
    CHECK_EQ_STR(jstr(r.json, "status"), "open");
    /* The real change, with the matching version. */
    ihttp_request(port, "PATCH", "/api/v1/violations/" V2, tok_operator,
                  "{\"status\":\"reviewed\",\"resolution_notes\":\"checked\"}", "If-Match: \"1\"",
                  &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.etag, "\"2\"");
    /* ...which the write cleared: the next read sees the review. */
    req("GET", "/api/v1/violations/" V2, tok_viewer, NULL, &r);
    CHECK_EQ_STR(jstr(r.json, "status"), "reviewed");
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violations WHERE id = '" V2 "' AND status ="
                             " 'reviewed' AND reviewed_by = 'olga' AND resolution_notes ="
                             " 'checked' AND version = 2"),
                 1);
    /* Published to ruth.violations.v1 and gone from the outbox. */
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM outbox", 0, 15), 0);
    char err[256];
    codec *c = codec_new(NULL, err, sizeof err);
    changes_seen = 0;
    itest_consume(getenv("RUTH_TOPIC_VIOLATIONS"), 3, count_changes, c);
    codec_destroy(c);
    CHECK_EQ_INT(changes_seen, 1);
    ihttp_resp_free(&r);
}

/* ---- events ---- */

static void test_events(void)
{
    resp r = {0};
    req("GET", "/api/v1/events", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 120);
    CHECK_EQ_INT(jint(r.json, "pagination.limit"), 100);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "events")), 100);
    req("GET", "/api/v1/events?camera_id=cam-a&event_type=no_fall&limit=1000", tok_viewer, NULL,
        &r);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 20); /* g even and divisible by 3 */
    req("GET", "/api/v1/events?violation_id=" V1, tok_viewer, NULL, &r);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 4);
    req("GET", "/api/v1/events?confidence_min=0.95", tok_viewer, NULL, &r);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 5); /* g = 95..99 */
    req("GET", "/api/v1/events?limit=1001", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("GET", "/api/v1/events?violation_id=x", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    /* Keyset paging over all 120 in pages of 50: each row once, in order. */
    char path[512] = "/api/v1/events?limit=50";
    int rows = 0, pages = 0;
    char last[64] = "9999";
    for (;;) {
        req("GET", path, tok_viewer, NULL, &r);
        CHECK_EQ_INT(r.status, 200);
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r.json, "events"), i, e)
        {
            CHECK(strcmp(jstr(e, "timestamp"), last) < 0);
            snprintf(last, sizeof last, "%s", jstr(e, "timestamp"));
            rows++;
        }
        pages++;
        const char *next = jstr(r.json, "pagination.next_cursor");
        if (!next || pages > 5)
            break;
        snprintf(path, sizeof path, "/api/v1/events?limit=50&cursor=%s", next);
    }
    CHECK_EQ_INT(rows, 120);
    CHECK_EQ_INT(pages, 3);
    char one[128];
    PGconn *db = PQconnectdb(itest_db_url);
    PGresult *res = PQexec(db, "SELECT id FROM events ORDER BY \"timestamp\" LIMIT 1");
    snprintf(one, sizeof one, "/api/v1/events/%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    PQfinish(db);
    req("GET", one, tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(jstr(r.json, "camera_id"), "cam-b");
    req("GET", "/api/v1/events/" NOPE, tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "EVENT_NOT_FOUND");
    ihttp_resp_free(&r);
}

/* ---- devices (models and runtimes: test_api_analytics.c) ---- */

static void test_devices(void)
{
    resp r = {0};
    req("GET", "/api/v1/devices", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 3);
    json_t *a = json_array_get(json_object_get(r.json, "devices"), 0);
    CHECK_EQ_STR(jstr(a, "id"), "cam-a");
    CHECK_EQ_INT(jint(a, "stats_24h.events"), 60);
    CHECK_EQ_INT(jint(r.json, "pagination.limit"), 100); /* the contract's default */
    req("GET", "/api/v1/devices?discovered=true", tok_viewer, NULL, &r);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 1);
    /* is_active filters (it used to be ignored). */
    sql("UPDATE cameras SET active = false WHERE id = 'cam-b'");
    req("GET", "/api/v1/devices?is_active=false", tok_viewer, NULL, &r);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 1);
    CHECK_EQ_STR(jstr(json_array_get(json_object_get(r.json, "devices"), 0), "id"), "cam-b");
    req("GET", "/api/v1/devices?is_active=true", tok_viewer, NULL, &r);
    CHECK_EQ_INT(jint(r.json, "pagination.total"), 2);
    sql("UPDATE cameras SET active = true WHERE id = 'cam-b'");
    req("GET", "/api/v1/devices?is_active=maybe", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("GET", "/api/v1/devices?enabled=true", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    CHECK(jstr(r.json, "details.enabled") != NULL);
    req("GET", "/api/v1/devices/cam-zzz", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "DEVICE_NOT_FOUND");
    req("POST", "/api/v1/devices/cam-a/start-inference", tok_operator,
        "{\"model_id\":\"fall-v2\",\"inference_fps\":5}", &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(jstr(r.json, "device_id"), "cam-a");
    CHECK_EQ_STR(jstr(r.json, "status"), "started");
    CHECK_EQ_STR(jstr(r.json, "model_id"), "fall-v2");
    CHECK_EQ_INT(jint(r.json, "inference_fps"), 5);
    CHECK(json_real_value(json_object_get(r.json, "confidence_threshold")) == 0.7);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM cameras WHERE id = 'cam-a' AND"
                             " inference_active AND inference_model_id = 'fall-v2' AND"
                             " inference_fps = 5 AND inference_confidence_threshold = 0.7"),
                 1);
    req("GET", "/api/v1/devices/cam-a", tok_viewer, NULL, &r);
    CHECK(json_is_true(json_object_get(r.json, "inference_active")));
    CHECK_EQ_STR(jstr(r.json, "streaming.model_id"), "fall-v2");
    /* model_id is required (contract §1.7). */
    req("POST", "/api/v1/devices/cam-a/start-inference", tok_admin, NULL, &r);
    CHECK_ERROR(r, 400, "MISSING_REQUIRED_FIELD");
    CHECK(jstr(r.json, "details.model_id") != NULL);
    req("POST", "/api/v1/devices/cam-a/start-inference", tok_admin, "{\"model_id\":\"x\"}", &r);
    CHECK_ERROR(r, 409, "INFERENCE_ALREADY_ACTIVE");
    CHECK_EQ_STR(jstr(r.json, "details.model_id"), "fall-v2");
    req("POST", "/api/v1/devices/cam-a/stop-inference", tok_operator, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(jstr(r.json, "status"), "stopped");
    CHECK(jstr(r.json, "stopped_at") != NULL);
    req("POST", "/api/v1/devices/cam-a/stop-inference", tok_admin, NULL, &r);
    CHECK_ERROR(r, 404, "INFERENCE_NOT_ACTIVE");
    req("POST", "/api/v1/devices/cam-zzz/start-inference", tok_admin, "{\"model_id\":\"x\"}", &r);
    CHECK_ERROR(r, 404, "DEVICE_NOT_FOUND");
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM cameras WHERE inference_active"), 0);

    ihttp_resp_free(&r);
}

/* ---- rules and the event-type map ---- */

static void test_admin(void)
{
    resp r = {0};
    req("POST", "/api/v1/rules", tok_admin,
        "{\"camera_id\":\"cam-a\",\"event_type\":\"fall_detected\",\"min_confidence\":0.9,"
        "\"min_hits\":3,\"severity\":\"critical\"}",
        &r);
    CHECK_EQ_INT(r.status, 201);
    char id[64], path[128];
    snprintf(id, sizeof id, "%s", jstr(r.json, "id"));
    CHECK_EQ_INT(jint(r.json, "cooldown_seconds"), 60); /* default */
    req("POST", "/api/v1/rules", tok_admin,
        "{\"camera_id\":\"cam-a\",\"event_type\":\"fall_detected\"}", &r);
    CHECK_ERROR(r, 409, "RULE_CONFLICT");
    req("POST", "/api/v1/rules", tok_admin, "{\"min_confidence\":7,\"severity\":\"huge\"}", &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    CHECK(jstr(r.json, "details.event_type") && jstr(r.json, "details.min_confidence") &&
          jstr(r.json, "details.severity"));
    snprintf(path, sizeof path, "/api/v1/rules/%s", id);
    req("PATCH", path, tok_admin, "{\"enabled\":false,\"description\":\"night shift\"}", &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK(json_is_false(json_object_get(r.json, "enabled")));
    CHECK_EQ_INT(jint(r.json, "min_hits"), 3); /* untouched */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM rules WHERE camera_id = 'cam-a' AND NOT"
                             " enabled AND description = 'night shift'"),
                 1);
    req("GET", "/api/v1/rules?camera_id=cam-a", tok_viewer, NULL, &r);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "rules")), 1);
    CHECK_EQ_INT(
        json_integer_value(json_object_get(json_object_get(r.json, "pagination"), "total")), 1);
    /* Pages of the whole list: the seeded global rules and ours. */
    long long nrules = itest_query("SELECT count(*) FROM rules");
    req("GET", "/api/v1/rules?limit=1&offset=1", tok_viewer, NULL, &r);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "rules")), 1);
    json_t *pg = json_object_get(r.json, "pagination");
    CHECK_EQ_INT(json_integer_value(json_object_get(pg, "total")), nrules);
    CHECK(json_is_true(json_object_get(pg, "has_more")) == (nrules > 2));
    req("GET", "/api/v1/rules?limit=0", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("DELETE", path, tok_admin, NULL, &r);
    CHECK_EQ_INT(r.status, 204);
    req("GET", path, tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "RESOURCE_NOT_FOUND");
    CHECK_EQ_STR(jstr(r.json, "details.resource"), "rule");

    req("PUT", "/api/v1/event-type-map/man_down", tok_admin, "{\"event_type\":\"fall_detected\"}",
        &r);
    CHECK_EQ_INT(r.status, 201);
    req("PUT", "/api/v1/event-type-map/man_down", tok_admin, "{\"event_type\":\"person_down\"}",
        &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM event_type_map WHERE raw_label = 'man_down'"
                             " AND event_type = 'person_down'"),
                 1);
    req("GET", "/api/v1/event-type-map", tok_viewer, NULL, &r);
    CHECK(json_array_size(json_object_get(r.json, "mappings")) > 20); /* seeded + ours */
    CHECK_EQ_INT(
        json_integer_value(json_object_get(json_object_get(r.json, "pagination"), "total")),
        itest_query("SELECT count(*) FROM event_type_map"));
    req("GET", "/api/v1/event-type-map?offset=100000", tok_viewer, NULL, &r);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "mappings")), 0);
    req("DELETE", "/api/v1/event-type-map/man_down", tok_admin, NULL, &r);
    CHECK_EQ_INT(r.status, 204);
    req("DELETE", "/api/v1/event-type-map/man_down", tok_admin, NULL, &r);
    CHECK_ERROR(r, 404, "RESOURCE_NOT_FOUND");
    req("PUT", "/api/v1/event-type-map/x", tok_operator, "{\"event_type\":\"y\"}", &r);
    CHECK_ERROR(r, 403, "INSUFFICIENT_PERMISSIONS");
    ihttp_resp_free(&r);
}

/* ---- live stream ---- */

typedef struct sse_read {
    buf data;
    const char *want;
} sse_read;

static size_t on_sse(char *p, size_t sz, size_t n, void *arg)
{
    sse_read *s = arg;
    buf_append(&s->data, p, sz * n);
    buf_append_byte(&s->data, 0);
    s->data.len--;
    return strstr((const char *)s->data.data, s->want) ? 0 : sz * n; /* 0 ends the transfer */
}

/* Read the stream with `token` (optionally resuming) until `want` appears,
 * the server ends it, or `timeout_s` pass; curl's result. */
static CURLcode sse_read_with(const char *token, const char *last_id, const char *want,
                              long timeout_s, sse_read *s)
{
    char url[256], auth[1100], resume[160];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/v1/violations/stream", port);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    struct curl_slist *hs = curl_slist_append(NULL, auth);
    if (last_id) {
        snprintf(resume, sizeof resume, "Last-Event-ID: %s", last_id);
        hs = curl_slist_append(hs, resume);
    }
    s->want = want;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_sse);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
    return rc;
}

/* Read the stream (optionally resuming) until `want` appears or 15 s pass. */
static void sse_until(const char *last_id, const char *want, sse_read *s)
{
    sse_read_with(tok_viewer, last_id, want, 15, s);
}

static void *patch_later(void *arg)
{
    usleep(1500 * 1000);
    resp r = {0};
    req("PATCH", "/api/v1/violations/" V1, tok_operator, (const char *)arg, &r);
    ihttp_resp_free(&r);
    return NULL;
}

static void test_stream(void)
{
    /* The stream starts once Kafka answers; give it a moment on a fresh topic. */
    resp r = {0};
    for (int i = 0; i < 40; i++) {
        req("GET", "/api/v1/violations/stream?last_event_id=x", tok_viewer, NULL, &r);
        if (r.status == 400)
            break;
        usleep(250 * 1000);
    }
    CHECK_ERROR(r, 400, "INVALID_PARAMETER");
    ihttp_resp_free(&r);
    pthread_t th;
    pthread_create(&th, NULL, patch_later, "{\"resolution_notes\":\"first note\"}");
    sse_read s = {{0}, NULL};
    sse_until(NULL, "first note", &s);
    pthread_join(th, NULL);
    const char *d = (const char *)s.data.data;
    CHECK_MSG(d && strstr(d, "event: violation_change") && strstr(d, V1), "stream: %s",
              d ? d : "(nothing)");
    /* The id of that change, then a second change while disconnected. */
    const char *id = strstr(d, "id: ");
    CHECK(id);
    char last[128];
    snprintf(last, sizeof last, "%.*s", (int)strcspn(id + 4, "\n"), id + 4);
    buf_free(&s.data);
    req("PATCH", "/api/v1/violations/" V1, tok_operator, "{\"resolution_notes\":\"second note\"}",
        &r);
    CHECK_EQ_INT(r.status, 200);
    ihttp_resp_free(&r);
    sse_read s2 = {{0}, NULL};
    sse_until(last, "second note", &s2);
    d = (const char *)s2.data.data;
    CHECK_MSG(d && strstr(d, "second note") && !strstr(d, "first note"), "resumed: %s",
              d ? d : "(nothing)");
    buf_free(&s2.data);
    /* A stream ends when the token it was opened with expires (checked at
     * the latest at the 15 s keep-alive): this one is valid one more second. */
    char *brief =
        auth_mint(SECRET, "vera", ROLE_VIEWER, time(NULL) - 60, time(NULL) - AUTH_LEEWAY_SEC + 1);
    sse_read e = {{0}, NULL};
    double t0 = itest_now();
    CURLcode ended = sse_read_with(brief, NULL, "never sent", 30, &e);
    double took = itest_now() - t0;
    free(brief);
    buf_free(&e.data);
    CHECK_MSG(ended == CURLE_OK && took < 25, "stream with an expired token: %s after %.1f s",
              curl_easy_strerror(ended), took);
}

/* ---- hostile input ---- */

/* A raw POST /api/v1/rules as admin whose headers end with `framing`
 * (the body's length or encoding); the body is the caller's to send. Send
 * and receive time out after 5 s. The socket, or -1. */
static int raw_post_rules(const char *framing)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char head[1024];
    int hn = snprintf(head, sizeof head,
                      "POST /api/v1/rules HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\n%s\r\n\r\n",
                      tok_admin, framing);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        send(fd, head, (size_t)hn, MSG_NOSIGNAL) != hn) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Injection attempts in filters, path ids and body fields are just values. */
static void test_hostile_injection(void)
{
    resp r = {0};
    /* Injection attempts in every filter are just values. */
    const char *inj[] = {
        "/api/v1/violations?camera_id=x%27%20OR%201%3D1%20--",
        "/api/v1/violations?type=%27%3B%20DROP%20TABLE%20violations%3B%20--",
        "/api/v1/events?camera_id=%27%20OR%20%27%27%3D%27&event_type=%22%29%3B--",
        "/api/v1/analytics/summary?camera_id=%27%20UNION%20SELECT%201%20--",
        "/api/v1/rules?event_type=%27%20OR%201%3D1%20--",
    };
    for (size_t i = 0; i < sizeof inj / sizeof inj[0]; i++) {
        req("GET", inj[i], tok_viewer, NULL, &r);
        CHECK_MSG(r.status == 200, "%s -> %ld", inj[i], r.status);
        json_t *p = json_object_get(r.json, "pagination");
        if (p)
            CHECK_EQ_INT(jint(p, "total"), 0);
    }
    req("GET", "/api/v1/devices/x%27%20OR%201%3D1%20--", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "DEVICE_NOT_FOUND");
    /* ...and in the other filters, path ids and body fields. */
    long long rules = itest_query("SELECT count(*) FROM rules");
    long long maps = itest_query("SELECT count(*) FROM event_type_map");
    req("GET", "/api/v1/rules?camera_id=%27%20OR%201%3D1%20--", tok_viewer, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(jint(json_object_get(r.json, "pagination"), "total"), 0);
    req("GET", "/api/v1/analytics/cameras/x%27%3B%20DROP%20TABLE%20events%3B%20--", tok_viewer,
        NULL, &r);
    CHECK(r.status == 200 || r.status == 404);
    req("POST", "/api/v1/devices/x%27%20OR%20%271%27%3D%271/start-inference", tok_admin,
        "{\"model_id\":\"m\"}", &r);
    CHECK_ERROR(r, 404, "DEVICE_NOT_FOUND");
    req("DELETE", "/api/v1/event-type-map/x%27%20OR%20%271%27%3D%271", tok_admin, NULL, &r);
    CHECK_ERROR(r, 404, "RESOURCE_NOT_FOUND");
    req("GET", "/api/v1/violations/stream?last_event_id=1%27%3B--", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "INVALID_PARAMETER");
    req("POST", "/api/v1/rules", tok_admin,
        "{\"event_type\":\"fall_detected\",\"camera_id\":\"c'); DELETE FROM rules; --\","
        "\"min_confidence\":0.9}",
        &r);
    CHECK_EQ_INT(r.status, 201);
    CHECK_EQ_STR(jstr(r.json, "camera_id"), "c'); DELETE FROM rules; --"); /* stored as text */
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM rules"), rules + 1);
    char del[128];
    snprintf(del, sizeof del, "/api/v1/rules/%s", jstr(r.json, "id"));
    req("DELETE", del, tok_admin, NULL, &r);
    CHECK_EQ_INT(r.status, 204);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM rules"), rules);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM event_type_map"), maps);
    CHECK(itest_query("SELECT count(*) FROM events") > 0);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violations"), 3);
    ihttp_resp_free(&r);
}

/* Malformed UTF-8 is refused. */
static void test_hostile_utf8(void)
{
    resp r = {0};
    /* Malformed UTF-8 in a filter and in a path. */
    req("GET", "/api/v1/violations?camera_id=%C3%28", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("GET", "/api/v1/devices/%FF%FE", tok_viewer, NULL, &r);
    CHECK(r.status == 404 || r.status == 400);
    req("PUT", "/api/v1/event-type-map/a", tok_admin, "{\"event_type\":\"\xc3\x28\"}", &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    ihttp_resp_free(&r);
}

/* Bodies over the limit, sent or only announced. */
static void test_hostile_body_limits(void)
{
    resp r = {0};
    /* Oversize body (limit 65536 by default). */
    buf big = {0};
    buf_append_str(&big, "{\"resolution_notes\":\"");
    for (int i = 0; i < 70000; i++)
        buf_append_byte(&big, 'a');
    buf_append_str(&big, "\"}");
    buf_append_byte(&big, 0);
    req("PATCH", "/api/v1/violations/" V2, tok_operator, (const char *)big.data, &r);
    buf_free(&big);
    CHECK_ERROR(r, 413, "PAYLOAD_TOO_LARGE");
    /* An endless chunked upload is not read on once it passes the limit:
     * the server closes the connection (it cannot answer before the body
     * ends). A server reading on would take all 64 MB. */
    {
        int fd = raw_post_rules("Transfer-Encoding: chunked");
        CHECK(fd >= 0);
        static char chunk[8192 + 16];
        int cn = snprintf(chunk, sizeof chunk, "2000\r\n");
        memset(chunk + cn, ' ', 8192);
        memcpy(chunk + cn + 8192, "\r\n", 2);
        size_t sent = 0;
        int err = 0;
        while (sent < (64u << 20)) {
            ssize_t n = send(fd, chunk, (size_t)cn + 8194, MSG_NOSIGNAL);
            if (n <= 0) {
                err = errno;
                break;
            }
            sent += (size_t)n;
        }
        close(fd);
        CHECK_MSG(err == EPIPE || err == ECONNRESET, "after %zu bytes: %s", sent,
                  err ? strerror(err) : "all sent");
    }
    /* A body announced too large is answered before it is sent. */
    {
        int fd = raw_post_rules("Content-Length: 1000000000");
        CHECK(fd >= 0);
        char answer[64] = "";
        ssize_t n = recv(fd, answer, sizeof answer - 1, 0);
        answer[n > 0 ? n : 0] = '\0';
        close(fd);
        CHECK_MSG(!strncmp(answer, "HTTP/1.1 413", 12), "answer: %.20s", answer);
    }
    ihttp_resp_free(&r);
}

/* Deeply nested JSON. */
static void test_hostile_nesting(void)
{
    resp r = {0};
    /* Deeply nested JSON never reaches the recursive parser. */
    buf deep = {0};
    for (int i = 0; i < 60000; i++) /* under the body limit */
        buf_append_byte(&deep, '[');
    buf_append_byte(&deep, 0);
    req("POST", "/api/v1/rules", tok_admin, (const char *)deep.data, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    buf_free(&deep);
    req("POST", "/api/v1/rules", tok_admin,
        "{\"event_type\":\"x\",\"description\":{\"a\":"
        "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}",
        &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    ihttp_resp_free(&r);
}

/* Odd ids, cursors, times and paths. */
static void test_hostile_edges(void)
{
    resp r = {0};
    /* A long id cut mid-character in the error text, a forged cursor, times
     * moved out of range by their offset, the API outside /api/v1. */
    buf longid = {0};
    buf_append_str(&longid, "/api/v1/devices/a");
    for (int i = 0; i < 300; i++)
        buf_append_str(&longid, "%C3%A9");
    buf_append_byte(&longid, 0);
    req("GET", (const char *)longid.data, tok_viewer, NULL, &r);
    buf_free(&longid);
    CHECK_ERROR(r, 404, "DEVICE_NOT_FOUND");
    req("GET",
        "/api/v1/"
        "violations?cursor="
        "djpjcmVhdGVkX2F0OmRlc2N8YWJjfDExMTExMTExLTExMTEtNDExMS04MTExLTAwMDAwMDAwMDAwMQ",
        tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("GET", "/api/v1/events?from=1970-01-01T00:00:00.5%2B01:00", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    req("GET", "/violations", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "RESOURCE_NOT_FOUND");
    req("GET", "/metrics", NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.json == NULL && strstr((const char *)r.body.data, "ruth_api_requests_total"));
    /* Handling time by route: the lists asked for above, and the 404s
     * no route served. */
    const char *body = (const char *)r.body.data;
    const char *at = strstr(body, "ruth_api_request_seconds_count{route=\"violations_list\"} ");
    CHECK(at && atof(strchr(at, '}') + 2) >= 1);
    at = strstr(body, "ruth_api_request_seconds_count{route=\"none\"} ");
    CHECK(at && atof(strchr(at, '}') + 2) >= 1);
    req("GET", "/ready", NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    ihttp_resp_free(&r);
}

/* A second instance with tight limits: rate limiting, connection flood,
 * slow clients, CORS. */
static void test_limits(void)
{
    setenv("RUTH_API_RATE_LIMIT_RPS", "5", 1);
    setenv("RUTH_API_MAX_CONNECTIONS", "20", 1);
    setenv("RUTH_API_CORS_ORIGINS", "https://dash.example", 1);
    char log[256];
    snprintf(log, sizeof log, "/tmp/test_api_limits_%d.log", (int)getpid());
    unlink(log);
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    setenv("RUTH_API_RATE_LIMIT_RPS", "0", 1);
    unsetenv("RUTH_API_MAX_CONNECTIONS");
    unsetenv("RUTH_API_CORS_ORIGINS");
    int p2 = -1;
    double t = itest_now();
    while ((p2 = itest_log_int(log, "\"api_port\":")) < 0 && itest_now() - t < 20)
        usleep(100 * 1000);
    CHECK(p2 > 0);
    resp r = {0};
    int limited = 0, okc = 0;
    for (int i = 0; i < 30; i++) {
        ihttp_request(p2, "GET", "/api/v1/violations?limit=1", tok_viewer, NULL, NULL, &r);
        if (r.status == 429) {
            limited++;
            CHECK_ERROR(r, 429, "RATE_LIMITED");
            CHECK(atoi(r.retry_after) >= 1);
        } else if (r.status == 200) {
            okc++;
        }
    }
    CHECK_MSG(limited > 0 && okc >= 10, "limited %d ok %d", limited, okc);
    sleep(2); /* the bucket refills */

    /* Flood: 60 idle connections against a limit of 20; the server refuses
     * the excess and keeps serving once they go. Slow clients (a request
     * line and no more) are among them. */
    int fds[60];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p2)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < 60; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i], (struct sockaddr *)&sa, sizeof sa) == 0 && i % 2 == 0) {
            const char *partial = "GET /api/v1/violations HTTP/1.1\r\nHost: x\r\n";
            ssize_t w = write(fds[i], partial, strlen(partial));
            (void)w;
        }
    }
    usleep(300 * 1000);
    for (int i = 0; i < 60; i++)
        close(fds[i]);
    /* Refused or queued, the excess never takes the server down: it answers
     * again as soon as the flood is gone. */
    for (int i = 0; i < 50; i++) {
        ihttp_request(p2, "GET", "/ready", NULL, NULL, NULL, &r);
        if (r.status == 200)
            break;
        usleep(100 * 1000);
    }
    CHECK_EQ_INT(r.status, 200);
    CHECK(kill(pid, 0) == 0);

    /* CORS: preflight for an allowed origin, nothing for another. */
    ihttp_request(p2, "OPTIONS", "/api/v1/violations", NULL, NULL, "Origin: https://dash.example",
                  &r);
    CHECK_EQ_INT(r.status, 204);
    CHECK_EQ_STR(r.allow_origin, "https://dash.example");
    ihttp_request(p2, "GET", "/api/v1/violations?limit=1", tok_viewer, NULL,
                  "Origin: https://evil.example", &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.allow_origin, "");
    ihttp_resp_free(&r);
    kill(pid, SIGTERM);
    CHECK_EQ_INT(itest_wait_exit(pid, 15), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("api", 3);
    seed();
    itest_api_env(SECRET); /* test_limits starts a rate-limited one of its own */
    setenv("RUTH_API_DB_POOL", "4", 1);
    itest_token(tok_viewer, sizeof tok_viewer, SECRET, "vera", ROLE_VIEWER);
    itest_token(tok_operator, sizeof tok_operator, SECRET, "olga", ROLE_OPERATOR);
    itest_token(tok_admin, sizeof tok_admin, SECRET, "adam", ROLE_ADMIN);

    char *log = api_log;
    snprintf(api_log, sizeof api_log, "/tmp/test_api_%d.log", (int)getpid());
    unlink(log);
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    if ((port = itest_api_port(log)) < 0)
        return 1;
    TEST_RUN(test_auth);
    TEST_RUN(test_violations_list);
    TEST_RUN(test_violations_cursor);
    TEST_RUN(test_violation_get);
    TEST_RUN(test_events);
    TEST_RUN(test_devices);
    TEST_RUN(test_admin);
    TEST_RUN(test_patch_publishes);
    TEST_RUN(test_transitions);
    TEST_RUN(test_stream);
    TEST_RUN(test_hostile_injection);
    TEST_RUN(test_hostile_utf8);
    TEST_RUN(test_hostile_body_limits);
    TEST_RUN(test_hostile_nesting);
    TEST_RUN(test_hostile_edges);
    TEST_RUN(test_limits);

    kill(pid, SIGTERM);
    int st = itest_wait_exit(pid, 20);
    if (st != 0) {
        fprintf(stderr, "ruth-api exited with %d on SIGTERM; log: %s\n", st, log);
        testlib_failures++;
    }
    if (testlib_failures)
        fprintf(stderr, "ruth-api log: %s\n", log);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT();
}
