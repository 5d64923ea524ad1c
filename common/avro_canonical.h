/* avro_canonical.h - Avro Parsing Canonical Form and CRC-64-AVRO fingerprints.
 *
 * avro-c 1.11 has neither; single-object encoding needs both (the 8-byte
 * fingerprint after 0xC3 0x01 identifies the writer schema). */
#ifndef RUTH_AVRO_CANONICAL_H
#define RUTH_AVRO_CANONICAL_H

#include <stddef.h>
#include <stdint.h>

/* Parsing Canonical Form of the schema JSON text. Returns a new string the
 * caller frees, or NULL with errstr filled when the JSON is not a schema. */
char *avro_canonical_form(const char *schema_json, size_t len, char *errstr, size_t errsz);

/* CRC-64-AVRO (Rabin) fingerprint of `len` bytes. */
uint64_t avro_fingerprint64(const void *data, size_t len);

#endif
