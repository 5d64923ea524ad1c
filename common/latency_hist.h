/* latency_hist.h - the fixed inference-latency histogram of model_rollups
 * (migration 0009): ruth-worker counts results per bucket, ruth-api reads
 * p99 back from the counts (latency_hist.c). A leaf module. */
#ifndef RUTH_LATENCY_HIST_H
#define RUTH_LATENCY_HIST_H

#include <stddef.h>
#include <stdint.h>

/* Buckets: upper bounds 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500,
 * 750, 1000, 2000, 5000 ms, and a last one without bound. The bounds are
 * part of the stored data: changing them needs a migration. */
#define LATENCY_HIST_N 16

/* The bucket (0..LATENCY_HIST_N-1) of a latency in ms; negative or NaN go
 * to bucket 0. */
int latency_hist_bucket(double ms);

/* Upper bound of bucket i in ms (the last one: +inf). */
double latency_hist_upper(int i);

/* The q-quantile (0 < q <= 1) of the latencies counted in `counts`
 * (LATENCY_HIST_N of them), interpolated linearly inside its bucket and
 * never above `max_ms`, the largest latency counted. -1 when no latency
 * was counted. */
double latency_hist_quantile(const int64_t *counts, double q, double max_ms);

#endif
