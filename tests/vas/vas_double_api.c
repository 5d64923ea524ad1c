/* vas_double_api.c - the VAS-MS-V2 endpoints of ruth-vas-double, as the
 * integration guide v2.1 describes them (field names, status codes, error
 * codes): auth, snapshots, bookmarks, devices and streams. */
#include "vas_double.h"

#include "clock.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define REFRESH_LIFETIME_MS (7LL * 86400 * 1000)
#define SNAPSHOT_ID_PREFIX "5a0e0000-0000-4000-8000-"
#define BOOKMARK_ID_PREFIX "b00e0000-0000-4000-8000-"

typedef char vas_double_segs[4][128];

/* ---------------------------------------------------------------- helpers */

static const char *api_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* "2026-01-12T10:45:00[.123][Z|+hh:mm|-hh:mm]" -> microseconds since the epoch. */
static bool api_parse_iso(const char *s, int64_t *us)
{
    struct tm tm = {0};
    int n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = s + n;
    int64_t frac = 0, scale = 1000000;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            if (scale > 1)
                frac += (*p - '0') * (scale /= 10);
    int64_t offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &hh, &mm, &k) != 2)
            return false;
        offset_s = (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
        p += 1 + k;
    }
    if (*p != '\0')
        return false;
    *us = ((int64_t)timegm(&tm) - offset_s) * 1000000 + frac;
    return true;
}

static void api_unauthorized(vas_double_req *r)
{
    if (r->auth == VAS_DOUBLE_AUTH_EXPIRED)
        vas_double__error(r, 401, "TOKEN_EXPIRED", "Access token expired");
    else
        vas_double__error(r, 401, "INVALID_TOKEN", "Access token is expired or invalid");
}

static vas_double_token *api_issue(vas_double *d, bool refresh)
{
    vas_double_token *t = refresh ? VAS_DOUBLE_PUSH(d->refresh) : VAS_DOUBLE_PUSH(d->access);
    char hex[33];
    vas_double__random_hex(d, hex, sizeof hex);
    snprintf(t->value, sizeof t->value, "%s_%s", refresh ? "rt" : "at", hex);
    t->expires_ms = vas_double__now_ms() +
                    (refresh ? REFRESH_LIFETIME_MS : (int64_t)d->conf.token_lifetime_s * 1000);
    return t;
}

static json_t *api_scopes(void)
{
    return json_pack("[s,s,s,s,s,s]", "streams:read", "streams:consume", "snapshots:read",
                     "snapshots:write", "bookmarks:read", "bookmarks:write");
}

/* ---------------------------------------------------------------- auth */

static void api_token(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    (void)seg;
    const char *id = api_str(r->body, "client_id"), *secret = api_str(r->body, "client_secret");
    if (!id || !secret) {
        vas_double__error(r, 400, "VALIDATION_ERROR", "client_id and client_secret are required");
        return;
    }
    if (strcmp(id, d->conf.client_id) != 0 || strcmp(secret, d->conf.client_secret) != 0) {
        vas_double__error(r, 401, "invalid_credentials", "Invalid client credentials");
        return;
    }
    const char *access = api_issue(d, false)->value;
    vas_double__json(r, 200,
                     json_pack("{s:s, s:s, s:i, s:s, s:o}", "access_token", access, "token_type",
                               "Bearer", "expires_in", d->conf.token_lifetime_s, "refresh_token",
                               api_issue(d, true)->value, "scopes", api_scopes()));
}

static vas_double_token *api_find_refresh(vas_double *d, const char *value)
{
    for (size_t i = 0; value && i < d->refresh.n; i++)
        if (strcmp(d->refresh.v[i].value, value) == 0)
            return d->refresh.v[i].revoked || d->refresh.v[i].expires_ms <= vas_double__now_ms()
                       ? NULL
                       : &d->refresh.v[i];
    return NULL;
}

static void api_refresh(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    (void)seg;
    const char *value = api_str(r->body, "refresh_token");
    if (!value) {
        vas_double__error(r, 400, "VALIDATION_ERROR", "refresh_token is required");
        return;
    }
    if (!api_find_refresh(d, value)) {
        vas_double__error(r, 401, "invalid_refresh_token", "Refresh token is expired or invalid");
        return;
    }
    vas_double__json(r, 200,
                     json_pack("{s:s, s:s, s:i, s:o}", "access_token", api_issue(d, false)->value,
                               "token_type", "Bearer", "expires_in", d->conf.token_lifetime_s,
                               "scopes", api_scopes()));
}

static void api_revoke(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    (void)seg;
    vas_double_token *t = api_find_refresh(d, api_str(r->body, "refresh_token"));
    if (t)
        t->revoked = true;
    vas_double__json(
        r, 200,
        json_pack("{s:s, s:s}", "status", "revoked", "message", "Token successfully revoked"));
}

/* ---------------------------------------------------------------- snapshots, bookmarks */

/* The stream's settings forbid this request: 404 answered. */
static bool api_stream_refuses(vas_double *d, vas_double_req *r, const char *sid, bool historical)
{
    const vas_double_stream_cfg *s = vas_double__stream_cfg(d, sid, false);
    if (s && s->missing) {
        vas_double__error(r, 404, "STREAM_NOT_FOUND", "Stream not found");
        return true;
    }
    if (s && historical && s->no_recording) {
        vas_double__error(r, 404, "NO_RECORDING_DATA",
                          "Historical data not available for requested time");
        return true;
    }
    return false;
}

/* "live" (also when absent) or "historical"; NULL after answering 400. */
static const char *api_source(vas_double_req *r)
{
    if (!json_is_object(r->body)) {
        vas_double__error(r, 400, "VALIDATION_ERROR", "the body must be a JSON object");
        return NULL;
    }
    const char *source = api_str(r->body, "source");
    if (json_object_get(r->body, "source") && !source)
        source = "";
    if (!source)
        return "live";
    if (strcmp(source, "live") != 0 && strcmp(source, "historical") != 0) {
        vas_double__error(r, 400, "VALIDATION_ERROR", "source must be live or historical");
        return NULL;
    }
    return source;
}

/* "processing", "ready" or "failed", as of now. */
static const char *api_item_status(const vas_double_item *it)
{
    if (vas_double__now_ms() < it->ready_ms)
        return "processing";
    return it->fail[0] ? "failed" : "ready";
}

/* The snapshot as of now: status, and the image's size once ready. */
static json_t *api_snapshot_view(const vas_double_item *it)
{
    json_t *o = json_deep_copy(it->obj);
    const char *status = api_item_status(it);
    json_object_set_new(o, "status", json_string(status));
    if (strcmp(status, "ready") == 0) {
        json_object_set_new(o, "file_size", json_integer((json_int_t)vas_double_jpeg_len));
        json_object_set_new(o, "width", json_integer(8));
        json_object_set_new(o, "height", json_integer(8));
    }
    return o;
}

static void api_snapshot_create(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    const char *source = api_source(r);
    if (!source)
        return;
    bool historical = strcmp(source, "historical") == 0;
    const char *ts = api_str(r->body, "timestamp");
    int64_t ts_us;
    if (historical && !api_parse_iso(ts, &ts_us)) {
        vas_double__error(r, 400, "VALIDATION_ERROR",
                          "a historical snapshot needs an ISO 8601 timestamp");
        return;
    }
    if (api_stream_refuses(d, r, seg[0], historical))
        return;
    char now[CLOCK_ISO8601_LEN], id[64];
    vas_double__now_iso(now, sizeof now);
    snprintf(id, sizeof id, SNAPSHOT_ID_PREFIX "%012zx", d->snapshots.n + 1);
    json_t *meta = json_object_get(r->body, "metadata");
    json_t *obj =
        json_pack("{s:s, s:s, s:s, s:s, s:O?, s:s, s:n, s:n, s:n, s:s++, s:o, s:s, s:s}", "id", id,
                  "stream_id", seg[0], "timestamp", historical ? ts : now, "source", source,
                  "created_by", json_object_get(r->body, "created_by"), "format", "jpg",
                  "file_size", "width", "height", "image_url", "/v2/snapshots/", id, "/image",
                  "metadata", json_is_object(meta) ? json_incref(meta) : json_object(), "status",
                  "processing", "created_at", now);
    vas_double_item *it = VAS_DOUBLE_PUSH(d->snapshots);
    it->obj = obj;
    it->ready_ms = vas_double__now_ms() + d->conf.snapshot_delay_ms;
    vas_double__json(r, 201, api_snapshot_view(it));
}

/* Bookmark fields that are copied as given (null when absent). */
static void api_bookmark_copy(json_t *obj, const json_t *body)
{
    static const char *const keys[] = {"label", "created_by", "event_type", "confidence"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *v = json_object_get(body, keys[i]);
        json_object_set_new(obj, keys[i], v ? json_incref(v) : json_null());
    }
    json_t *tags = json_object_get(body, "tags"), *meta = json_object_get(body, "metadata");
    json_object_set_new(obj, "tags", json_is_array(tags) ? json_incref(tags) : json_array());
    json_object_set_new(obj, "metadata", json_is_object(meta) ? json_incref(meta) : json_object());
}

static void api_bookmark_create(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    const char *source = api_source(r);
    if (!source)
        return;
    bool historical = strcmp(source, "historical") == 0;
    json_t *before = json_object_get(r->body, "before_seconds");
    json_t *after = json_object_get(r->body, "after_seconds");
    if (!json_is_number(before) || !json_is_number(after) || json_number_value(before) < 0 ||
        json_number_value(after) < 0) {
        vas_double__error(r, 400, "VALIDATION_ERROR",
                          "before_seconds and after_seconds must be numbers >= 0");
        return;
    }
    int64_t center_us = clock_wall_us();
    if (historical && !api_parse_iso(api_str(r->body, "center_timestamp"), &center_us)) {
        vas_double__error(r, 400, "VALIDATION_ERROR",
                          "a historical bookmark needs an ISO 8601 center_timestamp");
        return;
    }
    if (api_stream_refuses(d, r, seg[0], historical))
        return;
    char now[CLOCK_ISO8601_LEN], center[CLOCK_ISO8601_LEN], start[CLOCK_ISO8601_LEN],
        end[CLOCK_ISO8601_LEN], id[64];
    vas_double__now_iso(now, sizeof now);
    double b = json_number_value(before), a = json_number_value(after);
    vas_double__iso_at(center_us, center, sizeof center);
    vas_double__iso_at(center_us - (int64_t)(b * 1e6), start, sizeof start);
    vas_double__iso_at(center_us + (int64_t)(a * 1e6), end, sizeof end);
    snprintf(id, sizeof id, BOOKMARK_ID_PREFIX "%012zx", d->bookmarks.n + 1);
    json_t *obj = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:f, s:s, s:n, s:n, s:s, s:s}", "id", id, "stream_id", seg[0],
        "center_timestamp", center, "start_time", start, "end_time", end, "duration_seconds", a + b,
        "source", source, "video_url", "thumbnail_url", "status", "processing", "created_at", now);
    api_bookmark_copy(obj, r->body);
    const vas_double_stream_cfg *s = vas_double__stream_cfg(d, seg[0], false);
    vas_double_item *it = VAS_DOUBLE_PUSH(d->bookmarks);
    it->obj = obj;
    it->ready_ms =
        vas_double__now_ms() +
        (s && s->bookmark_delay_ms >= 0 ? s->bookmark_delay_ms : d->conf.bookmark_delay_ms);
    if (s)
        snprintf(it->fail, sizeof it->fail, "%s", s->bookmark_fail);
    vas_double__json(r, 201, json_deep_copy(obj));
}

/* The item `id` names, or NULL after answering 404. */
static vas_double_item *api_item(vas_double_req *r, void *items, size_t n, const char *prefix,
                                 const char *id)
{
    size_t plen = strlen(prefix);
    char *end;
    if (strncmp(id, prefix, plen) == 0 && strlen(id + plen) == 12) {
        unsigned long long i = strtoull(id + plen, &end, 16);
        if (*end == '\0' && i >= 1 && i <= n)
            return &((vas_double_item *)items)[i - 1];
    }
    vas_double__error(r, 404, "RESOURCE_NOT_FOUND", "No such snapshot or bookmark");
    return NULL;
}

static void api_snapshot_get(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    vas_double_item *it = api_item(r, d->snapshots.v, d->snapshots.n, SNAPSHOT_ID_PREFIX, seg[0]);
    if (it)
        vas_double__json(r, 200, api_snapshot_view(it));
}

static void api_bookmark_get(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    vas_double_item *it = api_item(r, d->bookmarks.v, d->bookmarks.n, BOOKMARK_ID_PREFIX, seg[0]);
    if (!it)
        return;
    json_t *o = json_deep_copy(it->obj);
    const char *status = api_item_status(it);
    json_object_set_new(o, "status", json_string(status));
    if (strcmp(status, "ready") == 0) {
        const char *id = api_str(o, "id");
        json_object_set_new(o, "video_url", json_sprintf("/v2/bookmarks/%s/video", id));
        json_object_set_new(o, "thumbnail_url", json_sprintf("/v2/bookmarks/%s/thumbnail", id));
    } else if (strcmp(status, "failed") == 0) {
        json_object_set_new(o, "error", json_string(it->fail));
    }
    vas_double__json(r, 200, o);
}

/* The item's media exists: else 404 answered. */
static bool api_media_ready(vas_double_req *r, const vas_double_item *it)
{
    if (!it)
        return false;
    const char *status = api_item_status(it);
    if (strcmp(status, "ready") == 0)
        return true;
    vas_double__error(r, 404, "RESOURCE_NOT_FOUND",
                      strcmp(status, "failed") == 0 ? "Processing failed: no media"
                                                    : "Media not ready yet (still processing)");
    return false;
}

static void api_snapshot_image(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    if (!api_media_ready(r,
                         api_item(r, d->snapshots.v, d->snapshots.n, SNAPSHOT_ID_PREFIX, seg[0])))
        return;
    vas_double__json(r, 200, NULL);
    r->media = vas_double_jpeg, r->media_len = vas_double_jpeg_len, r->ctype = "image/jpeg";
}

static void api_bookmark_thumbnail(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    if (!api_media_ready(r,
                         api_item(r, d->bookmarks.v, d->bookmarks.n, BOOKMARK_ID_PREFIX, seg[0])))
        return;
    vas_double__json(r, 200, NULL);
    r->media = vas_double_jpeg, r->media_len = vas_double_jpeg_len, r->ctype = "image/jpeg";
}

/* A single `bytes=` range of a `len`-byte body: 0 none usable (serve it
 * whole), 1 the slice [*a, *b], -1 unsatisfiable. */
static int api_range(const char *h, size_t len, size_t *a, size_t *b)
{
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *p = h + 6;
    char *end;
    if (*p == '-') { /* the last N bytes */
        if (!isdigit((unsigned char)p[1]))
            return 0;
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (*end != '\0')
            return 0;
        if (n == 0 || len == 0)
            return -1;
        *a = n >= len ? 0 : len - (size_t)n;
        *b = len - 1;
        return 1;
    }
    if (!isdigit((unsigned char)*p))
        return 0;
    unsigned long long from = strtoull(p, &end, 10), to = len ? len - 1 : 0;
    if (*end != '-')
        return 0;
    p = end + 1;
    if (*p) {
        if (!isdigit((unsigned char)*p))
            return 0;
        to = strtoull(p, &end, 10);
        if (*end != '\0' || to < from)
            return 0;
    }
    if (from >= len)
        return -1;
    *a = (size_t)from;
    *b = to >= len ? len - 1 : (size_t)to;
    return 1;
}

static void api_bookmark_video(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    if (!api_media_ready(r,
                         api_item(r, d->bookmarks.v, d->bookmarks.n, BOOKMARK_ID_PREFIX, seg[0])))
        return;
    size_t a = 0, b = 0, len = vas_double_mp4_len;
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
    int range = api_range(h, len, &a, &b);
    if (range < 0) {
        vas_double__error(r, 416, "RANGE_NOT_SATISFIABLE", "Range not satisfiable");
        snprintf(r->content_range, sizeof r->content_range, "bytes */%zu", len);
        r->accept_ranges = true;
        return;
    }
    vas_double__json(r, range ? 206 : 200, NULL);
    r->media = vas_double_mp4, r->media_len = len, r->ctype = "video/mp4";
    r->accept_ranges = true;
    if (range) {
        r->media = vas_double_mp4 + a, r->media_len = b - a + 1;
        snprintf(r->content_range, sizeof r->content_range, "bytes %zu-%zu/%zu", a, b, len);
    }
}

/* ---------------------------------------------------------------- devices, streams */

static const char *api_device_stream_state(const char *state)
{
    if (strcmp(state, "LIVE") == 0)
        return "live";
    if (strcmp(state, "ERROR") == 0)
        return "error";
    if (strcmp(state, "STOPPED") == 0)
        return "stopped";
    return NULL;
}

static int api_device_cmp(const void *x, const void *y)
{
    return strcmp((*(vas_double_device *const *)x)->name, (*(vas_double_device *const *)y)->name);
}

static long api_query_long(vas_double_req *r, const char *key, long dflt, long lo, long hi)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
    char *end;
    long n = v ? strtol(v, &end, 10) : dflt;
    if (v && (*v == '\0' || *end != '\0'))
        n = dflt;
    return n < lo ? lo : n > hi ? hi : n;
}

static void api_devices(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    (void)seg;
    /* The guide: ordered by name, paged with skip and limit. */
    vas_double_device **sorted = xcalloc(d->devices.n + 1, sizeof *sorted);
    for (size_t i = 0; i < d->devices.n; i++)
        sorted[i] = &d->devices.v[i];
    qsort(sorted, d->devices.n, sizeof *sorted, api_device_cmp);
    long skip = api_query_long(r, "skip", 0, 0, 1000000),
         limit = api_query_long(r, "limit", 100, 0, 1000);
    char created[CLOCK_ISO8601_LEN];
    vas_double__iso_at(d->start_wall_us, created, sizeof created);
    json_t *out = json_array();
    for (size_t i = (size_t)skip; i < d->devices.n && (long)json_array_size(out) < limit; i++) {
        const vas_double_device *v = sorted[i];
        json_array_append_new(
            out,
            json_pack("{s:s, s:s, s:s+, s:s+, s:b, s:b, s:s?, s:n, s:n, s:s?, s:s, s:n, "
                      "s:s?}",
                      "id", v->id, "name", v->name, "description", v->name, " camera", "rtsp_url",
                      "rtsp://127.0.0.1:8554/", v->id, "is_active", strcmp(v->state, "LIVE") == 0,
                      "enabled", 1, "location", v->location[0] ? v->location : NULL, "manway",
                      "in_out", "display_name", v->display_name[0] ? v->display_name : NULL,
                      "created_at", created, "updated_at", "stream_state",
                      v->stream_id[0] ? api_device_stream_state(v->state) : NULL));
    }
    free(sorted);
    vas_double__json(r, 200, out);
}

static json_t *api_stream_obj(const vas_double *d, const vas_double_device *v)
{
    char created[CLOCK_ISO8601_LEN];
    vas_double__iso_at(d->start_wall_us, created, sizeof created);
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s++, s:s++, s:s++}, s:s}", "id", v->stream_id,
                     "name", v->display_name[0] ? v->display_name : v->name, "camera_id", v->id,
                     "state", v->state, "endpoints", "webrtc", "/v2/streams/", v->stream_id,
                     "/consume", "hls", "/v2/streams/", v->stream_id, "/hls", "health",
                     "/v2/streams/", v->stream_id, "/health", "created_at", created);
}

static void api_streams(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    (void)seg;
    const char *camera = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "camera_id");
    const char *state = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "state");
    long limit = api_query_long(r, "limit", 50, 1, 100);
    long offset = api_query_long(r, "offset", 0, 0, 1000000);
    json_t *list = json_array();
    long total = 0;
    for (size_t i = 0; i < d->devices.n; i++) {
        const vas_double_device *v = &d->devices.v[i];
        if (!v->stream_id[0] || (camera && strcmp(camera, v->id) != 0) ||
            (state && strcasecmp(state, v->state) != 0))
            continue;
        if (total++ >= offset && (long)json_array_size(list) < limit)
            json_array_append_new(list, api_stream_obj(d, v));
    }
    vas_double__json(r, 200,
                     json_pack("{s:o, s:{s:i, s:i, s:i}}", "streams", list, "pagination", "total",
                               (int)total, "limit", (int)limit, "offset", (int)offset));
}

static void api_stream_get(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    for (size_t i = 0; i < d->devices.n; i++)
        if (strcmp(d->devices.v[i].stream_id, seg[0]) == 0) {
            vas_double__json(r, 200, api_stream_obj(d, &d->devices.v[i]));
            return;
        }
    vas_double__error(r, 404, "RESOURCE_NOT_FOUND", "Stream not found");
}

static void api_health(vas_double *d, vas_double_req *r, vas_double_segs seg)
{
    (void)d, (void)seg;
    vas_double__json(r, 200, json_pack("{s:s}", "status", "healthy"));
}

/* ---------------------------------------------------------------- routing */

typedef struct api_route {
    const char *method;
    const char *pattern;
    bool auth;
    void (*fn)(vas_double *d, vas_double_req *r, vas_double_segs seg);
} api_route;

static const api_route api_routes[] = {
    {"POST", "/v2/auth/token", false, api_token},
    {"POST", "/v2/auth/token/refresh", false, api_refresh},
    {"POST", "/v2/auth/token/revoke", false, api_revoke},
    {"GET", "/v2/health", false, api_health},
    {"GET", "/api/v1/devices", false, api_devices},
    {"GET", "/v2/streams", true, api_streams},
    {"GET", "/v2/streams/*", true, api_stream_get},
    {"POST", "/v2/streams/*/snapshots", true, api_snapshot_create},
    {"GET", "/v2/snapshots/*", true, api_snapshot_get},
    {"GET", "/v2/snapshots/*/image", true, api_snapshot_image},
    {"POST", "/v2/streams/*/bookmarks", true, api_bookmark_create},
    {"GET", "/v2/bookmarks/*", true, api_bookmark_get},
    {"GET", "/v2/bookmarks/*/video", true, api_bookmark_video},
    {"GET", "/v2/bookmarks/*/thumbnail", true, api_bookmark_thumbnail},
};

void vas_double_api_handle(vas_double *d, vas_double_req *r)
{
    vas_double_segs seg;
    bool path_known = false;
    for (size_t i = 0; i < sizeof api_routes / sizeof *api_routes; i++) {
        const api_route *rt = &api_routes[i];
        if (!vas_double__match(r->path, rt->pattern, seg, 4))
            continue;
        path_known = true;
        if (strcmp(r->method, rt->method) != 0)
            continue;
        if (rt->auth && r->auth != VAS_DOUBLE_AUTH_OK)
            api_unauthorized(r);
        else
            rt->fn(d, r, seg);
        return;
    }
    if (path_known)
        vas_double__error(r, 405, "METHOD_NOT_ALLOWED", "Method not allowed on this path");
    else
        vas_double__error(r, 404, "RESOURCE_NOT_FOUND", "No such endpoint");
}
