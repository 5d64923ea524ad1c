/* api_ops.c - /health, /ready, /metrics and /openapi.json. */
#include "api_ops.h"
#include "clock.h"

#include "api_response.h"
#include "api_util.h"
#include "embedded.h"
#include "xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct embedded_file api_openapi_files[];

void api_ops_openapi(api_req *r)
{
    api_json_text(r, 200, api_openapi_files[0].data, api_openapi_files[0].len);
}

void api_ops_metrics(api_req *r)
{
    size_t len;
    char *s = metrics_render(r->a->reg, &len);
    r->status = 200;
    buf_set(&r->out, s, len);
    free(s);
    r->text_plain = true;
}

/* What /health and /ready report, each dependency probed at most once a
 * second (VAS: every API_OPS_VAS_PROBE_SEC) whatever the request rate: both
 * endpoints are public, and a flood of them must not turn into a flood of
 * database pings, broker metadata requests (a second each while Kafka is
 * down) or VAS calls. Concurrent callers wait for the one probing; /ready
 * never waits on Kafka or VAS. */
#define API_OPS_VAS_PROBE_SEC 5.0
typedef struct probe_cache {
    pthread_mutex_t mu;
    double at; /* < 0: never probed */
    bool up;
} probe_cache;

struct api_ops {
    probe_cache db;
    probe_cache kafka;
    probe_cache vas;
    probe_cache ai;
};

static void probe_init(probe_cache *c)
{
    pthread_mutex_init(&c->mu, NULL);
    c->at = -1;
    c->up = false;
}

api_ops *api_ops_new(void)
{
    api_ops *ops = xcalloc(1, sizeof *ops);
    probe_init(&ops->db);
    probe_init(&ops->kafka);
    probe_init(&ops->vas);
    probe_init(&ops->ai);
    return ops;
}

void api_ops_free(api_ops *ops)
{
    if (!ops)
        return;
    pthread_mutex_destroy(&ops->db.mu);
    pthread_mutex_destroy(&ops->kafka.mu);
    pthread_mutex_destroy(&ops->vas.mu);
    pthread_mutex_destroy(&ops->ai.mu);
    free(ops);
}

static bool probe_db(api *a)
{
    char err[256];
    return pg_pool_ping(a->pool, err, sizeof err);
}

static bool probe_kafka(api *a)
{
    const struct rd_kafka_metadata *md = NULL;
    bool up = rd_kafka_metadata(a->producer, 0, NULL, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (md)
        rd_kafka_metadata_destroy(md);
    return up;
}

/* A token can be had and VAS answers an authenticated call. */
static bool probe_vas(api *a)
{
    vas_error err;
    return vas_probe(a->vas, &err) == 0;
}

static bool probe(probe_cache *c, bool (*fn)(api *), api *a, double every_s)
{
    pthread_mutex_lock(&c->mu);
    if (c->at < 0 || clock_mono_s() - c->at >= every_s) {
        c->up = fn(a);
        c->at = clock_mono_s();
    }
    bool up = c->up;
    pthread_mutex_unlock(&c->mu);
    return up;
}

void api_ops_ready(api_req *r)
{
    if (!probe(&r->a->ops->db, probe_db, r->a, 1.0)) {
        api_error(r, 503, "DATABASE_ERROR", NULL, "not ready: database unavailable");
        return;
    }
    api_json_steal(r, 200, json_pack("{s:s}", "status", "ready"));
}

/* A runtime is there when one checked in within 90 s (the runtime design
 * re-registers every 30 s: three missed) or results were captured within
 * the last 60 s (model_cameras, kept by ruth-worker). */
static bool probe_ai_runtime(api *a)
{
    char err[256];
    PGconn *c = pg_pool_get(a->pool, 1000, err, sizeof err);
    if (!c)
        return false;
    PGresult *res = pg_pool_exec(
        a->pool, c,
        "SELECT EXISTS (SELECT 1 FROM runtimes WHERE last_seen > now() - interval '90 seconds')"
        " OR EXISTS (SELECT 1 FROM model_cameras"
        "             WHERE last_inference_at > now() - interval '60 seconds')",
        0, NULL, err, sizeof err);
    bool up = res && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    pg_pool_put(a->pool, c);
    return up;
}

/* The contract's health body: status healthy|unhealthy (503 when any
 * component is unhealthy), service, version, timestamp, components
 * (database, kafka, vas when VAS_BASE_URL is set, ai_runtime) and `error`
 * naming what is down. */
void api_ops_health(api_req *r)
{
    api_ops *ops = r->a->ops;
    struct {
        const char *name, *why;
        bool up, present;
    } c[] = {
        {"database", "database unreachable", probe(&ops->db, probe_db, r->a, 1.0), true},
        {"kafka", "Kafka unreachable", probe(&ops->kafka, probe_kafka, r->a, 1.0), true},
        {"vas", "VAS not answering",
         r->a->vas && probe(&ops->vas, probe_vas, r->a, API_OPS_VAS_PROBE_SEC), r->a->vas != NULL},
        {"ai_runtime", "no AI runtime registered or sending results",
         probe(&ops->ai, probe_ai_runtime, r->a, 1.0), true},
    };
    json_t *comp = json_object();
    char error[256] = "";
    bool healthy = true;
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        if (!c[i].present)
            continue;
        json_object_set_new(comp, c[i].name, json_string(c[i].up ? "healthy" : "unhealthy"));
        if (!c[i].up) {
            size_t n = strlen(error);
            snprintf(error + n, sizeof error - n, "%s%s", healthy ? "" : "; ", c[i].why);
            healthy = false;
        }
    }
    char ts[CLOCK_ISO8601_LEN];
    clock_format_iso8601_ms(clock_wall_us(), ts, sizeof ts);
    json_t *b = json_pack("{s:s, s:s, s:s, s:s, s:o}", "status", healthy ? "healthy" : "unhealthy",
                          "service", "ruth-ai", "version", RUTH_VERSION, "timestamp", ts,
                          "components", comp);
    if (!healthy)
        json_object_set_new(b, "error", json_string(error));
    api_json_steal(r, healthy ? 200 : 503, b);
}
