/* api_devices.c - cameras and inference start/stop (model status and
 * runtime registration: api_models.c).
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
