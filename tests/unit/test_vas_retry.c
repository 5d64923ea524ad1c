/* test_vas_retry.c - vas_retry_delay_ms: every row of the guide's retry
 * matrix, the +-20 % jitter bounds, and the errors that are final; and
 * vas_new's refusal of an unusable configuration. */
#include "testlib.h"
#include "vas.h"

static vas_error mkerr(int status, const char *code)
{
    vas_error e;
    memset(&e, 0, sizeof e);
    e.http_status = status;
    snprintf(e.code, sizeof e.code, "%s", code);
    return e;
}

/* Every retry of `e` lands within +-20 % of base[i] (sampled many times, so
 * the jitter's spread is seen too), and the one after the last is -1. */
static int check_row(const vas_error *e, const int *base, int n)
{
    for (int a = 1; a <= n; a++) {
        int lo = base[a - 1], hi = base[a - 1];
        for (int k = 0; k < 2000; k++) {
            int d = vas_retry_delay_ms(e, a);
            if (d < base[a - 1] * 8 / 10 || d > base[a - 1] * 12 / 10) {
                fprintf(stderr, "status %d code %s attempt %d: %d ms outside %d +-20 %%\n",
                        e->http_status, e->code, a, d, base[a - 1]);
                return 0;
            }
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* Jitter really spreads: at least 10 % of the base between extremes. */
        if (hi - lo < base[a - 1] / 10) {
            fprintf(stderr, "attempt %d: no jitter (%d..%d)\n", a, lo, hi);
            return 0;
        }
    }
    if (vas_retry_delay_ms(e, n + 1) != -1 || vas_retry_delay_ms(e, n + 5) != -1) {
        fprintf(stderr, "status %d: a retry past the %d allowed\n", e->http_status, n);
        return 0;
    }
    return 1;
}

static void test_500(void)
{
    static const int b[] = {2000, 5000};
    vas_error e = mkerr(500, "INTERNAL_ERROR");
    CHECK(check_row(&e, b, 2));
}

static void test_502(void)
{
    static const int b[] = {5000, 10000, 30000};
    vas_error e = mkerr(502, "SSRC_CAPTURE_FAILED");
    CHECK(check_row(&e, b, 3));
}

static void test_503(void)
{
    static const int b[] = {10000, 30000, 60000};
    vas_error e = mkerr(503, "SERVICE_UNAVAILABLE");
    CHECK(check_row(&e, b, 3));
    vas_error bare = mkerr(503, "HTTP_503"); /* a proxy's 503 without a VAS body */
    CHECK(check_row(&bare, b, 3));
}

static void test_504(void)
{
    static const int b[] = {30000, 60000};
    vas_error e = mkerr(504, "RTSP_TIMEOUT");
    CHECK(check_row(&e, b, 2));
}

static void test_network(void)
{
    static const int b[] = {2000, 5000, 10000};
    vas_error e = mkerr(0, "NETWORK");
    CHECK(check_row(&e, b, 3));
}

static void test_extraction_timeout(void)
{
    static const int b[] = {2000, 5000};
    vas_error e = mkerr(500, "EXTRACTION_TIMEOUT");
    CHECK(check_row(&e, b, 2));
    /* As a failed bookmark's reason (no HTTP status of its own). */
    vas_error f = mkerr(0, "EXTRACTION_TIMEOUT");
    CHECK(check_row(&f, b, 2));
}

static void test_final(void)
{
    static const int statuses[] = {400, 401, 403, 404, 409, 422};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        vas_error e = mkerr(statuses[i], "WHATEVER");
        CHECK_MSG(vas_retry_delay_ms(&e, 1) == -1, "status %d retried", statuses[i]);
    }
    vas_error nrd = mkerr(404, "NO_RECORDING_DATA");
    CHECK_EQ_INT(vas_retry_delay_ms(&nrd, 1), -1);
    nrd = mkerr(503, "NO_RECORDING_DATA"); /* final whatever the status */
    CHECK_EQ_INT(vas_retry_delay_ms(&nrd, 1), -1);
    nrd = mkerr(0, "NO_RECORDING_DATA");
    CHECK_EQ_INT(vas_retry_delay_ms(&nrd, 1), -1);
    /* Our own words that are not network errors are final. */
    vas_error big = mkerr(200, "TOO_LARGE");
    CHECK_EQ_INT(vas_retry_delay_ms(&big, 1), -1);
    vas_error bad = mkerr(200, "BAD_RESPONSE");
    CHECK_EQ_INT(vas_retry_delay_ms(&bad, 1), -1);
    vas_error arg = mkerr(0, "BAD_REQUEST");
    CHECK_EQ_INT(vas_retry_delay_ms(&arg, 1), -1);
    /* Attempts count from 1; nonsense in, -1 out. */
    vas_error e = mkerr(503, "SERVICE_UNAVAILABLE");
    CHECK_EQ_INT(vas_retry_delay_ms(&e, 0), -1);
    CHECK_EQ_INT(vas_retry_delay_ms(&e, -3), -1);
    CHECK_EQ_INT(vas_retry_delay_ms(NULL, 1), -1);
}

static void test_new_refuses(void)
{
    char es[256];
    vas_conf c = {.base_url = "http://127.0.0.1:1", .client_id = "ruth"};
    CHECK(vas_new(&c, es, sizeof es) == NULL);
    CHECK(strstr(es, "VAS_CLIENT_SECRET") != NULL);
    c.client_secret = "s";
    c.base_url = "";
    CHECK(vas_new(&c, es, sizeof es) == NULL);
    CHECK(strstr(es, "VAS_BASE_URL") != NULL);
    c.base_url = "ftp://x";
    CHECK(vas_new(&c, es, sizeof es) == NULL);
    c.base_url = "http://127.0.0.1:1/";
    vas *v = vas_new(&c, es, sizeof es);
    CHECK(v != NULL);
    vas_destroy(v);
    vas_destroy(NULL);
}

/* With nothing listening, a call is a NETWORK error with status 0, and the
 * matrix retries it. */
static void test_network_error(void)
{
    char es[256];
    vas_conf c = {.base_url = "http://127.0.0.1:1",
                  .client_id = "ruth",
                  .client_secret = "s",
                  .connect_timeout_ms = 500,
                  .timeout_ms = 1000};
    vas *v = vas_new(&c, es, sizeof es);
    CHECK(v != NULL);
    vas_snapshot s;
    vas_error e;
    int rc = vas_snapshot_create(v, "str-1", 0, "test", NULL, &s, &e);
    vas_destroy(v);
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(e.http_status, 0);
    CHECK_EQ_STR(e.code, "NETWORK");
    CHECK(vas_retry_delay_ms(&e, 1) > 0);
}

int main(void)
{
    TEST_RUN(test_500);
    TEST_RUN(test_502);
    TEST_RUN(test_503);
    TEST_RUN(test_504);
    TEST_RUN(test_network);
    TEST_RUN(test_extraction_timeout);
    TEST_RUN(test_final);
    TEST_RUN(test_new_refuses);
    TEST_RUN(test_network_error);
    return TEST_EXIT();
}
