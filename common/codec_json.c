/* codec_json.c - JSON values validated against the Avro schemas.
 *
 * An InferenceResult is first rewritten by codec_json_runtime.c (proto3
 * names, the contract's error payloads, metadata and unknown fields kept).
 *
 * Field names are the schemas'; timestamps are integer microseconds (input
 * also accepts ISO 8601 with an offset), UUIDs strings, absent optionals
 * null. Bounding boxes are written by codec_boxes_json (codec_boxes.c), the
 * one box writer, which also writes the database columns the API serves. Input is
 * depth-checked before jansson sees it, without recursion. */
#include "codec.h"

#include "codec_internal.h"
#include "xmalloc.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nesting depth of a JSON text, stopping at `limit` + 1. */
int codec_json_depth(const char *s, size_t len, int limit)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max && (max = depth) > limit)
                return max;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

int codec__json_load(const char *data, size_t len, json_t **root, codec_error *err)
{
    if (codec_json_depth(data, len, CODEC_JSON_MAX_DEPTH) > CODEC_JSON_MAX_DEPTH)
        return codec_error_set(err, CODEC_E_JSON_TOO_DEEP, "JSON nested deeper than %d levels",
                               CODEC_JSON_MAX_DEPTH);
    json_error_t jerr;
    *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*root) {
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            return codec_error_set(err, CODEC_E_INVALID_UTF8, "JSON is not valid UTF-8");
        return codec_error_set(err, CODEC_E_JSON_SYNTAX, "JSON: %s at line %d column %d", jerr.text,
                               jerr.line, jerr.column);
    }
    if (!json_is_object(*root)) {
        json_decref(*root);
        *root = NULL;
        return codec_error_set(err, CODEC_E_JSON_SYNTAX, "JSON value is not an object");
    }
    return 0;
}

/* Required or optional string field; NULL/absent allowed when optional. */
static int json__str(json_t *obj, const char *name, bool required, const char **out, codec_arena *a,
                     codec_error *err, const char *prefix)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return codec_error_set(err, CODEC_E_MISSING_FIELD, "%s%s is required", prefix, name);
        return 0;
    }
    if (!json_is_string(v))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "%s%s must be a string", prefix, name);
    size_t n = json_string_length(v);
    if (n > CODEC_MAX_STRING)
        return codec_error_set(err, CODEC_E_TOO_LARGE, "%s%s is longer than %d bytes", prefix, name,
                               CODEC_MAX_STRING);
    if (memchr(json_string_value(v), 0, n))
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "%s%s contains a NUL character", prefix,
                               name);
    *out = codec_arena_strndup(a, json_string_value(v), n);
    return 0;
}

static int json__num(json_t *obj, const char *name, bool required, double *out, bool *has,
                     codec_error *err, const char *prefix)
{
    json_t *v = json_object_get(obj, name);
    if (has)
        *has = false;
    if (!v || json_is_null(v)) {
        if (required)
            return codec_error_set(err, CODEC_E_MISSING_FIELD, "%s%s is required", prefix, name);
        return 0;
    }
    if (!json_is_number(v))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "%s%s must be a number", prefix, name);
    *out = json_number_value(v);
    if (has)
        *has = true;
    return 0;
}

/* Optional integer in 0..INT32_MAX (0 when absent or null). */
static int json__opt_int32(json_t *obj, const char *name, int32_t *out, codec_error *err)
{
    json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "%s must be an integer", name);
    json_int_t n = json_integer_value(v);
    if (n < 0 || n > INT32_MAX)
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "%s %lld is out of range", name,
                               (long long)n);
    *out = (int32_t)n;
    return 0;
}

static int json__timestamp(json_t *obj, const char *name, bool required, int64_t *out,
                           codec_error *err)
{
    json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v || json_is_null(v))
        return required ? codec_error_set(err, CODEC_E_MISSING_FIELD, "%s is required", name) : 0;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        if (!codec_parse_iso8601(json_string_value(v), out))
            return codec_error_set(err, CODEC_E_INVALID_VALUE,
                                   "%s is not ISO 8601 with an offset (e.g. 2026-11-22T10:00:00Z)",
                                   name);
        return 0;
    }
    return codec_error_set(err, CODEC_E_WRONG_TYPE,
                           "%s must be integer microseconds or an ISO 8601 string", name);
}

static int json__boxes(json_t *obj, const char *name, codec_bbox **boxes, size_t *nboxes,
                       codec_arena *a, codec_error *err)
{
    json_t *arr = json_object_get(obj, name);
    *boxes = NULL;
    *nboxes = 0;
    if (!arr || json_is_null(arr))
        return 0;
    if (!json_is_array(arr))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "%s must be an array", name);
    size_t n = json_array_size(arr);
    if (n > CODEC_MAX_BOXES)
        return codec_error_set(err, CODEC_E_TOO_LARGE, "more than %d %s", CODEC_MAX_BOXES, name);
    if (n == 0)
        return 0;
    codec_bbox *b = codec_arena_alloc(a, n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(arr, i);
        char prefix[48];
        snprintf(prefix, sizeof prefix, "%s[%zu].", name, i);
        memset(&b[i], 0, sizeof b[i]);
        if (!json_is_object(it))
            return codec_error_set(err, CODEC_E_WRONG_TYPE, "%s[%zu] must be an object", name, i);
        /* x and y may be left out: proto3 JSON omits zeros (a box at the edge). */
        if (json__num(it, "x", false, &b[i].x, NULL, err, prefix) ||
            json__num(it, "y", false, &b[i].y, NULL, err, prefix) ||
            json__num(it, "width", true, &b[i].width, NULL, err, prefix) ||
            json__num(it, "height", true, &b[i].height, NULL, err, prefix) ||
            json__str(it, "label", false, &b[i].label, a, err, prefix) ||
            json__num(it, "confidence", false, &b[i].confidence, &b[i].has_confidence, err, prefix))
            return -1;
    }
    *boxes = b;
    *nboxes = n;
    return 0;
}

/* Proto3 JSON leaves unset strings empty (or out): an empty optional
 * string is absent. */
static void json__empty_is_absent(const char **s)
{
    if (*s && !**s)
        *s = NULL;
}

static int json__attributes(json_t *root, inference_result *r, codec_arena *a, codec_error *err)
{
    json_t *attrs = json_object_get(root, "attributes");
    if (!attrs || json_is_null(attrs))
        return 0;
    if (!json_is_object(attrs))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "attributes must be an object of strings");
    size_t n = json_object_size(attrs);
    if (n > CODEC_MAX_ATTRIBUTES)
        return codec_error_set(err, CODEC_E_TOO_LARGE, "more than %d attributes",
                               CODEC_MAX_ATTRIBUTES);
    r->attributes = n ? codec_arena_alloc(a, n * sizeof *r->attributes) : NULL;
    const char *key;
    json_t *v;
    json_object_foreach(attrs, key, v)
    {
        if (!json_is_string(v))
            return codec_error_set(err, CODEC_E_WRONG_TYPE, "attributes.%.64s must be a string",
                                   key);
        codec_attr *kv = &r->attributes[r->nattributes++];
        kv->key = codec_arena_strndup(a, key, strlen(key));
        kv->value = codec_arena_strndup(a, json_string_value(v), json_string_length(v));
    }
    return 0;
}

int codec__json_decode_inference(const char *data, size_t len, const codec_decode_opts *opts,
                                 inference_result *r, codec_arena *a, codec_error *err)
{
    json_t *input, *root = NULL;
    if (codec__json_load(data, len, &input, err))
        return -1;
    int rc = -1;
    bool has_conf;
    bool camera_req = !(opts && opts->default_camera_id);
    bool ts_req = !(opts && opts->has_default_timestamp);
    bool model_req = !(opts && opts->model_id_optional);
    if (codec__json_runtime_normalize(input, &root, r, a, err) ||
        json__str(root, "camera_id", camera_req, &r->camera_id, a, err, "") ||
        json__str(root, "model_id", model_req, &r->model_id, a, err, "") ||
        json__timestamp(root, "timestamp", ts_req, &r->timestamp_us, err) ||
        json__str(root, "event_type", true, &r->event_type, a, err, "") ||
        json__num(root, "confidence", false, &r->confidence, &has_conf, err, "") ||
        json__boxes(root, "bounding_boxes", &r->boxes, &r->nboxes, a, err) ||
        json__str(root, "frame_id", false, &r->frame_id, a, err, "") ||
        json__str(root, "stream_id", false, &r->stream_id, a, err, "") ||
        json__str(root, "model_version", false, &r->model_version, a, err, "") ||
        json__num(root, "inference_time_ms", false, &r->inference_time_ms, &r->has_inference_time,
                  err, "") ||
        json__str(root, "runtime_id", false, &r->runtime_id, a, err, "") ||
        json__str(root, "error_code", false, &r->error_code, a, err, "") ||
        json__str(root, "error_message", false, &r->error_message, a, err, "") ||
        json__str(root, "result_id", false, &r->result_id, a, err, "") ||
        json__opt_int32(root, "frame_width", &r->frame_width, err) ||
        json__opt_int32(root, "frame_height", &r->frame_height, err) ||
        json__attributes(root, r, a, err))
        goto done;
    if (!has_conf)
        r->confidence = 0;
    const char **optional[] = {&r->frame_id,   &r->stream_id,     &r->model_version, &r->runtime_id,
                               &r->error_code, &r->error_message, &r->result_id};
    for (size_t i = 0; i < sizeof optional / sizeof optional[0]; i++)
        json__empty_is_absent(optional[i]);
    if (!r->camera_id) {
        r->camera_id =
            codec_arena_strndup(a, opts->default_camera_id, strlen(opts->default_camera_id));
        r->defaulted |= CODEC_DEFAULTED_CAMERA;
    }
    json_t *ts = json_object_get(root, "timestamp");
    if (!ts || json_is_null(ts)) {
        r->timestamp_us = opts->default_timestamp_us;
        r->defaulted |= CODEC_DEFAULTED_TIMESTAMP;
    }
    rc = 0;
done:
    json_decref(root);
    json_decref(input);
    return rc;
}

/* ---- encoders ---- */

static json_t *json__opt_str(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *json__boxes_out(const codec_bbox *b, size_t n)
{
    buf text = {0};
    codec_boxes_json(&text, b, n, true); /* messages: every schema field, absent ones null */
    json_t *arr = json_loadb((const char *)text.data, text.len, JSON_DECODE_INT_AS_REAL, NULL);
    buf_free(&text);
    return arr;
}

static int json__dump(json_t *root, buf *out, codec_error *err)
{
    char *s = root ? json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(root);
    if (!s)
        return codec_error_set(err, CODEC_E_INVALID_VALUE,
                               "cannot encode as JSON (invalid UTF-8 or a non-finite number)");
    buf_append_str(out, s);
    free(s);
    return 0;
}

/* json_real refuses NaN/inf: map to an error instead of a silent null. */
static json_t *json__real(double v, bool *bad)
{
    if (!isfinite(v)) {
        *bad = true;
        return json_null();
    }
    return json_real(v);
}

int codec__json_encode_inference(const inference_result *r, buf *out, codec_error *err)
{
    bool bad = false;
    json_t *o = json_object();
    json_object_set_new(o, "camera_id", json__opt_str(r->camera_id));
    json_object_set_new(o, "model_id", json__opt_str(r->model_id));
    json_object_set_new(o, "timestamp", json_integer(r->timestamp_us));
    json_object_set_new(o, "event_type", json__opt_str(r->event_type));
    json_object_set_new(o, "confidence", json__real(r->confidence, &bad));
    json_object_set_new(o, "bounding_boxes", json__boxes_out(r->boxes, r->nboxes));
    json_object_set_new(o, "frame_id", json__opt_str(r->frame_id));
    json_object_set_new(o, "stream_id", json__opt_str(r->stream_id));
    json_object_set_new(o, "model_version", json__opt_str(r->model_version));
    json_object_set_new(o, "inference_time_ms",
                        r->has_inference_time ? json__real(r->inference_time_ms, &bad)
                                              : json_null());
    json_object_set_new(o, "runtime_id", json__opt_str(r->runtime_id));
    json_object_set_new(o, "error_code", json__opt_str(r->error_code));
    json_object_set_new(o, "error_message", json__opt_str(r->error_message));
    json_t *attrs = json_object();
    for (size_t i = 0; i < r->nattributes; i++)
        json_object_set_new(attrs, r->attributes[i].key, json_string(r->attributes[i].value));
    json_object_set_new(o, "attributes", attrs);
    json_object_set_new(o, "result_id", json__opt_str(r->result_id));
    json_object_set_new(o, "frame_width",
                        r->frame_width > 0 ? json_integer(r->frame_width) : json_null());
    json_object_set_new(o, "frame_height",
                        r->frame_height > 0 ? json_integer(r->frame_height) : json_null());
    /* Kept fields go out as they came in, so a re-encoded result decodes
     * to the same metadata and unknown fields. */
    if (r->metadata_json)
        json_object_set_new(o, "metadata", json_loads(r->metadata_json, JSON_DECODE_ANY, NULL));
    json_t *extra = r->extra_json ? json_loads(r->extra_json, 0, NULL) : NULL;
    if (extra)
        json_object_update_missing(o, extra);
    json_decref(extra);
    if (bad) {
        json_decref(o);
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "a number is not finite");
    }
    return json__dump(o, out, err);
}

int codec__json_encode_event(const event_msg *m, buf *out, codec_error *err)
{
    bool bad = false;
    json_t *o = json_object();
    json_object_set_new(o, "id", json__opt_str(m->id));
    json_object_set_new(o, "camera_id", json__opt_str(m->camera_id));
    json_object_set_new(o, "stream_id", json__opt_str(m->stream_id));
    json_object_set_new(o, "event_type", json__opt_str(m->event_type));
    json_object_set_new(o, "type_detail", json__opt_str(m->type_detail));
    json_object_set_new(o, "confidence", json__real(m->confidence, &bad));
    json_object_set_new(o, "timestamp", json_integer(m->timestamp_us));
    json_object_set_new(o, "model_id", json__opt_str(m->model_id));
    json_object_set_new(o, "model_version", json__opt_str(m->model_version));
    json_object_set_new(o, "bounding_boxes", json__boxes_out(m->boxes, m->nboxes));
    json_object_set_new(o, "frame_id", json__opt_str(m->frame_id));
    json_object_set_new(o, "inference_time_ms",
                        m->has_inference_time ? json__real(m->inference_time_ms, &bad)
                                              : json_null());
    json_object_set_new(o, "violation_id", json__opt_str(m->violation_id));
    json_object_set_new(o, "created_at", json_integer(m->created_at_us));
    json_object_set_new(o, "metadata", json__opt_str(m->metadata_json));
    json_object_set_new(o, "extra", json__opt_str(m->extra_json));
    if (bad) {
        json_decref(o);
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "a number is not finite");
    }
    return json__dump(o, out, err);
}

static json_t *json__opt_ts(int64_t us)
{
    return us ? json_integer(us) : json_null();
}

int codec__json_encode_violation_change(const violation_change_msg *m, buf *out, codec_error *err)
{
    const violation_msg *v = &m->violation;
    bool bad = false;
    json_t *vo = json_object();
    json_object_set_new(vo, "id", json__opt_str(v->id));
    json_object_set_new(vo, "type", json__opt_str(v->type));
    json_object_set_new(vo, "camera_id", json__opt_str(v->camera_id));
    json_object_set_new(vo, "stream_id", json__opt_str(v->stream_id));
    json_object_set_new(vo, "status", json__opt_str(v->status));
    json_object_set_new(vo, "severity", json__opt_str(v->severity));
    json_object_set_new(vo, "confidence", json__real(v->confidence, &bad));
    json_object_set_new(vo, "max_confidence", json__real(v->max_confidence, &bad));
    json_object_set_new(vo, "event_count", json_integer(v->event_count));
    json_object_set_new(vo, "first_event_at", json_integer(v->first_event_at_us));
    json_object_set_new(vo, "last_event_at", json_integer(v->last_event_at_us));
    json_object_set_new(vo, "ended_at", json__opt_ts(v->ended_at_us));
    json_object_set_new(vo, "bounding_boxes", json__boxes_out(v->boxes, v->nboxes));
    json_object_set_new(vo, "reviewed_by", json__opt_str(v->reviewed_by));
    json_object_set_new(vo, "reviewed_at", json__opt_ts(v->reviewed_at_us));
    json_object_set_new(vo, "resolution_notes", json__opt_str(v->resolution_notes));
    json_object_set_new(vo, "snapshot_status", json__opt_str(v->snapshot_status));
    json_object_set_new(vo, "snapshot_url", json__opt_str(v->snapshot_url));
    json_object_set_new(vo, "bookmark_status", json__opt_str(v->bookmark_status));
    json_object_set_new(vo, "bookmark_url", json__opt_str(v->bookmark_url));
    json_object_set_new(vo, "created_at", json_integer(v->created_at_us));
    json_object_set_new(vo, "updated_at", json_integer(v->updated_at_us));
    json_object_set_new(vo, "version", json_integer(v->version));
    json_t *o = json_object();
    json_object_set_new(o, "violation_id", json__opt_str(m->violation_id));
    json_object_set_new(o, "change", json__opt_str(m->change));
    json_object_set_new(o, "occurred_at", json_integer(m->occurred_at_us));
    json_object_set_new(o, "version", json_integer(m->version));
    json_object_set_new(o, "violation", vo);
    if (bad) {
        json_decref(o);
        return codec_error_set(err, CODEC_E_INVALID_VALUE, "a number is not finite");
    }
    return json__dump(o, out, err);
}

int codec__json_encode_evidence_request(const evidence_request_msg *m, buf *out, codec_error *err)
{
    json_t *o = json_object();
    json_object_set_new(o, "violation_id", json__opt_str(m->violation_id));
    json_object_set_new(o, "camera_id", json__opt_str(m->camera_id));
    json_object_set_new(o, "stream_id", json__opt_str(m->stream_id));
    json_object_set_new(o, "kind", json__opt_str(m->kind));
    json_object_set_new(o, "center_timestamp", json_integer(m->center_timestamp_us));
    json_object_set_new(o, "before_seconds", json_integer(m->before_seconds));
    json_object_set_new(o, "after_seconds", json_integer(m->after_seconds));
    json_object_set_new(o, "attempt", json_integer(m->attempt));
    return json__dump(o, out, err);
}

/* ---- decoders of the pipeline's own messages ---- */

static int json__int(json_t *obj, const char *name, int64_t *out, codec_error *err)
{
    json_t *v = json_object_get(obj, name);
    if (!v)
        return codec_error_set(err, CODEC_E_MISSING_FIELD, "%s is required", name);
    if (!json_is_integer(v))
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "%s must be an integer", name);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int json__opt_int(json_t *obj, const char *name, int64_t *out, codec_error *err)
{
    json_t *v = json_object_get(obj, name);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    return json__int(obj, name, out, err);
}

int codec__json_decode_evidence_request(const char *data, size_t len, evidence_request_msg *m,
                                        codec_arena *a, codec_error *err)
{
    json_t *root;
    if (codec__json_load(data, len, &root, err))
        return -1;
    int64_t before = 0, after = 0, attempt = 0;
    int rc =
        json__str(root, "violation_id", true, &m->violation_id, a, err, "") ||
                json__str(root, "camera_id", true, &m->camera_id, a, err, "") ||
                json__str(root, "stream_id", false, &m->stream_id, a, err, "") ||
                json__str(root, "kind", true, &m->kind, a, err, "") ||
                json__timestamp(root, "center_timestamp", true, &m->center_timestamp_us, err) ||
                json__int(root, "before_seconds", &before, err) ||
                json__int(root, "after_seconds", &after, err) ||
                json__int(root, "attempt", &attempt, err)
            ? -1
            : 0;
    if (!rc && strcmp(m->kind, "snapshot") != 0 && strcmp(m->kind, "bookmark") != 0)
        rc = codec_error_set(err, CODEC_E_INVALID_VALUE, "kind must be snapshot or bookmark");
    if (!rc && (before < 0 || before > INT32_MAX || after < 0 || after > INT32_MAX || attempt < 0 ||
                attempt > INT32_MAX))
        rc = codec_error_set(err, CODEC_E_INVALID_VALUE,
                             "seconds and attempt must be small integers");
    m->before_seconds = (int32_t)before;
    m->after_seconds = (int32_t)after;
    m->attempt = (int32_t)attempt;
    json_decref(root);
    return rc;
}

/* Enum fields arrive as strings in JSON: the schema's symbols only. */
static bool json__one_of(const char *s, const char *const *symbols)
{
    for (; *symbols; symbols++)
        if (!strcmp(s, *symbols))
            return true;
    return false;
}

int codec__json_decode_violation_change(const char *data, size_t len, violation_change_msg *m,
                                        codec_arena *a, codec_error *err)
{
    json_t *root;
    if (codec__json_load(data, len, &root, err))
        return -1;
    violation_msg *v = &m->violation;
    json_t *vo = json_object_get(root, "violation");
    codec_bbox *boxes = NULL;
    bool has;
    int rc = -1;
    if (!json_is_object(vo)) {
        codec_error_set(err, vo ? CODEC_E_WRONG_TYPE : CODEC_E_MISSING_FIELD,
                        "violation must be an object");
        goto done;
    }
    if (json__str(root, "violation_id", true, &m->violation_id, a, err, "") ||
        json__str(root, "change", true, &m->change, a, err, "") ||
        json__int(root, "occurred_at", &m->occurred_at_us, err) ||
        json__int(root, "version", &m->version, err) ||
        json__str(vo, "id", true, &v->id, a, err, "violation.") ||
        json__str(vo, "type", true, &v->type, a, err, "violation.") ||
        json__str(vo, "camera_id", true, &v->camera_id, a, err, "violation.") ||
        json__str(vo, "stream_id", false, &v->stream_id, a, err, "violation.") ||
        json__str(vo, "status", true, &v->status, a, err, "violation.") ||
        json__str(vo, "severity", true, &v->severity, a, err, "violation.") ||
        json__num(vo, "confidence", true, &v->confidence, &has, err, "violation.") ||
        json__num(vo, "max_confidence", true, &v->max_confidence, &has, err, "violation.") ||
        json__int(vo, "event_count", &v->event_count, err) ||
        json__int(vo, "first_event_at", &v->first_event_at_us, err) ||
        json__int(vo, "last_event_at", &v->last_event_at_us, err) ||
        json__opt_int(vo, "ended_at", &v->ended_at_us, err) ||
        json__boxes(vo, "bounding_boxes", &boxes, &v->nboxes, a, err) ||
        json__str(vo, "reviewed_by", false, &v->reviewed_by, a, err, "violation.") ||
        json__opt_int(vo, "reviewed_at", &v->reviewed_at_us, err) ||
        json__str(vo, "resolution_notes", false, &v->resolution_notes, a, err, "violation.") ||
        json__str(vo, "snapshot_status", false, &v->snapshot_status, a, err, "violation.") ||
        json__str(vo, "snapshot_url", false, &v->snapshot_url, a, err, "violation.") ||
        json__str(vo, "bookmark_status", false, &v->bookmark_status, a, err, "violation.") ||
        json__str(vo, "bookmark_url", false, &v->bookmark_url, a, err, "violation.") ||
        json__int(vo, "created_at", &v->created_at_us, err) ||
        json__int(vo, "updated_at", &v->updated_at_us, err) ||
        json__int(vo, "version", &v->version, err))
        goto done;
    if (!json__one_of(m->change,
                      (const char *const[]){"opened", "updated", "status_changed", "evidence_ready",
                                            "evidence_failed", NULL})) {
        codec_error_set(err, CODEC_E_INVALID_VALUE, "change \"%.64s\" is not a ChangeKind",
                        m->change);
        goto done;
    }
    if (!json__one_of(v->status,
                      (const char *const[]){"open", "reviewed", "dismissed", "resolved", NULL})) {
        codec_error_set(err, CODEC_E_INVALID_VALUE,
                        "violation.status \"%.64s\" is not a ViolationStatus", v->status);
        goto done;
    }
    v->boxes = boxes;
    rc = 0;
done:
    json_decref(root);
    return rc;
}
