/* api_models.c - GET /models/status and the runtimes' capability
 * declarations (POST /internal/runtime/register and its aliases).
 *
 * Models status reads what ruth-worker keeps per model and camera
 * (model_rollups per minute, model_cameras running totals; migration 0009)
 * and the runtimes' declarations, never raw events: its cost follows the
 * number of models and cameras, not the event rate. Recent figures
 * (throughput, latency, error rate, active cameras) cover the window
 * MODELS_WINDOW: the current minute and the four before it. */
#include "api.h"
#include "api_handlers.h"

#include "latency_hist.h"
#include "runtime_registry.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A runtime that checked in within this long is live (the runtime design
 * re-registers every 30 s). */
#define MODELS_LIVE "interval '90 seconds'"
#define MODELS_WINDOW "date_trunc('minute', now()) - interval '4 minutes'"

/* One row per model: declared by a runtime or seen in results. */
static const char models_sql[] =
    "WITH mc AS (SELECT model_id, sum(frames_total) AS frames, sum(errors_total) AS errors,"
    "   min(first_inference_at) AS first_at, max(last_inference_at) AS last_at,"
    "   count(*) FILTER (WHERE last_inference_at >= " MODELS_WINDOW ") AS cams,"
    "   (array_agg(model_version ORDER BY last_inference_at DESC)"
    "     FILTER (WHERE model_version IS NOT NULL))[1] AS version"
    "   FROM model_cameras GROUP BY 1),"
    " mr AS (SELECT model_id, sum(frames) AS frames, sum(errors) AS errors,"
    "   sum(latency_sum_ms) AS ls, sum(latency_count) AS lc, max(latency_max_ms) AS lx"
    "   FROM model_rollups WHERE minute >= " MODELS_WINDOW " GROUP BY 1),"
    " mh AS (SELECT model_id, array_agg(s ORDER BY i)::text AS hist FROM ("
    "   SELECT model_id, i, sum(v) AS s FROM model_rollups,"
    "          unnest(latency_hist) WITH ORDINALITY AS h(v, i)"
    "    WHERE minute >= " MODELS_WINDOW " GROUP BY 1, 2) x GROUP BY 1),"
    " rt AS (SELECT m AS model_id, bool_or(r.last_seen > now() - " MODELS_LIVE ") AS live,"
    "   min(r.registered_at) FILTER (WHERE r.last_seen > now() - " MODELS_LIVE ") AS started,"
    "   (array_agg(d.e ORDER BY r.last_seen DESC) FILTER (WHERE d.e IS NOT NULL))[1] AS entry"
    "   FROM runtimes r CROSS JOIN LATERAL unnest(r.supported_models) m"
    "   LEFT JOIN LATERAL (SELECT x FROM jsonb_array_elements(r.models) x"
    "     WHERE jsonb_typeof(x) = 'object' AND x->>'model_id' = m LIMIT 1) d(e) ON true"
    "   GROUP BY 1),"
    " ids AS (SELECT model_id FROM mc UNION SELECT model_id FROM rt)"
    " SELECT ids.model_id, coalesce(rt.entry->>'version', mc.version), rt.entry->>'state',"
    "  rt.entry->>'health', coalesce(rt.live, false), coalesce(mr.frames, 0),"
    "  coalesce(mr.errors, 0), coalesce(mr.ls, 0), coalesce(mr.lc, 0), coalesce(mr.lx, 0),"
    "  mh.hist, coalesce(mc.frames, 0), coalesce(mc.errors, 0), coalesce(mc.cams, 0),"
    "  ruth_time(mc.last_at), ruth_time(coalesce(rt.started, mc.first_at)),"
    "  extract(epoch FROM now() - (" MODELS_WINDOW ")),"
    "  (SELECT count(DISTINCT camera_id) FROM model_cameras"
    "    WHERE last_inference_at >= " MODELS_WINDOW ")"
    " FROM ids LEFT JOIN mc USING (model_id) LEFT JOIN mr USING (model_id)"
    " LEFT JOIN mh USING (model_id) LEFT JOIN rt USING (model_id) ORDER BY 1";

static const char runtimes_sql[] =
    "SELECT coalesce(json_agg(json_build_object('runtime_id', runtime_id,"
    "  'supports_gpu', supports_gpu, 'hardware_type', hardware_type,"
    "  'supported_models', to_json(supported_models), 'max_fps', max_fps,"
    "  'max_concurrent_streams', max_concurrent_streams,"
    "  'inference_batch_size', inference_batch_size, 'memory_available_mb', memory_available_mb,"
    "  'version', version, 'registered_at', ruth_time(registered_at),"
    "  'last_seen_at', ruth_time(last_seen), 'live', last_seen > now() - " MODELS_LIVE ")"
    "  ORDER BY runtime_id), '[]')::text, ruth_time(now()) FROM runtimes";

/* The contract's status from a runtime's declared state (the runtime
 * design's DISCOVERED..UNLOADED, or the contract's own words); NULL when
 * the state says nothing beyond "loaded". */
static const char *models_declared_status(const char *state)
{
    static const char *const map[][2] = {{"starting", "starting"},   {"discovered", "starting"},
                                         {"validating", "starting"}, {"loading", "starting"},
                                         {"stopping", "stopping"},   {"unloading", "stopping"},
                                         {"unloaded", "stopping"},   {"error", "error"},
                                         {"failed", "error"},        {"invalid", "error"}};
    for (size_t i = 0; state && i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(state, map[i][0]))
            return map[i][1];
    return NULL;
}

static int models_health_rank(const char *h)
{
    return !h                            ? -1
           : !strcasecmp(h, "healthy")   ? 0
           : !strcasecmp(h, "degraded")  ? 1
           : !strcasecmp(h, "unhealthy") ? 2
                                         : -1;
}

/* The runtime design's criteria: error rate under 1 % healthy, up to 10 %
 * degraded, above unhealthy; a model in error, or with no results and no
 * live runtime declaring it, is not responding (unhealthy); a runtime's
 * own worse verdict wins. */
static const char *models_health(const char *status, int64_t frames, int64_t errors, bool live,
                                 const char *declared)
{
    static const char *const names[] = {"healthy", "degraded", "unhealthy"};
    int rank = 0;
    if (!strcmp(status, "error"))
        rank = 2;
    else if (frames > 0) {
        double rate = (double)errors / (double)frames;
        rank = rate > 0.10 ? 2 : rate >= 0.01 ? 1 : 0;
    } else if (!live)
        rank = 2;
    int d = models_health_rank(declared);
    return names[d > rank ? d : rank];
}

static double models_round(double v, double unit)
{
    return round(v / unit) * unit;
}

/* p99 from the window's histogram ("{1,2,...}"), NULL when none. */
static json_t *models_p99(const char *hist, double max_ms)
{
    int64_t counts[LATENCY_HIST_N] = {0};
    const char *p = hist ? strchr(hist, '{') : NULL;
    for (int i = 0; p && *p && i < LATENCY_HIST_N; i++) {
        char *end;
        counts[i] = strtoll(p + 1, &end, 10);
        p = strchr(end, ',');
    }
    double q = latency_hist_quantile(counts, 0.99, max_ms);
    return q < 0 ? json_null() : json_real(models_round(q, 0.1));
}

static json_t *models_entry(const PGresult *res, int i, bool *healthy)
{
#define S(c) (PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c))
#define I(c) strtoll(PQgetvalue(res, i, c), NULL, 10)
#define D(c) strtod(PQgetvalue(res, i, c), NULL)
    bool live = PQgetvalue(res, i, 4)[0] == 't';
    int64_t wframes = I(5), werrors = I(6), lcount = I(8);
    double window_s = D(16);
    const char *status = models_declared_status(S(2));
    if (!status)
        status = wframes > 0 ? "active" : "idle";
    const char *health = models_health(status, wframes, werrors, live, S(3));
    *healthy = !strcmp(health, "healthy");
    json_t *metrics = json_pack(
        "{s:o, s:o, s:f, s:I, s:I}", "inference_latency_ms_avg",
        lcount > 0 ? json_real(models_round(D(7) / (double)lcount, 0.1)) : json_null(),
        "inference_latency_ms_p99", lcount > 0 ? models_p99(S(10), D(9)) : json_null(),
        "throughput_fps", window_s > 0 ? models_round((double)wframes / window_s, 0.01) : 0.0,
        "frames_processed_total", (json_int_t)I(11), "errors_total", (json_int_t)I(12));
    return json_pack("{s:s, s:s?, s:s, s:s, s:o, s:I, s:s?, s:s?}", "model_id", S(0), "version",
                     S(1), "status", status, "health", health, "metrics", metrics, "cameras_active",
                     (json_int_t)I(13), "last_inference_at", S(14), "started_at", S(15));
#undef S
#undef I
#undef D
}

void h_models_status(api_req *r)
{
    PGresult *res = api_query(r, true, models_sql, 0, NULL);
    if (!res)
        return;
    json_t *models = json_array();
    int healthy = 0, n = PQntuples(res);
    json_int_t cameras = n ? (json_int_t)strtoll(PQgetvalue(res, 0, 17), NULL, 10) : 0;
    for (int i = 0; i < n; i++) {
        bool ok;
        json_array_append_new(models, models_entry(res, i, &ok));
        healthy += ok;
    }
    PQclear(res);
    res = api_query(r, true, runtimes_sql, 0, NULL);
    if (!res) {
        json_decref(models);
        return;
    }
    json_t *runtimes = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    json_t *body =
        json_pack("{s:o, s:{s:i, s:i, s:I}, s:o, s:s}", "models", models, "summary", "total_models",
                  n, "healthy_models", healthy, "total_cameras_processed", cameras, "runtimes",
                  runtimes ? runtimes : json_array(), "generated_at", PQgetvalue(res, 0, 1));
    PQclear(res);
    api_json_steal(r, 200, body);
}

/* POST /internal/runtime/register (and /api/internal/runtime/register,
 * /api/internal/register: the paths the runtime design and the system
 * architecture give): validation and upsert are common/runtime_registry's,
 * which ruth-ingest calls too. 201 for a new runtime, 200 for a heartbeat
 * of a known one. */
void h_runtime_register(api_req *r)
{
    json_t *body = api_body_object(r); /* size, depth and UTF-8 checks */
    if (!body)
        return;
    json_decref(body);
    PGconn *db = api_db(r, false);
    if (!db)
        return;
    runtime_registry_result out = {0};
    char err[1024];
    int rc = runtime_registry_store_ex(db, (const char *)r->body.data, r->body.len, &out, err,
                                       sizeof err);
    if (rc == RUNTIME_REGISTRY_STORED)
        api_json_text(r, out.created ? 201 : 200, out.answer, strlen(out.answer));
    else if (rc == RUNTIME_REGISTRY_INVALID) {
        bool missing = out.missing_only;
        api_error(r, 400, missing ? "MISSING_REQUIRED_FIELD" : "VALIDATION_ERROR",
                  json_incref(out.details), "invalid capability declaration: %s", err);
    } else
        api_db_error(r, "runtime registration", err);
    runtime_registry_result_free(&out);
}
