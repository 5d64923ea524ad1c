/* test_api_evidence.c - ruth-api's evidence endpoints against real
 * PostgreSQL and Kafka: GET /violations/{id}/snapshot and /video (404
 * EVIDENCE_NOT_FOUND, 202 EVIDENCE_PROCESSING, 500 EVIDENCE_FAILED, 503
 * VAS_UNAVAILABLE without VAS), POST /violations/{id}/evidence (roles,
 * validation, 409s, rows reset, EvidenceRequests published), and, with the
 * VAS double (tests/vas, ruth-vas-double), media streamed byte for byte,
 * Range passed through, VAS failures as 503, and /health's VAS component.
 *
 * Evidence rows are written directly with SQL, so the API is tested on its
 * own. */
#include "ihttp.h"
#include "itest.h"

#include "api.h"
#include "codec.h"

#include <curl/curl.h>
#include <jansson.h>
#include <strings.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define V1 "22222222-2222-4222-8222-000000000001" /* no evidence rows */
#define V2 "22222222-2222-4222-8222-000000000002" /* pending snapshot, processing bookmark */
#define V3 "22222222-2222-4222-8222-000000000003" /* failed snapshot, ready bookmark */
#define V4 "22222222-2222-4222-8222-000000000004" /* ready on the VAS double */
#define NOPE "99999999-9999-4999-8999-999999999999"

static int port;
static char tok_viewer[1024], tok_operator[1024];

typedef ihttp_resp resp;

/* One request to 127.0.0.1:p; `auth` a whole header line or NULL, `hdr`
 * one more or NULL. */
static void http(int p, const char *method, const char *path, const char *auth, const char *body,
                 const char *hdr, resp *out)
{
    const char *headers[3] = {auth, auth ? hdr : NULL, NULL};
    if (!auth)
        headers[0] = hdr;
    ihttp_send(p, method, path, headers, body, out);
}

static void req(const char *method, const char *path, const char *token, const char *body,
                resp *out)
{
    ihttp_request(port, method, path, token, body, NULL, out);
}

static const json_t *jget(const json_t *j, const char *path)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    const json_t *cur = j;
    for (char *save = NULL, *k = strtok_r(tmp, ".", &save); k && cur;
         k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return cur;
}

static const char *jstr(const json_t *j, const char *path)
{
    return json_string_value(jget(j, path));
}

static long long jint(const json_t *j, const char *path)
{
    const json_t *v = jget(j, path);
    return json_is_integer(v) ? json_integer_value(v) : -999;
}

#define CHECK_ERROR(r, st, code)                                                                   \
    do {                                                                                           \
        CHECK_MSG((r).status == (st), "status %ld, body %.*s", (r).status, (int)(r).body.len,      \
                  (const char *)(r).body.data);                                                    \
        CHECK_EQ_STR(jstr((r).json, "error"), code);                                               \
        CHECK_EQ_INT(jint((r).json, "status_code"), st);                                           \
        CHECK(json_is_object(jget((r).json, "details")));                                          \
        CHECK_EQ_STR(jstr((r).json, "request_id"), (r).request_id);                                \
    } while (0)

static bool sql(const char *s)
{
    return itest_exec(itest_db_url, s);
}

static void seed(void)
{
    sql("INSERT INTO cameras (id, name, stream_id) VALUES ('cam-a', 'Dock A', 'str-1')");
    sql("INSERT INTO violations (id, type, camera_id, stream_id, confidence, max_confidence,"
        " first_event_at, last_event_at, ended_at) SELECT v::uuid, 'fall_detected', 'cam-a',"
        " 'str-1', 0.9, 0.9, now() - interval '1 hour', now() - interval '1 hour',"
        " now() - interval '50 minutes' FROM unnest(ARRAY['" V1 "', '" V2 "', '" V3 "', '" V4
        "']) v");
    sql("INSERT INTO evidence (violation_id, kind, camera_id, stream_id, status, vas_id,"
        " last_error, attempts, next_attempt_at, center_timestamp) SELECT v::uuid, k, 'cam-a',"
        " 'str-1', s, i, e, a, n, now() - interval '1 hour' FROM (VALUES"
        " ('" V2 "', 'snapshot', 'pending', NULL, NULL, 1, now() + interval '7 seconds'),"
        " ('" V2 "', 'bookmark', 'processing', 'bm-2', NULL, 1, NULL),"
        " ('" V3 "', 'snapshot', 'failed', NULL, 'NO_RECORDING_DATA: no recording at that time',"
        "  3, NULL),"
        " ('" V3 "', 'bookmark', 'ready', 'bm-3', NULL, 1, NULL)) x(v, k, s, i, e, a, n)");
}

/* ---- states answered from the database ---- */

static void test_states(void)
{
    resp r = {0};
    req("GET", "/api/v1/violations/" V1 "/snapshot", NULL, NULL, &r);
    CHECK_ERROR(r, 401, "INVALID_TOKEN");
    req("GET", "/api/v1/violations/not-a-uuid/snapshot", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 400, "INVALID_PARAMETER");
    req("GET", "/api/v1/violations/" NOPE "/video", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "VIOLATION_NOT_FOUND");
    req("GET", "/api/v1/violations/" V1 "/snapshot", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "EVIDENCE_NOT_FOUND");
    req("GET", "/api/v1/violations/" V1 "/video", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 404, "EVIDENCE_NOT_FOUND");
    /* Pending, due in 7 s: retry then. */
    req("GET", "/api/v1/violations/" V2 "/snapshot", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 202, "EVIDENCE_PROCESSING");
    long long after = jint(r.json, "details.retry_after_seconds");
    CHECK_MSG(after >= 5 && after <= 8, "retry_after_seconds %lld", after);
    CHECK_EQ_INT(atoi(r.retry_after), after);
    CHECK_EQ_STR(jstr(r.json, "details.status"), "pending");
    CHECK(json_is_null(jget(r.json, "details.snapshot_id")));
    /* Processing with no due time: the contract's 10 s for video. */
    req("GET", "/api/v1/violations/" V2 "/video", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 202, "EVIDENCE_PROCESSING");
    CHECK_EQ_INT(jint(r.json, "details.retry_after_seconds"), 10);
    CHECK_EQ_STR(jstr(r.json, "details.bookmark_id"), "bm-2");
    CHECK_EQ_STR(jstr(r.json, "details.status"), "processing");
    /* Failed: the reason. */
    req("GET", "/api/v1/violations/" V3 "/snapshot", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 500, "EVIDENCE_FAILED");
    CHECK(jstr(r.json, "details.reason") && strstr(jstr(r.json, "details.reason"), "NO_RECORDING"));
    CHECK_EQ_INT(jint(r.json, "details.attempts"), 3);
    /* Ready, but this ruth-api has no VAS. */
    req("GET", "/api/v1/violations/" V3 "/video", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 503, "VAS_UNAVAILABLE");
    CHECK(r.retry_after[0] != '\0');
    req("GET", "/health", NULL, NULL, &r);
    CHECK(json_object_get(json_object_get(r.json, "components"), "vas") == NULL); /* not set */
    ihttp_resp_free(&r);
}

/* ---- re-requests ---- */

static long requests_seen;
static char requests_kinds[64];
static void count_requests(const rd_kafka_message_t *m, void *arg)
{
    evidence_request_msg er;
    void *arena = NULL;
    codec_error cerr;
    if (codec_decode_evidence_request(arg, m->payload, m->len, &er, &arena, &cerr) == 0) {
        requests_seen++;
        size_t n = strlen(requests_kinds);
        snprintf(requests_kinds + n, sizeof requests_kinds - n, "%s%s:%.1s:%d:%d", n ? "," : "",
                 er.kind, er.violation_id + 35, er.before_seconds, er.attempt);
        CHECK_EQ_STR(er.camera_id, "cam-a");
        CHECK(er.center_timestamp_us > 0);
    }
    codec_arena_free(arena);
}

static void test_rerequest(void)
{
    resp r = {0};
    req("POST", "/api/v1/violations/" V3 "/evidence", tok_viewer, NULL, &r);
    CHECK_ERROR(r, 403, "INSUFFICIENT_PERMISSIONS");
    req("POST", "/api/v1/violations/" NOPE "/evidence", tok_operator, NULL, &r);
    CHECK_ERROR(r, 404, "VIOLATION_NOT_FOUND");
    const char *bad[] = {
        "{\"kinds\":[\"x\"]}",      "{\"kinds\":[]}", "{\"kinds\":[\"snapshot\",\"snapshot\"]}",
        "{\"kinds\":\"snapshot\"}", "{\"other\":1}",  "[1]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req("POST", "/api/v1/violations/" V3 "/evidence", tok_operator, bad[i], &r);
        CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    }
    /* Both of V2's are in flight. */
    req("POST", "/api/v1/violations/" V2 "/evidence", tok_operator, NULL, &r);
    CHECK_ERROR(r, 409, "EVIDENCE_IN_PROGRESS");
    CHECK_EQ_STR(jstr(r.json, "details.evidence.snapshot"), "pending");
    /* V3's bookmark is ready: asking for it by name is a conflict... */
    req("POST", "/api/v1/violations/" V3 "/evidence", tok_operator, "{\"kinds\":[\"bookmark\"]}",
        &r);
    CHECK_ERROR(r, 409, "EVIDENCE_READY");
    /* ...by default only the failed snapshot is asked again. */
    req("POST", "/api/v1/violations/" V3 "/evidence", tok_operator, NULL, &r);
    CHECK_MSG(r.status == 202, "status %ld: %.*s", r.status, (int)r.body.len,
              (const char *)r.body.data);
    CHECK_EQ_STR(jstr(r.json, "violation_id"), V3);
    CHECK_EQ_INT(json_array_size(jget(r.json, "evidence")), 2);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM evidence WHERE violation_id = '" V3 "' AND"
                             " kind = 'snapshot' AND status = 'pending' AND attempts = 0 AND"
                             " last_error IS NULL AND next_attempt_at <= now()"),
                 1);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM evidence WHERE violation_id = '" V3 "' AND"
                             " kind = 'bookmark' AND status = 'ready' AND vas_id = 'bm-3'"),
                 1);
    req("POST", "/api/v1/violations/" V3 "/evidence", tok_operator, "{\"kinds\":[\"snapshot\"]}",
        &r);
    CHECK_ERROR(r, 409, "EVIDENCE_IN_PROGRESS");
    /* Missing rows are created, from the violation. */
    req("POST", "/api/v1/violations/" V1 "/evidence", tok_operator, "{\"kinds\":[\"bookmark\"]}",
        &r);
    CHECK_EQ_INT(r.status, 202);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM evidence e JOIN violations v ON v.id ="
                             " e.violation_id WHERE e.violation_id = '" V1 "' AND e.kind ="
                             " 'bookmark' AND e.status = 'pending' AND e.stream_id = 'str-1' AND"
                             " e.center_timestamp = v.first_event_at AND e.before_seconds = 5"
                             " AND e.after_seconds = 10"),
                 1);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM evidence WHERE violation_id = '" V1 "'"), 1);
    /* Published and gone from the outbox: V3's snapshot, V1's bookmark. */
    CHECK_EQ_INT(itest_wait_query("SELECT count(*) FROM outbox", 0, 15), 0);
    char err[256];
    codec *c = codec_new(NULL, err, sizeof err);
    requests_seen = 0;
    requests_kinds[0] = '\0';
    itest_consume(getenv("RUTH_TOPIC_EVIDENCE"), 3, count_requests, c);
    codec_destroy(c);
    CHECK_EQ_INT(requests_seen, 2);
    CHECK_MSG(strstr(requests_kinds, "snapshot:3:0:1") && strstr(requests_kinds, "bookmark:1:5:1"),
              "requests %s", requests_kinds);
    ihttp_resp_free(&r);
}

/* ---- media through the VAS double ---- */

typedef struct vas_double {
    pid_t pid;
    int port;
    char auth[1200]; /* "Authorization: Bearer ..." */
} vas_double;

static bool double_start(vas_double *d, const char *log)
{
    const char *args[] = {"--port", "0", "--bookmark-delay-ms", "0", NULL};
    unlink(log);
    d->pid = itest_spawn("ruth-vas-double", args, log);
    double t = itest_now();
    while ((d->port = itest_log_int(log, "listening on 127.0.0.1:")) < 0 && itest_now() - t < 15)
        usleep(100 * 1000);
    if (d->port < 0)
        return false;
    resp r = {0};
    http(d->port, "POST", "/v2/auth/token", NULL,
         "{\"client_id\":\"ruth\",\"client_secret\":\"ruth-secret\"}", NULL, &r);
    const char *tok = jstr(r.json, "access_token");
    if (tok)
        snprintf(d->auth, sizeof d->auth, "Authorization: Bearer %s", tok);
    ihttp_resp_free(&r);
    return tok != NULL;
}

/* Create a snapshot and a bookmark on the double, wait until both are ready. */
static bool double_media(vas_double *d, char *snap, char *bm, size_t n)
{
    resp r = {0};
    http(d->port, "POST", "/v2/streams/str-1/snapshots", d->auth,
         "{\"source\":\"live\",\"created_by\":\"test\"}", NULL, &r);
    snprintf(snap, n, "%s", jstr(r.json, "id") ? jstr(r.json, "id") : "");
    http(d->port, "POST", "/v2/streams/str-1/bookmarks", d->auth,
         "{\"source\":\"live\",\"label\":\"t\",\"event_type\":\"fall_detected\",\"confidence\":0.9,"
         "\"before_seconds\":5,\"after_seconds\":10,\"created_by\":\"test\"}",
         NULL, &r);
    snprintf(bm, n, "%s", jstr(r.json, "id") ? jstr(r.json, "id") : "");
    char path[256];
    bool ready = false;
    for (double t = itest_now(); *snap && *bm && !ready && itest_now() - t < 15;) {
        snprintf(path, sizeof path, "/v2/bookmarks/%s", bm);
        http(d->port, "GET", path, d->auth, NULL, NULL, &r);
        bool b = jstr(r.json, "status") && !strcmp(jstr(r.json, "status"), "ready");
        snprintf(path, sizeof path, "/v2/snapshots/%s", snap);
        http(d->port, "GET", path, d->auth, NULL, NULL, &r);
        ready = b && jstr(r.json, "status") && !strcmp(jstr(r.json, "status"), "ready");
        if (!ready)
            usleep(200 * 1000);
    }
    ihttp_resp_free(&r);
    return ready;
}

static bool same_bytes(const resp *a, const resp *b, size_t off, size_t len)
{
    return b->body.len >= off + len && a->body.len == len &&
           !memcmp(a->body.data, b->body.data + off, len);
}

static void media_checks(int api_port, vas_double *d, const char *snap, const char *bm)
{
    resp r = {0}, want = {0};
    char path[256];
    snprintf(path, sizeof path, "/v2/snapshots/%s/image", snap);
    http(d->port, "GET", path, d->auth, NULL, NULL, &want);
    CHECK_EQ_INT(want.status, 200);
    ihttp_request(api_port, "GET", "/api/v1/violations/" V4 "/snapshot", tok_viewer, NULL, NULL,
                  &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.ctype, "image/jpeg");
    CHECK(want.body.len > 100 && same_bytes(&r, &want, 0, want.body.len));

    snprintf(path, sizeof path, "/v2/bookmarks/%s/video", bm);
    http(d->port, "GET", path, d->auth, NULL, NULL, &want);
    CHECK_EQ_INT(want.status, 200);
    size_t total = want.body.len;
    ihttp_request(api_port, "GET", "/api/v1/violations/" V4 "/video", tok_viewer, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(r.ctype, "video/mp4");
    CHECK_EQ_STR(r.accept_ranges, "bytes");
    CHECK(total > 200 && same_bytes(&r, &want, 0, total));
    /* A browser seeking: 206 with VAS's Content-Range, the bytes asked for. */
    ihttp_request(api_port, "GET", "/api/v1/violations/" V4 "/video", tok_viewer, NULL,
                  "Range: bytes=100-199", &r);
    CHECK_EQ_INT(r.status, 206);
    char cr[64];
    snprintf(cr, sizeof cr, "bytes 100-199/%zu", total);
    CHECK_EQ_STR(r.crange, cr);
    CHECK(same_bytes(&r, &want, 100, 100));
    ihttp_request(api_port, "GET", "/api/v1/violations/" V4 "/video", tok_viewer, NULL,
                  "Range: bytes=999999999-", &r);
    CHECK_EQ_INT(r.status, 416);
    ihttp_resp_free(&r);
    ihttp_resp_free(&want);
}

static void vas_failure_checks(int api_port, vas_double *d)
{
    resp r = {0};
    ihttp_request(api_port, "GET", "/health", NULL, NULL, NULL, &r);
    CHECK_EQ_STR(jstr(r.json, "components.vas"), "healthy");
    http(d->port, "POST", "/_control/fail", NULL,
         "{\"status\":503,\"count\":-1,\"error\":\"SERVICE_UNAVAILABLE\",\"prefix\":\"/v2/\"}",
         NULL, &r);
    ihttp_request(api_port, "GET", "/api/v1/violations/" V4 "/snapshot", tok_viewer, NULL, NULL,
                  &r);
    CHECK_ERROR(r, 503, "VAS_UNAVAILABLE");
    /* /health probes VAS at most every 5 s: down once that passed. */
    sleep(6);
    ihttp_request(api_port, "GET", "/health", NULL, NULL, NULL, &r);
    CHECK_EQ_STR(jstr(r.json, "components.vas"), "unhealthy");
    CHECK_EQ_STR(jstr(r.json, "status"), "unhealthy");
    CHECK_EQ_INT(r.status, 503);
    CHECK(jstr(r.json, "error") && strstr(jstr(r.json, "error"), "VAS"));
    http(d->port, "POST", "/_control/fail", NULL, "{\"count\":0}", NULL, &r);
    ihttp_request(api_port, "GET", "/api/v1/violations/" V4 "/snapshot", tok_viewer, NULL, NULL,
                  &r);
    CHECK_EQ_INT(r.status, 200);
    /* VAS gone altogether. */
    kill(d->pid, SIGTERM);
    itest_wait_exit(d->pid, 10);
    d->pid = -1;
    ihttp_request(api_port, "GET", "/api/v1/violations/" V4 "/video", tok_viewer, NULL, NULL, &r);
    CHECK_ERROR(r, 503, "VAS_UNAVAILABLE");
    ihttp_resp_free(&r);
}

static void test_media(void)
{
    char dlog[256], alog[256], snap[64], bm[64], url[64];
    snprintf(dlog, sizeof dlog, "/tmp/test_api_evidence_vas_%d.log", (int)getpid());
    snprintf(alog, sizeof alog, "/tmp/test_api_evidence_api2_%d.log", (int)getpid());
    vas_double d = {.pid = -1};
    bool up = double_start(&d, dlog);
    CHECK_MSG(up, "ruth-vas-double did not start or gave no token; log: %s", dlog);
    if (!up || !double_media(&d, snap, bm, sizeof snap)) {
        CHECK_MSG(false, "the double's snapshot/bookmark never became ready");
        if (d.pid > 0)
            kill(d.pid, SIGKILL);
        return;
    }
    char q[512];
    snprintf(q, sizeof q,
             "INSERT INTO evidence (violation_id, kind, camera_id, stream_id, status, vas_id)"
             " VALUES ('" V4 "', 'snapshot', 'cam-a', 'str-1', 'ready', '%s'),"
             " ('" V4 "', 'bookmark', 'cam-a', 'str-1', 'ready', '%s')",
             snap, bm);
    CHECK(sql(q));
    /* A second ruth-api, this one with VAS. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d", d.port);
    setenv("VAS_BASE_URL", url, 1);
    setenv("VAS_CLIENT_ID", "ruth", 1);
    setenv("VAS_CLIENT_SECRET", "ruth-secret", 1);
    unlink(alog);
    pid_t pid = itest_spawn("ruth-api", NULL, alog);
    int p2 = -1;
    for (double t = itest_now();
         (p2 = itest_log_int(alog, "\"api_port\":")) < 0 && itest_now() - t < 30;)
        usleep(100 * 1000);
    CHECK_MSG(p2 > 0, "ruth-api with VAS did not start; log: %s", alog);
    if (p2 > 0) {
        media_checks(p2, &d, snap, bm);
        vas_failure_checks(p2, &d);
    }
    kill(pid, SIGTERM);
    CHECK_EQ_INT(itest_wait_exit(pid, 20), 0);
    if (d.pid > 0) {
        kill(d.pid, SIGTERM);
        itest_wait_exit(d.pid, 10);
    }
    if (testlib_failures)
        fprintf(stderr, "logs: %s %s\n", alog, dlog);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("api_evidence", 3);
    seed();
    itest_api_env(SECRET);
    setenv("RUTH_API_DB_POOL", "4", 1);
    unsetenv("VAS_BASE_URL");
    itest_token(tok_viewer, sizeof tok_viewer, SECRET, "vera", ROLE_VIEWER);
    itest_token(tok_operator, sizeof tok_operator, SECRET, "olga", ROLE_OPERATOR);

    char log[256];
    snprintf(log, sizeof log, "/tmp/test_api_evidence_%d.log", (int)getpid());
    unlink(log);
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    double start = itest_now();
    while ((port = itest_log_int(log, "\"api_port\":")) < 0 && itest_now() - start < 30)
        usleep(100 * 1000);
    if (port < 0) {
        fprintf(stderr, "ruth-api did not start; log: %s\n", log);
        return 1;
    }
    TEST_RUN(test_states);
    TEST_RUN(test_rerequest);
    TEST_RUN(test_media);
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
