/* Rules that fit real sites, end to end through ruth-api and ruth-worker
 * against real Kafka and PostgreSQL: zones (the API's validation, a box on
 * a zone's border, required_zones, the zones stored with events and
 * violations, GET /events and GET /violations by zone), schedules (window
 * boundaries in non-UTC zones on both sides of a DST change, across
 * midnight), dwell time just under and over, and rule changes applied to
 * the next batch without a restart. */
#include "api.h"
#include "ihttp.h"
#include "itest.h"

#include <curl/curl.h>
#include <jansson.h>
#include <time.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"

static int port;
static char tok_admin[1024], tok_viewer[1024];
static rd_kafka_t *prod;
static int64_t t0; /* capture-time base: ten minutes ago */
static long long total_events;

typedef ihttp_resp resp;

static void req(const char *method, const char *path, const char *token, const char *body,
                resp *out)
{
    ihttp_request(port, method, path, token, body, NULL, out);
}

#define CHECK_STATUS(r, st)                                                                        \
    CHECK_MSG((r).status == (st), "status %ld, body %.*s", (r).status, (int)(r).body.len,          \
              (const char *)(r).body.data)

/* The 400 names `field` in its details. */
#define CHECK_BAD_FIELD(r, field)                                                                  \
    do {                                                                                           \
        CHECK_STATUS(r, 400);                                                                      \
        CHECK_MSG(json_object_get(json_object_get((r).json, "details"), field) != NULL,            \
                  "details lack %s: %.*s", field, (int)(r).body.len, (const char *)(r).body.data); \
    } while (0)

/* One result at t0 + ts_s with one box whose bottom-centre is (ax, ay). */
static void send_box(const char *camera, const char *type, double conf, double ts_s, double ax,
                     double ay)
{
    char json[768];
    int n =
        snprintf(json, sizeof json,
                 "{\"camera_id\":\"%s\",\"model_id\":\"m1\",\"timestamp\":%lld,"
                 "\"event_type\":\"%s\",\"confidence\":%.3f,"
                 "\"bounding_boxes\":[{\"x\":%.3f,\"y\":%.3f,\"width\":40,\"height\":100}]}",
                 camera, (long long)(t0 + (int64_t)(ts_s * 1e6)), type, conf, ax - 20, ay - 100);
    itest_produce(prod, getenv("RUTH_TOPIC_INFERENCE"), camera, json, (size_t)n);
    total_events++;
}

static void wait_events(void)
{
    rd_kafka_flush(prod, 10000);
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events");
    long long got = itest_wait_query(sql, total_events, 60);
    CHECK_MSG(got == total_events, "waited for %lld events, have %lld", total_events, got);
}

static long long q(const char *fmt, const char *arg)
{
    char sql[1024];
    snprintf(sql, sizeof sql, fmt, arg);
    return itest_query(sql);
}

static void zone_validation(void)
{
    resp r = {0};
    itest_exec(itest_db_url, "INSERT INTO cameras (id) VALUES ('cam-z-in'), ('cam-z-border'),"
                             " ('cam-z-out'), ('cam-z-px')");
    /* normalised zones need the camera's resolution */
    req("PATCH", "/api/v1/devices/cam-z-in", tok_admin,
        "{\"frame_width\":1000,\"frame_height\":1000,\"offline_after_seconds\":null}", &r);
    CHECK_STATUS(r, 200);
    CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "frame_width")), 1000);
    req("PATCH", "/api/v1/devices/cam-z-in", tok_admin, "{\"frame_width\":0}", &r);
    CHECK_BAD_FIELD(r, "frame_width");
    req("PATCH", "/api/v1/devices/cam-z-in", tok_viewer, "{\"frame_width\":10}", &r);
    CHECK_STATUS(r, 403);
    req("PATCH", "/api/v1/devices/nope", tok_admin, "{\"frame_width\":10}", &r);
    CHECK_STATUS(r, 404);
    itest_exec(itest_db_url, "UPDATE cameras SET frame_width = 1000, frame_height = 1000"
                             " WHERE id IN ('cam-z-border', 'cam-z-out')");
    /* too few points, out of range, self-intersecting: 400 naming the point */
    req("PUT", "/api/v1/devices/cam-z-in/zones/bad", tok_admin, "{\"points\":[[0,0],[1,1]]}", &r);
    CHECK_BAD_FIELD(r, "points");
    req("PUT", "/api/v1/devices/cam-z-in/zones/bad", tok_admin,
        "{\"points\":[[0,0],[1.5,0],[1,1]]}", &r);
    CHECK_BAD_FIELD(r, "points[1]");
    req("PUT", "/api/v1/devices/cam-z-in/zones/bad", tok_admin,
        "{\"points\":[[0.1,0.1],[0.9,0.9],[0.9,0.1],[0.1,0.9]]}", &r);
    CHECK_BAD_FIELD(r, "points[2]");
    req("PUT", "/api/v1/devices/cam-z-in/zones/bad", tok_admin, "{\"points\":[[0,0],[1,0],\"x\"]}",
        &r);
    CHECK_BAD_FIELD(r, "points[2]");
    req("PUT", "/api/v1/devices/cam-z-in/zones/bad", tok_admin,
        "{\"points\":[[0,0],[1,0],[1,1]],\"units\":\"feet\"}", &r);
    CHECK_BAD_FIELD(r, "units");
    req("PUT", "/api/v1/devices/nope/zones/a", tok_admin, "{\"points\":[[0,0],[1,0],[1,1]]}", &r);
    CHECK_STATUS(r, 404);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM zones"), 0);
    ihttp_resp_free(&r);
}

/* Corridor: the lower-left quarter of the frame (x 0..0.5, y 0.5..1). */
#define CORRIDOR "{\"points\":[[0,0.5],[0.5,0.5],[0.5,1],[0,1]]}"

static void zones_required_and_filtered(void)
{
    resp r = {0};
    const char *cams[] = {"cam-z-in", "cam-z-border", "cam-z-out"};
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/v1/devices/%s/zones/corridor", cams[i]);
        req("PUT", path, tok_admin, CORRIDOR, &r);
        CHECK_STATUS(r, 201);
    }
    req("PUT", "/api/v1/devices/cam-z-in/zones/corridor", tok_admin, CORRIDOR, &r);
    CHECK_STATUS(r, 200); /* replaced */
    req("PUT", "/api/v1/devices/cam-z-in/zones/tv", tok_admin,
        "{\"points\":[[0.6,0],[1,0],[1,0.4],[0.6,0.4]]}", &r);
    CHECK_STATUS(r, 201);
    /* pixels, camera without a resolution */
    req("PUT", "/api/v1/devices/cam-z-px/zones/dock", tok_admin,
        "{\"units\":\"pixels\",\"points\":[[0,0],[300,0],[300,300],[0,300]]}", &r);
    CHECK_STATUS(r, 201);
    req("GET", "/api/v1/devices/cam-z-in/zones", tok_viewer, NULL, &r);
    CHECK_STATUS(r, 200);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "zones")), 2);
    /* The global fall rule now requires the corridor: applied to the next
     * batch, no sleep, no restart. */
    req("GET", "/api/v1/rules?event_type=fall_detected", tok_viewer, NULL, &r);
    const char *id = json_string_value(
        json_object_get(json_array_get(json_object_get(r.json, "rules"), 0), "id"));
    CHECK(id != NULL);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/rules/%s", id ? id : "x");
    req("PATCH", path, tok_admin, "{\"required_zones\":[\"\"]}", &r);
    CHECK_BAD_FIELD(r, "required_zones[0]");
    req("PATCH", path, tok_admin, "{\"required_zones\":[\"corridor\"]}", &r);
    CHECK_STATUS(r, 200);
    CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(r.json, "required_zones"), 0)),
                 "corridor");
    send_box("cam-z-in", "fall_detected", 0.9, 0, 150, 800);     /* inside */
    send_box("cam-z-border", "fall_detected", 0.9, 0, 500, 700); /* on the edge x = 0.5 */
    send_box("cam-z-out", "fall_detected", 0.9, 0, 800, 800);    /* outside: no incident */
    send_box("cam-z-out", "fall_detected", 0.9, 1, 500.5, 700);  /* just beyond the edge */
    send_box("cam-z-px", "fall_detected", 0.9, 0, 150, 300);     /* on dock's bottom edge */
    send_box("cam-z-in", "no_fall", 0.9, 2, 800, 300);           /* in the tv zone */
    wait_events();
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'", "cam-z-in"), 1);
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'", "cam-z-border"), 1);
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'", "cam-z-out"), 0);
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'", "cam-z-px"), 0);
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'"
                   " AND zones = '{corridor}'",
                   "cam-z-in"),
                 1);
    CHECK_EQ_INT(
        q("SELECT count(*) FROM events WHERE camera_id = '%s' AND zones = '{}'", "cam-z-out"), 2);
    CHECK_EQ_INT(
        q("SELECT count(*) FROM events WHERE camera_id = '%s' AND zones = '{dock}'", "cam-z-px"),
        1);
    CHECK_EQ_INT(
        q("SELECT count(*) FROM events WHERE camera_id = '%s' AND zones = '{tv}'", "cam-z-in"), 1);
    /* The lists by zone. */
    req("GET", "/api/v1/events?zone=corridor", tok_viewer, NULL, &r);
    CHECK_STATUS(r, 200);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "events")), 2);
    req("GET", "/api/v1/events?zone=tv&camera_id=cam-z-in", tok_viewer, NULL, &r);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "events")), 1);
    req("GET", "/api/v1/violations?zone=corridor", tok_viewer, NULL, &r);
    CHECK_STATUS(r, 200);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "violations")), 2);
    CHECK_EQ_STR(
        json_string_value(json_array_get(
            json_object_get(json_array_get(json_object_get(r.json, "violations"), 0), "zones"), 0)),
        "corridor");
    req("GET", "/api/v1/violations?zone=nowhere", tok_viewer, NULL, &r);
    CHECK_EQ_INT(json_array_size(json_object_get(r.json, "violations")), 0);
    /* Deleting the zone: the next batch no longer finds boxes in it. */
    req("DELETE", "/api/v1/devices/cam-z-border/zones/corridor", tok_admin, NULL, &r);
    CHECK_STATUS(r, 204);
    req("DELETE", "/api/v1/devices/cam-z-border/zones/corridor", tok_admin, NULL, &r);
    CHECK_STATUS(r, 404);
    send_box("cam-z-border", "fall_detected", 0.9, 5, 250, 800);
    wait_events();
    CHECK_EQ_INT(
        q("SELECT count(*) FROM events WHERE camera_id = '%s' AND zones = '{}'", "cam-z-border"),
        1);
    /* Back to the default for the tests below. */
    req("PATCH", path, tok_admin, "{\"required_zones\":null}", &r);
    CHECK_STATUS(r, 200);
    ihttp_resp_free(&r);
}

/* Microseconds of local `day` + `time` in time zone `tz`, from PostgreSQL
 * (day is an SQL date expression). */
static long long local_us(const char *day, const char *time, const char *tz)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT (extract(epoch FROM ((%s)::date + '%s'::time) AT TIME ZONE '%s')"
             " * 1000000)::bigint",
             day, time, tz);
    return itest_query(sql);
}

static void send_at(const char *camera, long long ts_us)
{
    send_box(camera, "fall_detected", 0.9, (double)(ts_us - t0) / 1e6, 100, 100);
}

static void schedule_validation(void)
{
    resp r = {0};
    req("POST", "/api/v1/rules", tok_admin,
        "{\"event_type\":\"fall_detected\",\"camera_id\":\"cam-bad\",\"schedule\":[{\"days\":"
        "[\"mon\"],\"start\":\"08:00\",\"end\":\"09:00\",\"time_zone\":\"Mars/Olympus\"}]}",
        &r);
    CHECK_BAD_FIELD(r, "schedule[0].time_zone");
    req("POST", "/api/v1/rules", tok_admin,
        "{\"event_type\":\"fall_detected\",\"camera_id\":\"cam-bad\",\"schedule\":[{\"days\":"
        "[\"mon\",\"xyz\"],\"start\":\"8:00\",\"end\":\"24:01\",\"time_zone\":\"UTC\"}]}",
        &r);
    CHECK_BAD_FIELD(r, "schedule[0].days");
    CHECK_BAD_FIELD(r, "schedule[0].start");
    CHECK_BAD_FIELD(r, "schedule[0].end");
    req("POST", "/api/v1/rules", tok_admin,
        "{\"event_type\":\"fall_detected\",\"camera_id\":\"cam-bad\",\"schedule\":[]}", &r);
    CHECK_BAD_FIELD(r, "schedule");
    req("POST", "/api/v1/rules", tok_admin,
        "{\"event_type\":\"fall_detected\",\"camera_id\":\"cam-bad\","
        "\"min_duration_seconds\":-1}",
        &r);
    CHECK_BAD_FIELD(r, "min_duration_seconds");
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM rules WHERE camera_id = 'cam-bad'"), 0);
    /* Past the API, the database refuses a schedule workers could not read. */
    CHECK(!itest_exec(itest_db_url,
                      "INSERT INTO rules (camera_id, event_type, schedule) VALUES ('cam-bad',"
                      " 'fall_detected', '[{\"days\":[\"mon\"],\"start\":\"08:00\","
                      "\"end\":\"09:00\",\"time_zone\":\"Nowhere/City\"}]')"));
    ihttp_resp_free(&r);
}

/* The next local day in Berlin that is not 24 hours long (a DST change). */
#define DST_DAY                                                                                    \
    "(SELECT d::date FROM generate_series(now()::date, now()::date + 400, interval '1 day') d"     \
    " WHERE ((d + interval '1 day')::timestamp AT TIME ZONE 'Europe/Berlin')"                      \
    "   - (d::timestamp AT TIME ZONE 'Europe/Berlin') <> interval '1 day' LIMIT 1)"

static void schedule_windows_across_dst_and_midnight(void)
{
    resp r = {0};
    /* 08:00-09:00 every day in Berlin; Saturday 22:00-02:00 in Kolkata. */
    req("POST", "/api/v1/rules", tok_admin,
        "{\"event_type\":\"fall_detected\",\"camera_id\":\"cam-s\",\"min_confidence\":0.5,"
        "\"cooldown_seconds\":0,\"schedule\":[{\"days\":[\"mon\",\"tue\",\"wed\",\"thu\","
        "\"fri\",\"sat\",\"sun\"],\"start\":\"08:00\",\"end\":\"09:00\","
        "\"time_zone\":\"Europe/Berlin\"}]}",
        &r);
    CHECK_STATUS(r, 201);
    req("POST", "/api/v1/rules", tok_admin,
        "{\"event_type\":\"fall_detected\",\"camera_id\":\"cam-s2\",\"min_confidence\":0.5,"
        "\"cooldown_seconds\":0,\"schedule\":[{\"days\":[\"sat\"],\"start\":\"22:00\","
        "\"end\":\"02:00\",\"time_zone\":\"Asia/Kolkata\"}]}",
        &r);
    CHECK_STATUS(r, 201);
    CHECK_EQ_STR(json_string_value(json_object_get(
                     json_array_get(json_object_get(r.json, "schedule"), 0), "time_zone")),
                 "Asia/Kolkata");
    /* The day before and the day after a DST change: other UTC offsets. */
    const char *days[] = {DST_DAY " - 1", DST_DAY " + 1"};
    const char *times[] = {"07:59:59", "08:00:00", "08:59:59", "09:00:00"};
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 4; k++)
            send_at("cam-s", local_us(days[d], times[k], "Europe/Berlin"));
            /* Next Saturday in Kolkata: 21:59 out, 22:00 in, Sunday 01:59 in, 02:00
             * out, Sunday 23:00 out (Sunday is not a start day). */
#define SAT                                                                                        \
    "(SELECT d::date FROM generate_series(now()::date + 1, now()::date + 8,"                       \
    " interval '1 day') d WHERE extract(isodow FROM d) = 6 LIMIT 1)"
    send_at("cam-s2", local_us(SAT, "21:59:00", "Asia/Kolkata"));
    send_at("cam-s2", local_us(SAT, "22:00:00", "Asia/Kolkata"));
    send_at("cam-s2", local_us(SAT " + 1", "01:59:00", "Asia/Kolkata"));
    send_at("cam-s2", local_us(SAT " + 1", "02:00:00", "Asia/Kolkata"));
    send_at("cam-s2", local_us(SAT " + 1", "23:00:00", "Asia/Kolkata"));
    wait_events();
    /* Every event stored; only those inside the windows opened incidents. */
    CHECK_EQ_INT(q("SELECT count(*) FROM events WHERE camera_id = '%s'", "cam-s"), 8);
    CHECK_EQ_INT(q("SELECT count(*) FROM events WHERE camera_id = '%s'"
                   " AND violation_id IS NOT NULL AND (\"timestamp\" AT TIME ZONE"
                   " 'Europe/Berlin')::time IN ('08:00', '08:59:59')",
                   "cam-s"),
                 4);
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'", "cam-s"), 4);
    CHECK_EQ_INT(q("SELECT count(*) FROM events WHERE camera_id = '%s'"
                   " AND violation_id IS NOT NULL AND (\"timestamp\" AT TIME ZONE"
                   " 'Asia/Kolkata')::time IN ('22:00', '01:59')",
                   "cam-s2"),
                 2);
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'", "cam-s2"), 2);
    ihttp_resp_free(&r);
}

static void dwell_just_under_and_over(void)
{
    resp r = {0};
    const char *cams[] = {"cam-d-under", "cam-d-over", "cam-d-gap"};
    for (int i = 0; i < 3; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"event_type\":\"fall_detected\",\"camera_id\":\"%s\",\"min_confidence\":0.5,"
                 "\"window_seconds\":3,\"min_duration_seconds\":5}",
                 cams[i]);
        req("POST", "/api/v1/rules", tok_admin, body, &r);
        CHECK_STATUS(r, 201);
    }
    CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "min_duration_seconds")), 5);
    /* Two batches each, so the run's start survives in rule_state. */
    const double under[] = {300, 302, 304, 304.9}, over[] = {300, 302, 304, 305};
    const double gap[] = {300, 302, 305.5, 308, 310.4, 310.5};
    for (int i = 0; i < 2; i++) {
        send_box("cam-d-under", "fall_detected", 0.9, under[i], 100, 100);
        send_box("cam-d-over", "fall_detected", 0.9, over[i], 100, 100);
    }
    for (int i = 0; i < 3; i++)
        send_box("cam-d-gap", "fall_detected", 0.9, gap[i], 100, 100);
    wait_events();
    CHECK_EQ_INT(q("SELECT count(*) FROM rule_state WHERE camera_id = '%s'"
                   " AND run_started_at IS NOT NULL",
                   "cam-d-over"),
                 1);
    for (int i = 2; i < 4; i++) {
        send_box("cam-d-under", "fall_detected", 0.9, under[i], 100, 100);
        send_box("cam-d-over", "fall_detected", 0.9, over[i], 100, 100);
    }
    for (int i = 3; i < 6; i++)
        send_box("cam-d-gap", "fall_detected", 0.9, gap[i], 100, 100);
    wait_events();
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'", "cam-d-under"), 0);
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'", "cam-d-over"), 1);
    /* It opened with the event that completed the 5 s. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM violations WHERE camera_id = 'cam-d-over'"
             " AND first_event_at = 'epoch'::timestamptz + %lld * interval '1 microsecond'",
             (long long)(t0 + 305 * 1000000LL));
    CHECK_EQ_INT(itest_query(sql), 1);
    /* gap: 302 -> 305.5 is longer than the window: the run restarts at
     * 305.5, and 310.5 completes it (310.4 is just under). */
    CHECK_EQ_INT(q("SELECT count(*) FROM violations WHERE camera_id = '%s'", "cam-d-gap"), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM violations WHERE camera_id = 'cam-d-gap'"
             " AND first_event_at = 'epoch'::timestamptz + %lld * interval '1 microsecond'",
             (long long)(t0 + 310500000LL));
    CHECK_EQ_INT(itest_query(sql), 1);
    ihttp_resp_free(&r);
}

/* stop-inference marks the camera stopped (never offline), start clears it. */
static void stop_inference_marks_the_camera(void)
{
    resp r = {0};
    itest_exec(itest_db_url, "INSERT INTO cameras (id, inference_active, inference_model_id,"
                             " inference_started_at) VALUES ('cam-stop', true, 'm1', now())");
    req("POST", "/api/v1/devices/cam-stop/stop-inference", tok_admin, NULL, &r);
    CHECK_STATUS(r, 200);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM cameras WHERE id = 'cam-stop'"
                             " AND inference_stopped_at IS NOT NULL AND NOT inference_active"),
                 1);
    req("PATCH", "/api/v1/devices/cam-stop", tok_admin, "{\"offline_after_seconds\":2}", &r);
    CHECK_STATUS(r, 200);
    CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "offline_after_seconds")), 2);
    CHECK(json_is_false(json_object_get(r.json, "offline")));
    ihttp_resp_free(&r);
}

static pid_t spawn_api(const char *log)
{
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    double start = itest_now();
    while ((port = itest_log_int(log, "\"api_port\":")) < 0 && itest_now() - start < 30)
        usleep(100 * 1000);
    return pid;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("wsite", 2);
    itest_api_env(SECRET);
    /* Capture times around the next DST change (up to 7 months away). */
    setenv("RUTH_MAX_CLOCK_SKEW_SEC", "21600000", 1);
    itest_token(tok_admin, sizeof tok_admin, SECRET, "adam", ROLE_ADMIN);
    itest_token(tok_viewer, sizeof tok_viewer, SECRET, "vera", ROLE_VIEWER);
    prod = itest_producer();
    t0 = itest_wall_us() - 600LL * 1000000;
    char api_log[256], worker_log[256];
    snprintf(api_log, sizeof api_log, "/tmp/%s-api.log", itest_db_name);
    snprintf(worker_log, sizeof worker_log, "/tmp/%s-worker.log", itest_db_name);
    pid_t api = spawn_api(api_log);
    pid_t w = itest_spawn("ruth-worker", NULL, worker_log);
    if (port < 0) {
        fprintf(stderr, "ruth-api did not start; log: %s\n", api_log);
        return 1;
    }
    /* The worker is consuming once it logged its rules. */
    for (double end = itest_now() + 60;
         itest_log_count(worker_log, "consuming") < 1 && itest_now() < end;)
        usleep(100 * 1000);
    TEST_RUN(zone_validation);
    TEST_RUN(zones_required_and_filtered);
    TEST_RUN(schedule_validation);
    TEST_RUN(schedule_windows_across_dst_and_midnight);
    TEST_RUN(dwell_just_under_and_over);
    TEST_RUN(stop_inference_marks_the_camera);
    kill(w, SIGTERM);
    kill(api, SIGTERM);
    int sw = itest_wait_exit(w, 15), sa = itest_wait_exit(api, 15);
    if (sw != 0 || sa != 0) {
        fprintf(stderr, "ruth-worker exited %d, ruth-api %d\n", sw, sa);
        testlib_failures++;
    }
    rd_kafka_destroy(prod);
    if (!testlib_failures)
        itest_teardown();
    else
        fprintf(stderr, "database %s kept; logs %s %s\n", itest_db_name, api_log, worker_log);
    curl_global_cleanup();
    return TEST_EXIT();
}
