/* worker_cache.c - the worker's PostgreSQL connection and what it caches
 * from the database: the event-type map, the rules, the cameras' active
 * inference sessions and VAS device ids (reloaded every few seconds), the cameras known to exist
 * (kept until a transaction that may have registered some rolls back). Everything lives in the
 * `worker` context; nothing here is a file static. Also the partition housekeeping that runs on
 * this connection. */
#include "worker_cache.h"

#include "log.h"
#include "pg.h"
#include "pg_array.h"
#include "worker_zones.h"
#include "xmalloc.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rule changes reach every replica through ruth_rules_version (migration
 * 0011's triggers bump it with every change of rules, zones, the type map
 * and the camera columns workers cache, in the writer's transaction): each
 * batch reads it first thing in its own transaction (worker_batch.c) and
 * reloads when it moved, so a change committed before a result was
 * produced applies to that result. A reconnect reloads too; this period is
 * a backstop. */
#define CACHE_REFRESH_US (30 * 1000000LL)

/* ---- the connection ---- */

static const char *const cache__stage_sql =
    "CREATE TEMP TABLE IF NOT EXISTS stage_events ("
    " id uuid, camera_id text, stream_id text, event_type text, type_detail text,"
    " confidence float8, ts timestamptz, model_id text, model_version text,"
    " bounding_boxes jsonb, frame_id text, inference_time_ms float8, runtime_id text,"
    " error_code text, error_message text, attributes jsonb, idempotency_key text,"
    " metadata jsonb, extra jsonb, zones text[])"
    " ON COMMIT DELETE ROWS";

/* Yesterday, today and the next two days (UTC) have their partitions; run
 * at connect and hourly, so a long-running worker never writes into the
 * default partition. */
#define ENSURE_PARTITIONS_SQL                                                                      \
    "SELECT ruth_ensure_event_partitions((now() AT TIME ZONE 'UTC')::date - 1, 4)"

bool worker_db_connect(worker *w)
{
    if (w->db && PQstatus(w->db) == CONNECTION_OK) {
        atomic_store(&w->db_ok, true);
        return true;
    }
    pg_close(w->db);
    w->db = NULL;
    char err[512];
    w->db = pg_connect(w->cfg->database_url, "ruth-worker", 5, err, sizeof err);
    /* Statements are prepared (parsed once per connection) but planned per
     * execution: generic plans for the unnest() joins below doubled the
     * median batch latency when PostgreSQL switched to them.
     * No JIT: the worker's statements are short, but some are estimated
     * expensive (the schedule spans' nested generate_series: JIT compiled
     * that one for 0.9-2 s, returning no rows, inside the batch's
     * transaction at start and every CACHE_REFRESH_US; profiled with
     * pg_stat_statements, issue 15). */
    pg_stmts_reset(w->stmts);   /* a new connection has none prepared */
    w->offline_sweeper = false; /* a session lock goes with its connection */
    if (!w->db || !pg_exec_ok(w->db, cache__stage_sql, err, sizeof err) ||
        !pg_exec_ok(w->db, "SET plan_cache_mode = force_custom_plan; SET jit = off", err,
                    sizeof err) ||
        !pg_exec_ok(w->db, ENSURE_PARTITIONS_SQL, err, sizeof err)) {
        log_warn("PostgreSQL unavailable: %s", err);
        pg_close(w->db);
        w->db = NULL;
        atomic_store(&w->db_ok, false);
        return false;
    }
    atomic_store(&w->db_ok, true);
    w->caches_loaded_us = 0;
    return true;
}

/* The event-type map and the rules (reloaded every few seconds). */
static void cache__free_types_and_rules(worker *w)
{
    for (size_t i = 0; i < w->ntypes; i++) {
        free(w->types[i].raw);
        free(w->types[i].canonical);
    }
    free(w->types);
    w->types = NULL;
    w->ntypes = 0;
    for (size_t i = 0; i < w->nrules; i++) {
        free(w->rules[i].camera_id);
        free(w->rules[i].model_id);
        free(w->rules[i].event_type);
        for (int k = 0; k < w->rules[i].nrequired; k++)
            free(w->rules[i].required_zones[k]);
        free(w->rules[i].required_zones);
        free(w->rules[i].spans);
    }
    free(w->rules);
    w->rules = NULL;
    w->nrules = 0;
    worker_camera_ref *lists[2] = {w->sessions, w->sensors};
    size_t counts[2] = {w->nsessions, w->nsensors};
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < counts[l]; i++) {
            free(lists[l][i].key);
            free(lists[l][i].value);
        }
        free(lists[l]);
    }
    w->sessions = w->sensors = NULL;
    w->nsessions = w->nsensors = 0;
}

/* Known camera ids (kept across reloads; forgotten when a transaction that
 * may have registered some rolls back). The array itself is kept. */
void worker_cache_forget_cameras(worker *w)
{
    for (size_t i = 0; i < w->ncameras; i++)
        free(w->cameras[i]);
    w->ncameras = 0;
}

void worker_caches_free(worker *w)
{
    cache__free_types_and_rules(w);
    worker_zones_free(w);
    worker_cache_forget_cameras(w);
    free(w->cameras);
    w->cameras = NULL;
    w->capcameras = 0;
}

static int cache__cmp_type(const void *a, const void *b)
{
    return strcmp(((const worker_type_map *)a)->raw, ((const worker_type_map *)b)->raw);
}

static int cache__cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cache__cmp_ref(const void *a, const void *b)
{
    return strcmp(((const worker_camera_ref *)a)->key, ((const worker_camera_ref *)b)->key);
}

/* Active inference sessions (camera -> model) and VAS device ids (device ->
 * camera), for results that leave the model out and DeepStream sensor ids. */
static void cache__load_cameras(worker *w, PGresult *c)
{
    int n = PQntuples(c);
    w->sessions = xcalloc((size_t)n + 1, sizeof *w->sessions);
    w->sensors = xcalloc((size_t)n + 1, sizeof *w->sensors);
    for (int row = 0; row < n; row++) {
        if (!PQgetisnull(c, row, 2)) {
            worker_camera_ref *r = &w->sessions[w->nsessions++];
            r->key = xstrdup(PQgetvalue(c, row, 0));
            r->value = xstrdup(PQgetvalue(c, row, 2));
        }
        if (!PQgetisnull(c, row, 1)) {
            worker_camera_ref *r = &w->sensors[w->nsensors++];
            r->key = xstrdup(PQgetvalue(c, row, 1));
            r->value = xstrdup(PQgetvalue(c, row, 0));
        }
    }
    qsort(w->sessions, w->nsessions, sizeof *w->sessions, cache__cmp_ref);
    qsort(w->sensors, w->nsensors, sizeof *w->sensors, cache__cmp_ref);
}

static const char *cache__ref(const worker_camera_ref *refs, size_t n, const char *key)
{
    worker_camera_ref probe = {(char *)key, NULL};
    const worker_camera_ref *hit =
        n ? bsearch(&probe, refs, n, sizeof *refs, cache__cmp_ref) : NULL;
    return hit ? hit->value : NULL;
}

const char *worker_cache_session_model(const worker *w, const char *camera_id)
{
    return cache__ref(w->sessions, w->nsessions, camera_id);
}

const char *worker_cache_camera_for_sensor(const worker *w, const char *sensor_id)
{
    return cache__ref(w->sensors, w->nsensors, sensor_id);
}

static char *cache__dup_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

/* A rule's required_zones from its JSON array (NULL: none). */
static void cache__required_zones(rule *ru, const char *json)
{
    json_t *a = json_loads(json, 0, NULL);
    size_t n = json_array_size(a);
    ru->required_zones = n ? xcalloc(n, sizeof *ru->required_zones) : NULL;
    for (size_t i = 0; i < n; i++)
        if (json_is_string(json_array_get(a, i)))
            ru->required_zones[ru->nrequired++] = xstrdup(json_string_value(json_array_get(a, i)));
    json_decref(a);
}

/* Every rule's active windows as UTC spans, for the local days around now
 * (now +- $1 seconds, in each window's own time zone): PostgreSQL's time
 * zone database turns local wall-clock times into instants, so daylight
 * saving changes are handled there (a window 08:00-09:00 is 07:00-08:00Z
 * in Berlin's winter and 06:00-07:00Z in summer). A window whose end is not
 * after its start crosses midnight and belongs to its start's weekday.
 * Local times that do not exist (the hour skipped in spring) are read with
 * the offset before the change, as PostgreSQL does. */
static const char *const cache__spans_sql =
    "SELECT r.id, (extract(epoch FROM s.f) * 1000000)::bigint,"
    " (extract(epoch FROM s.t) * 1000000)::bigint"
    " FROM rules r CROSS JOIN LATERAL jsonb_array_elements(r.schedule) w(j)"
    " CROSS JOIN LATERAL generate_series("
    "   ((now() - $1::int * interval '1 second') AT TIME ZONE (w.j->>'time_zone'))::date - 1,"
    "   ((now() + $1::int * interval '1 second') AT TIME ZONE (w.j->>'time_zone'))::date,"
    "   interval '1 day') d(day)"
    " CROSS JOIN LATERAL (SELECT"
    "   (d.day::date + (w.j->>'start')::time) AT TIME ZONE (w.j->>'time_zone') AS f,"
    "   (d.day::date + (w.j->>'end')::time + CASE WHEN (w.j->>'end')::time"
    "     <= (w.j->>'start')::time THEN interval '1 day' ELSE interval '0' END)"
    "     AT TIME ZONE (w.j->>'time_zone') AS t) s"
    " WHERE r.schedule IS NOT NULL AND extract(isodow FROM d.day) IN (SELECT"
    "   array_position(ARRAY['mon','tue','wed','thu','fri','sat','sun'], x)"
    "   FROM jsonb_array_elements_text(w.j->'days') x)";

/* Capture times this far from now have their windows cached: the clock skew
 * a result may have, plus a day, at most 400 days. */
static int cache__span_range_sec(const worker *w)
{
    long s = (long)w->cfg->max_clock_skew_sec + 86400;
    return (int)(s > 400L * 86400 ? 400L * 86400 : s);
}

/* The spans of `res` onto the rules they belong to (rows of one rule need
 * not be adjacent), each rule's sorted and merged. */
static void cache__spans(worker *w, const PGresult *res)
{
    for (size_t i = 0; i < w->nrules; i++) {
        rule *ru = &w->rules[i];
        size_t cap = 0;
        for (int row = 0; row < PQntuples(res); row++) {
            if (strcmp(PQgetvalue(res, row, 0), ru->id))
                continue;
            if (ru->nspans == cap) {
                cap = cap ? cap * 2 : 16;
                ru->spans = xrealloc(ru->spans, cap * sizeof *ru->spans);
            }
            ru->spans[ru->nspans++] = (rule_span){strtoll(PQgetvalue(res, row, 1), NULL, 10),
                                                  strtoll(PQgetvalue(res, row, 2), NULL, 10)};
        }
        ru->nspans = rules_spans_normalize(ru->spans, ru->nspans);
    }
}

static const char *const cache__zones_sql =
    "SELECT z.camera_id, z.name, z.units = 'normalized', z.points::text,"
    " coalesce(c.frame_width, 0), coalesce(c.frame_height, 0)"
    " FROM zones z LEFT JOIN cameras c ON c.id = z.camera_id";

/* The type map, rules and zones, reloaded when `version` moved (see
 * CACHE_REFRESH_US). */
int worker_cache_load(worker *w, int64_t now, int64_t version, char *err, size_t errsz)
{
    if (w->caches_loaded_us && version == w->rules_version &&
        now - w->caches_loaded_us < CACHE_REFRESH_US)
        return 0;
    PGresult *t = pg_stmts_exec(w->stmts, w->db, "SELECT raw_label, event_type FROM event_type_map",
                                0, NULL, NULL, err, errsz);
    if (!t)
        return -1;
    PGresult *r = pg_stmts_exec(
        w->stmts, w->db,
        "SELECT id, camera_id, model_id, event_type, enabled, min_confidence, min_hits,"
        " window_seconds, cooldown_seconds, severity,"
        " coalesce(to_jsonb(required_zones), '[]')::text, min_duration_seconds,"
        " schedule IS NOT NULL FROM rules",
        0, NULL, NULL, err, errsz);
    PGresult *c = r ? pg_stmts_exec(w->stmts, w->db,
                                    "SELECT id, vas_device_id, CASE WHEN inference_active THEN"
                                    " nullif(inference_model_id, '') END FROM cameras"
                                    " WHERE vas_device_id IS NOT NULL OR (inference_active AND"
                                    " coalesce(inference_model_id, '') <> '')",
                                    0, NULL, NULL, err, errsz)
                    : NULL;
    PGresult *z =
        c ? pg_stmts_exec(w->stmts, w->db, cache__zones_sql, 0, NULL, NULL, err, errsz) : NULL;
    char range[16];
    snprintf(range, sizeof range, "%d", cache__span_range_sec(w));
    const char *sp[1] = {range};
    PGresult *s =
        z ? pg_stmts_exec(w->stmts, w->db, cache__spans_sql, 1, sp, NULL, err, errsz) : NULL;
    if (!s) {
        PQclear(t);
        PQclear(r);
        PQclear(c);
        PQclear(z);
        return -1;
    }
    bool first = w->caches_loaded_us == 0;
    cache__free_types_and_rules(w);
    w->ntypes = (size_t)PQntuples(t);
    w->types = xcalloc(w->ntypes ? w->ntypes : 1, sizeof *w->types);
    for (size_t i = 0; i < w->ntypes; i++) {
        w->types[i].raw = xstrdup(PQgetvalue(t, (int)i, 0));
        w->types[i].canonical = xstrdup(PQgetvalue(t, (int)i, 1));
    }
    qsort(w->types, w->ntypes, sizeof *w->types, cache__cmp_type);
    w->nrules = (size_t)PQntuples(r);
    w->rules = xcalloc(w->nrules ? w->nrules : 1, sizeof *w->rules);
    for (size_t i = 0; i < w->nrules; i++) {
        rule *ru = &w->rules[i];
        int row = (int)i;
        snprintf(ru->id, sizeof ru->id, "%s", PQgetvalue(r, row, 0));
        ru->camera_id = cache__dup_or_null(r, row, 1);
        ru->model_id = cache__dup_or_null(r, row, 2);
        ru->event_type = xstrdup(PQgetvalue(r, row, 3));
        ru->enabled = PQgetvalue(r, row, 4)[0] == 't';
        ru->min_confidence = atof(PQgetvalue(r, row, 5));
        ru->min_hits = atoi(PQgetvalue(r, row, 6));
        ru->window_seconds = atoi(PQgetvalue(r, row, 7));
        ru->cooldown_seconds = atoi(PQgetvalue(r, row, 8));
        snprintf(ru->severity, sizeof ru->severity, "%s", PQgetvalue(r, row, 9));
        cache__required_zones(ru, PQgetvalue(r, row, 10));
        ru->min_duration_seconds = atoi(PQgetvalue(r, row, 11));
        ru->scheduled = PQgetvalue(r, row, 12)[0] == 't';
    }
    cache__load_cameras(w, c);
    cache__spans(w, s);
    worker_zones_load(w, z);
    PQclear(t);
    PQclear(r);
    PQclear(c);
    PQclear(z);
    PQclear(s);
    w->caches_loaded_us = now;
    w->rules_version = version;
    if (first)
        log_info("loaded %zu event type mappings, %zu rules and %zu zones", w->ntypes, w->nrules,
                 w->nzones);
    return 0;
}

int worker_cache_reload(worker *w, int64_t now, char *err, size_t errsz)
{
    int64_t loaded = w->caches_loaded_us;
    if (loaded)
        w->caches_loaded_us = now - CACHE_REFRESH_US; /* due now */
    int rc = worker_cache_load(w, now, w->rules_version, err, errsz);
    if (rc)
        w->caches_loaded_us = loaded;
    return rc;
}

void worker_cache_normalize(const worker *w, worker_event *e)
{
    worker_type_map key = {(char *)e->r.event_type, NULL};
    const worker_type_map *m =
        w->ntypes ? bsearch(&key, w->types, w->ntypes, sizeof *w->types, cache__cmp_type) : NULL;
    if (m && strcmp(m->canonical, e->r.event_type) != 0) {
        e->event_type = m->canonical;
        e->type_detail = e->r.event_type;
    } else {
        e->event_type = e->r.event_type;
        e->type_detail = NULL;
    }
}

static bool cache__camera_known(const worker *w, const char *id)
{
    return w->ncameras &&
           bsearch(&id, w->cameras, w->ncameras, sizeof *w->cameras, cache__cmp_str) != NULL;
}

/* ---- cameras seen for the first time ---- */

int worker_cache_register_cameras(worker *w, const worker_event *ev, size_t n, char *err,
                                  size_t errsz)
{
    pg_array ids = {0}, streams = {0};
    pg_array_begin(&ids);
    pg_array_begin(&streams);
    char **added = NULL;
    size_t nadded = 0;
    for (size_t i = 0; i < n; i++) {
        if (cache__camera_known(w, ev[i].r.camera_id))
            continue;
        bool dup = false;
        for (size_t k = 0; k < nadded && !dup; k++)
            dup = !strcmp(added[k], ev[i].r.camera_id);
        if (dup)
            continue;
        added = xrealloc(added, (nadded + 1) * sizeof *added);
        added[nadded++] = (char *)ev[i].r.camera_id;
        pg_array_add(&ids, ev[i].r.camera_id);
        pg_array_add(&streams, ev[i].r.stream_id);
    }
    int rc = 0;
    if (nadded) {
        const char *params[2] = {pg_array_end(&ids), pg_array_end(&streams)};
        rc = pg_stmts_exec_ok(w->stmts, w->db,
                              "INSERT INTO cameras (id, stream_id, discovered)"
                              " SELECT c, s, true FROM unnest($1::text[], $2::text[]) u(c, s)"
                              " ON CONFLICT (id) DO UPDATE SET stream_id ="
                              " coalesce(cameras.stream_id, EXCLUDED.stream_id)"
                              " WHERE cameras.stream_id IS NULL",
                              2, params, NULL, err, errsz)
                 ? 0
                 : -1;
        if (rc == 0) { /* remember them (only after success) */
            for (size_t k = 0; k < nadded; k++) {
                if (w->ncameras == w->capcameras) {
                    w->capcameras = w->capcameras ? w->capcameras * 2 : 64;
                    w->cameras = xrealloc(w->cameras, w->capcameras * sizeof *w->cameras);
                }
                w->cameras[w->ncameras++] = xstrdup(added[k]);
            }
            qsort(w->cameras, w->ncameras, sizeof *w->cameras, cache__cmp_str);
        }
    }
    free(added);
    pg_array_free(&ids);
    pg_array_free(&streams);
    return rc;
}

/* ---- partitions ---- */

void worker_maintain(worker *w)
{
    if (!w->db || PQstatus(w->db) != CONNECTION_OK)
        return;
    char err[512];
    if (!pg_exec_ok(w->db, ENSURE_PARTITIONS_SQL, err, sizeof err)) {
        log_warn("creating upcoming event partitions failed: %s", err);
        return;
    }
    if (w->cfg->events_retention_days <= 0)
        return;
    char days[16];
    snprintf(days, sizeof days, "%d", w->cfg->events_retention_days);
    const char *p[1] = {days};
    PGresult *r = PQexecParams(w->db,
                               "SELECT ruth_drop_event_partitions("
                               "(now() AT TIME ZONE 'UTC')::date - $1::integer)",
                               1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        log_warn("dropping old event partitions failed: %s", PQresultErrorMessage(r));
    else if (atoi(PQgetvalue(r, 0, 0)) > 0)
        log_info("dropped %s event partition(s) older than %d days", PQgetvalue(r, 0, 0),
                 w->cfg->events_retention_days);
    PQclear(r);
}
