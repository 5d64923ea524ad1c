/* api_events.c - GET /events and GET /events/{id}.
 *
 * events is partitioned by day on "timestamp"; time-range filters prune
 * partitions and the (camera_id, timestamp) and (event_type, timestamp)
 * indexes serve the common filtered lists. */
#include "api.h"
#include "api_handlers.h"
#include "api_rowjson.h"

#include <stdio.h>
#include <string.h>

/* The event body: PostgreSQL returns plain columns (EVENT_COLS, in this
 * order) and event_item() writes the JSON, over EVENT_FROM. Times in the
 * contract's format; camera_name is the camera's display name, its id when
 * it has none. A join rather than a subquery per row: PostgreSQL memoizes
 * the camera lookups (a page of one camera's events looks it up once). */
#define EVENT_COLS                                                                                 \
    "e.id, e.camera_id,"                                                                           \
    " coalesce(c.name, e.camera_id),"                                                              \
    " e.stream_id, e.event_type, e.type_detail, e.confidence, " ROWJSON_EPOCH(                     \
        "e.\"timestamp\"") ", e.model_id, e.model_version, e.bounding_boxes, e.frame_id, "         \
                           "e.inference_time_ms,"                                                  \
                           " e.runtime_id, e.error_code, e.error_message, e.attributes, "          \
                           "e.metadata, e.extra,"                                                  \
                           " e.violation_id, " ROWJSON_EPOCH(                                      \
                               "e.created_at") ", array_to_json(e.zones)"
#define EVENT_NCOLS 22
#define EVENT_FROM " FROM events e LEFT JOIN cameras c ON c.id = e.camera_id"

static const api_rowjson_field event_fields[EVENT_NCOLS] = {
    {"id", 0, ROWJSON_TEXT},
    {"camera_id", 1, ROWJSON_TEXT},
    {"camera_name", 2, ROWJSON_TEXT},
    {"stream_id", 3, ROWJSON_TEXT},
    {"event_type", 4, ROWJSON_TEXT},
    {"type_detail", 5, ROWJSON_TEXT},
    {"confidence", 6, ROWJSON_NUM},
    {"timestamp", 7, ROWJSON_TIME},
    {"model_id", 8, ROWJSON_TEXT},
    {"model_version", 9, ROWJSON_TEXT},
    {"bounding_boxes", 10, ROWJSON_JSON},
    {"frame_id", 11, ROWJSON_TEXT},
    {"inference_time_ms", 12, ROWJSON_NUM},
    {"runtime_id", 13, ROWJSON_TEXT},
    {"error_code", 14, ROWJSON_TEXT},
    {"error_message", 15, ROWJSON_TEXT},
    {"attributes", 16, ROWJSON_JSON},
    {"metadata", 17, ROWJSON_JSON},
    {"extra", 18, ROWJSON_JSON},
    {"violation_id", 19, ROWJSON_TEXT},
    {"zones", 21, ROWJSON_JSON},
    {"created_at", 20, ROWJSON_TIME},
};

static void event_item(buf *o, const PGresult *res, int row)
{
    buf_append_byte(o, '{');
    api_rowjson_members(o, res, row, event_fields, EVENT_NCOLS);
    buf_append_byte(o, '}');
}

void h_events_list(api_req *r)
{
    const char *type = param_str(r, "event_type"), *camera = param_str(r, "camera_id");
    const char *violation = NULL, *order = "desc";
    char from[48] = "", to[48] = "", conf[32] = "";
    double cmin = 0;
    bool has_cmin;
    const char *zone = param_str(r, "zone");
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
             "SELECT " EVENT_COLS
             ", (extract(epoch FROM e.\"timestamp\") * 1000000)::bigint::text" EVENT_FROM
             "%s ORDER BY e.\"timestamp\" %s, e.id %s",
             sqlw_sql(&w), order, order);
    const list_writer lw = {event_item, EVENT_NCOLS, 0, false, false};
    list_fetch_rows(r, "events", &w, &pg, tag, total, exact, sql, &lw);
}

void h_event_get(api_req *r)
{
    const char *id = api_path_uuid(r, 1, "event");
    if (!id)
        return;
    const char *p[1] = {id};
    PGresult *res = api_query(r, true, "SELECT " EVENT_COLS EVENT_FROM " WHERE e.id = $1", 1, p);
    if (!res)
        return;
    if (PQntuples(res) == 0)
        api_error(r, 404, "EVENT_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "event %s does not exist", id);
    else {
        buf_reset(&r->out);
        event_item(&r->out, res, 0);
        r->status = 200;
    }
    PQclear(res);
}
