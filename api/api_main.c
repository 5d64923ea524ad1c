/* api_main.c - ruth-api: start-up, the background outbox sweep, shutdown.
 *
 * Serves the REST API of ARCHITECTURE §8 under /api/v1 plus /health, /ready,
 * /metrics and /openapi.json on RUTH_API_PORT. */
#include "api_context.h"
#include "api_http.h"
#include "api_list.h"
#include "api_microcache.h"
#include "api_ops.h"
#include "api_ratelimit.h"
#include "api_stream.h"
#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "pg.h"
#include "pg_pool.h"
#include "shutdown.h"
#include "vas.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "Usage: ruth-api [--help]\n"
    "\n"
    "Serves the Ruth AI REST API (/api/v1: violations, events, analytics, devices,\n"
    "zones, models, rules with zones, schedules and dwell, event-type map, the live\n"
    "violation stream) from PostgreSQL,\n"
    "plus /health, /ready, /metrics and /openapi.json. Every /api/v1 endpoint\n"
    "needs an HS256 bearer token (mint one with ruth-token).\n";

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    kafka_acks_on_delivery(m);
    if (m->err) {
        log_error("delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
                  rd_kafka_err2str(m->err));
    }
}

/* Until shutdown, every 5 s: start the live stream if it is not running
 * yet, and publish the outbox rows a request committed but could not relay
 * (Kafka down, the process crashed last time). */
static void background(api *a)
{
    const ruth_config *cfg = a->cfg;
    char err[512];
    PGconn *sweep_db = NULL;
    int tick = 0;
    while (g_run) {
        usleep(200 * 1000);
        if (++tick % 25)
            continue;
        if (!atomic_load(&a->stream)) {
            atomic_store(&a->stream, api_stream_start(a, cfg->api_stream_buffer, err, sizeof err));
            if (atomic_load(&a->stream))
                log_info("live violation stream started");
        }
        if (!sweep_db || PQstatus(sweep_db) != CONNECTION_OK) {
            pg_close(sweep_db);
            sweep_db = pg_connect(cfg->database_url, "ruth-api-outbox", 5, err, sizeof err);
            if (!sweep_db)
                continue;
        }
        outbox_sweep(sweep_db, a->producer);
    }
    pg_close(sweep_db);
}

/* The one VAS client of the process when VAS_BASE_URL is set: its token and
 * connections are shared by every request thread (vas.h). false with err
 * filled when the configuration is unusable. */
static bool vas_start(api *a, char *err, size_t errsz)
{
    const ruth_config *cfg = a->cfg;
    if (!cfg->vas_base_url || !*cfg->vas_base_url)
        return true;
    vas_conf vc = {.base_url = cfg->vas_base_url,
                   .client_id = cfg->vas_client_id,
                   .client_secret = cfg->vas_client_secret,
                   .refresh_margin_sec = cfg->vas_token_refresh_margin_sec,
                   .reg = a->reg};
    char why[256];
    a->vas = vas_new(&vc, why, sizeof why);
    if (!a->vas)
        snprintf(err, errsz,
                 "VAS_BASE_URL is set but the VAS client cannot be made: %s (set VAS_CLIENT_ID "
                 "and VAS_CLIENT_SECRET, or unset VAS_BASE_URL)",
                 why);
    return a->vas != NULL;
}

/* Undo what main() built, in reverse; every member may still be NULL. */
static void teardown(api *a)
{
    if (a->daemon) {
        /* Streams end at their next read once g_run is 0; wake the parked ones. */
        api_stream_kick(atomic_load(&a->stream));
    }
    api_http_stop(a); /* no request runs past this */
    api_stream_stop(atomic_load(&a->stream));
    api_ratelimit_free(a->rl);
    api_microcache_free(a->mcache);
    api_ops_free(a->ops);
    /* Media transfers end once their response is gone (the daemon is);
     * one stuck in a VAS call ends at that call's timeout. */
    for (int i = 0; i < 300 && atomic_load(&a->media_active) > 0; i++)
        usleep(100 * 1000);
    if (atomic_load(&a->media_active) > 0)
        log_warn("%d media transfers still running at exit; the VAS client is left to the OS",
                 atomic_load(&a->media_active));
    else
        vas_destroy(a->vas);
    list_counts_free(a->counts);
    if (a->producer) {
        rd_kafka_flush(a->producer, 5000);
        rd_kafka_destroy(a->producer);
    }
    if (a->read_pool != a->pool)
        pg_pool_free(a->read_pool);
    pg_pool_free(a->pool);
    codec_destroy(a->codec);
    metrics_destroy(a->reg);
}

int main(int argc, char **argv)
{
    ruth_config cfg;
    int st = config_startup(argc, argv, CFG_API, "ruth-api", usage, &cfg);
    if (st)
        return st == 1 ? 0 : 2;
    shutdown_install();
    int rc = 1;
    char err[512];
    api a = {0};
    a.cfg = &cfg;
    a.reg = metrics_new();

    /* libmicrohttpd pins each connection to one pool thread, so a slow query
     * stalls every connection of its thread: several threads per core keep
     * that to a small share of the clients. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = cfg.api_threads > 0 ? cfg.api_threads : 4 * (int)(cores > 0 ? cores : 1);
    a.codec = codec_new(cfg.schema_registry_url, err, sizeof err);
    if (!a.codec) {
        log_error("%s", err);
        goto done;
    }
    /* Two connections per HTTP thread at least would only queue in PostgreSQL. */
    a.pool = pg_pool_new(cfg.database_url, "ruth-api", cfg.api_db_pool, err, sizeof err);
    if (!a.pool) {
        log_error("%s", err);
        goto done;
    }
    if (cfg.database_read_url && *cfg.database_read_url) {
        a.read_pool =
            pg_pool_new(cfg.database_read_url, "ruth-api", cfg.api_db_pool, err, sizeof err);
        if (!a.read_pool) {
            log_error("%s", err);
            goto done;
        }
    } else {
        a.read_pool = a.pool;
    }
    rd_kafka_conf_t *pconf =
        kafka_conf_new(cfg.kafka_bootstrap_servers, "ruth-api", err, sizeof err);
    if (!pconf) {
        log_error("%s", err);
        goto done;
    }
    rd_kafka_conf_set_dr_msg_cb(pconf, on_delivery);
    rd_kafka_conf_set_opaque(pconf, &a);
    a.producer = kafka_producer_new(pconf, err, sizeof err); /* takes pconf */
    if (!a.producer) {
        log_error("%s", err);
        goto done;
    }
    atomic_store(&a.stream, api_stream_start(&a, cfg.api_stream_buffer, err, sizeof err));
    if (!atomic_load(&a.stream))
        log_warn("live violation stream not started yet (%s); /violations/stream answers 503 "
                 "until it is",
                 err);
    if (!vas_start(&a, err, sizeof err)) {
        log_error("%s", err);
        goto done;
    }
    a.rl = api_ratelimit_new(cfg.api_rate_limit_rps);
    a.mcache = api_microcache_new();
    a.ops = api_ops_new();
    a.counts = list_counts_new();
    a.daemon = api_http_start(&a, cfg.api_port, threads, err, sizeof err);
    if (!a.daemon) {
        log_error("%s", err);
        goto done;
    }
    {
        log_ctx ctx = LOG_CTX_INIT;
        char extra[64];
        int port = api_http_port(a.daemon);
        snprintf(extra, sizeof extra, "\"api_port\":%d", port);
        ctx.extra_json = extra;
        log_at(LOG_INFO, &ctx,
               "serving the API on port %d with %d threads, %d database "
               "connections",
               port, threads, cfg.api_db_pool);
    }

    background(&a);
    log_info("stopping: closing streams and connections");
    rc = 0;

done:
    teardown(&a);
    config_free(&cfg);
    return rc;
}
