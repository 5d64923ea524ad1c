/* test_vas_double.c - ruth-vas-double, the VAS test double, speaks the
 * contract the other tests rely on: tokens, snapshots and bookmarks that
 * turn ready after their delay, real media with Range, and a control API
 * that fails, expires, revokes, refuses and records as told.
 *
 * Needs no Kafka or PostgreSQL; it is with the integration tests because it
 * spawns a process. The double prints
 *   ruth-vas-double listening on 127.0.0.1:PORT
 * on stdout once it accepts connections: that is how a test finds its port. */
#include "buf.h"
#include "ihttp.h"
#include "itest.h"

#include <curl/curl.h>
#include <jansson.h>
#include <strings.h>

#define SNAPSHOT_DELAY_MS 300
#define BOOKMARK_DELAY_MS 500

static int port;
static char vas_log[256];
static char token[128], refresh_token[128];

typedef ihttp_resp resp;

/* One request to the double; `tok` NULL = no Authorization, `range` NULL = none. */
static void req(const char *method, const char *path, const char *tok, const char *body,
                const char *range, resp *out)
{
    char hdr[256];
    if (range)
        snprintf(hdr, sizeof hdr, "Range: %s", range);
    ihttp_request(port, method, path, tok, body, range ? hdr : NULL, out);
}

static const char *jstr(const resp *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

static void authenticate(void)
{
    resp r = {0};
    req("POST", "/v2/auth/token", NULL, "{\"client_id\":\"ruth\",\"client_secret\":\"s3cret\"}",
        NULL, &r);
    snprintf(token, sizeof token, "%s", jstr(&r, "access_token") ? jstr(&r, "access_token") : "");
    snprintf(refresh_token, sizeof refresh_token, "%s",
             jstr(&r, "refresh_token") ? jstr(&r, "refresh_token") : "");
    ihttp_resp_free(&r);
}

static void control(const char *method, const char *path, const char *body)
{
    resp r = {0};
    req(method, path, NULL, body, NULL, &r);
    if (r.status != 200)
        fprintf(stderr, "control %s %s: %ld\n", method, path, r.status);
    ihttp_resp_free(&r);
}

/* GET path until its "status" is not "processing" (at most 5 s); the
 * answer is left in *r, the time it took returned. */
static double poll_ready(const char *path, resp *r)
{
    double t0 = itest_now();
    do {
        req("GET", path, token, NULL, NULL, r);
        if (!jstr(r, "status") || strcmp(jstr(r, "status"), "processing") != 0)
            break;
        usleep(50 * 1000);
    } while (itest_now() - t0 < 5);
    return itest_now() - t0;
}

static void test_auth(void)
{
    resp r = {0};
    req("POST", "/v2/auth/token", NULL, "{\"client_id\":\"ruth\",\"client_secret\":\"nope\"}", NULL,
        &r);
    CHECK_EQ_INT(r.status, 401);
    CHECK_EQ_STR(jstr(&r, "error"), "invalid_credentials");
    CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "status_code")), 401);
    CHECK(jstr(&r, "request_id") && jstr(&r, "timestamp") && jstr(&r, "error_description"));
    req("POST", "/v2/auth/token", NULL, "{\"client_id\":\"ruth\",\"client_secret\":\"s3cret\"}",
        NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(jstr(&r, "token_type"), "Bearer");
    CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "expires_in")), 60);
    CHECK(jstr(&r, "access_token") && jstr(&r, "refresh_token"));
    CHECK(json_array_size(json_object_get(r.json, "scopes")) > 0);
    req("GET", "/v2/streams", NULL, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 401);
    CHECK_EQ_STR(jstr(&r, "error"), "INVALID_TOKEN");
    req("GET", "/v2/streams", "at_not-a-token", NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 401);
    ihttp_resp_free(&r);
}

static void test_snapshot(void)
{
    resp r = {0};
    req("POST", "/v2/streams/str-1/snapshots", token,
        "{\"source\":\"live\",\"created_by\":\"ruth-evidence\",\"metadata\":{\"violation_id\":"
        "\"v-1\"}}",
        NULL, &r);
    CHECK_EQ_INT(r.status, 201);
    CHECK_EQ_STR(jstr(&r, "status"), "processing");
    CHECK_EQ_STR(jstr(&r, "stream_id"), "str-1");
    char id[64], path[160], image[200];
    snprintf(id, sizeof id, "%s", jstr(&r, "id"));
    snprintf(path, sizeof path, "/v2/snapshots/%s", id);
    snprintf(image, sizeof image, "/v2/snapshots/%s/image", id);
    CHECK_EQ_STR(jstr(&r, "image_url"), image);
    req("GET", image, token, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 404); /* not there yet */
    double took = poll_ready(path, &r);
    CHECK_EQ_STR(jstr(&r, "status"), "ready");
    CHECK_MSG(took > SNAPSHOT_DELAY_MS / 1000.0 - 0.1, "ready after %.3f s", took);
    json_int_t size = json_integer_value(json_object_get(r.json, "file_size"));
    req("GET", image, token, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.ctype, "image/jpeg");
    CHECK_EQ_INT(r.body.len, size);
    const unsigned char *b = r.body.data;
    CHECK(r.body.len > 100 && b[0] == 0xFF && b[1] == 0xD8);
    CHECK(b[r.body.len - 2] == 0xFF && b[r.body.len - 1] == 0xD9);
    req("GET", "/v2/snapshots/5a0e0000-0000-4000-8000-0000000fffff", token, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 404);
    CHECK_EQ_STR(jstr(&r, "error"), "RESOURCE_NOT_FOUND");
    ihttp_resp_free(&r);
}

/* Creates a live bookmark on `stream`; its id into id. */
static long create_bookmark(const char *stream, char *id, size_t idsz)
{
    char path[160];
    snprintf(path, sizeof path, "/v2/streams/%s/bookmarks", stream);
    resp r = {0};
    req("POST", path, token,
        "{\"source\":\"live\",\"label\":\"no helmet\",\"event_type\":\"ppe_violation\","
        "\"confidence\":0.9,\"before_seconds\":5,\"after_seconds\":10,\"tags\":[\"ppe\"],"
        "\"created_by\":\"ruth-evidence\"}",
        NULL, &r);
    snprintf(id, idsz, "%s", jstr(&r, "id") ? jstr(&r, "id") : "");
    long status = r.status;
    if (status == 201 && (strcmp(jstr(&r, "status"), "processing") != 0 ||
                          json_real_value(json_object_get(r.json, "duration_seconds")) != 15.0))
        status = -1;
    ihttp_resp_free(&r);
    return status;
}

static void test_bookmark_range(void)
{
    char id[64], path[160], video[200], cr[64];
    CHECK_EQ_INT(create_bookmark("str-2", id, sizeof id), 201);
    snprintf(path, sizeof path, "/v2/bookmarks/%s", id);
    resp r = {0}, full = {0};
    double took = poll_ready(path, &r);
    CHECK_EQ_STR(jstr(&r, "status"), "ready");
    CHECK_MSG(took > BOOKMARK_DELAY_MS / 1000.0 - 0.1, "ready after %.3f s", took);
    snprintf(video, sizeof video, "/v2/bookmarks/%s/video", id);
    CHECK_EQ_STR(jstr(&r, "video_url"), video);
    CHECK(jstr(&r, "thumbnail_url"));
    req("GET", video, token, NULL, NULL, &full);
    CHECK_EQ_INT(full.status, 200);
    CHECK_EQ_STR(full.ctype, "video/mp4");
    CHECK_EQ_STR(full.accept_ranges, "bytes");
    size_t len = full.body.len;
    CHECK(len > 1000 && memcmp((const char *)full.body.data + 4, "ftyp", 4) == 0);
    req("GET", video, token, NULL, "bytes=100-199", &r);
    CHECK_EQ_INT(r.status, 206);
    snprintf(cr, sizeof cr, "bytes 100-199/%zu", len);
    CHECK_EQ_STR(r.crange, cr);
    CHECK(r.body.len == 100 && memcmp(r.body.data, (const char *)full.body.data + 100, 100) == 0);
    req("GET", video, token, NULL, "bytes=-10", &r);
    CHECK_EQ_INT(r.status, 206);
    CHECK(r.body.len == 10 &&
          memcmp(r.body.data, (const char *)full.body.data + len - 10, 10) == 0);
    char range[64];
    snprintf(range, sizeof range, "bytes=%zu-", len);
    req("GET", video, token, NULL, range, &r);
    CHECK_EQ_INT(r.status, 416);
    snprintf(cr, sizeof cr, "bytes */%zu", len);
    CHECK_EQ_STR(r.crange, cr);
    snprintf(path, sizeof path, "/v2/bookmarks/%s/thumbnail", id);
    req("GET", path, token, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.body.len > 2 && ((const unsigned char *)r.body.data)[0] == 0xFF);
    ihttp_resp_free(&r);
    ihttp_resp_free(&full);
}

static void test_fail(void)
{
    resp r = {0};
    char id[64];
    control("POST", "/_control/fail",
            "{\"status\":503,\"count\":2,\"error\":\"SERVICE_UNAVAILABLE\"}");
    req("GET", "/v2/snapshots/x", token, NULL, NULL, &r); /* outside the default prefix */
    CHECK_EQ_INT(r.status, 404);
    for (int i = 0; i < 2; i++) {
        req("POST", "/v2/streams/str-1/snapshots", token, "{\"source\":\"live\"}", NULL, &r);
        CHECK_EQ_INT(r.status, 503);
        CHECK_EQ_STR(jstr(&r, "error"), "SERVICE_UNAVAILABLE");
        CHECK_EQ_INT(json_integer_value(json_object_get(r.json, "status_code")), 503);
    }
    CHECK_EQ_INT(create_bookmark("str-1", id, sizeof id), 201); /* count used up */
    control("POST", "/_control/fail", "{\"status\":502,\"count\":-1,\"prefix\":\"/v2/\"}");
    for (int i = 0; i < 3; i++) {
        req("POST", "/v2/auth/token", NULL, "{}", NULL, &r);
        CHECK_EQ_INT(r.status, 502);
    }
    control("POST", "/_control/fail", "{\"count\":0}");
    CHECK_EQ_INT(create_bookmark("str-1", id, sizeof id), 201);
    ihttp_resp_free(&r);
}

static void test_tokens(void)
{
    resp r = {0};
    char old[128], body[256];
    snprintf(old, sizeof old, "%s", token);
    control("POST", "/_control/expire-tokens", NULL);
    req("GET", "/v2/streams", token, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 401);
    CHECK_EQ_STR(jstr(&r, "error"), "TOKEN_EXPIRED");
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", refresh_token);
    req("POST", "/v2/auth/token/refresh", NULL, body, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK(jstr(&r, "access_token") && strcmp(jstr(&r, "access_token"), old) != 0);
    CHECK(!json_object_get(r.json, "refresh_token")); /* not rotated */
    snprintf(token, sizeof token, "%s", jstr(&r, "access_token"));
    req("GET", "/v2/streams", token, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    control("POST", "/_control/revoke-refresh", NULL);
    req("POST", "/v2/auth/token/refresh", NULL, body, NULL, &r);
    CHECK_EQ_INT(r.status, 401);
    CHECK_EQ_STR(jstr(&r, "error"), "invalid_refresh_token");
    req("GET", "/v2/streams", token, NULL, NULL, &r); /* the access token still works */
    CHECK_EQ_INT(r.status, 200);
    authenticate();
    CHECK(token[0] && refresh_token[0]);
    ihttp_resp_free(&r);
}

static void test_streams_settings(void)
{
    resp r = {0};
    char id[64], path[160];
    control("POST", "/_control/stream", "{\"stream_id\":\"gone\",\"missing\":true}");
    req("POST", "/v2/streams/gone/snapshots", token, "{\"source\":\"live\"}", NULL, &r);
    CHECK_EQ_INT(r.status, 404);
    CHECK_EQ_STR(jstr(&r, "error"), "STREAM_NOT_FOUND");
    CHECK_EQ_INT(create_bookmark("gone", id, sizeof id), 404);
    control("POST", "/_control/stream", "{\"stream_id\":\"old\",\"no_recording\":true}");
    req("POST", "/v2/streams/old/bookmarks", token,
        "{\"source\":\"historical\",\"center_timestamp\":\"2020-01-01T00:00:00Z\","
        "\"before_seconds\":5,\"after_seconds\":5}",
        NULL, &r);
    CHECK_EQ_INT(r.status, 404);
    CHECK_EQ_STR(jstr(&r, "error"), "NO_RECORDING_DATA");
    CHECK_EQ_INT(create_bookmark("old", id, sizeof id), 201); /* live still works */
    control("POST", "/_control/stream",
            "{\"stream_id\":\"bad\",\"bookmark_fail\":\"EXTRACTION_TIMEOUT\","
            "\"bookmark_delay_ms\":0}");
    CHECK_EQ_INT(create_bookmark("bad", id, sizeof id), 201);
    snprintf(path, sizeof path, "/v2/bookmarks/%s", id);
    req("GET", path, token, NULL, NULL, &r);
    CHECK_EQ_STR(jstr(&r, "status"), "failed");
    CHECK_EQ_STR(jstr(&r, "error"), "EXTRACTION_TIMEOUT");
    snprintf(path, sizeof path, "/v2/bookmarks/%s/video", id);
    req("GET", path, token, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 404);
    ihttp_resp_free(&r);
}

static void test_drop_latency(void)
{
    resp r = {0};
    control("POST", "/_control/drop", "{\"count\":1}");
    req("GET", "/api/v1/devices", NULL, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 0); /* closed without an answer */
    req("GET", "/api/v1/devices", NULL, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    control("POST", "/_control/latency", "{\"ms\":300}");
    double t0 = itest_now();
    req("GET", "/api/v1/devices", NULL, NULL, NULL, &r);
    double took = itest_now() - t0;
    control("POST", "/_control/latency", "{\"ms\":0}");
    CHECK_EQ_INT(r.status, 200);
    CHECK_MSG(took >= 0.29, "answered after %.3f s", took);
    ihttp_resp_free(&r);
}

static void test_devices_streams(void)
{
    resp r = {0};
    req("GET", "/api/v1/devices", NULL, NULL, NULL, &r); /* V1: no auth */
    CHECK_EQ_INT(r.status, 200);
    CHECK(json_is_array(r.json) && json_array_size(r.json) == 3);
    json_t *d0 = json_array_get(r.json, 0);
    CHECK_EQ_STR(json_string_value(json_object_get(d0, "id")), "cam-1");
    CHECK_EQ_STR(json_string_value(json_object_get(d0, "display_name")), "Lobby");
    CHECK_EQ_STR(json_string_value(json_object_get(d0, "stream_state")), "live");
    req("GET", "/v2/streams?camera_id=cam-2", token, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    json_t *list = json_object_get(r.json, "streams");
    CHECK(json_array_size(list) == 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(list, 0), "id")), "str-2");
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(list, 0), "state")), "LIVE");
    CHECK_EQ_INT(
        json_integer_value(json_object_get(json_object_get(r.json, "pagination"), "total")), 1);
    control("PUT", "/_control/devices",
            "[{\"id\":\"d-9\",\"name\":\"CUG3PTZ10068\",\"location\":\"Gate\","
            "\"stream_id\":\"s-9\",\"state\":\"READY\"}]");
    req("GET", "/api/v1/devices", NULL, NULL, NULL, &r);
    CHECK(json_array_size(r.json) == 1);
    d0 = json_array_get(r.json, 0);
    CHECK(json_is_null(json_object_get(d0, "display_name"))); /* a client falls back to name */
    CHECK_EQ_STR(json_string_value(json_object_get(d0, "name")), "CUG3PTZ10068");
    req("GET", "/v2/streams", token, NULL, NULL, &r);
    list = json_object_get(r.json, "streams");
    CHECK(json_array_size(list) == 1);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(list, 0), "state")), "READY");
    ihttp_resp_free(&r);
}

static void test_calls(void)
{
    resp r = {0};
    control("POST", "/_control/reset", NULL);
    req("POST", "/v2/streams/str-3/snapshots", token, "{\"source\":\"live\",\"created_by\":\"t\"}",
        NULL, &r);
    CHECK_EQ_INT(r.status, 201);
    req("GET", "/v2/streams", NULL, NULL, NULL, &r);
    req("GET", "/_control/calls", NULL, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(json_array_size(r.json), 2); /* control calls are not recorded */
    json_t *c0 = json_array_get(r.json, 0), *c1 = json_array_get(r.json, 1);
    CHECK_EQ_STR(json_string_value(json_object_get(c0, "method")), "POST");
    CHECK_EQ_STR(json_string_value(json_object_get(c0, "path")), "/v2/streams/str-3/snapshots");
    CHECK_EQ_INT(json_integer_value(json_object_get(c0, "status")), 201);
    CHECK(json_is_true(json_object_get(c0, "authorized")));
    CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(c0, "body"), "created_by")),
                 "t");
    CHECK(json_is_false(json_object_get(c1, "authorized")));
    CHECK(json_is_null(json_object_get(c1, "body")));
    CHECK_EQ_INT(json_integer_value(json_object_get(c1, "status")), 401);
    req("GET", "/_control/calls?since=1", NULL, NULL, NULL, &r);
    CHECK_EQ_INT(json_array_size(r.json), 1);
    ihttp_resp_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(vas_log, sizeof vas_log, "/tmp/test_vas_double.%d.log", (int)getpid());
    unlink(vas_log);
    const char *args[] = {"--client-secret",
                          "s3cret",
                          "--token-lifetime",
                          "60",
                          "--snapshot-delay-ms",
                          "300",
                          "--bookmark-delay-ms",
                          "500",
                          NULL};
    pid_t pid = itest_spawn("ruth-vas-double", args, vas_log);
    double end = itest_now() + 10;
    while ((port = itest_log_int(vas_log, "ruth-vas-double listening on 127.0.0.1:")) <= 0 &&
           itest_now() < end)
        usleep(20 * 1000);
    if (port <= 0) {
        fprintf(stderr, "ruth-vas-double did not start; see %s\n", vas_log);
        return 1;
    }
    authenticate();
    TEST_RUN(test_auth);
    TEST_RUN(test_snapshot);
    TEST_RUN(test_bookmark_range);
    TEST_RUN(test_fail);
    TEST_RUN(test_tokens);
    TEST_RUN(test_streams_settings);
    TEST_RUN(test_drop_latency);
    TEST_RUN(test_devices_streams);
    TEST_RUN(test_calls);
    kill(pid, SIGTERM);
    int rc = itest_wait_exit(pid, 10);
    if (rc != 0) {
        fprintf(stderr, "ruth-vas-double exited %d on SIGTERM; see %s\n", rc, vas_log);
        testlib_failures++;
    }
    if (!testlib_failures)
        unlink(vas_log);
    curl_global_cleanup();
    return TEST_EXIT();
}
