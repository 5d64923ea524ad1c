/* api_inference.c - POST /devices/{id}/start-inference and stop-inference
 * (contract §1.7).
 *
 * Start takes {model_id (required), inference_fps (default 10),
 * confidence_threshold (default 0.7)} and records the session on the
 * camera row (inference_active, inference_model_id, inference_fps,
 * inference_confidence_threshold, inference_started_at), which ruth-worker
 * and the runtimes read. Before that the camera's stream must be live:
 * with a VAS client (VAS_BASE_URL) VAS is asked (GET /v2/streams?camera_id=)
 * and the live stream's id is kept as the camera's stream_id; without one
 * the state ruth-evidence's camera sync last stored (cameras.stream_state)
 * decides, and an unknown state lets the start through. A stream that is
 * not live is 503 STREAM_UNAVAILABLE; VAS not answering 503
 * VAS_UNAVAILABLE. Ruth AI does not start VAS streams itself. */
#include "api.h"
#include "api_handlers.h"

#include "log.h"
#include "vas.h"
#include "xmalloc.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INFERENCE_FPS_DEFAULT 10
#define INFERENCE_FPS_MAX 120
#define INFERENCE_THRESHOLD_DEFAULT 0.7

typedef struct start_body {
    const char *model_id; /* borrowed from the parsed body */
    long fps;
    double threshold;
} start_body;

/* Validate the body into *sb; false after responding 400. */
static bool start_parse(api_req *r, json_t **body, start_body *sb)
{
    sb->model_id = NULL;
    sb->fps = INFERENCE_FPS_DEFAULT;
    sb->threshold = INFERENCE_THRESHOLD_DEFAULT;
    if (r->body.len == 0) {
        param_missing(r, "model_id");
        return !param_reject(r);
    }
    *body = api_body_object(r);
    if (!*body)
        return false;
    param_known_fields(r, *body, "model_id|inference_fps|confidence_threshold");
    json_t *m = json_object_get(*body, "model_id");
    if (!m || json_is_null(m)) {
        param_missing(r, "model_id");
    } else {
        sb->model_id = json_string_value(m);
        if (!sb->model_id || !*sb->model_id || strlen(sb->model_id) > 200)
            param_invalid(r, "model_id", "must be a non-empty string of at most 200 bytes");
    }
    json_t *f = json_object_get(*body, "inference_fps");
    if (f && !json_is_null(f)) {
        if (!json_is_integer(f) || json_integer_value(f) < 1 ||
            json_integer_value(f) > INFERENCE_FPS_MAX)
            param_invalid(r, "inference_fps", "must be an integer between 1 and %d",
                          INFERENCE_FPS_MAX);
        else
            sb->fps = (long)json_integer_value(f);
    }
    json_t *t = json_object_get(*body, "confidence_threshold");
    if (t && !json_is_null(t)) {
        double d = json_number_value(t);
        if (!json_is_number(t) || !isfinite(d) || d < 0 || d > 1)
            param_invalid(r, "confidence_threshold", "must be a number between 0 and 1");
        else
            sb->threshold = d;
    }
    return !param_reject(r);
}

/* 409 with the running session, or 404 when the camera is unknown. */
static void start_refused(api_req *r, const char *id)
{
    const char *p[1] = {id};
    PGresult *res = api_query(r, false,
                              "SELECT inference_model_id, ruth_time(inference_started_at)"
                              " FROM cameras WHERE id = $1",
                              1, p);
    if (!res)
        return;
    if (PQntuples(res) == 0)
        api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "device %s is not known", id);
    else
        api_error(r, 409, "INFERENCE_ALREADY_ACTIVE",
                  json_pack("{s:s, s:s?, s:s?}", "device_id", id, "model_id",
                            PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0), "started_at",
                            PQgetisnull(res, 0, 1) ? NULL : PQgetvalue(res, 0, 1)),
                  "AI inference is already active for device %s", id);
    PQclear(res);
}

/* VAS writes states upper case (LIVE), the contract lower case (live). */
static void lower_ascii(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void stream_unavailable(api_req *r, const char *id, const char *vas_error, const char *state,
                               const char *stream_id)
{
    snprintf(r->retry_after, sizeof r->retry_after, "5");
    api_error(r, 503, "STREAM_UNAVAILABLE",
              json_pack("{s:s, s:s, s:s?, s:s?}", "device_id", id, "vas_error", vas_error, "state",
                        state, "stream_id", stream_id),
              "cannot start inference: the VAS stream of device %s is not live", id);
}

/* Asked VAS: whether camera `vas_cam` has a live stream (its own stream
 * `known` preferred); the live stream's id in *live (the caller frees it).
 * false after responding (404, 503). */
static bool stream_ask_vas(api_req *r, const char *id, const char *vas_cam, const char *known,
                           char **live)
{
    vas_stream *streams = NULL;
    size_t n = 0;
    vas_error err = {0};
    if (vas_streams(r->a->vas, vas_cam, &streams, &n, &err) != 0) {
        log_ctx ctx = LOG_CTX_INIT;
        ctx.request_id = r->request_id;
        log_at(LOG_WARN, &ctx, "VAS streams of %s: %s (HTTP %d)", vas_cam, err.code,
               err.http_status);
        snprintf(r->retry_after, sizeof r->retry_after, "5");
        api_error(r, 503, "VAS_UNAVAILABLE",
                  json_pack("{s:s, s:i}", "vas_error", err.code, "retry_after_seconds", 5),
                  "the video service did not answer; retry shortly");
        return false;
    }
    /* The camera's own stream when live, else any live one of it. */
    const vas_stream *pick = NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(streams[i].state, "LIVE") &&
            (!pick || (known[0] && !strcmp(streams[i].id, known))))
            pick = &streams[i];
    if (pick)
        *live = xstrdup(pick->id);
    else if (n == 0)
        stream_unavailable(r, id, "NO_STREAM", NULL, NULL);
    else {
        lower_ascii(streams[0].state);
        stream_unavailable(r, id, "STREAM_NOT_LIVE", streams[0].state, streams[0].id);
    }
    free(streams);
    return pick != NULL;
}

/* Whether the camera's stream is live; its live stream id in *live (NULL
 * when VAS was not asked; the caller frees it). Ids are used whole, never
 * cut to a buffer. false after responding (404, 409, 503). */
static bool stream_check(api_req *r, const char *id, char **live)
{
    *live = NULL;
    const char *p[1] = {id};
    PGresult *res = api_query(r, false,
                              "SELECT coalesce(vas_device_id, id), coalesce(stream_id, ''),"
                              " stream_state, inference_active FROM cameras WHERE id = $1",
                              1, p);
    if (!res)
        return false;
    if (PQntuples(res) == 0 || PQgetvalue(res, 0, 3)[0] == 't') {
        PQclear(res);
        start_refused(r, id);
        return false;
    }
    bool ok = true;
    const char *vas_cam = PQgetvalue(res, 0, 0), *known = PQgetvalue(res, 0, 1);
    if (r->a->vas) {
        ok = stream_ask_vas(r, id, vas_cam, known, live);
    } else if (!PQgetisnull(res, 0, 2) && strcasecmp(PQgetvalue(res, 0, 2), "live")) {
        char *state = xstrdup(PQgetvalue(res, 0, 2));
        lower_ascii(state);
        stream_unavailable(r, id, "STREAM_NOT_LIVE", state, known[0] ? known : NULL);
        free(state);
        ok = false;
    }
    PQclear(res);
    return ok;
}

void h_device_start(api_req *r)
{
    const char *id = r->seg[1];
    json_t *body = NULL;
    start_body sb;
    char *live = NULL, fps[24], thr[32];
    if (!start_parse(r, &body, &sb) || !stream_check(r, id, &live)) {
        json_decref(body);
        return;
    }
    snprintf(fps, sizeof fps, "%ld", sb.fps);
    snprintf(thr, sizeof thr, "%.17g", sb.threshold);
    const char *p[5] = {id, sb.model_id, fps, thr, live};
    PGresult *res = api_query(
        r, false,
        "UPDATE cameras SET inference_active = true, inference_model_id = $2,"
        " inference_fps = $3::int, inference_confidence_threshold = $4::float8,"
        " inference_started_at = now(), inference_stopped_at = NULL,"
        " stream_id = coalesce($5, stream_id)"
        " WHERE id = $1 AND NOT inference_active"
        " RETURNING json_build_object('device_id', id, 'stream_id', stream_id,"
        "   'status', 'started', 'model_id', inference_model_id, 'inference_fps', inference_fps,"
        "   'confidence_threshold', inference_confidence_threshold,"
        "   'started_at', ruth_time(inference_started_at))::text",
        5, p);
    json_decref(body);
    free(live);
    if (!res)
        return;
    if (PQntuples(res) == 1) {
        api_json_row(r, 200, res);
        log_ctx ctx = LOG_CTX_INIT;
        ctx.request_id = r->request_id;
        log_at(LOG_INFO, &ctx, "inference started on %s by %s", id, r->who.sub);
    } else {
        start_refused(r, id); /* another request started it meanwhile */
    }
    PQclear(res);
}

void h_device_stop(api_req *r)
{
    const char *id = r->seg[1];
    const char *p[1] = {id};
    PGresult *res = api_query(r, false,
                              "UPDATE cameras SET inference_active = false,"
                              " inference_started_at = NULL, inference_stopped_at = now()"
                              " WHERE id = $1 AND inference_active"
                              " RETURNING json_build_object('device_id', id, 'status', 'stopped',"
                              "   'model_id', inference_model_id,"
                              "   'stopped_at', ruth_time(now()))::text",
                              1, p);
    if (!res)
        return;
    int n = PQntuples(res);
    if (n == 1)
        api_json_row(r, 200, res);
    PQclear(res);
    if (n == 1)
        return;
    res = api_query(r, false, "SELECT 1 FROM cameras WHERE id = $1", 1, p);
    if (!res)
        return;
    if (PQntuples(res) == 0)
        api_error(r, 404, "DEVICE_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "device %s is not known", id);
    else
        api_error(r, 404, "INFERENCE_NOT_ACTIVE", json_pack("{s:s}", "device_id", id),
                  "AI inference is not active for device %s", id);
    PQclear(res);
}
