/* api_analytics.c - GET /analytics/summary and /analytics/cameras/{id}, in
 * the shapes of the Ruth AI contract (§1.5, §3.5).
 *
 * Event figures come from event_rollups and event_rollups_hourly (one row
 * per minute or hour, camera and type, maintained by ruth-worker in the same
 * transaction as the events; counts, confidence and latency sums, the last
 * event's time, active minutes), so the cost follows the time range, not the
 * number of events. Violation figures come from violations, which grow by
 * incidents, not frames. */
#include "api.h"
#include "api_handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUCKETS 10000

/* The rollup rows of [FROM, TO) for camera CAM (NULL: all): whole hours
 * [H0, H1) from event_rollups_hourly and only the ragged minutes before H0
 * and from H1 on from event_rollups (H0 and H1 NULL: minutes only). Columns:
 * at, camera_id, event_type, n (count), mc (max confidence), cs, ls, lc
 * (confidence and latency sums, latency count), le (last event), am (minutes
 * with events: 1 for a minute row). Arguments are parameter references. */
#define ANALYTICS_SRC(FROM, TO, CAM, H0, H1)                                                       \
    "src AS ("                                                                                     \
    "  SELECT minute AS at, camera_id, event_type, count AS n, max_confidence AS mc,"              \
    "         confidence_sum AS cs, latency_sum_ms AS ls, latency_count AS lc,"                    \
    "         last_event_at AS le, 1 AS am FROM event_rollups"                                     \
    "   WHERE minute >= date_trunc('minute', " FROM "::timestamptz)"                               \
    "     AND minute < coalesce(" H0 "::timestamptz, " TO "::timestamptz)"                         \
    "     AND (" CAM "::text IS NULL OR camera_id = " CAM ")"                                      \
    "  UNION ALL"                                                                                  \
    "  SELECT minute, camera_id, event_type, count, max_confidence, confidence_sum,"               \
    "         latency_sum_ms, latency_count, last_event_at, 1 FROM event_rollups"                  \
    "   WHERE " H0 "::timestamptz IS NOT NULL AND minute >= " H1 "::timestamptz"                   \
    "     AND minute < " TO "::timestamptz AND (" CAM "::text IS NULL OR camera_id = " CAM ")"     \
    "  UNION ALL"                                                                                  \
    "  SELECT hour, camera_id, event_type, count, max_confidence, confidence_sum,"                 \
    "         latency_sum_ms, latency_count, last_event_at, active_minutes"                        \
    "    FROM event_rollups_hourly"                                                                \
    "   WHERE hour >= " H0 "::timestamptz AND hour < " H1 "::timestamptz"                          \
    "     AND (" CAM "::text IS NULL OR camera_id = " CAM "))"

/* One pass over the rollups: `r` aggregates the range to (bucket, camera,
 * type) once, at most buckets x cameras x types rows, and every figure is
 * computed from that small set. Every violation status is present (zeros
 * included), and so is events_fall_detected (the contract's
 * AnalyticsTotals names it) beside events_<type> for each type seen; the
 * time series has every bucket of the range, empty ones as zeros.
 * Cameras are named from `cameras` (their id when unnamed). */
static const char summary_sql[] = "WITH " ANALYTICS_SRC(
    "$1", "$2", "$3", "$5",
    "$6") ","
          " r AS MATERIALIZED ("
          "  SELECT date_trunc($4::text, at) AS bucket, camera_id, event_type,"
          "         sum(n) AS n, max(mc) AS mc, max(le) AS le FROM src GROUP BY 1, 2, 3),"
          " vio AS MATERIALIZED ("
          "  SELECT date_trunc($4::text, created_at) AS bucket, status, camera_id, count(*) AS n"
          "    FROM violations"
          "   WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz"
          "     AND ($3::text IS NULL OR camera_id = $3)"
          "   GROUP BY 1, 2, 3),"
          " st AS (SELECT s.status, coalesce(sum(vio.n), 0) AS n"
          "   FROM unnest(ARRAY['open', 'reviewed', 'dismissed', 'resolved']) AS s(status)"
          "   LEFT JOIN vio USING (status) GROUP BY 1),"
          " ty AS (SELECT event_type, sum(n) AS n FROM r GROUP BY 1"
          "   UNION ALL SELECT 'fall_detected', 0 WHERE NOT EXISTS"
          "    (SELECT 1 FROM r WHERE event_type = 'fall_detected')),"
          " cam AS (SELECT camera_id FROM r UNION SELECT camera_id FROM vio)"
          " SELECT json_build_object('summary', json_build_object("
          "  'time_range', json_build_object('from', ruth_time($1::timestamptz),"
          "     'to', ruth_time($2::timestamptz)),"
          "  'granularity', $4::text, 'camera_id', $3::text,"
          "  'totals', (jsonb_build_object("
          "     'violations_total', (SELECT coalesce(sum(n), 0) FROM vio),"
          "     'events_total', (SELECT coalesce(sum(n), 0) FROM r),"
          "     'cameras_active', (SELECT count(DISTINCT camera_id) FROM r))"
          "   || (SELECT jsonb_object_agg('violations_' || status, n) FROM st)"
          "   || (SELECT jsonb_object_agg('events_' || event_type, n) FROM ty))::json,"
          "  'by_camera', (SELECT coalesce(json_agg(x ORDER BY x.events_total DESC, x.camera_id), "
          "'[]')"
          "   FROM (SELECT cam.camera_id, coalesce(c.name, cam.camera_id) AS camera_name,"
          "           coalesce(v.total, 0) AS violations_total, coalesce(v.open, 0) AS "
          "violations_open,"
          "           coalesce(e.events, 0) AS events_total, ruth_time(e.le) AS last_event_at,"
          "           e.mc AS max_confidence"
          "      FROM cam LEFT JOIN cameras c ON c.id = cam.camera_id"
          "      LEFT JOIN (SELECT camera_id, sum(n) AS events, max(mc) AS mc, max(le) AS le"
          "                   FROM r GROUP BY 1) e USING (camera_id)"
          "      LEFT JOIN (SELECT camera_id, sum(n) AS total,"
          "                        coalesce(sum(n) FILTER (WHERE status = 'open'), 0) AS open"
          "                   FROM vio GROUP BY 1) v USING (camera_id)) x),"
          "  'time_series', (SELECT coalesce(json_agg(json_build_object('bucket', "
          "ruth_time(b.bucket),"
          "     'violations', coalesce(v.n, 0), 'events', coalesce(e.n, 0)) ORDER BY b.bucket), "
          "'[]')"
          "   FROM generate_series(date_trunc($4::text, $1::timestamptz),"
          "                        $2::timestamptz - interval '1 microsecond',"
          "                        ('1 ' || $4::text)::interval) AS b(bucket)"
          "   LEFT JOIN (SELECT bucket, sum(n) AS n FROM r GROUP BY 1) e USING (bucket)"
          "   LEFT JOIN (SELECT bucket, sum(n) AS n FROM vio GROUP BY 1) v USING (bucket))),"
          "  'generated_at', ruth_time(now()))::text";

/* One camera over [$1, $2) ($3 the camera): its violations by status
 * (zeros included), events by type, average confidence, last violation
 * (detection time) and last event, and the inference figures: frames are
 * its results, fps_avg their rate over the minutes in which it produced any
 * (minute rows exactly; an hourly row counts the minutes of its busiest
 * type, a lower bound when types alternate minute by minute), latency the
 * mean of the results that carried inference_time_ms. */
static const char camera_sql[] = "WITH " ANALYTICS_SRC(
    "$1", "$2", "$3", "$4",
    "$5") ","
          " ty AS (SELECT event_type, sum(n) AS n FROM src GROUP BY 1),"
          " act AS (SELECT at, max(am) AS am FROM src GROUP BY 1),"
          " tot AS (SELECT coalesce(sum(n), 0) AS n, sum(cs) AS cs, coalesce(sum(ls), 0) AS ls,"
          "         coalesce(sum(lc), 0) AS lc, max(le) AS le FROM src),"
          " vio AS (SELECT status, count(*) AS n, max(first_event_at) AS last_at FROM violations"
          "   WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz"
          "     AND camera_id = $3 GROUP BY 1)"
          " SELECT json_build_object('camera_id', $3::text,"
          "  'camera_name', (SELECT coalesce(name, id) FROM cameras WHERE id = $3),"
          "  'time_range', json_build_object('from', ruth_time($1::timestamptz),"
          "     'to', ruth_time($2::timestamptz)),"
          "  'metrics', json_build_object("
          "     'violations_total', (SELECT coalesce(sum(n), 0) FROM vio),"
          "     'violations_by_status', (SELECT json_object_agg(s.status, coalesce(vio.n, 0))"
          "        FROM unnest(ARRAY['open', 'reviewed', 'dismissed', 'resolved']) AS s(status)"
          "        LEFT JOIN vio USING (status)),"
          "     'events_total', (SELECT n FROM tot),"
          "     'events_by_type', (SELECT coalesce(json_object_agg(event_type, n ORDER BY "
          "event_type),"
          "        '{}') FROM ty),"
          "     'avg_confidence', (SELECT round((cs / nullif(n, 0))::numeric, 4) FROM tot),"
          "     'last_violation_at', (SELECT ruth_time(max(last_at)) FROM vio),"
          "     'last_event_at', (SELECT ruth_time(le) FROM tot)),"
          "  'inference_stats', json_build_object("
          "     'frames_processed', (SELECT n FROM tot),"
          "     'fps_avg', (SELECT round((tot.n / nullif(60.0 * (SELECT sum(am) FROM act), "
          "0))::numeric,"
          "        2) FROM tot),"
          "     'inference_latency_ms_avg', (SELECT round((ls / nullif(lc, 0))::numeric, 1) FROM "
          "tot)),"
          "  'generated_at', ruth_time(now()))::text";

/* The range [from, to) (default: the 24 hours up to now(), the database's
 * clock, as the violations' created_at is) and its whole
 * hours when `hours_wanted`: first hour boundary at or after `from`, last at
 * or before `to`. false after answering 400. */
typedef struct analytics_range {
    char from[48], to[48], h0[48], h1[48];
    bool hours;
    double span;
} analytics_range;

static bool analytics_range_get(api_req *r, analytics_range *g, const char *gran)
{
    const char *p2[3] = {g->to[0] ? g->to : NULL, g->from[0] ? g->from : NULL, gran};
    PGresult *res =
        api_query(r, true,
                  "SELECT f::text, extract(epoch FROM t - f),"
                  " CASE WHEN $3::text <> 'minute' AND h0 < h1 THEN h0::text END,"
                  " CASE WHEN $3::text <> 'minute' AND h0 < h1 THEN h1::text END, t::text"
                  " FROM (SELECT f, t, date_trunc('hour', date_trunc('minute', f) + interval '59 "
                  "minutes') h0,"
                  "              date_trunc('hour', t) h1"
                  "       FROM (SELECT coalesce($2::timestamptz, t - interval '24 hours') f, t"
                  "             FROM (SELECT coalesce($1::timestamptz, now()) t) n) a) b",
                  3, p2);
    if (!res)
        return false;
    snprintf(g->from, sizeof g->from, "%s", PQgetvalue(res, 0, 0));
    g->span = atof(PQgetvalue(res, 0, 1));
    g->hours = !PQgetisnull(res, 0, 2);
    snprintf(g->h0, sizeof g->h0, "%s", PQgetvalue(res, 0, 2));
    snprintf(g->h1, sizeof g->h1, "%s", PQgetvalue(res, 0, 3));
    snprintf(g->to, sizeof g->to, "%s", PQgetvalue(res, 0, 4));
    PQclear(res);
    if (g->span <= 0) {
        param_invalid(r, "to", "must be later than from");
        param_reject(r);
        return false;
    }
    return true;
}

/* from and to parameters; false after answering 400. */
static bool analytics_params(api_req *r, analytics_range *g)
{
    param_time(r, "from", g->from, sizeof g->from);
    param_time(r, "to", g->to, sizeof g->to);
    return !r->details; /* `to` defaults to now() (analytics_range_get) */
}

void h_analytics_summary(api_req *r)
{
    analytics_range g;
    memset(&g, 0, sizeof g);
    const char *gran = "hour";
    bool ok = analytics_params(r, &g);
    param_enum(r, "granularity", "minute|hour|day", &gran);
    const char *camera = param_str(r, "camera_id");
    if (!ok || r->details) {
        param_reject(r);
        return;
    }
    if (!analytics_range_get(r, &g, gran))
        return;
    double bucket = !strcmp(gran, "minute") ? 60 : !strcmp(gran, "hour") ? 3600 : 86400;
    if (g.span / bucket > MAX_BUCKETS) {
        param_invalid(r, "granularity",
                      "gives more than %d buckets for this range; use a "
                      "coarser one or a shorter range",
                      MAX_BUCKETS);
        param_reject(r);
        return;
    }
    const char *p[6] = {g.from, g.to, camera, gran, g.hours ? g.h0 : NULL, g.hours ? g.h1 : NULL};
    PGresult *res = api_query(r, true, summary_sql, 6, p);
    if (!res)
        return;
    api_json_row(r, 200, res);
    PQclear(res);
}

void h_analytics_camera(api_req *r)
{
    const char *id = r->seg[2];
    analytics_range g;
    memset(&g, 0, sizeof g);
    if (!analytics_params(r, &g)) {
        param_reject(r);
        return;
    }
    const char *p1[1] = {id};
    PGresult *res = api_query(r, true, "SELECT 1 FROM cameras WHERE id = $1", 1, p1);
    if (!res)
        return;
    int n = PQntuples(res);
    PQclear(res);
    if (n == 0) {
        api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "camera %s is not known", id);
        return;
    }
    if (!analytics_range_get(r, &g, "hour"))
        return;
    const char *p[5] = {g.from, g.to, id, g.hours ? g.h0 : NULL, g.hours ? g.h1 : NULL};
    res = api_query(r, true, camera_sql, 5, p);
    if (!res)
        return;
    api_json_row(r, 200, res);
    PQclear(res);
}
