/* worker_batch.c - one batch, one PostgreSQL transaction.
 *
 * Order inside the transaction (each step one round trip for the whole batch):
 *   1. unknown cameras registered (discovered = true)
 *   2. events COPYed straight into `events` inside a savepoint; when a
 *      unique violation shows the batch was (partly) stored before (a
 *      redelivery), COPYed into a temp staging table instead, then INSERT ..
 *      ON CONFLICT (idempotency_key, "timestamp") DO NOTHING RETURNING id:
 *      only rows that are really new count below, so a redelivered message
 *      changes nothing anywhere
 *   3. per-minute rollups (aggregated in C) and per-hour rollups upserted
 *      from the new rows, one statement
 *   4. rule_state of every (camera, type) with new qualifying events created
 *      when missing and locked FOR UPDATE (two statements, one pipeline),
 *      and run through worker_rules.c
 *   5. violations ended/attached (UPDATE), then opened (INSERT) - in that
 *      order because of the one-ongoing-per-(camera, type) unique index;
 *      evidence rows; events linked; rule_state written back; the changed
 *      violations read back - all in one pipeline (libpq pipeline mode)
 *   6. ViolationChange and EvidenceRequest messages written to the outbox
 *   7. Event messages produced (idempotent producer; those no rule can link
 *      to a violation already after step 2) and flushed, COMMIT
 *   8. the outbox rows just written published and deleted
 *
 * Delivery guarantee: offsets are committed only after COMMIT (worker_main.c),
 * so a crash anywhere means redelivery; step 2 makes redelivery harmless.
 * Events are acknowledged by Kafka before COMMIT and carry deterministic ids,
 * so a subscriber may see an event twice but never misses one. Violation
 * changes go through the outbox: written with the change, published after,
 * swept by any worker if the writer died; `version` identifies duplicates. */
#include "worker.h"

#include "buf.h"
#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "pg_array.h"
#include "pg_copy.h"
#include "pg.h"
#include "violation_row.h"
#include "xmalloc.h"

#include <jansson.h>
#include <stdarg.h>

#include <openssl/evp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_REFRESH_US (5 * 1000000LL)

/* A batch slower than this is logged with the time of each step. */
#define SLOW_BATCH_US (250 * 1000LL)

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t batch__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void worker_uuid_from_key(const char *key, char out[37])
{
    /* Name-based UUID (version 5 layout) in a namespace of our own. */
    static const unsigned char ns[16] = {0x6b, 0x1f, 0x3c, 0x8e, 0x52, 0x0d, 0x4f, 0x7a,
                                         0x9a, 0x61, 0x2e, 0x44, 0x90, 0x1b, 0x7c, 0x05};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    EVP_DigestUpdate(ctx, ns, sizeof ns);
    EVP_DigestUpdate(ctx, key, strlen(key));
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50);
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[md[i] >> 4];
        out[o++] = hex[md[i] & 15];
    }
    out[36] = '\0';
}

/* ---- text helpers: COPY fields, array literals, JSON ---- */

static void json_str(buf *b, const char *s)
{
    buf_append_byte(b, '"');
    const char *run = s;
    for (const unsigned char *p = (const unsigned char *)s;; p++) {
        if (*p && *p != '"' && *p != '\\' && *p >= 0x20)
            continue;
        buf_append(b, run, (size_t)((const char *)p - run)); /* the clean run so far */
        if (!*p)
            break;
        if (*p == '"' || *p == '\\') {
            buf_append_byte(b, '\\');
            buf_append_byte(b, *p);
        } else {
            buf_printf(b, "\\u%04x", *p);
        }
        run = (const char *)p + 1;
    }
    buf_append_byte(b, '"');
}

/* Shortest text that reads back as the same double: integers (the usual
 * pixel coordinates) without printf, others with %.15g when that round-trips,
 * else %.17g. */
static void json_num(buf *b, double v)
{
    if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) {
        char tmp[24];
        int n = 0;
        int64_t x = (int64_t)v;
        bool neg = x < 0;
        uint64_t u = neg ? (uint64_t)(-x) : (uint64_t)x;
        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        if (neg)
            buf_append_byte(b, '-');
        while (n)
            buf_append_byte(b, (unsigned char)tmp[--n]);
        return;
    }
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof tmp, "%.17g", v);
    buf_append_str(b, tmp);
}

static void json_boxes(buf *b, const codec_bbox *bx, size_t n)
{
    buf_append_byte(b, '[');
    for (size_t i = 0; i < n; i++) {
        buf_append_str(b, i ? ",{\"x\":" : "{\"x\":");
        json_num(b, bx[i].x);
        buf_append_str(b, ",\"y\":");
        json_num(b, bx[i].y);
        buf_append_str(b, ",\"width\":");
        json_num(b, bx[i].width);
        buf_append_str(b, ",\"height\":");
        json_num(b, bx[i].height);
        if (bx[i].label) {
            buf_append_str(b, ",\"label\":");
            json_str(b, bx[i].label);
        }
        if (bx[i].has_confidence) {
            buf_append_str(b, ",\"confidence\":");
            json_num(b, bx[i].confidence);
        }
        buf_append_byte(b, '}');
    }
    buf_append_byte(b, ']');
}

static void json_attrs(buf *b, const codec_attr *a, size_t n)
{
    buf_append_byte(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_append_byte(b, ',');
        json_str(b, a[i].key);
        buf_append_byte(b, ':');
        json_str(b, a[i].value);
    }
    buf_append_byte(b, '}');
}

/* ---- connection and caches ---- */

static const char *const batch__stage_sql =
    "CREATE TEMP TABLE IF NOT EXISTS stage_events ("
    " id uuid, camera_id text, stream_id text, event_type text, type_detail text,"
    " confidence float8, ts timestamptz, model_id text, model_version text,"
    " bounding_boxes jsonb, frame_id text, inference_time_ms float8, runtime_id text,"
    " error_code text, error_message text, attributes jsonb, idempotency_key text)"
    " ON COMMIT DELETE ROWS";

/* Yesterday, today and the next two days (UTC) have their partitions; run
 * at connect and hourly, so a long-running worker never writes into the
 * default partition. */
#define ENSURE_PARTITIONS_SQL \
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
     * median batch latency when PostgreSQL switched to them. */
    pg_stmts_reset(w->stmts); /* a new connection has none prepared */
    if (!w->db || !pg_exec_ok(w->db, batch__stage_sql, err, sizeof err) ||
        !pg_exec_ok(w->db, "SET plan_cache_mode = force_custom_plan", err, sizeof err) ||
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
static void batch__free_types_and_rules(worker *w)
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
    }
    free(w->rules);
    w->rules = NULL;
    w->nrules = 0;
}

/* Known camera ids (kept across reloads; forgotten when a transaction that
 * may have registered some rolls back). The array itself is kept. */
static void batch__forget_cameras(worker *w)
{
    for (size_t i = 0; i < w->ncameras; i++)
        free(w->cameras[i]);
    w->ncameras = 0;
}

void worker_caches_free(worker *w)
{
    batch__free_types_and_rules(w);
    batch__forget_cameras(w);
    free(w->cameras);
    w->cameras = NULL;
    w->capcameras = 0;
}

static int batch__cmp_type(const void *a, const void *b)
{
    return strcmp(((const worker_type_map *)a)->raw, ((const worker_type_map *)b)->raw);
}

static int batch__cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *batch__dup_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : xstrdup(PQgetvalue(res, row, col));
}

/* event_type_map and rules change rarely: reload every few seconds. */
static int batch__load_caches(worker *w, char *err, size_t errsz)
{
    int64_t now = batch__now_us();
    if (w->caches_loaded_us && now - w->caches_loaded_us < CACHE_REFRESH_US)
        return 0;
    PGresult *t = pg_stmts_exec(w->stmts, w->db, "SELECT raw_label, event_type FROM event_type_map",
                                0, NULL, NULL, err, errsz);
    if (!t)
        return -1;
    PGresult *r = pg_stmts_exec(
        w->stmts, w->db,
        "SELECT id, camera_id, model_id, event_type, enabled, min_confidence, min_hits,"
        " window_seconds, cooldown_seconds, severity FROM rules",
        0, NULL, NULL, err, errsz);
    if (!r) {
        PQclear(t);
        return -1;
    }
    bool first = w->caches_loaded_us == 0;
    batch__free_types_and_rules(w);
    w->ntypes = (size_t)PQntuples(t);
    w->types = xcalloc(w->ntypes ? w->ntypes : 1, sizeof *w->types);
    for (size_t i = 0; i < w->ntypes; i++) {
        w->types[i].raw = xstrdup(PQgetvalue(t, (int)i, 0));
        w->types[i].canonical = xstrdup(PQgetvalue(t, (int)i, 1));
    }
    qsort(w->types, w->ntypes, sizeof *w->types, batch__cmp_type);
    w->nrules = (size_t)PQntuples(r);
    w->rules = xcalloc(w->nrules ? w->nrules : 1, sizeof *w->rules);
    for (size_t i = 0; i < w->nrules; i++) {
        rule *ru = &w->rules[i];
        int row = (int)i;
        snprintf(ru->id, sizeof ru->id, "%s", PQgetvalue(r, row, 0));
        ru->camera_id = batch__dup_or_null(r, row, 1);
        ru->model_id = batch__dup_or_null(r, row, 2);
        ru->event_type = xstrdup(PQgetvalue(r, row, 3));
        ru->enabled = PQgetvalue(r, row, 4)[0] == 't';
        ru->min_confidence = atof(PQgetvalue(r, row, 5));
        ru->min_hits = atoi(PQgetvalue(r, row, 6));
        ru->window_seconds = atoi(PQgetvalue(r, row, 7));
        ru->cooldown_seconds = atoi(PQgetvalue(r, row, 8));
        snprintf(ru->severity, sizeof ru->severity, "%s", PQgetvalue(r, row, 9));
    }
    PQclear(t);
    PQclear(r);
    w->caches_loaded_us = now;
    if (first)
        log_info("loaded %zu event type mappings and %zu rules", w->ntypes, w->nrules);
    return 0;
}

static void batch__normalize(worker *w, worker_event *e)
{
    worker_type_map key = {(char *)e->r.event_type, NULL};
    const worker_type_map *m = w->ntypes ? bsearch(&key, w->types, w->ntypes, sizeof *w->types,
                                                   batch__cmp_type)
                                         : NULL;
    if (m && strcmp(m->canonical, e->r.event_type) != 0) {
        e->event_type = m->canonical;
        e->type_detail = e->r.event_type;
    } else {
        e->event_type = e->r.event_type;
        e->type_detail = NULL;
    }
}

static bool batch__camera_known(worker *w, const char *id)
{
    return w->ncameras &&
           bsearch(&id, w->cameras, w->ncameras, sizeof *w->cameras, batch__cmp_str) != NULL;
}

/* ---- the steps ---- */

static int batch__cameras(worker *w, worker_event *ev, size_t n, char *err, size_t errsz)
{
    pg_array ids = {0}, streams = {0};
    pg_array_begin(&ids);
    pg_array_begin(&streams);
    char **added = NULL;
    size_t nadded = 0;
    for (size_t i = 0; i < n; i++) {
        if (batch__camera_known(w, ev[i].r.camera_id))
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
            qsort(w->cameras, w->ncameras, sizeof *w->cameras, batch__cmp_str);
        }
    }
    free(added);
    pg_array_free(&ids);
    pg_array_free(&streams);
    return rc;
}

static int batch__cmp_id(const void *a, const void *b)
{
    return strcmp(((const worker_event *const *)a)[0]->id, ((const worker_event *const *)b)[0]->id);
}

#define EVENT_COLUMNS                                                                              \
    "id, camera_id, stream_id, event_type, type_detail, confidence, \"timestamp\", model_id,"      \
    " model_version, bounding_boxes, frame_id, inference_time_ms, runtime_id, error_code,"         \
    " error_message, attributes, idempotency_key"

/* Stream `rows` through `copy_sql` (a COPY .. FROM STDIN binary with the 17
 * columns of EVENT_COLUMNS, in that order). On failure `sqlstate` tells why. */
static int batch__copy(worker *w, const char *copy_sql, worker_event *const *rows, size_t n,
                       char sqlstate[6], char *err, size_t errsz)
{
    sqlstate[0] = '\0';
    PGresult *res = PQexec(w->db, copy_sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pg_describe_error(w->db, res, copy_sql, err, errsz);
        PQclear(res);
        return -1;
    }
    PQclear(res);
    buf b = {0}, json = {0};
    pg_copy_header(&b);
    bool sent = true;
    for (size_t i = 0; i < n && sent; i++) {
        const worker_event *e = rows[i];
        const inference_result *r = &e->r;
        pg_copy_row(&b, 17);
        pg_copy_uuid(&b, e->id);
        pg_copy_text(&b, r->camera_id);
        pg_copy_text(&b, r->stream_id);
        pg_copy_text(&b, e->event_type);
        pg_copy_text(&b, e->type_detail);
        pg_copy_f8(&b, r->confidence, true);
        pg_copy_ts(&b, r->timestamp_us);
        pg_copy_text(&b, r->model_id);
        pg_copy_text(&b, r->model_version);
        buf_reset(&json);
        json_boxes(&json, r->boxes, r->nboxes);
        pg_copy_jsonb(&b, json.data, json.len);
        pg_copy_text(&b, r->frame_id);
        pg_copy_f8(&b, r->inference_time_ms, r->has_inference_time);
        pg_copy_text(&b, r->runtime_id);
        pg_copy_text(&b, r->error_code);
        pg_copy_text(&b, r->error_message);
        buf_reset(&json);
        json_attrs(&json, r->attributes, r->nattributes);
        pg_copy_jsonb(&b, json.data, json.len);
        pg_copy_text(&b, e->idem_key);
        if (b.len > (1 << 20)) {
            sent = PQputCopyData(w->db, (const char *)b.data, (int)b.len) == 1;
            buf_reset(&b);
        }
    }
    pg_copy_trailer(&b);
    if (sent)
        sent = PQputCopyData(w->db, (const char *)b.data, (int)b.len) == 1;
    buf_free(&json);
    buf_free(&b);
    if (PQputCopyEnd(w->db, sent ? NULL : "client failed to send the rows") != 1) {
        pg_describe_error(w->db, NULL, copy_sql, err, errsz);
        return -1;
    }
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
static int batch__events_staged(worker *w, worker_event **uniq, size_t n, size_t *ninserted,
                                char *err, size_t errsz)
{
    char sqlstate[6];
    if (batch__copy(w, "COPY stage_events FROM STDIN (FORMAT binary)", uniq, n, sqlstate, err,
                    errsz))
        return -1;
    PGresult *res = pg_stmts_exec(
        w->stmts, w->db,
        "INSERT INTO events (" EVENT_COLUMNS ")"
        " SELECT id, camera_id, stream_id, event_type, type_detail, confidence, ts, model_id,"
        " model_version, bounding_boxes, frame_id, inference_time_ms, runtime_id, error_code,"
        " error_message, attributes, idempotency_key FROM stage_events"
        " ON CONFLICT (idempotency_key, \"timestamp\") DO NOTHING RETURNING id",
        0, NULL, NULL, err, errsz);
    if (!res)
        return -1;
    for (int row = 0; row < PQntuples(res); row++) {
        worker_event probe;
        snprintf(probe.id, sizeof probe.id, "%s", PQgetvalue(res, row, 0));
        worker_event *pp = &probe;
        worker_event **hit = bsearch(&pp, uniq, n, sizeof *uniq, batch__cmp_id);
        if (hit && !(*hit)->inserted) {
            (*hit)->inserted = true;
            (*ninserted)++;
        }
    }
    PQclear(res);
    return 0;
}

/* Store the batch's events exactly once. A result repeated inside the batch
 * (a retrying producer) is written once. Normally every result is new, so
 * the rows are COPYed straight into `events` inside a savepoint; a unique
 * violation there means some were stored before (a redelivery after a crash
 * or rebalance): roll back to the savepoint and take the staged path, which
 * skips the stored ones. Marks `inserted` on the events that are new. */
static int batch__events(worker *w, worker_event *ev, size_t n, size_t *ninserted, char *err,
                         size_t errsz)
{
    *ninserted = 0;
    worker_event **uniq = xmalloc((n ? n : 1) * sizeof *uniq);
    for (size_t i = 0; i < n; i++)
        uniq[i] = &ev[i];
    qsort(uniq, n, sizeof *uniq, batch__cmp_id);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(uniq[k - 1]->id, uniq[i]->id))
            uniq[k++] = uniq[i];

    int rc = -1;
    char sqlstate[6];
    if (!pg_exec_ok(w->db, "SAVEPOINT events_copy", err, errsz))
        goto done;
    if (batch__copy(w, "COPY events (" EVENT_COLUMNS ") FROM STDIN (FORMAT binary)", uniq, k,
                    sqlstate, err, errsz) == 0) {
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
    rc = batch__events_staged(w, uniq, k, ninserted, err, errsz);
done:
    free(uniq);
    return rc;
}

typedef struct rollup {
    int64_t minute_us;
    const char *camera_id, *event_type;
    int64_t count;
    double max_conf;
} rollup;

static int batch__cmp_rollup(const void *a, const void *b)
{
    const rollup *x = a, *y = b;
    if (x->minute_us != y->minute_us)
        return x->minute_us < y->minute_us ? -1 : 1;
    int c = strcmp(x->camera_id, y->camera_id);
    return c ? c : strcmp(x->event_type, y->event_type);
}

static int batch__rollups(worker *w, worker_event *ev, size_t n, char *err, size_t errsz)
{
    rollup *ru = xmalloc((n ? n : 1) * sizeof *ru);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].inserted)
            continue;
        int64_t t = ev[i].r.timestamp_us;
        int64_t m = t - ((t % 60000000) + 60000000) % 60000000;
        ru[k++] = (rollup){m, ev[i].r.camera_id, ev[i].event_type, 1, ev[i].r.confidence};
    }
    int rc = 0;
    if (k) {
        /* Sorted, so concurrent writers lock rows in the same order. */
        qsort(ru, k, sizeof *ru, batch__cmp_rollup);
        size_t u = 0;
        for (size_t i = 1; i < k; i++) {
            if (!batch__cmp_rollup(&ru[u], &ru[i])) {
                ru[u].count++;
                if (ru[i].max_conf > ru[u].max_conf)
                    ru[u].max_conf = ru[i].max_conf;
            } else {
                ru[++u] = ru[i];
            }
        }
        k = u + 1;
        pg_array m = {0}, c = {0}, t = {0}, cnt = {0}, mx = {0};
        pg_array_begin(&m);
        pg_array_begin(&c);
        pg_array_begin(&t);
        pg_array_begin(&cnt);
        pg_array_begin(&mx);
        for (size_t i = 0; i < k; i++) {
            pg_array_addf(&m, "%lld", (long long)ru[i].minute_us);
            pg_array_add(&c, ru[i].camera_id);
            pg_array_add(&t, ru[i].event_type);
            pg_array_addf(&cnt, "%lld", (long long)ru[i].count);
            pg_array_addf(&mx, "%.17g", ru[i].max_conf);
        }
        const char *p[5] = {pg_array_end(&m), pg_array_end(&c), pg_array_end(&t), pg_array_end(&cnt), pg_array_end(&mx)};
        rc = pg_stmts_exec_ok(
                 w->stmts, w->db,
                 "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[],"
                "   $4::bigint[], $5::float8[]) AS u(m, c, t, n, x)),"
                " per_minute AS ("
                "  INSERT INTO event_rollups (minute, camera_id, event_type, count, max_confidence)"
                "  SELECT 'epoch'::timestamptz + m * interval '1 microsecond', c, t, n, x FROM u"
                "  ON CONFLICT (minute, camera_id, event_type) DO UPDATE SET"
                "  count = event_rollups.count + EXCLUDED.count, max_confidence ="
                "  greatest(event_rollups.max_confidence, EXCLUDED.max_confidence))"
                " INSERT INTO event_rollups_hourly (hour, camera_id, event_type, count,"
                "  max_confidence)"
                " SELECT 'epoch'::timestamptz + (m / 3600000000) * interval '1 hour', c, t,"
                "  sum(n), max(x) FROM u GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
                " ON CONFLICT (hour, camera_id, event_type) DO UPDATE SET"
                " count = event_rollups_hourly.count + EXCLUDED.count, max_confidence ="
                " greatest(event_rollups_hourly.max_confidence, EXCLUDED.max_confidence)",
                 5, p, NULL, err, errsz)
                 ? 0
                 : -1;
        pg_array_free(&m);
        pg_array_free(&c);
        pg_array_free(&t);
        pg_array_free(&cnt);
        pg_array_free(&mx);
    }
    free(ru);
    return rc;
}

/* ---- rules, violations, evidence, outbox ---- */

typedef struct rule_key {
    const char *camera_id, *event_type;
    const rule *r;
    rule_state *st;
    const char *stream_id, *model_id;
} rule_key;

typedef struct changed_violation {
    rule_incident inc;
    rule_key *key;
} changed_violation;

static int batch__cmp_qual(const void *a, const void *b)
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

static int64_t batch__i64(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

#define US(col) "coalesce((extract(epoch FROM " col ") * 1000000)::bigint, 0)"

/* Steps 4-6. `outbox_ids` receives the ids of the outbox rows written. */
static int batch__rules(worker *w, worker_event *ev, size_t n, pg_array *outbox_ids, char *err,
                        size_t errsz)
{
    worker_event **q = xmalloc((n ? n : 1) * sizeof *q);
    size_t nq = 0;
    for (size_t i = 0; i < n; i++)
        if (ev[i].inserted && ev[i].qualifies)
            q[nq++] = &ev[i];
    if (nq == 0) {
        free(q);
        return 0;
    }
    qsort(q, nq, sizeof *q, batch__cmp_qual);
    rule_key *keys = xcalloc(nq, sizeof *keys);
    size_t nk = 0;
    pg_array kc = {0}, kt = {0};
    pg_array_begin(&kc);
    pg_array_begin(&kt);
    for (size_t i = 0; i < nq; i++) {
        if (nk && !strcmp(keys[nk - 1].camera_id, q[i]->r.camera_id) &&
            !strcmp(keys[nk - 1].event_type, q[i]->event_type))
            continue;
        rule_key *k = &keys[nk++];
        k->camera_id = q[i]->r.camera_id;
        k->event_type = q[i]->event_type;
        k->r = q[i]->rule;
        k->st = xcalloc(1, sizeof *k->st);
        k->stream_id = q[i]->r.stream_id;
        k->model_id = q[i]->r.model_id;
        pg_array_add(&kc, k->camera_id);
        pg_array_add(&kt, k->event_type);
    }
    const char *kp[2] = {pg_array_end(&kc), pg_array_end(&kt)};
    changed_violation *ch = xcalloc(nq * 2 + 1, sizeof *ch);
    size_t nch = 0;
    int rc = -1;
    PGresult *res = NULL;
    /* Parameters, one slice per statement (evidence: 4 arrays + 2 values;
     * outbox: 3 + the ids of the rows to read): the writes of steps A-D go
     * out together in one pipeline, so all of them are alive at once. */
    enum { A_UPD = 0, A_NEW = 8, A_EVD = 23, A_LINK = 29, A_RS = 32, A_OUT = 39, A_N = 43 };
    pg_array a[A_N];
    memset(a, 0, sizeof a);
    buf payload = {0};

    /* Rule state of every key, created when missing and locked, with its
     * ongoing incident: one round trip. */
    pg_step load[2] = {
        {"INSERT INTO rule_state (camera_id, event_type)"
         " SELECT c, t FROM unnest($1::text[], $2::text[]) u(c, t)"
         " ON CONFLICT DO NOTHING",
         2, kp},
        {"SELECT rs.camera_id, rs.event_type,"
         " array_to_string(array(SELECT (extract(epoch FROM h) * 1000000)::bigint"
         "   FROM unnest(rs.recent_hits) h), ','), " US("rs.last_hit_at") ", " US("rs.last_fired_at")
         ", v.id, " US("v.first_event_at") ", " US("v.last_event_at") ","
         " v.event_count, v.confidence, v.max_confidence"
         " FROM rule_state rs JOIN unnest($1::text[], $2::text[]) k(c, t)"
         "   ON rs.camera_id = k.c AND rs.event_type = k.t"
         " LEFT JOIN violations v ON v.camera_id = rs.camera_id AND v.type = rs.event_type"
         "   AND v.ended_at IS NULL"
         " ORDER BY rs.camera_id, rs.event_type FOR UPDATE OF rs",
         2, kp},
    };
    if (!pg_stmts_pipeline(w->stmts, w->db, load, 2, &res, NULL, err, errsz))
        goto done;
    for (int row = 0; row < PQntuples(res); row++) {
        rule_key *k = NULL;
        for (size_t i = 0; i < nk && !k; i++)
            if (!strcmp(keys[i].camera_id, PQgetvalue(res, row, 0)) &&
                !strcmp(keys[i].event_type, PQgetvalue(res, row, 1)))
                k = &keys[i];
        if (!k)
            continue;
        rule_state *st = k->st;
        for (char *p = PQgetvalue(res, row, 2); *p && st->nhits < RULE_MAX_HITS;) {
            st->hits[st->nhits++] = strtoll(p, &p, 10);
            if (*p == ',')
                p++;
        }
        st->last_hit_us = batch__i64(res, row, 3);
        st->last_fired_us = batch__i64(res, row, 4);
        if (!PQgetisnull(res, row, 5)) {
            rule_incident *on = &st->ongoing;
            on->exists = true;
            snprintf(on->id, sizeof on->id, "%s", PQgetvalue(res, row, 5));
            on->first_event_us = batch__i64(res, row, 6);
            on->last_event_us = batch__i64(res, row, 7);
            on->event_count = batch__i64(res, row, 8);
            on->confidence = atof(PQgetvalue(res, row, 9));
            on->max_confidence = atof(PQgetvalue(res, row, 10));
            on->best_event = SIZE_MAX;
        }
    }
    PQclear(res);
    res = NULL;

    /* Apply in capture-time order per key. */
    size_t ki = 0;
    for (size_t i = 0; i < nq; i++) {
        while (strcmp(keys[ki].camera_id, q[i]->r.camera_id) ||
               strcmp(keys[ki].event_type, q[i]->event_type)) {
            if (keys[ki].st->ongoing.changed)
                ch[nch++] = (changed_violation){keys[ki].st->ongoing, &keys[ki]};
            ki++;
        }
        rule_key *k = &keys[ki];
        char new_id[37];
        char seed[64];
        snprintf(seed, sizeof seed, "violation:%s", q[i]->id);
        worker_uuid_from_key(seed, new_id);
        /* Each event under its own rule: two models on one camera may have
         * rules of their own, sharing the (camera, type) state. */
        k->r = q[i]->rule; /* written back with the state: the last one applied */
        rule_outcome o = rules_apply(q[i]->rule, k->st, q[i]->r.timestamp_us, q[i]->r.confidence,
                                     (size_t)(q[i] - ev), new_id);
        if (k->st->ended.ended) {
            ch[nch++] = (changed_violation){k->st->ended, k};
            memset(&k->st->ended, 0, sizeof k->st->ended);
        }
        if (o != RULE_NONE)
            memcpy(q[i]->violation_id, k->st->ongoing.id, 37);
    }
    if (keys[ki].st->ongoing.changed)
        ch[nch++] = (changed_violation){keys[ki].st->ongoing, &keys[ki]};
    for (size_t i = ki + 1; i < nk; i++)
        if (keys[i].st->ongoing.changed)
            ch[nch++] = (changed_violation){keys[i].st->ongoing, &keys[i]};

    /* The writes: A-D and the changed violations' rows for E, one round
     * trip (steps left NULL are skipped). */
    enum { W_UPD, W_NEW, W_EVD, W_LINK, W_RS, W_ROWS, W_N };
    pg_step wr[W_N] = {{0}};
    const char *pa[A_N];
    for (int i = 0; i < A_N; i++)
        pg_array_begin(&a[i]);
    char before[16], after[16];
    snprintf(before, sizeof before, "%d", w->cfg->evidence_before_sec);
    snprintf(after, sizeof after, "%d", w->cfg->evidence_after_sec);

    /* A. existing incidents that ended or grew. */
    size_t nupd = 0, nnew = 0;
    for (size_t i = 0; i < nch; i++) {
        const rule_incident *c = &ch[i].inc;
        if (c->is_new)
            continue;
        nupd++;
        pg_array_add(&a[A_UPD + 0], c->id);
        pg_array_addf(&a[A_UPD + 1], "%lld", (long long)c->event_count);
        pg_array_addf(&a[A_UPD + 2], "%.17g", c->max_confidence);
        pg_array_addf(&a[A_UPD + 3], "%lld", (long long)c->first_event_us);
        pg_array_addf(&a[A_UPD + 4], "%lld", (long long)c->last_event_us);
        if (c->ended)
            pg_array_addf(&a[A_UPD + 5], "%lld", (long long)c->ended_at_us);
        else
            pg_array_add(&a[A_UPD + 5], NULL);
        if (c->best_in_batch) {
            buf bj = {0};
            json_boxes(&bj, ev[c->best_event].r.boxes, ev[c->best_event].r.nboxes);
            pg_array_add(&a[A_UPD + 6], buf_cstr(&bj));
            pg_array_add(&a[A_UPD + 7], ev[c->best_event].id);
            buf_free(&bj);
        } else {
            pg_array_add(&a[A_UPD + 6], NULL);
            pg_array_add(&a[A_UPD + 7], NULL);
        }
    }
    if (nupd) {
        for (int i = 0; i < 8; i++)
            pa[A_UPD + i] = pg_array_end(&a[A_UPD + i]);
        wr[W_UPD] = (pg_step){
            "UPDATE violations v SET event_count = u.n, max_confidence = u.mx,"
            " first_event_at = least(v.first_event_at,"
            "   'epoch'::timestamptz + u.f * interval '1 microsecond'),"
            " last_event_at = 'epoch'::timestamptz + u.l * interval '1 microsecond',"
            " ended_at = 'epoch'::timestamptz + u.e * interval '1 microsecond',"
            " bounding_boxes = coalesce(u.b::jsonb, v.bounding_boxes),"
            " best_event_id = coalesce(u.best, v.best_event_id)"
            " FROM unnest($1::uuid[], $2::bigint[], $3::float8[], $4::bigint[], $5::bigint[],"
            "   $6::bigint[], $7::text[], $8::uuid[]) u(id, n, mx, f, l, e, b, best)"
            " WHERE v.id = u.id",
            8, pa + A_UPD};
    }
    /* B. new incidents (ended ones first is not needed: a batch ends an
     * incident before opening the next, and ended rows carry ended_at). */
    for (size_t i = 0; i < nch; i++) {
        const rule_incident *c = &ch[i].inc;
        const rule_key *k = ch[i].key;
        if (!c->is_new)
            continue;
        nnew++;
        const worker_event *best = &ev[c->best_event];
        pg_array_add(&a[A_NEW + 0], c->id);
        pg_array_add(&a[A_NEW + 1], k->event_type);
        pg_array_add(&a[A_NEW + 2], k->camera_id);
        pg_array_add(&a[A_NEW + 3], best->r.stream_id);
        pg_array_add(&a[A_NEW + 4], best->r.model_id);
        const rule *opened_by = best->rule; /* the rule of the incident's best event */
        pg_array_add(&a[A_NEW + 5], opened_by->id[0] ? opened_by->id : NULL);
        pg_array_add(&a[A_NEW + 6], opened_by->severity);
        pg_array_addf(&a[A_NEW + 7], "%.17g", c->confidence);
        pg_array_addf(&a[A_NEW + 8], "%.17g", c->max_confidence);
        pg_array_addf(&a[A_NEW + 9], "%lld", (long long)c->event_count);
        pg_array_addf(&a[A_NEW + 10], "%lld", (long long)c->first_event_us);
        pg_array_addf(&a[A_NEW + 11], "%lld", (long long)c->last_event_us);
        if (c->ended)
            pg_array_addf(&a[A_NEW + 12], "%lld", (long long)c->ended_at_us);
        else
            pg_array_add(&a[A_NEW + 12], NULL);
        buf bj = {0};
        json_boxes(&bj, best->r.boxes, best->r.nboxes);
        pg_array_add(&a[A_NEW + 13], buf_cstr(&bj));
        buf_free(&bj);
        pg_array_add(&a[A_NEW + 14], best->id);
    }
    if (nnew) {
        for (int i = 0; i < 15; i++)
            pa[A_NEW + i] = pg_array_end(&a[A_NEW + i]);
        wr[W_NEW] = (pg_step){
            "INSERT INTO violations (id, type, camera_id, stream_id, model_id, rule_id,"
            " severity, confidence, max_confidence, event_count, first_event_at, last_event_at,"
            " ended_at, bounding_boxes, best_event_id)"
            " SELECT id, t, c, s, m, r, sev, conf, mx, n,"
            " 'epoch'::timestamptz + f * interval '1 microsecond',"
            " 'epoch'::timestamptz + l * interval '1 microsecond',"
            " 'epoch'::timestamptz + e * interval '1 microsecond', b::jsonb, best"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
            "   $6::uuid[], $7::text[], $8::float8[], $9::float8[], $10::bigint[],"
            "   $11::bigint[], $12::bigint[], $13::bigint[], $14::text[], $15::uuid[])"
            "   u(id, t, c, s, m, r, sev, conf, mx, n, f, l, e, b, best)"
            " ORDER BY e NULLS LAST", /* ended ones first: the ongoing index */
            15, pa + A_NEW};
        /* Evidence: one snapshot and one bookmark per new violation. */
        for (size_t i = 0; i < nch; i++) {
            if (!ch[i].inc.is_new)
                continue;
            pg_array_add(&a[A_EVD + 0], ch[i].inc.id);
            pg_array_add(&a[A_EVD + 1], ch[i].key->camera_id);
            pg_array_add(&a[A_EVD + 2], ev[ch[i].inc.best_event].r.stream_id);
            pg_array_addf(&a[A_EVD + 3], "%lld", (long long)ch[i].inc.first_event_us);
        }
        for (int i = 0; i < 4; i++)
            pa[A_EVD + i] = pg_array_end(&a[A_EVD + i]);
        pa[A_EVD + 4] = before;
        pa[A_EVD + 5] = after;
        wr[W_EVD] = (pg_step){
            "INSERT INTO evidence (violation_id, kind, camera_id, stream_id, center_timestamp,"
            " before_seconds, after_seconds)"
            " SELECT v, k, c, s, 'epoch'::timestamptz + t * interval '1 microsecond',"
            "   CASE k WHEN 'bookmark' THEN $5::int ELSE 0 END,"
            "   CASE k WHEN 'bookmark' THEN $6::int ELSE 0 END"
            " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[]) u(v, c, s, t),"
            "   unnest(ARRAY['snapshot', 'bookmark']) k"
            " ON CONFLICT (violation_id, kind) DO NOTHING",
            6, pa + A_EVD};
    }
    /* C. link the events. */
    size_t nlink = 0;
    for (size_t i = 0; i < nq; i++) {
        if (!q[i]->violation_id[0])
            continue;
        nlink++;
        pg_array_add(&a[A_LINK + 0], q[i]->id);
        pg_array_addf(&a[A_LINK + 1], "%lld", (long long)q[i]->r.timestamp_us);
        pg_array_add(&a[A_LINK + 2], q[i]->violation_id);
    }
    if (nlink) {
        for (int i = 0; i < 3; i++)
            pa[A_LINK + i] = pg_array_end(&a[A_LINK + i]);
        wr[W_LINK] = (pg_step){"UPDATE events e SET violation_id = u.v"
                               " FROM unnest($1::uuid[], $2::bigint[], $3::uuid[]) u(id, t, v)"
                               " WHERE e.id = u.id AND e.\"timestamp\" ="
                               "   'epoch'::timestamptz + u.t * interval '1 microsecond'",
                               3, pa + A_LINK};
    }
    /* D. rule state back. */
    for (size_t i = 0; i < nk; i++) {
        const rule_state *st = keys[i].st;
        buf hits = {0};
        for (int h = 0; h < st->nhits; h++)
            buf_printf(&hits, "%s%lld", h ? "," : "", (long long)st->hits[h]);
        pg_array_add(&a[A_RS + 0], keys[i].camera_id);
        pg_array_add(&a[A_RS + 1], keys[i].event_type);
        pg_array_add(&a[A_RS + 2], buf_cstr(&hits));
        buf_free(&hits);
        pg_array_addf(&a[A_RS + 3], "%lld", (long long)st->last_hit_us);
        if (st->last_fired_us)
            pg_array_addf(&a[A_RS + 4], "%lld", (long long)st->last_fired_us);
        else
            pg_array_add(&a[A_RS + 4], NULL);
        pg_array_add(&a[A_RS + 5], st->ongoing.exists ? st->ongoing.id : NULL);
        pg_array_add(&a[A_RS + 6], keys[i].r->id[0] ? keys[i].r->id : NULL);
    }
    for (int i = 0; i < 7; i++)
        pa[A_RS + i] = pg_array_end(&a[A_RS + i]);
    wr[W_RS] = (pg_step){
        "UPDATE rule_state rs SET recent_hits = coalesce((SELECT array_agg("
        "   'epoch'::timestamptz + h * interval '1 microsecond' ORDER BY h)"
        "   FROM unnest(string_to_array(nullif(u.hits, ''), ',')::bigint[]) h), '{}'),"
        " last_hit_at = 'epoch'::timestamptz + u.lh * interval '1 microsecond',"
        " last_fired_at = coalesce('epoch'::timestamptz + u.lf * interval '1 microsecond',"
        "   rs.last_fired_at),"
        " ongoing_violation_id = u.v, rule_id = u.r"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],"
        "   $6::uuid[], $7::uuid[]) u(c, t, hits, lh, lf, v, r)"
        " WHERE rs.camera_id = u.c AND rs.event_type = u.t",
        7, pa + A_RS};
    /* E's input: the changed violations as they are now. */
    if (nch) {
        for (size_t i = 0; i < nch; i++)
            pg_array_add(&a[A_OUT + 3], ch[i].inc.id);
        pa[A_OUT + 3] = pg_array_end(&a[A_OUT + 3]);
        wr[W_ROWS] = (pg_step){violation_row_select, 1, pa + A_OUT + 3};
    }
    if (!pg_stmts_pipeline(w->stmts, w->db, wr, W_N, nch ? &res : NULL, NULL, err, errsz))
        goto done;
    /* E. outbox: one ViolationChange per changed violation, evidence requests. */
    if (nch) {
        int64_t now = batch__now_us();
        for (int row = 0; row < PQntuples(res); row++) {
            violation_change_msg vc = {0};
            codec_bbox *boxes = NULL;
            violation_row_msg(res, row, &vc.violation, &boxes);
            const changed_violation *c = NULL;
            for (size_t i = 0; i < nch && !c; i++)
                if (!strcmp(ch[i].inc.id, vc.violation.id))
                    c = &ch[i];
            vc.violation_id = vc.violation.id;
            vc.change = c && c->inc.is_new ? "opened" : "updated";
            vc.occurred_at_us = now;
            vc.version = vc.violation.version;
            codec_error cerr;
            buf_reset(&payload);
            if (codec_encode_violation_change(w->codec, CODEC_FMT_SINGLE_OBJECT, &vc, &payload,
                                              &cerr) == 0) {
                pg_array_add(&a[A_OUT + 0], w->cfg->topic_violations);
                pg_array_add(&a[A_OUT + 1], vc.violation.camera_id);
                pg_array_add_bytes(&a[A_OUT + 2], &payload);
            } else {
                log_error("cannot encode ViolationChange %s: %s", vc.violation.id, cerr.message);
            }
            if (c && c->inc.is_new) {
                for (int kind = 0; kind < 2; kind++) {
                    evidence_request_msg er = {vc.violation.id, vc.violation.camera_id,
                                               vc.violation.stream_id,
                                               kind ? "bookmark" : "snapshot",
                                               vc.violation.first_event_at_us,
                                               kind ? w->cfg->evidence_before_sec : 0,
                                               kind ? w->cfg->evidence_after_sec : 0, 1};
                    buf_reset(&payload);
                    if (codec_encode_evidence_request(w->codec, CODEC_FMT_SINGLE_OBJECT, &er,
                                                      &payload, &cerr) == 0) {
                        pg_array_add(&a[A_OUT + 0], w->cfg->topic_evidence);
                        pg_array_add(&a[A_OUT + 1], vc.violation.camera_id);
                        pg_array_add_bytes(&a[A_OUT + 2], &payload);
                    } else {
                        log_error("cannot encode EvidenceRequest %s/%s: %s", vc.violation.id,
                                  er.kind, cerr.message);
                    }
                }
                metric_inc(w->m.violations_opened);
            } else {
                metric_inc(w->m.violations_updated);
            }
            free(boxes);
        }
        PQclear(res);
        res = NULL;
        const char *p3[3] = {pg_array_end(&a[A_OUT + 0]), pg_array_end(&a[A_OUT + 1]),
                             pg_array_end(&a[A_OUT + 2])};
        res = pg_stmts_exec(w->stmts, w->db,
                            "INSERT INTO outbox (topic, key, payload)"
                            " SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])"
                            " RETURNING id",
                            3, p3, NULL, err, errsz);
        if (!res)
            goto done;
        for (int row = 0; row < PQntuples(res); row++)
            pg_array_add(outbox_ids, PQgetvalue(res, row, 0));
    }
    rc = 0;
done:
    PQclear(res);
    for (int i = 0; i < A_N; i++)
        pg_array_free(&a[i]);
    buf_free(&payload);
    pg_array_free(&kc);
    pg_array_free(&kt);
    for (size_t i = 0; i < nk; i++)
        free(keys[i].st);
    free(keys);
    free(ch);
    free(q);
    return rc;
}

/* ---- publishing ---- */

/* Produce and wait for every acknowledgement; -1 if any delivery failed. */
static int batch__flush(worker *w)
{
    if (rd_kafka_flush(w->producer, OUTBOX_FLUSH_TIMEOUT_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("Kafka did not acknowledge within %d ms", OUTBOX_FLUSH_TIMEOUT_MS);
        return -1;
    }
    if (atomic_exchange(&w->delivery_failures, 0) > 0)
        return -1;
    return 0;
}

/* Produce the Event of every new row whose `qualifies` equals `qualifying`. */
static int batch__publish_events(worker *w, worker_event *ev, size_t n, bool qualifying,
                                 int64_t created_us)
{
    buf b = {0};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!ev[i].inserted || ev[i].qualifies != qualifying)
            continue;
        const inference_result *r = &ev[i].r;
        event_msg m = {ev[i].id, r->camera_id, r->stream_id, ev[i].event_type, ev[i].type_detail,
                       r->confidence, r->timestamp_us, r->model_id, r->model_version, r->boxes,
                       r->nboxes, r->frame_id, r->inference_time_ms, r->has_inference_time,
                       ev[i].violation_id[0] ? ev[i].violation_id : NULL, created_us};
        codec_error cerr;
        buf_reset(&b);
        if (codec_encode_event(w->codec, CODEC_FMT_SINGLE_OBJECT, &m, &b, &cerr) != 0) {
            log_ctx ctx = worker_msg_ctx(ev[i].msg);
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

int worker_batch_write(worker *w, worker_event *ev, size_t n)
{
    char err[1024] = "";
    if (!worker_db_connect(w))
        return -1;
    if (batch__load_caches(w, err, sizeof err))
        goto failed_nolock;
    for (size_t i = 0; i < n; i++) {
        batch__normalize(w, &ev[i]);
        ev[i].inserted = false;
        ev[i].violation_id[0] = '\0';
        const rule *r =
            rules_match(w->rules, w->nrules, ev[i].r.camera_id, ev[i].r.model_id, ev[i].event_type);
        ev[i].rule = r;
        ev[i].qualifies = r && ev[i].r.confidence >= r->min_confidence;
    }
    if (!pg_exec_ok(w->db, "BEGIN", err, sizeof err))
        goto failed_nolock;
    size_t inserted = 0;
    pg_array outbox_ids = {0};
    pg_array_begin(&outbox_ids);
    /* Events (and this batch's dead letters, produced while decoding) must be
     * acknowledged by Kafka before the rows become durable. Events that no
     * rule can link to a violation (most of them) are produced as soon as
     * their rows are in, so their acknowledgements arrive while PostgreSQL
     * works on rollups and rules; the qualifying ones wait for their
     * violation id. */
    int64_t created_us = batch__now_us();
    int64_t t[6]; /* step boundaries, for the slow-batch warning */
    t[0] = mono_us();
    if (batch__cameras(w, ev, n, err, sizeof err) ||
        batch__events(w, ev, n, &inserted, err, sizeof err))
        goto failed;
    if (batch__publish_events(w, ev, n, false, created_us)) {
        snprintf(err, sizeof err, "publishing events to %s failed", w->cfg->topic_events);
        goto failed;
    }
    t[1] = mono_us();
    if (batch__rollups(w, ev, n, err, sizeof err))
        goto failed;
    t[2] = mono_us();
    if (batch__rules(w, ev, n, &outbox_ids, err, sizeof err))
        goto failed;
    t[3] = mono_us();
    if (batch__publish_events(w, ev, n, true, created_us) || batch__flush(w)) {
        snprintf(err, sizeof err, "publishing events to %s failed", w->cfg->topic_events);
        goto failed;
    }
    t[4] = mono_us();
    if (!pg_exec_ok(w->db, "COMMIT", err, sizeof err))
        goto failed;
    t[5] = mono_us();
    if (t[5] - t[0] > SLOW_BATCH_US) {
        /* At most one line per 10 s (a worker catching up writes large,
         * legitimately slow batches back to back), counting the others. */
        static int64_t last_logged_us;
        static unsigned unlogged;
        if (t[5] - last_logged_us < 10 * 1000000LL) {
            unlogged++;
        } else {
            log_ctx ctx = worker_msg_ctx(n ? ev[0].msg : NULL);
            log_at(LOG_WARN, &ctx,
                   "slow batch of %zu results: %.0f ms (events %.0f, rollups %.0f, rules %.0f, "
                   "Kafka acknowledgements %.0f, COMMIT %.0f); %u more since the last report",
                   n, (t[5] - t[0]) / 1e3, (t[1] - t[0]) / 1e3, (t[2] - t[1]) / 1e3,
                   (t[3] - t[2]) / 1e3, (t[4] - t[3]) / 1e3, (t[5] - t[4]) / 1e3, unlogged);
            last_logged_us = t[5];
            unlogged = 0;
        }
    }
    metric_add(w->m.persisted, (double)inserted);
    metric_add(w->m.duplicates, (double)(n - inserted));
    if (outbox_ids.n) {
        const char *p[1] = {pg_array_end(&outbox_ids)};
        if (outbox_relay(w->db, w->producer, OUTBOX_FLUSH_TIMEOUT_MS, "id = ANY($1::bigint[])", 1, p) < 0)
            log_warn("outbox relay failed; the sweep will publish the rows later");
    }
    pg_array_free(&outbox_ids);
    return 0;
failed:
    pg_array_free(&outbox_ids);
    pg_rollback_quietly(w->db);
failed_nolock:
    metric_inc(w->m.db_errors);
    batch__forget_cameras(w); /* ones registered in the rolled-back transaction are not there */
    /* Where the batch starts; it is retried whole, so that is where it is stuck. */
    log_ctx ctx = worker_msg_ctx(n ? ev[0].msg : NULL);
    log_at(LOG_WARN, &ctx, "batch of %zu results not persisted: %s", n, err);
    /* Broken, or stuck in pipeline mode (a pipeline that could not be
     * drained): start over on a new connection. */
    if (PQstatus(w->db) != CONNECTION_OK || PQpipelineStatus(w->db) != PQ_PIPELINE_OFF) {
        atomic_store(&w->db_ok, false);
        pg_close(w->db);
        w->db = NULL;
    }
    return -1;
}
