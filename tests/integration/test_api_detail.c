/* test_api_detail.c - GET /violations/{id}'s two event lists against real
 * PostgreSQL and Kafka, now that ruth_violation_events() (migration 0016)
 * reads only the daily partitions between the violation's first and last
 * event: a violation over midnight keeps the events of both days, an event
 * of another violation or of no violation stays out, `events` is the newest
 * 50 and `event_ids` all of them oldest first, and both lists are byte for
 * byte what PostgreSQL's json_agg over every partition writes (the query
 * the detail ran before). Rows are written directly with SQL.
 *
 * And the violation body itself, list item and detail, byte for byte what
 * the json_build_object() statement of PostgreSQL wrote before ruth-api
 * wrote it in C (now from binary columns: timestamps, bigints, uuids),
 * with awkward values: times before 1970 and with microseconds, an
 * ongoing violation, a bigint above 2^53, escapes, NULLs, one evidence
 * kind missing. */
#include "ihttp.h"
#include "itest.h"

#include "api.h"

#include <curl/curl.h>
#include <jansson.h>
#include <time.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define VD "22222222-2222-4222-8222-000000000001" /* over midnight, 70 events */
#define VO "22222222-2222-4222-8222-000000000002" /* the day after, 1 event */
#define VN "22222222-2222-4222-8222-000000000003" /* no events at all */
#define VB "22222222-2222-4222-8222-000000000004" /* 1005 events: event_ids stops at 1000 */
#define VF "22222222-2222-4222-8222-000000000005" /* in 1850: the function's path */

static bool sql(const char *s)
{
    return itest_exec(itest_db_url, s);
}

/* 60 events of VD on 2026-01-01 from 23:30 (every 30 s), 10 on 2026-01-02
 * until 00:05, one of VO at 2026-01-02 12:00, and unlinked events of the
 * same camera on all three days; every day has its partition. */
static void seed(void)
{
    sql("SELECT ruth_ensure_event_partitions('2026-01-01', 3)");
    sql("INSERT INTO cameras (id, name) VALUES ('cam-d', 'Dock D')");
    sql("INSERT INTO violations (id, type, camera_id, confidence, max_confidence, event_count,"
        " first_event_at, last_event_at, ended_at) VALUES"
        " ('" VD "', 'fall_detected', 'cam-d', 0.9, 0.9, 70, '2026-01-01 23:30:00+00',"
        "  '2026-01-02 00:04:30+00', '2026-01-02 00:05:30+00'),"
        " ('" VO "', 'fall_detected', 'cam-d', 0.8, 0.8, 1, '2026-01-02 12:00:00+00',"
        "  '2026-01-02 12:00:00+00', '2026-01-02 12:01:00+00'),"
        " ('" VN "', 'ppe_violation', 'cam-d', 0.7, 0.7, 1, '2026-01-03 08:00:00+00',"
        "  '2026-01-03 08:00:00+00', '2026-01-03 08:01:00+00'),"
        " ('" VB "', 'intrusion', 'cam-d', 0.6, 0.6, 1005, '2026-01-03 01:00:00+00',"
        "  '2026-01-03 01:16:44+00', '2026-01-03 01:17:00+00'),"
        " ('" VF "', 'loitering', 'cam-d', 0.5, 0.5, 2, '1850-06-01 10:00:00+00',"
        "  '1850-06-01 10:00:01+00', '1850-06-01 10:01:00+00')");
    sql("INSERT INTO events (camera_id, stream_id, event_type, type_detail, confidence,"
        " \"timestamp\", model_id, model_version, bounding_boxes, frame_id, idempotency_key,"
        " violation_id)"
        " SELECT 'cam-d', 'str-d', 'fall_detected', CASE WHEN g % 7 = 0 THEN E'raw \"x\"\\n' END,"
        "  (g % 10) / 10.0, '2026-01-01 23:30:00+00'::timestamptz + g * interval '30 seconds',"
        "  'fall-v1', '1.2', '[{\"x\": 1, \"y\": 2.5}]', 'f' || g, 'd' || g, '" VD "'"
        " FROM generate_series(0, 69) g");
    sql("INSERT INTO events (camera_id, event_type, confidence, \"timestamp\", model_id,"
        " idempotency_key, violation_id) VALUES"
        " ('cam-d', 'fall_detected', 0.8, '2026-01-02 12:00:00+00', 'fall-v1', 'o1', '" VO "'),"
        " ('cam-d', 'person', 0.5, '2026-01-01 23:45:00+00', 'fall-v1', 'u1', NULL),"
        " ('cam-d', 'person', 0.5, '2026-01-02 00:01:00+00', 'fall-v1', 'u2', NULL),"
        " ('cam-d', 'person', 0.5, '2026-01-03 08:00:00+00', 'fall-v1', 'u3', NULL),"
        " ('cam-d', 'loitering', 0.5, '1850-06-01 10:00:00+00', 'fall-v1', 'f1', '" VF "'),"
        " ('cam-d', 'loitering', 0.5, '1850-06-01 10:00:01+00', 'fall-v1', 'f2', '" VF "')");
    sql("INSERT INTO events (camera_id, event_type, confidence, \"timestamp\", model_id,"
        " idempotency_key, violation_id)"
        " SELECT 'cam-d', 'intrusion', 0.6, '2026-01-03 01:00:00+00'::timestamptz"
        "  + (g / 2) * interval '2 seconds', 'fall-v1', 'b' || g, '" VB "'"
        " FROM generate_series(0, 1004) g");
}

/* The first value of a query's answer, as text (owned; "?" on error). */
static char *one_text(const char *q)
{
    PGconn *db = PQconnectdb(itest_db_url);
    PGresult *res = PQexec(db, q);
    char *out =
        strdup(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0)
                                                                             : "?");
    PQclear(res);
    PQfinish(db);
    return out;
}

/* What the detail's subqueries wrote before migration 0016, over every
 * partition: "<events>|<event_ids>". */
static char *want_lists(const char *id)
{
    char q[2048];
    snprintf(q, sizeof q,
             "SELECT (SELECT coalesce(json_agg(ev), '[]') FROM ("
             " SELECT e.id, e.camera_id, e.stream_id, e.event_type, e.type_detail, e.confidence,"
             " ruth_time(e.\"timestamp\") AS \"timestamp\", e.model_id, e.model_version,"
             " e.bounding_boxes, e.frame_id, e.violation_id, ruth_time(e.created_at) AS created_at"
             " FROM events e WHERE e.violation_id = '%s'"
             " ORDER BY e.\"timestamp\" DESC, e.id DESC LIMIT 50) ev) || '|' ||"
             " (SELECT coalesce(json_agg(i.id), '[]') FROM (SELECT e.id FROM events e"
             " WHERE e.violation_id = '%s' ORDER BY e.\"timestamp\", e.id LIMIT 1000) i)",
             id, id);
    return one_text(q);
}

/* The body's "events": ... , "event_ids": ... text as "<events>|<event_ids>". */
static char *got_lists(buf *body)
{
    const char *s = buf_cstr(body), *a = strstr(s, "\"events\" : "),
               *b = strstr(s, ", \"event_ids\" : "), *c = strstr(s, ", \"evidence_items\" : ");
    if (!a || !b || !c || !(a < b && b < c))
        return strdup("(no lists)");
    a += strlen("\"events\" : ");
    const char *b2 = b + strlen(", \"event_ids\" : ");
    size_t na = (size_t)(b - a), nb = (size_t)(c - b2);
    char *out = malloc(na + nb + 2);
    memcpy(out, a, na);
    out[na] = '|';
    memcpy(out + na + 1, b2, nb);
    out[na + nb + 1] = '\0';
    return out;
}

static void check_violation(int port, const char *tok, const char *id, size_t n_events,
                            size_t n_ids)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/violations/%s", id);
    ihttp_resp r = {0};
    ihttp_request(port, "GET", path, tok, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "events")), n_events);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "event_ids")), n_ids);
    char *want = want_lists(id), *got = got_lists(&r.body);
    CHECK_MSG(!strcmp(want, got), "%s: lists differ:\n got %.300s\nwant %.300s", id, got, want);
    free(want);
    free(got);
    ihttp_resp_free(&r);
}

static int port;
static char tok[1024];

/* The item as PostgreSQL's json_build_object wrote it (the statement the
 * list ran before ruth-api wrote the JSON; zones and the clamped bookmark
 * length as added since). */
static char *want_item(const char *id)
{
    char q[4096];
    snprintf(q, sizeof q,
             "SELECT json_build_object('id', v.id, 'type', v.type, 'camera_id', v.camera_id,"
             " 'camera_name', coalesce(c.name, v.camera_id), 'stream_id', v.stream_id,"
             " 'model_id', v.model_id, 'model_version', v.model_version, 'rule_id', v.rule_id,"
             " 'status', v.status, 'severity', v.severity, 'confidence', v.confidence,"
             " 'max_confidence', v.max_confidence,"
             " 'opening_confidence', coalesce(v.opening_confidence, v.confidence),"
             " 'timestamp', ruth_time(v.first_event_at), 'event_count', v.event_count,"
             " 'bounding_boxes', v.bounding_boxes, 'zones', array_to_json(v.zones),"
             " 'first_event_at', ruth_time(v.first_event_at), 'last_event_at', "
             "ruth_time(v.last_event_at),"
             " 'ended_at', ruth_time(v.ended_at), 'ongoing', v.ended_at IS NULL,"
             " 'reviewed_by', v.reviewed_by, 'reviewed_at', ruth_time(v.reviewed_at),"
             " 'resolution_notes', v.resolution_notes, 'version', v.version,"
             " 'created_at', ruth_time(v.created_at), 'updated_at', ruth_time(v.updated_at),"
             " 'snapshot_status', s.status, 'snapshot_url', s.url,"
             " 'bookmark_status', b.status, 'bookmark_url', b.url,"
             " 'evidence', json_build_object('snapshot_id', s.vas_id,"
             "  'snapshot_url', '/api/v1/violations/' || v.id || '/snapshot',"
             "  'snapshot_status', coalesce(s.status, 'failed'), 'bookmark_id', b.vas_id,"
             "  'bookmark_url', '/api/v1/violations/' || v.id || '/video',"
             "  'bookmark_status', coalesce(b.status, 'failed'),"
             "  'bookmark_duration_seconds', coalesce(CASE WHEN b.duration_seconds BETWEEN 0"
             "   AND 2147483647 THEN round(b.duration_seconds)::int END,"
             "   b.before_seconds + b.after_seconds, 15),"
             "  'evidence_status', CASE WHEN s.status = 'ready' AND b.status = 'ready' THEN 'ready'"
             "   WHEN s.status IS NULL OR b.status IS NULL OR 'failed' IN (s.status, b.status)"
             "   THEN 'failed' WHEN 'processing' IN (s.status, b.status) THEN 'processing'"
             "   ELSE 'pending' END))"
             " FROM violations v LEFT JOIN cameras c ON c.id = v.camera_id"
             " LEFT JOIN evidence s ON s.violation_id = v.id AND s.kind = 'snapshot'"
             " LEFT JOIN evidence b ON b.violation_id = v.id AND b.kind = 'bookmark'"
             " WHERE v.id = '%s'",
             id);
    return one_text(q);
}

/* VN and VO awkward; each item in the list and each detail's members as
 * want_item() writes them. */
static void test_body(void)
{
    sql("UPDATE violations SET rule_id = '33333333-3333-4333-8333-0000000000ff',"
        " stream_id = 'str-\"n\"', model_version = NULL, severity = 'high',"
        " confidence = 0.30000000000000004, max_confidence = 0.9999999999999999,"
        " opening_confidence = NULL, event_count = 9007199254740993, ended_at = NULL,"
        " reviewed_by = E'r\\u00e9v', reviewed_at = '1969-07-20 20:17:40.123456+00',"
        " resolution_notes = E'say \"no\"\\\\ \\n\\t\\x01', zones = '{\"dock a\",\"z\\\"b\"}',"
        " bounding_boxes = '[{\"x\": 1e-7, \"y\": [true, null]}]',"
        " created_at = '1999-12-31 23:59:59.999999+00',"
        " updated_at = '2000-01-01 00:00:00.0005+00' WHERE id = '" VN "'");
    sql("INSERT INTO evidence (violation_id, kind, status, camera_id, center_timestamp, vas_id,"
        " url) VALUES ('" VN "', 'snapshot', 'processing', 'cam-d', '2026-01-03 08:00:00+00',"
        " 'snap-\"n', NULL),"
        " ('" VO
        "', 'snapshot', 'ready', 'cam-d', '2026-01-02 12:00:00+00', 'snap-o', 'http://s/o'),"
        " ('" VO
        "', 'bookmark', 'ready', 'cam-d', '2026-01-02 12:00:00+00', 'bm-o', 'http://b/o')");
    sql("UPDATE evidence SET duration_seconds = 12.5 WHERE violation_id = '" VO "'");
    const char *ids[] = {VN, VO, VD};
    for (int i = 0; i < 3; i++) {
        char *want = want_item(ids[i]);
        ihttp_resp r = {0};
        ihttp_request(port, "GET", "/api/v1/violations?limit=100", tok, NULL, NULL, &r);
        CHECK_EQ_INT(r.status, 200);
        CHECK_MSG(strstr(buf_cstr(&r.body), want), "%s: list item differs:\n got %.2000s\nwant %s",
                  ids[i], buf_cstr(&r.body), want);
        ihttp_resp_free(&r);
        char path[128];
        snprintf(path, sizeof path, "/api/v1/violations/%s", ids[i]);
        ihttp_request(port, "GET", path, tok, NULL, NULL, &r);
        CHECK_EQ_INT(r.status, 200);
        size_t n = strlen(want) - 1; /* the detail goes on after the item's members */
        CHECK_MSG(!strncmp(buf_cstr(&r.body), want, n) && buf_cstr(&r.body)[n] == ',',
                  "%s: detail differs:\n got %.2000s\nwant %s", ids[i], buf_cstr(&r.body), want);
        ihttp_resp_free(&r);
        free(want);
    }
}

static void test_lists(void)
{
    check_violation(port, tok, VD, 50, 70);
    check_violation(port, tok, VO, 1, 1);
    check_violation(port, tok, VN, 0, 0);
    check_violation(port, tok, VB, 50, 1000); /* pairs of equal times: the id decides */
    check_violation(port, tok, VF, 2, 2);
    /* The newest first in `events`, the oldest first in `event_ids`: the
     * newest is the 70th, after midnight; the oldest the first, before it. */
    ihttp_resp r = {0};
    ihttp_request(port, "GET", "/api/v1/violations/" VD, tok, NULL, NULL, &r);
    const json_t *ev = json_object_get(r.json, "events");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(ev, 0), "timestamp")),
                 "2026-01-02T00:04:30.000Z");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(ev, 49), "timestamp")),
                 "2026-01-01T23:40:00.000Z");
    char *oldest = one_text("SELECT id FROM events WHERE idempotency_key = 'd0'");
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(r.json, "event_ids"), 0)),
                 oldest);
    free(oldest);
    ihttp_resp_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("api_detail", 1);
    seed();
    itest_api_env(SECRET);
    setenv("RUTH_API_CACHE_MS", "0", 1);
    itest_token(tok, sizeof tok, SECRET, "vera", ROLE_VIEWER);
    char log[256];
    snprintf(log, sizeof log, "/tmp/test_api_detail_%d.log", (int)getpid());
    unlink(log);
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    if ((port = itest_api_port(log)) < 0)
        return 1;
    TEST_RUN(test_lists);
    TEST_RUN(test_body);
    kill(pid, SIGTERM);
    if (itest_wait_exit(pid, 20) != 0)
        testlib_failures++;
    if (testlib_failures)
        fprintf(stderr, "ruth-api log: %s\n", log);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT();
}
