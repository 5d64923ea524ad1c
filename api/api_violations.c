/* api_violations.c - GET /violations, GET and PATCH /violations/{id}.
 *
 * One round trip for a list page, two for a violation (its row, then its
 * events: api_violation_events.h); PostgreSQL returns plain columns in
 * binary format and the JSON is written here (api_rowjson.c, jsonw), which
 * costs the database far less than json_build_object per row did. A review (PATCH) changes the
 * row, writes its ViolationChange into the outbox in the same transaction
 * (outbox_put_violation_change, the one path every writer uses),
 * and relays it after COMMIT, so a change is never lost to a crash: the
 * background sweep publishes whatever a crashed request left behind. */
#include "api.h"
#include "api_rowjson.h"
#include "api_violation_events.h"
#include "jsonw.h"
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

/* The violation body, shared by the list and the single-item endpoints:
 * PostgreSQL returns plain columns (VIOLATION_COLS, in this order) and
 * violation_members() writes the JSON. `v` is the violation, `s`/`b` its
 * snapshot and bookmark evidence rows, `c` its camera. `confidence` is the
 * highest among its events (contract §3.2), `opening_confidence` the
 * opening event's; `timestamp` the detection time. Times in the contract's
 * format. The contract's `evidence` object links to this API's own media
 * endpoints; the flat snapshot_ and bookmark_ fields before it (VAS's URLs)
 * stay for existing clients. A kind with no evidence row answers `failed`:
 * nothing arrives for it until POST /violations/{id}/evidence asks. The one
 * printf argument it takes is the configured bookmark length in seconds
 * (evidence_seconds()), for a violation without a bookmark row.
 *
 * The results come in binary format (api_query_binary): timestamps as
 * PostgreSQL's 8 bytes, written here (no extract(epoch) and numeric text
 * per time in PostgreSQL, seven per row), integers and uuids likewise;
 * the floats are cast to text, so their digits stay PostgreSQL's. */
#define T(col) col ", "
/* One line per group of columns (the formatter's split of the T()
 * concatenations is unreadable). A bookmark length that is not a finite
 * number of seconds (NaN, infinite, negative) counts as unknown, so one bad
 * row cannot turn the page into a 500. */
/* clang-format off */
#define VIOLATION_COLS_EV(evidence)                                                             \
    "v.id, v.type, v.camera_id, coalesce(c.name, v.camera_id), v.stream_id, v.model_id,"        \
    " v.model_version, v.rule_id, v.status, v.severity, v.confidence::text,"                    \
    " v.max_confidence::text, coalesce(v.opening_confidence, v.confidence)::text, "              \
    T("v.first_event_at")                                                                        \
    "v.event_count, v.bounding_boxes, " T("v.last_event_at") T("v.ended_at")                   \
    "v.reviewed_by, " T("v.reviewed_at") "v.resolution_notes, v.version, "                      \
    T("v.created_at") T("v.updated_at") evidence "array_to_json(v.zones)"
/* The snapshot's status, url, the bookmark's, their VAS ids and the
 * bookmark's length, from the rows s and b of VIOLATION_FROM (the detail:
 * it writes those rows whole too)... */
#define EVIDENCE_JOINED                                                                         \
    "s.status, s.url, b.status, b.url, s.vas_id, b.vas_id,"                                     \
    " coalesce(CASE WHEN b.duration_seconds BETWEEN 0 AND 2147483647"                           \
    " THEN round(b.duration_seconds)::int END, b.before_seconds + b.after_seconds, %d), "
/* ...or from ev of LIST_FROM (the list). */
#define EVIDENCE_AGG "ev.ss, ev.su, ev.bs, ev.bu, ev.sv, ev.bv, coalesce(ev.bd, %d), "
#define F_SNAP(col) "max(e." col ") FILTER (WHERE e.kind = 'snapshot')"
#define F_BOOK(col) "max(e." col ") FILTER (WHERE e.kind = 'bookmark')"
/* clang-format on */
#define VIOLATION_COLS VIOLATION_COLS_EV(EVIDENCE_JOINED)
#define VIOLATION_NCOLS 32

#define VIOLATION_FROM                                                                             \
    " FROM violations v"                                                                           \
    " LEFT JOIN cameras c ON c.id = v.camera_id"                                                   \
    " LEFT JOIN evidence s ON s.violation_id = v.id AND s.kind = 'snapshot'"                       \
    " LEFT JOIN evidence b ON b.violation_id = v.id AND b.kind = 'bookmark'"

/* The list's evidence: both kinds of a violation from one probe of
 * evidence_violation_cover_idx (migration 0014), index-only, instead of
 * one probe per kind (measured: PostgreSQL's CPU for a page of 50 0.85 ->
 * 0.74 ms). UNIQUE (violation_id, kind) makes each max() the one row's
 * value, NULL without a row, as the two LEFT JOINs gave. */
/* clang-format off */
#define LIST_FROM                                                                                  \
    " FROM violations v"                                                                           \
    " LEFT JOIN cameras c ON c.id = v.camera_id"                                                   \
    " LEFT JOIN LATERAL (SELECT " F_SNAP("status") " AS ss, " F_SNAP("url") " AS su, "            \
    F_BOOK("status") " AS bs, " F_BOOK("url") " AS bu, " F_SNAP("vas_id") " AS sv, "              \
    F_BOOK("vas_id") " AS bv, max(coalesce(CASE WHEN e.duration_seconds BETWEEN 0 AND 2147483647" \
    " THEN round(e.duration_seconds)::int END, e.before_seconds + e.after_seconds))"              \
    " FILTER (WHERE e.kind = 'bookmark') AS bd"                                                    \
    " FROM evidence e WHERE e.violation_id = v.id) ev ON true"
/* clang-format on */

enum {
    C_ID = 0,
    C_FIRST = 13,
    C_LAST = 16,
    C_VERSION = 21,
    C_CONF = 10,
    C_STATUS = 8,
    C_CREATED = 22,
    C_SSTATUS = 24,
    C_BSTATUS = 26
};

static const api_rowjson_field violation_fields[] = {
    {"id", 0, ROWJSON_TEXT},
    {"type", 1, ROWJSON_TEXT},
    {"camera_id", 2, ROWJSON_TEXT},
    {"camera_name", 3, ROWJSON_TEXT},
    {"stream_id", 4, ROWJSON_TEXT},
    {"model_id", 5, ROWJSON_TEXT},
    {"model_version", 6, ROWJSON_TEXT},
    {"rule_id", 7, ROWJSON_TEXT},
    {"status", 8, ROWJSON_TEXT},
    {"severity", 9, ROWJSON_TEXT},
    {"confidence", 10, ROWJSON_NUM},
    {"max_confidence", 11, ROWJSON_NUM},
    {"opening_confidence", 12, ROWJSON_NUM},
    {"timestamp", 13, ROWJSON_TIME},
    {"event_count", 14, ROWJSON_NUM},
    {"bounding_boxes", 15, ROWJSON_JSON},
    {"zones", 31, ROWJSON_JSON},
    {"first_event_at", 13, ROWJSON_TIME},
    {"last_event_at", 16, ROWJSON_TIME},
    {"ended_at", 17, ROWJSON_TIME},
    {"ongoing", 17, ROWJSON_IS_NULL},
    {"reviewed_by", 18, ROWJSON_TEXT},
    {"reviewed_at", 19, ROWJSON_TIME},
    {"resolution_notes", 20, ROWJSON_TEXT},
    {"version", 21, ROWJSON_NUM},
    {"created_at", 22, ROWJSON_TIME},
    {"updated_at", 23, ROWJSON_TIME},
    {"snapshot_status", 24, ROWJSON_TEXT},
    {"snapshot_url", 25, ROWJSON_TEXT},
    {"bookmark_status", 26, ROWJSON_TEXT},
    {"bookmark_url", 27, ROWJSON_TEXT},
};

/* An evidence status, `failed` when the kind has no row. */
static const char *evidence_status(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? "failed" : PQgetvalue(res, row, col);
}

/* The members of one violation (no braces), from VIOLATION_COLS. */
static void violation_members(buf *o, const PGresult *res, int row)
{
    api_rowjson_members(o, res, row, violation_fields,
                        sizeof violation_fields / sizeof violation_fields[0]);
    char idbuf[48];
    const char *id = api_rowjson_cstr(res, row, C_ID, idbuf);
    const char *ss = evidence_status(res, row, C_SSTATUS),
               *bs = evidence_status(res, row, C_BSTATUS);
    bool s_null = PQgetisnull(res, row, C_SSTATUS), b_null = PQgetisnull(res, row, C_BSTATUS);
    const char *overall = !strcmp(ss, "ready") && !strcmp(bs, "ready") ? "ready"
                          : s_null || b_null || !strcmp(ss, "failed") || !strcmp(bs, "failed")
                              ? "failed"
                          : !strcmp(ss, "processing") || !strcmp(bs, "processing") ? "processing"
                                                                                   : "pending";
    jsonw_key(o, "evidence");
    buf_append_byte(o, '{');
    jsonw_key(o, "snapshot_id");
    api_rowjson_value(o, res, row, 28, ROWJSON_TEXT);
    jsonw_key(o, "snapshot_url");
    /* A uuid: nothing to escape. Appends, not printf: per row of a page. */
    buf_append_str(o, "\"/api/v1/violations/");
    buf_append_str(o, id);
    buf_append_str(o, "/snapshot\"");
    jsonw_key(o, "snapshot_status");
    jsonw_str(o, ss);
    jsonw_key(o, "bookmark_id");
    api_rowjson_value(o, res, row, 29, ROWJSON_TEXT);
    jsonw_key(o, "bookmark_url");
    buf_append_str(o, "\"/api/v1/violations/");
    buf_append_str(o, id);
    buf_append_str(o, "/video\"");
    jsonw_key(o, "bookmark_status");
    jsonw_str(o, bs);
    jsonw_key(o, "bookmark_duration_seconds");
    api_rowjson_value(o, res, row, 30, ROWJSON_NUM);
    jsonw_key(o, "evidence_status");
    jsonw_str(o, overall);
    buf_append_byte(o, '}');
}

static void violation_item(buf *o, const PGresult *res, int row)
{
    buf_append_byte(o, '{');
    violation_members(o, res, row);
    buf_append_byte(o, '}');
}

/* Sort columns: the SQL expression, its cursor value as text (a column of
 * its own, or NULL when column key_col of VIOLATION_COLS gives the same
 * text through api_rowjson_cstr), and how a cursor value is cast back. */
typedef struct sort_col {
    const char *name, *expr, *key_text, *key_cast;
    int key_col;
} sort_col;

/* A bookmark's length as configured (the worker's default request). */
static int evidence_seconds(const api_req *r)
{
    return r->a->cfg->evidence_before_sec + r->a->cfg->evidence_after_sec;
}

static const sort_col sorts[] = {
    {"created_at", "v.created_at", NULL,
     "'epoch'::timestamptz + $?::bigint * interval '1 microsecond'", C_CREATED},
    {"confidence", "v.confidence", NULL, "$?::float8", C_CONF},
    {"status", "v.status", NULL, "$?::text", C_STATUS},
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
             "SELECT " VIOLATION_COLS_EV(EVIDENCE_AGG) "%s%s" LIST_FROM
                                                       "%s ORDER BY %s %s, v.id %s",
             evidence_seconds(r), sc->key_text ? ", " : "", sc->key_text ? sc->key_text : "",
             sqlw_sql(&w), sc->expr, order, order);
    const list_writer lw = {violation_item, sc->key_col, C_ID, true, true};
    list_fetch_rows(r, "violations", &w, &pg, tag, total, exact, sql, &lw);
}

/* The columns of one evidence row for evidence_items, in the table's
 * order (kind left out: the join names it); `a` is s or b. */
/* clang-format off */
#define EVIDENCE_COLS(a)                                                                           \
    ", " a ".id, " a ".status, " a ".url, " a ".vas_id, " a ".center_timestamp, "                  \
    a ".before_seconds, " a ".after_seconds, " a ".duration_seconds::text, " a ".attempts, "       \
    a ".last_error, " a ".requested_at, " a ".completed_at, " a ".updated_at"
/* clang-format on */
#define EVIDENCE_NCOLS 13

/* One item of evidence_items from the EVIDENCE_COLS starting at `first`,
 * written as row_to_json() writes it: compact, the table's column order. */
static void evidence_item(buf *o, const PGresult *res, int first, const char *kind)
{
    static const api_rowjson_field f[EVIDENCE_NCOLS] = {
        {"id", 0, ROWJSON_TEXT},
        {"status", 1, ROWJSON_TEXT},
        {"url", 2, ROWJSON_TEXT},
        {"vas_id", 3, ROWJSON_TEXT},
        {"center_timestamp", 4, ROWJSON_TIME},
        {"before_seconds", 5, ROWJSON_NUM},
        {"after_seconds", 6, ROWJSON_NUM},
        {"duration_seconds", 7, ROWJSON_NUM},
        {"attempts", 8, ROWJSON_NUM},
        {"last_error", 9, ROWJSON_TEXT},
        {"requested_at", 10, ROWJSON_TIME},
        {"completed_at", 11, ROWJSON_TIME},
        {"updated_at", 12, ROWJSON_TIME},
    };
    buf_append_byte(o, '{');
    for (int i = 0; i < EVIDENCE_NCOLS; i++) {
        if (i)
            buf_append_byte(o, ',');
        jsonw_str(o, f[i].key);
        buf_append_byte(o, ':');
        api_rowjson_value(o, res, 0, first + f[i].col, f[i].kind);
        if (i == 0) /* kind comes second */
            buf_printf(o, ",\"kind\":\"%s\"", kind);
    }
    buf_append_byte(o, '}');
}

/* evidence_items: the violation's evidence rows ordered by kind, as
 * json_agg() of row_to_json() wrote them ("[{..}, \n {..}]", "[]" for
 * none). UNIQUE (violation_id, kind) and the two kinds the table allows
 * make them exactly the joined bookmark (b) and snapshot (s) rows. */
static void evidence_items(buf *o, const PGresult *res, int s_first, int b_first)
{
    buf_append_byte(o, '[');
    bool any = false;
    if (!PQgetisnull(res, 0, b_first)) {
        evidence_item(o, res, b_first, "bookmark");
        any = true;
    }
    if (!PQgetisnull(res, 0, s_first)) {
        if (any)
            buf_append_str(o, ", \n ");
        evidence_item(o, res, s_first, "snapshot");
    }
    buf_append_byte(o, ']');
}

/* The full violation body (with events and evidence) into r->out; false
 * after responding (404 or database error). Two queries: the violation
 * with the evidence rows the body joins anyway (evidence_items from them),
 * then its two event lists from the daily partitions between its first
 * and last event (api_violation_events.h). */
static bool violation_body(api_req *r, const char *id, bool read_only)
{
    static const char fmt[] = "SELECT " VIOLATION_COLS EVIDENCE_COLS("s") EVIDENCE_COLS("b")
        VIOLATION_FROM " WHERE v.id = $1";
    char sql[sizeof fmt + 16];
    snprintf(sql, sizeof sql, fmt, evidence_seconds(r));
    const char *p[1] = {id};
    PGresult *res = api_query_binary(r, read_only, sql, 1, p);
    if (!res)
        return false;
    if (PQntuples(res) == 0) {
        PQclear(res);
        api_error(r, 404, "VIOLATION_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "violation %s does not exist", id);
        return false;
    }
    buf *o = &r->out;
    buf_reset(o);
    buf_append_byte(o, '{');
    violation_members(o, res, 0);
    if (!api_violation_events_write(r, o, id, api_rowjson_time_us(res, 0, C_FIRST),
                                    api_rowjson_time_us(res, 0, C_LAST), read_only)) {
        PQclear(res);
        return false;
    }
    jsonw_key(o, "evidence_items");
    evidence_items(o, res, VIOLATION_NCOLS, VIOLATION_NCOLS + EVIDENCE_NCOLS);
    buf_append_byte(o, '}');
    r->status = 200;
    char vbuf[48];
    snprintf(r->etag, sizeof r->etag, "\"%s\"", api_rowjson_cstr(res, 0, C_VERSION, vbuf));
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
