/* worker_publish.c - what the worker publishes: Event messages (produced
 * inside the batch's transaction and acknowledged before COMMIT) and the
 * outbox rows it wrote (produced after COMMIT, deleted once acknowledged by
 * the next batch's transaction), plus the sweep of rows left by crashed
 * writers. */
#include "worker_publish.h"

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "xmalloc.h"

#include <stdatomic.h>
#include <string.h>

/* An idle worker deletes its published outbox rows on their own after this
 * long without a batch to carry the DELETE; well inside the sweep's 5 s, so
 * no sweeper republishes them. */
#define PENDING_IDLE_US (1000 * 1000LL)

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

/* Check the acknowledgements of the rows in flight, waiting up to
 * `timeout_ms` (0 right after worker_publish_flush(), which served every
 * report): acknowledged rows become `acked`; a failure leaves them all to
 * the sweep, which publishes them again. */
static void publish__settle(worker *w, int timeout_ms)
{
    worker_outbox_pending *o = &w->outbox;
    if (!o->acks)
        return;
    int rc = kafka_acks_wait(w->producer, o->acks, timeout_ms);
    o->acks = NULL;
    if (rc == 0 && o->published.len) {
        if (o->acked.len)
            buf_append_byte(&o->acked, ',');
        buf_append(&o->acked, o->published.data, o->published.len);
    } else if (rc != 0) {
        log_warn("outbox: Kafka did not acknowledge every relayed message; the sweep will "
                 "publish them again");
    }
    buf_reset(&o->published);
}

void worker_publish_outbox(worker *w, pg_array *outbox_ids)
{
    if (!outbox_ids->n)
        return;
    worker_outbox_pending *o = &w->outbox;
    publish__settle(w, OUTBOX_FLUSH_TIMEOUT_MS); /* normally nothing left in flight */
    const char *p[1] = {pg_array_end(outbox_ids)};
    /* Outside any transaction and without locks: one round trip, nothing to
     * commit. A sweeper only takes rows older than 5 s. Binary results: the
     * payload comes back as raw bytes. */
    PGresult *res = PQexecParams(w->db,
                                 "SELECT id::text, topic, key, payload FROM outbox"
                                 " WHERE id = ANY($1::bigint[]) ORDER BY id",
                                 1, NULL, p, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        char err[512];
        pg_describe_error(w->db, res, "outbox", err, sizeof err);
        log_warn("outbox relay failed (%s); the sweep will publish the rows later", err);
        PQclear(res);
        return;
    }
    if (!o->acked.len)
        o->since_us = clock_mono_us();
    o->acks = kafka_acks_new();
    for (int row = 0; row < PQntuples(res); row++) {
        char topic[256], key[512];
        snprintf(topic, sizeof topic, "%.*s", PQgetlength(res, row, 1), PQgetvalue(res, row, 1));
        snprintf(key, sizeof key, "%.*s", PQgetlength(res, row, 2), PQgetvalue(res, row, 2));
        if (kafka_produce_tracked(w->producer, o->acks, topic, key, PQgetvalue(res, row, 3),
                                  (size_t)PQgetlength(res, row, 3)) != 0) {
            log_warn("outbox: the producer refused a message; the sweep will publish the rest");
            break;
        }
        if (o->published.len)
            buf_append_byte(&o->published, ',');
        buf_append(&o->published, PQgetvalue(res, row, 0), (size_t)PQgetlength(res, row, 0));
    }
    PQclear(res);
}

bool worker_publish_commit_sql(worker *w, buf *sql)
{
    worker_outbox_pending *o = &w->outbox;
    publish__settle(w, 0);
    buf_reset(sql);
    if (o->acked.len) {
        buf_append_str(sql, "DELETE FROM outbox WHERE id = ANY('{");
        buf_append(sql, o->acked.data, o->acked.len);
        buf_append_str(sql, "}'::bigint[]); ");
    }
    buf_append_str(sql, "COMMIT");
    return o->acked.len > 0;
}

void worker_publish_committed(worker *w)
{
    buf_reset(&w->outbox.acked);
}

void worker_publish_tidy(worker *w, bool now)
{
    worker_outbox_pending *o = &w->outbox;
    if (!o->acks && !o->acked.len)
        return;
    if (!now && clock_mono_us() - o->since_us < PENDING_IDLE_US)
        return;
    publish__settle(w, OUTBOX_FLUSH_TIMEOUT_MS);
    if (!o->acked.len || !w->db || PQstatus(w->db) != CONNECTION_OK)
        return; /* down: the next batch, or a sweep, deletes them */
    buf sql = {0};
    buf_append_str(&sql, "DELETE FROM outbox WHERE id = ANY('{");
    buf_append(&sql, o->acked.data, o->acked.len);
    buf_append_str(&sql, "}'::bigint[])");
    char err[512];
    if (pg_exec_ok(w->db, buf_cstr(&sql), err, sizeof err))
        buf_reset(&o->acked);
    else
        log_warn("outbox: %s", err);
    buf_free(&sql);
}

void worker_publish_free(worker *w)
{
    worker_outbox_pending *o = &w->outbox;
    if (o->acks)
        kafka_acks_wait(w->producer, o->acks, 0);
    o->acks = NULL;
    buf_free(&o->published);
    buf_free(&o->acked);
}
