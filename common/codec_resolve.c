/* codec_resolve.c - InferenceResults in Confluent framing: the writer schema
 * of each schema id is fetched from the registry once, and the body is read
 * either by the lean decoder (same canonical form as ours) or, for a foreign
 * writer, through avro-c's schema resolution onto our schema projected on
 * the writer's fields. Only the codec's framing (codec.c) calls in here. */
#include "codec.h"

#include "codec_internal.h"
#include "schema_registry.h"
#include "xmalloc.h"

#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How InferenceResults written with one Confluent schema id are read; built
 * on first use of the id and kept (ids are immutable). */
typedef struct codec_writer {
    int32_t id;
    const schema_registry_entry *entry; /* borrowed from the registry cache */
    int lean; /* > 0: ours or a bundled earlier version, lean decoder reading this many fields */
    codec_errcode failure; /* != OK: every message of this id fails so */
    char failure_msg[sizeof(((codec_error *)0)->message)];
    avro_schema_t reader; /* ours projected onto the writer's fields */
    avro_value_iface_t *resolver, *reader_iface;
    avro_value_t dest, wrapper; /* reused: a codec is used by one thread at a time */
    avro_schema_t writer;
    avro_reader_t input;
} codec_writer;

static const char *codec__avro_str(avro_value_t *rec, const char *name, codec_arena *a)
{
    avro_value_t f, branch;
    if (avro_value_get_by_name(rec, name, &f, NULL))
        return NULL;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_get_current_branch(&f, &branch))
            return NULL;
        f = branch;
    }
    const char *s;
    size_t n;
    if (avro_value_get_type(&f) != AVRO_STRING || avro_value_get_string(&f, &s, &n))
        return NULL;
    return codec_arena_strndup(a, s, n ? n - 1 : 0); /* n counts the NUL */
}

static bool codec__avro_double(avro_value_t *rec, const char *name, double *out)
{
    avro_value_t f, branch;
    if (avro_value_get_by_name(rec, name, &f, NULL))
        return false;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_get_current_branch(&f, &branch))
            return false;
        f = branch;
    }
    return avro_value_get_type(&f) == AVRO_DOUBLE && avro_value_get_double(&f, out) == 0;
}

static void codec__avro_int(avro_value_t *rec, const char *name, int32_t *out)
{
    avro_value_t f, branch;
    if (avro_value_get_by_name(rec, name, &f, NULL))
        return;
    if (avro_value_get_type(&f) == AVRO_UNION) {
        if (avro_value_get_current_branch(&f, &branch))
            return;
        f = branch;
    }
    if (avro_value_get_type(&f) == AVRO_INT32)
        avro_value_get_int(&f, out);
}

static int codec__resolved_to_result(avro_value_t *rec, inference_result *r, codec_arena *a,
                                     codec_error *err)
{
    r->camera_id = codec__avro_str(rec, "camera_id", a);
    r->model_id = codec__avro_str(rec, "model_id", a);
    r->event_type = codec__avro_str(rec, "event_type", a);
    r->frame_id = codec__avro_str(rec, "frame_id", a);
    r->stream_id = codec__avro_str(rec, "stream_id", a);
    r->model_version = codec__avro_str(rec, "model_version", a);
    r->runtime_id = codec__avro_str(rec, "runtime_id", a);
    r->error_code = codec__avro_str(rec, "error_code", a);
    r->error_message = codec__avro_str(rec, "error_message", a);
    r->result_id = codec__avro_str(rec, "result_id", a);
    codec__avro_double(rec, "confidence", &r->confidence);
    r->has_inference_time = codec__avro_double(rec, "inference_time_ms", &r->inference_time_ms);
    codec__avro_int(rec, "frame_width", &r->frame_width);
    codec__avro_int(rec, "frame_height", &r->frame_height);
    avro_value_t f;
    if (avro_value_get_by_name(rec, "timestamp", &f, NULL) ||
        avro_value_get_long(&f, &r->timestamp_us))
        return codec_error_set(err, CODEC_E_MISSING_FIELD, "timestamp is required");
    if (!avro_value_get_by_name(rec, "bounding_boxes", &f, NULL)) {
        size_t n = 0;
        avro_value_get_size(&f, &n);
        if (n > CODEC_MAX_BOXES)
            return codec_error_set(err, CODEC_E_TOO_LARGE, "more than %d bounding_boxes",
                                   CODEC_MAX_BOXES);
        r->boxes = n ? codec_arena_alloc(a, n * sizeof *r->boxes) : NULL;
        r->nboxes = n;
        for (size_t i = 0; i < n; i++) {
            avro_value_t item;
            avro_value_get_by_index(&f, i, &item, NULL);
            codec_bbox *b = &r->boxes[i];
            memset(b, 0, sizeof *b);
            codec__avro_double(&item, "x", &b->x);
            codec__avro_double(&item, "y", &b->y);
            codec__avro_double(&item, "width", &b->width);
            codec__avro_double(&item, "height", &b->height);
            b->label = codec__avro_str(&item, "label", a);
            b->has_confidence = codec__avro_double(&item, "confidence", &b->confidence);
        }
    }
    if (!avro_value_get_by_name(rec, "attributes", &f, NULL)) {
        size_t n = 0;
        avro_value_get_size(&f, &n);
        if (n > CODEC_MAX_ATTRIBUTES)
            return codec_error_set(err, CODEC_E_TOO_LARGE, "more than %d attributes",
                                   CODEC_MAX_ATTRIBUTES);
        r->attributes = n ? codec_arena_alloc(a, n * sizeof *r->attributes) : NULL;
        r->nattributes = n;
        for (size_t i = 0; i < n; i++) {
            avro_value_t v;
            const char *key = "", *s = "";
            size_t sl = 0; /* left alone if the value is not a string */
            avro_value_get_by_index(&f, i, &v, &key);
            avro_value_get_string(&v, &s, &sl);
            r->attributes[i].key = codec_arena_strndup(a, key, strlen(key));
            r->attributes[i].value = codec_arena_strndup(a, s, sl ? sl - 1 : 0);
        }
    }
    return 0;
}

/* The member of a record schema's `fields` named `name`, or NULL. */
static json_t *codec__field(json_t *fields, const char *name)
{
    size_t k;
    json_t *f;
    json_array_foreach(fields, k, f)
    {
        const char *fname = json_string_value(json_object_get(f, "name"));
        if (name && fname && !strcmp(name, fname))
            return f;
    }
    return NULL;
}

/* Named types nested in the writer's schema (the box record) may carry the
 * producer's names; avro-c's resolver crashes on a name mismatch below the
 * top level instead of reporting it. So the reader adopts the writer's name
 * for each nested record, enum or fixed at the same place, and a nested
 * record lacking one of our fields is refused here, as incompatible. */
static bool codec__adopt_names(json_t *ours, json_t *theirs, bool top, codec_error *err)
{
    if (json_is_array(ours)) { /* union: match branches by kind */
        size_t i;
        json_t *o;
        json_array_foreach(ours, i, o)
        {
            const char *kind = json_string_value(json_object_get(o, "type"));
            size_t k;
            json_t *t;
            json_array_foreach(theirs, k, t)
            {
                const char *tk = json_string_value(json_object_get(t, "type"));
                if (kind && tk && !strcmp(kind, tk) && !codec__adopt_names(o, t, false, err))
                    return false;
            }
        }
        return true;
    }
    const char *kind = json_string_value(json_object_get(ours, "type"));
    const char *tkind = json_string_value(json_object_get(theirs, "type"));
    if (!kind || !tkind || strcmp(kind, tkind))
        return true; /* primitives, or a mismatch the resolver reports itself */
    if (!strcmp(kind, "array"))
        return codec__adopt_names(json_object_get(ours, "items"), json_object_get(theirs, "items"),
                                  false, err);
    if (!strcmp(kind, "map"))
        return codec__adopt_names(json_object_get(ours, "values"),
                                  json_object_get(theirs, "values"), false, err);
    if (strcmp(kind, "record") && strcmp(kind, "enum") && strcmp(kind, "fixed"))
        return true;
    json_object_set(ours, "name", json_object_get(theirs, "name"));
    json_t *ns = json_object_get(theirs, "namespace");
    if (json_is_string(ns))
        json_object_set(ours, "namespace", ns);
    else
        json_object_del(ours, "namespace");
    if (strcmp(kind, "record"))
        return true;
    /* Fields the writer lacks: left out of the reader when they have a
     * default (avro-c cannot fill it in; decoding leaves them unset, as for
     * the top level, which the caller projects), refused when they have none. */
    json_t *kept = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(ours, "fields"), i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        json_t *match = codec__field(json_object_get(theirs, "fields"), name);
        if (!match && (top || json_object_get(f, "default")))
            continue;
        if (!match) {
            codec_error_set(err, CODEC_E_INCOMPATIBLE_SCHEMA, "writer's %s lacks field %s",
                            json_string_value(json_object_get(theirs, "name")), name ? name : "?");
            json_decref(kept);
            return false;
        }
        if (!codec__adopt_names(json_object_get(f, "type"), json_object_get(match, "type"), false,
                                err)) {
            json_decref(kept);
            return false;
        }
        json_array_append(kept, f);
    }
    json_object_set_new(ours, "fields", kept);
    return true;
}

/* avro-c's resolver cannot fill reader fields that the writer lacks from
 * their defaults, so the reader schema is our InferenceResult projected onto
 * the fields the writer has; what is missing keeps its default in
 * inference_result (NULL, 0, empty). A writer lacking a required field
 * fails later as MISSING_FIELD. The reader takes the writer's record names
 * (codec__adopt_names): fields are matched by name, whatever the producer
 * called its records. */
static avro_schema_t codec__projected_reader(const codec *c, const char *writer_json,
                                             codec_error *err)
{
    json_t *ours = json_loads(c->schemas[CODEC__SCHEMA_INFERENCE].json, 0, NULL);
    json_t *theirs = json_loads(writer_json, 0, NULL);
    avro_schema_t reader = NULL;
    json_t *wfields = json_object_get(theirs, "fields");
    if (!ours || !json_is_array(wfields) || !json_is_string(json_object_get(theirs, "name"))) {
        codec_error_set(err, CODEC_E_INCOMPATIBLE_SCHEMA, "writer schema is not a record");
        goto done;
    }
    json_t *kept = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(ours, "fields"), i, f)
    {
        if (codec__field(wfields, json_string_value(json_object_get(f, "name"))))
            json_array_append(kept, f);
    }
    json_object_set_new(ours, "fields", kept);
    if (!codec__adopt_names(ours, theirs, true, err))
        goto done;
    char *text = json_dumps(ours, JSON_COMPACT);
    if (avro_schema_from_json_length(text, strlen(text), &reader))
        codec_error_set(err, CODEC_E_INCOMPATIBLE_SCHEMA, "cannot build a reader schema: %s",
                        avro_strerror());
    free(text);
done:
    json_decref(ours);
    json_decref(theirs);
    return reader;
}
static void codec__writer_release(codec_writer *w)
{
    if (w->wrapper.self)
        avro_value_decref(&w->wrapper);
    if (w->dest.self)
        avro_value_decref(&w->dest);
    if (w->reader_iface)
        avro_value_iface_decref(w->reader_iface);
    if (w->resolver)
        avro_value_iface_decref(w->resolver);
    if (w->reader)
        avro_schema_decref(w->reader);
    if (w->writer)
        avro_schema_decref(w->writer);
    if (w->input)
        avro_reader_free(w->input);
}

/* Build the resolution machinery for a foreign writer; failures are
 * remembered in w->failure (the schema will not change). */
static void codec__writer_prepare(codec *c, codec_writer *w, avro_schema_t writer,
                                  const char *writer_json)
{
    codec_error err = {0};
    w->writer = avro_schema_incref(writer);
    w->reader = codec__projected_reader(c, writer_json, &err);
    if (!w->reader)
        goto failed;
    w->resolver = avro_resolved_writer_new(w->writer, w->reader);
    if (!w->resolver) {
        codec_error_set(&err, CODEC_E_INCOMPATIBLE_SCHEMA,
                        "writer schema %d cannot be read as InferenceResult: %s", w->id,
                        avro_strerror());
        goto failed;
    }
    w->reader_iface = avro_generic_class_from_schema(w->reader);
    if (!w->reader_iface || avro_generic_value_new(w->reader_iface, &w->dest) ||
        avro_resolved_writer_new_value(w->resolver, &w->wrapper)) {
        codec_error_set(&err, CODEC_E_INCOMPATIBLE_SCHEMA, "writer schema %d: %s", w->id,
                        avro_strerror());
        goto failed;
    }
    avro_resolved_writer_set_dest(&w->wrapper, &w->dest);
    w->input = avro_reader_memory("", 0);
    return;
failed:
    w->failure = err.code;
    snprintf(w->failure_msg, sizeof w->failure_msg, "%s", err.message);
}

/* The cached reading plan for Confluent schema id `id`, fetching the writer
 * schema on first use; NULL with err filled when the registry fails. */
static codec_writer *codec__writer(codec *c, int32_t id, codec_error *err)
{
    for (size_t i = 0; i < c->nwriters; i++)
        if (c->writers[i].id == id)
            return &c->writers[i];
    const schema_registry_entry *e;
    if (schema_registry_get(c->registry, id, &e, err))
        return NULL;
    if (c->nwriters == c->capwriters) {
        c->capwriters = c->capwriters ? c->capwriters * 2 : 4;
        c->writers = xrealloc(c->writers, c->capwriters * sizeof *c->writers);
    }
    codec_writer *w = &c->writers[c->nwriters++];
    memset(w, 0, sizeof *w);
    w->id = id;
    const codec__history *h = codec__history_by_canonical(c, e->canonical);
    if (!strcmp(e->canonical, c->schemas[CODEC__SCHEMA_INFERENCE].canonical))
        w->lean = CODEC__INFERENCE_FIELDS;
    else if (h && h->nfields)
        w->lean = h->nfields; /* an old producer registered an earlier bundled version */
    else
        codec__writer_prepare(c, w, e->schema, e->json);
    return w;
}

const codec__history *codec__history_by_canonical(const codec *c, const char *canonical)
{
    for (int i = 0; i < c->nhistory; i++)
        if (!strcmp(c->history[i].canonical, canonical))
            return &c->history[i];
    return NULL;
}

codec_writer *codec__plan_new(codec *c, const char *json, size_t len, codec_error *err)
{
    avro_schema_t writer;
    if (avro_schema_from_json_length(json, len, &writer)) {
        codec_error_set(err, CODEC_E_INCOMPATIBLE_SCHEMA, "%s", avro_strerror());
        return NULL;
    }
    codec_writer *w = xcalloc(1, sizeof *w);
    w->id = -1;
    codec__writer_prepare(c, w, writer, json);
    avro_schema_decref(writer); /* the plan holds its own reference */
    if (w->failure) {
        codec_error_set(err, w->failure, "%s", w->failure_msg);
        codec__plan_free(w);
        return NULL;
    }
    return w;
}

void codec__plan_free(codec_writer *w)
{
    if (!w)
        return;
    codec__writer_release(w);
    free(w);
}

static int codec__decode_foreign(codec_writer *w, const unsigned char *body, size_t len,
                                 inference_result *r, codec_arena *a, codec_error *err)
{
    if (w->failure)
        return codec_error_set(err, w->failure, "%s", w->failure_msg);
    codec__avro_in in = {body, body + len, a, err,
                         CODEC__SKIM_BASE + CODEC__SKIM_PER_BYTE * (int64_t)len};
    if (codec__avro_skim(&in, w->writer, 0))
        return -1;
    if (in.p != in.end)
        return codec_error_set(err, CODEC_E_AVRO_DECODE, "%zu trailing bytes after the record",
                               (size_t)(in.end - in.p));
    avro_value_reset(&w->dest);
    avro_reader_memory_set_source(w->input, (const char *)body, (int64_t)len);
    if (avro_value_read(w->input, &w->wrapper))
        return codec_error_set(err, CODEC_E_AVRO_DECODE, "cannot decode the Avro body: %s",
                               avro_strerror());
    return codec__resolved_to_result(&w->dest, r, a, err);
}

int codec__decode_confluent(codec *c, int32_t id, const unsigned char *body, size_t len,
                            inference_result *r, codec_arena *a, codec_error *err)
{
    codec_writer *w = codec__writer(c, id, err);
    if (!w)
        return -1;
    if (w->lean) {
        codec__avro_in in = {body, body + len, a, err, 0};
        return codec__avro_decode_inference(&in, r, w->lean);
    }
    return codec__decode_foreign(w, body, len, r, a, err);
}

int codec__plan_decode(codec_writer *w, const unsigned char *body, size_t len, inference_result *r,
                       codec_arena *a, codec_error *err)
{
    return codec__decode_foreign(w, body, len, r, a, err);
}

void codec__writers_release(codec *c)
{
    for (size_t i = 0; i < c->nwriters; i++)
        codec__writer_release(&c->writers[i]);
    free(c->writers);
    c->writers = NULL;
    c->nwriters = c->capwriters = 0;
}
