/* worker_events.c - an event's identity, and storing a batch's events once.
 *
 * Identity: an inference result's idempotency key is the one an adapter
 * derived (DeepStream: its messageid), else its result_id when the
 * producer gave one (a retrying producer's duplicate is one event),
 * otherwise the topic, partition and offset it was read from; the event id
 * is a name-based UUID of that key and the capture time (events are
 * partitioned by time, and the unique index is (idempotency_key,
 * "timestamp")).
 *
 * Storage (step 2 of worker_batch.c): the rows are COPYed straight into
 * `events` inside a savepoint; when a unique violation shows the batch was
 * (partly) stored before (a redelivery), they are COPYed into the temp
 * staging table instead, then INSERT .. ON CONFLICT (idempotency_key,
 * "timestamp") DO NOTHING RETURNING id: only rows that are really new count
 * afterwards, so a redelivered message changes nothing anywhere. */
#include "worker_events.h"

#include "text.h"

#include "log.h"
#include "pg.h"
#include "pg_copy.h"
#include "sha1.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Name-based UUID (version 5 layout) of the `n` bytes at `key` in a
 * namespace of our own: its 16 bytes and its text. */
static void events__uuid(const char *key, size_t n, unsigned char u[16], char out[37])
{
    static const unsigned char ns[16] = {0x6b, 0x1f, 0x3c, 0x8e, 0x52, 0x0d, 0x4f, 0x7a,
                                         0x9a, 0x61, 0x2e, 0x44, 0x90, 0x1b, 0x7c, 0x05};
    unsigned char md[SHA1_DIGEST_LEN];
    sha1_digest2(ns, sizeof ns, key, n, md);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    memcpy(u, md, 16);
    text_uuid_format(u, out);
}

void worker_uuid_from_key(const char *key, char out[37])
{
    unsigned char u[16];
    events__uuid(key, strlen(key), u, out);
}

void worker_events_identify(worker_event *e, const rd_kafka_message_t *m)
{
    const char *key = e->r.idempotency_key;
    size_t klen = key ? strlen(key) : 0;
    if (key && klen < sizeof e->idem_key) {
        memcpy(e->idem_key, key, klen + 1);
    } else if (key) { /* an adapter's long key: its name-based UUID */
        char u[37];
        unsigned char ub[16];
        events__uuid(key, klen, ub, u);
        klen = (size_t)snprintf(e->idem_key, sizeof e->idem_key, "key:%s", u);
    } else if (e->r.result_id) {
        klen = strlen(e->r.result_id);
        if (klen >= sizeof e->idem_key) /* never: result_id is a normalized uuid */
            klen = sizeof e->idem_key - 1;
        memcpy(e->idem_key, e->r.result_id, klen);
        e->idem_key[klen] = '\0';
    } else {
        int len = snprintf(e->idem_key, sizeof e->idem_key, "%s/%" PRId32 "/%" PRId64,
                           rd_kafka_topic_name(m->rkt), m->partition, m->offset);
        klen = len < 0                            ? 0
               : (size_t)len < sizeof e->idem_key ? (size_t)len
                                                  : sizeof e->idem_key - 1;
    }
    /* The id is the UUID of "<key>@<capture time in us>" (the seed was a
     * 200-byte snprintf buffer: the key is under 160, the time under 21). */
    char seed[200];
    memcpy(seed, e->idem_key, klen);
    seed[klen] = '@';
    size_t n = klen + 1 + text_i64(seed + klen + 1, e->r.timestamp_us);
    events__uuid(seed, n, e->id_bin, e->id);
}

/* ---- COPY fast path and staged redelivery path ---- */

/* By id: the bytes in order sort as the lowercase text does. */
static int events__cmp_id(const void *a, const void *b)
{
    return memcmp(((const worker_event *const *)a)[0]->id_bin,
                  ((const worker_event *const *)b)[0]->id_bin, 16);
}

#define EVENT_COLUMNS                                                                              \
    "id, camera_id, stream_id, event_type, type_detail, confidence, \"timestamp\", model_id,"      \
    " model_version, bounding_boxes, frame_id, inference_time_ms, runtime_id, error_code,"         \
    " error_message, attributes, idempotency_key, metadata, extra, zones"

/* jsonb from JSON text, or NULL. */
static void events__opt_jsonb(buf *b, const char *json)
{
    if (json)
        pg_copy_jsonb(b, json, strlen(json));
    else
        pg_copy_null(b);
}

/* Stream `rows` through `copy_sql` (a COPY .. FROM STDIN binary with the 20
 * columns of EVENT_COLUMNS, in that order, and violation_id after them when
 * `linked`). On failure `sqlstate` tells why. */
static int events__copy(worker *w, const char *copy_sql, worker_event *const *rows, size_t n,
                        bool linked, const worker_events_meanwhile *meanwhile, char sqlstate[6],
                        char *err, size_t errsz)
{
    sqlstate[0] = '\0';
    PGresult *res = PQexec(w->db, copy_sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pg_describe_error(w->db, res, copy_sql, err, errsz);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    buf b = {0};
    buf_reserve(&b, (size_t)1 << 21); /* the 1 MB sends below, and the last row */
    pg_copy_header(&b);
    bool sent = true;
    for (size_t i = 0; i < n && sent; i++) {
        const worker_event *e = rows[i];
        const inference_result *r = &e->r;
        pg_copy_row(&b, linked ? 21 : 20);
        pg_copy_uuid_bytes(&b, e->id_bin);
        pg_copy_text(&b, r->camera_id);
        pg_copy_text(&b, r->stream_id);
        pg_copy_text(&b, e->event_type);
        pg_copy_text(&b, e->type_detail);
        pg_copy_f8(&b, r->confidence, true);
        pg_copy_ts(&b, r->timestamp_us);
        pg_copy_text(&b, r->model_id);
        pg_copy_text(&b, r->model_version);
        size_t at = pg_copy_jsonb_begin(&b);
        codec_boxes_json(&b, r->boxes, r->nboxes, false);
        pg_copy_jsonb_end(&b, at);
        pg_copy_text(&b, r->frame_id);
        pg_copy_f8(&b, r->inference_time_ms, r->has_inference_time);
        pg_copy_text(&b, r->runtime_id);
        pg_copy_text(&b, r->error_code);
        pg_copy_text(&b, r->error_message);
        at = pg_copy_jsonb_begin(&b);
        codec_boxes_attrs_json(&b, r->attributes, r->nattributes);
        pg_copy_jsonb_end(&b, at);
        pg_copy_text(&b, e->idem_key);
        events__opt_jsonb(&b, r->metadata_json);
        events__opt_jsonb(&b, r->extra_json);
        pg_copy_text_array(&b, e->zones, (size_t)e->nzones);
        if (linked && e->violation_id[0])
            pg_copy_uuid(&b, e->violation_id);
        else if (linked)
            pg_copy_null(&b);
        if (b.len > (1 << 20)) {
            sent = PQputCopyData(w->db, (const char *)b.data, (int)b.len) == 1;
            buf_reset(&b);
        }
    }
    pg_copy_trailer(&b);
    if (sent)
        sent = PQputCopyData(w->db, (const char *)b.data, (int)b.len) == 1;
    buf_free(&b);
    if (PQputCopyEnd(w->db, sent ? NULL : "client failed to send the rows") != 1) {
        pg_describe_error(w->db, NULL, copy_sql, err, errsz);
        return -1;
    }
    /* PostgreSQL inserts the rows (the batch's longest step) while we do
     * the CPU work that does not need its answer. */
    if (meanwhile)
        meanwhile->fn(meanwhile->arg);
    res = PQgetResult(w->db);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        pg_describe_error(w->db, res, copy_sql, err, errsz);
        const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        snprintf(sqlstate, 6, "%s", st ? st : "");
    }
    PQclear(res);
    while ((res = PQgetResult(w->db)))
        PQclear(res);
    return ok ? 0 : -1;
}

/* The slow path, for a batch holding results already stored (a redelivery):
 * COPY into the staging table, INSERT .. ON CONFLICT DO NOTHING RETURNING
 * id, and mark the rows that came back. `uniq` is sorted by id. */
static int events__staged(worker *w, worker_event **uniq, size_t n, size_t *ninserted, char *err,
                          size_t errsz)
{
    char sqlstate[6];
    if (events__copy(w, "COPY stage_events FROM STDIN (FORMAT binary)", uniq, n, false, NULL,
                     sqlstate, err, errsz))
        return -1;
    PGresult *res = pg_stmts_exec(
        w->stmts, w->db,
        "INSERT INTO events (" EVENT_COLUMNS ")"
        " SELECT id, camera_id, stream_id, event_type, type_detail, confidence, ts, model_id,"
        " model_version, bounding_boxes, frame_id, inference_time_ms, runtime_id, error_code,"
        " error_message, attributes, idempotency_key, metadata, extra, zones FROM stage_events"
        " ON CONFLICT (idempotency_key, \"timestamp\") DO NOTHING RETURNING id",
        0, NULL, NULL, err, errsz);
    if (!res)
        return -1;
    for (int row = 0; row < PQntuples(res); row++) {
        worker_event probe;
        if (!text_uuid_parse(PQgetvalue(res, row, 0), probe.id_bin))
            continue;
        worker_event *pp = &probe;
        worker_event **hit = bsearch(&pp, uniq, n, sizeof *uniq, events__cmp_id);
        if (hit && !(*hit)->inserted) {
            (*hit)->inserted = true;
            (*ninserted)++;
        }
    }
    PQclear(res);
    return 0;
}

/* The batch's events sorted by id, one per id (a result repeated inside
 * the batch, from a retrying producer, is written once): *k of them, in an
 * array the caller frees. */
static worker_event **events__distinct(worker_event *ev, size_t n, size_t *k)
{
    worker_event **uniq = xmalloc((n ? n : 1) * sizeof *uniq);
    for (size_t i = 0; i < n; i++)
        uniq[i] = &ev[i];
    qsort(uniq, n, sizeof *uniq, events__cmp_id);
    *k = 0;
    for (size_t i = 0; i < n; i++)
        if (*k == 0 || memcmp(uniq[*k - 1]->id_bin, uniq[i]->id_bin, 16))
            uniq[(*k)++] = uniq[i];
    return uniq;
}

/* Store the batch's events exactly once. A result repeated inside the batch
 * (a retrying producer) is written once. Normally every result is new, so
 * the rows are COPYed straight into `events` inside a savepoint; a unique
 * violation there means some were stored before (a redelivery after a crash
 * or rebalance): roll back to the savepoint and take the staged path, which
 * skips the stored ones. Marks `inserted` on the events that are new. */
int worker_events_store(worker *w, worker_event *ev, size_t n, size_t *ninserted, char *err,
                        size_t errsz)
{
    *ninserted = 0;
    size_t k;
    worker_event **uniq = events__distinct(ev, n, &k);
    int rc = -1;
    char sqlstate[6];
    if (!pg_exec_ok(w->db, "SAVEPOINT events_copy", err, errsz))
        goto done;
    if (events__copy(w, "COPY events (" EVENT_COLUMNS ") FROM STDIN (FORMAT binary)", uniq, k,
                     false, NULL, sqlstate, err, errsz) == 0) {
        for (size_t i = 0; i < k; i++)
            uniq[i]->inserted = true;
        *ninserted = k;
        rc = pg_exec_ok(w->db, "RELEASE SAVEPOINT events_copy", err, errsz) ? 0 : -1;
        goto done;
    }
    if (strcmp(sqlstate, "23505")) /* anything but unique_violation is a real failure */
        goto done;
    if (!pg_exec_ok(w->db, "ROLLBACK TO SAVEPOINT events_copy", err, errsz))
        goto done;
    log_info("batch of %zu results holds some stored before (redelivery): skipping those", n);
    rc = events__staged(w, uniq, k, ninserted, err, errsz);
done:
    free(uniq);
    return rc;
}

size_t worker_events_mark_new(worker_event *ev, size_t n)
{
    size_t k;
    worker_event **uniq = events__distinct(ev, n, &k);
    for (size_t i = 0; i < k; i++)
        uniq[i]->inserted = true;
    free(uniq);
    return k;
}

int worker_events_copy_linked(worker *w, worker_event *ev, size_t n,
                              const worker_events_meanwhile *meanwhile, bool *redelivery, char *err,
                              size_t errsz)
{
    *redelivery = false;
    worker_event **rows = xmalloc((n ? n : 1) * sizeof *rows);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ev[i].inserted)
            rows[k++] = &ev[i];
    char sqlstate[6];
    int rc =
        events__copy(w, "COPY events (" EVENT_COLUMNS ", violation_id) FROM STDIN (FORMAT binary)",
                     rows, k, true, meanwhile, sqlstate, err, errsz);
    if (rc && !strcmp(sqlstate, "23505"))
        *redelivery = true;
    free(rows);
    return rc;
}
