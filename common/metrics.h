/* metrics.h - a small Prometheus registry: counters, gauges, histograms.
 *
 * Register series once at start-up (or lazily, e.g. one per DLQ reason) and
 * keep the returned metric pointer; updates are lock-free atomics, safe from
 * any thread. metrics_render() produces the text exposition format. */
#ifndef RUTH_METRICS_H
#define RUTH_METRICS_H

#include <stddef.h>

typedef struct metrics metrics;
typedef struct metric metric;

metrics *metrics_new(void);
void metrics_destroy(metrics *reg); /* accepts NULL */

/* Find or create the series `name{labels}`. `labels` is the rendered label set
 * without braces (`reason="BAD_FRAMING"`) or NULL. Strings are copied. The
 * returned pointer lives as long as the registry. Registering the same name
 * with another type is a programming error and aborts. */
metric *metrics_counter(metrics *reg, const char *name, const char *help, const char *labels);
metric *metrics_gauge(metrics *reg, const char *name, const char *help, const char *labels);
/* `bounds` are upper bucket bounds in increasing order (+Inf is implicit). */
metric *metrics_histogram(metrics *reg, const char *name, const char *help, const char *labels,
                          const double *bounds, size_t nbounds);

void metric_inc(metric *m);
void metric_add(metric *m, double v);
void metric_set(metric *m, double v);
void metric_observe(metric *m, double v);
double metric_value(const metric *m); /* counters and gauges; for tests */

/* Text exposition of every series; caller frees. */
char *metrics_render(metrics *reg, size_t *len);

/* Buckets for latencies in seconds (1 ms .. 10 s). */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

#endif
