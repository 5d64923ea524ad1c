/* api_admin.c - threshold rules and the label -> event type map.
 *
 * Reads need a viewer token, changes an admin one. Every change bumps
 * ruth_rules_version (migration 0011), so each ruth-worker reloads both
 * tables with its next batch; rule state and open incidents are left as they
 * are. */
#include "api.h"
#include "api_handlers.h"

#include "pg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RULE_JSON                                                                                  \
    "json_build_object('id', r.id, 'camera_id', r.camera_id, 'model_id', r.model_id,"              \
    " 'event_type', r.event_type, 'enabled', r.enabled, 'min_confidence', r.min_confidence,"       \
    " 'min_hits', r.min_hits, 'window_seconds', r.window_seconds,"                                 \
    " 'cooldown_seconds', r.cooldown_seconds, 'severity', r.severity,"                             \
    " 'description', r.description, 'required_zones', r.required_zones,"                           \
    " 'min_duration_seconds', r.min_duration_seconds, 'schedule', r.schedule,"                     \
    " 'created_at', ruth_time(r.created_at),"                                                      \
    " 'updated_at', ruth_time(r.updated_at))::text"

void h_rules_list(api_req *r)
{
    const char *type = param_str(r, "event_type"), *camera = param_str(r, "camera_id");
    api_page pg;
    list_page(r, 100, 1000, "r", 's', &pg);
    if (pg.keyset)
        param_invalid(r, "cursor", "rule lists page by offset only");
    if (param_reject(r))
        return;
    sqlw w = {0};
    sqlw_add(&w, "r.event_type = $?", type);
    sqlw_add(&w, "r.camera_id = $?", camera);
    char fw[512];
    bool exact;
    long long total = list_total(r, "rules r", &w, fw, sizeof fw, &exact);
    if (total < 0)
        return;
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT " RULE_JSON ", r.id, r.id FROM rules r%s"
             " ORDER BY r.event_type, r.camera_id NULLS FIRST, r.model_id NULLS FIRST, r.id",
             sqlw_sql(&w));
    list_fetch(r, "rules", &w, &pg, NULL, total, exact, sql);
}

static bool check_text(api_req *r, json_t *v, const char *k, bool nullable, size_t max)
{
    if (json_is_null(v) && nullable)
        return true;
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > max) {
        param_invalid(r, k, "must be a non-empty string of at most %zu bytes%s", max,
                      nullable ? " or null" : "");
        return false;
    }
    return true;
}

static bool check_int(api_req *r, json_t *v, const char *k, long min, long max)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        param_invalid(r, k, "must be an integer between %ld and %ld", min, max);
        return false;
    }
    return true;
}

/* required_zones: null, or 1 to 32 zone names (each a zone of the rule's
 * camera, or of any camera for a rule of any camera; a name no zone has
 * yet is allowed: zones may be drawn after the rule). */
static void rule_check_zones(api_req *r, json_t *v)
{
    if (json_is_null(v))
        return;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > 32) {
        param_invalid(r, "required_zones", "must be an array of 1 to 32 zone names, or null");
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s || !*s || strlen(s) > 100) {
            char f[40];
            snprintf(f, sizeof f, "required_zones[%zu]", i);
            param_invalid(r, f, "must be a zone name (1 to 100 bytes)");
            return;
        }
    }
}

/* "HH:MM" (00:00..23:59, or 24:00 when `end`). */
static bool rule_hhmm(const char *s, bool end)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return false;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return false;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    return (h < 24 && m < 60) || (end && h == 24 && m == 0);
}

/* Whether PostgreSQL knows the IANA time zone `tz` (its own database is
 * what ruth-worker computes the windows with). */
static bool rule_known_zone(api_req *r, const char *tz)
{
    const char *p[1] = {tz};
    PGresult *res = api_query(r, false, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, p);
    bool ok = res && PQntuples(res) > 0;
    PQclear(res);
    return ok;
}

/* schedule: null, or 1 to 16 windows {days: [mon..sun], start: "HH:MM",
 * end: "HH:MM", time_zone: IANA name}; end <= start crosses midnight. */
static void rule_check_schedule(api_req *r, json_t *v)
{
    if (json_is_null(v))
        return;
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > 16) {
        param_invalid(r, "schedule", "must be an array of 1 to 16 windows, or null");
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *w = json_array_get(v, i), *days = json_object_get(w, "days");
        char f[48];
        const char *k, *tz = json_string_value(json_object_get(w, "time_zone"));
        json_t *x;
        json_object_foreach(w, k, x) if (strcmp(k, "days") && strcmp(k, "start") &&
                                         strcmp(k, "end") && strcmp(k, "time_zone"))
        {
            snprintf(f, sizeof f, "schedule[%zu].%s", i, k);
            param_invalid(r, f, "unknown field");
        }
        snprintf(f, sizeof f, "schedule[%zu].days", i);
        bool days_ok = json_is_array(days) && json_array_size(days) >= 1;
        for (size_t d = 0; days_ok && d < json_array_size(days); d++) {
            const char *s = json_string_value(json_array_get(days, d));
            days_ok = s && api_is_choice(s, "mon|tue|wed|thu|fri|sat|sun");
        }
        if (!days_ok)
            param_invalid(r, f, "must list weekdays: mon, tue, wed, thu, fri, sat, sun");
        snprintf(f, sizeof f, "schedule[%zu].start", i);
        if (!rule_hhmm(json_string_value(json_object_get(w, "start")), false))
            param_invalid(r, f, "must be HH:MM (00:00 to 23:59)");
        snprintf(f, sizeof f, "schedule[%zu].end", i);
        if (!rule_hhmm(json_string_value(json_object_get(w, "end")), true))
            param_invalid(r, f, "must be HH:MM (00:00 to 24:00; not after start: the next day)");
        snprintf(f, sizeof f, "schedule[%zu].time_zone", i);
        if (!tz || !*tz || strlen(tz) > 64 || !rule_known_zone(r, tz))
            param_invalid(r, f, "must be an IANA time zone name, e.g. Europe/Berlin");
    }
}

/* Validate the rule fields present in `body`; unknown fields are errors. */
static void rule_validate(api_req *r, json_t *body)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (!strcmp(k, "camera_id") || !strcmp(k, "model_id")) {
            check_text(r, v, k, true, 200);
        } else if (!strcmp(k, "event_type")) {
            check_text(r, v, k, false, 200);
        } else if (!strcmp(k, "description")) {
            check_text(r, v, k, true, 2000);
        } else if (!strcmp(k, "enabled")) {
            if (!json_is_boolean(v))
                param_invalid(r, k, "must be true or false");
        } else if (!strcmp(k, "min_confidence")) {
            double d = json_number_value(v);
            if (!json_is_number(v) || !isfinite(d) || d < 0 || d > 1)
                param_invalid(r, k, "must be a number between 0 and 1");
        } else if (!strcmp(k, "min_hits")) {
            check_int(r, v, k, 1, 1000);
        } else if (!strcmp(k, "window_seconds") || !strcmp(k, "cooldown_seconds")) {
            check_int(r, v, k, 0, 86400);
        } else if (!strcmp(k, "required_zones")) {
            rule_check_zones(r, v);
        } else if (!strcmp(k, "schedule")) {
            rule_check_schedule(r, v);
        } else if (!strcmp(k, "min_duration_seconds")) {
            check_int(r, v, k, 0, 86400);
        } else if (!strcmp(k, "severity")) {
            const char *s = json_string_value(v);
            if (!s || !api_is_choice(s, "low|medium|high|critical"))
                param_invalid(r, k, "must be one of low, medium, high, critical");
        } else {
            param_invalid(r, k, "unknown field");
        }
    }
}

static void rule_conflict(api_req *r)
{
    api_error(r, 409, "RULE_CONFLICT", NULL,
              "a rule for this camera, model and event type already exists");
}

/* Run a rule-changing statement whose parameters are given; maps the scope
 * uniqueness violation to 409. */
static PGresult *rule_exec(api_req *r, const char *sql, int n, const char *const *p)
{
    PGconn *db = api_db(r, false);
    if (!db)
        return NULL;
    char state[6], err[1024];
    PGresult *res = pg_exec_params(db, sql, n, p, state, err, sizeof err);
    if (!res) {
        if (!strcmp(state, PG_SQLSTATE_UNIQUE_VIOLATION))
            rule_conflict(r);
        else if (!strcmp(state, PG_SQLSTATE_CHECK_VIOLATION))
            api_error(r, 400, "VALIDATION_ERROR", NULL, "the rule violates a constraint");
        else
            api_db_error(r, "rule change failed", err);
    }
    return res;
}

void h_rule_create(api_req *r)
{
    json_t *body = api_body_object(r);
    if (!body)
        return;
    rule_validate(r, body);
    if (!json_object_get(body, "event_type"))
        param_missing(r, "event_type");
    if (param_reject(r)) {
        json_decref(body);
        return;
    }
    /* Defaults of the table for every field not given. */
    json_t *full = json_pack("{s:n, s:n, s:b, s:f, s:i, s:i, s:i, s:s, s:n, s:i}", "camera_id",
                             "model_id", "enabled", 1, "min_confidence", 0.5, "min_hits", 1,
                             "window_seconds", 10, "cooldown_seconds", 60, "severity", "medium",
                             "description", "min_duration_seconds", 0);
    json_object_update(full, body);
    json_decref(body);
    char *j = json_dumps(full, JSON_COMPACT);
    json_decref(full);
    const char *p[1] = {j};
    PGresult *res = rule_exec(
        r,
        "INSERT INTO rules AS r (camera_id, model_id, event_type, enabled, min_confidence,"
        " min_hits, window_seconds, cooldown_seconds, severity, description, required_zones,"
        " min_duration_seconds, schedule)"
        " SELECT camera_id, model_id, event_type, enabled, min_confidence, min_hits,"
        " window_seconds, cooldown_seconds, severity, description, required_zones,"
        " min_duration_seconds, schedule"
        " FROM jsonb_populate_record(NULL::rules, $1::jsonb) RETURNING " RULE_JSON,
        1, p);
    free(j);
    if (!res)
        return;
    api_json_row(r, 201, res);
    PQclear(res);
}

static void rule_not_found(api_req *r, const char *id)
{
    api_error(r, 404, "RESOURCE_NOT_FOUND", json_pack("{s:s, s:s}", "resource", "rule", "id", id),
              "rule %s does not exist", id);
}

void h_rule_get(api_req *r)
{
    const char *id = api_path_uuid(r, 1, "rule");
    if (!id)
        return;
    const char *p[1] = {id};
    PGresult *res = api_query(r, true, "SELECT " RULE_JSON " FROM rules r WHERE r.id = $1", 1, p);
    if (!res)
        return;
    if (PQntuples(res))
        api_json_row(r, 200, res);
    else
        rule_not_found(r, id);
    PQclear(res);
}

void h_rule_patch(api_req *r)
{
    const char *id = api_path_uuid(r, 1, "rule");
    if (!id)
        return;
    json_t *body = api_body_object(r);
    if (!body)
        return;
    rule_validate(r, body);
    if (json_object_size(body) == 0)
        param_invalid(r, "body", "give at least one field to change");
    if (param_reject(r)) {
        json_decref(body);
        return;
    }
    char *j = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    const char *p[2] = {id, j};
    PGresult *res = rule_exec(
        r,
        "UPDATE rules r SET (camera_id, model_id, event_type, enabled, min_confidence, min_hits,"
        " window_seconds, cooldown_seconds, severity, description, required_zones,"
        " min_duration_seconds, schedule) ="
        " (SELECT x.camera_id, x.model_id, x.event_type, x.enabled, x.min_confidence, x.min_hits,"
        "   x.window_seconds, x.cooldown_seconds, x.severity, x.description, x.required_zones,"
        "   x.min_duration_seconds, x.schedule"
        "  FROM jsonb_populate_record(r, to_jsonb(r) || $2::jsonb) x)"
        " WHERE r.id = $1 RETURNING " RULE_JSON,
        2, p);
    free(j);
    if (!res)
        return;
    if (PQntuples(res))
        api_json_row(r, 200, res);
    else
        rule_not_found(r, id);
    PQclear(res);
}

void h_rule_delete(api_req *r)
{
    const char *id = api_path_uuid(r, 1, "rule");
    if (!id)
        return;
    const char *p[1] = {id};
    PGresult *res = api_query(r, false, "DELETE FROM rules WHERE id = $1 RETURNING id", 1, p);
    if (!res)
        return;
    if (PQntuples(res))
        api_no_content(r);
    else
        rule_not_found(r, id);
    PQclear(res);
}

/* ---- event-type map ---- */

void h_typemap_list(api_req *r)
{
    api_page pg;
    list_page(r, 100, 1000, "m", 's', &pg);
    if (pg.keyset)
        param_invalid(r, "cursor", "mapping lists page by offset only");
    if (param_reject(r))
        return;
    sqlw w = {0};
    char fw[512];
    bool exact;
    long long total = list_total(r, "event_type_map m", &w, fw, sizeof fw, &exact);
    if (total < 0)
        return;
    list_fetch(r, "mappings", &w, &pg, NULL, total, exact,
               "SELECT json_build_object('raw_label', m.raw_label, 'event_type', m.event_type,"
               " 'created_at', ruth_time(m.created_at))::text, m.raw_label, m.raw_label"
               " FROM event_type_map m ORDER BY m.raw_label");
}

void h_typemap_put(api_req *r)
{
    const char *label = r->seg[1];
    if (strlen(label) > 200) {
        api_error(r, 400, "INVALID_PARAMETER", json_pack("{s:s}", "raw_label", "at most 200 bytes"),
                  "raw label is too long");
        return;
    }
    json_t *body = api_body_object(r);
    if (!body)
        return;
    param_known_fields(r, body, "event_type");
    json_t *t = json_object_get(body, "event_type");
    if (!t)
        param_missing(r, "event_type");
    else
        check_text(r, t, "event_type", false, 200);
    if (param_reject(r)) {
        json_decref(body);
        return;
    }
    const char *p[2] = {label, json_string_value(t)};
    PGresult *res =
        api_query(r, false,
                  "INSERT INTO event_type_map AS m (raw_label, event_type) VALUES ($1, $2)"
                  " ON CONFLICT (raw_label) DO UPDATE SET event_type = EXCLUDED.event_type"
                  " RETURNING json_build_object('raw_label', raw_label, 'event_type', event_type,"
                  " 'created_at', ruth_time(created_at))::text, (xmax = 0)",
                  2, p);
    json_decref(body);
    if (!res)
        return;
    bool created = PQgetvalue(res, 0, 1)[0] == 't';
    api_json_row(r, created ? 201 : 200, res);
    PQclear(res);
}

void h_typemap_delete(api_req *r)
{
    const char *p[1] = {r->seg[1]};
    PGresult *res =
        api_query(r, false, "DELETE FROM event_type_map WHERE raw_label = $1 RETURNING 1", 1, p);
    if (!res)
        return;
    if (PQntuples(res))
        api_no_content(r);
    else
        api_error(r, 404, "RESOURCE_NOT_FOUND",
                  json_pack("{s:s, s:s}", "resource", "event_type_mapping", "raw_label", r->seg[1]),
                  "no mapping for label %s", r->seg[1]);
    PQclear(res);
}
