/* api_analytics.c - GET /analytics/summary and /analytics/cameras/{id}.
 *
 * Event figures come from event_rollups and event_rollups_hourly (one row
 * per minute or hour, camera and type, maintained by ruth-worker in the same
 * transaction as the events), so the cost follows the time range, not the
 * number of events. Violation
 * figures come from violations, which grow by incidents, not frames. */
#include "api.h"
#include "api_handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BUCKETS 10000

/* One pass over the rollups: `r` aggregates the range to (bucket, camera,
 * type) once, which is at most buckets x cameras x types rows, and every
 * figure below is computed from that small set. With hourly or daily
 * buckets the whole hours [$5, $6) come from event_rollups_hourly and only
 * the ragged minutes before $5 and from $6 on from event_rollups ($5 and $6
 * NULL: minutes only). */
static const char summary_sql[] =
    "WITH src AS ("
    "  SELECT minute AS at, camera_id, event_type, count, max_confidence FROM event_rollups"
    "   WHERE minute >= date_trunc('minute', $1::timestamptz)"
    "     AND minute < coalesce($5::timestamptz, $2::timestamptz)"
    "     AND ($3::text IS NULL OR camera_id = $3)"
    "  UNION ALL"
    "  SELECT minute, camera_id, event_type, count, max_confidence FROM event_rollups"
    "   WHERE $5::timestamptz IS NOT NULL AND minute >= $6::timestamptz"
    "     AND minute < $2::timestamptz AND ($3::text IS NULL OR camera_id = $3)"
    "  UNION ALL"
    "  SELECT hour, camera_id, event_type, count, max_confidence FROM event_rollups_hourly"
    "   WHERE hour >= $5::timestamptz AND hour < $6::timestamptz"
    "     AND ($3::text IS NULL OR camera_id = $3)),"
    " r AS MATERIALIZED ("
    "  SELECT date_trunc($4::text, at) AS bucket, camera_id, event_type,"
    "         sum(count) AS n, max(max_confidence) AS mc FROM src GROUP BY 1, 2, 3),"
    " vio AS MATERIALIZED ("
    "  SELECT status, type, camera_id, count(*) AS n FROM violations"
    "   WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz"
    "     AND ($3::text IS NULL OR camera_id = $3)"
    "   GROUP BY 1, 2, 3)"
    " SELECT json_build_object("
    "  'from', $1::timestamptz, 'to', $2::timestamptz, 'granularity', $4::text,"
    "  'camera_id', $3::text,"
    "  'totals', json_build_object("
    "     'events', (SELECT coalesce(sum(n), 0) FROM r),"
    "     'violations', (SELECT coalesce(sum(n), 0) FROM vio),"
    "     'events_by_type', (SELECT coalesce(json_object_agg(event_type, n ORDER BY event_type),"
    "        '{}') FROM (SELECT event_type, sum(n) n FROM r GROUP BY 1) x),"
    "     'violations_by_status', (SELECT coalesce(json_object_agg(status, n ORDER BY status),"
    "        '{}') FROM (SELECT status, sum(n) n FROM vio GROUP BY 1) x),"
    "     'violations_by_type', (SELECT coalesce(json_object_agg(type, n ORDER BY type),"
    "        '{}') FROM (SELECT type, sum(n) n FROM vio GROUP BY 1) x)),"
    "  'by_camera', (SELECT coalesce(json_agg(x ORDER BY x.events DESC, x.camera_id), '[]') FROM ("
    "     SELECT c.camera_id, coalesce(e.events, 0) AS events, e.max_confidence,"
    "            coalesce(v.violations, 0) AS violations"
    "       FROM (SELECT camera_id FROM r UNION SELECT camera_id FROM vio) c"
    "       LEFT JOIN (SELECT camera_id, sum(n) AS events, max(mc) AS max_confidence"
    "                    FROM r GROUP BY 1) e USING (camera_id)"
    "       LEFT JOIN (SELECT camera_id, sum(n) AS violations FROM vio GROUP BY 1) v"
    "              USING (camera_id)) x),"
    "  'time_series', (SELECT coalesce(json_agg(x ORDER BY x.bucket), '[]') FROM ("
    "     SELECT bucket, sum(n) AS events, max(mc) AS max_confidence FROM r GROUP BY 1) x)"
    ")::text";

static void summary(api_req *r, const char *camera)
{
    const char *gran = "hour";
    char from[48] = "", to[48] = "";
    param_time(r, "from", from, sizeof from);
    param_time(r, "to", to, sizeof to);
    param_enum(r, "granularity", "minute|hour|day", &gran);
    if (!camera)
        camera = param_str(r, "camera_id");
    if (r->details) {
        param_reject(r);
        return;
    }
    /* Defaults: the last 24 hours up to now. */
    time_t now = time(NULL);
    if (!to[0]) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(to, sizeof to, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    }
    const char *p2[3] = {to, from[0] ? from : NULL, gran};
    /* The range, its length, and its whole hours when the buckets are hours
     * or days: first hour boundary at or after `from`, last at or before `to`. */
    PGresult *res = api_query(
        r, true,
        "SELECT f::text, extract(epoch FROM $1::timestamptz - f),"
        " CASE WHEN $3::text <> 'minute' AND h0 < h1 THEN h0::text END,"
        " CASE WHEN $3::text <> 'minute' AND h0 < h1 THEN h1::text END"
        " FROM (SELECT f, date_trunc('hour', date_trunc('minute', f) + interval '59 minutes') h0,"
        "              date_trunc('hour', $1::timestamptz) h1"
        "       FROM (SELECT coalesce($2::timestamptz, $1::timestamptz - interval '24 hours') f)"
        "       a) b",
        3, p2);
    if (!res)
        return;
    char h0[48], h1[48];
    snprintf(from, sizeof from, "%s", PQgetvalue(res, 0, 0));
    double span = atof(PQgetvalue(res, 0, 1));
    bool hours = !PQgetisnull(res, 0, 2);
    snprintf(h0, sizeof h0, "%s", PQgetvalue(res, 0, 2));
    snprintf(h1, sizeof h1, "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    if (span <= 0) {
        param_invalid(r, "to", "must be later than from");
        param_reject(r);
        return;
    }
    double bucket = !strcmp(gran, "minute") ? 60 : !strcmp(gran, "hour") ? 3600 : 86400;
    if (span / bucket > MAX_BUCKETS) {
        param_invalid(r, "granularity",
                      "gives more than %d buckets for this range; use a "
                      "coarser one or a shorter range",
                      MAX_BUCKETS);
        param_reject(r);
        return;
    }
    const char *p[6] = {from, to, camera, gran, hours ? h0 : NULL, hours ? h1 : NULL};
    res = api_query(r, true, summary_sql, 6, p);
    if (!res)
        return;
    api_json_row(r, 200, res);
    PQclear(res);
}

void h_analytics_summary(api_req *r)
{
    summary(r, NULL);
}

void h_analytics_camera(api_req *r)
{
    const char *id = r->seg[2];
    const char *p[1] = {id};
    PGresult *res = api_query(r, true, "SELECT 1 FROM cameras WHERE id = $1", 1, p);
    if (!res)
        return;
    int n = PQntuples(res);
    PQclear(res);
    if (n == 0) {
        api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "camera %s is not known", id);
        return;
    }
    summary(r, id);
}
