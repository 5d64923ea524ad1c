/* schema_registry.h - Confluent-compatible Schema Registry client (libcurl).
 *
 * Speaks the Confluent Schema Registry REST API (Confluent's own registry,
 * or Apicurio's under /apis/ccompat/v7): sends and accepts
 * application/vnd.schemaregistry.v1+json, HTTP basic auth, https with a CA
 * file and optionally a client certificate. Writer schemas are fetched by id
 * once and cached for the process lifetime (ids are immutable in a
 * registry). Not thread-safe: one per codec. */
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

/* How to reach the registry beyond its URL. Strings are borrowed for the
 * call only (copied); NULL or "" = not set. */
typedef struct schema_registry_options {
    const char *user_info; /* "user:password" for basic auth; never logged */
    const char *ca_file;   /* PEM CA bundle for https; NULL = the system's */
    const char *cert_file; /* PEM client certificate (mutual TLS), with key_file */
    const char *key_file;
} schema_registry_options;

/* A client of the registry at base_url (the API's root, e.g.
 * http://host:8081 or http://host:8080/apis/ccompat/v7). Returns NULL with
 * errstr naming the setting when an option is unusable (user info without
 * ':', a file that cannot be read, a certificate without its key); errstr
 * never holds the credentials. */
schema_registry *schema_registry_new_with(const char *base_url, const schema_registry_options *o,
                                          char *errstr, size_t errsz);
/* The same with the options of the loaded configuration (g_cfg:
 * SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO, SCHEMA_REGISTRY_SSL_*), none when no
 * configuration is loaded. */
schema_registry *schema_registry_new(const char *base_url, char *errstr, size_t errsz);
void schema_registry_destroy(schema_registry *r); /* accepts NULL */

/* The writer schema with `id`; *out is borrowed from the cache. Errors:
 * UNKNOWN_SCHEMA_ID (404 with Confluent's error 40403 "schema not found",
 * an answer over the 1 MiB size limit, or an unparsable schema: permanent,
 * the message is dead-lettered; those are not asked again for a few
 * seconds), REGISTRY_UNAVAILABLE (connection or TLS failure, timeout, 5xx,
 * 429, 401/403, any other 404 (a wrong base URL), an answer that is not
 * JSON, other statuses: transient, the batch is retried). */
int schema_registry_get(schema_registry *r, int32_t id, const schema_registry_entry **out,
                        codec_error *err);

/* POST /subjects/{subject}/versions; *id receives the registry's id. */
int schema_registry_register(schema_registry *r, const char *subject, const char *schema_json,
                             int32_t *id, codec_error *err);

#endif
