/* test_latency_hist.c - bucketing and quantiles of the fixed latency histogram. */
#include "latency_hist.h"
#include "testlib.h"

#include <math.h>

static void buckets(void)
{
    CHECK_EQ_INT(latency_hist_bucket(-1), 0);
    CHECK_EQ_INT(latency_hist_bucket(NAN), 0);
    CHECK_EQ_INT(latency_hist_bucket(5), 0);
    CHECK_EQ_INT(latency_hist_bucket(5.01), 1);
    CHECK_EQ_INT(latency_hist_bucket(100), 6);
    CHECK_EQ_INT(latency_hist_bucket(5000), LATENCY_HIST_N - 2);
    CHECK_EQ_INT(latency_hist_bucket(1e9), LATENCY_HIST_N - 1);
    CHECK(isinf(latency_hist_upper(LATENCY_HIST_N - 1)));
}

static void quantiles(void)
{
    int64_t c[LATENCY_HIST_N] = {0};
    CHECK(latency_hist_quantile(c, 0.99, 0) < 0); /* nothing counted */
    c[6] = 100;                                   /* 100 results in (75, 100] */
    double q = latency_hist_quantile(c, 0.99, 98);
    CHECK_MSG(q > 75 && q <= 98, "%f", q); /* never above the largest */
    c[6] = 98;
    c[LATENCY_HIST_N - 1] = 2; /* two beyond 5 s, the largest 7 s */
    q = latency_hist_quantile(c, 0.99, 7000);
    CHECK_MSG(q > 5000 && q <= 7000, "%f", q);
    CHECK_MSG(latency_hist_quantile(c, 0.5, 7000) <= 100, "median in its bucket");
}

int main(void)
{
    TEST_RUN(buckets);
    TEST_RUN(quantiles);
    return testlib_failures ? 1 : 0;
}
