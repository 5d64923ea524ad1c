/* runtime_registry.c - validating and storing capability declarations. */
#include "runtime_registry.h"

#include "pg.h"
#include "pg_array.h"
#include "xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGISTRY_MAX_STRING 200
#define REGISTRY_MAX_MODELS 1000

/* The declaration read into the architecture's fields; pointers borrow
 * from the parsed body. */
typedef struct registry_decl {
    const char *runtime_id, *version, *hardware_type, *name, *endpoint;
    bool supports_gpu;
    json_int_t max_fps, max_streams, batch_size, memory_mb;
    pg_array models;     /* supported_models as a text[] literal */
    json_t *model_items; /* nested models[] objects (borrowed), or NULL */
    json_t *capabilities;
} registry_decl;

typedef struct registry_check {
    json_t *details; /* field -> message */
    bool missing_only;
    char first[256];
} registry_check;

static void registry_bad(registry_check *c, const char *field, bool missing, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void registry_bad(registry_check *c, const char *field, bool missing, const char *fmt, ...)
{
    if (json_object_get(c->details, field))
        return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object_set_new(c->details, field, json_string(msg));
    if (!missing)
        c->missing_only = false;
    if (!c->first[0])
        snprintf(c->first, sizeof c->first, "%s: %s", field, msg);
}

/* The value of `flat`, else of `obj`.`key` (the nested form); JSON null is
 * absent. *name is the field's name as the caller sent it. */
static json_t *registry_pick(json_t *body, const char *flat, const char *obj, const char *key,
                             char *name, size_t namesz)
{
    json_t *v = json_object_get(body, flat);
    snprintf(name, namesz, "%s", flat);
    if (v && !json_is_null(v))
        return v;
    json_t *o = obj ? json_object_get(body, obj) : NULL;
    v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (v && !json_is_null(v)) {
        snprintf(name, namesz, "%s.%s", obj, key);
        return v;
    }
    return NULL;
}

static const char *registry_string(registry_check *c, json_t *body, const char *flat,
                                   const char *obj, const char *key, bool required)
{
    char name[64];
    json_t *v = registry_pick(body, flat, obj, key, name, sizeof name);
    if (!v) {
        if (required)
            registry_bad(c, name, true, "is required");
        return NULL;
    }
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > REGISTRY_MAX_STRING) {
        registry_bad(c, name, false, "must be a non-empty string of at most %d bytes",
                     REGISTRY_MAX_STRING);
        return NULL;
    }
    return s;
}

static json_int_t registry_int(registry_check *c, json_t *body, const char *flat, const char *obj,
                               const char *key, json_int_t lo, json_int_t hi)
{
    char name[64];
    json_t *v = registry_pick(body, flat, obj, key, name, sizeof name);
    if (!v) {
        registry_bad(c, name, true, "is required");
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        registry_bad(c, name, false, "must be an integer from %lld to %lld", (long long)lo,
                     (long long)hi);
        return 0;
    }
    return json_integer_value(v);
}

/* supported_models (strings), else models[] (model id strings or objects
 * with a string model_id: the nested form). */
static void registry_models(registry_check *c, json_t *body, registry_decl *d)
{
    json_t *v = json_object_get(body, "supported_models");
    const char *name = "supported_models";
    bool nested = false;
    if (!v || json_is_null(v)) {
        v = json_object_get(body, "models");
        name = "models";
        nested = true;
    }
    if (!v || json_is_null(v)) {
        registry_bad(c, "supported_models", true, "is required");
        return;
    }
    if (!json_is_array(v) || json_array_size(v) > REGISTRY_MAX_MODELS) {
        registry_bad(c, name, false, "must be an array of at most %d model ids",
                     REGISTRY_MAX_MODELS);
        return;
    }
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m)
    {
        const char *id = json_is_object(m) && nested
                             ? json_string_value(json_object_get(m, "model_id"))
                             : json_string_value(m);
        if (!id || !*id || strlen(id) > REGISTRY_MAX_STRING) {
            registry_bad(c, name, false,
                         nested ? "each entry is a model id or an object with a model_id string"
                                : "each entry must be a non-empty model id string");
            return;
        }
        pg_array_add(&d->models, id);
    }
    if (nested)
        d->model_items = v;
}

static void registry_read(registry_check *c, json_t *body, registry_decl *d)
{
    d->runtime_id = registry_string(c, body, "runtime_id", NULL, NULL, true);
    d->version = registry_string(c, body, "version", NULL, NULL, true);
    d->name = registry_string(c, body, "name", NULL, NULL, false);
    d->endpoint = registry_string(c, body, "endpoint", NULL, NULL, false);
    d->hardware_type = registry_string(c, body, "hardware_type", "hardware", "type", true);
    if (d->hardware_type && strcmp(d->hardware_type, "cpu") && strcmp(d->hardware_type, "gpu") &&
        strcmp(d->hardware_type, "jetson") && strcmp(d->hardware_type, "tpu")) {
        char name[64];
        registry_pick(body, "hardware_type", "hardware", "type", name, sizeof name);
        registry_bad(c, name, false, "must be one of cpu, gpu, jetson, tpu");
    }
    char name[64];
    json_t *g = registry_pick(body, "supports_gpu", "hardware", "supports_gpu", name, sizeof name);
    if (!g)
        registry_bad(c, name, true, "is required");
    else if (!json_is_boolean(g))
        registry_bad(c, name, false, "must be true or false");
    else
        d->supports_gpu = json_is_true(g);
    d->max_fps = registry_int(c, body, "max_fps", "capacity", "max_fps_total", 0, 1000000);
    d->max_streams = registry_int(c, body, "max_concurrent_streams", "capacity",
                                  "max_concurrent_streams", 0, 1000000);
    d->batch_size = registry_int(c, body, "inference_batch_size", "capacity",
                                 "recommended_batch_size", 1, 65536);
    json_t *hw = json_object_get(body, "hardware");
    bool gpu_mem = !json_object_get(body, "memory_available_mb") && json_is_object(hw) &&
                   json_object_get(hw, "gpu_memory_available_mb");
    d->memory_mb = registry_int(c, body, "memory_available_mb", "hardware",
                                gpu_mem ? "gpu_memory_available_mb" : "memory_available_mb", 0,
                                INT64_C(1) << 40);
    registry_models(c, body, d);
    d->capabilities = json_object_get(body, "capabilities");
    if (d->capabilities && !json_is_null(d->capabilities) && !json_is_object(d->capabilities))
        registry_bad(c, "capabilities", false, "must be an object");
}

static const char registry_upsert_sql[] =
    "INSERT INTO runtimes AS rt (runtime_id, name, version, endpoint, capabilities, models,"
    "  supports_gpu, hardware_type, supported_models, max_fps, max_concurrent_streams,"
    "  inference_batch_size, memory_available_mb, declaration)"
    " VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::boolean, $8, $9::text[], $10::integer,"
    "  $11::integer, $12::integer, $13::bigint, $14::jsonb)"
    " ON CONFLICT (runtime_id) DO UPDATE SET name = EXCLUDED.name, version = EXCLUDED.version,"
    "  endpoint = EXCLUDED.endpoint, capabilities = EXCLUDED.capabilities,"
    "  models = EXCLUDED.models, supports_gpu = EXCLUDED.supports_gpu,"
    "  hardware_type = EXCLUDED.hardware_type, supported_models = EXCLUDED.supported_models,"
    "  max_fps = EXCLUDED.max_fps, max_concurrent_streams = EXCLUDED.max_concurrent_streams,"
    "  inference_batch_size = EXCLUDED.inference_batch_size,"
    "  memory_available_mb = EXCLUDED.memory_available_mb, declaration = EXCLUDED.declaration,"
    "  last_seen = now()"
    " RETURNING json_build_object('runtime_id', runtime_id, 'supports_gpu', supports_gpu,"
    "  'hardware_type', hardware_type, 'supported_models', to_json(supported_models),"
    "  'max_fps', max_fps, 'max_concurrent_streams', max_concurrent_streams,"
    "  'inference_batch_size', inference_batch_size, 'memory_available_mb', memory_available_mb,"
    "  'version', version, 'name', name, 'endpoint', endpoint, 'models', models,"
    "  'registered_at', ruth_time(registered_at), 'last_seen_at', ruth_time(last_seen))::text,"
    "  (xmax = 0)";

static int registry_upsert(PGconn *conn, json_t *body, registry_decl *d,
                           runtime_registry_result *out, char *err, size_t errsz)
{
    char fps[24], streams[24], batch[24], mem[24];
    snprintf(fps, sizeof fps, "%lld", (long long)d->max_fps);
    snprintf(streams, sizeof streams, "%lld", (long long)d->max_streams);
    snprintf(batch, sizeof batch, "%lld", (long long)d->batch_size);
    snprintf(mem, sizeof mem, "%lld", (long long)d->memory_mb);
    char *caps = json_is_object(d->capabilities) ? json_dumps(d->capabilities, JSON_COMPACT) : NULL;
    char *items = d->model_items ? json_dumps(d->model_items, JSON_COMPACT) : NULL;
    char *decl = json_dumps(body, JSON_COMPACT);
    const char *p[14] = {d->runtime_id,
                         d->name,
                         d->version,
                         d->endpoint,
                         caps ? caps : "{}",
                         items ? items : "[]",
                         d->supports_gpu ? "true" : "false",
                         d->hardware_type,
                         pg_array_end(&d->models),
                         fps,
                         streams,
                         batch,
                         mem,
                         decl};
    char why[512];
    PGresult *res = pg_exec_params(conn, registry_upsert_sql, 14, p, NULL, why, sizeof why);
    free(caps);
    free(items);
    free(decl);
    if (!res) {
        if (err)
            snprintf(err, errsz, "storing runtime %s: %s", d->runtime_id, why);
        return RUNTIME_REGISTRY_DB_ERROR;
    }
    if (out) {
        out->answer = xstrdup(PQgetvalue(res, 0, 0));
        out->created = PQgetvalue(res, 0, 1)[0] == 't';
    }
    PQclear(res);
    return RUNTIME_REGISTRY_STORED;
}

int runtime_registry_store_ex(PGconn *conn, const char *json, size_t len,
                              runtime_registry_result *out, char *err, size_t errsz)
{
    registry_check c = {.details = json_object(), .missing_only = true};
    registry_decl d = {0};
    pg_array_begin(&d.models);
    int rc = RUNTIME_REGISTRY_INVALID;
    json_error_t je;
    json_t *body = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!body || !json_is_object(body)) {
        registry_bad(&c, "body", false, "must be a JSON object%s%s", body ? "" : ": ",
                     body ? "" : je.text);
        goto done;
    }
    registry_read(&c, body, &d);
    if (json_object_size(c.details) == 0)
        rc = registry_upsert(conn, body, &d, out, err, errsz);
done:
    if (rc == RUNTIME_REGISTRY_INVALID) {
        if (err)
            snprintf(err, errsz, "%s", c.first);
        if (out) {
            out->details = c.details;
            out->missing_only = c.missing_only;
            c.details = NULL; /* handed to *out */
        }
    }
    json_decref(c.details);
    json_decref(body);
    pg_array_free(&d.models);
    return rc;
}

int runtime_registry_store(PGconn *conn, const char *json, size_t len, char *err, size_t errsz)
{
    return runtime_registry_store_ex(conn, json, len, NULL, err, errsz);
}

void runtime_registry_result_free(runtime_registry_result *r)
{
    if (!r)
        return;
    free(r->answer);
    json_decref(r->details);
    *r = (runtime_registry_result){0};
}
