/* latency_hist.c - bucketing and quantiles of the fixed latency histogram. */
#include "latency_hist.h"

#include <math.h>

static const double latency_hist_bounds[LATENCY_HIST_N - 1] = {
    5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000};

int latency_hist_bucket(double ms)
{
    if (!(ms > 0))
        return 0;
    for (int i = 0; i < LATENCY_HIST_N - 1; i++)
        if (ms <= latency_hist_bounds[i])
            return i;
    return LATENCY_HIST_N - 1;
}

double latency_hist_upper(int i)
{
    return i >= 0 && i < LATENCY_HIST_N - 1 ? latency_hist_bounds[i] : INFINITY;
}

double latency_hist_quantile(const int64_t *counts, double q, double max_ms)
{
    int64_t n = 0;
    for (int i = 0; i < LATENCY_HIST_N; i++)
        n += counts[i] > 0 ? counts[i] : 0;
    if (n == 0)
        return -1;
    double rank = q * (double)n, below = 0;
    for (int i = 0; i < LATENCY_HIST_N; i++) {
        double c = counts[i] > 0 ? (double)counts[i] : 0;
        if (c > 0 && below + c >= rank) {
            double lo = i ? latency_hist_bounds[i - 1] : 0;
            double hi = i < LATENCY_HIST_N - 1 ? latency_hist_bounds[i] : max_ms;
            if (hi < lo)
                hi = lo;
            double v = lo + (hi - lo) * ((rank - below) / c);
            return v > max_ms ? max_ms : v;
        }
        below += c;
    }
    return max_ms;
}
