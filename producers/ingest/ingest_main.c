/* ruth-ingest - the HTTP gateway for AI runtimes that speak REST: POST
 * /v1/inference takes one InferenceResult or a batch, validates it with the
 * codec the worker uses, and produces it to the inference topic keyed by
 * camera_id with an idempotent producer, answering 202 only once Kafka
 * acknowledged every item (ingest_produce.h).
 *
 * This file: start-up (settings, producer, HTTP), the loop that serves the
 * producer's delivery reports and keeps /ready's view of the broker, and a
 * clean stop on SIGTERM (the daemon finishes running requests, then the
 * producer flushes). */
#include "ingest.h"

#include "clock.h"
#include "ingest_acks.h"
#include "ingest_codecs.h"
#include "ingest_http.h"
#include "kafka.h"
#include "kafka_admin.h"
#include "log.h"
#include "shutdown.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: ruth-ingest\n"
    "\n"
    "HTTP gateway for AI runtimes: POST /v1/inference with one InferenceResult or an\n"
    "array of them (JSON), or one Avro message (Content-Type application/vnd.apache.avro\n"
    "or avro/binary; single-object or Confluent framing, of any released InferenceResult\n"
    "version: schemas/history/). Every result is validated as\n"
    "ruth-worker validates it and produced to RUTH_TOPIC_INFERENCE keyed by camera_id;\n"
    "202 once Kafka acknowledged all of them, 400 naming each invalid one, 503 with\n"
    "Retry-After while Kafka cannot take them. Callers present a bearer token with the\n"
    "runtime role (ruth-token --role runtime, signed with JWT_SECRET_KEY) or the shared\n"
    "RUTH_INGEST_KEY. POST /v1/runtimes/register (same credentials) stores a runtime's\n"
    "capability declaration in PostgreSQL (DATABASE_URL; without it ruth-ingest still\n"
    "takes results and registration answers 503). Serves /health, /ready (Kafka; the\n"
    "database only as a note) and /metrics on the same port. Stops cleanly\n"
    "on SIGTERM. Exit status: 0 after a clean stop, 1 on a start-up failure, 2 on a\n"
    "configuration error.";

#define READY_CHECK_EVERY_S 1.0
/* Deadlines of waiting requests are checked at least this often. */
#define SWEEP_EVERY_MS 20

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    if (m->err && log_enabled(LOG_DEBUG))
        log_debug("delivery to %s failed: %s", rd_kafka_topic_name(m->rkt),
                  rd_kafka_err2str(m->err));
    ingest_acks_on_delivery(opaque, m);
}

static void set_state(ingest *g, atomic_bool *flag, char *reason, size_t reasonsz, bool ok,
                      const char *why, const char *what, const char *consequence)
{
    bool was = atomic_exchange(flag, ok);
    pthread_mutex_lock(&g->reason_mu);
    size_t k = strnlen(why, reasonsz - 1); /* cut to fit */
    memcpy(reason, why, k);
    reason[k] = '\0';
    pthread_mutex_unlock(&g->reason_mu);
    if (was != ok) {
        if (ok)
            log_info("%s reachable", what);
        else
            log_warn("%s not reachable: %s; %s", what, why, consequence);
    }
}

/* /ready's view of the broker and the database, every READY_CHECK_EVERY_S
 * on a thread of its own: a slow metadata answer or a database connect
 * timing out never delays the delivery reports that answer requests. */
static void *checker(void *arg)
{
    ingest *g = arg;
    while (!shutdown_requested()) {
        double t0 = clock_mono_s();
        char err[256];
        int parts = kafka_admin_topic_partitions(g->producer, g->cfg->topic_inference, 1000, err,
                                                 sizeof err);
        const char *why = parts > 0    ? ""
                          : parts == 0 ? "the inference topic does not exist (ruth-migrate topics)"
                                       : err;
        set_state(g, &g->broker_ok, g->broker_reason, sizeof g->broker_reason, parts > 0, why,
                  "Kafka", "POST /v1/inference answers 503");
        if (g->db) {
            bool ok = pg_pool_ping(g->db, err, sizeof err);
            set_state(g, &g->db_ok, g->db_reason, sizeof g->db_reason, ok, ok ? "" : err,
                      "PostgreSQL", "POST /v1/runtimes/register answers 503");
        }
        while (!shutdown_requested() && clock_mono_s() - t0 < READY_CHECK_EVERY_S)
            usleep(50 * 1000);
    }
    return NULL;
}

/* Delivery reports (which answer the waiting requests) and their
 * deadlines until shutdown. */
static void run(ingest *g)
{
    while (!shutdown_requested()) {
        rd_kafka_poll(g->producer, SWEEP_EVERY_MS);
        ingest_acks_sweep(g, clock_mono_s());
    }
}

static rd_kafka_t *producer_new(ingest *g, const ruth_config *cfg, char *err, size_t errsz)
{
    rd_kafka_conf_t *conf = kafka_conf_new(cfg->kafka_bootstrap_servers, "ruth-ingest", err, errsz);
    if (!conf)
        return NULL;
    /* Nobody waits for a message longer than a request does: librdkafka
     * gives up on it then too, so an outage cannot fill its queue with
     * results whose request was already answered 503. */
    /* The largest result accepted, plus room for the record's overhead:
     * nothing validated is refused here (the topic's own max.message.bytes
     * still applies at the broker; its refusal answers 500). */
    char timeout[32], max_bytes[32];
    snprintf(timeout, sizeof timeout, "%d", cfg->ingest_ack_timeout_ms);
    snprintf(max_bytes, sizeof max_bytes, "%d", cfg->max_message_bytes + 64 * 1024);
    if (!kafka_conf_set(conf, "message.timeout.ms", timeout, err, errsz) ||
        !kafka_conf_set(conf, "message.max.bytes", max_bytes, err, errsz)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_opaque(conf, g);
    return kafka_producer_new(conf, err, errsz); /* takes conf */
}

int main(int argc, char **argv)
{
    ruth_config cfg;
    int st = config_startup(argc, argv, CFG_INGEST, "ruth-ingest", usage, &cfg);
    if (st)
        return st == 1 ? 0 : 2;
    if ((!cfg.jwt_secret_key || !*cfg.jwt_secret_key) && (!cfg.ingest_key || !*cfg.ingest_key)) {
        log_error("neither JWT_SECRET_KEY nor RUTH_INGEST_KEY is set: nobody could post results; "
                  "see README \"ruth-ingest\"");
        config_free(&cfg);
        return 2;
    }
    shutdown_install();
    int rc = 1;
    char err[512];
    ingest g = {0};
    g.cfg = &cfg;
    g.reg = metrics_new();
    pthread_mutex_init(&g.reason_mu, NULL);
    pthread_mutex_init(&g.waits_mu, NULL);
    snprintf(g.broker_reason, sizeof g.broker_reason, "not checked yet");
    snprintf(g.db_reason, sizeof g.db_reason, "not checked yet");
    pthread_t check_thread;
    bool checking = false;
    ingest_codecs_init(&g.codecs, cfg.schema_registry_url);
    g.m_results = metrics_counter(g.reg, "ruth_ingest_results_total",
                                  "Results Kafka acknowledged (answered 202).", NULL);
    g.m_rejected = metrics_counter(g.reg, "ruth_ingest_results_invalid_total",
                                   "Results refused as invalid (answered 400).", NULL);
    g.m_produce_secs = metrics_histogram(
        g.reg, "ruth_ingest_produce_seconds",
        "Per request, from the first produce to the last acknowledgement (or the deadline).", NULL,
        metrics_latency_buckets, metrics_latency_nbuckets);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    /* No thread waits for Kafka: one per core validates and produces. */
    int threads = cfg.ingest_threads > 0 ? cfg.ingest_threads : (int)(cores > 0 ? cores : 1);

    codec *probe = ingest_codecs_take(&g.codecs, err, sizeof err); /* bundled schemas load? */
    if (!probe) {
        log_error("%s", err);
        goto done;
    }
    ingest_codecs_put(&g.codecs, probe);
    g.producer = producer_new(&g, &cfg, err, sizeof err);
    if (!g.producer) {
        log_error("%s", err);
        goto done;
    }
    if (cfg.database_url && *cfg.database_url) {
        g.db = pg_pool_new(cfg.database_url, "ruth-ingest", 2, err, sizeof err);
        if (!g.db) {
            log_error("%s", err);
            goto done;
        }
    } else
        log_info("DATABASE_URL is not set: POST /v1/runtimes/register answers 503");
    if (pthread_create(&check_thread, NULL, checker, &g) != 0) {
        log_error("cannot start the readiness thread");
        goto done;
    }
    checking = true;
    if (!ingest_http_start(&g, cfg.ingest_port, threads, err, sizeof err)) {
        log_error("%s", err);
        goto done;
    }
    {
        log_ctx ctx = LOG_CTX_INIT;
        char extra[64];
        int port = ingest_http_port(&g);
        snprintf(extra, sizeof extra, "\"ingest_port\":%d", port);
        ctx.extra_json = extra;
        log_at(LOG_INFO, &ctx, "serving POST /v1/inference on port %d with %d threads to %s", port,
               threads, cfg.topic_inference);
    }
    run(&g);
    log_info("stopping: answering the requests waiting for Kafka");
    atomic_store(&g.stopping, true); /* new results: 503 */
    ingest_acks_drain(&g, cfg.ingest_ack_timeout_ms / 1000.0 + 1);
    /* ... and give the daemon a moment to send those answers. */
    for (int i = 0; i < 200 && atomic_load(&g.active) > 0; i++)
        usleep(10 * 1000);
    rc = 0;
done:
    ingest_http_stop(&g); /* no request runs past this */
    if (checking) {
        shutdown_request(); /* a start-up failure after the thread started */
        pthread_join(check_thread, NULL);
    }
    pg_pool_free(g.db);
    if (g.producer) {
        rd_kafka_flush(g.producer, cfg.ingest_ack_timeout_ms);
        rd_kafka_destroy(g.producer);
    }
    ingest_codecs_free(&g.codecs);
    pthread_mutex_destroy(&g.reason_mu);
    pthread_mutex_destroy(&g.waits_mu);
    metrics_destroy(g.reg);
    config_free(&cfg);
    return rc;
}
