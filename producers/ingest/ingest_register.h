/* ingest_register.h - POST /v1/runtimes/register (ingest_register.c): an AI
 * runtime's capability declaration, validated and stored by
 * common/runtime_registry.h into the `runtimes` table that ruth-api's
 * GET /models/status reads, answered as ruth-api's own registration route
 * answers it:
 *   201 the stored declaration (a new runtime_id), 200 (a re-registration,
 *       the runtime's heartbeat);
 *   400 MISSING_REQUIRED_FIELD when only required fields are missing, else
 *       VALIDATION_ERROR, `details` naming every bad field;
 *   413 a declaration over INGEST_REGISTER_MAX_BYTES;
 *   503 SERVICE_UNAVAILABLE + Retry-After while PostgreSQL cannot be had
 *       (or DATABASE_URL is unset: ruth-ingest runs without a database,
 *       inference never depends on one); 500 DATABASE_ERROR when the
 *       database refused the statement. */
#ifndef RUTH_INGEST_REGISTER_H
#define RUTH_INGEST_REGISTER_H

#include "ingest.h"

#define INGEST_REGISTER_MAX_BYTES 65536
#define INGEST_REGISTER_MAX_DEPTH 16

/* Answer r for its body r->body (after authentication). */
void ingest_register_request(ingest_req *r);

#endif
