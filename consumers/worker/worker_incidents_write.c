/* worker_incidents_write.c - step 5 of worker_batch.c (worker_incidents.c runs
 * steps 4 and 6 around it): the writes of a batch's changed incidents, one
 * pipeline (libpq pipeline mode), one round trip:
 *   A. violations ended/attached (UPDATE), then B. opened (INSERT) - in that
 *      order because of the one-ongoing-per-(camera, type) unique index;
 *   C. their evidence rows; D. events linked to their violation; rule_state
 *      written back; E. the changed violations read back.
 *
 * Each statement has its own parameter struct, one pg_array per unnest()
 * column named after it, listed in $n order once (its _begin function,
 * through pg_params): a column added to one statement cannot shift
 * another's. */
#include "worker_incidents_internal.h"

#include "pg.h"
#include "pg_params.h"
#include "violation_row.h"
#include "worker_zones.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A. existing incidents that ended or grew. `confidence` follows the
 * highest confidence among the incident's events (contract §3.2);
 * opening_confidence keeps the opening event's, written once by B. */
typedef struct violation_update {
    pg_array id, event_count, max_confidence, first_us, last_us, ended_us, boxes, best_event, zones;
    pg_params p;
    size_t n;
} violation_update;

static const char *const violation_update_sql =
    "UPDATE violations v SET event_count = u.n, max_confidence = u.mx, confidence = u.mx,"
    " first_event_at = least(v.first_event_at,"
    "   'epoch'::timestamptz + u.f * interval '1 microsecond'),"
    " last_event_at = 'epoch'::timestamptz + u.l * interval '1 microsecond',"
    " ended_at = 'epoch'::timestamptz + u.e * interval '1 microsecond',"
    " bounding_boxes = coalesce(u.b::jsonb, v.bounding_boxes),"
    " best_event_id = coalesce(u.best, v.best_event_id),"
    " zones = ARRAY(SELECT DISTINCT z FROM unnest(v.zones || u.z::text[]) z ORDER BY z)"
    " FROM unnest($1::uuid[], $2::bigint[], $3::float8[], $4::bigint[], $5::bigint[],"
    "   $6::bigint[], $7::text[], $8::uuid[], $9::text[]) u(id, n, mx, f, l, e, b, best, z)"
    " WHERE v.id = u.id";

static void violation_update_begin(violation_update *s)
{
    pg_array *order[] = {&s->id,       &s->event_count, &s->max_confidence,
                         &s->first_us, &s->last_us,     &s->ended_us,
                         &s->boxes,    &s->best_event,  &s->zones};
    pg_params_bind(&s->p, order, (int)(sizeof order / sizeof *order));
}

static void violation_update_add(violation_update *s, const rule_incident *c,
                                 const worker_event *ev)
{
    s->n++;
    pg_array_add(&s->id, c->id);
    pg_array_add_i64(&s->event_count, c->event_count);
    pg_array_add_f8(&s->max_confidence, c->max_confidence);
    pg_array_add_i64(&s->first_us, c->first_event_us);
    pg_array_add_i64(&s->last_us, c->last_event_us);
    if (c->ended)
        pg_array_add_i64(&s->ended_us, c->ended_at_us);
    else
        pg_array_add(&s->ended_us, NULL);
    if (c->best_in_batch) {
        buf bj = {0};
        codec_boxes_json(&bj, ev[c->best_event].r.boxes, ev[c->best_event].r.nboxes, false);
        pg_array_add(&s->boxes, buf_cstr(&bj));
        pg_array_add(&s->best_event, ev[c->best_event].id);
        buf_free(&bj);
    } else {
        pg_array_add(&s->boxes, NULL);
        pg_array_add(&s->best_event, NULL);
    }
}

/* B. new incidents (ended ones first is not needed: a batch ends an
 * incident before opening the next, and ended rows carry ended_at). */
typedef struct violation_insert {
    pg_array id, type, camera_id, stream_id, model_id, rule_id, severity, confidence,
        max_confidence, event_count, first_us, last_us, ended_us, boxes, best_event, model_version,
        zones;
    pg_params p;
    size_t n;
} violation_insert;

static const char *const violation_insert_sql =
    "INSERT INTO violations (id, type, camera_id, stream_id, model_id, rule_id,"
    " severity, opening_confidence, confidence, max_confidence, event_count, first_event_at,"
    " last_event_at, ended_at, bounding_boxes, best_event_id, model_version, zones)"
    " SELECT id, t, c, s, m, r, sev, conf, mx, mx, n,"
    " 'epoch'::timestamptz + f * interval '1 microsecond',"
    " 'epoch'::timestamptz + l * interval '1 microsecond',"
    " 'epoch'::timestamptz + e * interval '1 microsecond', b::jsonb, best, mv, z::text[]"
    " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
    "   $6::uuid[], $7::text[], $8::float8[], $9::float8[], $10::bigint[],"
    "   $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::uuid[], $16::text[],"
    "   $17::text[]) u(id, t, c, s, m, r, sev, conf, mx, n, f, l, e, b, best, mv, z)"
    " ORDER BY e NULLS LAST"; /* ended ones first: the ongoing index */

static void violation_insert_begin(violation_insert *s)
{
    pg_array *order[] = {&s->id,
                         &s->type,
                         &s->camera_id,
                         &s->stream_id,
                         &s->model_id,
                         &s->rule_id,
                         &s->severity,
                         &s->confidence,
                         &s->max_confidence,
                         &s->event_count,
                         &s->first_us,
                         &s->last_us,
                         &s->ended_us,
                         &s->boxes,
                         &s->best_event,
                         &s->model_version,
                         &s->zones};
    pg_params_bind(&s->p, order, (int)(sizeof order / sizeof *order));
}

static void violation_insert_add(violation_insert *s, const rule_incident *c, const incident_key *k,
                                 const worker_event *ev)
{
    s->n++;
    const worker_event *best = &ev[c->best_event];
    pg_array_add(&s->id, c->id);
    pg_array_add(&s->type, k->event_type);
    pg_array_add(&s->camera_id, k->camera_id);
    pg_array_add(&s->stream_id, best->r.stream_id);
    pg_array_add(&s->model_id, best->r.model_id);
    const rule *opened_by = best->rule; /* the rule of the incident's best event */
    pg_array_add(&s->rule_id, opened_by->id[0] ? opened_by->id : NULL);
    pg_array_add(&s->severity, opened_by->severity);
    pg_array_add_f8(&s->confidence, c->confidence);
    pg_array_add_f8(&s->max_confidence, c->max_confidence);
    pg_array_add_i64(&s->event_count, c->event_count);
    pg_array_add_i64(&s->first_us, c->first_event_us);
    pg_array_add_i64(&s->last_us, c->last_event_us);
    if (c->ended)
        pg_array_add_i64(&s->ended_us, c->ended_at_us);
    else
        pg_array_add(&s->ended_us, NULL);
    buf bj = {0};
    codec_boxes_json(&bj, best->r.boxes, best->r.nboxes, false);
    pg_array_add(&s->boxes, buf_cstr(&bj));
    buf_free(&bj);
    pg_array_add(&s->best_event, best->id);
    pg_array_add(&s->model_version, best->r.model_version);
}

/* Evidence: one snapshot and one bookmark per new violation. */
typedef struct evidence_insert {
    pg_array violation_id, camera_id, stream_id, center_us;
    char before[16], after[16]; /* seconds around the center, for bookmarks */
    pg_params p;
} evidence_insert;

static const char *const evidence_insert_sql =
    "INSERT INTO evidence (violation_id, kind, camera_id, stream_id, center_timestamp,"
    " before_seconds, after_seconds)"
    " SELECT v, k, c, s, 'epoch'::timestamptz + t * interval '1 microsecond',"
    "   CASE k WHEN 'bookmark' THEN $5::int ELSE 0 END,"
    "   CASE k WHEN 'bookmark' THEN $6::int ELSE 0 END"
    " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[]) u(v, c, s, t),"
    "   unnest(ARRAY['snapshot', 'bookmark']) k"
    " ON CONFLICT (violation_id, kind) DO NOTHING";

static void evidence_insert_begin(evidence_insert *s, const ruth_config *cfg)
{
    pg_array *order[] = {&s->violation_id, &s->camera_id, &s->stream_id, &s->center_us};
    pg_params_bind(&s->p, order, (int)(sizeof order / sizeof *order));
    snprintf(s->before, sizeof s->before, "%d", cfg->evidence_before_sec);
    snprintf(s->after, sizeof s->after, "%d", cfg->evidence_after_sec);
    pg_params_value(&s->p, s->before); /* $5 */
    pg_params_value(&s->p, s->after);  /* $6 */
}

static void evidence_insert_add(evidence_insert *s, const changed_violation *c,
                                const worker_event *ev)
{
    pg_array_add(&s->violation_id, c->inc.id);
    pg_array_add(&s->camera_id, c->key->camera_id);
    pg_array_add(&s->stream_id, ev[c->inc.best_event].r.stream_id);
    pg_array_add_i64(&s->center_us, c->inc.first_event_us);
}

/* C. the events linked to their violation. */
typedef struct event_link {
    pg_array event_id, timestamp_us, violation_id;
    pg_params p;
    size_t n;
} event_link;

static const char *const event_link_sql =
    "UPDATE events e SET violation_id = u.v"
    " FROM unnest($1::uuid[], $2::bigint[], $3::uuid[]) u(id, t, v)"
    " WHERE e.id = u.id AND e.\"timestamp\" ="
    "   'epoch'::timestamptz + u.t * interval '1 microsecond'";

static void event_link_begin(event_link *s)
{
    pg_array *order[] = {&s->event_id, &s->timestamp_us, &s->violation_id};
    pg_params_bind(&s->p, order, (int)(sizeof order / sizeof *order));
}

static void event_link_add(event_link *s, const worker_event *e)
{
    s->n++;
    pg_array_add(&s->event_id, e->id);
    pg_array_add_i64(&s->timestamp_us, e->r.timestamp_us);
    pg_array_add(&s->violation_id, e->violation_id);
}

/* D. the rule state back. */
typedef struct state_write {
    pg_array camera_id, event_type, hits, last_hit_us, last_fired_us, ongoing_id, rule_id, run_us;
    pg_params p;
} state_write;

static const char *const state_write_sql =
    "UPDATE rule_state rs SET recent_hits = coalesce((SELECT array_agg("
    "   'epoch'::timestamptz + h * interval '1 microsecond' ORDER BY h)"
    "   FROM unnest(string_to_array(nullif(u.hits, ''), ',')::bigint[]) h), '{}'),"
    " last_hit_at = 'epoch'::timestamptz + u.lh * interval '1 microsecond',"
    " last_fired_at = coalesce('epoch'::timestamptz + u.lf * interval '1 microsecond',"
    "   rs.last_fired_at),"
    " ongoing_violation_id = u.v, rule_id = u.r,"
    " run_started_at = 'epoch'::timestamptz + u.rs * interval '1 microsecond'"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],"
    "   $6::uuid[], $7::uuid[], $8::bigint[]) u(c, t, hits, lh, lf, v, r, rs)"
    " WHERE rs.camera_id = u.c AND rs.event_type = u.t";

static void state_write_begin(state_write *s)
{
    pg_array *order[] = {&s->camera_id,     &s->event_type, &s->hits,    &s->last_hit_us,
                         &s->last_fired_us, &s->ongoing_id, &s->rule_id, &s->run_us};
    pg_params_bind(&s->p, order, (int)(sizeof order / sizeof *order));
}

static void state_write_add(state_write *s, const incident_key *k)
{
    const rule_state *st = k->st;
    buf hits = {0};
    for (int h = 0; h < st->nhits; h++)
        buf_printf(&hits, "%s%lld", h ? "," : "", (long long)st->hits[h]);
    pg_array_add(&s->camera_id, k->camera_id);
    pg_array_add(&s->event_type, k->event_type);
    pg_array_add(&s->hits, buf_cstr(&hits));
    buf_free(&hits);
    pg_array_add_i64(&s->last_hit_us, st->last_hit_us);
    if (st->last_fired_us)
        pg_array_add_i64(&s->last_fired_us, st->last_fired_us);
    else
        pg_array_add(&s->last_fired_us, NULL);
    pg_array_add(&s->ongoing_id, st->ongoing.exists ? st->ongoing.id : NULL);
    pg_array_add(&s->rule_id, k->r->id[0] ? k->r->id : NULL);
    if (st->run_start_us)
        pg_array_add_i64(&s->run_us, st->run_start_us);
    else
        pg_array_add(&s->run_us, NULL);
}

/* E's input: the changed violations as they are now. */
typedef struct violation_read {
    pg_array id;
    pg_params p;
} violation_read;

static void violation_read_begin(violation_read *s)
{
    pg_array *order[] = {&s->id};
    pg_params_bind(&s->p, order, 1);
}

/* Every statement of step 5; alive until the pipeline has run. */
typedef struct incident_writes {
    violation_update upd;
    violation_insert ins;
    evidence_insert evd;
    event_link link;
    state_write state;
    violation_read rows;
} incident_writes;

static void incident_writes_free(incident_writes *wr)
{
    pg_params_free(&wr->upd.p);
    pg_params_free(&wr->ins.p);
    pg_params_free(&wr->evd.p);
    pg_params_free(&wr->link.p);
    pg_params_free(&wr->state.p);
    pg_params_free(&wr->rows.p);
}

/* A-D and the changed violations' rows for E, one round trip (steps left
 * NULL are skipped). On success *rows holds the changed violations
 * (violation_row_select) when there are any, else NULL. */
static int incidents_write(incidents *inc, incident_writes *wr, PGresult **rows, char *err,
                           size_t errsz)
{
    enum { W_UPD, W_NEW, W_EVD, W_LINK, W_RS, W_ROWS, W_N };
    pg_step steps[W_N] = {{0}};
    violation_update_begin(&wr->upd);
    violation_insert_begin(&wr->ins);
    evidence_insert_begin(&wr->evd, inc->w->cfg);
    event_link_begin(&wr->link);
    state_write_begin(&wr->state);
    violation_read_begin(&wr->rows);
    for (size_t i = 0; i < inc->nch; i++) {
        const changed_violation *c = &inc->ch[i];
        /* The zones of its events in this batch (the UPDATE adds them to its own). */
        pg_array *zones = c->inc.is_new ? &wr->ins.zones : &wr->upd.zones;
        worker_zones_union(inc->q, c->key->q_from, c->key->q_to, c->inc.id, zones);
        if (c->inc.is_new) {
            violation_insert_add(&wr->ins, &c->inc, c->key, inc->ev);
            evidence_insert_add(&wr->evd, c, inc->ev);
        } else {
            violation_update_add(&wr->upd, &c->inc, inc->ev);
        }
        pg_array_add(&wr->rows.id, c->inc.id);
    }
    for (size_t i = 0; i < inc->nq; i++)
        if (inc->q[i]->violation_id[0])
            event_link_add(&wr->link, inc->q[i]);
    for (size_t i = 0; i < inc->nk; i++)
        state_write_add(&wr->state, &inc->keys[i]);
    if (wr->upd.n)
        steps[W_UPD] = pg_params_step(&wr->upd.p, violation_update_sql);
    if (wr->ins.n) {
        steps[W_NEW] = pg_params_step(&wr->ins.p, violation_insert_sql);
        steps[W_EVD] = pg_params_step(&wr->evd.p, evidence_insert_sql);
    }
    if (wr->link.n && inc->link)
        steps[W_LINK] = pg_params_step(&wr->link.p, event_link_sql);
    steps[W_RS] = pg_params_step(&wr->state.p, state_write_sql);
    if (inc->nch)
        steps[W_ROWS] = pg_params_step(&wr->rows.p, violation_row_select);
    *rows = NULL;
    return pg_stmts_pipeline(inc->w->stmts, inc->w->db, steps, W_N, inc->nch ? rows : NULL, NULL,
                             err, errsz)
               ? 0
               : -1;
}

int worker_incidents__write(incidents *inc, PGresult **rows, char *err, size_t errsz)
{
    incident_writes wr = {0};
    int rc = incidents_write(inc, &wr, rows, err, errsz);
    incident_writes_free(&wr);
    return rc;
}
