/* api_analytics.c - GET /analytics/summary and /analytics/cameras/{id}, in
 * the shapes of the Ruth AI contract (§1.5, §3.5).
 *
 * Event figures come from event_rollups and event_rollups_hourly (one row
 * per minute or hour, camera and type, maintained by ruth-worker in the same
 * transaction as the events; counts, confidence and latency sums, the last
 * event's time, active minutes), so the cost follows the time range, not the
 * number of events. Violation figures come from violations, which grow by
 * incidents, not frames. The summary reads plain rollup rows and builds its
 * figures and JSON here (analytics_sum_*); the camera's figures are few and
 * are built by PostgreSQL. */
#include "api.h"
#include "api_handlers.h"

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

/* The summary's rows, aggregated in C (api_analytics_sum_*): kind 0 one
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
    " UNION ALL"
    " SELECT 1, CASE WHEN grouping(camera_id) = 1"
    "   THEN extract(epoch FROM date_trunc($4::text, created_at))::int8 END,"
    "  camera_id, status, count(*), NULL, NULL FROM violations"
    " WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz"
    "   AND ($3::text IS NULL OR camera_id = $3) AND (SELECT ruth_serial_plan())"
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
                  " (extract(epoch FROM t) * 1000000)::int8"
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
    snprintf(g->from_txt, sizeof g->from_txt, "%s", PQgetvalue(res, 0, 5));
    snprintf(g->to_txt, sizeof g->to_txt, "%s", PQgetvalue(res, 0, 6));
    snprintf(g->now_txt, sizeof g->now_txt, "%s", PQgetvalue(res, 0, 7));
    g->b0_s = strtoll(PQgetvalue(res, 0, 8), NULL, 10);
    g->to_us = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
    PQclear(res);
    if (g->span <= 0) {
        param_invalid(r, "to", "must be later than from");
        param_reject(r);
        return false;
    }
    return true;
}

/* ---- the summary's figures, aggregated in C from summary_sql's rows ----
 * Strings point into the PGresult, which outlives the aggregate. */
typedef struct analytics_cam {
    const char *id; /* NULL: free slot */
    int64_t events, le_us, vtotal, vopen;
    double mc;
    bool seen; /* has rollup rows (counts as active) */
    const char *name;
} analytics_cam;

typedef struct analytics_type {
    const char *name;
    int64_t n;
} analytics_type;

typedef struct analytics_sum {
    int64_t b0_s, width_s, to_us;
    size_t nbuckets;
    int64_t *bev, *bvio; /* per bucket: events, violations */
    analytics_cam *cam;  /* open addressing, ncap slots (a power of 2) */
    size_t ncap, ncam;
    analytics_type *type; /* in order of first appearance */
    size_t ntype, captype;
    int64_t events, vtotal, vstatus[4], active;
} analytics_sum;

static const char *const analytics_statuses[4] = {"open", "reviewed", "dismissed", "resolved"};

static void analytics_sum_init(analytics_sum *s, const analytics_range *g, int64_t width_s)
{
    memset(s, 0, sizeof *s);
    s->b0_s = g->b0_s;
    s->width_s = width_s;
    s->to_us = g->to_us;
    /* generate_series(b0, to - 1 us, width): every bucket starting before `to` */
    int64_t span_us = s->to_us - s->b0_s * 1000000;
    s->nbuckets = span_us > 0 ? (size_t)((span_us - 1) / (width_s * 1000000) + 1) : 0;
    s->bev = xcalloc(s->nbuckets + 1, sizeof *s->bev);
    s->bvio = xcalloc(s->nbuckets + 1, sizeof *s->bvio);
    s->ncap = 256;
    s->cam = xcalloc(s->ncap, sizeof *s->cam);
}

static void analytics_sum_free(analytics_sum *s)
{
    free(s->bev);
    free(s->bvio);
    free(s->cam);
    free(s->type);
}

static analytics_cam *analytics_sum_cam(analytics_sum *s, const char *id)
{
    if (2 * (s->ncam + 1) > s->ncap) { /* grow: rehash into twice the slots */
        analytics_cam *old = s->cam;
        size_t oldcap = s->ncap;
        s->ncap *= 2;
        s->cam = xcalloc(s->ncap, sizeof *s->cam);
        for (size_t i = 0; i < oldcap; i++) {
            if (!old[i].id)
                continue;
            size_t j = hash_fnv1a64_str(old[i].id) & (s->ncap - 1);
            while (s->cam[j].id)
                j = (j + 1) & (s->ncap - 1);
            s->cam[j] = old[i];
        }
        free(old);
    }
    size_t j = hash_fnv1a64_str(id) & (s->ncap - 1);
    while (s->cam[j].id && strcmp(s->cam[j].id, id))
        j = (j + 1) & (s->ncap - 1);
    if (!s->cam[j].id) {
        s->cam[j] = (analytics_cam){.id = id, .le_us = INT64_MIN, .mc = -1};
        s->ncam++;
    }
    return &s->cam[j];
}

static void analytics_sum_type(analytics_sum *s, const char *name, int64_t n)
{
    for (size_t i = 0; i < s->ntype; i++)
        if (!strcmp(s->type[i].name, name)) {
            s->type[i].n += n;
            return;
        }
    if (s->ntype == s->captype) {
        s->captype = s->captype ? 2 * s->captype : 8;
        s->type = xrealloc(s->type, s->captype * sizeof *s->type);
    }
    s->type[s->ntype++] = (analytics_type){name, n};
}

/* The bucket of a time in epoch seconds, or -1 outside the series. */
static long analytics_sum_bucket(const analytics_sum *s, int64_t t_s)
{
    int64_t d = t_s - s->b0_s;
    if (d < 0)
        return -1;
    size_t k = (size_t)(d / s->width_s);
    return k < s->nbuckets ? (long)k : -1;
}

static void analytics_sum_rows(analytics_sum *s, const PGresult *res)
{
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        const char *kind = PQgetvalue(res, i, 0);
        const char *cam = PQgetvalue(res, i, 2), *what = PQgetvalue(res, i, 3);
        int64_t cnt = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        if (kind[0] == '0') { /* a rollup row */
            long k = analytics_sum_bucket(s, strtoll(PQgetvalue(res, i, 1), NULL, 10));
            if (k >= 0)
                s->bev[k] += cnt;
            s->events += cnt;
            analytics_sum_type(s, what, cnt);
            analytics_cam *c = analytics_sum_cam(s, cam);
            c->events += cnt;
            if (!c->seen)
                s->active++;
            c->seen = true;
            double mc = strtod(PQgetvalue(res, i, 5), NULL);
            if (mc > c->mc)
                c->mc = mc;
            if (!PQgetisnull(res, i, 6)) {
                int64_t le = strtoll(PQgetvalue(res, i, 6), NULL, 10) * 1000;
                if (le > c->le_us)
                    c->le_us = le;
            }
        } else if (!PQgetisnull(res, i, 1)) { /* violations of a bucket */
            long k = analytics_sum_bucket(s, strtoll(PQgetvalue(res, i, 1), NULL, 10));
            if (k >= 0)
                s->bvio[k] += cnt;
        } else { /* violations of a camera in a status */
            analytics_cam *c = analytics_sum_cam(s, cam);
            c->vtotal += cnt;
            s->vtotal += cnt;
            for (int j = 0; j < 4; j++)
                if (!strcmp(what, analytics_statuses[j]))
                    s->vstatus[j] += cnt;
            if (!strcmp(what, "open"))
                c->vopen += cnt;
        }
    }
}

/* The names of the cameras seen (their id when unnamed): one query. */
static PGresult *analytics_sum_names(api_req *r, const analytics_sum *s)
{
    pg_array ids = {0};
    pg_array_begin(&ids);
    for (size_t i = 0; i < s->ncap; i++)
        if (s->cam[i].id)
            pg_array_add(&ids, s->cam[i].id);
    const char *p[1] = {pg_array_end(&ids)};
    PGresult *res = api_query(
        r, true, "SELECT id, coalesce(name, id) FROM cameras WHERE id = ANY($1::text[])", 1, p);
    pg_array_free(&ids);
    return res;
}

/* jsonb's key order, which the totals object has always had: shorter keys
 * first, equal lengths bytewise. */
typedef struct analytics_kv {
    char key[160];
    int64_t v;
} analytics_kv;

static int analytics_kv_cmp(const void *a, const void *b)
{
    const analytics_kv *x = a, *y = b;
    size_t lx = strlen(x->key), ly = strlen(y->key);
    return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x->key, y->key);
}

/* why: the totals' keys are the fixed figures and one per event type; a
 * type may repeat a fixed key (`total`), and then, as jsonb's || did, the
 * type's count wins. */
static void analytics_sum_totals(const analytics_sum *s, buf *b)
{
    size_t n = 0, cap = 8 + s->ntype;
    analytics_kv *kv = xcalloc(cap, sizeof *kv);
#define KV(k, val)                                                                                 \
    do {                                                                                           \
        size_t at_ = n;                                                                            \
        for (size_t q_ = 0; q_ < n; q_++)                                                          \
            if (!strcmp(kv[q_].key, (k)))                                                          \
                at_ = q_;                                                                          \
        snprintf(kv[at_].key, sizeof kv[at_].key, "%s", (k));                                      \
        kv[at_].v = (val);                                                                         \
        n += at_ == n;                                                                             \
    } while (0)
    char key[160];
    KV("violations_total", s->vtotal);
    KV("events_total", s->events);
    KV("cameras_active", s->active);
    for (int j = 0; j < 4; j++) {
        snprintf(key, sizeof key, "violations_%s", analytics_statuses[j]);
        KV(key, s->vstatus[j]);
    }
    bool fall = false;
    for (size_t i = 0; i < s->ntype; i++) {
        snprintf(key, sizeof key, "events_%s", s->type[i].name);
        KV(key, s->type[i].n);
        fall = fall || !strcmp(s->type[i].name, "fall_detected");
    }
    if (!fall)
        KV("events_fall_detected", 0);
#undef KV
    qsort(kv, n, sizeof *kv, analytics_kv_cmp);
    buf_append_byte(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_append_str(b, ", ");
        jsonw_str(b, kv[i].key);
        buf_append_str(b, ": ");
        jsonw_int(b, kv[i].v);
    }
    buf_append_byte(b, '}');
    free(kv);
}

/* A double as PostgreSQL's float8 output writes it (the shortest digits
 * that read back the same), which row_to_json used. */
static void analytics_float8(buf *b, double v)
{
    char t[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v)
            break;
    }
    buf_append_str(b, t);
}

static int analytics_cam_cmp(const void *a, const void *b)
{
    const analytics_cam *x = *(const analytics_cam *const *)a,
                        *y = *(const analytics_cam *const *)b;
    if (x->events != y->events)
        return x->events > y->events ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* by_camera as json_agg of rows wrote it: compact members, ", \n " between
 * elements; ordered by events, then camera id. */
static void analytics_sum_cameras(analytics_sum *s, buf *b, const PGresult *names)
{
    for (int i = 0; i < PQntuples(names); i++)
        analytics_sum_cam(s, PQgetvalue(names, i, 0))->name = PQgetvalue(names, i, 1);
    analytics_cam **v = xmalloc((s->ncam ? s->ncam : 1) * sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < s->ncap; i++)
        if (s->cam[i].id)
            v[n++] = &s->cam[i];
    qsort(v, n, sizeof *v, analytics_cam_cmp);
    buf_append_byte(b, '[');
    for (size_t i = 0; i < n; i++) {
        const analytics_cam *c = v[i];
        buf_append_str(b, i ? ", \n {\"camera_id\":" : "{\"camera_id\":");
        jsonw_str(b, c->id);
        buf_append_str(b, ",\"camera_name\":");
        jsonw_str(b, c->name ? c->name : c->id);
        buf_printf(b, ",\"violations_total\":%lld,\"violations_open\":%lld,\"events_total\":%lld",
                   (long long)c->vtotal, (long long)c->vopen, (long long)c->events);
        buf_append_str(b, ",\"last_event_at\":");
        if (c->le_us == INT64_MIN)
            buf_append_str(b, "null");
        else
            jsonw_time_us(b, c->le_us);
        buf_append_str(b, ",\"max_confidence\":");
        if (c->seen)
            analytics_float8(b, c->mc);
        else
            buf_append_str(b, "null");
        buf_append_byte(b, '}');
    }
    buf_append_byte(b, ']');
    free(v);
}

static void analytics_sum_write(analytics_sum *s, buf *b, const analytics_range *g,
                                const char *gran, const char *camera, const PGresult *names)
{
    buf_printf(b, "{\"summary\" : {\"time_range\" : {\"from\" : \"%s\", \"to\" : \"%s\"}",
               g->from_txt, g->to_txt);
    buf_printf(b, ", \"granularity\" : \"%s\", \"camera_id\" : ", gran);
    if (camera)
        jsonw_str(b, camera);
    else
        buf_append_str(b, "null");
    buf_append_str(b, ", \"totals\" : ");
    analytics_sum_totals(s, b);
    buf_append_str(b, ", \"by_camera\" : ");
    analytics_sum_cameras(s, b, names);
    buf_append_str(b, ", \"time_series\" : [");
    for (size_t k = 0; k < s->nbuckets; k++) {
        buf_append_str(b, k ? ", {\"bucket\" : " : "{\"bucket\" : ");
        jsonw_time_us(b, (s->b0_s + (int64_t)k * s->width_s) * 1000000);
        buf_printf(b, ", \"violations\" : %lld, \"events\" : %lld}", (long long)s->bvio[k],
                   (long long)s->bev[k]);
    }
    buf_printf(b, "]}, \"generated_at\" : \"%s\"}", g->now_txt);
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
    analytics_sum s;
    analytics_sum_init(&s, &g, (int64_t)bucket);
    analytics_sum_rows(&s, res);
    PGresult *names = analytics_sum_names(r, &s);
    if (names) {
        buf b = {0};
        analytics_sum_write(&s, &b, &g, gran, camera, names);
        api_json_text(r, 200, (const char *)b.data, b.len);
        buf_free(&b);
        PQclear(names);
    }
    analytics_sum_free(&s);
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
