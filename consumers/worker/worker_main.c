/* ruth-worker - the stateless consumer that turns inference results into
 * events and violations (ARCHITECTURE §5).
 *
 * The consumer loop is common/kafka_consumer.c (batches, pausing and
 * backoff while PostgreSQL is down, revokes, offset commits, dead letters).
 * This file is its client: per batch, decode and validate each message (bad
 * ones to the DLQ with the reason in headers, once per batch however often
 * it is retried), then write the valid ones in one transaction
 * (worker_batch.c); between batches, housekeeping. */
#include "worker.h"

#include "worker_input.h"
#include "worker_publish.h"

#include "clock.h"
#include "kafka_consumer.h"
#include "log.h"
#include "ops_http.h"
#include "outbox.h"
#include "pg.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: ruth-worker\n"
    "\n"
    "Consumes InferenceResults from RUTH_TOPIC_INFERENCE (and, when set, NVIDIA\n"
    "DeepStream nvmsgconv JSON from RUTH_TOPIC_DEEPSTREAM) in consumer group\n"
    "RUTH_WORKER_GROUP, stores events, rollups and violations in PostgreSQL,\n"
    "publishes Event, ViolationChange and EvidenceRequest messages and\n"
    "dead-letters undecodable input. Rules may require zones (bottom-centre of a\n"
    "box inside a camera's polygon, measured in the result's frame_width x\n"
    "frame_height or else the camera's configured resolution), active windows\n"
    "(weekdays and times in an IANA time zone) and a dwell time\n"
    "(min_duration_seconds); rule changes reach every\n"
    "replica with its next batch (ruth_rules_version). One replica at a time\n"
    "(advisory lock) raises camera_offline violations for cameras silent longer\n"
    "than RUTH_OFFLINE_AFTER_SEC or their own limit. Serves /health, /ready and /metrics on\n"
    "RUTH_METRICS_PORT. Stops cleanly on SIGTERM. Exit status: 0 after a clean\n"
    "stop, 1 on a start-up failure, 2 on a configuration error.";

#define SWEEP_EVERY_MS 2000
#define MAINTAIN_EVERY_US (3600 * 1000000LL)

/* ---- ops ---- */

static bool worker_ready(void *arg, char *reason, size_t n)
{
    worker *w = arg;
    if (!kafka_consumer_ready(w->kc, reason, n))
        return false;
    if (!atomic_load(&w->db_ok)) {
        snprintf(reason, n, "PostgreSQL unavailable");
        return false;
    }
    return true;
}

static void worker_metrics_init(worker *w)
{
    metrics *r = w->reg;
    w->m.persisted = metrics_counter(r, "ruth_worker_events_persisted_total",
                                     "Events newly written to PostgreSQL.", NULL);
    w->m.duplicates =
        metrics_counter(r, "ruth_worker_events_duplicate_total",
                        "Redelivered or repeated results that were already stored.", NULL);
    w->m.violations_opened =
        metrics_counter(r, "ruth_worker_violations_opened_total", "Violations opened.", NULL);
    w->m.violations_updated = metrics_counter(r, "ruth_worker_violations_updated_total",
                                              "Violations that gained events or ended.", NULL);
    w->m.db_errors = metrics_counter(r, "ruth_worker_db_errors_total",
                                     "Batches that PostgreSQL did not commit.", NULL);
    worker_input_metrics_init(w);
    static const char *const names[WORKER_NSTAGES] = {
        "collect", "decode",  "begin", "cameras", "rules",  "copy", "offline",
        "produce", "rollups", "acks",  "commit",  "outbox", "idle"};
    for (int i = 0; i < WORKER_NSTAGES; i++) {
        char labels[48];
        snprintf(labels, sizeof labels, "stage=\"%s\"", names[i]);
        w->m.stage[i] = metrics_counter(
            r, "ruth_worker_batch_stage_seconds_total",
            "Wall time of batches by stage (collect: between batches; see worker.h).", labels);
    }
}

/* ---- one batch: decode, then the transaction ---- */

/* Decoded results of the batch in hand are released once it is done. */
static void worker_forget_events(worker *w)
{
    for (size_t i = 0; i < w->nevents; i++)
        inference_result_free(&w->events[i].r);
    w->nevents = 0;
    w->decoded = 0;
}

/* Wait for this pass's dead letters. Unacknowledged ones mean decoding the
 * whole batch again later; nothing is committed before they are
 * acknowledged. */
static int worker_settle_dead_letters(worker *w)
{
    if (kafka_consumer_settle_dead_letters(w->kc) == 0)
        return 0;
    worker_forget_events(w);
    return -1;
}

/* Decode, validate, dead-letter what is not decoded yet. Decoding happens
 * once per message, so a batch retried through a database outage sends its
 * dead letters once. Returns -1 on a transient failure (schema registry
 * unreachable, dead letters unacknowledged): the batch must be retried. */
static int worker_decode(worker *w, const kafka_consumer_batch *b)
{
    int64_t now = clock_wall_us();
    for (; w->decoded < b->n; w->decoded++) {
        rd_kafka_message_t *m = b->msgs[w->decoded];
        codec_error err = {0};
        const char *stage = "decode";
        int rc = worker_input_decode(w, m, now, &err, &stage);
        if (rc < 0) {
            worker_settle_dead_letters(w);
            return -1;
        }
        if (rc == 0)
            continue;
        if (kafka_consumer_dead_letter(w->kc, m, stage, codec_errcode_name(err.code),
                                       err.message) != 0) {
            worker_settle_dead_letters(w);
            return -1;
        }
    }
    return worker_settle_dead_letters(w);
}

static kafka_consumer_verdict worker_on_batch(void *arg, kafka_consumer *kc,
                                              const kafka_consumer_batch *b)
{
    (void)kc;
    worker *w = arg;
    int64_t t = w->batch_end_us;
    if (t)
        worker_stage_done(w, WORKER_STAGE_COLLECT, &t);
    else
        t = clock_mono_us();
    if (b->attempt == 0)
        worker_forget_events(w);
    int rc = worker_decode(w, b);
    worker_stage_done(w, WORKER_STAGE_DECODE, &t);
    if (rc == 0)
        rc = worker_batch_write(w, w->events, w->nevents);
    w->batch_end_us = clock_mono_us();
    return rc == 0 ? KAFKA_CONSUMER_DONE : KAFKA_CONSUMER_RETRY;
}

static void worker_on_end(void *arg, kafka_consumer *kc)
{
    (void)kc;
    worker_forget_events(arg);
}

/* Idle housekeeping: outbox leftovers, the camera-offline sweep, hourly partition upkeep, and a
 * database check so /ready tells the truth between batches. */
static void worker_on_idle(void *arg, kafka_consumer *kc)
{
    (void)kc;
    worker *w = arg;
    int64_t t0 = clock_mono_us();
    if (worker_db_connect(w) && PQstatus(w->db) == CONNECTION_OK) {
        PGresult *r = PQexec(w->db, "SELECT 1");
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        if (!ok) {
            atomic_store(&w->db_ok, false);
            pg_close(w->db);
            w->db = NULL;
        }
    }
    worker_publish_tidy(w, false); /* before the sweep, which would take them after 5 s */
    worker_outbox_sweep(w);
    worker_offline_sweep(w);
    int64_t now = clock_wall_us();
    if (now - w->last_maintenance_us > MAINTAIN_EVERY_US && w->db) {
        worker_maintain(w);
        w->last_maintenance_us = now;
    }
    int64_t t = t0;
    worker_stage_done(w, WORKER_STAGE_IDLE, &t);
    if (w->batch_end_us) /* not part of the next batch's "collect" */
        w->batch_end_us += t - t0;
}

static kafka_consumer *worker_consumer_new(worker *w, char *err, size_t errsz)
{
    const ruth_config *cfg = w->cfg;
    kafka_consumer_conf kconf = {
        .bootstrap_servers = cfg->kafka_bootstrap_servers,
        .client_id = "ruth-worker",
        .group = cfg->worker_group,
        .topic = cfg->topic_inference,
        .second_topic = cfg->topic_deepstream, /* NULL: off */
        .dlq_topic = cfg->topic_dlq,
        .batch_max = cfg->worker_batch_max,
        .batch_ms = cfg->worker_batch_ms,
        .max_message_bytes = cfg->max_message_bytes,
        .stall_sec = cfg->stall_sec,
        .reg = w->reg,
        .metric_prefix = "ruth_worker",
        .on_batch = worker_on_batch,
        .on_end = worker_on_end,
        .on_idle = worker_on_idle,
        .idle_every_ms = SWEEP_EVERY_MS,
        .arg = w,
    };
    return kafka_consumer_new(&kconf, err, errsz);
}

int main(int argc, char **argv)
{
    ruth_config cfg;
    int st = config_startup(argc, argv, CFG_WORKER, "ruth-worker", usage, &cfg);
    if (st)
        return st == 1 ? 0 : 2;
    shutdown_install();
    int rc = 1;
    char err[512];
    worker w = {0};
    w.cfg = &cfg;
    w.stmts = pg_stmts_new();
    w.reg = metrics_new();
    worker_metrics_init(&w);
    ops_http *ops = NULL;

    w.codec = codec_new(cfg.schema_registry_url, err, sizeof err);
    if (!w.codec) {
        log_error("%s", err);
        goto done;
    }
    /* Before the HTTP thread, which reads w.kc for /ready. */
    w.kc = worker_consumer_new(&w, err, sizeof err);
    if (!w.kc) {
        log_error("%s", err);
        goto done;
    }
    w.producer = kafka_consumer_producer(w.kc); /* borrowed */
    ops = ops_http_start(cfg.metrics_port, w.reg, worker_ready, &w, err, sizeof err);
    if (!ops) {
        log_error("%s", err);
        goto done;
    }
    {
        log_ctx ctx = LOG_CTX_INIT;
        char extra[64];
        snprintf(extra, sizeof extra, "\"metrics_port\":%d", ops_http_port(ops));
        ctx.extra_json = extra;
        log_at(LOG_INFO, &ctx, "serving /health, /ready and /metrics on port %d",
               ops_http_port(ops));
    }
    if (kafka_consumer_wait_topics(w.kc, &cfg)) {
        rc = 0; /* stopped while waiting */
        goto done;
    }
    worker_db_connect(&w); /* retried per batch when it fails */
    if (kafka_consumer_run(w.kc) == 0)
        rc = 0;
    worker_publish_tidy(&w, true); /* the published outbox rows, while the producer lives */
    log_info("stopping: leaving the consumer group");

done:
    /* Leaving the group revokes our partitions; the revoke commits the last
     * batch's offsets synchronously. */
    kafka_consumer_destroy(w.kc);
    worker_publish_free(&w);
    w.producer = NULL;
    worker_forget_events(&w);
    free(w.events);
    worker_input_free(&w);
    ops_http_stop(ops);
    pg_close(w.db);
    pg_stmts_free(w.stmts);
    worker_caches_free(&w);
    codec_destroy(w.codec);
    metrics_destroy(w.reg);
    config_free(&cfg);
    log_info("stopped");
    return rc;
}
