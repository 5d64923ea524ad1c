/* worker_rollups.c - the rollups of a batch's new events (step 3 of
 * worker_batch.c): per minute and per hour, by camera and event type
 * (event_rollups, event_rollups_hourly), per block of 1 minute to 6 hours by
 * camera and by type (event_rollups_camera, event_rollups_type: what
 * GET /analytics/summary reads; migration 0015), and per minute by model and
 * camera with running totals per model and camera (model_rollups,
 * model_cameras; migration 0009), which the analytics endpoints and
 * GET /models/status read instead of raw events.
 *
 * Both kinds are aggregated in C, then all six tables are upserted by one
 * statement, so a batch costs one round trip here whatever its size. Only
 * events stored by this batch count (`inserted`): a redelivery adds
 * nothing. Model rows are keyed by camera too: a camera's results are
 * usually one partition's, so concurrent workers rarely wait on each
 * other's rows. Not always: DeepStream's minimal schema comes unkeyed
 * (README), and a sensor mapped to a camera can reach several partitions;
 * rows are locked in sorted order, so that costs waiting, never a
 * deadlock. */
#include "worker_rollups.h"

#include "latency_hist.h"
#include "pg.h"
#include "pg_array.h"
#include "xmalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per minute, camera and event type. */
typedef struct rollup {
    int64_t minute_us;
    const char *camera_id, *event_type;
    int64_t count, latency_count, last_us;
    double max_conf, conf_sum, latency_sum;
} rollup;

/* Per minute, model and camera. */
typedef struct model_rollup {
    int64_t minute_us;
    const char *model_id, *camera_id, *version; /* version of the latest result */
    int64_t frames, errors, latency_count, first_us, last_us;
    double latency_sum, latency_max;
    int64_t hist[LATENCY_HIST_N];
} model_rollup;

static int64_t rollups__minute(int64_t t)
{
    return t - ((t % 60000000) + 60000000) % 60000000;
}

static int rollups__cmp(const void *a, const void *b)
{
    const rollup *x = a, *y = b;
    if (x->minute_us != y->minute_us)
        return x->minute_us < y->minute_us ? -1 : 1;
    int c = strcmp(x->camera_id, y->camera_id);
    return c ? c : strcmp(x->event_type, y->event_type);
}

static int rollups__model_cmp(const void *a, const void *b)
{
    const model_rollup *x = a, *y = b;
    if (x->minute_us != y->minute_us)
        return x->minute_us < y->minute_us ? -1 : 1;
    int c = strcmp(x->model_id, y->model_id);
    return c ? c : strcmp(x->camera_id, y->camera_id);
}

static bool rollups__is_error(const worker_event *e)
{
    return e->r.error_code || !strcmp(e->event_type, "error") || !strcmp(e->r.event_type, "error");
}

/* One row per new event, sorted (so concurrent writers lock rows in the
 * same order) and merged: the number of distinct rows. */
static size_t rollups__camera(const worker_event *ev, size_t n, rollup *ru)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].inserted)
            continue;
        const inference_result *r = &ev[i].r;
        bool lat = r->has_inference_time;
        ru[k++] = (rollup){rollups__minute(r->timestamp_us),
                           r->camera_id,
                           ev[i].event_type,
                           1,
                           lat ? 1 : 0,
                           r->timestamp_us,
                           r->confidence,
                           r->confidence,
                           lat ? r->inference_time_ms : 0};
    }
    if (!k)
        return 0;
    qsort(ru, k, sizeof *ru, rollups__cmp);
    size_t u = 0;
    for (size_t i = 1; i < k; i++) {
        rollup *a = &ru[u], *b = &ru[i];
        if (rollups__cmp(a, b)) {
            ru[++u] = *b;
            continue;
        }
        a->count += b->count;
        a->latency_count += b->latency_count;
        a->conf_sum += b->conf_sum;
        a->latency_sum += b->latency_sum;
        if (b->max_conf > a->max_conf)
            a->max_conf = b->max_conf;
        if (b->last_us > a->last_us)
            a->last_us = b->last_us;
    }
    return u + 1;
}

static size_t rollups__model(const worker_event *ev, size_t n, model_rollup *mr)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].inserted)
            continue;
        const inference_result *r = &ev[i].r;
        model_rollup *m = &mr[k++];
        *m = (model_rollup){.minute_us = rollups__minute(r->timestamp_us),
                            .model_id = r->model_id,
                            .camera_id = r->camera_id,
                            .version = r->model_version,
                            .frames = 1,
                            .errors = rollups__is_error(&ev[i]),
                            .first_us = r->timestamp_us,
                            .last_us = r->timestamp_us};
        if (r->has_inference_time) {
            m->latency_count = 1;
            m->latency_sum = m->latency_max = r->inference_time_ms;
            m->hist[latency_hist_bucket(r->inference_time_ms)] = 1;
        }
    }
    if (!k)
        return 0;
    qsort(mr, k, sizeof *mr, rollups__model_cmp);
    size_t u = 0;
    for (size_t i = 1; i < k; i++) {
        model_rollup *a = &mr[u], *b = &mr[i];
        if (rollups__model_cmp(a, b)) {
            mr[++u] = *b;
            continue;
        }
        a->frames += b->frames;
        a->errors += b->errors;
        a->latency_count += b->latency_count;
        a->latency_sum += b->latency_sum;
        if (b->latency_max > a->latency_max)
            a->latency_max = b->latency_max;
        for (int j = 0; j < LATENCY_HIST_N; j++)
            a->hist[j] += b->hist[j];
        if (b->first_us < a->first_us)
            a->first_us = b->first_us;
        if (b->last_us >= a->last_us) {
            a->last_us = b->last_us;
            a->version = b->version;
        }
    }
    return u + 1;
}

/* why: one statement for six tables is one round trip per batch; its
 * parts are the CTEs, each commented. Hourly active_minutes counts the
 * minute rows this statement created (xmax = 0: inserted, not updated). */
static const char rollups_sql[] =
    "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[],"
    "   $5::float8[], $6::float8[], $7::float8[], $8::bigint[], $9::bigint[])"
    "   AS u(m, c, t, n, x, cs, ls, lc, le)),"
    /* per minute, camera and type */
    " per_minute AS ("
    "  INSERT INTO event_rollups (minute, camera_id, event_type, count, max_confidence,"
    "   confidence_sum, latency_sum_ms, latency_count, last_event_at)"
    "  SELECT 'epoch'::timestamptz + m * interval '1 microsecond', c, t, n, x, cs, ls, lc,"
    "   'epoch'::timestamptz + le * interval '1 microsecond' FROM u"
    "  ON CONFLICT (minute, camera_id, event_type) DO UPDATE SET"
    "   count = event_rollups.count + EXCLUDED.count,"
    "   max_confidence = greatest(event_rollups.max_confidence, EXCLUDED.max_confidence),"
    "   confidence_sum = event_rollups.confidence_sum + EXCLUDED.confidence_sum,"
    "   latency_sum_ms = event_rollups.latency_sum_ms + EXCLUDED.latency_sum_ms,"
    "   latency_count = event_rollups.latency_count + EXCLUDED.latency_count,"
    "   last_event_at = greatest(event_rollups.last_event_at, EXCLUDED.last_event_at)"
    "  RETURNING minute, camera_id, event_type, (xmax = 0) AS fresh),"
    /* per hour, camera and type */
    " per_hour AS ("
    "  INSERT INTO event_rollups_hourly (hour, camera_id, event_type, count, max_confidence,"
    "   confidence_sum, latency_sum_ms, latency_count, last_event_at, active_minutes)"
    "  SELECT date_trunc('hour', pm.minute), c, t, sum(n), max(x), sum(cs), sum(ls), sum(lc),"
    "   'epoch'::timestamptz + max(le) * interval '1 microsecond',"
    "   count(*) FILTER (WHERE pm.fresh)"
    "   FROM u JOIN per_minute pm ON pm.minute = 'epoch'::timestamptz + m * interval"
    "    '1 microsecond' AND pm.camera_id = c AND pm.event_type = t"
    "   GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (hour, camera_id, event_type) DO UPDATE SET"
    "   count = event_rollups_hourly.count + EXCLUDED.count,"
    "   max_confidence = greatest(event_rollups_hourly.max_confidence, EXCLUDED.max_confidence),"
    "   confidence_sum = event_rollups_hourly.confidence_sum + EXCLUDED.confidence_sum,"
    "   latency_sum_ms = event_rollups_hourly.latency_sum_ms + EXCLUDED.latency_sum_ms,"
    "   latency_count = event_rollups_hourly.latency_count + EXCLUDED.latency_count,"
    "   last_event_at = greatest(event_rollups_hourly.last_event_at, EXCLUDED.last_event_at),"
    "   active_minutes = least(60, event_rollups_hourly.active_minutes"
    "    + EXCLUDED.active_minutes)),"
    /* per span block and camera, types merged, and per span block and type,
     * all cameras merged, keyed by the writing session so that concurrent
     * workers never wait on each other here (migration 0015) */
    " spans AS (SELECT * FROM (VALUES (60, 60000000::bigint), (600, 600000000),"
    "   (3600, 3600000000), (21600, 21600000000)) AS s(span, us)),"
    " per_camera AS ("
    "  INSERT INTO event_rollups_camera (span, at, camera_id, count, max_confidence,"
    "   last_event_at)"
    "  SELECT s.span, 'epoch'::timestamptz + (m - (m % s.us + s.us) % s.us)"
    "   * interval '1 microsecond', c, sum(n), max(x),"
    "   'epoch'::timestamptz + max(le) * interval '1 microsecond'"
    "   FROM u CROSS JOIN spans s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (span, at, camera_id) DO UPDATE SET"
    "   count = event_rollups_camera.count + EXCLUDED.count,"
    "   max_confidence = greatest(event_rollups_camera.max_confidence, EXCLUDED.max_confidence),"
    "   last_event_at = greatest(event_rollups_camera.last_event_at, EXCLUDED.last_event_at)),"
    " per_type AS ("
    "  INSERT INTO event_rollups_type (span, at, event_type, writer, count)"
    "  SELECT s.span, 'epoch'::timestamptz + (m - (m % s.us + s.us) % s.us)"
    "   * interval '1 microsecond', t, pg_backend_pid() % 16, sum(n)"
    "   FROM u CROSS JOIN spans s WHERE s.span < 21600 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    "  ON CONFLICT (span, at, event_type, writer) DO UPDATE SET"
    "   count = event_rollups_type.count + EXCLUDED.count),"
    /* per minute, model and camera */
    " mu AS (SELECT * FROM unnest($10::bigint[], $11::text[], $12::text[], $13::text[],"
    "   $14::bigint[], $15::bigint[], $16::float8[], $17::bigint[], $18::float8[], $19::text[],"
    "   $20::bigint[], $21::bigint[]) AS mu(m, model, cam, v, fr, er, ls, lc, lx, h, f0, f1)),"
    " per_model AS ("
    "  INSERT INTO model_rollups (minute, model_id, camera_id, frames, errors, latency_sum_ms,"
    "   latency_count, latency_max_ms, latency_hist)"
    "  SELECT 'epoch'::timestamptz + m * interval '1 microsecond', model, cam, fr, er, ls, lc,"
    "   lx, h::bigint[] FROM mu"
    "  ON CONFLICT (minute, model_id, camera_id) DO UPDATE SET"
    "   frames = model_rollups.frames + EXCLUDED.frames,"
    "   errors = model_rollups.errors + EXCLUDED.errors,"
    "   latency_sum_ms = model_rollups.latency_sum_ms + EXCLUDED.latency_sum_ms,"
    "   latency_count = model_rollups.latency_count + EXCLUDED.latency_count,"
    "   latency_max_ms = greatest(model_rollups.latency_max_ms, EXCLUDED.latency_max_ms),"
    "   latency_hist = ARRAY(SELECT a + b FROM unnest(model_rollups.latency_hist,"
    "    EXCLUDED.latency_hist) AS z(a, b)))"
    /* totals per model and camera */
    " INSERT INTO model_cameras AS mc (model_id, camera_id, model_version, frames_total,"
    "  errors_total, first_inference_at, last_inference_at)"
    " SELECT model, cam, (array_agg(v ORDER BY f1 DESC))[1], sum(fr), sum(er),"
    "  'epoch'::timestamptz + min(f0) * interval '1 microsecond',"
    "  'epoch'::timestamptz + max(f1) * interval '1 microsecond'"
    "  FROM mu GROUP BY 1, 2 ORDER BY 1, 2"
    " ON CONFLICT (model_id, camera_id) DO UPDATE SET"
    "  model_version = CASE WHEN EXCLUDED.last_inference_at >= mc.last_inference_at"
    "   THEN coalesce(EXCLUDED.model_version, mc.model_version) ELSE mc.model_version END,"
    "  frames_total = mc.frames_total + EXCLUDED.frames_total,"
    "  errors_total = mc.errors_total + EXCLUDED.errors_total,"
    "  first_inference_at = least(mc.first_inference_at, EXCLUDED.first_inference_at),"
    "  last_inference_at = greatest(mc.last_inference_at, EXCLUDED.last_inference_at)";

void worker_rollups_prepare(const worker_event *ev, size_t n, worker_rollups_prep *prep)
{
    rollup *ru = xmalloc((n ? n : 1) * sizeof *ru);
    model_rollup *mr = xmalloc((n ? n : 1) * sizeof *mr);
    size_t k = rollups__camera(ev, n, ru);
    size_t km = rollups__model(ev, n, mr);
    pg_array *a = prep->a;
    memset(prep, 0, sizeof *prep);
    prep->ready = true;
    prep->any = k > 0;
    if (k) {
        for (int i = 0; i < WORKER_ROLLUPS_NPARAMS; i++)
            pg_array_begin(&a[i]);
        for (size_t i = 0; i < k; i++) {
            const rollup *r = &ru[i];
            pg_array_add_i64(&a[0], r->minute_us);
            pg_array_add(&a[1], r->camera_id);
            pg_array_add(&a[2], r->event_type);
            pg_array_add_i64(&a[3], r->count);
            pg_array_add_f8(&a[4], r->max_conf);
            pg_array_add_f8(&a[5], r->conf_sum);
            pg_array_add_f8(&a[6], r->latency_sum);
            pg_array_add_i64(&a[7], r->latency_count);
            pg_array_add_i64(&a[8], r->last_us);
        }
        for (size_t i = 0; i < km; i++) {
            const model_rollup *m = &mr[i];
            pg_array_add_i64(&a[9], m->minute_us);
            pg_array_add(&a[10], m->model_id);
            pg_array_add(&a[11], m->camera_id);
            pg_array_add(&a[12], m->version);
            pg_array_add_i64(&a[13], m->frames);
            pg_array_add_i64(&a[14], m->errors);
            pg_array_add_f8(&a[15], m->latency_sum);
            pg_array_add_i64(&a[16], m->latency_count);
            pg_array_add_f8(&a[17], m->latency_max);
            char h[LATENCY_HIST_N * 21 + 3];
            size_t o = 0;
            h[o++] = '{';
            for (int j = 0; j < LATENCY_HIST_N; j++)
                o += (size_t)snprintf(h + o, sizeof h - o, "%s%lld", j ? "," : "",
                                      (long long)m->hist[j]);
            snprintf(h + o, sizeof h - o, "}");
            pg_array_add(&a[18], h);
            pg_array_add_i64(&a[19], m->first_us);
            pg_array_add_i64(&a[20], m->last_us);
        }
    }
    free(ru);
    free(mr);
}

void worker_rollups_prep_free(worker_rollups_prep *prep)
{
    if (prep->any)
        for (int i = 0; i < WORKER_ROLLUPS_NPARAMS; i++)
            pg_array_free(&prep->a[i]);
    prep->any = prep->ready = false;
}

int worker_rollups_exec(worker *w, worker_rollups_prep *prep, char *err, size_t errsz)
{
    int rc = 0;
    if (prep->any) {
        const char *p[WORKER_ROLLUPS_NPARAMS];
        for (int i = 0; i < WORKER_ROLLUPS_NPARAMS; i++)
            p[i] = pg_array_end(&prep->a[i]);
        rc = pg_stmts_exec_ok(w->stmts, w->db, rollups_sql, WORKER_ROLLUPS_NPARAMS, p, NULL, err,
                              errsz)
                 ? 0
                 : -1;
    }
    worker_rollups_prep_free(prep);
    return rc;
}

int worker_rollups_write(worker *w, const worker_event *ev, size_t n, char *err, size_t errsz)
{
    worker_rollups_prep prep;
    worker_rollups_prepare(ev, n, &prep);
    return worker_rollups_exec(w, &prep, err, errsz);
}
