/* api_violations.c - GET /violations, GET and PATCH /violations/{id}.
 *
 * Item JSON is built by PostgreSQL (json_build_object) in one round trip; C
 * only stitches rows into the list envelope. A review (PATCH) changes the
 * row, writes its ViolationChange into the outbox in the same transaction
 * (outbox_put_violation_change, the one path every writer uses),
 * and relays it after COMMIT, so a change is never lost to a crash: the
 * background sweep publishes whatever a crashed request left behind. */
#include "api.h"
#include "text.h"

#include "log.h"
#include "outbox.h"
#include "pg.h"
#include "pg_array.h"
#include "violation_row.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The violation body, shared by the list and the single-item endpoints.
 * `v` is the violation, `s`/`b` its snapshot and bookmark evidence rows,
 * `c` its camera. `confidence` is the highest among its events (contract
 * §3.2), `opening_confidence` the opening event's; `timestamp` the
 * detection time. Every time through ruth_time() (contract format). The
 * contract's `evidence` object links to this API's own media endpoints;
 * the flat snapshot_ and bookmark_ fields before it (VAS's URLs) stay for
 * existing clients. A kind with no evidence row answers `failed`: nothing
 * arrives for it until POST /violations/{id}/evidence asks. The one
 * printf argument it takes is the configured bookmark length in seconds
 * (evidence_seconds()), for a violation without a bookmark row. */
#define EVIDENCE_STATUS(x) "coalesce(" x ".status, 'failed')"
#define VIOLATION_FIELDS                                                                           \
    "'id', v.id, 'type', v.type, 'camera_id', v.camera_id,"                                        \
    " 'camera_name', coalesce(c.name, v.camera_id), 'stream_id', v.stream_id,"                     \
    " 'model_id', v.model_id, 'model_version', v.model_version, 'rule_id', v.rule_id,"             \
    " 'status', v.status, 'severity', v.severity, 'confidence', v.confidence,"                     \
    " 'max_confidence', v.max_confidence,"                                                         \
    " 'opening_confidence', coalesce(v.opening_confidence, v.confidence),"                         \
    " 'timestamp', ruth_time(v.first_event_at),"                                                   \
    " 'event_count', v.event_count, 'bounding_boxes', v.bounding_boxes, 'zones', v.zones,"         \
    " 'first_event_at', ruth_time(v.first_event_at), 'last_event_at', ruth_time(v.last_event_at)," \
    " 'ended_at', ruth_time(v.ended_at), 'ongoing', v.ended_at IS NULL,"                           \
    " 'reviewed_by', v.reviewed_by, 'reviewed_at', ruth_time(v.reviewed_at),"                      \
    " 'resolution_notes', v.resolution_notes, 'version', v.version,"                               \
    " 'created_at', ruth_time(v.created_at), 'updated_at', ruth_time(v.updated_at),"               \
    " 'snapshot_status', s.status, 'snapshot_url', s.url,"                                         \
    " 'bookmark_status', b.status, 'bookmark_url', b.url,"                                         \
    " 'evidence', json_build_object("                                                              \
    "   'snapshot_id', s.vas_id,"                                                                  \
    "   'snapshot_url', '/api/v1/violations/' || v.id || '/snapshot',"                             \
    "   'snapshot_status', " EVIDENCE_STATUS(                                                      \
        "s") ","                                                                                   \
             "   'bookmark_id', b.vas_id,"                                                         \
             "   'bookmark_url', '/api/v1/violations/' || v.id || '/video',"                       \
             "   'bookmark_status', " EVIDENCE_STATUS(                                             \
                 "b") ","                                                                          \
                      "   'bookmark_duration_seconds', coalesce(round(b.duration_seconds)::int,"   \
                      "     b.before_seconds + b.after_seconds, %d),"                              \
                      "   'evidence_status', CASE"                                                 \
                      "     WHEN s.status = 'ready' AND b.status = 'ready' THEN 'ready'"           \
                      "     WHEN s.status IS NULL OR b.status IS NULL"                             \
                      "       OR 'failed' IN (s.status, b.status) THEN 'failed'"                   \
                      "     WHEN 'processing' IN (s.status, b.status) THEN 'processing'"           \
                      "     ELSE 'pending' END)"

#define VIOLATION_FROM                                                                             \
    " FROM violations v"                                                                           \
    " LEFT JOIN cameras c ON c.id = v.camera_id"                                                   \
    " LEFT JOIN evidence s ON s.violation_id = v.id AND s.kind = 'snapshot'"                       \
    " LEFT JOIN evidence b ON b.violation_id = v.id AND b.kind = 'bookmark'"

/* Sort columns: the SQL expression, its cursor value as text, and how a
 * cursor value is cast back. */
typedef struct sort_col {
    const char *name, *expr, *key_text, *key_cast;
} sort_col;

/* A bookmark's length as configured (the worker's default request). */
static int evidence_seconds(const api_req *r)
{
    return r->a->cfg->evidence_before_sec + r->a->cfg->evidence_after_sec;
}

static const sort_col sorts[] = {
    {"created_at", "v.created_at", "(extract(epoch FROM v.created_at) * 1000000)::bigint::text",
     "'epoch'::timestamptz + $?::bigint * interval '1 microsecond'"},
    {"confidence", "v.confidence", "v.confidence::text", "$?::float8"},
    {"status", "v.status", "v.status", "$?::text"},
};

void h_violations_list(api_req *r)
{
    const char *status = NULL, *type = param_str(r, "type"), *camera = param_str(r, "camera_id");
    const char *zone = param_str(r, "zone");
    const char *sort_by = "created_at", *order = "desc";
    char from[48] = "", to[48] = "", conf[32] = "";
    double cmin = 0;
    bool has_cmin;
    param_enum(r, "status", "open|reviewed|dismissed|resolved", &status);
    param_time(r, "from", from, sizeof from);
    param_time(r, "to", to, sizeof to);
    param_double(r, "confidence_min", 0, 1, &cmin, &has_cmin);
    param_enum(r, "sort_by", "created_at|confidence|status", &sort_by);
    param_enum(r, "sort_order", "asc|desc", &order);
    char tag[48];
    snprintf(tag, sizeof tag, "v:%s:%s", sort_by, order);
    api_page pg;
    list_page(r, 50, 100, tag,
              !strcmp(sort_by, "confidence") ? 'f'
              : !strcmp(sort_by, "status")   ? 's'
                                             : 'i',
              &pg);
    if (param_reject(r))
        return;
    if (has_cmin)
        snprintf(conf, sizeof conf, "%.17g", cmin);

    const sort_col *sc = &sorts[0];
    for (size_t i = 0; i < sizeof sorts / sizeof sorts[0]; i++)
        if (!strcmp(sorts[i].name, sort_by))
            sc = &sorts[i];
    bool desc = !strcmp(order, "desc");

    sqlw w = {0};
    sqlw_add(&w, "v.status = $?", status);
    sqlw_add(&w, "v.type = $?", type);
    sqlw_add(&w, "v.camera_id = $?", camera);
    sqlw_add(&w, "v.zones @> ARRAY[$?::text]", zone);
    sqlw_add(&w, "v.created_at >= $?::timestamptz", from[0] ? from : NULL);
    sqlw_add(&w, "v.created_at < $?::timestamptz", to[0] ? to : NULL);
    sqlw_add(&w, "v.confidence >= $?::float8", conf[0] ? conf : NULL);

    char fw[1024];
    bool exact;
    long long total = list_total(r, "violations v", &w, fw, sizeof fw, &exact);
    if (total < 0)
        return;
    if (pg.keyset) {
        char cond[256];
        snprintf(cond, sizeof cond, "(%s, v.id) %s (%s, $?::uuid)", sc->expr, desc ? "<" : ">",
                 sc->key_cast);
        sqlw_add2(&w, cond, pg.after_key, pg.after_id);
    }
    char sql[4096];
    snprintf(sql, sizeof sql,
             "SELECT json_build_object(" VIOLATION_FIELDS ")::text, %s, v.id::text" VIOLATION_FROM
             "%s ORDER BY %s %s, v.id %s",
             evidence_seconds(r), sc->key_text, sqlw_sql(&w), sc->expr, order, order);
    list_fetch(r, "violations", &w, &pg, tag, total, exact, sql);
}

/* The full violation body (with events and evidence) into r->out; false
 * after responding (404 or database error). */
static bool violation_body(api_req *r, const char *id, bool read_only)
{
    static const char fmt[] =
        "SELECT json_build_object(" VIOLATION_FIELDS ","
        " 'events', (SELECT coalesce(json_agg(ev), '[]') FROM ("
        "    SELECT e.id, e.camera_id, e.stream_id, e.event_type, e.type_detail, e.confidence,"
        "           ruth_time(e.\"timestamp\") AS \"timestamp\", e.model_id, e.model_version,"
        "           e.bounding_boxes, e.frame_id, e.violation_id,"
        "           ruth_time(e.created_at) AS created_at"
        "      FROM events e WHERE e.violation_id = v.id"
        "     ORDER BY e.\"timestamp\" DESC, e.id DESC LIMIT 50) ev),"
        " 'event_ids', (SELECT coalesce(json_agg(i.id), '[]') FROM ("
        "    SELECT e.id FROM events e WHERE e.violation_id = v.id"
        "     ORDER BY e.\"timestamp\", e.id LIMIT 1000) i),"
        " 'evidence_items', (SELECT coalesce(json_agg(x ORDER BY x.kind), '[]') FROM ("
        "    SELECT id, kind, status, url, vas_id, ruth_time(center_timestamp) AS"
        "           center_timestamp, before_seconds, after_seconds, duration_seconds, attempts,"
        "           last_error, ruth_time(requested_at) AS requested_at,"
        "           ruth_time(completed_at) AS completed_at, ruth_time(updated_at) AS updated_at"
        "      FROM evidence WHERE violation_id = v.id) x)"
        ")::text, v.version" VIOLATION_FROM " WHERE v.id = $1";
    char sql[sizeof fmt + 16];
    snprintf(sql, sizeof sql, fmt, evidence_seconds(r));
    const char *p[1] = {id};
    PGresult *res = api_query(r, read_only, sql, 1, p);
    if (!res)
        return false;
    if (PQntuples(res) == 0) {
        PQclear(res);
        api_error(r, 404, "VIOLATION_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "violation %s does not exist", id);
        return false;
    }
    api_json_row(r, 200, res);
    snprintf(r->etag, sizeof r->etag, "\"%s\"", PQgetvalue(res, 0, 1));
    PQclear(res);
    return true;
}

void h_violation_get(api_req *r)
{
    const char *id = api_path_uuid(r, 1, "violation");
    if (id)
        violation_body(r, id, true);
}

/* ---- PATCH ---- */

static const char *const transitions[][4] = {
    /* from, allowed to... */
    {"open", "reviewed", "dismissed", NULL},
    {"reviewed", "dismissed", "resolved", NULL},
    {"dismissed", "open", NULL, NULL},
    {"resolved", NULL, NULL, NULL},
};

static const char *const *allowed_from(const char *status)
{
    for (size_t i = 0; i < sizeof transitions / sizeof transitions[0]; i++)
        if (!strcmp(transitions[i][0], status))
            return &transitions[i][1];
    return &transitions[3][1];
}

/* If-Match: "*", a version number, or an ETag ("3", W/"3"). -1 = absent,
 * -2 = malformed, 0 = any. */
static long long if_match(api_req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "If-Match");
    if (!h)
        return -1;
    while (*h == ' ')
        h++;
    if (!strcmp(h, "*"))
        return 0;
    if (!strncmp(h, "W/", 2))
        h += 2;
    char tmp[32];
    size_t n = strlen(h);
    if (n >= sizeof tmp)
        return -2;
    memcpy(tmp, h, n + 1);
    char *p = tmp;
    if (*p == '"' && n >= 2 && p[n - 1] == '"') {
        p[n - 1] = '\0';
        p++;
    }
    char *end;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (!*p || *end || v < 1 || errno == ERANGE) /* out of range: malformed, not clamped */
        return -2;
    return v;
}

/* why: one transaction script, read top to bottom: validate, lock the row,
 * check If-Match and the status transition, update, put the
 * ViolationChange in the outbox, commit, relay. Longer than most functions
 * here because every exit shares the one cleanup label below. */
void h_violation_patch(api_req *r)
{
    json_t *body = NULL, *list = NULL;
    PGconn *db = NULL;
    PGresult *res = NULL;
    bool begun = false;
    outbox_batch ob = {0};
    pg_array outbox_ids = {0};
    const char *id = api_path_uuid(r, 1, "violation");
    if (!id)
        return;
    long long want_version = if_match(r);
    if (want_version == -2) {
        api_error(r, 400, "INVALID_PARAMETER",
                  json_pack("{s:s}", "If-Match", "must be a version number or its ETag"),
                  "If-Match is malformed");
        return;
    }
    body = api_body_object(r);
    if (!body)
        return;
    param_known_fields(r, body, "status|resolution_notes");
    json_t *js = json_object_get(body, "status");
    json_t *jn = json_object_get(body, "resolution_notes");
    const char *status = NULL;
    if (js) {
        status = json_string_value(js);
        if (!status || !api_is_choice(status, "open|reviewed|dismissed|resolved")) {
            param_invalid(r, "status", "must be one of open, reviewed, dismissed, resolved");
            status = NULL;
        }
    }
    if (jn && !json_is_null(jn) &&
        (!json_is_string(jn) || text_utf8_chars(json_string_value(jn)) > 2000))
        param_invalid(r, "resolution_notes", "must be a string of at most 2000 characters");
    if (!js && !jn)
        param_invalid(r, "body", "give status and/or resolution_notes");
    if (param_reject(r))
        goto done;

    db = api_db(r, false);
    char err[1024];
    if (!db)
        goto done;
    if (!pg_exec_ok(db, "BEGIN", err, sizeof err)) {
        api_db_error(r, "cannot begin", err);
        goto done;
    }
    begun = true;
    const char *p1[1] = {id};
    res = api_query(r, false, "SELECT status, version FROM violations WHERE id = $1 FOR UPDATE", 1,
                    p1);
    if (!res)
        goto done;
    if (PQntuples(res) == 0) {
        api_error(r, 404, "VIOLATION_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "violation %s does not exist", id);
        goto done;
    }
    char current[16];
    snprintf(current, sizeof current, "%s", PQgetvalue(res, 0, 0));
    long long version = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    res = NULL;
    if (want_version > 0 && want_version != version) {
        snprintf(r->etag, sizeof r->etag, "\"%lld\"", version);
        api_error(r, 412, "PRECONDITION_FAILED",
                  json_pack("{s:I, s:I}", "current_version", (json_int_t)version,
                            "if_match_version", (json_int_t)want_version),
                  "violation %s is at version %lld, not %lld", id, version, want_version);
        goto done;
    }
    if (status) {
        const char *const *allowed = allowed_from(current);
        bool ok = false;
        list = json_array();
        for (int i = 0; allowed[i]; i++) {
            json_array_append_new(list, json_string(allowed[i]));
            ok = ok || !strcmp(allowed[i], status);
        }
        if (!ok) {
            json_t *detail = json_pack("{s:s, s:s, s:o}", "current_status", current,
                                       "requested_status", status, "allowed_transitions", list);
            list = NULL; /* owned by detail ("o" steals the reference) */
            api_error(r, 400, "INVALID_STATUS_TRANSITION", detail,
                      "a violation cannot go from %s to %s", current, status);
            goto done;
        }
    }
    const char *p5[5] = {id, status, jn ? "t" : "f", json_string_value(jn), r->who.sub};
    res = api_query(r, false,
                    "UPDATE violations SET status = coalesce($2, status),"
                    " resolution_notes = CASE WHEN $3::bool THEN $4 ELSE resolution_notes END,"
                    " reviewed_by = $5, reviewed_at = now() WHERE id = $1",
                    5, p5);
    if (!res)
        goto done;
    PQclear(res);

    /* The ViolationChange, from the row as committed. */
    char ids[48];
    snprintf(ids, sizeof ids, "{%s}", id);
    const char *pi[1] = {ids};
    res = api_query(r, false, violation_row_select, 1, pi);
    if (!res)
        goto done;
    codec_error cerr;
    outbox_batch_begin(&ob);
    if (outbox_put_violation_change(&ob, r->a->codec, r->a->cfg->topic_violations, res, 0,
                                    status ? "status_changed" : "updated", 0, NULL, &cerr)) {
        log_error("cannot encode ViolationChange for %s: %s", id, cerr.message);
        api_error(r, 500, "INTERNAL_ERROR", NULL, "the change could not be encoded");
        goto done;
    }
    PQclear(res);
    res = NULL;
    if (!api_db_commit_outbox(r, db, &ob, &outbox_ids))
        goto done;
    begun = false;
    log_ctx ctx = LOG_CTX_INIT;
    ctx.request_id = r->request_id;
    ctx.violation_id = id;
    log_at(LOG_INFO, &ctx, "violation %s by %s: %s -> %s", status ? "reviewed" : "annotated",
           r->who.sub, current, status ? status : current);
    api_outbox_relay(r, pg_array_end(&outbox_ids));
    violation_body(r, id, false);
done:
    if (begun)
        pg_rollback_quietly(db);
    PQclear(res);
    outbox_batch_free(&ob);
    pg_array_free(&outbox_ids);
    json_decref(list);
    json_decref(body);
}
