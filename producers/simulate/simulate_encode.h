/* simulate_encode.h - a simulated frame to the bytes of one Kafka message.
 *
 * The thin binding between the scenario's sim_frame and the shared codec:
 * single-object Avro, Confluent-framed Avro (the schema registered with the
 * Schema Registry once, at sim_encoder_new) or JSON. */
#ifndef RUTH_SIMULATE_ENCODE_H
#define RUTH_SIMULATE_ENCODE_H

#include "config.h"
#include "simulate_malform.h"
#include "simulate_scenario.h"

#include <stddef.h>

typedef struct sim_encoder sim_encoder;

/* An encoder for `format`. Avro-confluent needs cfg->schema_registry_url and
 * registers the InferenceResult schema there. NULL with errstr on failure.
 * cfg is borrowed for the encoder's lifetime. */
sim_encoder *sim_encoder_new(sim_format format, const ruth_config *cfg, char *errstr, size_t errsz);
void sim_encoder_free(sim_encoder *enc);

/* Encode *f into *out (replacing its contents). 0, or -1 with errstr. */
int sim_encode(sim_encoder *enc, const sim_frame *f, buf *out, char *errstr, size_t errsz);

#endif
