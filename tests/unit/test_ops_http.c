/* /health, /ready and /metrics over real HTTP (libcurl against the
 * libmicrohttpd endpoint on a free port). */
#include "metrics.h"
#include "ops_http.h"
#include "testlib.h"
#include "xmalloc.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct {
    char *p;
    size_t len;
} body;

static size_t collect(char *d, size_t sz, size_t n, void *arg)
{
    body *b = arg;
    b->p = xrealloc(b->p, b->len + sz * n + 1);
    memcpy(b->p + b->len, d, sz * n);
    b->len += sz * n;
    b->p[b->len] = '\0';
    return sz * n;
}

static long get(int port, const char *path, body *b)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    return code;
}

static bool ready_flag;

static bool is_ready(void *arg, char *reason, size_t n)
{
    (void)arg;
    if (!ready_flag)
        snprintf(reason, n, "database \"unreachable\"");
    return ready_flag;
}

static void endpoints(void)
{
    metrics *reg = metrics_new();
    metric *c = metrics_counter(reg, "ruth_test_total", "A test counter.", "reason=\"X\"");
    metric_add(c, 3);
    metric *h = metrics_histogram(reg, "ruth_test_seconds", "Latency.", NULL,
                                  metrics_latency_buckets, metrics_latency_nbuckets);
    metric_observe(h, 0.003);
    metric_observe(h, 20);
    char err[256];
    ops_http *srv = ops_http_start(0, reg, is_ready, NULL, err, sizeof err);
    CHECK_MSG(srv != NULL, "%s", err);
    int port = ops_http_port(srv);
    CHECK(port > 0);

    body b = {0};
    CHECK_EQ_INT(get(port, "/health", &b), 200);
    CHECK(strstr(b.p, "healthy") != NULL);
    free(b.p);
    b = (body){0};
    ready_flag = false;
    CHECK_EQ_INT(get(port, "/ready", &b), 503);
    CHECK_MSG(strstr(b.p, "\"reason\":\"database 'unreachable'\"") != NULL, "%s", b.p);
    free(b.p);
    b = (body){0};
    ready_flag = true;
    CHECK_EQ_INT(get(port, "/ready", &b), 200);
    free(b.p);
    b = (body){0};
    CHECK_EQ_INT(get(port, "/metrics", &b), 200);
    CHECK_MSG(strstr(b.p, "# TYPE ruth_test_total counter\nruth_test_total{reason=\"X\"} 3\n"),
              "%s", b.p);
    CHECK(strstr(b.p, "ruth_test_seconds_bucket{le=\"0.005\"} 1\n") != NULL);
    CHECK(strstr(b.p, "ruth_test_seconds_bucket{le=\"+Inf\"} 2\n") != NULL);
    CHECK(strstr(b.p, "ruth_test_seconds_count 2\n") != NULL);
    free(b.p);
    b = (body){0};
    CHECK_EQ_INT(get(port, "/nope", &b), 404);
    free(b.p);
    ops_http_stop(srv);
    metrics_destroy(reg);
}

static void same_series_returned(void)
{
    metrics *reg = metrics_new();
    metric *a = metrics_counter(reg, "x_total", "x", "a=\"1\"");
    metric *b = metrics_counter(reg, "x_total", "x", "a=\"1\"");
    metric *c = metrics_counter(reg, "x_total", "x", "a=\"2\"");
    CHECK(a == b);
    CHECK(a != c);
    metric_inc(a);
    metric_inc(b);
    CHECK(metric_value(a) == 2.0);
    metrics_destroy(reg);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    TEST_RUN(endpoints);
    TEST_RUN(same_series_returned);
    curl_global_cleanup();
    return TEST_EXIT();
}
