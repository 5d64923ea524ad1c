/* codec_internal.h - declarations shared between the codec's source files
 * only (codec.c, codec_validate.c, codec_avro_read.c, codec_avro_write.c,
 * codec_resolve.c, codec_json.c, codec_json_runtime.c, codec_deepstream.c); nothing outside
 * common/codec*.c includes it.
 *
 * It includes only leaf headers and names the public message types by
 * forward declaration, so it does not depend on codec.h: the include graph
 * stays a tree (codec*.c -> codec.h, codec_internal.h -> leaves). */
#ifndef RUTH_CODEC_INTERNAL_H
#define RUTH_CODEC_INTERNAL_H

#include "buf.h"
#include "codec_arena.h"
#include "codec_error.h"

#include <avro.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The public types (codec.h), by name only. */
typedef struct codec codec;
typedef struct inference_result inference_result;
typedef struct event_msg event_msg;
typedef struct violation_change_msg violation_change_msg;
typedef struct evidence_request_msg evidence_request_msg;
typedef struct schema_registry schema_registry;
typedef struct codec_decode_opts codec_decode_opts;
typedef struct json_t json_t;

/* ---- the codec context (codec.c builds it, codec_resolve.c reads it) ---- */

enum {
    CODEC__SCHEMA_INFERENCE,
    CODEC__SCHEMA_EVENT,
    CODEC__SCHEMA_VIOLATION_CHANGE,
    CODEC__SCHEMA_EVIDENCE_REQUEST,
    CODEC__NSCHEMAS
};

typedef struct codec__schema {
    const char *json; /* borrowed from the embedded table */
    char *canonical;
    uint64_t fingerprint;
    unsigned char fp_le[8];
    avro_schema_t avro;
} codec__schema;

struct codec_writer; /* codec_resolve.c */

/* Fields of InferenceResult version 1 and of the current version. */
#define CODEC__INFERENCE_V1_FIELDS 15
#define CODEC__INFERENCE_FIELDS 17

/* An earlier released InferenceResult (schemas/history/inference_result.vN.avsc)
 * that messages may still be written with. One whose fields are the first
 * `nfields` of ours, the same way (the case for every version so far: fields
 * are only appended, with defaults), is read by the lean decoder, which
 * stops after them and leaves the rest at their defaults: Avro schema
 * resolution for that case, writer = old, reader = ours. Any other goes
 * through avro-c's resolution (`plan`, codec_resolve.c). */
typedef struct codec__history {
    int version;
    char *canonical;
    uint64_t fingerprint;
    unsigned char fp_le[8];
    int nfields;               /* > 0: a prefix of ours, lean decoder */
    struct codec_writer *plan; /* otherwise: avro-c resolution, owned */
} codec__history;

#define CODEC__MAX_HISTORY 16

struct codec {
    codec__schema schemas[CODEC__NSCHEMAS];
    codec__history history[CODEC__MAX_HISTORY]; /* earlier InferenceResults, oldest first */
    int nhistory;
    schema_registry *registry;    /* NULL without SCHEMA_REGISTRY_URL */
    struct codec_writer *writers; /* one per Confluent schema id seen, owned */
    size_t nwriters, capwriters;
};

/* ---- validation (codec_validate.c) ---- */

/* Semantic checks shared by every input format (see codec_decode_inference);
 * normalises result_id in place. */
int codec__validate_inference(inference_result *r, bool model_optional, codec_error *err);

/* ---- Avro binary (codec_avro_read.c, codec_avro_write.c) ---- */

/* A bounds-checked cursor over an Avro body; strings and arrays go to arena,
 * failures to err. `budget` is the work codec__avro_skim may still do (one
 * unit per value visited); the lean decoders, whose work the fixed schema
 * bounds, leave it unused (0). */
typedef struct codec__avro_in {
    const unsigned char *p, *end;
    codec_arena *arena;
    codec_error *err;
    int64_t budget;
} codec__avro_in;

/* A foreign writer's body may cost codec__avro_skim (and avro-c after it)
 * CODEC__SKIM_BASE + CODEC__SKIM_PER_BYTE units per byte of the body, one
 * unit per value: every value but null, zero-field records and empty fixed
 * takes a byte, so real data needs about 3 a byte (an optional's branch and
 * its value, a record around its fields); beyond, TOO_COMPLEX. This bounds
 * writer schemas that multiply work through nesting (arrays of arrays of
 * nulls, records referencing a record twice at every level). */
#define CODEC__SKIM_BASE 65536
#define CODEC__SKIM_PER_BYTE 16

#define CODEC__NCHANGE 5
#define CODEC__NSTATUS 4
#define CODEC__NKIND 2
extern const char *const codec__change_symbols[CODEC__NCHANGE];
extern const char *const codec__status_symbols[CODEC__NSTATUS];
extern const char *const codec__kind_symbols[CODEC__NKIND];

/* Bodies written with our schemas. The inference decoder refuses trailing
 * bytes itself; for the other two the caller checks in->p == in->end. */
int codec__avro_decode_inference(codec__avro_in *in, inference_result *r, int nfields);
int codec__avro_decode_evidence_request(codec__avro_in *in, evidence_request_msg *m);
int codec__avro_decode_violation_change(codec__avro_in *in, violation_change_msg *m);
/* Walk one value of writer schema s, bounds-checking every length, count,
 * branch and index, without decoding it; each value visited takes one unit
 * of in->budget, and an exhausted budget fails with TOO_COMPLEX. */
int codec__avro_skim(codec__avro_in *in, avro_schema_t s, int depth);

void codec__avro_encode_inference(const inference_result *r, buf *b);
void codec__avro_encode_event(const event_msg *m, buf *b);
int codec__avro_encode_violation_change(const violation_change_msg *m, buf *b, codec_error *err);
int codec__avro_encode_evidence_request(const evidence_request_msg *m, buf *b, codec_error *err);

/* ---- foreign Confluent writers (codec_resolve.c) ---- */

/* Decode the body of a Confluent message written with schema `id`: our own
 * schema goes to the lean decoder, a foreign one through avro-c's schema
 * resolution. The reading plan of each id is built on first use and kept. */
int codec__decode_confluent(codec *c, int32_t id, const unsigned char *body, size_t len,
                            inference_result *r, codec_arena *a, codec_error *err);
/* Release every reading plan (codec_destroy). */
void codec__writers_release(codec *c);
/* The history version whose canonical form is `canonical`, or NULL. */
const codec__history *codec__history_by_canonical(const codec *c, const char *canonical);
/* A reading plan for a bundled earlier InferenceResult that is not a
 * prefix of ours (avro-c resolution); NULL with err filled when it cannot
 * be read as ours. Decode with codec__plan_decode, free with codec__plan_free. */
struct codec_writer *codec__plan_new(codec *c, const char *json, size_t len, codec_error *err);
int codec__plan_decode(struct codec_writer *w, const unsigned char *body, size_t len,
                       inference_result *r, codec_arena *a, codec_error *err);
void codec__plan_free(struct codec_writer *w);

/* ---- JSON (codec_json.c) ---- */

int codec__json_decode_inference(const char *data, size_t len, const codec_decode_opts *opts,
                                 inference_result *r, codec_arena *a, codec_error *err);
/* Parse JSON text into an object (depth-checked first); -1 with err. */
int codec__json_load(const char *data, size_t len, json_t **root, codec_error *err);

/* ---- what runtimes send (codec_json_runtime.c) ---- */

/* The top-level object rewritten with our field names only (*norm, a new
 * reference): proto3 JSON names, `version`, the contract's error payloads;
 * fills r->metadata_json, r->extra_json and r->nunknown. */
int codec__json_runtime_normalize(json_t *root, json_t **norm, inference_result *r, codec_arena *a,
                                  codec_error *err);
int codec__json_encode_inference(const inference_result *r, buf *out, codec_error *err);
int codec__json_encode_event(const event_msg *m, buf *out, codec_error *err);
int codec__json_encode_violation_change(const violation_change_msg *m, buf *out, codec_error *err);
int codec__json_encode_evidence_request(const evidence_request_msg *m, buf *out, codec_error *err);
int codec__json_decode_evidence_request(const char *data, size_t len, evidence_request_msg *m,
                                        codec_arena *a, codec_error *err);
int codec__json_decode_violation_change(const char *data, size_t len, violation_change_msg *m,
                                        codec_arena *a, codec_error *err);

#endif
