/* evidence_intake.c - the consumer loop's side of ruth-evidence: each
 * EvidenceRequest on ruth.evidence.v1 becomes a due evidence row, and that
 * is all. The VAS work happens on the step threads (evidence_steps.c), so
 * a slow VAS never holds up a partition and a batch is done as soon as its
 * rows are committed.
 *
 * Idempotent: a request for evidence already ready, failed, in flight or
 * scheduled changes nothing (a failed item is re-requested through the
 * API, which schedules it itself). Undecodable requests are dead-lettered
 * once per batch, however often the batch is retried. */
#include "evidence.h"

#include "clock.h"
#include "log.h"
#include "xmalloc.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The row the worker wrote with the violation is scheduled now; a request
 * for a row nobody wrote (a violation of an older release) creates it. */
static const char schedule_sql[] =
    "INSERT INTO evidence (violation_id, kind, camera_id, stream_id, center_timestamp,"
    " before_seconds, after_seconds, next_attempt_at)"
    " SELECT $1::uuid, $2, $3, $4, to_timestamp($5::double precision / 1e6), $6::int, $7::int,"
    " now() WHERE EXISTS (SELECT 1 FROM violations WHERE id = $1::uuid)"
    " ON CONFLICT (violation_id, kind) DO UPDATE"
    " SET next_attempt_at = now(), stream_id = COALESCE(evidence.stream_id, EXCLUDED.stream_id)"
    " WHERE evidence.status = 'pending' AND evidence.next_attempt_at IS NULL";

bool evidence_db_connect(evidence *e)
{
    if (e->db && PQstatus(e->db) == CONNECTION_OK)
        return true;
    pg_close(e->db);
    pg_stmts_reset(e->stmts);
    char err[512];
    e->db = pg_connect(e->cfg->database_url, "ruth-evidence", 5, err, sizeof err);
    if (!e->db) {
        log_warn("PostgreSQL unavailable: %s", err);
        atomic_store(&e->db_ok, false);
        return false;
    }
    atomic_store(&e->db_ok, true);
    return true;
}

static int intake_one(evidence *e, const evidence_request_msg *r, char *err, size_t errsz)
{
    char ts[32], before[16], after[16];
    snprintf(ts, sizeof ts, "%" PRId64, r->center_timestamp_us);
    snprintf(before, sizeof before, "%d", (int)r->before_seconds);
    snprintf(after, sizeof after, "%d", (int)r->after_seconds);
    const char *p[7] = {r->violation_id, r->kind, r->camera_id, r->stream_id, ts, before, after};
    char state[6];
    if (!pg_stmts_exec_ok(e->stmts, e->db, schedule_sql, 7, p, state, err, errsz))
        return -1;
    metric_inc(e->m.requests);
    return 0;
}

/* Decode message i into *r (release *arena): 1. An undecodable one is
 * dead-lettered, unless an earlier attempt of this batch already had its
 * dead letter acknowledged (e->dead[i]): 0 = skip it, -1 = the dead letter
 * could not be written (retry). */
static int intake_decode(evidence *e, const kafka_consumer_batch *b, size_t i,
                         evidence_request_msg *r, void **arena)
{
    const rd_kafka_message_t *m = b->msgs[i];
    codec_error cerr = {0};
    *arena = NULL;
    if (codec_decode_evidence_request(e->codec, m->payload, m->len, r, arena, &cerr) == 0)
        return 1;
    codec_arena_free(*arena);
    *arena = NULL;
    if (e->dead[i])
        return 0;
    if (kafka_consumer_dead_letter(e->kc, m, "decode", codec_errcode_name(cerr.code),
                                   cerr.message) != 0)
        return -1;
    e->dead[i] = 2; /* sent in this attempt; 1 once acknowledged */
    return 0;
}

/* This attempt's dead letters are acknowledged: never sent again. */
static void intake_dead_acknowledged(evidence *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (e->dead[i] == 2)
            e->dead[i] = 1;
}

/* This attempt's dead letters will be sent again by the next one. */
static void intake_dead_forget(evidence *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (e->dead[i] == 2)
            e->dead[i] = 0;
}

kafka_consumer_verdict evidence_intake_batch(void *arg, kafka_consumer *kc,
                                             const kafka_consumer_batch *b)
{
    (void)kc;
    evidence *e = arg;
    char err[512] = "";
    if (b->attempt == 0)
        memset(e->dead, 0, b->n);
    if (!evidence_db_connect(e))
        return KAFKA_CONSUMER_RETRY;
    if (!pg_exec_ok(e->db, "BEGIN", err, sizeof err))
        goto failed;
    for (size_t i = 0; i < b->n; i++) {
        evidence_request_msg r;
        void *arena;
        int d = intake_decode(e, b, i, &r, &arena);
        if (d < 0) {
            pg_rollback_quietly(e->db);
            intake_dead_forget(e, b->n);
            return KAFKA_CONSUMER_RETRY;
        }
        if (d == 0)
            continue;
        int rc = intake_one(e, &r, err, sizeof err);
        codec_arena_free(arena);
        if (rc)
            goto failed;
    }
    if (kafka_consumer_settle_dead_letters(e->kc) != 0) {
        pg_rollback_quietly(e->db);
        intake_dead_forget(e, b->n);
        return KAFKA_CONSUMER_RETRY;
    }
    intake_dead_acknowledged(e, b->n);
    if (!pg_exec_ok(e->db, "COMMIT", err, sizeof err))
        goto failed;
    return KAFKA_CONSUMER_DONE;
failed:
    log_warn("evidence requests not recorded yet: %s", err);
    pg_rollback_quietly(e->db);
    intake_dead_forget(e, b->n);
    if (PQstatus(e->db) != CONNECTION_OK)
        atomic_store(&e->db_ok, false);
    return KAFKA_CONSUMER_RETRY;
}
