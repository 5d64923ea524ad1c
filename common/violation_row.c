/* violation_row.c - see violation_row.h. */
#include "violation_row.h"

#include "xmalloc.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int64_t row__i64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

#define US(col) "coalesce((extract(epoch FROM " col ") * 1000000)::bigint, 0)"

const char *violation_row_id(const PGresult *res, int row)
{
    return PQgetvalue(res, row, 0);
}

void violation_row_msg(const PGresult *res, int row, violation_msg *v, codec_bbox **boxes)
{
    memset(v, 0, sizeof *v);
    v->id = PQgetvalue(res, row, 0);
    v->type = PQgetvalue(res, row, 1);
    v->camera_id = PQgetvalue(res, row, 2);
    v->stream_id = PQgetisnull(res, row, 3) ? NULL : PQgetvalue(res, row, 3);
    v->status = PQgetvalue(res, row, 4);
    v->severity = PQgetvalue(res, row, 5);
    v->confidence = atof(PQgetvalue(res, row, 6));
    v->max_confidence = atof(PQgetvalue(res, row, 7));
    v->event_count = row__i64(res, row, 8);
    v->first_event_at_us = row__i64(res, row, 9);
    v->last_event_at_us = row__i64(res, row, 10);
    v->ended_at_us = row__i64(res, row, 11);
    v->reviewed_by = PQgetisnull(res, row, 13) ? NULL : PQgetvalue(res, row, 13);
    v->reviewed_at_us = row__i64(res, row, 14);
    v->resolution_notes = PQgetisnull(res, row, 15) ? NULL : PQgetvalue(res, row, 15);
    v->created_at_us = row__i64(res, row, 16);
    v->updated_at_us = row__i64(res, row, 17);
    v->version = row__i64(res, row, 18);
    v->snapshot_status = PQgetisnull(res, row, 19) ? NULL : PQgetvalue(res, row, 19);
    v->bookmark_status = PQgetisnull(res, row, 20) ? NULL : PQgetvalue(res, row, 20);
    /* Boxes: the JSON array written by this module (x, y, width, height, label, confidence). */
    json_t *arr = json_loads(PQgetvalue(res, row, 12), 0, NULL);
    size_t n = json_array_size(arr);
    *boxes = n ? xcalloc(n, sizeof **boxes) : NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        codec_bbox *b = &(*boxes)[i];
        b->x = json_number_value(json_object_get(o, "x"));
        b->y = json_number_value(json_object_get(o, "y"));
        b->width = json_number_value(json_object_get(o, "width"));
        b->height = json_number_value(json_object_get(o, "height"));
        json_t *c = json_object_get(o, "confidence");
        b->has_confidence = json_is_number(c);
        b->confidence = json_number_value(c);
        b->label = NULL; /* labels stay in the database row; the change carries geometry */
    }
    json_decref(arr);
    v->boxes = *boxes;
    v->nboxes = n;
}

/* Left as written: clang-format splits a literal around the US() macros
 * into a column of fragments. */
/* clang-format off */
const char *const violation_row_select =
    "SELECT v.id, v.type, v.camera_id, v.stream_id, v.status, v.severity, v.confidence,"
    " v.max_confidence, v.event_count, " US("v.first_event_at") ", " US("v.last_event_at") ", "
    US("v.ended_at") ", v.bounding_boxes::text, v.reviewed_by, " US("v.reviewed_at") ","
    " v.resolution_notes, " US("v.created_at") ", " US("v.updated_at") ", v.version,"
    " (SELECT status FROM evidence e WHERE e.violation_id = v.id AND e.kind = 'snapshot'),"
    " (SELECT status FROM evidence e WHERE e.violation_id = v.id AND e.kind = 'bookmark')"
    " FROM violations v WHERE v.id = ANY($1::uuid[])";
/* clang-format on */
