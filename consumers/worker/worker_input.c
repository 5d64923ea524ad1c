/* worker_input.c - what ruth-worker accepts, and how the fields a runtime
 * leaves out are filled.
 *
 * The format is the topic's, never guessed: RUTH_TOPIC_INFERENCE carries
 * InferenceResults (Confluent or single-object Avro, or JSON with the proto3
 * names and the contract's error payloads, codec_json_runtime.c),
 * RUTH_TOPIC_DEEPSTREAM nvmsgconv JSON (codec_deepstream.c).
 *
 * Absent fields, in this order (each counted in a metric):
 *   camera_id  the Kafka key (the topic is keyed by camera_id);
 *   timestamp  the Kafka record's timestamp;
 *   model_id   the model of the camera's active inference session
 *              (cameras.inference_model_id, set by start-inference); a
 *              DeepStream result without analyticsModule and without a
 *              session gets "deepstream". Only when there is none is the
 *              result invalid (MISSING_FIELD).
 * A DeepStream sensor id is a camera's VAS device id (cameras.vas_device_id)
 * or else the camera id itself. */
#include "worker_input.h"

#include "codec_arena.h"
#include "log.h"
#include "worker_cache.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEEPSTREAM_DEFAULT_MODEL "deepstream"

void worker_input_metrics_init(worker *w)
{
    metrics *r = w->reg;
    w->m.unknown_fields = metrics_counter(
        r, "ruth_worker_unknown_fields_total",
        "Top-level input fields the worker does not know, kept in events.extra.", NULL);
    w->m.timestamp_defaulted =
        metrics_counter(r, "ruth_worker_timestamp_defaulted_total",
                        "Results without a timestamp, given their Kafka record's time.", NULL);
    w->m.model_defaulted = metrics_counter(
        r, "ruth_worker_model_defaulted_total",
        "Results without a model_id, given their camera's inference session model.", NULL);
    w->m.camera_defaulted =
        metrics_counter(r, "ruth_worker_camera_defaulted_total",
                        "Results without a camera_id, given their Kafka key.", NULL);
    w->m.deepstream_objects =
        metrics_counter(r, "ruth_worker_deepstream_objects_total",
                        "Objects of DeepStream messages that became events.", NULL);
}

void worker_input_free(worker *w)
{
    free(w->ds_results);
    w->ds_results = NULL;
}

/* Room for `more` events after the ones decoded. */
static void input__reserve(worker *w, size_t more)
{
    if (w->nevents + more <= w->capevents)
        return;
    size_t cap = w->capevents ? w->capevents : 64;
    while (cap < w->nevents + more)
        cap *= 2;
    w->events = xrealloc(w->events, cap * sizeof *w->events);
    w->capevents = cap;
}

/* What the transport knows. `key` holds the NUL-terminated Kafka key. */
static void input__opts(const rd_kafka_message_t *m, char *key, size_t keysz, codec_decode_opts *o)
{
    memset(o, 0, sizeof *o);
    if (m->key && m->key_len > 0 && m->key_len < keysz && !memchr(m->key, 0, m->key_len)) {
        memcpy(key, m->key, m->key_len);
        key[m->key_len] = '\0';
        o->default_camera_id = key;
    }
    rd_kafka_timestamp_type_t tt;
    int64_t ms = rd_kafka_message_timestamp(m, &tt);
    if (ms >= 0 && tt != RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) {
        o->default_timestamp_us = ms * 1000;
        o->has_default_timestamp = true;
    }
    o->model_id_optional = true;
}

/* The cameras cache, loaded once before the first lookup. -1 while the
 * database has never answered (retry the batch). */
static int input__caches(worker *w, int64_t now_us)
{
    char err[512];
    if (worker_db_connect(w) &&
        worker_cache_load(w, now_us, w->rules_version, err, sizeof err) == 0)
        return 0;
    return w->caches_loaded_us ? 0 : -1; /* a stale cache is good enough */
}

#define SESSION_RELOAD_US 1000000 /* a session miss reloads the caches at most this often */

/* A camera without a known session may have had one started since the last
 * reload (start-inference, then results at once): reload now unless that was
 * under a second ago. 0 when the caches are that fresh, -1 when the
 * database cannot say (retry the batch rather than dead-letter). */
static int input__reload_sessions(worker *w, int64_t now_us)
{
    if (now_us - w->caches_loaded_us < SESSION_RELOAD_US)
        return 0;
    char err[512];
    return worker_db_connect(w) && worker_cache_reload(w, now_us, err, sizeof err) == 0 ? 0 : -1;
}

/* Fill camera (DeepStream) and model of a decoded result, count what was
 * defaulted, validate. 0, 1 (invalid, err), -1 (retry). */
static int input__complete(worker *w, inference_result *r, bool deepstream, int64_t now_us,
                           codec_error *err)
{
    codec_arena *a = r->arena__;
    if ((deepstream || !r->model_id) && input__caches(w, now_us))
        return -1;
    if (deepstream) {
        const char *cam = worker_cache_camera_for_sensor(w, r->camera_id);
        if (cam)
            r->camera_id = codec_arena_strndup(a, cam, strlen(cam));
    }
    if (!r->model_id) {
        const char *model = worker_cache_session_model(w, r->camera_id);
        if (!model) {
            if (input__reload_sessions(w, now_us))
                return -1;
            model = worker_cache_session_model(w, r->camera_id);
        }
        if (!model && deepstream)
            model = DEEPSTREAM_DEFAULT_MODEL;
        if (!model) {
            codec_error_set(err, CODEC_E_MISSING_FIELD,
                            "model_id is required: absent, and camera %.128s has no active "
                            "inference session",
                            r->camera_id);
            return 1;
        }
        r->model_id = codec_arena_strndup(a, model, strlen(model));
        metric_inc(w->m.model_defaulted);
    }
    if (codec_validate_inference(r, err))
        return 1;
    if (r->defaulted & CODEC_DEFAULTED_TIMESTAMP)
        metric_inc(w->m.timestamp_defaulted);
    if (r->defaulted & CODEC_DEFAULTED_CAMERA)
        metric_inc(w->m.camera_defaulted);
    metric_add(w->m.unknown_fields, (double)r->nunknown);
    return 0;
}

/* The results of one decoded message into the batch: identify each, or
 * release them all when one is refused. */
static int input__append(worker *w, rd_kafka_message_t *m, inference_result *rs, size_t n,
                         bool deepstream, int64_t now_us, codec_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = input__complete(w, &rs[i], deepstream, now_us, err);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            inference_result_free(&rs[i]);
        return rc;
    }
    input__reserve(w, n);
    for (size_t i = 0; i < n; i++) {
        worker_event *e = &w->events[w->nevents++];
        memset(e, 0, sizeof *e);
        e->r = rs[i]; /* the arena moves with it */
        worker_events_identify(e, m);
        e->msg = m;
    }
    if (deepstream)
        metric_add(w->m.deepstream_objects, (double)n);
    return 0;
}

int worker_input_decode(worker *w, rd_kafka_message_t *m, int64_t now_us, codec_error *err,
                        const char **stage)
{
    *stage = "decode";
    if (m->len > (size_t)w->cfg->max_message_bytes) {
        codec_error_set(err, CODEC_E_TOO_LARGE, "payload of %zu bytes exceeds %d", m->len,
                        w->cfg->max_message_bytes);
        return 1;
    }
    const char *ds = w->cfg->topic_deepstream;
    bool deepstream = ds && *ds && !strcmp(rd_kafka_topic_name(m->rkt), ds);
    char key[CODEC_MAX_STRING + 1];
    codec_decode_opts opts;
    input__opts(m, key, sizeof key, &opts);
    inference_result one, *rs = &one;
    size_t n = 1;
    int rc;
    if (deepstream) {
        if (!w->ds_results)
            w->ds_results = xcalloc(CODEC_MAX_BOXES, sizeof *w->ds_results);
        rs = w->ds_results;
        rc = codec_decode_deepstream(w->codec, m->payload, m->len, &opts, rs, CODEC_MAX_BOXES, &n,
                                     err);
    } else {
        rc = codec_decode_inference_opts(w->codec, m->payload, m->len, &opts, &one, err);
    }
    if (rc) {
        if (codec_error_is_transient(err->code)) {
            log_ctx ctx = kafka_consumer_msg_ctx(m);
            log_at(LOG_WARN, &ctx, "cannot decode yet: %s", err->message);
            return -1;
        }
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (codec_check_skew(rs[i].timestamp_us, now_us, w->cfg->max_clock_skew_sec, err)) {
            *stage = "validate";
            for (size_t k = 0; k < n; k++)
                inference_result_free(&rs[k]);
            return 1;
        }
    }
    rc = input__append(w, m, rs, n, deepstream, now_us, err);
    if (rc == 1)
        *stage = "validate";
    return rc;
}
