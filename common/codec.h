/* codec.h - InferenceResult, Event, ViolationChange and EvidenceRequest on the wire.
 *
 * Three value encodings (ARCHITECTURE §3), chosen per message by its first
 * bytes, never by guessing silently:
 *   0x00 + 4-byte big-endian schema id   Confluent framing; the writer schema is
 *                                        fetched from SCHEMA_REGISTRY_URL by id
 *                                        (cached) and resolved against ours
 *   0xC3 0x01 + 8-byte LE fingerprint    Avro single-object encoding; the
 *                                        CRC-64-AVRO fingerprint of the parsing
 *                                        canonical form must match a bundled schema
 *   '{' (after optional whitespace)      JSON object validated against the same
 *                                        Avro schema
 * Anything else is BAD_FRAMING. Every failure fills a codec_error whose code
 * name and message become the dead-letter headers.
 *
 * A codec is used by one thread at a time (it reuses decoding state);
 * create one per thread. */
#ifndef RUTH_CODEC_H
#define RUTH_CODEC_H

#include "buf.h"
#include "codec_arena.h"
#include "codec_error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct codec codec;

typedef enum {
    CODEC_FMT_SINGLE_OBJECT = 0, /* Avro single-object encoding (default) */
    CODEC_FMT_CONFLUENT,         /* Avro with the Confluent wire header */
    CODEC_FMT_JSON,              /* JSON object */
} codec_format;

/* Limits applied while decoding (hostile input must not allocate unbounded). */
#define CODEC_JSON_MAX_DEPTH 32
#define CODEC_MAX_BOXES 1000
#define CODEC_MAX_ATTRIBUTES 256
#define CODEC_MAX_STRING 4096
#define CODEC_MAX_BOX_PIXELS 100000.0

typedef struct codec_bbox {
    double x, y, width, height;
    const char *label; /* NULL when absent */
    double confidence;
    bool has_confidence;
} codec_bbox;

typedef struct codec_attr {
    const char *key;
    const char *value;
} codec_attr;

/* A decoded InferenceResult. Every pointer is into memory owned by the
 * struct (one arena) and stays valid until inference_result_free().
 * Optional strings are NULL when absent. */
typedef struct inference_result {
    const char *camera_id;
    const char *model_id;
    int64_t timestamp_us; /* capture time, microseconds since the epoch, UTC */
    const char *event_type;
    double confidence;
    codec_bbox *boxes;
    size_t nboxes;
    const char *frame_id;
    const char *stream_id;
    const char *model_version;
    double inference_time_ms;
    bool has_inference_time;
    const char *runtime_id;
    const char *error_code;
    const char *error_message;
    codec_attr *attributes;
    size_t nattributes;
    const char *result_id; /* canonical lower-case UUID text */
    /* Size in pixels of the analysed frame the boxes are measured in
     * (schema version 2; 1..CODEC_MAX_BOX_PIXELS, both or neither): 0 =
     * absent (an older producer, or null), the camera's configured
     * resolution applies. */
    int32_t frame_width, frame_height;
    codec_format format; /* how it arrived */
    void *arena__;       /* internal */
    /* Kept with the event, never dropped (JSON input only; NULL = none):
     * the runtime's `metadata` as JSON text (any JSON value, e.g.
     * {"pose_keypoints": [...], "tracking_id": 7}), and an object of the
     * top-level fields the codec does not know (`nunknown` of them). */
    const char *metadata_json;
    const char *extra_json;
    size_t nunknown;
    unsigned defaulted;          /* CODEC_DEFAULTED_* filled from codec_decode_opts */
    const char *idempotency_key; /* set by adapters (DeepStream); NULL = result_id rules */
} inference_result;

/* Fields a decode took from codec_decode_opts instead of the message. */
#define CODEC_DEFAULTED_CAMERA 1u    /* camera_id: the Kafka key */
#define CODEC_DEFAULTED_TIMESTAMP 2u /* timestamp: the Kafka record's time */

/* Release what a decode allocated; the struct may be reused. Accepts zeroed. */
void inference_result_free(inference_result *r);

/* Bundled schemas; pass registry_url NULL (or "") when there is none. Returns
 * NULL with errstr filled if a bundled schema fails to load. */
codec *codec_new(const char *registry_url, char *errstr, size_t errsz);
void codec_destroy(codec *c); /* accepts NULL */

/* Decode and validate one message value. On success fills *out (free with
 * inference_result_free) and returns 0; otherwise returns -1 with *err
 * filled and *out left empty. Semantic validation included: required fields,
 * confidence finite and in 0..1, boxes non-negative and at most
 * CODEC_MAX_BOX_PIXELS, camera_id/model_id/event_type non-empty, UTF-8,
 * result_id a UUID, limits above. Timestamp skew is the caller's
 * (codec_check_skew). */
int codec_decode_inference(codec *c, const void *data, size_t len, inference_result *out,
                           codec_error *err);

/* What the transport knows when a message leaves a field out. A JSON
 * runtime result as the Ruth AI documents show it may lack camera_id
 * (the model contract's output), timestamp and model_id (the API
 * contract's InferenceResponse): */
typedef struct codec_decode_opts {
    const char *default_camera_id; /* the Kafka key (camera_id by contract); NULL = required */
    int64_t default_timestamp_us;  /* the Kafka record's timestamp */
    bool has_default_timestamp;    /* false = timestamp required */
    bool model_id_optional;        /* leave model_id NULL when absent: the caller fills it
                                      (the camera's active inference session) and checks it */
} codec_decode_opts;

/* codec_decode_inference with defaults for absent fields (NULL opts = the
 * same as codec_decode_inference). JSON input also accepts the proto3
 * JSON names (cameraId, eventType, boundingBoxes, ...), `version` for
 * model_version, and the contract's runtime error payloads, which become
 * event_type "error" with their code and message (see codec_json_runtime.c). */
int codec_decode_inference_opts(codec *c, const void *data, size_t len,
                                const codec_decode_opts *opts, inference_result *out,
                                codec_error *err);

/* Semantic validation alone (what decoding ends with), for results whose
 * model_id the caller filled in after codec_decode_inference_opts. */
int codec_validate_inference(inference_result *r, codec_error *err);

/* NVIDIA DeepStream nvmsgconv JSON (codec_deepstream.c): the full schema
 * (payload-type 0, one object per message) or the minimal one
 * (payload-type 1, every object of a frame), told apart by their required
 * fields (`object` vs `objects`), never by guessing: a message with both or
 * neither is refused. Each object becomes one result in out[0..*n) (each
 * with its own memory; free each with inference_result_free), with
 * camera_id the sensor id (the caller maps it to a camera), event_type the
 * object type, one box (corners to x/y/width/height), model_id
 * analyticsModule.id or NULL (the caller fills it), idempotency_key from
 * messageid (full) or sensor, frame id, timestamp and object index
 * (minimal), and the rest of the object in metadata_json. At most `max`
 * objects (TOO_LARGE beyond). */
int codec_decode_deepstream(codec *c, const void *data, size_t len, const codec_decode_opts *opts,
                            inference_result *out, size_t max, size_t *n, codec_error *err);

/* -1 with CODEC_E_CLOCK_SKEW when |ts - now| > max_skew_s. */
int codec_check_skew(int64_t timestamp_us, int64_t now_us, int64_t max_skew_s, codec_error *err);

/* Encode an InferenceResult (producers, tests). For CODEC_FMT_CONFLUENT the
 * caller passes the registry's schema id (see codec_register_schema). Appends
 * to `out`. Returns 0, or -1 with err filled. */
int codec_encode_inference(codec *c, codec_format fmt, int32_t schema_id, const inference_result *r,
                           buf *out, codec_error *err);

/* ---- messages the pipeline produces ---- */

typedef struct event_msg {
    const char *id; /* UUID */
    const char *camera_id;
    const char *stream_id; /* NULL = absent */
    const char *event_type;
    const char *type_detail; /* NULL = absent */
    double confidence;
    int64_t timestamp_us;
    const char *model_id;
    const char *model_version; /* NULL = absent */
    const codec_bbox *boxes;
    size_t nboxes;
    const char *frame_id; /* NULL = absent */
    double inference_time_ms;
    bool has_inference_time;
    const char *violation_id; /* NULL = none */
    int64_t created_at_us;
    const char *metadata_json; /* JSON text, NULL = absent */
    const char *extra_json;    /* JSON object text of unknown input fields, NULL = absent */
} event_msg;

typedef struct violation_msg {
    const char *id;
    const char *type;
    const char *camera_id;
    const char *stream_id; /* NULL = absent */
    const char *status;    /* open | reviewed | dismissed | resolved */
    const char *severity;
    double confidence;
    double max_confidence;
    int64_t event_count;
    int64_t first_event_at_us;
    int64_t last_event_at_us;
    int64_t ended_at_us; /* 0 = ongoing (null) */
    const codec_bbox *boxes;
    size_t nboxes;
    const char *reviewed_by;                                                     /* NULL = absent */
    int64_t reviewed_at_us;                                                      /* 0 = null */
    const char *resolution_notes;                                                /* NULL = absent */
    const char *snapshot_status, *snapshot_url, *bookmark_status, *bookmark_url; /* NULL = absent */
    int64_t created_at_us;
    int64_t updated_at_us;
    int64_t version;
} violation_msg;

typedef struct violation_change_msg {
    const char *violation_id;
    const char *change; /* opened | updated | status_changed | evidence_ready | evidence_failed */
    int64_t occurred_at_us;
    int64_t version;
    violation_msg violation;
} violation_change_msg;

typedef struct evidence_request_msg {
    const char *violation_id;
    const char *camera_id;
    const char *stream_id; /* NULL = camera's known stream */
    const char *kind;      /* snapshot | bookmark */
    int64_t center_timestamp_us;
    int32_t before_seconds;
    int32_t after_seconds;
    int32_t attempt;
} evidence_request_msg;

/* Encoders append to `out`: CODEC_FMT_SINGLE_OBJECT (what the pipeline
 * publishes) or CODEC_FMT_JSON. 0, or -1 with err filled (e.g. an enum
 * value outside the schema). */
int codec_encode_event(codec *c, codec_format fmt, const event_msg *m, buf *out, codec_error *err);
int codec_encode_violation_change(codec *c, codec_format fmt, const violation_change_msg *m,
                                  buf *out, codec_error *err);
int codec_encode_evidence_request(codec *c, codec_format fmt, const evidence_request_msg *m,
                                  buf *out, codec_error *err);

/* The JSON text of bounding boxes, appended to `out`: the one box writer,
 * for the events and violations columns and the JSON encoders above, so
 * the column and the message carry the same boxes. x, y, width, height,
 * then label and confidence; when a box has none, they are left out
 * (absent_as_null false: the stored columns, served by the API, whose
 * BoundingBox gives them "when known" and never null) or written as null
 * (true: messages, which carry every field of the Avro schema, where both
 * are optional with default null). Strings are written as they are (valid
 * UTF-8 is the caller's: decoded results are validated). */
void codec_boxes_json(buf *out, const codec_bbox *boxes, size_t n, bool absent_as_null);
/* The JSON object of attributes ({"key":"value",...}), the same way. */
void codec_boxes_attrs_json(buf *out, const codec_attr *attrs, size_t n);

/* Decoders for consumers of the pipeline's own topics (single-object or
 * JSON). Strings in *out point into memory returned in *arena, which the
 * caller releases with codec_arena_free() when done with *out. */
int codec_decode_evidence_request(codec *c, const void *data, size_t len, evidence_request_msg *out,
                                  void **arena, codec_error *err);
int codec_decode_violation_change(codec *c, const void *data, size_t len, violation_change_msg *out,
                                  void **arena, codec_error *err);

/* Register the bundled InferenceResult schema under `subject` with the
 * registry and return its id (producers using Confluent framing). */
int codec_register_inference_schema(codec *c, const char *subject, int32_t *schema_id,
                                    codec_error *err);

/* Bundled schema JSON by record name ("InferenceResult", "Event", ...) and its
 * CRC-64-AVRO fingerprint; NULL if unknown. */
const char *codec_schema_json(const codec *c, const char *name, uint64_t *fingerprint);

/* Text checks shared with the REST API. */
/* Same as text_utf8_valid() (text.h), which new code should call; kept for
 * the API until it is folded. */
bool codec_utf8_valid(const char *s, size_t n);
/* ISO 8601 date-time with a zone ("Z", +hh:mm or +hhmm) -> microseconds since the epoch. */
bool codec_parse_iso8601(const char *s, int64_t *us);
/* Deepest {/[ nesting of JSON text, scanning stops once it passes `limit`. */
int codec_json_depth(const char *s, size_t len, int limit);

#endif
