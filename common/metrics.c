/* metrics.c - see metrics.h. */
#include "metrics.h"

#include "xmalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_type;

struct metric {
    struct metric *next; /* next series of the same family */
    char *labels;
    _Atomic uint64_t bits; /* double value (counter, gauge) or histogram sum */
    double *bounds;        /* histogram only */
    size_t nbounds;
    _Atomic uint64_t *buckets; /* nbounds + 1 (last = +Inf) */
    _Atomic uint64_t count;
};

typedef struct metric_family {
    struct metric_family *next;
    char *name;
    char *help;
    metric_type type;
    metric *series;
} metric_family;

struct metrics {
    pthread_mutex_t lock;
    metric_family *families;
    metric_family **tail;
};

const double metrics_latency_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                          0.25,  0.5,    1,     2.5,  5,     10};
const size_t metrics_latency_nbuckets = sizeof metrics_latency_buckets / sizeof(double);

static uint64_t metrics__bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double metrics__double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

metrics *metrics_new(void)
{
    metrics *reg = xcalloc(1, sizeof *reg);
    pthread_mutex_init(&reg->lock, NULL);
    reg->tail = &reg->families;
    return reg;
}

void metrics_destroy(metrics *reg)
{
    if (!reg)
        return;
    metric_family *f = reg->families;
    while (f) {
        metric_family *fn = f->next;
        metric *m = f->series;
        while (m) {
            metric *mn = m->next;
            free(m->labels);
            free(m->bounds);
            free(m->buckets);
            free(m);
            m = mn;
        }
        free(f->name);
        free(f->help);
        free(f);
        f = fn;
    }
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

static metric *metrics__get(metrics *reg, metric_type type, const char *name, const char *help,
                            const char *labels, const double *bounds, size_t nbounds)
{
    if (!labels)
        labels = "";
    pthread_mutex_lock(&reg->lock);
    metric_family *f = reg->families;
    while (f && strcmp(f->name, name) != 0)
        f = f->next;
    if (!f) {
        f = xcalloc(1, sizeof *f);
        f->name = xstrdup(name);
        f->help = xstrdup(help);
        f->type = type;
        *reg->tail = f;
        reg->tail = &f->next;
    } else if (f->type != type) {
        fprintf(stderr, "metric %s registered twice with different types\n", name);
        abort();
    }
    metric *m = f->series, **mtail = &f->series;
    while (m && strcmp(m->labels, labels) != 0) {
        mtail = &m->next;
        m = m->next;
    }
    if (!m) {
        m = xcalloc(1, sizeof *m);
        m->labels = xstrdup(labels);
        if (type == METRIC_HISTOGRAM) {
            m->nbounds = nbounds;
            m->bounds = xmalloc(nbounds * sizeof(double));
            memcpy(m->bounds, bounds, nbounds * sizeof(double));
            m->buckets = xcalloc(nbounds + 1, sizeof(*m->buckets));
        }
        *mtail = m;
    }
    pthread_mutex_unlock(&reg->lock);
    return m;
}

metric *metrics_counter(metrics *reg, const char *name, const char *help, const char *labels)
{
    return metrics__get(reg, METRIC_COUNTER, name, help, labels, NULL, 0);
}

metric *metrics_gauge(metrics *reg, const char *name, const char *help, const char *labels)
{
    return metrics__get(reg, METRIC_GAUGE, name, help, labels, NULL, 0);
}

metric *metrics_histogram(metrics *reg, const char *name, const char *help, const char *labels,
                          const double *bounds, size_t nbounds)
{
    return metrics__get(reg, METRIC_HISTOGRAM, name, help, labels, bounds, nbounds);
}

void metric_add(metric *m, double v)
{
    uint64_t old = atomic_load_explicit(&m->bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&m->bits, &old,
                                                  metrics__bits(metrics__double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

void metric_inc(metric *m)
{
    metric_add(m, 1.0);
}

void metric_set(metric *m, double v)
{
    atomic_store_explicit(&m->bits, metrics__bits(v), memory_order_relaxed);
}

void metric_observe(metric *m, double v)
{
    size_t i = 0;
    while (i < m->nbounds && v > m->bounds[i])
        i++;
    atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    metric_add(m, v);
}

double metric_value(const metric *m)
{
    return metrics__double(atomic_load_explicit(&((metric *)m)->bits, memory_order_relaxed));
}

typedef struct {
    char *p;
    size_t len, cap;
} metrics_out;

static void metrics__printf(metrics_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void metrics__printf(metrics_out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        o->cap = o->cap * 2 + (size_t)(n > 0 ? n : 0);
        o->p = xrealloc(o->p, o->cap);
    }
}

static void metrics__series(metrics_out *o, const char *name, const char *suffix,
                            const char *labels, const char *extra, double v)
{
    int has = labels && *labels, hasx = extra && *extra;
    metrics__printf(o, "%s%s%s%s%s%s%s %.17g\n", name, suffix, (has || hasx) ? "{" : "",
                    has ? labels : "", (has && hasx) ? "," : "", hasx ? extra : "",
                    (has || hasx) ? "}" : "", v);
}

char *metrics_render(metrics *reg, size_t *len)
{
    metrics_out o = {xmalloc(4096), 0, 4096};
    o.p[0] = '\0';
    pthread_mutex_lock(&reg->lock);
    for (metric_family *f = reg->families; f; f = f->next) {
        static const char *const tn[] = {"counter", "gauge", "histogram"};
        metrics__printf(&o, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, tn[f->type]);
        for (metric *m = f->series; m; m = m->next) {
            if (f->type != METRIC_HISTOGRAM) {
                metrics__series(&o, f->name, "", m->labels, NULL, metric_value(m));
                continue;
            }
            uint64_t cum = 0;
            char le[64];
            for (size_t i = 0; i <= m->nbounds; i++) {
                cum += atomic_load_explicit(&m->buckets[i], memory_order_relaxed);
                if (i < m->nbounds)
                    snprintf(le, sizeof le, "le=\"%g\"", m->bounds[i]);
                else
                    snprintf(le, sizeof le, "le=\"+Inf\"");
                metrics__series(&o, f->name, "_bucket", m->labels, le, (double)cum);
            }
            metrics__series(&o, f->name, "_sum", m->labels, NULL, metric_value(m));
            metrics__series(&o, f->name, "_count", m->labels, NULL,
                            (double)atomic_load_explicit(&m->count, memory_order_relaxed));
        }
    }
    pthread_mutex_unlock(&reg->lock);
    if (len)
        *len = o.len;
    return o.p;
}
