/* test_api_hostile.c - ruth-api against hostile clients (issue 14): what
 * must be refused (overflowing numbers, forged cursors, smuggling framing,
 * encoded path separators, repeated parameters), what must not be shared
 * (microcache keys) and what must not be forged (access-log lines). Raw
 * sockets where curl would tidy the request up; every log line is checked
 * to be one JSON object at the end.
 *
 * Rows are written directly with SQL, so the API is tested on its own. */
#include "ihttp.h"
#include "itest.h"

#include "api.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define V1 "11111111-1111-4111-8111-000000000001"
#define V2 "11111111-1111-4111-8111-000000000002"

static int port;
static char api_log[256];
static char tok_viewer[1024], tok_operator[1024];

typedef ihttp_resp resp;

/* One request; `hdr` an extra header line or NULL. */
static void req(const char *method, const char *path, const char *token, const char *body,
                const char *hdr, resp *out)
{
    ihttp_request(port, method, path, token, body, hdr, out);
}

static const char *jstr(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

#define CHECK_ERROR(r, want_status, want_code)                                                     \
    do {                                                                                           \
        CHECK_EQ_INT((r).status, want_status);                                                     \
        const char *code_ = jstr((r).json, "error");                                               \
        CHECK_MSG(code_ && !strcmp(code_, want_code), "code %s, want %s",                          \
                  code_ ? code_ : "(none)", want_code);                                            \
    } while (0)

/* Send `raw` as it is on a fresh connection and read until the server
 * closes it or `wait_s` passes; what came back, NUL-terminated, in `out`.
 * Returns true when the server closed the connection. */
static bool raw(const char *raw_req, double wait_s, buf *out)
{
    buf_reset(out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {0, 200 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    bool closed = false;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        send(fd, raw_req, strlen(raw_req), MSG_NOSIGNAL) == (ssize_t)strlen(raw_req)) {
        double t = itest_now();
        while (itest_now() - t < wait_s) {
            char b[4096];
            ssize_t n = recv(fd, b, sizeof b, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                closed = true;
                break;
            }
            if (n > 0)
                buf_append(out, b, (size_t)n);
        }
    }
    close(fd);
    buf_append_byte(out, 0);
    out->len--;
    return closed;
}

/* Number of HTTP responses in `s` (status lines). */
static int responses(const buf *s)
{
    int n = 0;
    for (const char *p = (const char *)s->data; p && (p = strstr(p, "HTTP/1.1 ")); p++)
        n++;
    return n;
}

static void seed(void)
{
    if (!itest_exec(itest_db_url,
                    "INSERT INTO cameras (id, name, location) VALUES ('cam-a', 'Dock A', 'north');"
                    "INSERT INTO violations (id, type, camera_id, confidence, max_confidence,"
                    " first_event_at, last_event_at, created_at, severity, status) VALUES"
                    " ('" V1 "', 'fall_detected', 'cam-a', 0.91, 0.95, now(), now(), now(), 'high',"
                    "  'open'),"
                    " ('" V2 "', 'ppe_violation', 'cam-a', 0.81, 0.85, now(), now(), now(), 'high',"
                    "  'reviewed')"))
        fprintf(stderr, "seed failed\n");
}

/* #10: a decoded '&' in a value, and "k" against "k=", are other keys. */
static void test_cache_keys(void)
{
    resp a = {0}, b = {0};
    req("GET", "/api/v1/violations?camera_id=cam-a&status=open", tok_viewer, NULL, NULL, &a);
    CHECK_EQ_INT(a.status, 200);
    CHECK_EQ_INT(json_array_size(json_object_get(a.json, "violations")), 1);
    req("GET", "/api/v1/violations?camera_id=cam-a%26status%3Dopen", tok_viewer, NULL, NULL, &b);
    CHECK_EQ_INT(b.status, 200);
    CHECK_EQ_INT(json_array_size(json_object_get(b.json, "violations")), 0);
    /* And the other order: the encoded one first. */
    req("GET", "/api/v1/violations?camera_id=cam-a%26status%3Dreviewed", tok_viewer, NULL, NULL,
        &a);
    CHECK_EQ_INT(json_array_size(json_object_get(a.json, "violations")), 0);
    req("GET", "/api/v1/violations?camera_id=cam-a&status=reviewed", tok_viewer, NULL, NULL, &b);
    CHECK_EQ_INT(json_array_size(json_object_get(b.json, "violations")), 1);
    ihttp_resp_free(&a);
    ihttp_resp_free(&b);
}

/* #16: numbers past int64 in If-Match and Last-Event-ID are refused. */
static void test_overflowing_numbers(void)
{
    resp r = {0};
    req("PATCH", "/api/v1/violations/" V1, tok_operator, "{\"status\":\"reviewed\"}",
        "If-Match: \"99999999999999999999\"", &r);
    CHECK_ERROR(r, 400, "INVALID_PARAMETER");
    req("PATCH", "/api/v1/violations/" V1, tok_operator, "{\"status\":\"reviewed\"}",
        "If-Match: 9223372036854775808", &r);
    CHECK_ERROR(r, 400, "INVALID_PARAMETER");
    CHECK_EQ_INT(itest_query("SELECT version FROM violations WHERE id = '" V1 "'"), 1);
    /* The stream answers 503 until it has reached Kafka. */
    for (int i = 0; i < 100; i++) {
        req("GET", "/api/v1/violations/stream", tok_viewer, NULL,
            "Last-Event-ID: 99999999999999999999_0_0", &r);
        if (r.status != 503)
            break;
        usleep(200 * 1000);
    }
    CHECK_ERROR(r, 400, "INVALID_PARAMETER");
    req("GET", "/api/v1/violations/stream", tok_viewer, NULL,
        "Last-Event-ID: 0_-0_9223372036854775808", &r);
    CHECK_ERROR(r, 400, "INVALID_PARAMETER");
    ihttp_resp_free(&r);
}

/* #14: forged cursors whose values PostgreSQL cannot take are 400. */
static void test_forged_cursors(void)
{
    const char *forged[] = {
        "/api/v1/violations?cursor=",
        "v:created_at:desc|9223372036854775807|" V1,
        "/api/v1/violations?sort_by=confidence&cursor=",
        "v:confidence:desc|1e-400|" V1,
        "/api/v1/violations?sort_by=confidence&cursor=",
        "v:confidence:desc|1e-310|" V1,
        "/api/v1/events?cursor=",
        "e:desc|9223372036854775807|" V1,
    };
    resp r = {0};
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i += 2) {
        buf path = {0};
        buf_append_str(&path, forged[i]);
        b64url_encode(&path, (const unsigned char *)forged[i + 1], strlen(forged[i + 1]));
        buf_append_byte(&path, 0);
        req("GET", (const char *)path.data, tok_viewer, NULL, NULL, &r);
        CHECK_MSG(r.status == 400, "%s: %ld", forged[i + 1], r.status);
        CHECK_ERROR(r, 400, "VALIDATION_ERROR");
        buf_free(&path);
    }
    ihttp_resp_free(&r);
}

/* #17: %00 and encoded '/' in the path, and repeated parameters: 400. */
static void test_paths_and_repeats(void)
{
    resp r = {0};
    const char *bad[] = {
        "/api/v1/violations%00/../rules",        "/api/v1/violations%2fstream",
        "/api/v1/violations%2Fstream",           "/api/v1/devices/cam%2Fa",
        "/api/v1/violations?limit=1&limit=1000", "/api/v1/violations?limit=1000&limit=1",
        "/api/v1/violations?status&status="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        req("GET", bad[i], tok_viewer, NULL, NULL, &r);
        CHECK_MSG(r.status == 400, "%s: %ld", bad[i], r.status);
        CHECK_ERROR(r, 400, "VALIDATION_ERROR");
    }
    /* Encoded values elsewhere are just values. */
    req("GET", "/api/v1/violations?camera_id=a%2Fb%00c", tok_viewer, NULL, NULL, &r);
    CHECK(r.status == 200 || r.status == 400);
    req("GET", "/api/v1/violations?camera_id=a%2Fb&limit=2", tok_viewer, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    ihttp_resp_free(&r);
}

/* #15: HEAD where GET is served; OPTIONS only on known paths. */
static void test_head_options(void)
{
    resp r = {0};
    req("HEAD", "/api/v1/violations", tok_viewer, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_INT(r.body.len, 0);
    req("HEAD", "/ready", NULL, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 200);
    req("HEAD", "/api/v1/violations/" V1, NULL, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 401); /* still authenticated */
    req("HEAD", "/api/v1/violations/stream", tok_viewer, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 405);
    req("OPTIONS", "/api/v1/violations", NULL, NULL, NULL, &r);
    CHECK_EQ_INT(r.status, 204);
    req("OPTIONS", "/api/v1/nothing-here", NULL, NULL, NULL, &r);
    CHECK_ERROR(r, 404, "RESOURCE_NOT_FOUND");
    ihttp_resp_free(&r);
}

/* #15: OPTIONS counts against the rate limit like anything else. */
static void test_options_rate_limited(void)
{
    setenv("RUTH_API_RATE_LIMIT_RPS", "2", 1);
    char log[256];
    snprintf(log, sizeof log, "/tmp/test_api_hostile_rl_%d.log", (int)getpid());
    unlink(log);
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    setenv("RUTH_API_RATE_LIMIT_RPS", "0", 1);
    int p2 = -1, p1 = port;
    double t = itest_now();
    while ((p2 = itest_log_int(log, "\"api_port\":")) < 0 && itest_now() - t < 20)
        usleep(100 * 1000);
    CHECK(p2 > 0);
    port = p2;
    resp r = {0};
    int limited = 0;
    for (int i = 0; i < 20; i++) {
        req("OPTIONS", "/api/v1/violations", NULL, NULL, NULL, &r);
        limited += r.status == 429;
    }
    port = p1;
    CHECK_MSG(limited > 0, "%d of 20 preflights limited", limited);
    ihttp_resp_free(&r);
    kill(pid, SIGTERM);
    CHECK_EQ_INT(itest_wait_exit(pid, 15), 0);
}

/* #12: ambiguous framing is 400 and the connection closed, with nothing
 * pipelined behind it served; an unknown transfer coding is 501 at once. */
static void test_smuggling(void)
{
    const char *ambiguous[] = {
        "POST /api/v1/rules HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /api/v1/rules HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /api/v1/rules HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"
        "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    buf out = {0};
    for (size_t i = 0; i < sizeof ambiguous / sizeof ambiguous[0]; i++) {
        bool closed = raw(ambiguous[i], 5.0, &out);
        const char *s = (const char *)out.data;
        CHECK_MSG(!strncmp(s, "HTTP/1.1 400", 12), "case %zu: %.60s", i, s);
        CHECK_MSG(closed && responses(&out) == 1, "case %zu: closed %d, %d responses", i, closed,
                  responses(&out));
        CHECK(strstr(s, "VALIDATION_ERROR") != NULL);
    }
    double t = itest_now();
    bool closed =
        raw("POST /api/v1/rules HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 5.0, &out);
    CHECK_MSG(!strncmp((const char *)out.data, "HTTP/1.1 501", 12), "%.60s",
              (const char *)out.data);
    CHECK(closed && itest_now() - t < 3);
    CHECK(strstr((const char *)out.data, "NOT_IMPLEMENTED") != NULL);
    /* Identical duplicates and plain chunked still work. */
    raw("POST /api/v1/rules HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
        5.0, &out);
    CHECK_MSG(!strncmp((const char *)out.data, "HTTP/1.1 401", 12), "%.60s",
              (const char *)out.data);
    raw("POST /api/v1/rules HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        5.0, &out);
    CHECK_MSG(!strncmp((const char *)out.data, "HTTP/1.1 401", 12), "%.60s",
              (const char *)out.data);
    buf_free(&out);
}

/* #9: a method and path with quotes and newlines cannot forge a line. */
static void test_log_injection(void)
{
    buf out = {0};
    raw("GE\"T /health\"x HTTP/1.1\r\nHost: x\r\n\r\n", 1.0, &out);
    raw("GET /api/v1/x%0a%22%7d%0a%7b%22level%22:%22error%22 HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n",
        1.0, &out);
    CHECK(strstr((const char *)out.data, "404") != NULL);
    buf_free(&out);
}

/* Every line ruth-api wrote is one JSON object with a known level. */
static void check_log_is_json(void)
{
    FILE *f = fopen(api_log, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[16384];
    int n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        json_t *j = json_loads(line, 0, NULL);
        const char *lvl = jstr(j, "level");
        if (!json_is_object(j) || !lvl || !strcmp(lvl, "error")) {
            fprintf(stderr, "bad log line: %s", line);
            bad++;
        }
        json_decref(j);
    }
    fclose(f);
    CHECK(n > 0);
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    itest_setup("api_hostile", 3);
    seed();
    itest_api_env(SECRET);
    setenv("RUTH_API_DB_POOL", "2", 1);
    setenv("RUTH_API_CACHE_MS", "10000", 1); /* every repeat would be a cache hit */
    itest_token(tok_viewer, sizeof tok_viewer, SECRET, "vera", ROLE_VIEWER);
    itest_token(tok_operator, sizeof tok_operator, SECRET, "olga", ROLE_OPERATOR);
    snprintf(api_log, sizeof api_log, "/tmp/test_api_hostile_%d.log", (int)getpid());
    unlink(api_log);
    pid_t pid = itest_spawn("ruth-api", NULL, api_log);
    double start = itest_now();
    while ((port = itest_log_int(api_log, "\"api_port\":")) < 0 && itest_now() - start < 30)
        usleep(100 * 1000);
    if (port < 0) {
        fprintf(stderr, "ruth-api did not start; log: %s\n", api_log);
        return 1;
    }
    TEST_RUN(test_cache_keys);
    TEST_RUN(test_overflowing_numbers);
    TEST_RUN(test_forged_cursors);
    TEST_RUN(test_log_injection);
    TEST_RUN(test_paths_and_repeats);
    TEST_RUN(test_head_options);
    TEST_RUN(test_smuggling);
    TEST_RUN(test_options_rate_limited);

    if (kill(pid, 0) != 0) { /* nothing above may take it down */
        fprintf(stderr, "ruth-api died\n");
        testlib_failures++;
    }
    kill(pid, SIGTERM);
    int st = itest_wait_exit(pid, 20);
    if (st != 0) {
        fprintf(stderr, "ruth-api exited with %d on SIGTERM; log: %s\n", st, api_log);
        testlib_failures++;
    }
    TEST_RUN(check_log_is_json);
    if (testlib_failures)
        fprintf(stderr, "ruth-api log: %s\n", api_log);
    itest_teardown();
    curl_global_cleanup();
    return TEST_EXIT();
}
