/* test_violation_rollups.c - the per-block violation counts GET
 * /analytics/summary reads (migration 0018: violation_rollups_camera,
 * violation_rollups_time, kept by triggers on violations) against real
 * PostgreSQL and Kafka: after incidents ruth-worker opens from results
 * produced to Kafka, after status changes through PATCH /violations/{id}
 * (another process and session than the worker's), after deletes and after
 * ruth_violation_rollups_rebuild(), the rows summed over writers must be
 * what the violations say; and the summary over ragged ranges (seconds
 * inside minutes, no whole minute at all) must count what the raw violations
 * say, per bucket, camera and status. */
#include "ihttp.h"
#include "itest.h"

#include "api_auth.h"

#include <curl/curl.h>
#include <jansson.h>
#include <time.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define NCAM 4
#define PER_CAM 3

static int port;
static char tok[1024], tok_op[1024];

/* Rollup figures that differ from the violations counted per block: per
 * camera and status, and per block of all cameras (rows summed over
 * writers; a zero sum is as no row). */
static long long mismatches(void)
{
    return itest_query(
               "WITH want AS (SELECT s.span, ruth_block(s.span, created_at) AS at, camera_id,"
               "  count(*) FILTER (WHERE status = 'open') AS o,"
               "  count(*) FILTER (WHERE status = 'reviewed') AS r,"
               "  count(*) FILTER (WHERE status = 'dismissed') AS d,"
               "  count(*) FILTER (WHERE status = 'resolved') AS x FROM violations"
               "  CROSS JOIN (VALUES (60), (600), (3600), (21600)) s(span) GROUP BY 1, 2, 3),"
               " got AS (SELECT span, at, camera_id, sum(open) AS o, sum(reviewed) AS r,"
               "  sum(dismissed) AS d, sum(resolved) AS x FROM violation_rollups_camera"
               "  GROUP BY 1, 2, 3 HAVING sum(open) <> 0 OR sum(reviewed) <> 0"
               "   OR sum(dismissed) <> 0 OR sum(resolved) <> 0)"
               " SELECT count(*) FROM want FULL JOIN got USING (span, at, camera_id)"
               "  WHERE (want.o, want.r, want.d, want.x) IS DISTINCT FROM"
               "        (got.o, got.r, got.d, got.x)") +
           itest_query(
               "WITH want AS (SELECT s.span, ruth_block(s.span, created_at) AS at, count(*) AS n"
               "  FROM violations CROSS JOIN (VALUES (60), (600), (3600)) s(span) GROUP BY 1, 2),"
               " got AS (SELECT span, at, sum(count) AS n FROM violation_rollups_time"
               "  GROUP BY 1, 2 HAVING sum(count) <> 0)"
               " SELECT count(*) FROM want FULL JOIN got USING (span, at)"
               "  WHERE want.n IS DISTINCT FROM got.n");
}

/* Fall results far enough apart that each opens an incident of its own. */
static void test_worker(void)
{
    rd_kafka_t *p = itest_producer();
    int64_t t0 = itest_wall_us() - 3600 * 1000000LL;
    for (int i = 0; i < NCAM * PER_CAM; i++) {
        char msg[512], cam[16];
        snprintf(cam, sizeof cam, "cam-%d", i % NCAM);
        snprintf(msg, sizeof msg,
                 "{\"camera_id\":\"%s\",\"model_id\":\"fall-v1\",\"model_version\":\"1.0.0\","
                 "\"timestamp\":%lld,\"event_type\":\"fall_detected\",\"confidence\":0.95}",
                 cam, (long long)(t0 + (int64_t)(i / NCAM) * 900 * 1000000LL));
        itest_produce(p, getenv("RUTH_TOPIC_INFERENCE"), cam, msg, strlen(msg));
    }
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM violations", NCAM * PER_CAM, 60),
                 NCAM * PER_CAM);
    CHECK_EQ_INT(mismatches(), 0);
    CHECK_EQ_INT(itest_query("SELECT sum(open) FROM violation_rollups_camera WHERE span = 21600"),
                 NCAM * PER_CAM);
    CHECK_EQ_INT(itest_query("SELECT sum(count) FROM violation_rollups_time WHERE span = 60"),
                 NCAM * PER_CAM);
}

/* Status changes through the API move counts between the status columns
 * (in rows of the API's session), there and back again. */
static void test_patch(void)
{
    static const char *const to[4] = {"reviewed", "dismissed", "resolved", "open"};
    static const int which[4] = {0, 1, 0, 1};
    for (int k = 0; k < 4; k++) {
        char sql[256], id[64], path[128], body[64];
        snprintf(sql, sizeof sql,
                 "SELECT id FROM violations WHERE camera_id = 'cam-1' ORDER BY created_at, id"
                 " OFFSET %d LIMIT 1",
                 which[k]);
        PGconn *c = PQconnectdb(itest_db_url);
        PGresult *res = PQexec(c, sql);
        CHECK_EQ_INT(PQntuples(res), 1);
        snprintf(id, sizeof id, "%s", PQntuples(res) ? PQgetvalue(res, 0, 0) : "");
        PQclear(res);
        PQfinish(c);
        snprintf(path, sizeof path, "/api/v1/violations/%s", id);
        snprintf(body, sizeof body, "{\"status\":\"%s\"}", to[k]);
        ihttp_resp r = {0};
        ihttp_request(port, "PATCH", path, tok_op, body, NULL, &r);
        CHECK_EQ_INT(r.status, 200);
        ihttp_resp_free(&r);
        CHECK_EQ_INT(mismatches(), 0);
    }
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violations WHERE status = 'resolved'"), 1);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violations WHERE status = 'open'"),
                 NCAM * PER_CAM - 1);
    CHECK_EQ_INT(itest_query("SELECT sum(resolved) FROM violation_rollups_camera"
                             " WHERE span = 3600 AND camera_id = 'cam-1'"),
                 1);
    /* the summary says so too */
    ihttp_resp r = {0};
    ihttp_request(port, "GET", "/api/v1/analytics/summary", tok, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    json_t *tot = json_object_get(json_object_get(r.json, "summary"), "totals");
    CHECK_EQ_INT(json_integer_value(json_object_get(tot, "violations_total")), NCAM * PER_CAM);
    CHECK_EQ_INT(json_integer_value(json_object_get(tot, "violations_open")), NCAM * PER_CAM - 1);
    CHECK_EQ_INT(json_integer_value(json_object_get(tot, "violations_reviewed")), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(tot, "violations_dismissed")), 0);
    CHECK_EQ_INT(json_integer_value(json_object_get(tot, "violations_resolved")), 1);
    ihttp_resp_free(&r);
}

/* Violations written by hand at chosen seconds, six hours back: inside
 * minutes, on minute and hour boundaries, in two statuses and cameras; one
 * deleted again. */
static int64_t h0_s; /* the hour boundary they are around */

static void test_hand_written(void)
{
    h0_s = (time(NULL) / 3600 - 6) * 3600;
    static const int at[] = {-3599, -61, -60, -59, -1, 0, 5, 59, 60, 61, 119, 600, 1799, 3599};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        char sql[768];
        snprintf(sql, sizeof sql,
                 "INSERT INTO violations (type, camera_id, status, confidence, max_confidence,"
                 " first_event_at, last_event_at, ended_at, created_at) SELECT 'fall_detected',"
                 " 'cam-h%zu', '%s', 0.9, 0.9, t, t, t, t + interval '0.25 seconds'"
                 " FROM to_timestamp(%lld) t",
                 i % 2, i % 3 ? "open" : "resolved", (long long)(h0_s + at[i]));
        CHECK(itest_exec(itest_db_url, sql));
    }
    CHECK(itest_exec(itest_db_url, "INSERT INTO violations (type, camera_id, confidence,"
                                   " max_confidence, first_event_at, last_event_at, ended_at)"
                                   " VALUES ('x', 'cam-gone', 0.9, 0.9, now(), now(), now())"));
    CHECK(itest_exec(itest_db_url, "DELETE FROM violations WHERE camera_id = 'cam-gone'"));
    CHECK_EQ_INT(mismatches(), 0);
    /* the delete's session is another writer: its rows undo the insert's */
    CHECK_EQ_INT(
        itest_query("SELECT count(*) FROM (SELECT span, at FROM violation_rollups_camera"
                    " WHERE camera_id = 'cam-gone' GROUP BY 1, 2 HAVING sum(open) <> 0) z"),
        0);
    CHECK(itest_query(
              "SELECT count(*) FROM violation_rollups_camera WHERE camera_id = 'cam-gone'") > 0);
}

static void iso(int64_t s, int frac_ms, char *out, size_t n)
{
    time_t t = (time_t)s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char b[32];
    strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03dZ", b, frac_ms);
}

/* The summary over [from, to) against the raw violations: totals per
 * status, each camera's total and open count, each bucket's violations. */
static void check_range(int64_t from_s, int from_ms, int64_t to_s, int to_ms, const char *gran)
{
    char from[40], to[40], path[256], rng[200], sql[640];
    iso(from_s, from_ms, from, sizeof from);
    iso(to_s, to_ms, to, sizeof to);
    snprintf(path, sizeof path, "/api/v1/analytics/summary?from=%s&to=%s&granularity=%s", from, to,
             gran);
    snprintf(rng, sizeof rng, " FROM violations WHERE created_at >= '%s' AND created_at < '%s'",
             from, to);
    ihttp_resp r = {0};
    ihttp_request(port, "GET", path, tok, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    json_t *s = json_object_get(r.json, "summary");
    json_t *tot = json_object_get(s, "totals");
    snprintf(sql, sizeof sql, "SELECT count(*)%s", rng);
    long long all = itest_query(sql);
    CHECK_MSG(json_integer_value(json_object_get(tot, "violations_total")) == all,
              "%s: violations_total %lld, raw %lld", path,
              (long long)json_integer_value(json_object_get(tot, "violations_total")), all);
    snprintf(sql, sizeof sql, "SELECT count(*)%s AND status = 'resolved'", rng);
    CHECK_EQ_INT(json_integer_value(json_object_get(tot, "violations_resolved")), itest_query(sql));
    size_t i;
    json_t *c;
    long long cams = 0;
    json_array_foreach(json_object_get(s, "by_camera"), i, c)
    {
        const char *id = json_string_value(json_object_get(c, "camera_id"));
        snprintf(sql, sizeof sql, "SELECT count(*)%s AND camera_id = '%s'", rng, id);
        long long n = itest_query(sql);
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "violations_total")), n);
        snprintf(sql, sizeof sql, "SELECT count(*)%s AND camera_id = '%s' AND status = 'open'", rng,
                 id);
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "violations_open")), itest_query(sql));
        cams += n > 0;
    }
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT camera_id)%s", rng);
    CHECK_EQ_INT(cams, itest_query(sql)); /* no camera with only zero sums, none missing */
    long long series = 0;
    json_array_foreach(json_object_get(s, "time_series"), i, c)
    {
        const char *b = json_string_value(json_object_get(c, "bucket"));
        snprintf(sql, sizeof sql,
                 "SELECT count(*)%s AND date_trunc('%s', created_at) = '%s'::timestamptz", rng,
                 gran, b);
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "violations")), itest_query(sql));
        series += json_integer_value(json_object_get(c, "violations"));
    }
    CHECK_EQ_INT(series, all);
    ihttp_resp_free(&r);
}

static void test_ragged_ranges(void)
{
    CHECK(h0_s > 0);
    check_range(h0_s - 3600, 0, h0_s + 3600, 0, "hour");           /* aligned */
    check_range(h0_s - 60, 250, h0_s + 60, 250, "minute");         /* ragged inside minutes */
    check_range(h0_s - 3599, 100, h0_s + 3599, 900, "hour");       /* ragged, whole hours */
    check_range(h0_s - 59, 0, h0_s + 61, 0, "minute");             /* two whole minutes */
    check_range(h0_s + 5, 100, h0_s + 59, 500, "hour");            /* no whole minute */
    check_range(h0_s - 1, 0, h0_s + 1, 0, "minute");               /* across a boundary, none */
    check_range(h0_s - 7 * 3600, 0, h0_s + 1800, 0, "day");        /* days */
    check_range(h0_s - 5 * 3600, 10, h0_s + 4 * 3600, 20, "hour"); /* 6 h blocks + worker's */
}

/* ruth_violation_rollups_rebuild() (the migration's backfill) gives the
 * same figures, in rows of writer 0; TRUNCATE empties the rollups. */
static void test_rebuild(void)
{
    CHECK(itest_exec(itest_db_url, "SELECT ruth_violation_rollups_rebuild()"));
    CHECK_EQ_INT(mismatches(), 0);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violation_rollups_camera WHERE writer <> 0"), 0);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violation_rollups_camera WHERE open < 0"), 0);
    check_range(h0_s - 3599, 100, h0_s + 3599, 900, "hour");
    CHECK(itest_exec(itest_db_url, "TRUNCATE violations CASCADE"));
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violation_rollups_camera"), 0);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM violation_rollups_time"), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("vroll", 4);
    itest_api_env(SECRET);
    setenv("RUTH_API_CACHE_MS", "0", 1);
    itest_token(tok, sizeof tok, SECRET, "vera", ROLE_VIEWER);
    itest_token(tok_op, sizeof tok_op, SECRET, "otto", ROLE_OPERATOR);
    char log[256], wlog[256];
    snprintf(log, sizeof log, "/tmp/test_violation_rollups_%d.log", (int)getpid());
    snprintf(wlog, sizeof wlog, "/tmp/test_violation_rollups_worker_%d.log", (int)getpid());
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    pid_t wpid = itest_spawn("ruth-worker", NULL, wlog);
    if ((port = itest_api_port(log)) < 0)
        return 1;
    TEST_RUN(test_worker);
    TEST_RUN(test_patch);
    TEST_RUN(test_hand_written);
    TEST_RUN(test_ragged_ranges);
    TEST_RUN(test_rebuild);
    kill(wpid, SIGTERM);
    kill(pid, SIGTERM);
    itest_stopped(wpid, 30, "ruth-worker", wlog);
    itest_stopped(pid, 20, "ruth-api", log);
    if (testlib_failures)
        fprintf(stderr, "logs: %s %s\n", log, wlog);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT();
}
