/* test_api_abuse.c - ruth-api against 1,000 live streams (issue 14, "keep
 * it found"), with its default caps:
 *  - one address asks for 1,000 streams under 1,000 subjects: it gets its
 *    per-address share (RUTH_API_MAX_STREAMS_PER_IP) and 429s, nothing more;
 *  - 40 addresses ask for 1,000 between them (once the first ones' closed
 *    streams have been reaped): at most RUTH_API_MAX_STREAMS are open at once, the rest get 503 or
 * 429 with the contract's body, and while every granted stream is held a client on 127.0.0.1 keeps
 *    getting /ready and an authenticated list in under 2 s;
 *  - the server is still up afterwards and every line it logged is one
 *    JSON object. */
#include "rawhttp.h"

#include <jansson.h>
#include <sys/resource.h>

#define SECRET "test-secret-key-of-at-least-32-bytes"
#define ATTEMPTS 1000
#define ADDRS 40          /* 127.0.0.2 .. 127.0.0.41 */
#define MAX_STREAMS 512   /* RUTH_API_MAX_STREAMS default */
#define STREAMS_PER_IP 32 /* RUTH_API_MAX_STREAMS_PER_IP default */

static int port;
static int warm_fd = -1; /* one stream held from 127.0.0.200 throughout */
static char log_path[256];
static int held[ATTEMPTS];
static int nheld;

typedef struct tally {
    int ok, limited, unavailable, other;
} tally;

static void count(tally *t, int status, const char *out)
{
    if (status == 200)
        t->ok++;
    else if (status == 429 && strstr(out, "\"RATE_LIMITED\""))
        t->limited++;
    else if (status == 503 && strstr(out, "Retry-After"))
        t->unavailable++;
    else
        t->other++;
}

static void close_held(void)
{
    for (int i = 0; i < nheld; i++)
        close(held[i]);
    nheld = 0;
}

/* /ready and an authenticated list from 127.0.0.1: both 200 within 2 s. */
static bool others_served(void)
{
    char out[8192];
    double t0 = itest_now();
    int ready = rawhttp_ask(port, 1, "GET /ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                            "\r\n\r\n", out, sizeof out, NULL);
    int64_t now = time(NULL);
    char *tok = auth_mint(SECRET, "bystander", ROLE_VIEWER, now, now + 600);
    char req[1024];
    snprintf(req, sizeof req,
             "GET /api/v1/violations?limit=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
             "%s\r\nConnection: close\r\n\r\n",
             tok);
    free(tok);
    int list = rawhttp_ask(port, 1, req, "\r\n\r\n", out, sizeof out, NULL);
    double took = itest_now() - t0;
    if (ready != 200 || list != 200 || took > 2)
        fprintf(stderr, "   bystander: /ready %d, list %d, %.2f s\n", ready, list, took);
    return ready == 200 && list == 200 && took <= 2;
}

static void test_one_address_gets_its_share(void)
{
    char out[4096], sub[32];
    int fd, st = 0;
    /* Streams start once Kafka is followed. */
    for (double t = itest_now(); itest_now() - t < 30; usleep(300 * 1000))
        if ((st = rawhttp_stream_open(port, SECRET, "warmup", 200, &warm_fd, out, sizeof out)) !=
            503)
            break;
    CHECK_EQ_INT(st, 200);
    tally t = {0};
    for (int i = 0; i < ATTEMPTS; i++) {
        snprintf(sub, sizeof sub, "one-%d", i);
        int status = rawhttp_stream_open(port, SECRET, sub, 2, &fd, out, sizeof out);
        count(&t, status, out);
        if (fd >= 0)
            held[nheld++] = fd;
    }
    bool served = others_served();
    close_held();
    fprintf(stderr, "   one address: %d open, %d x 429, %d x 503, %d other\n", t.ok, t.limited,
            t.unavailable, t.other);
    CHECK_MSG(t.ok == STREAMS_PER_IP, "%d streams open from one address", t.ok);
    CHECK_EQ_INT(t.limited, ATTEMPTS - STREAMS_PER_IP);
    CHECK(served);
}

static void test_many_addresses_capped_in_all(void)
{
    /* A closed stream's slot is freed when a write to it fails: the
     * keep-alive comment every 15 s (api_stream.c), and the first write
     * after the client's close still succeeds, so within two of them. */
    sleep(31);
    char out[4096], sub[32];
    int fd;
    tally t = {0};
    for (int i = 0; i < ATTEMPTS; i++) {
        snprintf(sub, sizeof sub, "many-%d", i);
        int status = rawhttp_stream_open(port, SECRET, sub, 2 + i % ADDRS, &fd, out, sizeof out);
        count(&t, status, out);
        if (fd >= 0)
            held[nheld++] = fd;
    }
    bool served = others_served();
    fprintf(stderr, "   %d addresses: %d open, %d x 429, %d x 503, %d other\n", ADDRS, t.ok,
            t.limited, t.unavailable, t.other);
    close_held();
    CHECK_MSG(t.ok == MAX_STREAMS - 1, "%d streams open beside the warm-up one", t.ok);
    CHECK_EQ_INT(t.ok + t.limited + t.unavailable, ATTEMPTS);
    CHECK(served);
}

/* Every line of the log parses as one JSON object. */
static void test_log_is_json(void)
{
    FILE *f = fopen(log_path, "r");
    CHECK(f != NULL);
    char line[16384];
    int lines = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        json_error_t e;
        json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, &e);
        if (!json_is_object(j) && bad++ < 3)
            fprintf(stderr, "   not JSON: %.200s", line);
        json_decref(j);
    }
    fclose(f);
    CHECK(lines > 0);
    CHECK_EQ_INT(bad, 0);
}

int main(void)
{
    /* 1,000 sockets here and in the server (it inherits the limit). */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
    setrlimit(RLIMIT_NOFILE, &rl);
    itest_setup("abuse", 1);
    itest_api_env(SECRET);
    setenv("RUTH_API_DB_POOL", "2", 1);
    char *log = log_path;
    snprintf(log_path, sizeof log_path, "/tmp/test_api_abuse_%d.log", (int)getpid());
    unlink(log);
    pid_t pid = itest_spawn("ruth-api", NULL, log);
    if ((port = itest_api_port(log)) < 0)
        return 1;
    TEST_RUN(test_one_address_gets_its_share);
    TEST_RUN(test_many_addresses_capped_in_all);
    if (warm_fd >= 0)
        close(warm_fd);
    if (kill(pid, 0) != 0) {
        fprintf(stderr, "ruth-api is gone; log: %s\n", log);
        testlib_failures++;
    }
    kill(pid, SIGTERM);
    int st = itest_wait_exit(pid, 20);
    if (st != 0) {
        fprintf(stderr, "ruth-api exited with %d on SIGTERM; log: %s\n", st, log);
        testlib_failures++;
    }
    TEST_RUN(test_log_is_json);
    itest_teardown();
    return TEST_EXIT();
}
