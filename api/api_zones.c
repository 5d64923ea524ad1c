/* api_zones.c - zones (named polygons per camera) and a camera's rule
 * settings: offline limit and configured resolution.
 *
 * Reads need a viewer token, changes an admin one. Every change bumps
 * ruth_rules_version (migration 0011's triggers), so each ruth-worker
 * applies it to its next batch. A zone is validated before it is stored (common/
 * polygon.c): 3 to 256 points, coordinates in range (0..1 normalised, or
 * 0..the camera's frame size in pixels when it is configured), no
 * self-intersection; a 400 names the offending point, e.g. points[3]. */
#include "api.h"
#include "api_handlers.h"

#include "pg.h"
#include "polygon.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZONE_JSON                                                                                  \
    "json_build_object('id', z.id, 'device_id', z.camera_id, 'camera_id', z.camera_id,"            \
    " 'name', z.name, 'units', z.units, 'points', z.points,"                                       \
    " 'created_at', ruth_time(z.created_at), 'updated_at', ruth_time(z.updated_at))"

static void zone_device_not_found(api_req *r, const char *id)
{
    api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id), "device %s is not known",
              id);
}

void h_zones_list(api_req *r)
{
    const char *id = r->seg[1];
    const char *p[1] = {id};
    PGresult *res = api_query(
        r, true,
        "SELECT json_build_object('device_id', c.id, 'zones', coalesce((SELECT json_agg(" ZONE_JSON
        " ORDER BY z.name) FROM zones z WHERE z.camera_id = c.id), '[]'))::text"
        " FROM cameras c WHERE c.id = $1",
        1, p);
    if (!res)
        return;
    if (PQntuples(res))
        api_json_row(r, 200, res);
    else
        zone_device_not_found(r, id);
    PQclear(res);
}

/* The camera's configured frame size (0 when unknown); false when the
 * camera does not exist (answered) or the query failed (answered). */
static bool zone_frame(api_req *r, const char *id, double *fw, double *fh)
{
    const char *p[1] = {id};
    PGresult *res = api_query(r, false,
                              "SELECT coalesce(frame_width, 0), coalesce(frame_height, 0)"
                              " FROM cameras WHERE id = $1",
                              1, p);
    if (!res)
        return false;
    bool found = PQntuples(res) == 1;
    if (found) {
        *fw = atof(PQgetvalue(res, 0, 0));
        *fh = atof(PQgetvalue(res, 0, 1));
    } else {
        zone_device_not_found(r, id);
    }
    PQclear(res);
    return found;
}

/* points [[x, y], ...] into xy (POLYGON_MAX_POINTS); the count, or -1
 * after naming the bad element. */
static int zone_points(api_req *r, json_t *pts, double *xy)
{
    if (!json_is_array(pts)) {
        param_invalid(r, "points", "must be an array of [x, y] points");
        return -1;
    }
    size_t n = json_array_size(pts);
    if (n < 3 || n > POLYGON_MAX_POINTS) {
        param_invalid(r, "points", "a zone needs 3 to %d points, not %zu", POLYGON_MAX_POINTS, n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *pt = json_array_get(pts, i);
        json_t *x = json_array_get(pt, 0), *y = json_array_get(pt, 1);
        if (json_array_size(pt) != 2 || !json_is_number(x) || !json_is_number(y)) {
            char f[32];
            snprintf(f, sizeof f, "points[%zu]", i);
            param_invalid(r, f, "must be [x, y], two numbers");
            return -1;
        }
        xy[2 * i] = json_number_value(x);
        xy[2 * i + 1] = json_number_value(y);
    }
    return (int)n;
}

/* PUT /devices/{id}/zones/{name}: create or replace. */
void h_zone_put(api_req *r)
{
    const char *id = r->seg[1], *name = r->seg[3];
    if (strlen(name) > 100)
        param_invalid(r, "name", "must be at most 100 bytes");
    json_t *body = api_body_object(r);
    if (!body)
        return;
    param_known_fields(r, body, "points|units");
    const char *units = "normalized";
    json_t *ju = json_object_get(body, "units");
    if (ju && (!json_is_string(ju) || !api_is_choice(json_string_value(ju), "normalized|pixels")))
        param_invalid(r, "units", "must be normalized or pixels");
    else if (ju && !strcmp(json_string_value(ju), "pixels"))
        units = "pixels"; /* a literal: the body is released before the query */
    if (!json_object_get(body, "points"))
        param_missing(r, "points");
    double fw = 0, fh = 0;
    double xy[2 * POLYGON_MAX_POINTS];
    int n = -1;
    if (param_reject(r) || !zone_frame(r, id, &fw, &fh) ||
        (n = zone_points(r, json_object_get(body, "points"), xy)) < 0 || param_reject(r)) {
        if (n < 0)
            param_reject(r);
        json_decref(body);
        return;
    }
    bool px = !strcmp(units, "pixels");
    char msg[256];
    int bad = polygon_validate(xy, (size_t)n, px ? (fw > 0 ? fw : 100000) : 1,
                               px ? (fh > 0 ? fh : 100000) : 1, msg, sizeof msg);
    if (bad >= 0) {
        char f[32];
        snprintf(f, sizeof f, bad < n ? "points[%d]" : "points", bad);
        param_invalid(r, f, "%s", msg);
        param_reject(r);
        json_decref(body);
        return;
    }
    char *pts = json_dumps(json_object_get(body, "points"), JSON_COMPACT);
    json_decref(body);
    const char *p[4] = {id, name, units, pts};
    PGresult *res = api_query(
        r, false,
        "WITH z AS (INSERT INTO zones AS z (camera_id, name, units, points)"
        " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (camera_id, name) DO UPDATE"
        " SET units = EXCLUDED.units, points = EXCLUDED.points RETURNING z.*, xmax = 0 AS created)"
        " SELECT " ZONE_JSON "::text, created FROM z",
        4, p);
    free(pts);
    if (!res)
        return;
    api_json_row(r, PQgetvalue(res, 0, 1)[0] == 't' ? 201 : 200, res);
    PQclear(res);
}

void h_zone_delete(api_req *r)
{
    const char *id = r->seg[1], *name = r->seg[3];
    const char *p[2] = {id, name};
    PGresult *res = api_query(
        r, false, "DELETE FROM zones WHERE camera_id = $1 AND name = $2 RETURNING id", 2, p);
    if (!res)
        return;
    if (PQntuples(res))
        api_no_content(r);
    else
        api_error(r, 404, "RESOURCE_NOT_FOUND",
                  json_pack("{s:s, s:s, s:s}", "resource", "zone", "device_id", id, "name", name),
                  "device %s has no zone %s", id, name);
    PQclear(res);
}

/* The value of settings field k: an integer in min..max, or null. */
static void zone_setting(api_req *r, json_t *body, const char *k, long min, long max, char *out,
                         size_t outsz, const char **param)
{
    json_t *v = json_object_get(body, k);
    *param = NULL;
    if (!v)
        return;
    if (json_is_null(v)) {
        snprintf(out, outsz, "null");
    } else if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        param_invalid(r, k, "must be an integer between %ld and %ld, or null", min, max);
        return;
    } else {
        snprintf(out, outsz, "%lld", (long long)json_integer_value(v));
    }
    *param = out;
}

/* PATCH /devices/{id}: the camera's offline limit and resolution. Answers
 * the device as GET /devices/{id} does (api_devices.c). */
void h_device_patch(api_req *r)
{
    const char *id = r->seg[1];
    json_t *body = api_body_object(r);
    if (!body)
        return;
    param_known_fields(r, body, "offline_after_seconds|frame_width|frame_height");
    if (json_object_size(body) == 0)
        param_invalid(r, "body", "give offline_after_seconds, frame_width and/or frame_height");
    char off[24], fw[24], fh[24];
    const char *p[4] = {id};
    zone_setting(r, body, "offline_after_seconds", 0, 604800, off, sizeof off, &p[1]);
    zone_setting(r, body, "frame_width", 1, 100000, fw, sizeof fw, &p[2]);
    zone_setting(r, body, "frame_height", 1, 100000, fh, sizeof fh, &p[3]);
    json_decref(body);
    if (param_reject(r))
        return;
    /* A given field is set (the text "null" clears it); one not given is kept. */
    PGresult *res =
        api_query(r, false,
                  "UPDATE cameras SET"
                  " offline_after_seconds = CASE WHEN $2::text IS NULL THEN offline_after_seconds"
                  "   ELSE nullif($2, 'null')::int END,"
                  " frame_width = CASE WHEN $3::text IS NULL THEN frame_width"
                  "   ELSE nullif($3, 'null')::int END,"
                  " frame_height = CASE WHEN $4::text IS NULL THEN frame_height"
                  "   ELSE nullif($4, 'null')::int END"
                  " WHERE id = $1 RETURNING id",
                  4, p);
    if (!res)
        return;
    int n = PQntuples(res);
    PQclear(res);
    if (n)
        api_devices_answer(r, false);
    else
        zone_device_not_found(r, id);
}
