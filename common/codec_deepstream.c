/* codec_deepstream.c - NVIDIA DeepStream nvmsgconv JSON as InferenceResults.
 *
 * nvmsgconv (with nvmsgbroker's Kafka adapter) publishes one of two JSON
 * payload types, chosen by its `payload-type` property:
 *   full (0), one message per object:
 *     {"messageid", "mdsversion", "@timestamp", "place": {...},
 *      "sensor": {"id", "type", "description", ...},
 *      "analyticsModule": {"id", "description", "source", "version", ...},
 *      "object": {"id" (tracking id), "speed", "direction", "orientation",
 *                 "<type>": {..., "confidence"}, "bbox": {"topleftx", "toplefty",
 *                 "bottomrightx", "bottomrighty"}, "location", "coordinate"},
 *      "event": {"id", "type"}, "videoPath"}
 *     where <type> is vehicle, person, face, ... or, for an object of unknown
 *     type, its objectId with an empty object (no confidence);
 *   minimal (1), one message per frame:
 *     {"version", "id" (frame id), "@timestamp", "sensorId",
 *      "objects": ["trackingId|left|top|right|bottom|Type[|#|attributes...|confidence]"]}
 *     with the confidence only when secondary attributes follow the '#'.
 * The two are told apart by `object` (full) against `objects` (minimal);
 * both or neither is refused. Each object becomes one result: the sensor id
 * as camera_id (the worker maps it to a camera), the object type as
 * event_type (event_type_map maps it further), one box with the corners
 * turned into x/y/width/height (negative corners, which trackers produce at
 * the frame's edge, clamped to 0), model_id and model_version from
 * analyticsModule (absent in the minimal schema: left NULL for the caller),
 * a negative confidence (DeepStream's "none") as no confidence. The full
 * message, or the minimal object's own fields, is kept as metadata. */
#include "codec.h"

#include "codec_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shared ---- */

static const char *ds__dup(codec_arena *a, const char *s)
{
    return codec_arena_strndup(a, s, strlen(s));
}

/* A non-empty string member, else NULL; -1 on a wrong type. */
static int ds__opt_str(json_t *obj, const char *name, const char **out, codec_arena *a,
                       codec_error *err, const char *where)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "%s%s must be a string", where, name);
    if (json_string_length(v) > CODEC_MAX_STRING)
        return codec_error_set(err, CODEC_E_TOO_LARGE, "%s%s is longer than %d bytes", where, name,
                               CODEC_MAX_STRING);
    if (json_string_length(v))
        *out = codec_arena_strndup(a, json_string_value(v), json_string_length(v));
    return 0;
}

static int ds__timestamp(json_t *root, const codec_decode_opts *opts, int64_t *us, unsigned *flags,
                         codec_error *err)
{
    json_t *v = json_object_get(root, "@timestamp");
    if (!v || json_is_null(v)) {
        if (!opts || !opts->has_default_timestamp)
            return codec_error_set(err, CODEC_E_MISSING_FIELD, "@timestamp is required");
        *us = opts->default_timestamp_us;
        *flags |= CODEC_DEFAULTED_TIMESTAMP;
        return 0;
    }
    if (!json_is_string(v))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "@timestamp must be an RFC 3339 string");
    if (!codec_parse_iso8601(json_string_value(v), us))
        return codec_error_set(err, CODEC_E_INVALID_VALUE,
                               "@timestamp \"%.64s\" is not RFC 3339 with an offset",
                               json_string_value(v));
    return 0;
}

/* Camera: the sensor id, else the Kafka key. */
static int ds__camera(const char *sensor, const codec_decode_opts *opts, inference_result *r,
                      codec_arena *a, codec_error *err, const char *field)
{
    if (sensor) {
        r->camera_id = sensor;
        return 0;
    }
    if (opts && opts->default_camera_id && *opts->default_camera_id) {
        r->camera_id = ds__dup(a, opts->default_camera_id);
        r->defaulted |= CODEC_DEFAULTED_CAMERA;
        return 0;
    }
    return codec_error_set(err, CODEC_E_MISSING_FIELD, "%s is required (the camera)", field);
}

/* One box from corners; corners below 0 clamped to 0. */
static int ds__box(inference_result *r, codec_arena *a, const double c[4], bool has_conf,
                   codec_error *err, const char *where)
{
    double l = c[0], t = c[1], rt = c[2], b = c[3];
    if (!isfinite(l) || !isfinite(t) || !isfinite(rt) || !isfinite(b))
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "%sbox corner is not a number", where);
    l = l < 0 ? 0 : l;
    t = t < 0 ? 0 : t;
    if (rt < l || b < t)
        return codec_error_set(err, CODEC_E_INVALID_VALUE,
                               "%sbox bottom-right (%g, %g) is above or left of top-left (%g, %g)",
                               where, rt, b, l, t);
    codec_bbox *box = codec_arena_alloc(a, sizeof *box);
    memset(box, 0, sizeof *box);
    box->x = l;
    box->y = t;
    box->width = rt - l;
    box->height = b - t;
    box->label = r->event_type;
    box->confidence = r->confidence;
    box->has_confidence = has_conf;
    r->boxes = box;
    r->nboxes = 1;
    return 0;
}

static void ds__attr(inference_result *r, codec_arena *a, const char *key, const char *value)
{
    if (!value)
        return;
    if (!r->attributes)
        r->attributes = codec_arena_alloc(a, 8 * sizeof *r->attributes);
    if (r->nattributes == 8)
        return;
    r->attributes[r->nattributes].key = ds__dup(a, key);
    r->attributes[r->nattributes].value = value;
    r->nattributes++;
}

static const char *ds__dump(json_t *v, codec_arena *a)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    const char *out = s ? ds__dup(a, s) : NULL;
    free(s);
    return out;
}

/* ---- full schema ---- */

/* Members of `object` that are not its type. */
static bool ds__reserved(const char *key)
{
    static const char *const names[] = {"id",   "speed",        "direction",  "orientation",
                                        "bbox", "signature",    "location",   "coordinate",
                                        "pose", "embedding",    "confidence", "bbox3d",
                                        "info", "segmentation", NULL};
    for (const char *const *p = names; *p; p++)
        if (!strcmp(key, *p))
            return true;
    return false;
}

static int ds__bbox_num(json_t *bbox, const char *name, double *out, codec_error *err)
{
    json_t *v = json_object_get(bbox, name);
    if (!v)
        return codec_error_set(err, CODEC_E_MISSING_FIELD, "object.bbox.%s is required", name);
    if (!json_is_number(v))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "object.bbox.%s must be a number", name);
    *out = json_number_value(v);
    return 0;
}

/* The object's type key and its confidence (negative = none). */
static const char *ds__object_type(json_t *obj, double *conf, bool *has_conf)
{
    const char *key, *type = NULL;
    json_t *v;
    *has_conf = false;
    json_object_foreach(obj, key, v)
    {
        if (ds__reserved(key) || !json_is_object(v))
            continue;
        type = key;
        json_t *c = json_object_get(v, "confidence");
        if (json_is_number(c)) {
            *conf = json_number_value(c);
            *has_conf = true;
        }
        break;
    }
    json_t *c = json_object_get(obj, "confidence");
    if (!*has_conf && json_is_number(c)) {
        *conf = json_number_value(c);
        *has_conf = true;
    }
    if (*has_conf && *conf < 0)
        *has_conf = false;
    return type ? type : "unknown";
}

static int ds__full(json_t *root, const codec_decode_opts *opts, inference_result *r,
                    codec_arena *a, codec_error *err)
{
    json_t *obj = json_object_get(root, "object");
    json_t *sensor = json_object_get(root, "sensor");
    json_t *module = json_object_get(root, "analyticsModule");
    json_t *event = json_object_get(root, "event");
    json_t *bbox = json_object_get(obj, "bbox");
    const char *sensor_id = NULL, *messageid = NULL, *video = NULL, *ev_type = NULL;
    if (!json_is_object(bbox))
        return codec_error_set(err, bbox ? CODEC_E_WRONG_TYPE : CODEC_E_MISSING_FIELD,
                               "object.bbox must be an object");
    if ((json_is_object(sensor) && ds__opt_str(sensor, "id", &sensor_id, a, err, "sensor.")) ||
        ds__opt_str(root, "messageid", &messageid, a, err, "") ||
        ds__opt_str(root, "videoPath", &video, a, err, "") ||
        (json_is_object(module) &&
         (ds__opt_str(module, "id", &r->model_id, a, err, "analyticsModule.") ||
          ds__opt_str(module, "version", &r->model_version, a, err, "analyticsModule."))) ||
        ds__timestamp(root, opts, &r->timestamp_us, &r->defaulted, err) ||
        ds__camera(sensor_id, opts, r, a, err, "sensor.id"))
        return -1;
    double c[4];
    if (ds__bbox_num(bbox, "topleftx", &c[0], err) || ds__bbox_num(bbox, "toplefty", &c[1], err) ||
        ds__bbox_num(bbox, "bottomrightx", &c[2], err) ||
        ds__bbox_num(bbox, "bottomrighty", &c[3], err))
        return -1;
    bool has_conf;
    r->event_type = ds__dup(a, ds__object_type(obj, &r->confidence, &has_conf));
    if (!has_conf)
        r->confidence = 0;
    if (ds__box(r, a, c, has_conf, err, "object."))
        return -1;
    json_t *tid = json_object_get(obj, "id");
    if (json_is_string(tid))
        ds__attr(r, a, "tracking_id", ds__dup(a, json_string_value(tid)));
    else if (json_is_integer(tid)) {
        char t[32];
        snprintf(t, sizeof t, "%" JSON_INTEGER_FORMAT, json_integer_value(tid));
        ds__attr(r, a, "tracking_id", ds__dup(a, t));
    }
    json_t *et = json_is_object(event) ? json_object_get(event, "type") : NULL;
    if (json_is_string(et)) /* "" is kept: DeepStream writes it for unknown events */
        ev_type = ds__dup(a, json_string_value(et));
    ds__attr(r, a, "deepstream_event", ev_type);
    ds__attr(r, a, "video_path", video);
    if (messageid) {
        size_t n = strlen(messageid) + 4;
        char *k = codec_arena_alloc(a, n);
        snprintf(k, n, "ds:%s", messageid);
        r->idempotency_key = k;
    }
    r->metadata_json = ds__dump(root, a);
    return 0;
}

/* ---- minimal schema ---- */

static bool ds__number(const char *s, double *out)
{
    char *end;
    if (!*s)
        return false;
    *out = strtod(s, &end);
    return *end == '\0' && isfinite(*out);
}

/* Split `s` at '|' into at most `max` fields (in place). */
static int ds__split(char *s, char **f, int max)
{
    int n = 0;
    f[n++] = s;
    for (char *p = s; *p; p++) {
        if (*p == '|') {
            *p = '\0';
            if (n == max)
                return -1;
            f[n++] = p + 1;
        }
    }
    return n;
}

#define DS_MAX_FIELDS 64

/* Object `i` of a minimal frame into r. */
static int ds__minimal_object(const char *text, size_t i, inference_result *r, codec_arena *a,
                              codec_error *err)
{
    char where[48];
    snprintf(where, sizeof where, "objects[%zu]: ", i);
    char *copy = (char *)ds__dup(a, text);
    char *f[DS_MAX_FIELDS];
    int n = ds__split(copy, f, DS_MAX_FIELDS);
    if (n < 0)
        return codec_error_set(err, CODEC_E_TOO_LARGE, "%smore than %d fields", where,
                               DS_MAX_FIELDS);
    if (n < 6)
        return codec_error_set(err, CODEC_E_INVALID_VALUE,
                               "%s%d fields; expected trackingId|left|top|right|bottom|type", where,
                               n);
    double c[4];
    for (int k = 0; k < 4; k++)
        if (!ds__number(f[1 + k], &c[k]))
            return codec_error_set(err, CODEC_E_INVALID_VALUE,
                                   "%sbox corner \"%.32s\" is not a number", where, f[1 + k]);
    bool has_conf = false;
    json_t *attrs = json_array();
    if (n > 6) {
        if (strcmp(f[6], "#") || n < 8) {
            json_decref(attrs);
            return codec_error_set(err, CODEC_E_INVALID_VALUE,
                                   "%sexpected |#|attributes...|confidence after the type", where);
        }
        if (!ds__number(f[n - 1], &r->confidence)) {
            json_decref(attrs);
            return codec_error_set(err, CODEC_E_INVALID_VALUE,
                                   "%sconfidence \"%.32s\" is not a number", where, f[n - 1]);
        }
        has_conf = r->confidence >= 0;
        for (int k = 7; k < n - 1; k++)
            json_array_append_new(attrs, json_string(f[k]));
    }
    if (!has_conf)
        r->confidence = 0;
    r->event_type = ds__dup(a, *f[5] ? f[5] : "unknown");
    if (ds__box(r, a, c, has_conf, err, where)) {
        json_decref(attrs);
        return -1;
    }
    ds__attr(r, a, "tracking_id", ds__dup(a, f[0]));
    json_t *meta =
        json_pack("{s:s, s:s, s:o}", "tracking_id", f[0], "object", text, "attributes", attrs);
    r->metadata_json = meta ? ds__dump(meta, a) : NULL;
    json_decref(meta);
    return 0;
}

/* why: one pass over the frame's fields, then one result per object, each
 * sharing the frame's camera, time and key prefix; splitting it hides that. */
static int ds__minimal(json_t *root, const codec_decode_opts *opts, inference_result *out,
                       size_t max, size_t *nout, codec_error *err)
{
    json_t *objs = json_object_get(root, "objects");
    size_t n = json_array_size(objs);
    if (n > max)
        return codec_error_set(err, CODEC_E_TOO_LARGE, "%zu objects in one frame (at most %zu)", n,
                               max);
    json_t *sensor = json_object_get(root, "sensorId"), *frame = json_object_get(root, "id");
    json_t *ts = json_object_get(root, "@timestamp");
    if (sensor && !json_is_string(sensor) && !json_is_null(sensor))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "sensorId must be a string");
    char frame_num[32] = "";
    const char *frame_id = frame_num; /* whole: it is part of every object's key */
    if (json_is_integer(frame))
        snprintf(frame_num, sizeof frame_num, "%" JSON_INTEGER_FORMAT, json_integer_value(frame));
    else if (json_is_string(frame))
        frame_id = json_string_value(frame);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(objs, i);
        if (!json_is_string(o))
            return codec_error_set(err, CODEC_E_WRONG_TYPE, "objects[%zu] must be a string", i);
        inference_result *r = &out[i];
        codec_arena *a = codec_arena_new(json_string_length(o) * 4 + 1024);
        r->arena__ = a;
        r->format = CODEC_FMT_JSON;
        *nout = i + 1;
        const char *sid = json_string_length(sensor) ? ds__dup(a, json_string_value(sensor)) : NULL;
        if (ds__timestamp(root, opts, &r->timestamp_us, &r->defaulted, err) ||
            ds__camera(sid, opts, r, a, err, "sensorId") ||
            ds__minimal_object(json_string_value(o), i, r, a, err))
            return -1;
        if (*frame_id)
            r->frame_id = ds__dup(a, frame_id);
        /* No messageid here: the key is derived from what names the object,
         * at its full length (a cut one could lose the object index and so
         * merge a frame's objects into one event; the worker hashes long
         * keys). */
        const char *when = json_is_string(ts) ? json_string_value(ts) : "";
        int klen = snprintf(NULL, 0, "ds:%s/%s/%s/%zu", r->camera_id, frame_id, when, i);
        char *key = codec_arena_alloc(a, (size_t)klen + 1);
        snprintf(key, (size_t)klen + 1, "ds:%s/%s/%s/%zu", r->camera_id, frame_id, when, i);
        r->idempotency_key = key;
        if (codec__validate_inference(r, true, err))
            return -1;
    }
    return 0;
}

int codec_decode_deepstream(codec *c, const void *data, size_t len, const codec_decode_opts *opts,
                            inference_result *out, size_t max, size_t *n, codec_error *err)
{
    (void)c;
    *n = 0;
    const char *p = data;
    size_t skip = 0;
    while (skip < len && isspace((unsigned char)p[skip]))
        skip++;
    if (skip == len || p[skip] != '{')
        return codec_error_set(err, CODEC_E_BAD_FRAMING, "a DeepStream message is a JSON object");
    json_t *root;
    if (codec__json_load(p, len, &root, err))
        return -1;
    json_t *obj = json_object_get(root, "object"), *objs = json_object_get(root, "objects");
    int rc = -1;
    if (obj && objs) {
        codec_error_set(err, CODEC_E_INVALID_VALUE,
                        "both object (full schema) and objects (minimal schema)");
    } else if (json_is_object(obj) && max > 0) {
        memset(&out[0], 0, sizeof out[0]);
        out[0].arena__ = codec_arena_new(len * 2 + 1024);
        out[0].format = CODEC_FMT_JSON;
        *n = 1;
        rc = ds__full(root, opts, &out[0], out[0].arena__, err) ||
                     codec__validate_inference(&out[0], true, err)
                 ? -1
                 : 0;
    } else if (json_is_array(objs)) {
        memset(out, 0, (json_array_size(objs) < max ? json_array_size(objs) : max) * sizeof *out);
        rc = ds__minimal(root, opts, out, max, n, err);
    } else {
        codec_error_set(err, obj || objs ? CODEC_E_WRONG_TYPE : CODEC_E_MISSING_FIELD,
                        "neither an object (full schema, payload-type 0) nor an objects array "
                        "(minimal schema, payload-type 1)");
    }
    json_decref(root);
    if (rc) {
        for (size_t i = 0; i < *n; i++)
            inference_result_free(&out[i]);
        *n = 0;
    }
    return rc;
}
