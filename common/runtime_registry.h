/* runtime_registry.h - AI runtimes' capability declarations: validation and
 * upsert into `runtimes` (runtime_registry.c), shared by ruth-api
 * (POST /api/v1/internal/runtime/register) and ruth-ingest
 * (POST /v1/runtimes/register).
 *
 * The declaration is the architecture's (Ruth AI System Architecture,
 * "AI Runtime Capability Declaration"): {runtime_id, supports_gpu,
 * hardware_type (cpu|gpu|jetson|tpu), supported_models, max_fps,
 * max_concurrent_streams, inference_batch_size, memory_available_mb,
 * version}, every field required. The AI runtime design's nested form is
 * accepted as well and read into the same fields: hardware.type,
 * hardware.supports_gpu, hardware.gpu_memory_available_mb (or
 * hardware.memory_available_mb), capacity.max_fps_total,
 * capacity.max_concurrent_streams, capacity.recommended_batch_size,
 * models[].model_id; a flat field wins over its nested one. Its models[]
 * entries (state, health, version) are kept for GET /models/status. Other
 * fields are kept unread in `declaration` (a newer runtime is not refused
 * for what it adds). Registering again updates the row and its last_seen
 * (the runtime's heartbeat). */
#ifndef RUTH_RUNTIME_REGISTRY_H
#define RUTH_RUNTIME_REGISTRY_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum {
    RUNTIME_REGISTRY_STORED = 0,    /* validated and upserted */
    RUNTIME_REGISTRY_INVALID = -1,  /* bad input: err names the first bad field */
    RUNTIME_REGISTRY_DB_ERROR = -2, /* PostgreSQL failed: err says why; nothing stored */
} runtime_registry_status;

/* Validate the JSON declaration json[0..len) and upsert it with `conn`
 * (borrowed; one statement, autocommit or the caller's transaction).
 * Returns a runtime_registry_status; err (may be NULL) gets
 * "<field>: <what is wrong>" or the database error. */
int runtime_registry_store(PGconn *conn, const char *json, size_t len, char *err, size_t errsz);

typedef struct runtime_registry_result {
    bool created;      /* STORED: first registration of this runtime_id */
    char *answer;      /* STORED: the stored row as JSON text (times via ruth_time) */
    json_t *details;   /* INVALID: {field: message} for every bad field */
    bool missing_only; /* INVALID: every problem is a missing required field */
} runtime_registry_result;

/* runtime_registry_store, filling *out (zero it first; release with
 * runtime_registry_result_free whatever the outcome). */
int runtime_registry_store_ex(PGconn *conn, const char *json, size_t len,
                              runtime_registry_result *out, char *err, size_t errsz);

/* Frees answer and details; the struct may be reused. Accepts zeroed. */
void runtime_registry_result_free(runtime_registry_result *r);

#endif
