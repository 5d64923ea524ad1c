/* worker_offline.c - see worker_offline.h. */
#include "worker_offline.h"

#include "clock.h"
#include "log.h"
#include "outbox.h"
#include "pg.h"
#include "violation_row.h"
#include "worker_publish.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The arrival time is refreshed at most once a second per camera (a busy
 * camera's row is not rewritten by every batch); ongoing camera_offline
 * violations of these cameras end now. $1: camera ids. */
static const char *const offline_touch_sql =
    "WITH a AS (INSERT INTO camera_activity AS a (camera_id, last_result_at)"
    "   SELECT c, now() FROM unnest($1::text[]) c"
    "   ON CONFLICT (camera_id) DO UPDATE SET last_result_at = EXCLUDED.last_result_at"
    "   WHERE a.last_result_at < EXCLUDED.last_result_at - interval '1 second')"
    " UPDATE violations v SET ended_at = now()"
    " WHERE v.camera_id = ANY($1::text[]) AND v.type = '" WORKER_OFFLINE_TYPE "'"
    "   AND v.ended_at IS NULL RETURNING v.id";

/* Ended: cameras stopped through stop-inference, deactivated, or whose
 * limit is now off. $1: the global limit in seconds. */
static const char *const offline_end_sql =
    "UPDATE violations v SET ended_at = now() FROM cameras c"
    " WHERE v.type = '" WORKER_OFFLINE_TYPE "' AND v.ended_at IS NULL AND c.id = v.camera_id"
    "   AND (c.inference_stopped_at IS NOT NULL OR NOT c.active"
    "        OR coalesce(c.offline_after_seconds, $1::int) = 0)"
    " RETURNING v.id";

/* Opened: cameras that sent results and none for their limit. The silence
 * starts at the last arrival (first_event_at = last_event_at). $1: the
 * global limit, $2: the severity. */
static const char *const offline_open_sql =
    "INSERT INTO violations (type, camera_id, stream_id, severity, opening_confidence,"
    " confidence, max_confidence, event_count, first_event_at, last_event_at)"
    " SELECT '" WORKER_OFFLINE_TYPE "', a.camera_id, c.stream_id, $2, 1, 1, 1, 1,"
    "   a.last_result_at, a.last_result_at"
    " FROM camera_activity a JOIN cameras c ON c.id = a.camera_id"
    " WHERE c.active AND c.inference_stopped_at IS NULL"
    "   AND coalesce(c.offline_after_seconds, $1::int) > 0"
    "   AND a.last_result_at < now() - coalesce(c.offline_after_seconds, $1::int)"
    "       * interval '1 second'"
    " ON CONFLICT (camera_id, type) WHERE ended_at IS NULL DO NOTHING RETURNING id";

static int offline__cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ids (column 0) of `res` as a uuid[] literal in `ids`; their count. */
static int offline__ids(const PGresult *res, pg_array *ids)
{
    for (int i = 0; i < PQntuples(res); i++)
        pg_array_add(ids, PQgetvalue(res, i, 0));
    return PQntuples(res);
}

/* ViolationChanges of the violations in `ids` (changed in this
 * transaction) into the outbox. */
static int offline__outbox(worker *w, pg_array *ids, const char *change, pg_array *outbox_ids,
                           char *err, size_t errsz)
{
    const char *p[1] = {pg_array_end(ids)};
    PGresult *rows = pg_stmts_exec(w->stmts, w->db, violation_row_select, 1, p, NULL, err, errsz);
    if (!rows)
        return -1;
    outbox_batch out = {0};
    outbox_batch_begin(&out);
    int64_t now = clock_wall_us();
    for (int row = 0; row < PQntuples(rows); row++) {
        codec_error cerr;
        if (outbox_put_violation_change(&out, w->codec, w->cfg->topic_violations, rows, row, change,
                                        now, NULL, &cerr))
            log_error("cannot encode ViolationChange %s: %s", violation_row_id(rows, row),
                      cerr.message);
        metric_inc(!strcmp(change, "opened") ? w->m.violations_opened : w->m.violations_updated);
    }
    int rc = outbox_batch_insert(&out, w->db, w->stmts, outbox_ids, err, errsz);
    outbox_batch_free(&out);
    PQclear(rows);
    return rc;
}

int worker_offline_touch(worker *w, const worker_event *ev, size_t n, pg_array *outbox_ids,
                         char *err, size_t errsz)
{
    if (n == 0)
        return 0;
    /* Only rows that are really new: a result redelivered after a crash or
     * a rebalance is not an arrival (it would end an incident it predates). */
    const char **cams = xmalloc(n * sizeof *cams);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ev[i].inserted)
            cams[k++] = ev[i].r.camera_id;
    if (k == 0) {
        free(cams);
        return 0;
    }
    n = k;
    qsort(cams, n, sizeof *cams, offline__cmp_str);
    pg_array ids = {0}, ended = {0};
    pg_array_begin(&ids);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(cams[i], cams[i - 1]))
            pg_array_add(&ids, cams[i]);
    free(cams);
    const char *p[1] = {pg_array_end(&ids)};
    PGresult *res = pg_stmts_exec(w->stmts, w->db, offline_touch_sql, 1, p, NULL, err, errsz);
    int rc = res ? 0 : -1;
    pg_array_begin(&ended);
    if (res && offline__ids(res, &ended) > 0)
        rc = offline__outbox(w, &ended, "updated", outbox_ids, err, errsz);
    PQclear(res);
    pg_array_free(&ids);
    pg_array_free(&ended);
    return rc;
}

/* Take the sweep lock when nobody holds it; true while this replica does. */
static bool offline__lock(worker *w)
{
    if (w->offline_sweeper)
        return true;
    char key[32], got[8] = "", err[256];
    snprintf(key, sizeof key, "%lld", WORKER_OFFLINE_LOCK_KEY);
    const char *p[1] = {key};
    if (!pg_query_value(w->db, "SELECT pg_try_advisory_lock($1::bigint)", 1, p, got, sizeof got,
                        NULL, err, sizeof err)) {
        log_warn("offline sweep: cannot ask for its lock: %s", err);
        return false;
    }
    w->offline_sweeper = got[0] == 't';
    if (w->offline_sweeper)
        log_info("offline sweep: this replica sweeps for silent cameras (advisory lock %lld)",
                 WORKER_OFFLINE_LOCK_KEY);
    return w->offline_sweeper;
}

/* One sweep in one transaction: end, then open, then the outbox. */
static int offline__sweep_tx(worker *w, pg_array *outbox_ids, int *opened, int *ended, char *err,
                             size_t errsz)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", w->cfg->offline_after_sec);
    const char *p[2] = {limit, w->cfg->offline_severity};
    pg_array ids = {0};
    int rc = -1;
    PGresult *res = pg_stmts_exec(w->stmts, w->db, offline_end_sql, 1, p, NULL, err, errsz);
    if (!res)
        goto done;
    pg_array_begin(&ids);
    *ended = offline__ids(res, &ids);
    PQclear(res);
    if (*ended && offline__outbox(w, &ids, "updated", outbox_ids, err, errsz))
        goto done;
    res = pg_stmts_exec(w->stmts, w->db, offline_open_sql, 2, p, NULL, err, errsz);
    if (!res)
        goto done;
    pg_array_free(&ids);
    pg_array_begin(&ids);
    *opened = offline__ids(res, &ids);
    PQclear(res);
    if (*opened && offline__outbox(w, &ids, "opened", outbox_ids, err, errsz))
        goto done;
    rc = 0;
done:
    pg_array_free(&ids);
    return rc;
}

void worker_offline_sweep(worker *w)
{
    if (!w->db || PQstatus(w->db) != CONNECTION_OK || !offline__lock(w))
        return;
    char err[512] = "";
    int opened = 0, ended = 0;
    pg_array outbox_ids = {0};
    pg_array_begin(&outbox_ids);
    if (!pg_exec_ok(w->db, "BEGIN", err, sizeof err) ||
        offline__sweep_tx(w, &outbox_ids, &opened, &ended, err, sizeof err) ||
        !pg_exec_ok(w->db, "COMMIT", err, sizeof err)) {
        pg_rollback_quietly(w->db);
        log_warn("offline sweep failed: %s", err);
    } else {
        if (opened || ended)
            log_info("offline sweep: %d camera(s) went offline, %d incident(s) ended", opened,
                     ended);
        worker_publish_relay(w, &outbox_ids);
    }
    pg_array_free(&outbox_ids);
}
