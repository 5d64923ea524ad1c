/* api_devices.c - cameras (inference start/stop: api_inference.c; model
 * status and runtime registration: api_models.c).
 *
 * Devices are the cameras the pipeline knows: registered from VAS or
 * discovered from inference results (discovered = true). Their 24-hour
 * statistics come from the rollups and the violations table. */
#include "api.h"
#include "api_handlers.h"

#include <stdbool.h>
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
    " 'offline_after_seconds', c.offline_after_seconds, 'frame_width', c.frame_width,"             \
    " 'frame_height', c.frame_height,"                                                             \
    " 'offline', EXISTS (SELECT 1 FROM violations o WHERE o.camera_id = c.id"                      \
    "   AND o.type = 'camera_offline' AND o.ended_at IS NULL),"                                    \
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
    api_devices_answer(r, true);
}

void api_devices_answer(api_req *r, bool replica)
{
    const char *id = r->seg[1];
    const char *p[1] = {id};
    PGresult *res = api_query(
        r, replica, "SELECT " DEVICE_JSON " FROM cameras c" DEVICE_STATS " WHERE c.id = $1", 1, p);
    if (!res)
        return;
    if (PQntuples(res) > 0)
        api_json_row(r, 200, res);
    else
        api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "device %s is not known", id);
    PQclear(res);
}
