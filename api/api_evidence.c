/* api_evidence.c - POST /violations/{id}/evidence: an operator asks again
 * for evidence that failed or was never requested.
 *
 * Body optional: {"kinds": ["snapshot", "bookmark"]} (default both). In
 * one transaction: the violation is locked against deletion, the evidence
 * rows of those kinds are locked; one pending or processing is 409
 * EVIDENCE_IN_PROGRESS, one ready (asked for by name) 409 EVIDENCE_READY.
 * Otherwise failed rows go back to pending (attempts, error and VAS
 * results cleared, next_attempt_at = now()), missing rows are created
 * pending, and an EvidenceRequest per row goes into the outbox, relayed
 * after COMMIT like every other outbox write. Answers 202 with the rows. */
#include "api.h"
#include "api_handlers.h"

#include "log.h"
#include "outbox.h"
#include "pg.h"
#include "pg_array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kinds_all[2] = {"snapshot", "bookmark"};

/* The kinds asked for into want[]; *named when the body listed them.
 * false after responding 400. */
static bool evidence_kinds(api_req *r, bool want[2], bool *named)
{
    want[0] = want[1] = true;
    *named = false;
    if (r->body.len == 0)
        return true;
    json_t *body = api_body_object(r);
    if (!body)
        return false;
    param_known_fields(r, body, "kinds");
    json_t *k = json_object_get(body, "kinds");
    if (k) {
        *named = true;
        want[0] = want[1] = false;
        size_t i;
        json_t *v;
        bool ok = json_is_array(k) && json_array_size(k) >= 1 && json_array_size(k) <= 2;
        json_array_foreach(k, i, v)
        {
            const char *s = ok ? json_string_value(v) : NULL;
            int idx = s && !strcmp(s, "snapshot") ? 0 : s && !strcmp(s, "bookmark") ? 1 : -1;
            if (idx < 0 || want[idx])
                ok = false;
            else
                want[idx] = true;
        }
        if (!ok)
            param_invalid(r, "kinds",
                          "must be a non-empty list of distinct values: snapshot, bookmark");
    }
    json_decref(body);
    return !param_reject(r);
}

/* The violation's evidence rows as the answer's JSON ({violation_id, evidence}). */
static void evidence_body(api_req *r, const char *id)
{
    static const char sql[] =
        "SELECT json_build_object('violation_id', $1::uuid, 'evidence',"
        " (SELECT coalesce(json_agg(x ORDER BY x.kind), '[]') FROM ("
        "   SELECT id, kind, status, url, vas_id, ruth_time(center_timestamp) AS center_timestamp,"
        "          before_seconds, after_seconds, duration_seconds, attempts, last_error,"
        "          ruth_time(next_attempt_at) AS next_attempt_at,"
        "          ruth_time(requested_at) AS requested_at, ruth_time(completed_at) AS "
        "completed_at,"
        "          ruth_time(updated_at) AS updated_at"
        "     FROM evidence WHERE violation_id = $1) x))::text";
    const char *p[1] = {id};
    PGresult *res = api_query(r, false, sql, 1, p);
    if (res)
        api_json_row(r, 202, res);
    PQclear(res);
}

/* Lock the rows of the wanted kinds; drops kinds that need nothing (ready,
 * not named). false after responding (404, 409, database error). */
static bool evidence_check(api_req *r, const char *id, bool want[2], bool named)
{
    const char *p[1] = {id};
    PGresult *res =
        api_query(r, false, "SELECT 1 FROM violations WHERE id = $1 FOR KEY SHARE", 1, p);
    if (!res)
        return false;
    bool exists = PQntuples(res) == 1;
    PQclear(res);
    if (!exists) {
        api_error(r, 404, "VIOLATION_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "violation %s does not exist", id);
        return false;
    }
    res = api_query(r, false,
                    "SELECT kind, status FROM evidence WHERE violation_id = $1 FOR UPDATE", 1, p);
    if (!res)
        return false;
    json_t *busy = json_object(), *ready = json_object();
    for (int i = 0; i < PQntuples(res); i++) {
        const char *kind = PQgetvalue(res, i, 0), *st = PQgetvalue(res, i, 1);
        int idx = !strcmp(kind, "snapshot") ? 0 : 1;
        if (!want[idx])
            continue;
        if (!strcmp(st, "pending") || !strcmp(st, "processing"))
            json_object_set_new(busy, kind, json_string(st));
        else if (!strcmp(st, "ready")) {
            if (named)
                json_object_set_new(ready, kind, json_string(st));
            want[idx] = false; /* nothing to redo */
        }
    }
    PQclear(res);
    bool ok = false;
    if (json_object_size(busy))
        api_error(r, 409, "EVIDENCE_IN_PROGRESS", json_pack("{s:O}", "evidence", busy),
                  "evidence for violation %s is being produced already", id);
    else if (json_object_size(ready) || (!want[0] && !want[1]))
        api_error(r, 409, "EVIDENCE_READY", json_pack("{s:O}", "evidence", ready),
                  "the evidence of violation %s is ready already", id);
    else
        ok = true;
    json_decref(busy);
    json_decref(ready);
    return ok;
}

/* Reset or create the rows, one EvidenceRequest each into `ob`. false after
 * responding (database or encoding error). */
static bool evidence_reset(api_req *r, const char *id, const bool want[2], outbox_batch *ob)
{
    static const char sql[] =
        "INSERT INTO evidence AS e (violation_id, kind, camera_id, stream_id, center_timestamp,"
        "   before_seconds, after_seconds, next_attempt_at)"
        " SELECT v.id, k, v.camera_id, v.stream_id, v.first_event_at,"
        "   CASE k WHEN 'bookmark' THEN $3::int ELSE 0 END,"
        "   CASE k WHEN 'bookmark' THEN $4::int ELSE 0 END, now()"
        " FROM violations v, unnest($2::text[]) k WHERE v.id = $1"
        " ON CONFLICT (violation_id, kind) DO UPDATE SET status = 'pending',"
        "   next_attempt_at = now(), attempts = 0, last_error = NULL, vas_id = NULL, url = NULL,"
        "   duration_seconds = NULL, thumbnail_url = NULL, processing_since = NULL, polls = 0,"
        "   completed_at = NULL,"
        "   requested_at = now()"
        "   WHERE e.status = 'failed'"
        " RETURNING e.kind, e.camera_id, e.stream_id,"
        "   (extract(epoch FROM e.center_timestamp) * 1000000)::bigint, e.before_seconds,"
        "   e.after_seconds";
    char kinds[32], before[16], after[16];
    snprintf(kinds, sizeof kinds, "{%s%s%s}", want[0] ? kinds_all[0] : "",
             want[0] && want[1] ? "," : "", want[1] ? kinds_all[1] : "");
    snprintf(before, sizeof before, "%d", r->a->cfg->evidence_before_sec);
    snprintf(after, sizeof after, "%d", r->a->cfg->evidence_after_sec);
    const char *p[4] = {id, kinds, before, after};
    PGresult *res = api_query(r, false, sql, 4, p);
    if (!res)
        return false;
    bool ok = true;
    buf payload = {0};
    for (int i = 0; ok && i < PQntuples(res); i++) {
        evidence_request_msg er = {
            .violation_id = id,
            .camera_id = PQgetvalue(res, i, 1),
            .stream_id = PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
            .kind = PQgetvalue(res, i, 0),
            .center_timestamp_us =
                PQgetisnull(res, i, 3) ? 0 : strtoll(PQgetvalue(res, i, 3), NULL, 10),
            .before_seconds = atoi(PQgetvalue(res, i, 4)),
            .after_seconds = atoi(PQgetvalue(res, i, 5)),
            .attempt = 1};
        codec_error cerr;
        buf_reset(&payload);
        if (codec_encode_evidence_request(r->a->codec, CODEC_FMT_SINGLE_OBJECT, &er, &payload,
                                          &cerr)) {
            log_error("cannot encode EvidenceRequest %s/%s: %s", id, er.kind, cerr.message);
            api_error(r, 500, "INTERNAL_ERROR", NULL, "the evidence request could not be encoded");
            ok = false;
            break;
        }
        outbox_batch_add(ob, r->a->cfg->topic_evidence, er.camera_id, &payload);
    }
    buf_free(&payload);
    PQclear(res);
    return ok;
}

void h_violation_evidence_request(api_req *r)
{
    bool want[2], named, begun = false;
    outbox_batch ob = {0};
    pg_array outbox_ids = {0};
    char err[1024];
    const char *id = api_path_uuid(r, 1, "violation");
    if (!id || !evidence_kinds(r, want, &named))
        return;
    PGconn *db = api_db(r, false);
    if (!db)
        return;
    if (!pg_exec_ok(db, "BEGIN", err, sizeof err)) {
        api_db_error(r, "cannot begin", err);
        goto done;
    }
    begun = true;
    outbox_batch_begin(&ob);
    if (!evidence_check(r, id, want, named) || !evidence_reset(r, id, want, &ob))
        goto done;
    if (!api_db_commit_outbox(r, db, &ob, &outbox_ids))
        goto done;
    begun = false;
    log_ctx ctx = LOG_CTX_INIT;
    ctx.request_id = r->request_id;
    ctx.violation_id = id;
    log_at(LOG_INFO, &ctx, "evidence re-requested by %s:%s%s", r->who.sub,
           want[0] ? " snapshot" : "", want[1] ? " bookmark" : "");
    api_outbox_relay(r, pg_array_end(&outbox_ids));
    evidence_body(r, id);
done:
    if (begun)
        pg_rollback_quietly(db);
    outbox_batch_free(&ob);
    pg_array_free(&outbox_ids);
}
