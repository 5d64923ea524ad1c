/* schema_registry.h - Confluent-compatible Schema Registry client (libcurl).
 *
 * Writer schemas are fetched by id once and cached for the process lifetime
 * (ids are immutable in a registry). Not thread-safe: one per codec. */
#ifndef RUTH_SCHEMA_REGISTRY_H
#define RUTH_SCHEMA_REGISTRY_H

#include "codec_error.h"

#include <avro.h>
#include <stdint.h>

typedef struct schema_registry schema_registry;

typedef struct schema_registry_entry {
    int32_t id;
    avro_schema_t schema; /* parsed writer schema */
    char *canonical;      /* its parsing canonical form */
    char *json;           /* its JSON text */
} schema_registry_entry;

schema_registry *schema_registry_new(const char *base_url, char *errstr, size_t errsz);
void schema_registry_destroy(schema_registry *r); /* accepts NULL */

/* The writer schema with `id`; *out is borrowed from the cache. Errors:
 * UNKNOWN_SCHEMA_ID (404, an answer over the 1 MiB size limit, or an
 * unparsable schema: permanent, the message is dead-lettered; 404s and
 * oversize answers are not asked again for a few seconds),
 * REGISTRY_UNAVAILABLE (connection failure, timeout, 5xx, 429, other
 * statuses: transient). */
int schema_registry_get(schema_registry *r, int32_t id, const schema_registry_entry **out,
                        codec_error *err);

/* POST /subjects/{subject}/versions; *id receives the registry's id. */
int schema_registry_register(schema_registry *r, const char *subject, const char *schema_json,
                             int32_t *id, codec_error *err);

#endif
