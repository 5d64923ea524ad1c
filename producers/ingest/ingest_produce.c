/* ingest_produce.c - see ingest_produce.h. */
#include "ingest_produce.h"

#include "clock.h"
#include "ingest_acks.h"
#include "ingest_codecs.h"
#include "ingest_items.h"
#include "kafka.h"
#include "log.h"
#include "xmalloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bad items listed in a 400 at most (the count says how many there were). */
#define PRODUCE_MAX_LISTED 100

bool ingest_produce_error_field(const codec_error *err, char *out, size_t n)
{
    switch (err->code) {
    case CODEC_E_MISSING_FIELD:
    case CODEC_E_WRONG_TYPE:
    case CODEC_E_INVALID_VALUE:
    case CODEC_E_INVALID_UTF8:
    case CODEC_E_TOO_LARGE:
        break;
    case CODEC_E_CLOCK_SKEW:
        snprintf(out, n, "timestamp");
        return true;
    default: /* framing, syntax, schema: the item as a whole */
        return false;
    }
    const char *m = err->message;
    size_t k = 0;
    while (m[k] && (isalnum((unsigned char)m[k]) || m[k] == '_' || m[k] == '.' || m[k] == '[' ||
                    m[k] == ']'))
        k++;
    /* A field is a lower-case identifier followed by a space and the verdict
     * ("bounding_boxes[2].width is negative"); "result of 2000 bytes ...",
     * "item must be a JSON object" and "more than 1000 bounding_boxes" name
     * none. */
    if (k == 0 || k >= n || m[k] != ' ' || !islower((unsigned char)m[0]) ||
        !strncmp(m, "result ", 7) || !strncmp(m, "item ", 5) || !strncmp(m, "more ", 5) ||
        !strncmp(m, "payload ", 8))
        return false;
    memcpy(out, m, k);
    out[k] = '\0';
    return true;
}

/* One item: decoded and checked, or its error. */
typedef struct produce_item {
    inference_result res;
    bool ok;
} produce_item;

/* Decode and validate items[0..n) into `pi`; the bad ones are appended to
 * `bad` (a JSON array). Returns how many are bad, or -1 when the codec
 * could not tell (schema registry unreachable: transient). */
static long produce__validate(ingest_req *r, codec *c, bool json, const ingest_item *items,
                              size_t n, produce_item *pi, json_t *bad)
{
    const ruth_config *cfg = r->g->cfg;
    int64_t now = clock_wall_us();
    /* As the worker decodes it: model_id may be left to the camera's
     * inference session and timestamp to the record's time (the bytes go
     * to Kafka unchanged, so the worker fills them the same way); camera_id
     * is required here, since it is the Kafka key. */
    const codec_decode_opts opts = {
        .default_timestamp_us = now,
        .has_default_timestamp = true,
        .model_id_optional = true,
    };
    long nbad = 0;
    for (size_t i = 0; i < n; i++) {
        codec_error err = {0};
        int rc;
        if (json && (!items[i].len || items[i].p[0] != '{'))
            rc = codec_error_set(&err, CODEC_E_WRONG_TYPE, "item must be a JSON object");
        else if (items[i].len > (size_t)cfg->max_message_bytes)
            rc = codec_error_set(&err, CODEC_E_TOO_LARGE, "result of %zu bytes exceeds %d bytes",
                                 items[i].len, cfg->max_message_bytes);
        else
            rc = codec_decode_inference_opts(c, items[i].p, items[i].len, &opts, &pi[i].res, &err);
        if (rc == 0 &&
            codec_check_skew(pi[i].res.timestamp_us, now, cfg->max_clock_skew_sec, &err) != 0) {
            inference_result_free(&pi[i].res);
            rc = -1;
        }
        if (rc == 0) {
            pi[i].ok = true;
            continue;
        }
        if (codec_error_is_transient(err.code)) {
            log_ctx ctx = LOG_CTX_INIT;
            ctx.request_id = r->request_id;
            log_at(LOG_WARN, &ctx, "cannot validate yet: %s", err.message);
            return -1;
        }
        if (nbad++ < PRODUCE_MAX_LISTED) {
            char field[128];
            bool has = ingest_produce_error_field(&err, field, sizeof field);
            json_array_append_new(bad,
                                  json_pack("{s:I, s:s?, s:s, s:s}", "index", (json_int_t)i,
                                            "field", has ? field : NULL, "code",
                                            codec_errcode_name(err.code), "message", err.message));
        }
    }
    return nbad;
}

/* Produce every item keyed by its camera, pointing into the request body
 * (which the wait keeps until the last report: no copy), and suspend the
 * request until the broker answered (ingest_acks.h). */
static void produce__send(ingest_req *r, const ingest_item *items, const produce_item *pi, size_t n)
{
    ingest *g = r->g;
    const char *topic = g->cfg->topic_inference;
    ingest_wait *w = ingest_acks_begin(r, n); /* takes r->body; items still point into it */
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (size_t i = 0; i < n && !e; i++) {
        const char *key = pi[i].res.camera_id;
        e = rd_kafka_producev(
            g->producer, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)items[i].p, items[i].len), RD_KAFKA_V_MSGFLAGS(0),
            RD_KAFKA_V_OPAQUE(ingest_acks_hold(w)), RD_KAFKA_V_END);
        if (e)
            ingest_acks_unhold(w); /* the refused message's */
    }
    if (e) {
        ingest_acks_abandon(r); /* reports of what went out still arrive */
        log_ctx ctx = LOG_CTX_INIT;
        ctx.request_id = r->request_id;
        log_at(LOG_WARN, &ctx, "cannot produce to %s: %s", topic, rd_kafka_err2str(e));
        ingest_unavailable(
            r, e == RD_KAFKA_RESP_ERR__QUEUE_FULL ? "producer queue full" : rd_kafka_err2str(e),
            "Kafka did not take the %zu results; retry later", n);
        return;
    }
    ingest_acks_commit(r); /* the delivery reports answer from here */
}

void ingest_produce_request(ingest_req *r, const char *content_type)
{
    ingest *g = r->g;
    size_t max = (size_t)g->cfg->ingest_max_batch;
    ingest_item *items = xcalloc(max, sizeof *items);
    produce_item *pi = NULL;
    codec *c = NULL;
    json_t *bad = NULL;
    size_t n = 0;
    bool batch = false; /* an array (not reported: the answer is the same) */
    char why[160];
    bool avro = ingest_items_is_avro(content_type);
    if (avro) {
        items[0] = (ingest_item){r->body.data, r->body.len};
        n = 1;
    } else {
        switch (
            ingest_items_json(r->body.data, r->body.len, items, max, &n, &batch, why, sizeof why)) {
        case INGEST_ITEMS_OK:
            break;
        case INGEST_ITEMS_MALFORMED:
            ingest_error(r, 400, "VALIDATION_ERROR", json_pack("{s:s}", "body", why),
                         "the request body is not valid: %s", why);
            goto failed;
        case INGEST_ITEMS_EMPTY:
            ingest_error(r, 400, "VALIDATION_ERROR",
                         json_pack("{s:s}", "body", "the array holds no results"),
                         "the request body holds no results");
            goto failed;
        case INGEST_ITEMS_TOO_MANY:
            ingest_error(r, 413, "PAYLOAD_TOO_LARGE",
                         json_pack("{s:I}", "max_items", (json_int_t)max),
                         "a request holds at most %zu results (RUTH_INGEST_MAX_BATCH)", max);
            goto failed;
        }
    }
    char err[256];
    c = ingest_codecs_take(&g->codecs, err, sizeof err);
    if (!c) {
        log_error("%s", err);
        ingest_error(r, 500, "INTERNAL_ERROR", NULL, "the results could not be validated");
        goto failed;
    }
    pi = xcalloc(n, sizeof *pi);
    bad = json_array();
    long nbad = produce__validate(r, c, !avro, items, n, pi, bad);
    if (nbad < 0) {
        ingest_unavailable(r, "schema registry unavailable",
                           "the %zu results cannot be validated now; retry later", n);
    } else if (nbad > 0) {
        metric_add(g->m_rejected, (double)nbad);
        ingest_error(r, 400, "VALIDATION_ERROR",
                     json_pack("{s:o, s:I, s:I}", "items", bad, "invalid_items", (json_int_t)nbad,
                               "total_items", (json_int_t)n),
                     "%ld of %zu results are invalid; nothing was accepted", nbad, n);
        bad = NULL; /* stolen by json_pack's "o" */
    } else if (atomic_load(&g->stopping)) {
        ingest_unavailable(r, "shutting down", "ruth-ingest is stopping; %zu results not taken", n);
    } else if (!atomic_load(&g->broker_ok)) {
        ingest_unavailable(r, "Kafka unreachable", "Kafka is unreachable; %zu results not taken",
                           n);
    } else {
        produce__send(r, items, pi, n);
    }
failed:
    if (pi)
        for (size_t i = 0; i < n; i++)
            if (pi[i].ok)
                inference_result_free(&pi[i].res);
    free(pi);
    json_decref(bad);
    ingest_codecs_put(&g->codecs, c);
    free(items);
}
