/* codec_avro_read.c - bounds-checked reading of Avro binary bodies.
 *
 * InferenceResults written with our own schema (single-object, or Confluent
 * with a writer schema whose canonical form equals ours) and the pipeline's
 * own messages are read by a lean decoder that walks the known field order
 * with a bounds check before every read and allocation: hostile length
 * prefixes cannot make it allocate or read past the input. A foreign
 * writer's body is skimmed against its schema here before avro-c sees it
 * (codec_resolve.c). Everything decoded lives in the message's arena. */
#include "codec.h"

#include "codec_internal.h"
#include "text.h"

#include <avro.h>
#include <string.h>

/* The schemas' enum symbols, in schema order (the writer uses them too). */
const char *const codec__change_symbols[CODEC__NCHANGE] = {"opened", "updated", "status_changed",
                                                           "evidence_ready", "evidence_failed"};
const char *const codec__status_symbols[CODEC__NSTATUS] = {"open", "reviewed", "dismissed",
                                                           "resolved"};
const char *const codec__kind_symbols[CODEC__NKIND] = {"snapshot", "bookmark"};

static int avro_in_long(codec__avro_in *in, int64_t *out, const char *field)
{
    uint64_t v = 0;
    *out = 0; /* defined on failure too (and gcc -O3 sees it) */
    for (int shift = 0; shift < 64; shift += 7) {
        if (in->p >= in->end)
            return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "truncated at %s", field);
        unsigned char b = *in->p++;
        if (shift == 63 && (b & 0x7e))
            return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "varint overflows 64 bits at %s",
                                   field);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "varint too long at %s", field);
}

static int avro_in_double(codec__avro_in *in, double *out, const char *field)
{
    if (in->end - in->p < 8)
        return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "truncated at %s", field);
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)in->p[i] << (8 * i);
    in->p += 8;
    memcpy(out, &u, sizeof *out);
    return 0;
}

static int avro_in_int(codec__avro_in *in, int32_t *out, const char *field)
{
    int64_t v;
    if (avro_in_long(in, &v, field))
        return -1;
    if (v < INT32_MIN || v > INT32_MAX)
        return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "%s does not fit an int", field);
    *out = (int32_t)v;
    return 0;
}

static int avro_in_string(codec__avro_in *in, const char **out, const char *field)
{
    int64_t n;
    if (avro_in_long(in, &n, field))
        return -1;
    if (n < 0 || n > in->end - in->p)
        return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "%s length %lld exceeds the message",
                               field, (long long)n);
    if (n > CODEC_MAX_STRING)
        return codec_error_set(in->err, CODEC_E_TOO_LARGE, "%s is longer than %d bytes", field,
                               CODEC_MAX_STRING);
    if (!text_utf8_valid((const char *)in->p, (size_t)n))
        return codec_error_set(in->err, CODEC_E_INVALID_UTF8, "%s is not valid UTF-8", field);
    if (memchr(in->p, 0, (size_t)n))
        return codec_error_set(in->err, CODEC_E_INVALID_VALUE, "%s contains a NUL byte", field);
    *out = codec_arena_strndup(in->arena, (const char *)in->p, (size_t)n);
    in->p += n;
    return 0;
}

/* ["null", T]: returns 0 with *present set, -1 on a bad branch. */
static int avro_in_optional(codec__avro_in *in, bool *present, const char *field)
{
    int64_t branch;
    *present = false;
    if (avro_in_long(in, &branch, field))
        return -1;
    if (branch != 0 && branch != 1)
        return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "%s has union branch %lld", field,
                               (long long)branch);
    *present = branch == 1;
    return 0;
}

static int avro_in_opt_string(codec__avro_in *in, const char **out, const char *field)
{
    bool present;
    *out = NULL;
    if (avro_in_optional(in, &present, field))
        return -1;
    return present ? avro_in_string(in, out, field) : 0;
}

static int avro_in_opt_double(codec__avro_in *in, double *out, bool *has, const char *field)
{
    *has = false;
    if (avro_in_optional(in, has, field))
        return -1;
    return *has ? avro_in_double(in, out, field) : 0;
}

static int avro_in_opt_long(codec__avro_in *in, int64_t *out, const char *field)
{
    bool present;
    *out = 0;
    if (avro_in_optional(in, &present, field))
        return -1;
    return present ? avro_in_long(in, out, field) : 0;
}

/* Next block count of an array or map, 0 at the end. `min_item` is the
 * fewest bytes one item can take, so a count the input cannot hold is
 * rejected before anything is allocated. */
static int avro_in_block(codec__avro_in *in, int64_t *count, size_t min_item, size_t limit,
                         size_t sofar, const char *field)
{
    if (avro_in_long(in, count, field))
        return -1;
    if (*count < 0) {
        int64_t bytes;
        if (*count == INT64_MIN || avro_in_long(in, &bytes, field))
            return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "bad block header in %s", field);
        *count = -*count;
    }
    if ((uint64_t)*count > limit || sofar + (size_t)*count > limit)
        return codec_error_set(in->err, CODEC_E_TOO_LARGE, "%s has more than %zu items", field,
                               limit);
    if ((size_t)*count * min_item > (size_t)(in->end - in->p))
        return codec_error_set(in->err, CODEC_E_AVRO_DECODE,
                               "%s claims %lld items beyond the message", field, (long long)*count);
    return 0;
}

static int avro_in_boxes(codec__avro_in *in, codec_bbox **boxes, size_t *nboxes, const char *field)
{
    *boxes = NULL;
    *nboxes = 0;
    size_t cap = 0;
    for (;;) {
        int64_t count;
        if (avro_in_block(in, &count, 34, CODEC_MAX_BOXES, *nboxes, field))
            return -1;
        if (count == 0)
            return 0;
        codec_bbox *grown = *boxes;
        if (*nboxes + (size_t)count > cap) { /* doubling: many 1-item blocks stay linear */
            cap = cap * 2 > *nboxes + (size_t)count ? cap * 2 : *nboxes + (size_t)count;
            grown = codec_arena_alloc(in->arena, cap * sizeof **boxes);
            if (*nboxes)
                memcpy(grown, *boxes, *nboxes * sizeof **boxes);
            *boxes = grown;
        }
        for (int64_t i = 0; i < count; i++) {
            codec_bbox *b = &grown[(*nboxes)++];
            memset(b, 0, sizeof *b);
            if (avro_in_double(in, &b->x, field) || avro_in_double(in, &b->y, field) ||
                avro_in_double(in, &b->width, field) || avro_in_double(in, &b->height, field) ||
                avro_in_opt_string(in, &b->label, field) ||
                avro_in_opt_double(in, &b->confidence, &b->has_confidence, field))
                return -1;
        }
    }
}

static int avro_in_attributes(codec__avro_in *in, inference_result *r)
{
    r->attributes = NULL;
    r->nattributes = 0;
    size_t cap = 0;
    for (;;) {
        int64_t count;
        if (avro_in_block(in, &count, 2, CODEC_MAX_ATTRIBUTES, r->nattributes, "attributes"))
            return -1;
        if (count == 0)
            return 0;
        codec_attr *grown = r->attributes;
        if (r->nattributes + (size_t)count > cap) {
            cap =
                cap * 2 > r->nattributes + (size_t)count ? cap * 2 : r->nattributes + (size_t)count;
            grown = codec_arena_alloc(in->arena, cap * sizeof *grown);
            if (r->nattributes)
                memcpy(grown, r->attributes, r->nattributes * sizeof *grown);
            r->attributes = grown;
        }
        for (int64_t i = 0; i < count; i++) {
            codec_attr *kv = &grown[r->nattributes++];
            if (avro_in_string(in, &kv->key, "attributes") ||
                avro_in_string(in, &kv->value, "attributes"))
                return -1;
        }
    }
}

static int avro_in_opt_int(codec__avro_in *in, int32_t *out, const char *field)
{
    bool present;
    *out = 0;
    if (avro_in_optional(in, &present, field))
        return -1;
    return present ? avro_in_int(in, out, field) : 0;
}

/* Body of an InferenceResult written with our schema or, for nfields below
 * CODEC__INFERENCE_FIELDS, with an earlier version that is a prefix of it
 * (schemas/history/): the fields it lacks keep their defaults. */
int codec__avro_decode_inference(codec__avro_in *in, inference_result *r, int nfields)
{
    bool present;
    if (avro_in_string(in, &r->camera_id, "camera_id") ||
        avro_in_string(in, &r->model_id, "model_id") ||
        avro_in_long(in, &r->timestamp_us, "timestamp") ||
        avro_in_string(in, &r->event_type, "event_type") ||
        avro_in_double(in, &r->confidence, "confidence") ||
        avro_in_boxes(in, &r->boxes, &r->nboxes, "bounding_boxes") ||
        avro_in_opt_string(in, &r->frame_id, "frame_id") ||
        avro_in_opt_string(in, &r->stream_id, "stream_id") ||
        avro_in_opt_string(in, &r->model_version, "model_version") ||
        avro_in_opt_double(in, &r->inference_time_ms, &r->has_inference_time,
                           "inference_time_ms") ||
        avro_in_opt_string(in, &r->runtime_id, "runtime_id") ||
        avro_in_opt_string(in, &r->error_code, "error_code") ||
        avro_in_opt_string(in, &r->error_message, "error_message") || avro_in_attributes(in, r) ||
        avro_in_optional(in, &present, "result_id") ||
        (present && avro_in_string(in, &r->result_id, "result_id")))
        return -1;
    /* version 2 */
    if (nfields > CODEC__INFERENCE_V1_FIELDS &&
        (avro_in_opt_int(in, &r->frame_width, "frame_width") ||
         avro_in_opt_int(in, &r->frame_height, "frame_height")))
        return -1;
    if (in->p != in->end)
        return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "%zu trailing bytes after the record",
                               (size_t)(in->end - in->p));
    return 0;
}

static int avro_in_enum(codec__avro_in *in, const char *const *symbols, int n, const char **out,
                        const char *field)
{
    int64_t i;
    if (avro_in_long(in, &i, field))
        return -1;
    if (i < 0 || i >= n)
        return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "%s has symbol index %lld", field,
                               (long long)i);
    *out = symbols[i];
    return 0;
}

int codec__avro_decode_evidence_request(codec__avro_in *in, evidence_request_msg *m)
{
    return avro_in_string(in, &m->violation_id, "violation_id") ||
                   avro_in_string(in, &m->camera_id, "camera_id") ||
                   avro_in_opt_string(in, &m->stream_id, "stream_id") ||
                   avro_in_enum(in, codec__kind_symbols, 2, &m->kind, "kind") ||
                   avro_in_long(in, &m->center_timestamp_us, "center_timestamp") ||
                   avro_in_int(in, &m->before_seconds, "before_seconds") ||
                   avro_in_int(in, &m->after_seconds, "after_seconds") ||
                   avro_in_int(in, &m->attempt, "attempt")
               ? -1
               : 0;
}

int codec__avro_decode_violation_change(codec__avro_in *in, violation_change_msg *m)
{
    violation_msg *v = &m->violation;
    codec_bbox *boxes;
    if (avro_in_string(in, &m->violation_id, "violation_id") ||
        avro_in_enum(in, codec__change_symbols, 5, &m->change, "change") ||
        avro_in_long(in, &m->occurred_at_us, "occurred_at") ||
        avro_in_long(in, &m->version, "version") || avro_in_string(in, &v->id, "violation.id") ||
        avro_in_string(in, &v->type, "violation.type") ||
        avro_in_string(in, &v->camera_id, "violation.camera_id") ||
        avro_in_opt_string(in, &v->stream_id, "violation.stream_id") ||
        avro_in_enum(in, codec__status_symbols, 4, &v->status, "violation.status") ||
        avro_in_string(in, &v->severity, "violation.severity") ||
        avro_in_double(in, &v->confidence, "violation.confidence") ||
        avro_in_double(in, &v->max_confidence, "violation.max_confidence") ||
        avro_in_long(in, &v->event_count, "violation.event_count") ||
        avro_in_long(in, &v->first_event_at_us, "violation.first_event_at") ||
        avro_in_long(in, &v->last_event_at_us, "violation.last_event_at") ||
        avro_in_opt_long(in, &v->ended_at_us, "violation.ended_at") ||
        avro_in_boxes(in, &boxes, &v->nboxes, "violation.bounding_boxes"))
        return -1;
    v->boxes = boxes;
    if (avro_in_opt_string(in, &v->reviewed_by, "violation.reviewed_by") ||
        avro_in_opt_long(in, &v->reviewed_at_us, "violation.reviewed_at") ||
        avro_in_opt_string(in, &v->resolution_notes, "violation.resolution_notes") ||
        avro_in_opt_string(in, &v->snapshot_status, "violation.snapshot_status") ||
        avro_in_opt_string(in, &v->snapshot_url, "violation.snapshot_url") ||
        avro_in_opt_string(in, &v->bookmark_status, "violation.bookmark_status") ||
        avro_in_opt_string(in, &v->bookmark_url, "violation.bookmark_url") ||
        avro_in_long(in, &v->created_at_us, "violation.created_at") ||
        avro_in_long(in, &v->updated_at_us, "violation.updated_at") ||
        avro_in_long(in, &v->version, "violation.version"))
        return -1;
    return 0;
}

/* Fewest bytes a value of schema `s` takes (0 for null and recursion). Each
 * schema node visited takes a unit of *budget (a record naming another
 * twice at every level would make this exponential); once it is spent the
 * answer is 0 and the caller sees *budget < 0. */
static size_t codec__min_size(avro_schema_t s, int depth, int64_t *budget)
{
    if (depth > 16 || --*budget < 0)
        return 0;
    switch (avro_typeof(s)) {
    case AVRO_NULL:
    case AVRO_LINK:
        return 0;
    case AVRO_FLOAT:
        return 4;
    case AVRO_DOUBLE:
        return 8;
    case AVRO_FIXED: {
        int64_t n = avro_schema_fixed_size(s);
        return n < 0 ? 0 : n > (1 << 20) ? (1 << 20) : (size_t)n;
    }
    case AVRO_RECORD: {
        size_t n = 0;
        for (size_t i = 0; i < avro_schema_record_size(s) && n < (1 << 20) && *budget >= 0; i++)
            n += codec__min_size(avro_schema_record_field_get_by_index(s, (int)i), depth + 1,
                                 budget);
        return n;
    }
    default: /* varints, lengths, block counts, union indexes: at least one byte */
        return 1;
    }
}

#define CODEC_SKIM_MAX_ITEMS 65536 /* per array or map of a foreign writer */

static int codec__too_complex(codec__avro_in *in)
{
    return codec_error_set(in->err, CODEC_E_TOO_COMPLEX,
                           "decoding the body takes more than %d + %d units of work per byte "
                           "under its writer schema",
                           CODEC__SKIM_BASE, CODEC__SKIM_PER_BYTE);
}

/* avro-c trusts length prefixes (it mallocs a string's claimed length before
 * reading it) and loops over claimed block counts. So a foreign writer's
 * body is first walked against the writer schema with every length, count,
 * union branch and enum index bounds-checked; avro-c then only sees bytes
 * known to be well-formed and to end exactly where the message ends. */
int codec__avro_skim(codec__avro_in *in, avro_schema_t s, int depth)
{
    int64_t n;
    if (depth > 64)
        return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "Avro value nested too deeply");
    if (--in->budget < 0)
        return codec__too_complex(in);
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (in->p >= in->end || *in->p > 1)
            return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "truncated or invalid boolean");
        in->p++;
        return 0;
    case AVRO_INT32: {
        int32_t v;
        return avro_in_int(in, &v, "writer int");
    }
    case AVRO_INT64:
        return avro_in_long(in, &n, "writer long");
    case AVRO_FLOAT:
    case AVRO_DOUBLE:
    case AVRO_FIXED:
        n = avro_typeof(s) == AVRO_FLOAT    ? 4
            : avro_typeof(s) == AVRO_DOUBLE ? 8
                                            : avro_schema_fixed_size(s);
        if (n < 0 || n > in->end - in->p)
            return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "truncated Avro body");
        in->p += n;
        return 0;
    case AVRO_STRING:
    case AVRO_BYTES:
        if (avro_in_long(in, &n, "writer string"))
            return -1;
        if (n < 0 || n > in->end - in->p)
            return codec_error_set(in->err, CODEC_E_AVRO_DECODE,
                                   "string length %lld exceeds the message", (long long)n);
        in->p += n;
        return 0;
    case AVRO_ENUM:
        if (avro_in_long(in, &n, "writer enum"))
            return -1;
        if (n < 0 || n >= avro_schema_enum_number_of_symbols(s))
            return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "enum index %lld out of range",
                                   (long long)n);
        return 0;
    case AVRO_UNION:
        if (avro_in_long(in, &n, "writer union"))
            return -1;
        if (n < 0 || (uint64_t)n >= avro_schema_union_size(s))
            return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "union branch %lld out of range",
                                   (long long)n);
        return codec__avro_skim(in, avro_schema_union_branch(s, (int)n), depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (codec__avro_skim(in, avro_schema_record_field_get_by_index(s, (int)i), depth + 1))
                return -1;
        return 0;
    case AVRO_LINK:
        return codec__avro_skim(in, avro_schema_link_target(s), depth + 1);
    case AVRO_ARRAY:
    case AVRO_MAP: {
        bool map = avro_typeof(s) == AVRO_MAP;
        avro_schema_t items = map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        size_t min = codec__min_size(items, 0, &in->budget) + (map ? 1 : 0);
        if (in->budget < 0)
            return codec__too_complex(in);
        int64_t total = 0;
        for (;;) {
            if (avro_in_long(in, &n, "writer block"))
                return -1;
            if (n == 0)
                return 0;
            if (n < 0) {
                int64_t bytes;
                if (n == INT64_MIN || avro_in_long(in, &bytes, "writer block"))
                    return codec_error_set(in->err, CODEC_E_AVRO_DECODE, "bad block header");
                n = -n;
            }
            if (n > CODEC_SKIM_MAX_ITEMS || (total += n) > CODEC_SKIM_MAX_ITEMS)
                return codec_error_set(in->err, CODEC_E_TOO_LARGE,
                                       "array or map of more than %d items", CODEC_SKIM_MAX_ITEMS);
            if ((uint64_t)n * min > (uint64_t)(in->end - in->p))
                return codec_error_set(in->err, CODEC_E_AVRO_DECODE,
                                       "block of %lld items beyond the message", (long long)n);
            if (n * (map ? 2 : 1) > in->budget) /* each item costs a unit at least: fail now */
                return codec__too_complex(in);
            for (int64_t i = 0; i < n; i++) {
                if (map && codec__avro_skim(in, avro_schema_string(), depth + 1))
                    return -1;
                if (codec__avro_skim(in, items, depth + 1))
                    return -1;
            }
        }
    }
    default:
        return codec_error_set(in->err, CODEC_E_INCOMPATIBLE_SCHEMA, "unsupported writer type");
    }
}
