/* ruth-evidence - snapshots and video bookmarks on VAS for every violation
 * (ARCHITECTURE §6).
 *
 * The consumer loop (common/kafka_consumer.c) reads EvidenceRequests from
 * RUTH_TOPIC_EVIDENCE in group RUTH_EVIDENCE_GROUP and only schedules them
 * (evidence_intake.c); step threads do the VAS work (evidence_steps.c);
 * a sync thread copies VAS devices and streams into cameras
 * (evidence_sync.c). */
#include "evidence.h"

#include "clock.h"
#include "log.h"
#include "ops_http.h"
#include "outbox.h"
#include "pg.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>

static const char usage[] =
    "usage: ruth-evidence\n"
    "\n"
    "Consumes EvidenceRequests from RUTH_TOPIC_EVIDENCE in consumer group\n"
    "RUTH_EVIDENCE_GROUP and has VAS (VAS_BASE_URL) take a snapshot and a video\n"
    "bookmark for each violation, retrying through VAS outages behind a circuit\n"
    "breaker; records VAS ids, URLs and status in PostgreSQL and publishes\n"
    "evidence_ready / evidence_failed ViolationChanges. Copies VAS devices and\n"
    "streams into cameras. Serves /health, /ready and /metrics on\n"
    "RUTH_METRICS_PORT. Stops cleanly on SIGTERM. Exit status: 0 after a clean\n"
    "stop, 1 on a start-up failure, 2 on a configuration error.";

#define INTAKE_BATCH_MAX 500
#define INTAKE_BATCH_MS 50

static bool evidence_ready(void *arg, char *reason, size_t n)
{
    evidence *e = arg;
    if (!kafka_consumer_ready(e->kc, reason, n))
        return false;
    if (!atomic_load(&e->db_ok)) {
        snprintf(reason, n, "PostgreSQL unavailable");
        return false;
    }
    evidence_breaker_state s = evidence_breaker_state_at(&e->breaker, clock_mono_s());
    if (s != BREAKER_CLOSED) {
        snprintf(reason, n, "VAS circuit breaker %s", evidence_breaker_state_name(s));
        return false;
    }
    return true;
}

static void evidence_metrics_init(evidence *e)
{
    metrics *r = e->reg;
    e->m.requests = metrics_counter(r, "ruth_evidence_requests_total",
                                    "EvidenceRequests recorded for processing.", NULL);
    e->m.ready = metrics_counter(r, "ruth_evidence_items_total",
                                 "Evidence items that reached a final state, by status.",
                                 "status=\"ready\"");
    e->m.failed = metrics_counter(r, "ruth_evidence_items_total",
                                  "Evidence items that reached a final state, by status.",
                                  "status=\"failed\"");
    e->m.pending = metrics_gauge(r, "ruth_evidence_items",
                                 "Evidence items not final yet, by status (all replicas, counted "
                                 "every 10 s).",
                                 "status=\"pending\"");
    e->m.processing =
        metrics_gauge(r, "ruth_evidence_items",
                      "Evidence items not final yet, by status (all replicas, counted "
                      "every 10 s).",
                      "status=\"processing\"");
    e->m.retries = metrics_counter(r, "ruth_evidence_vas_retries_total",
                                   "Failed VAS calls scheduled to be tried again.", NULL);
    e->m.breaker_state = metrics_gauge(r, "ruth_evidence_vas_breaker_state",
                                       "VAS circuit breaker: 0 closed, 1 open, 2 half-open.", NULL);
    e->m.step_seconds = metrics_histogram(r, "ruth_evidence_step_seconds",
                                          "Time of one VAS step of one evidence item.", NULL,
                                          metrics_latency_buckets, metrics_latency_nbuckets);
}

/* Between batches: outbox rows a crashed or failed relay left. */
/* Evidence not final yet, for the dashboard: a count over the table (its
 * pending and processing rows, few beside the final ones) every 10 s. */
static void evidence_count_open(evidence *e)
{
    if (clock_mono_s() - e->m.counted_at < 10)
        return;
    e->m.counted_at = clock_mono_s();
    char err[256];
    PGresult *res = pg_exec_params(e->db,
                                   "SELECT count(*) FILTER (WHERE status = 'pending'),"
                                   " count(*) FILTER (WHERE status = 'processing')"
                                   " FROM evidence WHERE status IN ('pending', 'processing')",
                                   0, NULL, NULL, err, sizeof err);
    if (res && PQntuples(res) == 1) {
        metric_set(e->m.pending, atof(PQgetvalue(res, 0, 0)));
        metric_set(e->m.processing, atof(PQgetvalue(res, 0, 1)));
    }
    PQclear(res);
}

static void evidence_on_idle(void *arg, kafka_consumer *kc)
{
    (void)kc;
    evidence *e = arg;
    if (evidence_db_connect(e)) {
        outbox_sweep(e->db, e->producer);
        evidence_count_open(e);
    }
}

static kafka_consumer *evidence_consumer_new(evidence *e, char *err, size_t errsz)
{
    const ruth_config *cfg = e->cfg;
    kafka_consumer_conf kconf = {
        .bootstrap_servers = cfg->kafka_bootstrap_servers,
        .client_id = "ruth-evidence",
        .group = cfg->evidence_group,
        .topic = cfg->topic_evidence,
        .dlq_topic = cfg->topic_dlq,
        .batch_max = INTAKE_BATCH_MAX,
        .batch_ms = INTAKE_BATCH_MS,
        .stall_sec = cfg->stall_sec,
        .reg = e->reg,
        .metric_prefix = "ruth_evidence",
        .on_batch = evidence_intake_batch,
        .on_idle = evidence_on_idle,
        .arg = e,
    };
    return kafka_consumer_new(&kconf, err, errsz);
}

static vas *evidence_vas_new(evidence *e, char *err, size_t errsz)
{
    vas_conf vc = {.base_url = e->cfg->vas_base_url,
                   .client_id = e->cfg->vas_client_id,
                   .client_secret = e->cfg->vas_client_secret,
                   .refresh_margin_sec = e->cfg->vas_token_refresh_margin_sec,
                   .reg = e->reg};
    return vas_new(&vc, err, errsz);
}

/* Everything but the threads; -1 with the reason logged. */
static int evidence_open(evidence *e, char *err, size_t errsz)
{
    e->vas = evidence_vas_new(e, err, errsz);
    if (!e->vas)
        return -1;
    e->codec = codec_new(e->cfg->schema_registry_url, err, errsz);
    if (!e->codec)
        return -1;
    e->kc = evidence_consumer_new(e, err, errsz);
    if (!e->kc)
        return -1;
    e->producer = kafka_consumer_producer(e->kc); /* borrowed */
    return 0;
}

int main(int argc, char **argv)
{
    ruth_config cfg;
    int st = config_startup(argc, argv, CFG_EVIDENCE, "ruth-evidence", usage, &cfg);
    if (st)
        return st == 1 ? 0 : 2;
    shutdown_install();
    int rc = 1;
    char err[512];
    evidence e = {.cfg = &cfg, .stmts = pg_stmts_new(), .reg = metrics_new()};
    e.dead = xcalloc(INTAKE_BATCH_MAX, 1);
    evidence_metrics_init(&e);
    evidence_breaker_init(&e.breaker, cfg.evidence_breaker_failures, cfg.evidence_breaker_open_sec);
    ops_http *ops = NULL;
    evidence_steps *steps = NULL;
    evidence_sync *sync = NULL;
    if (evidence_open(&e, err, sizeof err)) {
        log_error("%s", err);
        goto done;
    }
    ops = ops_http_start(cfg.metrics_port, e.reg, evidence_ready, &e, err, sizeof err);
    if (!ops) {
        log_error("%s", err);
        goto done;
    }
    log_info("serving /health, /ready and /metrics on port %d", ops_http_port(ops));
    if (kafka_consumer_wait_topics(e.kc, &cfg)) {
        rc = 0; /* stopped while waiting for Kafka */
        goto done;
    }
    evidence_db_connect(&e); /* retried per batch when it fails */
    steps = evidence_steps_start(&e, err, sizeof err);
    if (!steps) {
        log_error("%s", err);
        goto done;
    }
    sync = evidence_sync_start(&e);
    if (kafka_consumer_run(e.kc) == 0)
        rc = 0;
    log_info("stopping: leaving the consumer group");
done:
    shutdown_request(); /* the step and sync threads end with the consumer */
    ops_http_stop(ops); /* first: /ready reads the consumer */
    evidence_sync_join(sync);
    evidence_steps_join(steps);
    kafka_consumer_destroy(e.kc);
    pg_close(e.db);
    pg_stmts_free(e.stmts);
    codec_destroy(e.codec);
    vas_destroy(e.vas);
    evidence_breaker_destroy(&e.breaker);
    metrics_destroy(e.reg);
    free(e.dead);
    config_free(&cfg);
    log_info("stopped");
    return rc;
}
