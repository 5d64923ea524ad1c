/* vas.c - see vas.h. The VAS resources (snapshots, bookmarks, devices,
 * streams, media) and the retry matrix; the transport is vas_http.c. */
#include "vas_internal.h"

#include "clock.h"
#include "text.h"
#include "xmalloc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Page size of the device and stream lists (the guide's maximum for
 * streams is 100), and a bound on pages against a VAS that ignores it. */
#define VAS_PAGE 100
#define VAS_MAX_PAGES 100

static pthread_once_t vas__curl_once = PTHREAD_ONCE_INIT;

static void vas__curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

vas *vas_new(const vas_conf *conf, char *errstr, size_t errsz)
{
    if (!conf) {
        snprintf(errstr, errsz, "no VAS configuration");
        return NULL;
    }
    const char *missing = !conf->base_url || !*conf->base_url             ? "VAS_BASE_URL"
                          : !conf->client_id || !*conf->client_id         ? "VAS_CLIENT_ID"
                          : !conf->client_secret || !*conf->client_secret ? "VAS_CLIENT_SECRET"
                                                                          : NULL;
    if (missing) {
        snprintf(errstr, errsz, "%s is not set; the VAS client needs it", missing);
        return NULL;
    }
    if (strncmp(conf->base_url, "http://", 7) != 0 && strncmp(conf->base_url, "https://", 8) != 0) {
        snprintf(errstr, errsz, "VAS_BASE_URL must start with http:// or https://");
        return NULL;
    }
    pthread_once(&vas__curl_once,
                 vas__curl_init); /* once per process, before any thread uses curl */
    vas *v = xcalloc(1, sizeof *v);
    v->base = xstrdup(conf->base_url);
    size_t l = strlen(v->base);
    while (l && v->base[l - 1] == '/')
        v->base[--l] = '\0';
    v->client_id = xstrdup(conf->client_id);
    v->client_secret = xstrdup(conf->client_secret);
    v->refresh_margin_sec = conf->refresh_margin_sec > 0 ? conf->refresh_margin_sec : 0;
    v->connect_timeout_ms = conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms : 3000;
    v->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 15000;
    v->max_response = conf->max_response > 0 ? conf->max_response : (size_t)1 << 20;
    v->reg = conf->reg;
    pthread_mutex_init(&v->pool_mu, NULL);
    pthread_mutex_init(&v->tok_mu, NULL);
    pthread_mutex_init(&v->fetch_mu, NULL);
    return v;
}

void vas_destroy(vas *v)
{
    if (!v)
        return;
    vas__transport_close(v);
    pthread_mutex_destroy(&v->pool_mu);
    pthread_mutex_destroy(&v->tok_mu);
    pthread_mutex_destroy(&v->fetch_mu);
    memset(v->client_secret, 0, strlen(v->client_secret));
    free(v->client_secret);
    free(v->client_id);
    free(v->base);
    free(v);
}

/* ---- helpers ------------------------------------------------------------ */

/* A string (or number) member of o into out; empty when absent or null. */
static void vas__copy(const json_t *o, const char *key, char *out, size_t n)
{
    const json_t *j = json_object_get(o, key);
    out[0] = '\0';
    if (json_is_string(j))
        snprintf(out, n, "%s", json_string_value(j));
    else if (json_is_integer(j))
        snprintf(out, n, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
    else if (json_is_object(j)) /* an error as {error|code, error_description|message} */
        vas__copy(j, json_object_get(j, "error") ? "error" : "code", out, n);
    text_utf8_trim(out);
}

/* `s` percent-encoded as one path segment (or query value) into out;
 * false if it does not fit or is empty. */
static bool vas__escape(const char *s, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (!s || !*s)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            if (o + 1 >= n)
                return false;
            out[o++] = (char)*p;
        } else {
            if (o + 3 >= n)
                return false;
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return true;
}

static vas_error *vas__err(vas_error *err, vas_error *scratch)
{
    vas_error *e = err ? err : scratch;
    memset(e, 0, sizeof *e);
    return e;
}

static int vas__bad_arg(vas_error *err, const char *what)
{
    vas__set_error(err, 0, "BAD_REQUEST", "%s", what);
    return -1;
}

/* metadata_json (NULL allowed) into body["metadata"]; false if not an object. */
static bool vas__put_metadata(json_t *body, const char *metadata_json)
{
    if (!metadata_json)
        return true;
    json_error_t je;
    json_t *m = json_loads(metadata_json, 0, &je);
    if (!json_is_object(m)) {
        json_decref(m);
        return false;
    }
    json_object_set_new(body, "metadata", m);
    return true;
}

/* POST body (stolen) to path; the answer object into *out. */
static int vas__post(vas *v, const char *path, const char *endpoint, json_t *body, json_t **out,
                     vas_error *err)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    vas__req rq = {
        .method = "POST", .path = path, .endpoint = endpoint, .body = text, .auth = true};
    int rc = vas__call_json(v, &rq, out, err);
    free(text);
    if (rc == 0 && !json_is_object(*out)) {
        vas__set_error(err, 200, "BAD_RESPONSE", "%s: the answer is not an object", endpoint);
        json_decref(*out);
        *out = NULL;
        rc = -1;
    }
    return rc;
}

static int vas__get(vas *v, const char *path, const char *endpoint, json_t **out, vas_error *err)
{
    vas__req rq = {.method = "GET", .path = path, .endpoint = endpoint, .auth = true};
    return vas__call_json(v, &rq, out, err);
}

static void vas__iso8601(int64_t us, char out[CLOCK_ISO8601_LEN])
{
    clock_format_iso8601_ms(us, out, CLOCK_ISO8601_LEN);
}

/* ---- snapshots and bookmarks -------------------------------------------- */

static int vas__snapshot_parse(const json_t *j, vas_snapshot *out, const char *endpoint,
                               vas_error *err)
{
    memset(out, 0, sizeof *out);
    vas__copy(j, "id", out->id, sizeof out->id);
    vas__copy(j, "status", out->status, sizeof out->status);
    if (!out->status[0])
        snprintf(out->status, sizeof out->status, "ready");
    vas__copy(j, "image_url", out->image_url, sizeof out->image_url);
    vas__copy(j, "error", out->error, sizeof out->error);
    if (!out->id[0]) {
        vas__set_error(err, 200, "BAD_RESPONSE", "%s: the answer has no id", endpoint);
        return -1;
    }
    return 0;
}

static int vas__bookmark_parse(const json_t *j, vas_bookmark *out, const char *endpoint,
                               vas_error *err)
{
    memset(out, 0, sizeof *out);
    vas__copy(j, "id", out->id, sizeof out->id);
    vas__copy(j, "status", out->status, sizeof out->status);
    vas__copy(j, "video_url", out->video_url, sizeof out->video_url);
    vas__copy(j, "thumbnail_url", out->thumbnail_url, sizeof out->thumbnail_url);
    vas__copy(j, "error", out->error, sizeof out->error);
    out->duration_seconds = json_number_value(json_object_get(j, "duration_seconds"));
    if (!out->id[0]) {
        vas__set_error(err, 200, "BAD_RESPONSE", "%s: the answer has no id", endpoint);
        return -1;
    }
    return 0;
}

int vas_snapshot_create(vas *v, const char *stream_id, int64_t ts_us, const char *created_by,
                        const char *metadata_json, vas_snapshot *out, vas_error *err)
{
    vas_error scratch;
    err = vas__err(err, &scratch);
    static const char ep[] = "POST /v2/streams/{id}/snapshots";
    char sid[256], path[320];
    if (!vas__escape(stream_id, sid, sizeof sid))
        return vas__bad_arg(err, "a snapshot needs a stream id (at most 80 characters of it)");
    snprintf(path, sizeof path, "/v2/streams/%s/snapshots", sid);
    json_t *body = json_pack("{ss}", "source", ts_us > 0 ? "historical" : "live");
    if (ts_us > 0) {
        char ts[CLOCK_ISO8601_LEN];
        vas__iso8601(ts_us, ts);
        json_object_set_new(body, "timestamp", json_string(ts));
    }
    if (created_by)
        json_object_set_new(body, "created_by", json_string(created_by));
    if (!vas__put_metadata(body, metadata_json)) {
        json_decref(body);
        return vas__bad_arg(err, "snapshot metadata is not a JSON object");
    }
    json_t *j = NULL;
    int rc = vas__post(v, path, ep, body, &j, err);
    if (rc == 0)
        rc = vas__snapshot_parse(j, out, ep, err);
    json_decref(j);
    return rc;
}

int vas_snapshot_get(vas *v, const char *id, vas_snapshot *out, vas_error *err)
{
    vas_error scratch;
    err = vas__err(err, &scratch);
    static const char ep[] = "GET /v2/snapshots/{id}";
    char sid[256], path[320];
    if (!vas__escape(id, sid, sizeof sid))
        return vas__bad_arg(err, "no snapshot id");
    snprintf(path, sizeof path, "/v2/snapshots/%s", sid);
    json_t *j = NULL;
    int rc = vas__get(v, path, ep, &j, err);
    if (rc == 0)
        rc = vas__snapshot_parse(j, out, ep, err);
    json_decref(j);
    return rc;
}

static json_t *vas__bookmark_body(const vas_bookmark_req *req)
{
    json_t *body =
        json_pack("{sssisi}", "source", req->historical ? "historical" : "live", "before_seconds",
                  req->before_seconds, "after_seconds", req->after_seconds);
    if (req->historical) {
        char ts[CLOCK_ISO8601_LEN];
        vas__iso8601(req->center_timestamp_us, ts);
        json_object_set_new(body, "center_timestamp", json_string(ts));
    }
    if (req->label)
        json_object_set_new(body, "label", json_string(req->label));
    if (req->event_type)
        json_object_set_new(body, "event_type", json_string(req->event_type));
    if (req->confidence >= 0)
        json_object_set_new(body, "confidence", json_real(req->confidence));
    if (req->created_by)
        json_object_set_new(body, "created_by", json_string(req->created_by));
    return body;
}

int vas_bookmark_create(vas *v, const char *stream_id, const vas_bookmark_req *req,
                        vas_bookmark *out, vas_error *err)
{
    vas_error scratch;
    err = vas__err(err, &scratch);
    static const char ep[] = "POST /v2/streams/{id}/bookmarks";
    char sid[256], path[320];
    if (!req)
        return vas__bad_arg(err, "a bookmark needs its request");
    if (!vas__escape(stream_id, sid, sizeof sid))
        return vas__bad_arg(err, "a bookmark needs a stream id (at most 80 characters of it)");
    snprintf(path, sizeof path, "/v2/streams/%s/bookmarks", sid);
    json_t *body = vas__bookmark_body(req);
    if (!vas__put_metadata(body, req->metadata_json)) {
        json_decref(body);
        return vas__bad_arg(err, "bookmark metadata is not a JSON object");
    }
    json_t *j = NULL;
    int rc = vas__post(v, path, ep, body, &j, err);
    if (rc == 0)
        rc = vas__bookmark_parse(j, out, ep, err);
    json_decref(j);
    return rc;
}

int vas_bookmark_get(vas *v, const char *id, vas_bookmark *out, vas_error *err)
{
    vas_error scratch;
    err = vas__err(err, &scratch);
    static const char ep[] = "GET /v2/bookmarks/{id}";
    char sid[256], path[320];
    if (!vas__escape(id, sid, sizeof sid))
        return vas__bad_arg(err, "no bookmark id");
    snprintf(path, sizeof path, "/v2/bookmarks/%s", sid);
    json_t *j = NULL;
    int rc = vas__get(v, path, ep, &j, err);
    if (rc == 0)
        rc = vas__bookmark_parse(j, out, ep, err);
    json_decref(j);
    return rc;
}

/* ---- devices and streams ------------------------------------------------ */

static void vas__device_parse(const json_t *o, vas_device *d)
{
    memset(d, 0, sizeof *d);
    vas__copy(o, "id", d->id, sizeof d->id);
    vas__copy(o, "display_name", d->name, sizeof d->name);
    if (!d->name[0]) /* display_name || name, the guide's rule */
        vas__copy(o, "name", d->name, sizeof d->name);
    vas__copy(o, "location", d->location, sizeof d->location);
    vas__copy(o, "description", d->description, sizeof d->description);
    const json_t *act = json_object_get(o, "is_active");
    d->is_active = !json_is_false(act);
}

static void vas__stream_parse(const json_t *o, vas_stream *s)
{
    memset(s, 0, sizeof *s);
    vas__copy(o, "id", s->id, sizeof s->id);
    vas__copy(o, "camera_id", s->camera_id, sizeof s->camera_id);
    vas__copy(o, "state", s->state, sizeof s->state);
    for (char *p = s->state; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

int vas_devices(vas *v, vas_device **out, size_t *n, vas_error *err)
{
    vas_error scratch;
    err = vas__err(err, &scratch);
    static const char ep[] = "GET /api/v1/devices";
    vas_device *list = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    for (int page = 0; page < VAS_MAX_PAGES; page++) {
        char path[96];
        snprintf(path, sizeof path, "/api/v1/devices?skip=%zu&limit=%d", len, VAS_PAGE);
        json_t *j = NULL;
        if (vas__get(v, path, ep, &j, err) != 0)
            goto failed;
        if (!json_is_array(j)) {
            json_decref(j);
            vas__set_error(err, 200, "BAD_RESPONSE", "%s: the answer is not an array", ep);
            goto failed;
        }
        size_t got = json_array_size(j);
        if (len + got > cap) {
            cap = (len + got) * 2;
            list = xrealloc(list, cap * sizeof *list);
        }
        for (size_t i = 0; i < got; i++)
            vas__device_parse(json_array_get(j, i), &list[len++]);
        json_decref(j);
        if (got < VAS_PAGE)
            break;
    }
    *out = list;
    *n = len;
    return 0;
failed:
    free(list);
    return -1;
}

/* The streams of one answer page: {streams: [...], pagination} (a bare
 * array accepted too). NULL if neither. */
static const json_t *vas__streams_items(const json_t *j)
{
    if (json_is_array(j))
        return j;
    const json_t *a = json_object_get(j, "streams");
    return json_is_array(a) ? a : NULL;
}

int vas_streams(vas *v, const char *camera_id, vas_stream **out, size_t *n, vas_error *err)
{
    vas_error scratch;
    err = vas__err(err, &scratch);
    static const char ep[] = "GET /v2/streams";
    char cam[400] = "";
    vas_stream *list = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    *n = 0;
    if (camera_id && !vas__escape(camera_id, cam, sizeof cam))
        return vas__bad_arg(err, "camera id too long");
    for (int page = 0; page < VAS_MAX_PAGES; page++) {
        char path[512];
        snprintf(path, sizeof path, "/v2/streams?%s%s%slimit=%d&offset=%zu",
                 cam[0] ? "camera_id=" : "", cam, cam[0] ? "&" : "", VAS_PAGE, len);
        json_t *j = NULL;
        if (vas__get(v, path, ep, &j, err) != 0)
            goto failed;
        const json_t *a = vas__streams_items(j);
        if (!a) {
            json_decref(j);
            vas__set_error(err, 200, "BAD_RESPONSE", "%s: no streams list in the answer", ep);
            goto failed;
        }
        size_t got = json_array_size(a);
        json_int_t total =
            json_integer_value(json_object_get(json_object_get(j, "pagination"), "total"));
        if (len + got > cap) {
            cap = (len + got) * 2;
            list = xrealloc(list, cap * sizeof *list);
        }
        for (size_t i = 0; i < got; i++)
            vas__stream_parse(json_array_get(a, i), &list[len++]);
        json_decref(j);
        if (got < VAS_PAGE || (total > 0 && len >= (size_t)total))
            break;
    }
    *out = list;
    *n = len;
    return 0;
failed:
    free(list);
    return -1;
}

int vas_probe(vas *v, vas_error *err)
{
    vas_error scratch;
    err = vas__err(err, &scratch);
    json_t *j = NULL;
    int rc = vas__get(v, "/v2/streams?limit=1", "GET /v2/streams", &j, err);
    json_decref(j);
    return rc;
}

/* ---- media -------------------------------------------------------------- */

/* The route pattern of a media path, for metrics and logs. */
static const char *vas__media_endpoint(const char *path)
{
    size_t l = strcspn(path, "?");
    const char *kinds[][2] = {{"/v2/snapshots/", "/image"},
                              {"/v2/bookmarks/", "/video"},
                              {"/v2/bookmarks/", "/thumbnail"}};
    const char *names[] = {"GET /v2/snapshots/{id}/image", "GET /v2/bookmarks/{id}/video",
                           "GET /v2/bookmarks/{id}/thumbnail"};
    for (size_t i = 0; i < 3; i++) {
        size_t pl = strlen(kinds[i][0]), sl = strlen(kinds[i][1]);
        if (l > pl + sl && strncmp(path, kinds[i][0], pl) == 0 &&
            strncmp(path + l - sl, kinds[i][1], sl) == 0)
            return names[i];
    }
    return "GET (other media)";
}

int vas_media_get(vas *v, const char *path, const char *range, size_t max_bytes,
                  const vas_media_sink *sink, vas_error *err)
{
    vas_error scratch;
    err = vas__err(err, &scratch);
    if (!path || !sink || !sink->on_data)
        return vas__bad_arg(err, "a media call needs a path and a data callback");
    /* An absolute URL (as VAS may give) is accepted only on VAS itself: the
     * token is never sent to another host. */
    size_t bl = strlen(v->base);
    if (strncmp(path, v->base, bl) == 0 && path[bl] == '/')
        path += bl;
    if (path[0] != '/')
        return vas__bad_arg(err, "a media path must be relative to VAS_BASE_URL");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return vas__bad_arg(err, "a media path must be escaped");
    if (range && strpbrk(range, "\r\n"))
        return vas__bad_arg(err, "a Range header cannot hold a line break");
    vas__req rq = {.method = "GET",
                   .path = path,
                   .endpoint = vas__media_endpoint(path),
                   .auth = true,
                   .sink = sink,
                   .range = range,
                   .max_bytes = max_bytes};
    return vas__call_media(v, &rq, err);
}

/* ---- retries ------------------------------------------------------------ */

int vas_retry_delay_ms(const vas_error *err, int attempt)
{
    static const int d500[] = {2000, 5000}, d502[] = {5000, 10000, 30000},
                     d503[] = {10000, 30000, 60000}, d504[] = {30000, 60000},
                     dnet[] = {2000, 5000, 10000};
    const int *d = NULL;
    int n = 0;
    if (!err || attempt < 1)
        return -1;
    if (strcmp(err->code, "NO_RECORDING_DATA") == 0)
        return -1; /* older than the retention: final whatever the status */
    if (strcmp(err->code, "EXTRACTION_TIMEOUT") == 0) {
        d = d500; /* the guide files it under 500 */
        n = 2;
    } else if (err->http_status == 0) {
        if (strcmp(err->code, "NETWORK") == 0) {
            d = dnet;
            n = 3;
        }
    } else if (err->http_status == 500) {
        d = d500;
        n = 2;
    } else if (err->http_status == 502) {
        d = d502;
        n = 3;
    } else if (err->http_status == 503) {
        d = d503;
        n = 3;
    } else if (err->http_status == 504) {
        d = d504;
        n = 2;
    }
    if (!d || attempt > n)
        return -1;
    /* +-20 %; rand_r with a seed of our own: thread-safe, no shared state. */
    unsigned seed = (unsigned)clock_mono_us() ^ (unsigned)(uintptr_t)&seed ^ (unsigned)attempt;
    double f = 0.8 + 0.4 * ((double)rand_r(&seed) / RAND_MAX);
    return (int)(d[attempt - 1] * f);
}
