/* worker_incidents.c - rule state, violations and evidence of a batch
 * (steps 4-6 of worker_batch.c):
 *
 *   4. rule_state of every (camera, type) with new qualifying events created
 *      when missing and locked FOR UPDATE with its ongoing violation (two
 *      statements, one pipeline), and run through worker_rules.c, where the
 *      cooldown and debounce are decided
 *   5. the writes, one pipeline: worker_incidents_write.c
 *   6. ViolationChange and EvidenceRequest messages written to the outbox */
#include "worker_incidents.h"

#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "outbox.h"
#include "pg.h"
#include "violation_row.h"
#include "worker_events.h"
#include "worker_incidents_internal.h"
#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- step 4: rule state ---- */

static int incidents__cmp_qual(const void *a, const void *b)
{
    const worker_event *x = *(worker_event *const *)a, *y = *(worker_event *const *)b;
    int c = strcmp(x->r.camera_id, y->r.camera_id);
    if (c)
        return c;
    c = strcmp(x->event_type, y->event_type);
    if (c)
        return c;
    return x->r.timestamp_us < y->r.timestamp_us ? -1 : x->r.timestamp_us > y->r.timestamp_us;
}

static int64_t incidents__i64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* The new qualifying events, sorted, and their distinct keys. */
static void incidents_collect(incidents *inc, worker_event *ev, size_t n)
{
    inc->q = xmalloc((n ? n : 1) * sizeof *inc->q);
    for (size_t i = 0; i < n; i++)
        if (ev[i].inserted && ev[i].qualifies)
            inc->q[inc->nq++] = &ev[i];
    if (inc->nq == 0)
        return;
    qsort(inc->q, inc->nq, sizeof *inc->q, incidents__cmp_qual);
    inc->keys = xcalloc(inc->nq, sizeof *inc->keys);
    pg_array_begin(&inc->key_cameras);
    pg_array_begin(&inc->key_types);
    for (size_t i = 0; i < inc->nq; i++) {
        const worker_event *e = inc->q[i];
        if (inc->nk && !strcmp(inc->keys[inc->nk - 1].camera_id, e->r.camera_id) &&
            !strcmp(inc->keys[inc->nk - 1].event_type, e->event_type)) {
            inc->keys[inc->nk - 1].q_to = i + 1;
            continue;
        }
        incident_key *k = &inc->keys[inc->nk++];
        k->q_from = i;
        k->q_to = i + 1;
        k->camera_id = e->r.camera_id;
        k->event_type = e->event_type;
        k->r = e->rule;
        k->st = xcalloc(1, sizeof *k->st);
        pg_array_add(&inc->key_cameras, k->camera_id);
        pg_array_add(&inc->key_types, k->event_type);
    }
    inc->ch = xcalloc(inc->nq * 2 + 1, sizeof *inc->ch);
}

#define US(col) "coalesce((extract(epoch FROM " col ") * 1000000)::bigint, 0)"

static const char *const state_create_sql =
    "INSERT INTO rule_state (camera_id, event_type)"
    " SELECT c, t FROM unnest($1::text[], $2::text[]) u(c, t)"
    " ON CONFLICT DO NOTHING";

/* Columns: camera, type, hits (comma-separated microseconds), last hit,
 * last fired, then the ongoing violation: id, first, last, count,
 * opening confidence, max confidence (NULL when there is none), then the
 * dwell run's start (0: none). */
/* (Not formatted: clang-format would split the SQL inside the US() list.) */
/* clang-format off */
static const char *const state_lock_sql =
    "SELECT rs.camera_id, rs.event_type,"
    " array_to_string(array(SELECT (extract(epoch FROM h) * 1000000)::bigint"
    "   FROM unnest(rs.recent_hits) h), ','), " US("rs.last_hit_at") ", " US("rs.last_fired_at")
    ", v.id, " US("v.first_event_at") ", " US("v.last_event_at") ","
    " v.event_count, coalesce(v.opening_confidence, v.confidence), v.max_confidence, "
    US("rs.run_started_at")
    " FROM rule_state rs JOIN unnest($1::text[], $2::text[]) k(c, t)"
    "   ON rs.camera_id = k.c AND rs.event_type = k.t"
    " LEFT JOIN violations v ON v.camera_id = rs.camera_id AND v.type = rs.event_type"
    "   AND v.ended_at IS NULL"
    " ORDER BY rs.camera_id, rs.event_type FOR UPDATE OF rs";
/* clang-format on */

/* Row `row` of a state_lock_sql result into *st. */
static void incidents_read_state(rule_state *st, const PGresult *res, int row)
{
    for (char *p = PQgetvalue(res, row, 2); *p && st->nhits < RULE_MAX_HITS;) {
        st->hits[st->nhits++] = strtoll(p, &p, 10);
        if (*p == ',')
            p++;
    }
    st->last_hit_us = incidents__i64(res, row, 3);
    st->last_fired_us = incidents__i64(res, row, 4);
    st->run_start_us = incidents__i64(res, row, 11);
    if (PQgetisnull(res, row, 5))
        return;
    rule_incident *on = &st->ongoing;
    on->exists = true;
    snprintf(on->id, sizeof on->id, "%s", PQgetvalue(res, row, 5));
    on->first_event_us = incidents__i64(res, row, 6);
    on->last_event_us = incidents__i64(res, row, 7);
    on->event_count = incidents__i64(res, row, 8);
    on->confidence = atof(PQgetvalue(res, row, 9));
    on->max_confidence = atof(PQgetvalue(res, row, 10));
    on->best_event = SIZE_MAX;
}

/* Rule state of every key, created when missing and locked, with its
 * ongoing incident: one round trip. */
static int incidents_load_state(incidents *inc, char *err, size_t errsz)
{
    const char *kp[2] = {pg_array_end(&inc->key_cameras), pg_array_end(&inc->key_types)};
    pg_step load[2] = {{state_create_sql, 2, kp}, {state_lock_sql, 2, kp}};
    PGresult *res = NULL;
    if (!pg_stmts_pipeline(inc->w->stmts, inc->w->db, load, 2, &res, NULL, err, errsz))
        return -1;
    for (int row = 0; row < PQntuples(res); row++) {
        incident_key *k = NULL;
        for (size_t i = 0; i < inc->nk && !k; i++)
            if (!strcmp(inc->keys[i].camera_id, PQgetvalue(res, row, 0)) &&
                !strcmp(inc->keys[i].event_type, PQgetvalue(res, row, 1)))
                k = &inc->keys[i];
        if (k)
            incidents_read_state(k->st, res, row);
    }
    PQclear(res);
    return 0;
}

static void incidents_note_change(incidents *inc, incident_key *k, const rule_incident *c)
{
    inc->ch[inc->nch++] = (changed_violation){*c, k};
}

/* Apply the events in capture-time order per key (worker_rules.c decides);
 * collect the violations that changed, in key order, an ended one before
 * its successor. */
static void incidents_apply(incidents *inc)
{
    size_t ki = 0;
    for (size_t i = 0; i < inc->nq; i++) {
        worker_event *e = inc->q[i];
        while (strcmp(inc->keys[ki].camera_id, e->r.camera_id) ||
               strcmp(inc->keys[ki].event_type, e->event_type)) {
            if (inc->keys[ki].st->ongoing.changed)
                incidents_note_change(inc, &inc->keys[ki], &inc->keys[ki].st->ongoing);
            ki++;
        }
        incident_key *k = &inc->keys[ki];
        char new_id[37];
        char seed[64];
        snprintf(seed, sizeof seed, "violation:%s", e->id);
        worker_uuid_from_key(seed, new_id);
        /* Each event under its own rule: two models on one camera may have
         * rules of their own, sharing the (camera, type) state. */
        k->r = e->rule; /* written back with the state: the last one applied */
        rule_outcome o = rules_apply(e->rule, k->st, e->r.timestamp_us, e->r.confidence,
                                     (size_t)(e - inc->ev), new_id);
        if (k->st->ended.ended) {
            incidents_note_change(inc, k, &k->st->ended);
            memset(&k->st->ended, 0, sizeof k->st->ended);
        }
        if (o != RULE_NONE)
            memcpy(e->violation_id, k->st->ongoing.id, 37);
    }
    for (size_t i = ki; i < inc->nk; i++)
        if (inc->keys[i].st->ongoing.changed)
            incidents_note_change(inc, &inc->keys[i], &inc->keys[i].st->ongoing);
}

/* ---- step 6: the outbox ---- */

/* The snapshot and bookmark requests of a violation opened in this batch. */
static void incidents_request_evidence(incidents *inc, const violation_msg *v, outbox_batch *out)
{
    const ruth_config *cfg = inc->w->cfg;
    buf payload = {0};
    for (int kind = 0; kind < 2; kind++) {
        evidence_request_msg er = {.violation_id = v->id,
                                   .camera_id = v->camera_id,
                                   .stream_id = v->stream_id,
                                   .kind = kind ? "bookmark" : "snapshot",
                                   .center_timestamp_us = v->first_event_at_us,
                                   .before_seconds = kind ? cfg->evidence_before_sec : 0,
                                   .after_seconds = kind ? cfg->evidence_after_sec : 0,
                                   .attempt = 1};
        codec_error cerr;
        buf_reset(&payload);
        if (codec_encode_evidence_request(inc->w->codec, CODEC_FMT_SINGLE_OBJECT, &er, &payload,
                                          &cerr) == 0)
            outbox_batch_add(out, cfg->topic_evidence, v->camera_id, &payload);
        else
            log_error("cannot encode EvidenceRequest %s/%s: %s", v->id, er.kind, cerr.message);
    }
    buf_free(&payload);
}

/* One ViolationChange per changed violation (row of `rows`), the evidence
 * requests of the opened ones, one INSERT; their outbox ids added to
 * outbox_ids. */
static int incidents_outbox(incidents *inc, const PGresult *rows, int64_t now_us,
                            pg_array *outbox_ids, char *err, size_t errsz)
{
    worker *w = inc->w;
    outbox_batch out = {0};
    outbox_batch_begin(&out);
    for (int row = 0; row < PQntuples(rows); row++) {
        const char *id = violation_row_id(rows, row);
        const changed_violation *c = NULL;
        for (size_t i = 0; i < inc->nch && !c; i++)
            if (!strcmp(inc->ch[i].inc.id, id))
                c = &inc->ch[i];
        bool opened = c && c->inc.is_new;
        violation_msg v;
        codec_error cerr;
        if (outbox_put_violation_change(&out, w->codec, w->cfg->topic_violations, rows, row,
                                        opened ? "opened" : "updated", now_us, &v, &cerr))
            log_error("cannot encode ViolationChange %s: %s", id, cerr.message);
        if (opened)
            incidents_request_evidence(inc, &v, &out);
        (*(opened ? &inc->opened : &inc->updated))++;
    }
    int rc = outbox_batch_insert(&out, w->db, w->stmts, outbox_ids, err, errsz);
    outbox_batch_free(&out);
    return rc;
}

int worker_incidents_write(worker *w, worker_event *ev, size_t n, bool link, pg_array *outbox_ids,
                           size_t changes[2], char *err, size_t errsz)
{
    incidents inc = {.w = w, .ev = ev, .link = link};
    PGresult *rows = NULL;
    int rc = 0;
    incidents_collect(&inc, ev, n);
    if (inc.nq == 0)
        goto done;
    rc = -1;
    if (incidents_load_state(&inc, err, errsz))
        goto done;
    incidents_apply(&inc);
    if (worker_incidents__write(&inc, &rows, err, errsz))
        goto done;
    /* The changes occur once written: stamped after the write pipeline. */
    if (inc.nch && incidents_outbox(&inc, rows, clock_wall_us(), outbox_ids, err, errsz))
        goto done;
    changes[0] += inc.opened;
    changes[1] += inc.updated;
    rc = 0;
done:
    PQclear(rows);
    pg_array_free(&inc.key_cameras);
    pg_array_free(&inc.key_types);
    for (size_t i = 0; i < inc.nk; i++)
        free(inc.keys[i].st);
    free(inc.keys);
    free(inc.ch);
    free(inc.q);
    return rc;
}
