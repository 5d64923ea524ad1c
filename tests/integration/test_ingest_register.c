/* ruth-ingest's POST /v1/runtimes/register against real PostgreSQL and
 * Kafka:
 *  - a runtime token registers a runtime (201, the row in `runtimes` that
 *    ruth-api's GET /models/status reads), the ingest key re-registers it
 *    (200, last_seen moves);
 *  - bad declarations: every bad field named, MISSING_REQUIRED_FIELD when
 *    only required fields are missing, nothing stored; too large 413;
 *    no credential 401, another role 403, GET 405;
 *  - PostgreSQL stopped: registration 503 with Retry-After, /ready still
 *    200 with the database "down" as a note, results still 202; after the
 *    restart registration works again;
 *  - without DATABASE_URL ruth-ingest starts, takes results, and answers
 *    registration 503;
 *  - ruth-simulate --http posts its results through ruth-ingest: every one
 *    acknowledged is on the topic, keyed by its camera;
 *  - no thread waits for Kafka: with one HTTP thread and acknowledgements
 *    slowed to 1.5 s (KAFKA_LINGER_MS), two posts are answered 202 together
 *    and /ready answers at once meanwhile. */
#include "contract.h"
#include "itest.h"

#include "api_auth.h"

#include <curl/curl.h>
#include <pthread.h>

#define SECRET "ingest-reg-secret-0123456789abcdef"
#define KEY "ingest-reg-key-0123456789abcdef-012345"

#define FLAT                                                                                       \
    "{\"runtime_id\":\"edge-rt-1\",\"supports_gpu\":false,\"hardware_type\":\"jetson\","           \
    "\"supported_models\":[\"fall-detector\"],\"max_fps\":30,\"max_concurrent_streams\":4,"        \
    "\"inference_batch_size\":2,\"memory_available_mb\":4096,\"version\":\"2.1.0\"}"

static char tok_runtime[1024], tok_viewer[1024];
static int port; /* of the ruth-ingest with a database */

static int start_ingest(const char *log, pid_t *pid)
{
    unlink(log);
    *pid = itest_spawn("ruth-ingest", NULL, log);
    int port = -1;
    for (int i = 0; i < 200 && port <= 0; i++) {
        usleep(100 * 1000);
        port = itest_log_int(log, "\"ingest_port\":");
    }
    contract_resp r = {0};
    for (int i = 0; port > 0 && i < 150; i++) {
        contract_http(port, "GET", "/ready", NULL, NULL, &r);
        if (r.status == 200)
            break;
        usleep(200 * 1000);
    }
    if (r.status != 200) {
        fprintf(stderr, "ruth-ingest did not become ready (log %s)\n", log);
        port = -1;
    }
    contract_resp_free(&r);
    return port;
}

static void check_error(const contract_resp *r, long status, const char *code)
{
    CHECK_MSG(r->status == status, "status %ld, want %ld: %.*s", r->status, status,
              (int)r->body.len, (const char *)r->body.data);
    const char *e = json_string_value(json_object_get(r->json, "error"));
    CHECK_MSG(e && !strcmp(e, code), "error %s, want %s", e ? e : "(none)", code);
    CHECK(json_integer_value(json_object_get(r->json, "status_code")) == status);
}

static const char *detail(const contract_resp *r, const char *field)
{
    return json_string_value(json_object_get(json_object_get(r->json, "details"), field));
}

/* One valid result, answered 202? */
static long post_result(int at)
{
    char ts[40], body[512];
    clock_format_iso8601_ms(clock_wall_us(), ts, sizeof ts);
    snprintf(body, sizeof body,
             "{\"camera_id\":\"cam-r\",\"model_id\":\"fall-detector\",\"timestamp\":\"%s\","
             "\"event_type\":\"fall_detected\",\"confidence\":0.9}",
             ts);
    contract_resp r = {0};
    contract_http(at, "POST", "/v1/inference", tok_runtime, body, &r);
    long st = r.status;
    contract_resp_free(&r);
    return st;
}

static void registers(void)
{
    contract_resp r = {0};
    contract_http(port, "POST", "/v1/runtimes/register", tok_runtime, FLAT, &r);
    CHECK_MSG(r.status == 201, "status %ld: %.*s", r.status, (int)r.body.len,
              (const char *)r.body.data);
    CHECK_EQ_STR(json_string_value(json_object_get(r.json, "runtime_id")), "edge-rt-1");
    CHECK_EQ_STR(json_string_value(json_object_get(r.json, "hardware_type")), "jetson");
    CHECK(contract_is_time(json_string_value(json_object_get(r.json, "registered_at"))));
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM runtimes WHERE runtime_id = 'edge-rt-1'"
                             " AND supported_models = '{fall-detector}' AND max_fps = 30"
                             " AND hardware_type = 'jetson' AND version = '2.1.0'"),
                 1);
    itest_exec(itest_db_url, "UPDATE runtimes SET last_seen = now() - interval '1 hour'");
    contract_http(port, "POST", "/v1/runtimes/register", KEY, FLAT, &r); /* the shared key */
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM runtimes WHERE runtime_id = 'edge-rt-1'"
                             " AND last_seen > now() - interval '1 minute'"),
                 1);
    contract_resp_free(&r);
}

static void refuses(void)
{
    contract_resp r = {0};
    contract_http(port, "POST", "/v1/runtimes/register", tok_runtime,
                  "{\"runtime_id\":\"bad-rt\",\"supports_gpu\":\"yes\",\"hardware_type\":\"fpga\","
                  "\"supported_models\":[1],\"max_fps\":\"fast\",\"max_concurrent_streams\":-1,"
                  "\"inference_batch_size\":0,\"memory_available_mb\":1,\"version\":\"1\"}",
                  &r);
    check_error(&r, 400, "VALIDATION_ERROR");
    const char *bad[] = {"supports_gpu", "hardware_type",          "supported_models",
                         "max_fps",      "max_concurrent_streams", "inference_batch_size"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(detail(&r, bad[i]) != NULL, "details names %s", bad[i]);
    contract_http(port, "POST", "/v1/runtimes/register", tok_runtime, "{\"runtime_id\":\"bad-rt\"}",
                  &r);
    check_error(&r, 400, "MISSING_REQUIRED_FIELD");
    CHECK(detail(&r, "hardware_type") != NULL && detail(&r, "max_fps") != NULL);
    contract_http(port, "POST", "/v1/runtimes/register", tok_runtime, "[1,2]", &r);
    check_error(&r, 400, "VALIDATION_ERROR");
    CHECK(detail(&r, "body") != NULL);
    contract_http(port, "POST", "/v1/runtimes/register", tok_runtime,
                  "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", &r);
    check_error(&r, 400, "VALIDATION_ERROR");
    buf big = {0};
    buf_append_str(&big, "{\"runtime_id\":\"");
    for (int i = 0; i < 70000; i++)
        buf_append(&big, "x", 1);
    buf_append_str(&big, "\"}");
    buf_cstr(&big);
    contract_http(port, "POST", "/v1/runtimes/register", tok_runtime, (const char *)big.data, &r);
    check_error(&r, 413, "PAYLOAD_TOO_LARGE");
    buf_free(&big);
    CHECK_EQ_INT(itest_query("SELECT count(*) FROM runtimes WHERE runtime_id = 'bad-rt'"), 0);
    contract_http(port, "POST", "/v1/runtimes/register", NULL, FLAT, &r);
    check_error(&r, 401, "INVALID_TOKEN");
    contract_http(port, "POST", "/v1/runtimes/register", tok_viewer, FLAT, &r);
    check_error(&r, 403, "INSUFFICIENT_PERMISSIONS");
    contract_http(port, "GET", "/v1/runtimes/register", tok_runtime, NULL, &r);
    check_error(&r, 405, "METHOD_NOT_ALLOWED");
    contract_resp_free(&r);
}

static int dev_stack(const char *cmd)
{
    char sh[1024];
    snprintf(sh, sizeof sh, "\"%s\" %s >/dev/null", testlib_env("RUTH_DEV_STACK"), cmd);
    return system(sh);
}

static const char *db_note(const contract_resp *r)
{
    return json_string_value(json_object_get(json_object_get(r->json, "database"), "status"));
}

static void database_outage(void)
{
    contract_resp r = {0};
    contract_http(port, "GET", "/ready", NULL, NULL, &r);
    CHECK_EQ_STR(db_note(&r), "up");
    CHECK_EQ_INT(dev_stack("pg-stop"), 0);
    double t = itest_now();
    do {
        usleep(300 * 1000);
        contract_http(port, "GET", "/ready", NULL, NULL, &r);
    } while ((!db_note(&r) || strcmp(db_note(&r), "down")) && itest_now() - t < 20);
    CHECK_EQ_INT(r.status, 200); /* inference does not need the database */
    CHECK_EQ_STR(db_note(&r), "down");
    contract_http(port, "POST", "/v1/runtimes/register", tok_runtime, FLAT, &r);
    check_error(&r, 503, "SERVICE_UNAVAILABLE");
    CHECK_MSG(r.retry_after[0] != '\0', "503 without Retry-After");
    CHECK_EQ_INT(post_result(port), 202);
    CHECK_EQ_INT(dev_stack("pg-start"), 0);
    t = itest_now();
    do {
        usleep(300 * 1000);
        contract_http(port, "POST", "/v1/runtimes/register", tok_runtime, FLAT, &r);
    } while (r.status != 200 && itest_now() - t < 30);
    CHECK_MSG(r.status == 200, "after the restart: %ld %.*s", r.status, (int)r.body.len,
              (const char *)r.body.data);
    contract_resp_free(&r);
}

static void without_database(void)
{
    char url[512], log[256];
    snprintf(url, sizeof url, "%s", getenv("DATABASE_URL"));
    unsetenv("DATABASE_URL");
    snprintf(log, sizeof log, "/tmp/%s-ingest-nodb.log", itest_db_name);
    pid_t pid;
    int nodb = start_ingest(log, &pid);
    setenv("DATABASE_URL", url, 1);
    CHECK(nodb > 0);
    if (nodb <= 0) {
        kill(pid, SIGKILL);
        return;
    }
    contract_resp r = {0};
    contract_http(nodb, "GET", "/ready", NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_STR(db_note(&r), "not configured");
    CHECK_EQ_INT(post_result(nodb), 202);
    contract_http(nodb, "POST", "/v1/runtimes/register", tok_runtime, FLAT, &r);
    check_error(&r, 503, "SERVICE_UNAVAILABLE");
    CHECK(strstr(json_string_value(json_object_get(r.json, "error_description")), "DATABASE_URL"));
    contract_resp_free(&r);
    kill(pid, SIGTERM);
    CHECK_EQ_INT(itest_wait_exit(pid, 30), 0);
}

static void count_sim(const rd_kafka_message_t *m, void *arg)
{
    long *n = arg;
    char want[64];
    int k = snprintf(want, sizeof want, "\"camera_id\":\"%.*s\"", (int)m->key_len,
                     (const char *)m->key);
    buf b = {0};
    buf_append(&b, m->payload, m->len);
    buf_cstr(&b);
    if (m->key_len > 9 && !memcmp(m->key, "sim-http-", 9) && k > 0 && m->len > 0 &&
        ((const char *)b.data)[0] == '{' && strstr((const char *)b.data, want))
        (*n)++;
    buf_free(&b);
}

static void simulate_through_ingest(void)
{
    char url[128], log[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/inference", port);
    snprintf(log, sizeof log, "/tmp/%s-simulate-http.log", itest_db_name);
    const char *args[] = {"--http",  url, "--http-batch", "40", "--count",         "250",
                          "--fps",   "0", "--cameras",    "5",  "--camera-prefix", "sim-http-",
                          "--quiet", NULL};
    unsetenv("RUTH_INGEST_KEY"); /* a minted runtime token, not the key */
    pid_t sim = itest_spawn("ruth-simulate", args, log);
    int st = itest_wait_exit(sim, 60);
    setenv("RUTH_INGEST_KEY", KEY, 1);
    CHECK_MSG(st == 0, "ruth-simulate --http exited %d (log %s)", st, log);
    CHECK_EQ_INT(itest_log_count(log, "\"acked\":250,"), 1);
    long n = 0;
    itest_consume(getenv("RUTH_TOPIC_INFERENCE"), 3, count_sim, &n);
    CHECK_EQ_INT(n, 250);
    /* --http refuses what ruth-ingest would refuse whole */
    const char *bad[] = {"--http", url, "--malformed-fraction", "0.1", NULL};
    CHECK_EQ_INT(itest_wait_exit(itest_spawn("ruth-simulate", bad, NULL), 30), 2);
}

typedef struct timed_post {
    int port;
    long status;
    double took;
} timed_post;

static void *timed_post_run(void *arg)
{
    timed_post *t = arg;
    double t0 = itest_now();
    t->status = post_result(t->port);
    t->took = itest_now() - t0;
    return NULL;
}

static void no_thread_waits_for_kafka(void)
{
    char log[256];
    snprintf(log, sizeof log, "/tmp/%s-ingest-slow.log", itest_db_name);
    setenv("RUTH_INGEST_THREADS", "1", 1);
    setenv("KAFKA_LINGER_MS", "1500", 1); /* every acknowledgement >= 1.5 s away */
    pid_t pid;
    int slow = start_ingest(log, &pid);
    unsetenv("RUTH_INGEST_THREADS");
    unsetenv("KAFKA_LINGER_MS");
    CHECK(slow > 0);
    if (slow <= 0) {
        kill(pid, SIGKILL);
        return;
    }
    timed_post a = {slow, 0, 0}, b = {slow, 0, 0};
    pthread_t ta, tb;
    double t0 = itest_now();
    pthread_create(&ta, NULL, timed_post_run, &a);
    pthread_create(&tb, NULL, timed_post_run, &b);
    usleep(300 * 1000); /* both produced, both waiting */
    double r0 = itest_now();
    contract_resp r = {0};
    contract_http(slow, "GET", "/ready", NULL, NULL, &r);
    double ready_took = itest_now() - r0;
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    double all = itest_now() - t0;
    fprintf(stderr,
            "one thread, linger 1.5 s: posts %.2f s and %.2f s (%.2f s for both), /ready in "
            "%.3f s meanwhile\n",
            a.took, b.took, all, ready_took);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(a.status, 202);
    CHECK_EQ_INT(b.status, 202);
    CHECK_MSG(a.took >= 1.4 && b.took >= 1.4, "answered before the broker could acknowledge");
    CHECK_MSG(ready_took < 0.5, "/ready waited %.2f s behind a request waiting for Kafka",
              ready_took);
    CHECK_MSG(all < 2.9, "the two posts took %.2f s: one waited for the other", all);
    contract_resp_free(&r);
    kill(pid, SIGTERM);
    CHECK_EQ_INT(itest_wait_exit(pid, 30), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    itest_setup("ingreg", 1);
    setenv("JWT_SECRET_KEY", SECRET, 1);
    setenv("RUTH_INGEST_KEY", KEY, 1);
    setenv("RUTH_INGEST_PORT", "0", 1);
    itest_token(tok_runtime, sizeof tok_runtime, SECRET, "edge-rt-1", ROLE_RUNTIME);
    itest_token(tok_viewer, sizeof tok_viewer, SECRET, "vera", ROLE_VIEWER);
    char log[256];
    snprintf(log, sizeof log, "/tmp/%s-ingest.log", itest_db_name);
    pid_t pid;
    port = start_ingest(log, &pid);
    if (port <= 0) {
        kill(pid, SIGKILL);
        itest_teardown();
        return 1;
    }
    TEST_RUN(registers);
    TEST_RUN(refuses);
    TEST_RUN(database_outage);
    TEST_RUN(simulate_through_ingest);
    kill(pid, SIGTERM);
    int st = itest_wait_exit(pid, 30);
    if (st != 0) {
        fprintf(stderr, "ruth-ingest exited %d after SIGTERM\n", st);
        testlib_failures++;
    }
    TEST_RUN(without_database);
    TEST_RUN(no_thread_waits_for_kafka);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT();
}
