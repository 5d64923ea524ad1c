/* simulate_malform.h - deliberately malformed inference results.
 *
 * A fraction of ruth-simulate's messages is broken on purpose, the ways real
 * runtimes and networks break them, so the worker's validation and dead-letter
 * path gets exercised under load:
 *   framing   truncated body, bad magic byte, unknown schema (fingerprint or
 *             registry id), empty value, not JSON at all;
 *   content   confidence 1.7, confidence NaN, negative box, empty camera_id,
 *             camera_id that is not UTF-8, timestamp decades away from now,
 *             (JSON) camera_id missing, confidence given as a string.
 * Content kinds change the frame before it is encoded (sim_malform_frame);
 * framing kinds and the ones a JSON encoder cannot express change the encoded
 * bytes (sim_malform_bytes). Which message is malformed, and how, depends on
 * the seed only: the choice takes two draws of its own generator per message,
 * so the good messages of two runs with the same seed are the same whatever
 * the fraction's effect on the kinds. */
#ifndef RUTH_SIMULATE_MALFORM_H
#define RUTH_SIMULATE_MALFORM_H

#include "buf.h"

#include "simulate_scenario.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SIM_FORMAT_AVRO = 0,       /* single-object encoding: C3 01 + 8-byte fingerprint */
    SIM_FORMAT_AVRO_CONFLUENT, /* 00 + 4-byte big-endian schema id */
    SIM_FORMAT_JSON,
} sim_format;

typedef enum {
    SIM_MAL_NONE = 0,
    SIM_MAL_TRUNCATED,          /* body cut short, header intact */
    SIM_MAL_BAD_MAGIC,          /* first byte not a known framing (JSON: garbage before '{') */
    SIM_MAL_UNKNOWN_SCHEMA,     /* fingerprint / schema id nobody knows (Avro only) */
    SIM_MAL_EMPTY,              /* zero-length value */
    SIM_MAL_CONFIDENCE_RANGE,   /* confidence 1.7 */
    SIM_MAL_CONFIDENCE_NAN,     /* confidence NaN (JSON: the bare token NaN) */
    SIM_MAL_NEGATIVE_BOX,       /* a box with negative x and width */
    SIM_MAL_EMPTY_CAMERA,       /* camera_id "" */
    SIM_MAL_INVALID_UTF8,       /* camera_id with bytes that are not UTF-8 */
    SIM_MAL_TIMESTAMP_ABSURD,   /* capture time 30 years in the future */
    SIM_MAL_MISSING_EVENT_TYPE, /* JSON only: no event_type member (an absent camera_id is the Kafka
                                   key) */
    SIM_MAL_WRONG_TYPE,         /* JSON only: "confidence": "high" */
    SIM_MAL_COUNT
} sim_malform_kind;

typedef struct sim_malform sim_malform;

/* fraction in [0, 1]. Never NULL. Free with sim_malform_free (NULL is fine). */
sim_malform *sim_malform_new(sim_format format, double fraction, uint64_t seed);
void sim_malform_free(sim_malform *m);

/* How to break the next message: SIM_MAL_NONE for most. */
sim_malform_kind sim_malform_pick(sim_malform *m);

/* Before encoding: apply the content kinds this format's encoder can carry.
 * Other kinds leave the frame alone. */
void sim_malform_frame(sim_malform *m, sim_malform_kind kind, sim_frame *f);

/* After encoding: apply the framing kinds and the JSON-only ones to the
 * encoded message in *b (resized as needed). Returns false (b unchanged) when
 * the bytes are not what the format promises, which is a bug in the caller. */
bool sim_malform_bytes(sim_malform *m, sim_malform_kind kind, buf *b);

/* Stable lower-case name ("truncated", "confidence_nan", ...) for headers
 * and logs. */
const char *sim_malform_kind_name(sim_malform_kind kind);

/* Messages malformed so far, per kind (index by sim_malform_kind). */
const uint64_t *sim_malform_counts(const sim_malform *m);

#endif
