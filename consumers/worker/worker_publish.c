/* worker_publish.c - what the worker publishes: Event messages (produced
 * inside the batch's transaction and acknowledged before COMMIT) and the
 * outbox rows it wrote (relayed after COMMIT), plus the sweep of rows left
 * by crashed writers. */
#include "worker_publish.h"

#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "xmalloc.h"

#include <stdatomic.h>

/* Produce and wait for every acknowledgement; -1 if any delivery failed. */
int worker_publish_flush(worker *w)
{
    if (rd_kafka_flush(w->producer, OUTBOX_FLUSH_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("Kafka did not acknowledge within %d ms", OUTBOX_FLUSH_TIMEOUT_MS);
        return -1;
    }
    if (kafka_consumer_take_delivery_failures(w->kc) > 0)
        return -1;
    return 0;
}

/* Produce the Event of every new row whose `qualifies` equals `qualifying`. */
int worker_publish_events(worker *w, const worker_event *ev, size_t n, bool qualifying,
                          int64_t created_us)
{
    buf b = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!ev[i].inserted || ev[i].qualifies != qualifying)
            continue;
        const inference_result *r = &ev[i].r;
        event_msg m = {ev[i].id,
                       r->camera_id,
                       r->stream_id,
                       ev[i].event_type,
                       ev[i].type_detail,
                       r->confidence,
                       r->timestamp_us,
                       r->model_id,
                       r->model_version,
                       r->boxes,
                       r->nboxes,
                       r->frame_id,
                       r->inference_time_ms,
                       r->has_inference_time,
                       ev[i].violation_id[0] ? ev[i].violation_id : NULL,
                       created_us,
                       r->metadata_json,
                       r->extra_json};
        codec_error cerr;
        buf_reset(&b);
        if (codec_encode_event(w->codec, CODEC_FMT_SINGLE_OBJECT, &m, &b, &cerr) != 0) {
            log_ctx ctx = kafka_consumer_msg_ctx(ev[i].msg);
            log_at(LOG_ERROR, &ctx, "cannot encode Event %s: %s", ev[i].id, cerr.message);
            continue;
        }
        rc = kafka_produce_copy(w->producer, w->cfg->topic_events, r->camera_id, b.data, b.len);
    }
    buf_free(&b);
    return rc;
}

void worker_outbox_sweep(worker *w)
{
    outbox_sweep(w->db, w->producer);
}

void worker_publish_relay(worker *w, pg_array *outbox_ids)
{
    if (!outbox_ids->n)
        return;
    const char *p[1] = {pg_array_end(outbox_ids)};
    if (outbox_relay(w->db, w->producer, OUTBOX_FLUSH_TIMEOUT_MS, "id = ANY($1::bigint[])", 1, p) <
        0)
        log_warn("outbox relay failed; the sweep will publish the rows later");
}
