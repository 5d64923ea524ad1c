/* outbox.c - see outbox.h. */
#include "outbox.h"

#include "buf.h"
#include "kafka.h"
#include "log.h"
#include "pg.h"
#include "violation_row.h"

#include <stdio.h>
#include <stdlib.h>

int outbox_relay(PGconn *db, rd_kafka_t *producer, int timeout_ms, const char *where, int nparams,
                 const char *const *params)
{
    char err[512];
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT id::text, topic, key, payload FROM outbox WHERE %s ORDER BY id LIMIT 1000"
             " FOR UPDATE SKIP LOCKED",
             where);
    if (!pg_exec_ok(db, "BEGIN", err, sizeof err)) {
        log_warn("outbox: %s", err);
        return -1;
    }
    /* Binary results: the payload comes back as raw bytes. */
    PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 1);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_describe_error(db, res, "outbox", err, sizeof err);
        log_warn("%s", err);
        PQclear(res);
        pg_rollback_quietly(db);
        return -1;
    }
    int rows = PQntuples(res);
    buf ids = {0};
    buf_append(&ids, "{", 1);
    int rc = 0;
    kafka_acks *acks = kafka_acks_new();
    for (int row = 0; row < rows && rc == 0; row++) {
        char id[32], topic[256], key[512];
        snprintf(id, sizeof id, "%.*s", PQgetlength(res, row, 0), PQgetvalue(res, row, 0));
        snprintf(topic, sizeof topic, "%.*s", PQgetlength(res, row, 1), PQgetvalue(res, row, 1));
        snprintf(key, sizeof key, "%.*s", PQgetlength(res, row, 2), PQgetvalue(res, row, 2));
        buf_printf(&ids, "%s%s", row ? "," : "", id);
        rc = kafka_produce_tracked(producer, acks, topic, key, PQgetvalue(res, row, 3),
                                   (size_t)PQgetlength(res, row, 3));
    }
    buf_append(&ids, "}", 2);
    PQclear(res);
    if (kafka_acks_wait(producer, acks, rc ? 0 : timeout_ms) != 0 && rc == 0) {
        log_warn("outbox: Kafka did not acknowledge every message within %d ms", timeout_ms);
        rc = -1;
    }
    if (rows && rc == 0) {
        const char *p[1] = {(const char *)ids.data};
        if (!pg_exec_params_ok(db, "DELETE FROM outbox WHERE id = ANY($1::bigint[])", 1, p, NULL,
                               err, sizeof err)) {
            log_warn("outbox: %s", err);
            rc = -1;
        }
    }
    buf_free(&ids);
    if (rc == 0 && pg_exec_ok(db, "COMMIT", err, sizeof err))
        return rows;
    pg_rollback_quietly(db);
    return -1;
}

int outbox_sweep(PGconn *db, rd_kafka_t *producer)
{
    if (!db || PQstatus(db) != CONNECTION_OK)
        return 0;
    int n = outbox_relay(db, producer, OUTBOX_FLUSH_TIMEOUT_MS,
                         "created_at < now() - interval '5 seconds'", 0, NULL);
    if (n > 0)
        log_info("published %d outbox rows left by an earlier writer", n);
    return n;
}

void outbox_batch_begin(outbox_batch *ob)
{
    pg_array_begin(&ob->topic);
    pg_array_begin(&ob->key);
    pg_array_begin(&ob->payload);
    ob->n = 0;
}

void outbox_batch_add(outbox_batch *ob, const char *topic, const char *key, const buf *payload)
{
    pg_array_add(&ob->topic, topic);
    pg_array_add(&ob->key, key);
    pg_array_add_bytes(&ob->payload, payload);
    ob->n++;
}

int outbox_batch_insert(outbox_batch *ob, PGconn *db, pg_stmts *stmts, pg_array *ids, char *errstr,
                        size_t errsz)
{
    static const char *const sql = "INSERT INTO outbox (topic, key, payload)"
                                   " SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])"
                                   " RETURNING id";
    const char *p[3] = {pg_array_end(&ob->topic), pg_array_end(&ob->key),
                        pg_array_end(&ob->payload)};
    PGresult *res = stmts ? pg_stmts_exec(stmts, db, sql, 3, p, NULL, errstr, errsz)
                          : pg_exec_params(db, sql, 3, p, NULL, errstr, errsz);
    if (!res)
        return -1;
    for (int row = 0; row < PQntuples(res); row++)
        pg_array_add(ids, PQgetvalue(res, row, 0));
    PQclear(res);
    return 0;
}

void outbox_batch_free(outbox_batch *ob)
{
    pg_array_free(&ob->topic);
    pg_array_free(&ob->key);
    pg_array_free(&ob->payload);
    ob->n = 0;
}

int outbox_put_violation_change(outbox_batch *ob, codec *c, const char *topic, const PGresult *res,
                                int row, const char *change, int64_t occurred_at_us,
                                violation_msg *v, codec_error *err)
{
    violation_change_msg vc = {0};
    codec_bbox *boxes = NULL;
    violation_row_msg(res, row, &vc.violation, &boxes);
    vc.violation_id = vc.violation.id;
    vc.change = change;
    vc.occurred_at_us = occurred_at_us ? occurred_at_us : vc.violation.updated_at_us;
    vc.version = vc.violation.version;
    buf payload = {0};
    int rc = codec_encode_violation_change(c, CODEC_FMT_SINGLE_OBJECT, &vc, &payload, err);
    if (rc == 0)
        outbox_batch_add(ob, topic, vc.violation.camera_id, &payload);
    buf_free(&payload);
    free(boxes);
    if (v) {
        *v = vc.violation;
        v->boxes = NULL; /* freed above */
        v->nboxes = 0;
    }
    return rc == 0 ? 0 : -1;
}
