/* api_devices.c - cameras, inference start/stop, model status and runtime
 * registration.
 *
 * Devices are the cameras the pipeline knows: registered from VAS or
 * discovered from inference results (discovered = true). Their 24-hour
 * statistics come from the rollups and the violations table. */
#include "api.h"
#include "api_handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_JSON                                                                                \
    "json_build_object('id', c.id, 'vas_device_id', c.vas_device_id, 'name', c.name,"              \
    " 'location', c.location, 'stream_id', c.stream_id, 'active', c.active,"                       \
    " 'discovered', c.discovered, 'inference_active', c.inference_active,"                         \
    " 'inference_model_id', c.inference_model_id,"                                                 \
    " 'inference_started_at', c.inference_started_at, 'metadata', c.metadata,"                     \
    " 'created_at', c.created_at, 'updated_at', c.updated_at,"                                     \
    " 'stats_24h', json_build_object("                                                             \
    "   'events', (SELECT coalesce(sum(er.count), 0) FROM event_rollups er"                        \
    "               WHERE er.camera_id = c.id AND er.minute >= now() - interval '24 hours'),"      \
    "   'violations', (SELECT count(*) FROM violations v"                                          \
    "               WHERE v.camera_id = c.id AND v.created_at >= now() - interval '24 hours'),"    \
    "   'open_violations', (SELECT count(*) FROM violations v"                                     \
    "               WHERE v.camera_id = c.id AND v.status = 'open'),"                              \
    "   'last_event_at', (SELECT e.\"timestamp\" FROM events e WHERE e.camera_id = c.id"           \
    "               ORDER BY e.\"timestamp\" DESC LIMIT 1)))::text"

void h_devices_list(api_req *r)
{
    const char *active = NULL, *inference = NULL, *discovered = NULL;
    param_bool(r, "active", &active);
    param_bool(r, "inference_active", &inference);
    param_bool(r, "discovered", &discovered);
    api_page pg;
    list_page(r, 50, 100, "d", 's', &pg);
    if (pg.keyset)
        param_invalid(r, "cursor", "device lists page by offset only");
    if (param_reject(r))
        return;
    sqlw w = {0};
    sqlw_add(&w, "c.active = $?::bool", active);
    sqlw_add(&w, "c.inference_active = $?::bool", inference);
    sqlw_add(&w, "c.discovered = $?::bool", discovered);
    char fw[512];
    bool exact;
    long long total = list_total(r, "cameras c", &w, fw, sizeof fw, &exact);
    if (total < 0)
        return;
    char sql[4096];
    snprintf(sql, sizeof sql, "SELECT " DEVICE_JSON ", c.id, c.id FROM cameras c%s ORDER BY c.id",
             sqlw_sql(&w));
    /* Offset paging only: no cursor is issued for devices. */
    list_fetch(r, "devices", &w, &pg, NULL, total, exact, sql);
}

static bool device_respond(api_req *r, const char *id, bool read_only)
{
    const char *p[1] = {id};
    PGresult *res =
        api_query(r, read_only, "SELECT " DEVICE_JSON " FROM cameras c WHERE c.id = $1", 1, p);
    if (!res)
        return false;
    bool found = PQntuples(res) > 0;
    if (found)
        api_json_row(r, 200, res);
    else
        api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "device %s is not known", id);
    PQclear(res);
    return found;
}

void h_device_get(api_req *r)
{
    device_respond(r, r->seg[1], true);
}

void h_device_start(api_req *r)
{
    const char *id = r->seg[1];
    const char *model = NULL;
    json_t *body = NULL;
    if (r->body.len) {
        body = api_body_object(r);
        if (!body)
            return;
        param_known_fields(r, body, "model_id");
        json_t *m = json_object_get(body, "model_id");
        if (m && !json_is_null(m)) {
            model = json_string_value(m);
            if (!model || !*model || strlen(model) > 200) {
                param_invalid(r, "model_id", "must be a non-empty string of at most 200 bytes");
                model = NULL;
            }
        }
        if (param_reject(r)) {
            json_decref(body);
            return;
        }
    }
    const char *p[2] = {id, model};
    PGresult *res = api_query(r, false,
                              "UPDATE cameras SET inference_active = true,"
                              " inference_model_id = coalesce($2, inference_model_id),"
                              " inference_started_at = now()"
                              " WHERE id = $1 AND NOT inference_active RETURNING id",
                              2, p);
    json_decref(body);
    if (!res)
        return;
    int n = PQntuples(res);
    PQclear(res);
    if (n == 1) {
        device_respond(r, id, false);
        return;
    }
    res = api_query(r, false, "SELECT inference_model_id FROM cameras WHERE id = $1", 1, p);
    if (!res)
        return;
    if (PQntuples(res) == 0)
        api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "device %s is not known", id);
    else
        api_error(r, 409, "INFERENCE_ALREADY_ACTIVE",
                  json_pack("{s:s, s:s?}", "id", id, "inference_model_id",
                            PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0)),
                  "inference is already running on device %s", id);
    PQclear(res);
}

void h_device_stop(api_req *r)
{
    const char *id = r->seg[1];
    const char *p[1] = {id};
    PGresult *res = api_query(r, false,
                              "UPDATE cameras SET inference_active = false,"
                              " inference_started_at = NULL"
                              " WHERE id = $1 AND inference_active RETURNING id",
                              1, p);
    if (!res)
        return;
    int n = PQntuples(res);
    PQclear(res);
    if (n == 1) {
        device_respond(r, id, false);
        return;
    }
    res = api_query(r, false, "SELECT 1 FROM cameras WHERE id = $1", 1, p);
    if (!res)
        return;
    if (PQntuples(res) == 0)
        api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "device %s is not known", id);
    else
        api_error(r, 404, "INFERENCE_NOT_ACTIVE", json_pack("{s:s}", "id", id),
                  "inference is not running on device %s", id);
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
