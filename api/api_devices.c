/* api_devices.c - cameras, model status and runtime registration
 * (inference start/stop: api_inference.c).
 *
 * Devices are the cameras the pipeline knows: registered from VAS or
 * discovered from inference results (discovered = true). Their 24-hour
 * statistics come from the rollups and the violations table. */
#include "api.h"
#include "api_handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The contract's device (§1.6): is_active, description, streaming{} and
 * statistics{}; the fields before them (active, inference_*, stats_24h)
 * stay for existing clients. streaming.state is VAS's stream state as the
 * camera sync last saw it, lower case ("live"); streaming.active whether
 * that is live. Times through ruth_time(). */
#define DEVICE_JSON                                                                                \
    "json_build_object('id', c.id, 'vas_device_id', c.vas_device_id, 'name', c.name,"              \
    " 'description', c.description, 'location', c.location, 'stream_id', c.stream_id,"             \
    " 'is_active', c.active, 'active', c.active,"                                                  \
    " 'discovered', c.discovered, 'inference_active', c.inference_active,"                         \
    " 'inference_model_id', c.inference_model_id,"                                                 \
    " 'inference_started_at', ruth_time(c.inference_started_at), 'metadata', c.metadata,"          \
    " 'streaming', json_build_object("                                                             \
    "   'active', coalesce(upper(c.stream_state) = 'LIVE', false), 'stream_id', c.stream_id,"      \
    "   'state', lower(c.stream_state), 'ai_enabled', c.inference_active,"                         \
    "   'model_id', c.inference_model_id, 'inference_fps', c.inference_fps,"                       \
    "   'confidence_threshold', c.inference_confidence_threshold,"                                 \
    "   'started_at', ruth_time(c.inference_started_at)),"                                         \
    " 'statistics', json_build_object('violations_24h', st.violations, 'events_24h', st.events,"   \
    "   'last_violation_at', ruth_time(st.last_violation_at)),"                                    \
    " 'created_at', ruth_time(c.created_at), 'updated_at', ruth_time(c.updated_at),"               \
    " 'stats_24h', json_build_object('events', st.events, 'violations', st.violations,"            \
    "   'open_violations', st.open_violations, 'last_event_at', "                                  \
    "ruth_time(st.last_event_at)))::text"

/* The statistics of camera `c`, one row (LATERAL). */
#define DEVICE_STATS                                                                               \
    " CROSS JOIN LATERAL (SELECT"                                                                  \
    "   (SELECT coalesce(sum(er.count), 0) FROM event_rollups er"                                  \
    "     WHERE er.camera_id = c.id AND er.minute >= now() - interval '24 hours') AS events,"      \
    "   (SELECT count(*) FROM violations v"                                                        \
    "     WHERE v.camera_id = c.id AND v.created_at >= now() - interval '24 hours') AS "           \
    "violations,"                                                                                  \
    "   (SELECT count(*) FROM violations v"                                                        \
    "     WHERE v.camera_id = c.id AND v.status = 'open') AS open_violations,"                     \
    "   (SELECT max(v.created_at) FROM violations v WHERE v.camera_id = c.id)"                     \
    "     AS last_violation_at,"                                                                   \
    "   (SELECT e.\"timestamp\" FROM events e WHERE e.camera_id = c.id"                            \
    "     ORDER BY e.\"timestamp\" DESC LIMIT 1) AS last_event_at) st"

void h_devices_list(api_req *r)
{
    const char *active = NULL, *is_active = NULL, *inference = NULL, *discovered = NULL;
    param_bool(r, "is_active", &is_active);
    param_bool(r, "active", &active);
    param_bool(r, "inference_active", &inference);
    param_bool(r, "discovered", &discovered);
    api_page pg;
    list_page(r, 100, 100, "d", 's', &pg);
    if (pg.keyset)
        param_invalid(r, "cursor", "device lists page by offset only");
    if (is_active && active && strcmp(is_active, active))
        param_invalid(r, "active", "contradicts is_active (they are the same filter)");
    if (param_reject(r))
        return;
    sqlw w = {0};
    sqlw_add(&w, "c.active = $?::bool", is_active ? is_active : active);
    sqlw_add(&w, "c.inference_active = $?::bool", inference);
    sqlw_add(&w, "c.discovered = $?::bool", discovered);
    char fw[512];
    bool exact;
    long long total = list_total(r, "cameras c", &w, fw, sizeof fw, &exact);
    if (total < 0)
        return;
    char sql[6144];
    snprintf(sql, sizeof sql,
             "SELECT " DEVICE_JSON ", c.id, c.id FROM cameras c" DEVICE_STATS "%s ORDER BY c.id",
             sqlw_sql(&w));
    /* Offset paging only: no cursor is issued for devices. */
    list_fetch(r, "devices", &w, &pg, NULL, total, exact, sql);
}

void h_device_get(api_req *r)
{
    const char *id = r->seg[1];
    const char *p[1] = {id};
    PGresult *res = api_query(
        r, true, "SELECT " DEVICE_JSON " FROM cameras c" DEVICE_STATS " WHERE c.id = $1", 1, p);
    if (!res)
        return;
    if (PQntuples(res) > 0)
        api_json_row(r, 200, res);
    else
        api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "device %s is not known", id);
    PQclear(res);
}

/* Models: declared by runtimes (models[] of their registration), seen in the
 * last hour of events, or assigned to cameras. A model is `active` when it
 * produced events in the last hour, `idle` when a runtime declaring it
 * checked in within 5 minutes, `offline` otherwise. */
void h_models_status(api_req *r)
{
    static const char sql[] =
        "WITH rm AS ("
        "  SELECT coalesce(m->>'model_id', m->>'id', m#>>'{}') AS model_id, m->>'version' AS"
        "         version, rt.runtime_id, rt.name, rt.endpoint, rt.last_seen"
        "    FROM runtimes rt, jsonb_array_elements(rt.models) m),"
        " ev AS ("
        "  SELECT model_id, count(*) AS events, max(\"timestamp\") AS last_event_at,"
        "         count(DISTINCT camera_id) AS cameras"
        "    FROM events WHERE \"timestamp\" >= now() - interval '1 hour' GROUP BY 1),"
        " ids AS (SELECT model_id FROM rm UNION SELECT model_id FROM ev"
        "         UNION SELECT inference_model_id FROM cameras"
        "          WHERE inference_active AND inference_model_id IS NOT NULL)"
        " SELECT json_build_object('models', coalesce(json_agg(json_build_object("
        "   'model_id', ids.model_id,"
        "   'status', CASE WHEN ev.events > 0 THEN 'active'"
        "                  WHEN EXISTS (SELECT 1 FROM rm WHERE rm.model_id = ids.model_id"
        "                                 AND rm.last_seen > now() - interval '5 minutes')"
        "                  THEN 'idle' ELSE 'offline' END,"
        "   'events_last_hour', coalesce(ev.events, 0),"
        "   'cameras_last_hour', coalesce(ev.cameras, 0),"
        "   'last_event_at', ev.last_event_at,"
        "   'cameras_assigned', (SELECT count(*) FROM cameras c WHERE c.inference_active"
        "                          AND c.inference_model_id = ids.model_id),"
        "   'runtimes', (SELECT coalesce(json_agg(json_build_object('runtime_id', rm.runtime_id,"
        "                  'name', rm.name, 'endpoint', rm.endpoint, 'version', rm.version,"
        "                  'last_seen', rm.last_seen) ORDER BY rm.runtime_id), '[]')"
        "                  FROM rm WHERE rm.model_id = ids.model_id)"
        "   ) ORDER BY ids.model_id), '[]'), 'generated_at', now())::text"
        " FROM ids LEFT JOIN ev USING (model_id)";
    PGresult *res = api_query(r, true, sql, 0, NULL);
    if (!res)
        return;
    api_json_row(r, 200, res);
    PQclear(res);
}

static bool short_string(api_req *r, json_t *body, const char *name, bool required,
                         const char **out)
{
    json_t *v = json_object_get(body, name);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            param_invalid(r, name, "is required");
        return !required;
    }
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > 200) {
        param_invalid(r, name, "must be a non-empty string of at most 200 bytes");
        return false;
    }
    *out = s;
    return true;
}

void h_runtime_register(api_req *r)
{
    json_t *body = api_body_object(r);
    if (!body)
        return;
    param_known_fields(r, body, "runtime_id|name|version|endpoint|capabilities|models");
    const char *id, *name, *version, *endpoint;
    short_string(r, body, "runtime_id", true, &id);
    short_string(r, body, "name", false, &name);
    short_string(r, body, "version", false, &version);
    short_string(r, body, "endpoint", false, &endpoint);
    json_t *caps = json_object_get(body, "capabilities");
    if (caps && !json_is_object(caps))
        param_invalid(r, "capabilities", "must be an object");
    json_t *models = json_object_get(body, "models");
    size_t i;
    json_t *m;
    if (models && !json_is_array(models))
        param_invalid(r, "models", "must be an array");
    json_array_foreach(models, i, m)
    {
        const char *mid = json_is_string(m) ? json_string_value(m)
                                            : json_string_value(json_object_get(m, "model_id"));
        if (!mid || !*mid) {
            param_invalid(r, "models",
                          "each model is a model id string or an object with a "
                          "string model_id");
            break;
        }
    }
    if (param_reject(r)) {
        json_decref(body);
        return;
    }
    char *cj = caps ? json_dumps(caps, JSON_COMPACT) : NULL;
    char *mj = models ? json_dumps(models, JSON_COMPACT) : NULL;
    const char *p[6] = {id, name, version, endpoint, cj ? cj : "{}", mj ? mj : "[]"};
    PGresult *res = api_query(
        r, false,
        "INSERT INTO runtimes AS rt (runtime_id, name, version, endpoint, capabilities, models)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)"
        " ON CONFLICT (runtime_id) DO UPDATE SET name = EXCLUDED.name,"
        "   version = EXCLUDED.version, endpoint = EXCLUDED.endpoint,"
        "   capabilities = EXCLUDED.capabilities, models = EXCLUDED.models, last_seen = now()"
        " RETURNING json_build_object('runtime_id', runtime_id, 'name', name, 'version', version,"
        "   'endpoint', endpoint, 'capabilities', capabilities, 'models', models,"
        "   'registered_at', registered_at, 'last_seen', last_seen)::text, (xmax = 0)",
        6, p);
    free(cj);
    free(mj);
    json_decref(body);
    if (!res)
        return;
    bool created = PQgetvalue(res, 0, 1)[0] == 't';
    api_json_row(r, created ? 201 : 200, res);
    PQclear(res);
}
