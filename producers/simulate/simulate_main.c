/* ruth-simulate - simulated AI runtimes publishing inference results.
 *
 * N cameras at F frames/s each (or as fast as Kafka takes them) produce
 * InferenceResults (simulate_scenario.h) to the inference topic, keyed by
 * camera_id, as single-object Avro, Confluent-framed Avro or JSON. A fraction
 * of them can be deliberately malformed (simulate_malform.h) to exercise the
 * worker's dead-letter path. With --http the results go to ruth-ingest's
 * POST /v1/inference instead, in batches (simulate_http.h). Pacing is a token bucket refilled every
 * tick, so the rate holds without a sleep per message. Delivery reports are counted; the exit
 * status is non-zero when any message was not acknowledged.
 *
 * Exit status: 0 all delivered, 1 some message failed (or Kafka failed),
 * 2 usage or configuration error. */
#include "clock.h"
#include "config.h"
#include "kafka.h"
#include "kafka_admin.h"
#include "log.h"
#include "shutdown.h"
#include "simulate_args.h"
#include "simulate_encode.h"
#include "simulate_http.h"
#include "simulate_malform.h"
#include "simulate_scenario.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIM_TICK_MS 10
#define SIM_BATCH_UNPACED 512 /* results produced between polls at --fps 0 */
/* Header on deliberately malformed messages; the value names the kind. */
#define SIM_MALFORMED_HEADER "ruth-simulate-malformed"

/* Per-process context: everything the loop and the callbacks share. */
typedef struct sim_ctx {
    sim_args args;
    const ruth_config *cfg;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    sim_http *http; /* --http: the sink instead of rk */
    sim_encoder *enc;
    sim_scenario *scenario;
    sim_malform *malform;
    /* totals; delivery reports run in this thread (rd_kafka_poll) */
    uint64_t sent, acked, failed, malformed;
    uint64_t failed_logged;
    int64_t started_us; /* wall clock at the first result */
} sim_ctx;

static void sim__dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    sim_ctx *ctx = opaque;
    if (!m->err) {
        ctx->acked++;
        return;
    }
    ctx->failed++;
    /* One line per failure would drown the log when the broker goes away. */
    if (ctx->failed_logged < 10 || (ctx->failed & (ctx->failed - 1)) == 0) {
        ctx->failed_logged++;
        log_ctx lc = LOG_CTX_INIT;
        lc.topic = rd_kafka_topic_name(m->rkt);
        lc.partition = m->partition;
        log_at(LOG_ERROR, &lc, "delivery failed: %s (%" PRIu64 " failed so far)",
               rd_kafka_err2str(m->err), ctx->failed);
    }
}

/* Producer tuned for throughput: a deep local queue, batches of thousands,
 * lz4 (kafka_producer_new), idempotence so retries never duplicate. */
static int sim__producer_open(sim_ctx *ctx, char *err, size_t errsz)
{
    rd_kafka_conf_t *conf =
        kafka_conf_new(ctx->cfg->kafka_bootstrap_servers, "ruth-simulate", err, errsz);
    if (!conf)
        return -1;
    static const char *const props[][2] = {
        {"queue.buffering.max.messages", "1000000"},
        {"queue.buffering.max.kbytes", "1048576"},
        {"batch.num.messages", "10000"},
        {"batch.size", "1000000"},
        {"message.timeout.ms", "60000"},
    };
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        if (!kafka_conf_set(conf, props[i][0], props[i][1], err, errsz)) {
            rd_kafka_conf_destroy(conf);
            return -1;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, sim__dr_cb);
    rd_kafka_conf_set_opaque(conf, ctx);
    ctx->rk = kafka_producer_new(conf, err, errsz);
    conf = NULL; /* owned by kafka_producer_new, on success and failure */
    if (!ctx->rk)
        return -1;
    kafka_topic_spec topic = {ctx->args.topic, 0, 0, 0};
    if (kafka_admin_check_topics(ctx->rk, &topic, 1, 15000, err, errsz) != 0)
        return -1;
    ctx->rkt = rd_kafka_topic_new(ctx->rk, ctx->args.topic, NULL);
    if (!ctx->rkt) {
        snprintf(err, errsz, "cannot create topic handle for %s: %s", ctx->args.topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    return 0;
}

/* Hand one message to librdkafka; a full local queue is drained by polling
 * (which also serves delivery reports) and the message retried. A malformed
 * message carries a header naming how it was broken, so tests and operators
 * can match dead letters to causes. Returns false when it could not be
 * queued. */
static bool sim__produce(sim_ctx *ctx, const void *val, size_t vlen, const char *key,
                         sim_malform_kind bad)
{
    for (;;) {
        rd_kafka_resp_err_t err;
        if (bad == SIM_MAL_NONE) {
            err = rd_kafka_producev(ctx->rk, RD_KAFKA_V_RKT(ctx->rkt),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_VALUE((void *)val, vlen),
                                    RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_END);
        } else {
            const char *name = sim_malform_kind_name(bad);
            err = rd_kafka_producev(
                ctx->rk, RD_KAFKA_V_RKT(ctx->rkt), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_KEY(key, strlen(key)),
                RD_KAFKA_V_HEADER(SIM_MALFORMED_HEADER, name, (ssize_t)strlen(name)),
                RD_KAFKA_V_END);
        }
        if (!err)
            return true;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !shutdown_requested()) {
            rd_kafka_poll(ctx->rk, 5);
            continue;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            log_ctx lc = LOG_CTX_INIT;
            lc.topic = ctx->args.topic;
            lc.camera_id = key;
            log_at(LOG_ERROR, &lc, "cannot produce: %s", rd_kafka_err2str(err));
        }
        return false;
    }
}

/* --http: the sink's totals are the run's. */
static void sim__http_totals(sim_ctx *ctx)
{
    if (!ctx->http)
        return;
    sim_http_stats st = sim_http_stats_get(ctx->http);
    ctx->acked = st.acked;
    ctx->failed = st.failed;
}

static int sim__queued(const sim_ctx *ctx)
{
    return ctx->http ? (int)sim_http_stats_get(ctx->http).pending : rd_kafka_outq_len(ctx->rk);
}

/* Wait up to ms serving delivery reports (Kafka), or post a batch that
 * waited long enough (--http). */
static void sim__serve(sim_ctx *ctx, int ms)
{
    if (!ctx->http) {
        rd_kafka_poll(ctx->rk, ms);
        return;
    }
    sim_http_tick(ctx->http);
    if (ms > 0)
        usleep((useconds_t)ms * 1000);
}

static void sim__progress(sim_ctx *ctx, double elapsed, double rate, bool final)
{
    sim__http_totals(ctx);
    fprintf(stderr,
            "ruth-simulate: %s%.1fs  %.0f msg/s  sent %" PRIu64 "  acked %" PRIu64
            "  failed %" PRIu64 "  malformed %" PRIu64 "  queued %d\n",
            final ? "done " : "", elapsed, rate, ctx->sent, ctx->acked, ctx->failed, ctx->malformed,
            sim__queued(ctx));
}

/* Produce one result (maybe malformed). false when it could not be queued. */
static bool sim__one(sim_ctx *ctx, sim_frame *f, buf *msg, int64_t now_us)
{
    char key[sizeof f->camera_id];
    sim_scenario_next(ctx->scenario, now_us, f);
    if (!ctx->started_us)
        ctx->started_us = now_us;
    if (ctx->args.silent_camera == f->camera_index + 1 &&
        now_us - ctx->started_us >= (int64_t)(ctx->args.silent_after * 1e6))
        return true; /* this camera has gone silent: its frame is never sent */
    memcpy(key, f->camera_id, sizeof key); /* the key stays the camera's, whatever breaks */
    sim_malform_kind bad = sim_malform_pick(ctx->malform);
    if (bad)
        sim_malform_frame(ctx->malform, bad, f);
    char err[256];
    if (sim_encode(ctx->enc, f, msg, err, sizeof err) != 0) {
        log_error("cannot encode result %" PRIu64 " of %s: %s", ctx->sent, key, err);
        shutdown_request();
        return false;
    }
    if (bad && !sim_malform_bytes(ctx->malform, bad, msg)) {
        log_error("cannot make a %s message from result %" PRIu64 " of %s",
                  sim_malform_kind_name(bad), ctx->sent, key);
        shutdown_request();
        return false;
    }
    if (ctx->http)
        sim_http_add(ctx->http, msg->data, msg->len);
    else if (!sim__produce(ctx, msg->data, msg->len, key, bad))
        return false;
    ctx->sent++;
    ctx->malformed += bad != SIM_MAL_NONE;
    return true;
}

static int sim__run(sim_ctx *ctx)
{
    const sim_args *a = &ctx->args;
    sim_frame *f = xmalloc(sizeof *f);
    buf msg = {0};
    double start = clock_mono_s(), last_tick = start, next_report = start + 1;
    double rate = a->fps * a->cameras; /* messages per second; 0 = unpaced */
    double tokens = 0;
    uint64_t last_sent = 0;
    double last_report = start;

    while (!shutdown_requested()) {
        double now = clock_mono_s();
        if (a->duration > 0 && now - start >= a->duration)
            break;
        if (a->count && ctx->sent >= a->count)
            break;

        uint64_t n;
        if (rate > 0) {
            /* Refill by elapsed time; a burst never exceeds one tick's worth
             * plus one frame per camera, so a stall is not caught up at once. */
            tokens += (now - last_tick) * rate;
            last_tick = now;
            double cap = rate * SIM_TICK_MS / 1000.0 + a->cameras;
            if (tokens > cap)
                tokens = cap;
            n = (uint64_t)tokens;
            tokens -= (double)n;
        } else {
            n = SIM_BATCH_UNPACED;
        }
        if (a->count && n > a->count - ctx->sent)
            n = a->count - ctx->sent;

        int64_t now_us = clock_wall_us();
        for (uint64_t i = 0; i < n && !shutdown_requested(); i++) {
            if (!sim__one(ctx, f, &msg, now_us))
                break;
        }
        if (rate > 0) {
            /* Sleep to the next tick inside poll, serving delivery reports. */
            double wait_ms = (last_tick + SIM_TICK_MS / 1000.0 - clock_mono_s()) * 1000;
            sim__serve(ctx, wait_ms > 1 ? (int)wait_ms : 0);
        } else {
            sim__serve(ctx, 0);
        }

        now = clock_mono_s();
        if (now >= next_report) {
            if (!a->quiet)
                sim__progress(ctx, now - start, (ctx->sent - last_sent) / (now - last_report),
                              false);
            last_sent = ctx->sent;
            last_report = now;
            next_report = now + 1;
        }
    }

    /* Flush what is queued; on a signal too, so nothing sent is lost. */
    double produced_at = clock_mono_s();
    if (!a->quiet && sim__queued(ctx) > 0)
        fprintf(stderr, "ruth-simulate: flushing %d queued messages\n", sim__queued(ctx));
    int left = 0;
    if (ctx->http) {
        sim_http_flush(ctx->http);
        sim__http_totals(ctx);
    } else {
        rd_kafka_flush(ctx->rk, 60000);
        left = rd_kafka_outq_len(ctx->rk);
    }
    if (left > 0) {
        log_error("%d messages still unacknowledged after 60 s; counted as failed", left);
        ctx->failed += (uint64_t)left;
    }
    double end = clock_mono_s();
    double elapsed = end - start;
    double rate_sent = ctx->sent / (produced_at - start > 0 ? produced_at - start : 1e-9);
    double rate_acked = ctx->acked / (elapsed > 0 ? elapsed : 1e-9);
    sim__progress(ctx, elapsed, rate_acked, true);

    char extra[512];
    snprintf(extra, sizeof extra,
             "\"summary\":true,\"sent\":%" PRIu64 ",\"acked\":%" PRIu64 ",\"failed\":%" PRIu64
             ",\"malformed\":%" PRIu64 ",\"elapsed_s\":%.3f,\"rate_sent\":%.1f,"
             "\"rate_acked\":%.1f,\"format\":\"%s\",\"cameras\":%d,\"seed\":%" PRIu64
             ",\"sink\":\"%s\"",
             ctx->sent, ctx->acked, ctx->failed, ctx->malformed, elapsed, rate_sent, rate_acked,
             a->format_name, a->cameras, a->seed, ctx->http ? "http" : "kafka");
    log_ctx lc = LOG_CTX_INIT;
    lc.topic = a->topic;
    lc.extra_json = extra;
    log_at(ctx->failed ? LOG_ERROR : LOG_INFO, &lc, "simulation finished");

    buf_free(&msg);
    free(f);
    return ctx->failed || ctx->acked != ctx->sent ? 1 : 0;
}

int main(int argc, char **argv)
{
    sim_ctx ctx = {0};
    int rc = sim_args_parse(argc, argv, &ctx.args);
    if (rc)
        return rc == 1 ? 0 : 2;

    ruth_config cfg = {0};
    char *cargv[] = {argv[0], NULL};
    rc = config_startup(1, cargv, CFG_SIMULATE, "ruth-simulate", sim_args_usage, &cfg);
    if (rc)
        return rc == 1 ? 0 : 2;
    ctx.cfg = &cfg;
    if (!ctx.args.topic)
        ctx.args.topic = cfg.topic_inference;
    shutdown_install();

    char err[1024] = "";
    rc = 1;
    if (ctx.args.format == SIM_FORMAT_AVRO_CONFLUENT &&
        (!cfg.schema_registry_url || !*cfg.schema_registry_url)) {
        fprintf(stderr, "ruth-simulate: --format avro-confluent needs SCHEMA_REGISTRY_URL (a "
                        "Confluent-compatible Schema Registry to register the InferenceResult "
                        "schema with); use --format avro without one\n");
        rc = 2;
        goto failed;
    }
    ctx.enc = sim_encoder_new(ctx.args.format, &cfg, err, sizeof err);
    if (!ctx.enc) {
        fprintf(stderr, "ruth-simulate: %s\n", err);
        log_error("%s", err);
        goto failed;
    }

    sim_options so;
    sim_options_default(&so);
    so.cameras = ctx.args.cameras;
    so.seed = ctx.args.seed;
    so.camera_prefix = ctx.args.camera_prefix;
    so.model_id = ctx.args.model_id;
    so.result_ids = ctx.args.result_ids;
    so.zone_split = ctx.args.zones;
    ctx.scenario = sim_scenario_new(&so);
    ctx.malform = sim_malform_new(ctx.args.format, ctx.args.malformed_fraction, ctx.args.seed);

    if (ctx.args.http_url) {
        ctx.http = sim_http_new(ctx.args.http_url, ctx.args.http_batch, cfg.ingest_key,
                                cfg.jwt_secret_key, err, sizeof err);
        if (!ctx.http) {
            fprintf(stderr, "ruth-simulate: %s\n", err);
            rc = 2;
            goto failed;
        }
    } else if (sim__producer_open(&ctx, err, sizeof err) != 0) {
        fprintf(stderr, "ruth-simulate: %s\n", err);
        log_error("%s", err);
        goto failed;
    }
    log_info("simulating %d cameras at %g fps each (%s), format %s, seed %" PRIu64
             ", malformed fraction %g, to %s",
             ctx.args.cameras, ctx.args.fps, ctx.args.fps > 0 ? "paced" : "as fast as possible",
             ctx.args.format_name, ctx.args.seed, ctx.args.malformed_fraction,
             ctx.args.http_url ? ctx.args.http_url : ctx.args.topic);
    rc = sim__run(&ctx);

failed:
    if (ctx.rkt)
        rd_kafka_topic_destroy(ctx.rkt);
    if (ctx.rk)
        rd_kafka_destroy(ctx.rk);
    sim_http_free(ctx.http);
    sim_malform_free(ctx.malform);
    sim_scenario_free(ctx.scenario);
    sim_encoder_free(ctx.enc);
    config_free(&cfg);
    return rc;
}
