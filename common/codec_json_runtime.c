/* codec_json_runtime.c - what AI runtimes send, as the Ruth AI documents show
 * it, turned into the InferenceResult fields codec_json.c reads.
 *
 * Before a JSON InferenceResult is read, its top-level object is rewritten
 * into one with our field names only:
 *   - the proto3 JSON names of the API contract's InferenceResponse (§2.2:
 *     cameraId, eventType, boundingBoxes, inferenceTimeMs, modelVersion,
 *     errorCode, errorMessage, ...) are accepted beside the originals, as
 *     protobuf's JSON mapping requires; both names of one field at once is
 *     refused (INVALID_VALUE), as a duplicate key is;
 *   - `version` (model contract InferenceContext, error message §6.5) is
 *     model_version, `message` is error_message;
 *   - the contract's error payloads, model contract §6.3
 *     {"error": true, error_code, error_source, error_details: {model_error_code,
 *     model_id, version, message, recoverable}, frame_id, camera_id} and §6.5
 *     {error_code, error_source, message, timestamp, model_id, version, frame_id,
 *     recoverable, details}, become event_type "error" with their code and
 *     message (model and version from error_details when not at the top);
 *     error_source, recoverable and the details object are kept in metadata;
 *   - `metadata` (any JSON: pose_keypoints, tracking_id, scene_context) is kept
 *     as JSON text (r->metadata_json);
 *   - every other top-level field is kept in an object (r->extra_json) and
 *     counted (r->nunknown): never silently lost. */
#include "codec.h"

#include "codec_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum {
    F_CAMERA,
    F_MODEL,
    F_TIMESTAMP,
    F_EVENT_TYPE,
    F_CONFIDENCE,
    F_BOXES,
    F_FRAME,
    F_STREAM,
    F_MODEL_VERSION,
    F_INFERENCE_TIME,
    F_RUNTIME,
    F_ERROR_CODE,
    F_ERROR_MESSAGE,
    F_ATTRIBUTES,
    F_RESULT_ID,
    F_FRAME_WIDTH,
    F_FRAME_HEIGHT,
    F_METADATA, /* from here on: not copied into the rewritten object */
    F_ERROR,
    F_ERROR_SOURCE,
    F_ERROR_DETAILS,
    F_RECOVERABLE,
    F_COUNT
};

static const struct {
    const char *name;
    const char *alias[2];
} runtime__fields[F_COUNT] = {
    [F_CAMERA] = {"camera_id", {"cameraId"}},
    [F_MODEL] = {"model_id", {"modelId"}},
    [F_TIMESTAMP] = {"timestamp", {NULL}},
    [F_EVENT_TYPE] = {"event_type", {"eventType"}},
    [F_CONFIDENCE] = {"confidence", {NULL}},
    [F_BOXES] = {"bounding_boxes", {"boundingBoxes"}},
    [F_FRAME] = {"frame_id", {"frameId"}},
    [F_STREAM] = {"stream_id", {"streamId"}},
    [F_MODEL_VERSION] = {"model_version", {"modelVersion", "version"}},
    [F_INFERENCE_TIME] = {"inference_time_ms", {"inferenceTimeMs"}},
    [F_RUNTIME] = {"runtime_id", {"runtimeId"}},
    [F_ERROR_CODE] = {"error_code", {"errorCode"}},
    [F_ERROR_MESSAGE] = {"error_message", {"errorMessage", "message"}},
    [F_ATTRIBUTES] = {"attributes", {NULL}},
    [F_RESULT_ID] = {"result_id", {"resultId"}},
    /* The contract names no frame size in a model's output (its FrameInput
     * has width and height, its boxes are "mapped to original"): our names
     * and their proto3 forms. */
    [F_FRAME_WIDTH] = {"frame_width", {"frameWidth"}},
    [F_FRAME_HEIGHT] = {"frame_height", {"frameHeight"}},
    [F_METADATA] = {"metadata", {NULL}},
    [F_ERROR] = {"error", {NULL}},
    [F_ERROR_SOURCE] = {"error_source", {"errorSource"}},
    [F_ERROR_DETAILS] = {"error_details", {"errorDetails", "details"}},
    [F_RECOVERABLE] = {"recoverable", {NULL}},
};

static int runtime__field(const char *key)
{
    for (int i = 0; i < F_COUNT; i++) {
        if (!strcmp(key, runtime__fields[i].name))
            return i;
        for (int k = 0; k < 2; k++)
            if (runtime__fields[i].alias[k] && !strcmp(key, runtime__fields[i].alias[k]))
                return i;
    }
    return -1;
}

/* JSON text of any value into the arena; NULL when jansson cannot write it.
 * 15 significant digits: what a decimal in the input had is written back as
 * it was (0.9, not 0.90000000000000002). */
static const char *runtime__dump(json_t *v, codec_arena *a)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    if (!s)
        return NULL;
    const char *out = codec_arena_strndup(a, s, strlen(s));
    free(s);
    return out;
}

/* A string member of the error details, copied to the rewritten object
 * under `name` unless the top level had it. */
static void runtime__from_details(json_t *norm, json_t *details, const char *member,
                                  const char *name)
{
    json_t *v = json_object_get(details, member);
    if (json_is_string(v) && !json_object_get(norm, name))
        json_object_set(norm, name, v);
}

/* The error fields and metadata: r->metadata_json, and what cannot go
 * there into `extra`. */
static void runtime__metadata(json_t *const *slot, const char *const *given, json_t *extra,
                              inference_result *r, codec_arena *a)
{
    json_t *ctx = json_object();
    for (int i = F_ERROR_SOURCE; i < F_COUNT; i++)
        if (slot[i])
            json_object_set(ctx, given[i], slot[i]);
    json_t *meta = slot[F_METADATA];
    if (meta && json_object_size(ctx) && json_is_object(meta)) {
        json_t *merged = json_deep_copy(meta);
        json_object_update_missing(merged, ctx);
        r->metadata_json = runtime__dump(merged, a);
        json_decref(merged);
    } else if (meta) {
        r->metadata_json = runtime__dump(meta, a);
        json_object_update(extra, ctx); /* metadata is not an object: keep them beside */
    } else if (json_object_size(ctx)) {
        r->metadata_json = runtime__dump(ctx, a);
    }
    json_decref(ctx);
}

int codec__json_runtime_normalize(json_t *root, json_t **norm_out, inference_result *r,
                                  codec_arena *a, codec_error *err)
{
    json_t *slot[F_COUNT] = {0};
    const char *given[F_COUNT] = {0};
    json_t *extra = json_object();
    const char *key;
    json_t *v;
    *norm_out = NULL;
    json_object_foreach(root, key, v)
    {
        int f = runtime__field(key);
        if (f < 0) {
            json_object_set(extra, key, v);
            r->nunknown++;
            continue;
        }
        if (slot[f]) {
            json_decref(extra);
            return codec_error_set(err, CODEC_E_INVALID_VALUE, "%.64s and %.64s both given",
                                   given[f], key);
        }
        slot[f] = v;
        given[f] = key;
    }
    json_t *e = slot[F_ERROR];
    if (e && !json_is_boolean(e) && !json_is_null(e)) {
        json_decref(extra);
        return codec_error_set(err, CODEC_E_WRONG_TYPE, "error must be a boolean");
    }
    json_t *norm = json_object();
    for (int i = 0; i < F_METADATA; i++)
        if (slot[i])
            json_object_set(norm, runtime__fields[i].name, slot[i]);
    /* An error payload: `"error": true`, or an error_code without an event_type. */
    bool is_error = json_is_true(e) || (!slot[F_EVENT_TYPE] && slot[F_ERROR_CODE] &&
                                        !json_is_null(slot[F_ERROR_CODE]));
    if (is_error) {
        if (!slot[F_EVENT_TYPE])
            json_object_set_new(norm, "event_type", json_string("error"));
        json_t *d = slot[F_ERROR_DETAILS];
        if (json_is_object(d)) {
            runtime__from_details(norm, d, "model_id", "model_id");
            runtime__from_details(norm, d, "version", "model_version");
            runtime__from_details(norm, d, "message", "error_message");
        }
    }
    runtime__metadata(slot, given, extra, r, a);
    if (json_object_size(extra))
        r->extra_json = runtime__dump(extra, a);
    json_decref(extra);
    *norm_out = norm;
    return 0;
}
