/* worker_batch.c - one batch, one PostgreSQL transaction: the transaction
 * script. Each step lives in its own file and costs one round trip (or one
 * pipeline) for the whole batch:
 *
 *   1. unknown cameras registered (discovered = true)        worker_cache.c
 *   2. events stored exactly once: COPY fast path, staged
 *      path for a redelivery; only rows that are really new
 *      count below, so a redelivered message changes nothing  worker_events.c
 *      (normally steps 4-6 run first, taking every result as
 *      new, so the COPY writes each row's violation_id; a
 *      redelivery rolls them back and runs them after 3)      batch__store
 *      cameras of the new rows: arrival time, camera_offline
 *      ended (a redelivery is no arrival)                     worker_offline.c
 *   3. per-minute and per-hour rollups of the new rows        worker_rollups.c
 *   4. rule_state locked and run through the rules            worker_incidents.c
 *   5. violations ended/attached/opened, evidence rows,
 *      events linked, rule_state written back (one pipeline)  worker_incidents.c
 *   6. ViolationChange and EvidenceRequest rows in the outbox worker_incidents.c
 *   7. Event messages produced (those no rule can link to a
 *      violation already while step 2's COPY runs, with the
 *      rollups' parameters: batch__meanwhile) and flushed,
 *      COMMIT                                                 worker_publish.c
 *   8. the outbox rows just written published (no transaction,
 *      no waiting); deleted, once acknowledged, by the next
 *      batch's COMMIT (or on their own when the worker idles) worker_publish.c
 *
 * Delivery guarantee: offsets are committed only after COMMIT (worker_main.c),
 * so a crash anywhere means redelivery; step 2 makes redelivery harmless.
 * Events are acknowledged by Kafka before COMMIT and carry deterministic ids,
 * so a subscriber may see an event twice but never misses one. Violation
 * changes go through the outbox: written with the change, published after,
 * deleted when acknowledged, swept by any worker if the writer died before
 * that; `version` identifies duplicates. */
#include "worker.h"

#include "clock.h"

#include "log.h"
#include "pg.h"
#include "pg_array.h"
#include "worker_cache.h"
#include "worker_events.h"
#include "worker_incidents.h"
#include "worker_offline.h"
#include "worker_publish.h"
#include "worker_rollups.h"
#include "worker_zones.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch slower than this is logged with the time of each step. */
#define SLOW_BATCH_US (250 * 1000LL)

/* `t` holds the step boundaries of a batch of n results; `rules_us` the
 * part of t[0]..t[1] the rules took when they ran before the COPY. */
static void batch__log_slow(const worker_event *ev, size_t n, const int64_t t[6], int64_t rules_us)
{
    if (t[5] - t[0] <= SLOW_BATCH_US)
        return;
    /* At most one line per 10 s (a worker catching up writes large,
     * legitimately slow batches back to back), counting the others. */
    static int64_t last_logged_us;
    static unsigned unlogged;
    if (t[5] - last_logged_us < 10 * 1000000LL) {
        unlogged++;
        return;
    }
    log_ctx ctx = kafka_consumer_msg_ctx(n ? ev[0].msg : NULL);
    log_at(LOG_WARN, &ctx,
           "slow batch of %zu results: %.0f ms (events %.0f, rollups %.0f, rules %.0f, "
           "Kafka acknowledgements %.0f, COMMIT %.0f); %u more since the last report",
           n, (t[5] - t[0]) / 1e3, (t[1] - t[0] - rules_us) / 1e3, (t[2] - t[1]) / 1e3,
           (t[3] - t[2] + rules_us) / 1e3, (t[4] - t[3]) / 1e3, (t[5] - t[4]) / 1e3, unlogged);
    last_logged_us = t[5];
    unlogged = 0;
}

void worker_stage_done(worker *w, worker_stage stage, int64_t *t0_us)
{
    int64_t now = clock_mono_us();
    metric_add(w->m.stage[stage], (double)(now - *t0_us) / 1e6);
    *t0_us = now;
}

/* The canonical type, the rule and the zones of every event (no I/O). */
static void batch__classify(worker *w, worker_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        worker_cache_normalize(w, &ev[i]);
        ev[i].inserted = false;
        ev[i].violation_id[0] = '\0';
        const rule *r =
            rules_match(w->rules, w->nrules, ev[i].r.camera_id, ev[i].r.model_id, ev[i].event_type);
        ev[i].rule = r;
        worker_zones_of(w, &ev[i]);
        ev[i].qualifies =
            r && ev[i].r.confidence >= r->min_confidence && worker_zones_required(r, &ev[i]) &&
            rules_active(r, ev[i].r.timestamp_us); /* outside its windows it never fires */
    }
}

/* BEGIN and read ruth_rules_version, one round trip. 0, or -1 with err
 * (the transaction may be open: the caller rolls back). */
static int batch__begin(worker *w, int64_t *version, char *err, size_t errsz)
{
    static const char sql[] = "BEGIN; SELECT version FROM ruth_rules_version";
    PGresult *r = PQexec(w->db, sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok)
        *version = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        pg_describe_error(w->db, r, sql, err, errsz);
    PQclear(r);
    return ok ? 0 : -1;
}

/* What runs while PostgreSQL inserts the batch's rows (the COPY of the
 * rules-first order, most of a batch's wall time): the Events no rule can
 * link to a violation (their content does not depend on the COPY's
 * outcome; should it find a redelivery, they are duplicates with the same
 * ids, which the at-least-once Event stream allows) go to Kafka, whose
 * acknowledgements then arrive during the COPY instead of before COMMIT,
 * and the rollups' parameters are built. */
typedef struct batch_meanwhile {
    worker *w;
    const worker_event *ev;
    size_t n;
    int64_t created_us;
    int produced; /* -1 not run, 0 produced, 1 the producer refused */
    worker_rollups_prep rollups;
} batch_meanwhile;

static void batch__meanwhile(void *arg)
{
    batch_meanwhile *m = arg;
    m->produced = worker_publish_events(m->w, m->ev, m->n, false, m->created_us) ? 1 : 0;
    worker_rollups_prepare(m->ev, m->n, &m->rollups);
}

/* Steps 2 and 4-6. Almost every batch is all new results, so the rules run
 * first, on every distinct result, and the COPY writes each event's
 * violation_id with the row: no UPDATE of rows just written (a dead tuple
 * and index entries per linked event), and every Event can be produced
 * right after the COPY. A redelivery (the COPY's unique violation) rolls
 * all of that back to the savepoint and takes the other order: store what
 * is really new, then the rules on those (*rules_done false: the caller
 * runs them). *rules_us: the time the rules took when they ran first. */
static int batch__store(worker *w, worker_event *ev, size_t n, size_t *inserted,
                        pg_array *outbox_ids, size_t changes[2], bool *rules_done,
                        int64_t *rules_us, int64_t *st, batch_meanwhile *mw, char *err,
                        size_t errsz)
{
    *rules_done = false;
    *rules_us = 0;
    int64_t t0 = clock_mono_us();
    if (!pg_exec_ok(w->db, "SAVEPOINT rules_first", err, errsz))
        return -1;
    size_t k = worker_events_mark_new(ev, n);
    if (worker_incidents_write(w, ev, n, false, outbox_ids, changes, err, errsz))
        return -1;
    *rules_us = clock_mono_us() - t0;
    worker_stage_done(w, WORKER_STAGE_RULES, st);
    bool redelivery = false;
    worker_events_meanwhile during = {batch__meanwhile, mw};
    if (worker_events_copy_linked(w, ev, n, &during, &redelivery, err, errsz) == 0) {
        *inserted = k;
        *rules_done = true;
        bool ok = pg_exec_ok(w->db, "RELEASE SAVEPOINT rules_first", err, errsz);
        worker_stage_done(w, WORKER_STAGE_COPY, st);
        return ok ? 0 : -1;
    }
    if (!redelivery || !pg_exec_ok(w->db, "ROLLBACK TO SAVEPOINT rules_first", err, errsz))
        return -1;
    for (size_t i = 0; i < n; i++) {
        ev[i].inserted = false;
        ev[i].violation_id[0] = '\0';
    }
    pg_array_begin(outbox_ids);             /* those rows and changes were rolled back */
    worker_rollups_prep_free(&mw->rollups); /* built for rows that may not be new */
    changes[0] = changes[1] = 0;
    *rules_us = 0;
    int rc = worker_events_store(w, ev, n, inserted, err, errsz);
    worker_stage_done(w, WORKER_STAGE_COPY, st);
    return rc;
}

/* A batch that did not commit: roll back, count, log, and drop a broken
 * connection. */
static void batch__failed(worker *w, const worker_event *ev, size_t n, bool begun, const char *err)
{
    if (begun)
        pg_rollback_quietly(w->db);
    metric_inc(w->m.db_errors);
    worker_cache_forget_cameras(
        w); /* ones registered in the rolled-back transaction are not there */
    /* Where the batch starts; it is retried whole, so that is where it is stuck. */
    log_ctx ctx = kafka_consumer_msg_ctx(n ? ev[0].msg : NULL);
    log_at(LOG_WARN, &ctx, "batch of %zu results not persisted: %s", n, err);
    /* Broken, or stuck in pipeline mode (a pipeline that could not be
     * drained): start over on a new connection. */
    if (PQstatus(w->db) != CONNECTION_OK || PQpipelineStatus(w->db) != PQ_PIPELINE_OFF) {
        atomic_store(&w->db_ok, false);
        pg_close(w->db);
        w->db = NULL;
    }
}

int worker_batch_write(worker *w, worker_event *ev, size_t n)
{
    char err[1024] = "";
    size_t inserted = 0;
    pg_array outbox_ids = {0};
    buf commit = {0};
    bool begun = false;
    int64_t st = clock_mono_us(); /* stage timings (worker_stage_done) */
    batch_meanwhile mw;
    memset(&mw, 0, sizeof mw);
    mw.w = w, mw.ev = ev, mw.n = n, mw.produced = -1;
    if (!worker_db_connect(w))
        return -1;
    /* The rules version is read in the batch's own transaction, in the
     * BEGIN's round trip: a rule change committed before these results were
     * produced is seen, and applied below. */
    int64_t version;
    if (batch__begin(w, &version, err, sizeof err))
        goto failed;
    begun = true;
    if (worker_cache_load(w, clock_wall_us(), version, err, sizeof err))
        goto failed;
    batch__classify(w, ev, n);
    pg_array_begin(&outbox_ids);
    /* Events (and this batch's dead letters, produced while decoding) must be
     * acknowledged by Kafka before the rows become durable. Events that no
     * rule can link to a violation (most of them) are produced while
     * PostgreSQL works on the COPY (batch__meanwhile), so their
     * acknowledgements arrive meanwhile; the qualifying ones wait for their
     * violation id. */
    int64_t created_us = clock_wall_us();
    int64_t t[6]; /* step boundaries, for the slow-batch warning */
    t[0] = clock_mono_us();
    bool rules_done;
    int64_t rules_us;
    size_t changes[2] = {0, 0}; /* violations opened, updated */
    mw.created_us = created_us;
    worker_stage_done(w, WORKER_STAGE_BEGIN, &st);
    if (worker_cache_register_cameras(w, ev, n, err, sizeof err))
        goto failed;
    worker_stage_done(w, WORKER_STAGE_CAMERAS, &st);
    if (batch__store(w, ev, n, &inserted, &outbox_ids, changes, &rules_done, &rules_us, &st, &mw,
                     err, sizeof err) ||
        worker_offline_touch(w, ev, n, &outbox_ids, err, sizeof err))
        goto failed;
    worker_stage_done(w, WORKER_STAGE_OFFLINE, &st);
    /* The unlinked Events, unless produced during the COPY (batch__meanwhile);
     * after a redelivery's staged path, again for the rows really new. */
    bool unlinked_sent = rules_done && mw.produced == 0;
    if (mw.produced == 1 ||
        (!unlinked_sent && worker_publish_events(w, ev, n, false, created_us)) ||
        (rules_done && worker_publish_events(w, ev, n, true, created_us)))
        goto publish_failed;
    worker_stage_done(w, WORKER_STAGE_PRODUCE, &st);
    t[1] = clock_mono_us();
    if (mw.rollups.ready ? worker_rollups_exec(w, &mw.rollups, err, sizeof err)
                         : worker_rollups_write(w, ev, n, err, sizeof err))
        goto failed;
    worker_stage_done(w, WORKER_STAGE_ROLLUPS, &st);
    t[2] = clock_mono_us();
    if (!rules_done &&
        worker_incidents_write(w, ev, n, true, &outbox_ids, changes, err, sizeof err))
        goto failed;
    worker_stage_done(w, WORKER_STAGE_RULES, &st);
    t[3] = clock_mono_us();
    if (!rules_done && worker_publish_events(w, ev, n, true, created_us))
        goto publish_failed;
    worker_stage_done(w, WORKER_STAGE_PRODUCE, &st);
    if (worker_publish_flush(w))
        goto publish_failed;
    worker_stage_done(w, WORKER_STAGE_ACKS, &st);
    t[4] = clock_mono_us();
    /* The COMMIT also deletes the outbox rows earlier batches published and
     * Kafka has acknowledged since (the flush above served every report):
     * no transaction, no fsync of its own for the relay. */
    worker_publish_commit_sql(w, &commit);
    if (!pg_exec_ok(w->db, buf_cstr(&commit), err, sizeof err))
        goto failed;
    worker_publish_committed(w);
    worker_stage_done(w, WORKER_STAGE_COMMIT, &st);
    t[5] = clock_mono_us();
    batch__log_slow(ev, n, t, rules_us);
    metric_add(w->m.persisted, (double)inserted);
    metric_add(w->m.duplicates, (double)(n - inserted));
    metric_add(w->m.violations_opened, (double)changes[0]);
    metric_add(w->m.violations_updated, (double)changes[1]);
    worker_publish_outbox(w, &outbox_ids);
    worker_stage_done(w, WORKER_STAGE_OUTBOX, &st);
    pg_array_free(&outbox_ids);
    buf_free(&commit);
    return 0;
publish_failed:
    snprintf(err, sizeof err, "publishing events to %s failed", w->cfg->topic_events);
failed:
    worker_rollups_prep_free(&mw.rollups);
    pg_array_free(&outbox_ids);
    buf_free(&commit);
    batch__failed(w, ev, n, begun, err);
    return -1;
}
