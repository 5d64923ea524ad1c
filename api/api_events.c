/* api_events.c - GET /events and GET /events/{id}.
 *
 * events is partitioned by day on "timestamp"; time-range filters prune
 * partitions and the (camera_id, timestamp) and (event_type, timestamp)
 * indexes serve the common filtered lists. */
#include "api.h"
#include "api_handlers.h"

#include <stdio.h>
#include <string.h>

/* Times through ruth_time() (the contract's format); camera_name is the
 * camera's display name, its id when it has none. */
#define EVENT_FIELDS                                                                               \
    "'id', e.id, 'camera_id', e.camera_id,"                                                        \
    " 'camera_name', coalesce((SELECT c.name FROM cameras c WHERE c.id = e.camera_id),"            \
    "   e.camera_id), 'stream_id', e.stream_id,"                                                   \
    " 'event_type', e.event_type, 'type_detail', e.type_detail, 'confidence', e.confidence,"       \
    " 'timestamp', ruth_time(e.\"timestamp\"), 'model_id', e.model_id,"                            \
    " 'model_version', e.model_version, 'bounding_boxes', e.bounding_boxes, 'frame_id', "          \
    "e.frame_id,"                                                                                  \
    " 'inference_time_ms', e.inference_time_ms, 'runtime_id', e.runtime_id,"                       \
    " 'error_code', e.error_code, 'error_message', e.error_message,"                               \
    " 'attributes', e.attributes, 'metadata', e.metadata, 'extra', e.extra,"                       \
    " 'violation_id', e.violation_id, 'zones', e.zones, 'created_at', ruth_time(e.created_at)"

void h_events_list(api_req *r)
{
    const char *type = param_str(r, "event_type"), *camera = param_str(r, "camera_id");
    const char *zone = param_str(r, "zone");
    const char *violation = NULL, *order = "desc";
    char from[48] = "", to[48] = "", conf[32] = "";
    double cmin = 0;
    bool has_cmin;
    param_uuid(r, "violation_id", &violation);
    param_time(r, "from", from, sizeof from);
    param_time(r, "to", to, sizeof to);
    param_double(r, "confidence_min", 0, 1, &cmin, &has_cmin);
    param_enum(r, "sort_order", "asc|desc", &order);
    char tag[16];
    snprintf(tag, sizeof tag, "e:%s", order);
    api_page pg;
    list_page(r, 100, 1000, tag, 'i', &pg);
    if (param_reject(r))
        return;
    if (has_cmin)
        snprintf(conf, sizeof conf, "%.17g", cmin);
    bool desc = !strcmp(order, "desc");

    sqlw w = {0};
    sqlw_add(&w, "e.event_type = $?", type);
    sqlw_add(&w, "e.camera_id = $?", camera);
    sqlw_add(&w, "e.violation_id = $?::uuid", violation);
    sqlw_add(&w, "e.zones @> ARRAY[$?::text]", zone);
    sqlw_add(&w, "e.\"timestamp\" >= $?::timestamptz", from[0] ? from : NULL);
    sqlw_add(&w, "e.\"timestamp\" < $?::timestamptz", to[0] ? to : NULL);
    sqlw_add(&w, "e.confidence >= $?::float8", conf[0] ? conf : NULL);
    char fw[1024];
    bool exact;
    long long total = list_total(r, "events e", &w, fw, sizeof fw, &exact);
    if (total < 0)
        return;
    if (pg.keyset)
        sqlw_add2(&w,
                  desc ? "(e.\"timestamp\", e.id) < ('epoch'::timestamptz + $?::bigint * interval "
                         "'1 microsecond', $?::uuid)"
                       : "(e.\"timestamp\", e.id) > ('epoch'::timestamptz + $?::bigint * interval "
                         "'1 microsecond', $?::uuid)",
                  pg.after_key, pg.after_id);
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT json_build_object(" EVENT_FIELDS ")::text,"
             " (extract(epoch FROM e.\"timestamp\") * 1000000)::bigint::text, e.id::text"
             " FROM events e%s ORDER BY e.\"timestamp\" %s, e.id %s",
             sqlw_sql(&w), order, order);
    list_fetch(r, "events", &w, &pg, tag, total, exact, sql);
}

void h_event_get(api_req *r)
{
    const char *id = api_path_uuid(r, 1, "event");
    if (!id)
        return;
    const char *p[1] = {id};
    PGresult *res = api_query(
        r, true, "SELECT json_build_object(" EVENT_FIELDS ")::text FROM events e WHERE e.id = $1",
        1, p);
    if (!res)
        return;
    if (PQntuples(res) == 0)
        api_error(r, 404, "EVENT_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "event %s does not exist", id);
    else
        api_json_row(r, 200, res);
    PQclear(res);
}
