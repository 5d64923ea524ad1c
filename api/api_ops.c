/* api_ops.c - /health, /ready, /metrics and /openapi.json. */
#include "api_ops.h"
#include "clock.h"

#include "api_response.h"
#include "api_util.h"
#include "embedded.h"
#include "xmalloc.h"

#include <pthread.h>
#include <stdlib.h>

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
    return ops;
}

void api_ops_free(api_ops *ops)
{
    if (!ops)
        return;
    pthread_mutex_destroy(&ops->db.mu);
    pthread_mutex_destroy(&ops->kafka.mu);
    pthread_mutex_destroy(&ops->vas.mu);
    free(ops);
}

static bool probe_db(api *a)
{
    char err[256];
    return api_pool_ping(a->pool, err, sizeof err);
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

void api_ops_health(api_req *r)
{
    api_ops *ops = r->a->ops;
    bool db = probe(&ops->db, probe_db, r->a, 1.0);
    bool kafka = probe(&ops->kafka, probe_kafka, r->a, 1.0);
    /* VAS is probed only when configured; without it media answers 503. */
    bool vas_up = !r->a->vas || probe(&ops->vas, probe_vas, r->a, API_OPS_VAS_PROBE_SEC);
    const char *vas = !r->a->vas ? "not_configured" : vas_up ? "up" : "down";
    json_t *b = json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}", "status",
                          db && kafka && vas_up ? "healthy" : "degraded", "components", "database",
                          "status", db ? "up" : "down", "kafka", "status", kafka ? "up" : "down",
                          "vas", "status", vas);
    api_json_steal(r, 200, b);
}
