/* test_summary_rollups.c - the per-block rollups GET /analytics/summary reads
 * (migration 0015: event_rollups_camera, event_rollups_type) against real
 * PostgreSQL and Kafka: two ruth-workers store inference results produced to
 * Kafka, then the rows of every span must be what the minute rollups say,
 * also after late events and after ruth_summary_rollups_rebuild(); the
 * summary over a ragged range counts what the raw events say, and a camera's
 * figures are the same with and without the camera_id filter (which reads
 * the per-type rows instead). */
#include "ihttp.h"
#include "itest.h"

#include "api_auth.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <time.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define NLIVE 240
#define NLATE 30
/* 20 hours back: older blocks of every span, inside the worker's clock-skew
 * limit (a day) */
#define LATE_US (20 * 3600 * 1000000LL)

static int port;
static char tok[1024];
static int64_t now_us;

static const char *const cams[] = {"cam-a", "cam-b", "cam-c", "cam-d"};

static void produce(int from, int to, int64_t t0_us, int64_t step_us)
{
    rd_kafka_t *p = itest_producer();
    const char *topic = getenv("RUTH_TOPIC_INFERENCE");
    for (int i = from; i < to; i++) {
        char msg[512];
        const char *cam = cams[i % 4];
        const char *type = i % 3 == 0 ? "fall_detected" : i % 3 == 1 ? "no_fall" : "person";
        snprintf(msg, sizeof msg,
                 "{\"camera_id\":\"%s\",\"model_id\":\"fall-v1\",\"model_version\":\"1.0.0\","
                 "\"timestamp\":%lld,\"event_type\":\"%s\",\"confidence\":%.3f}",
                 cam, (long long)(t0_us - (int64_t)(i - from) * step_us), type,
                 (double)((i * 37) % 1000) / 1000.0);
        itest_produce(p, topic, cam, msg, strlen(msg));
    }
    rd_kafka_flush(p, 10000);
    rd_kafka_destroy(p);
}

/* Rows of event_rollups_camera and event_rollups_type that differ from the
 * minute rollups summed per block (missing, extra or other figures). */
static long long mismatches(void)
{
    return itest_query(
               "WITH want AS (SELECT s.span, ruth_block(s.span, minute) AS at, camera_id,"
               "  sum(count) AS n, max(max_confidence) AS mc, max(last_event_at) AS le"
               "  FROM event_rollups CROSS JOIN (VALUES (60), (600), (3600), (21600)) s(span)"
               "  GROUP BY 1, 2, 3)"
               " SELECT count(*) FROM want FULL JOIN event_rollups_camera e"
               "  USING (span, at, camera_id) WHERE want.n IS DISTINCT FROM e.count"
               "  OR want.mc IS DISTINCT FROM e.max_confidence"
               "  OR want.le IS DISTINCT FROM e.last_event_at") +
           itest_query(
               "WITH want AS (SELECT s.span, ruth_block(s.span, minute) AS at, event_type,"
               "  sum(count) AS n FROM event_rollups"
               "  CROSS JOIN (VALUES (60), (600), (3600)) s(span) GROUP BY 1, 2, 3),"
               " got AS (SELECT span, at, event_type, sum(count) AS n FROM event_rollups_type"
               "  GROUP BY 1, 2, 3)"
               " SELECT count(*) FROM want FULL JOIN got USING (span, at, event_type)"
               "  WHERE want.n IS DISTINCT FROM got.n");
}

static void test_rows(void)
{
    produce(0, NLIVE, now_us - 1000000, 45 * 1000000LL);
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM events", NLIVE, 60), NLIVE);
    CHECK_EQ_INT(itest_wait_query("SELECT sum(count) FROM event_rollups", NLIVE, 30), NLIVE);
    CHECK_EQ_INT(itest_query("SELECT sum(count) FROM event_rollups"), NLIVE);
    CHECK_EQ_INT(itest_query("SELECT count(DISTINCT span) FROM event_rollups_camera"), 4);
    CHECK_EQ_INT(itest_query("SELECT sum(count) FROM event_rollups_camera WHERE span = 21600"),
                 NLIVE);
    CHECK_EQ_INT(itest_query("SELECT sum(count) FROM event_rollups_type WHERE span = 600"), NLIVE);
    /* 240 results 45 s apart: three hours, so hours and ten minutes split */
    CHECK(itest_query("SELECT count(DISTINCT at) FROM event_rollups_camera WHERE span = 3600") >=
          3);
    CHECK_EQ_INT(mismatches(), 0);
}

/* Results hours late add to old blocks of every span. */
static void test_late(void)
{
    produce(NLIVE, NLIVE + NLATE, now_us - LATE_US, 100 * 1000000LL);
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM events", NLIVE + NLATE, 60), NLIVE + NLATE);
    CHECK_EQ_INT(itest_wait_query("SELECT sum(count) FROM event_rollups", NLIVE + NLATE, 30),
                 NLIVE + NLATE);
    CHECK_EQ_INT(mismatches(), 0);
    CHECK_EQ_INT(itest_query("SELECT sum(count) FROM event_rollups_camera WHERE span = 21600"
                             " AND at < now() - interval '10 hours'"),
                 NLATE);
}

/* ruth_summary_rollups_rebuild() (migration 0015's backfill) gives the rows
 * the workers keep. */
static void test_rebuild(void)
{
    CHECK(itest_exec(itest_db_url, "SELECT ruth_summary_rollups_rebuild()"));
    CHECK_EQ_INT(mismatches(), 0);
    CHECK_EQ_INT(itest_query("SELECT sum(count) FROM event_rollups_type WHERE span = 3600"),
                 NLIVE + NLATE);
}

static void iso(int64_t us, char *out, size_t n)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The late results' range, ragged at both ends: the figures are the raw
 * events' (whole minutes: the minute holding `from` counts, as before). */
static void test_ragged_range(void)
{
    char from[32], to[32], path[256], sql[512];
    int64_t late = now_us - LATE_US;
    iso(late - 37 * 60 * 1000000LL, from, sizeof from);
    iso(late + 1234 * 1000000LL, to, sizeof to);
    snprintf(path, sizeof path, "/api/v1/analytics/summary?from=%s&to=%s&granularity=hour", from,
             to);
    ihttp_resp r = {0};
    ihttp_request(port, "GET", path, tok, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
#define RAW                                                                                        \
    " FROM events WHERE date_trunc('minute', \"timestamp\") >= date_trunc('minute', "              \
    "'%s'::timestamptz) AND date_trunc('minute', \"timestamp\") < '%s'"
    snprintf(sql, sizeof sql, "SELECT count(*)" RAW, from, to);
    long long want = itest_query(sql);
    CHECK(want > 10 && want < NLATE); /* the range cuts the late results */
    json_t *tot = json_object_get(json_object_get(r.json, "summary"), "totals");
    CHECK_EQ_INT(json_integer_value(json_object_get(tot, "events_total")), want);
    snprintf(sql, sizeof sql, "SELECT count(*)" RAW " AND event_type = 'person'", from, to);
    CHECK_EQ_INT(json_integer_value(json_object_get(tot, "events_person")), itest_query(sql));
    json_t *bc = json_object_get(json_object_get(r.json, "summary"), "by_camera");
    size_t i;
    json_t *c;
    long long sum = 0;
    json_array_foreach(bc, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "camera_id"));
        snprintf(sql, sizeof sql, "SELECT count(*)" RAW " AND camera_id = '%s'", from, to, id);
        CHECK_EQ_INT(json_integer_value(json_object_get(c, "events_total")), itest_query(sql));
        sum += json_integer_value(json_object_get(c, "events_total"));
    }
#undef RAW
    CHECK_EQ_INT(sum, want);
    long long series = 0;
    json_array_foreach(json_object_get(json_object_get(r.json, "summary"), "time_series"), i, c)
        series += json_integer_value(json_object_get(c, "events"));
    CHECK_EQ_INT(series, want);
    ihttp_resp_free(&r);
}

/* A camera's entry of the summary is the same with camera_id (the per-type
 * rows) as without (the per-block rows), whole and over the late range. */
static void test_camera_filter(void)
{
    char from[32], to[32], q[128] = "", path[256];
    iso(now_us - LATE_US - 3600 * 1000000LL, from, sizeof from);
    iso(now_us, to, sizeof to);
    const char *ranges[2] = {"", q};
    snprintf(q, sizeof q, "&from=%s&to=%s", from, to);
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof path, "/api/v1/analytics/summary?granularity=hour%s", ranges[k]);
        ihttp_resp all = {0};
        ihttp_request(port, "GET", path, tok, NULL, NULL, &all);
        CHECK_EQ_INT(all.status, 200);
        json_t *bc = json_object_get(json_object_get(all.json, "summary"), "by_camera");
        CHECK_EQ_INT(json_array_size(bc), 4);
        size_t i;
        json_t *c;
        json_array_foreach(bc, i, c)
        {
            const char *id = json_string_value(json_object_get(c, "camera_id"));
            snprintf(path, sizeof path, "/api/v1/analytics/summary?granularity=hour%s&camera_id=%s",
                     ranges[k], id);
            ihttp_resp one = {0};
            ihttp_request(port, "GET", path, tok, NULL, NULL, &one);
            CHECK_EQ_INT(one.status, 200);
            json_t *s = json_object_get(one.json, "summary");
            json_t *mine = json_array_get(json_object_get(s, "by_camera"), 0);
            CHECK_MSG(json_equal(mine, c), "%s: by_camera differs with camera_id: %.*s", id,
                      (int)one.body.len, (const char *)one.body.data);
            CHECK_EQ_INT(
                json_integer_value(json_object_get(json_object_get(s, "totals"), "events_total")),
                json_integer_value(json_object_get(c, "events_total")));
            ihttp_resp_free(&one);
        }
        ihttp_resp_free(&all);
    }
}

/* A camera with violations and no events in the range still gets its
 * name (the names query; the others' come with their rollup rows). */
static void test_names(void)
{
    CHECK(itest_exec(itest_db_url, "INSERT INTO cameras (id, name) VALUES ('cam-v', 'Dock')"
                                   " ON CONFLICT (id) DO UPDATE SET name = 'Dock'"));
    CHECK(itest_exec(itest_db_url, "UPDATE cameras SET name = 'Gate' WHERE id = 'cam-a'"));
    CHECK(itest_exec(itest_db_url,
                     "INSERT INTO violations (type, camera_id, model_id, status, severity,"
                     " confidence, max_confidence, event_count, first_event_at, last_event_at,"
                     " ended_at) VALUES ('fall_detected', 'cam-v', 'fall-v1', 'open', 'high',"
                     " 0.9, 0.9, 1, now() - interval '1 hour', now() - interval '1 hour',"
                     " now() - interval '1 hour')"));
    ihttp_resp r = {0};
    ihttp_request(port, "GET", "/api/v1/analytics/summary", tok, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    json_t *bc = json_object_get(json_object_get(r.json, "summary"), "by_camera");
    size_t i;
    json_t *c;
    int seen = 0;
    json_array_foreach(bc, i, c)
    {
        const char *id = json_string_value(json_object_get(c, "camera_id"));
        const char *name = json_string_value(json_object_get(c, "camera_name"));
        if (!strcmp(id, "cam-v")) {
            seen++;
            CHECK_EQ_STR(name, "Dock");
            CHECK_EQ_INT(json_integer_value(json_object_get(c, "violations_open")), 1);
            CHECK(json_is_null(json_object_get(c, "max_confidence")));
        } else if (!strcmp(id, "cam-a")) {
            seen++;
            CHECK_EQ_STR(name, "Gate");
        } else {
            CHECK_EQ_STR(name, id); /* unnamed: the id */
        }
    }
    CHECK_EQ_INT(seen, 2);
    ihttp_resp_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("sumroll", 4);
    itest_api_env(SECRET);
    setenv("RUTH_API_CACHE_MS", "0", 1);
    itest_token(tok, sizeof tok, SECRET, "vera", ROLE_VIEWER);
    char log[256], wlog[2][256];
    snprintf(log, sizeof log, "/tmp/test_summary_rollups_%d.log", (int)getpid());
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    pid_t wpid[2];
    for (int i = 0; i < 2; i++) { /* two writers of the site-wide per-type rows */
        snprintf(wlog[i], sizeof wlog[i], "/tmp/test_summary_rollups_worker%d_%d.log", i,
                 (int)getpid());
        wpid[i] = itest_spawn("ruth-worker", NULL, wlog[i]);
    }
    if ((port = itest_api_port(log)) < 0)
        return 1;
    now_us = itest_wall_us();
    TEST_RUN(test_rows);
    TEST_RUN(test_late);
    TEST_RUN(test_rebuild);
    TEST_RUN(test_ragged_range);
    TEST_RUN(test_camera_filter);
    TEST_RUN(test_names);
    for (int i = 0; i < 2; i++)
        kill(wpid[i], SIGTERM);
    kill(pid, SIGTERM);
    for (int i = 0; i < 2; i++)
        itest_stopped(wpid[i], 30, "ruth-worker", wlog[i]);
    itest_stopped(pid, 20, "ruth-api", log);
    if (testlib_failures)
        fprintf(stderr, "logs: %s %s %s\n", log, wlog[0], wlog[1]);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT();
}
