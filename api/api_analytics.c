/* api_analytics.c - GET /analytics/summary and /analytics/cameras/{id}, in
 * the shapes of the Ruth AI contract (§1.5, §3.5).
 *
 * Event figures come from event_rollups and event_rollups_hourly (one row
 * per minute or hour, camera and type, maintained by ruth-worker in the same
 * transaction as the events; counts, confidence and latency sums, the last
 * event's time, active minutes), so the cost follows the time range, not the
 * number of events; the summary of all cameras reads coarser ones instead
 * (event_rollups_camera, event_rollups_type: blocks of 1 minute to 6 hours,
 * migration 0015), so its rows follow the number of cameras and types, not
 * of minutes. Violation figures come from violations, which grow by
 * incidents, not frames. The summary reads plain rollup rows and builds its
 * figures and JSON in api_summary.c; the camera's figures are few and
 * are built by PostgreSQL. */
#include "api.h"
#include "api_handlers.h"
#include "api_summary.h"

#include "hash.h"
#include "jsonw.h"
#include "xmalloc.h"

#include <stdint.h>
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

/* The summary's rows, aggregated in C (api_summary.c): kind 0 one
 * rollup row of the range (the hourly or minute row's start in epoch
 * seconds, camera, type, count, max confidence, last event in epoch
 * milliseconds: what ruth_time writes, and float8 arithmetic, cheaper than
 * numeric, is exact at that precision), kind 1 the range's violations counted per bucket
 * (grouping 1) or per camera and status (grouping 2). Plain columns, no
 * JSON and no aggregation of the rollups in PostgreSQL: building the
 * figures there cost ~57 ms of its CPU per request (issue 16).
 * ruth_serial_plan() (migration 0013) keeps the plan serial: parallel
 * workers for this scan cost several times what they save here. */
/* clang-format off */
/* The range's violations per bucket (grouping 1) and per camera and status. */
#define SUMMARY_VIOLATIONS                                                                         \
    "SELECT 1, CASE WHEN grouping(camera_id) = 1"                                                  \
    "   THEN extract(epoch FROM date_trunc($4::text, created_at))::int8 END,"                     \
    "  camera_id, status, count(*), NULL, NULL FROM violations"                                    \
    " WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz"                       \
    "   AND ($3::text IS NULL OR camera_id = $3) AND (SELECT ruth_serial_plan())"                  \
    " GROUP BY GROUPING SETS ((date_trunc($4::text, created_at)), (camera_id, status))"
#define SUMMARY_COLS(AT)                                                                           \
    "SELECT 0, date_part('epoch', " AT ")::int8, camera_id, event_type, count, max_confidence,"    \
    " (date_part('epoch', date_trunc('milliseconds', last_event_at)) * 1000)::int8"
/* The ragged minutes at either end, summed per bucket, camera and type in
 * PostgreSQL: ruth-api only sums counts and takes maxima, so this answers
 * the same, and the rows sent stay at most buckets x cameras x types
 * however densely the cameras report (one row per minute, camera and type
 * was up to 2 x 59 x 400 rows for 100 cameras: issue 16's 10 M scale). */
#define SUMMARY_MINUTES                                                                            \
    "SELECT 0, date_part('epoch', date_trunc($4::text, minute))::int8, camera_id, event_type,"     \
    " sum(count), max(max_confidence),"                                                            \
    " (date_part('epoch', date_trunc('milliseconds', max(last_event_at))) * 1000)::int8"           \
    " FROM event_rollups"
static const char summary_sql[] =
    SUMMARY_MINUTES
    " WHERE minute >= date_trunc('minute', $1::timestamptz)"
    "   AND minute < coalesce($5::timestamptz, $2::timestamptz)"
    "   AND ($3::text IS NULL OR camera_id = $3)"
    " GROUP BY date_trunc($4::text, minute), camera_id, event_type"
    " UNION ALL " SUMMARY_MINUTES
    " WHERE $5::timestamptz IS NOT NULL AND minute >= $6::timestamptz"
    "   AND minute < $2::timestamptz AND ($3::text IS NULL OR camera_id = $3)"
    " GROUP BY date_trunc($4::text, minute), camera_id, event_type"
    " UNION ALL " SUMMARY_COLS("hour") " FROM event_rollups_hourly"
    " WHERE hour >= $5::timestamptz AND hour < $6::timestamptz"
    "   AND ($3::text IS NULL OR camera_id = $3)"
    " UNION ALL " SUMMARY_VIOLATIONS;
/* The summary of all cameras (no camera_id), from the per-block rollups of
 * migration 0015: kind 2 one row per camera over the range (its name, events,
 * max confidence, last event in epoch milliseconds: the names query is then
 * needed only for cameras with violations and no events), kind 3 the events per
 * bucket and type, then the violations: kind 1 per bucket and kind 4 per
 * camera (its open, reviewed, dismissed, resolved counts in the count column
 * and the three after `le`: one row per camera, not four) from the per-block
 * counts of migration 0018 for the whole minutes [$17, $18) of the range,
 * kind 1 as above from the violations only for the ragged seconds before
 * and after (both bounds `to` when the range holds no whole minute: then all
 * of it is raw). $5-$7
 * and $8-$10 are the blocks (span, start, end in epoch seconds) of
 * event_rollups_camera and event_rollups_type that make up the range
 * (analytics_blocks_*): ~2,200 camera rows for 24 hours of 100 cameras,
 * summed here to one per camera; $11-$13 and $14-$16 those of
 * violation_rollups_time and violation_rollups_camera (their counts may be
 * negative per writer; only the sums are figures, and a camera whose sums
 * are all zero is none of the summary's, as with no violation before). The ragged ends are scanned per
 * range through LATERAL too: with their bounds visible (a custom plan) the
 * planner estimated them cheaper than a generic plan could and planned the
 * statement anew on every execution.
 * Each block is one index range scan (LATERAL, OFFSET 0: not flattened into
 * a join, which the planner made a hash join over the whole table: ~400 ms
 * instead of ~1.5 ms). */
#define SUMMARY_BLOCKS(SPAN, LO, HI, TABLE)                                                        \
    " FROM unnest(" SPAN "::int[], " LO "::int8[], " HI "::int8[]) AS b(span, lo, hi)"            \
    " CROSS JOIN LATERAL (SELECT * FROM " TABLE " e WHERE e.span = b.span"                         \
    "  AND e.at >= 'epoch'::timestamptz + b.lo * interval '1 second'"                             \
    "  AND e.at < 'epoch'::timestamptz + b.hi * interval '1 second' OFFSET 0) e"
static const char summary_blocks_sql[] =
    "SELECT 2, NULL::int8, e.camera_id, coalesce(c.name, e.camera_id), e.n, e.mc, e.le,"
    " NULL::int8, NULL::int8, NULL::int8 FROM (SELECT camera_id, sum(count) AS n, max(max_confidence) AS mc,"
    "  (date_part('epoch', date_trunc('milliseconds', max(last_event_at))) * 1000)::int8 AS le"
    SUMMARY_BLOCKS("$5", "$6", "$7", "event_rollups_camera")
    " GROUP BY camera_id) e LEFT JOIN cameras c ON c.id = e.camera_id"
    " UNION ALL"
    " SELECT 3, date_part('epoch', date_trunc($4::text, e.at))::int8, NULL, event_type,"
    " sum(count), NULL, NULL, NULL, NULL, NULL"
    SUMMARY_BLOCKS("$8", "$9", "$10", "event_rollups_type")
    " GROUP BY 2, 4"
    " UNION ALL"
    " SELECT 1, date_part('epoch', date_trunc($4::text, e.at))::int8, NULL, NULL, sum(count),"
    " NULL, NULL, NULL, NULL, NULL"
    SUMMARY_BLOCKS("$11", "$12", "$13", "violation_rollups_time")
    " GROUP BY 2"
    " UNION ALL"
    " SELECT 4, NULL, camera_id, NULL, sum(open)::int8, NULL, NULL, sum(reviewed)::int8,"
    " sum(dismissed)::int8, sum(resolved)::int8"
    SUMMARY_BLOCKS("$14", "$15", "$16", "violation_rollups_camera")
    " GROUP BY camera_id"
    " UNION ALL"
    " SELECT 1, CASE WHEN grouping(camera_id) = 1"
    "   THEN extract(epoch FROM date_trunc($4::text, created_at))::int8 END,"
    "  camera_id, status, count(*), NULL, NULL, NULL, NULL, NULL"
    " FROM unnest(ARRAY[$1::timestamptz, $18::timestamptz],"
    "             ARRAY[$17::timestamptz, $2::timestamptz]) AS r(lo, hi)"
    " CROSS JOIN LATERAL (SELECT created_at, camera_id, status FROM violations"
    "  WHERE created_at >= r.lo AND created_at < r.hi OFFSET 0) v"
    " WHERE $3::text IS NULL AND (SELECT ruth_serial_plan())"
    " GROUP BY GROUPING SETS ((date_trunc($4::text, created_at)), (camera_id, status))";
/* clang-format on */

/* One camera over [$1, $2) ($3 the camera): its violations by status
 * (zeros included), events by type, average confidence (over the rows
 * whose confidence sum is known, null when none is: migration 0013), last violation
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
          " tot AS (SELECT coalesce(sum(n), 0) AS n, sum(cs) AS cs, sum(n) FILTER (WHERE cs IS NOT"
          "           NULL) AS cn, coalesce(sum(ls), 0) AS ls,"
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
          "     'avg_confidence', (SELECT round((cs / nullif(cn, 0))::numeric, 4) FROM tot),"
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
    /* as answered: from, to and now() in the contract's format; the first
     * bucket's start (epoch seconds, `gran` truncated) and `to` (epoch us) */
    char from_txt[32], to_txt[32], now_txt[32];
    int64_t b0_s, to_us;
    /* epoch seconds: the minutes the rollups cover, [from's minute, the
     * first minute boundary at or after to), and h0, h1 when `hours` */
    int64_t f_s, t_s, h0_s, h1_s;
    /* the whole minutes inside [from, to), the violations' rollups' part
     * (m0 = m1 = to when there is none), as text and epoch seconds */
    char m0[48], m1[48];
    int64_t m0_s, m1_s;
} analytics_range;

static bool analytics_range_get(api_req *r, analytics_range *g, const char *gran)
{
    const char *p2[3] = {g->to[0] ? g->to : NULL, g->from[0] ? g->from : NULL, gran};
    PGresult *res =
        api_query(r, true,
                  "SELECT f::text, extract(epoch FROM t - f),"
                  " CASE WHEN $3::text <> 'minute' AND h0 < h1 THEN h0::text END,"
                  " CASE WHEN $3::text <> 'minute' AND h0 < h1 THEN h1::text END, t::text,"
                  " ruth_time(f), ruth_time(t), ruth_time(now()),"
                  " extract(epoch FROM date_trunc($3::text, f))::int8,"
                  " (extract(epoch FROM t) * 1000000)::int8,"
                  " extract(epoch FROM date_trunc('minute', f))::int8,"
                  " (ceil(extract(epoch FROM t) / 60) * 60)::int8,"
                  " extract(epoch FROM h0)::int8, extract(epoch FROM h1)::int8,"
                  " m0::text, m1::text, extract(epoch FROM m0)::int8, extract(epoch FROM m1)::int8"
                  " FROM (SELECT f, t, date_trunc('hour', date_trunc('minute', f) + interval '59 "
                  "minutes') h0,"
                  "              date_trunc('hour', t) h1, date_trunc('minute', t) m1,"
                  "              date_trunc('minute', f) + CASE WHEN f > date_trunc('minute', f)"
                  "                THEN interval '1 minute' ELSE interval '0' END m0"
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
    snprintf(g->from_txt, sizeof g->from_txt, "%s", PQgetvalue(res, 0, 5));
    snprintf(g->to_txt, sizeof g->to_txt, "%s", PQgetvalue(res, 0, 6));
    snprintf(g->now_txt, sizeof g->now_txt, "%s", PQgetvalue(res, 0, 7));
    g->b0_s = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
    g->to_us = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
    g->f_s = strtoll(PQgetvalue(res, 0, 10), NULL, 10);
    g->t_s = strtoll(PQgetvalue(res, 0, 11), NULL, 10);
    g->h0_s = strtoll(PQgetvalue(res, 0, 12), NULL, 10);
    g->h1_s = strtoll(PQgetvalue(res, 0, 13), NULL, 10);
    g->m0_s = strtoll(PQgetvalue(res, 0, 16), NULL, 10);
    g->m1_s = strtoll(PQgetvalue(res, 0, 17), NULL, 10);
    bool whole = g->m0_s < g->m1_s; /* else no whole minute: all raw */
    snprintf(g->m0, sizeof g->m0, "%s", whole ? PQgetvalue(res, 0, 14) : g->to);
    snprintf(g->m1, sizeof g->m1, "%s", whole ? PQgetvalue(res, 0, 15) : g->to);
    if (!whole)
        g->m0_s = g->m1_s = 0;
    PQclear(res);
    if (g->span <= 0) {
        param_invalid(r, "to", "must be later than from");
        param_reject(r);
        return false;
    }
    return true;
}

/* The names of the cameras seen whose rows did not carry one (their id
 * when unnamed): one query, none when all did (*out NULL). false after
 * answering the error. */
static bool analytics_sum_names(api_req *r, const api_summary *s, PGresult **out)
{
    *out = NULL;
    pg_array ids = {0};
    pg_array_begin(&ids);
    for (size_t i = 0; i < s->ncap; i++)
        if (s->cam[i].id && !s->cam[i].name)
            pg_array_add(&ids, s->cam[i].id);
    if (ids.n) {
        const char *p[1] = {pg_array_end(&ids)};
        *out = api_query(
            r, true, "SELECT id, coalesce(name, id) FROM cameras WHERE id = ANY($1::text[])", 1, p);
    }
    bool ok = !ids.n || *out;
    pg_array_free(&ids);
    return ok;
}

/* ---- the blocks of migration 0015's rollups that make up a range ----
 * Three arrays for summary_blocks_sql: span, start, end (epoch seconds). */
typedef struct analytics_blocks {
    pg_array span, lo, hi;
} analytics_blocks;

static int64_t analytics_floor(int64_t t, int64_t w)
{
    return t - ((t % w) + w) % w;
}

static void analytics_blocks_add(analytics_blocks *b, int64_t span, int64_t lo, int64_t hi)
{
    if (lo >= hi)
        return;
    pg_array_add_i64(&b->span, span);
    pg_array_add_i64(&b->lo, lo);
    pg_array_add_i64(&b->hi, hi);
}

/* [lo, hi) as blocks of `fine` seconds at both ends and of `coarse` (a
 * multiple of fine; 0: none) in between. */
static void analytics_blocks_split(analytics_blocks *b, int64_t fine, int64_t coarse, int64_t lo,
                                   int64_t hi)
{
    if (coarse) {
        int64_t c0 = analytics_floor(lo + coarse - 1, coarse), c1 = analytics_floor(hi, coarse);
        if (c0 < c1) {
            analytics_blocks_add(b, fine, lo, c0);
            analytics_blocks_add(b, coarse, c0, c1);
            analytics_blocks_add(b, fine, c1, hi);
            return;
        }
    }
    analytics_blocks_add(b, fine, lo, hi);
}

/* The range's minutes [f_s, t_s) as blocks, split where the summary split
 * them before migration 0015 (so it answers the same even where hand-written
 * hourly rows disagree with the minutes): blocks of an hour or more only
 * within [h0, h1) (the hourly rows, when `hours`), of one or ten minutes
 * elsewhere (the minute rows). `minutes_only`: no ten-minute blocks (they
 * would cross minute buckets); `over_hour`: the span above an hour to use
 * in between (0: none). */
static void analytics_blocks_of(analytics_blocks *b, const analytics_range *g, bool minutes_only,
                                int64_t over_hour)
{
    pg_array_begin(&b->span);
    pg_array_begin(&b->lo);
    pg_array_begin(&b->hi);
    int64_t ten = minutes_only ? 0 : 600;
    if (!g->hours) {
        analytics_blocks_split(b, 60, ten, g->f_s, g->t_s);
        return;
    }
    analytics_blocks_split(b, 60, ten, g->f_s, g->h0_s);
    analytics_blocks_split(b, 3600, over_hour, g->h0_s, g->h1_s);
    analytics_blocks_split(b, 60, ten, g->h1_s, g->t_s);
}

/* [lo, hi) as blocks of the spans spans[0] < spans[1] < ... (each a
 * multiple of the one before): the coarsest that fit in the middle, finer
 * ones towards the ends (at most 2n - 1 blocks). */
static void analytics_blocks_tiers(analytics_blocks *b, const int64_t *spans, int n, int64_t lo,
                                   int64_t hi)
{
    int64_t c = spans[n - 1];
    if (n == 1) {
        analytics_blocks_add(b, c, lo, hi);
        return;
    }
    int64_t c0 = analytics_floor(lo + c - 1, c), c1 = analytics_floor(hi, c);
    if (c0 >= c1) {
        analytics_blocks_tiers(b, spans, n - 1, lo, hi);
        return;
    }
    analytics_blocks_tiers(b, spans, n - 1, lo, c0);
    analytics_blocks_add(b, c, c0, c1);
    analytics_blocks_tiers(b, spans, n - 1, c1, hi);
}

/* The blocks of migration 0018's rollups for the whole minutes [m0, m1):
 * per camera (`per_camera`) any span, per bucket none coarser than the
 * bucket (minutes: minute rows only). */
static void analytics_blocks_violations(analytics_blocks *b, const analytics_range *g,
                                        bool per_camera, bool minutes)
{
    static const int64_t spans[4] = {60, 600, 3600, 21600};
    pg_array_begin(&b->span);
    pg_array_begin(&b->lo);
    pg_array_begin(&b->hi);
    analytics_blocks_tiers(b, spans, per_camera ? 4 : minutes ? 1 : 3, g->m0_s, g->m1_s);
}

/* Pad to ANALYTICS_BLOCKS empty blocks: why: with arrays of one length
 * the generic plan of summary_blocks_sql costs no more than a custom one, so
 * PostgreSQL plans the statement once instead of on every execution (its
 * planning was ~0.6-1 ms of the ~5 ms it spent per request). A range has at
 * most 9 blocks (3 per region). */
#define ANALYTICS_BLOCKS 10
static void analytics_blocks_pad(analytics_blocks *b)
{
    while (b->span.n < ANALYTICS_BLOCKS) {
        pg_array_add_i64(&b->span, 60);
        pg_array_add_i64(&b->lo, 0);
        pg_array_add_i64(&b->hi, 0);
    }
}

static void analytics_blocks_free(analytics_blocks *b)
{
    pg_array_free(&b->span);
    pg_array_free(&b->lo);
    pg_array_free(&b->hi);
}

/* The summary's rows: of all cameras from the per-block rollups, of one
 * camera from its per-type ones. NULL after answering the error. */
static PGresult *analytics_summary_rows(api_req *r, const analytics_range *g, const char *gran,
                                        const char *camera)
{
    if (camera) {
        const char *p[6] = {
            g->from, g->to, camera, gran, g->hours ? g->h0 : NULL, g->hours ? g->h1 : NULL};
        return api_query(r, true, summary_sql, 6, p);
    }
    bool minutes = !strcmp(gran, "minute");
    /* events per camera, per type; violations per bucket, per camera */
    analytics_blocks bl[4];
    memset(bl, 0, sizeof bl);
    analytics_blocks_of(&bl[0], g, false, 21600);
    analytics_blocks_of(&bl[1], g, minutes, 0);
    analytics_blocks_violations(&bl[2], g, false, minutes);
    analytics_blocks_violations(&bl[3], g, true, minutes);
    const char *p[18] = {g->from, g->to, NULL, gran};
    for (int i = 0; i < 4; i++) {
        analytics_blocks_pad(&bl[i]);
        p[4 + 3 * i] = pg_array_end(&bl[i].span);
        p[5 + 3 * i] = pg_array_end(&bl[i].lo);
        p[6 + 3 * i] = pg_array_end(&bl[i].hi);
    }
    p[16] = g->m0;
    p[17] = g->m1;
    PGresult *res = api_query(r, true, summary_blocks_sql, 18, p);
    for (int i = 0; i < 4; i++)
        analytics_blocks_free(&bl[i]);
    return res;
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
    PGresult *res = analytics_summary_rows(r, &g, gran, camera);
    if (!res)
        return;
    api_summary s;
    api_summary_init(&s, g.b0_s, (int64_t)bucket, g.to_us);
    api_summary_rows(&s, res);
    PGresult *names;
    if (analytics_sum_names(r, &s, &names)) {
        buf b = {0};
        const char *range[3] = {g.from_txt, g.to_txt, g.now_txt};
        api_summary_write(&s, &b, range, gran, camera, names);
        api_json_text(r, 200, (const char *)b.data, b.len);
        buf_free(&b);
        PQclear(names);
    }
    api_summary_free(&s);
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
