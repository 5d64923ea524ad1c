/* codec.c - framing detection, the Avro binary paths and the codec context;
 * JSON lives in codec_json.c, the registry client in schema_registry.c.
 *
 * InferenceResults written with our own schema (single-object, or Confluent
 * with a writer schema whose canonical form equals ours) are read by a lean
 * decoder that walks the known field order with a bounds check before every
 * read and allocation: hostile length prefixes cannot make it allocate or
 * read past the input. Foreign Confluent writer schemas go through avro-c's
 * schema resolution instead. */
#include "codec.h"

#include "avro_canonical.h"
#include "codec_internal.h"
#include "embedded.h"
#include "schema_registry.h"
#include "xmalloc.h"

#include <avro.h>
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const struct embedded_file ruth_schema_files[];
extern const size_t ruth_schema_files_count;

enum { SCHEMA_INFERENCE, SCHEMA_EVENT, SCHEMA_VIOLATION_CHANGE, SCHEMA_EVIDENCE_REQUEST, NSCHEMAS };
static const char *const codec__schema_names[NSCHEMAS] = {"InferenceResult", "Event",
                                                          "ViolationChange", "EvidenceRequest"};

typedef struct codec_schema {
    const char *json; /* borrowed from the embedded table */
    char *canonical;
    uint64_t fingerprint;
    unsigned char fp_le[8];
    avro_schema_t avro;
} codec_schema;

/* How InferenceResults written with one Confluent schema id are read; built
 * on first use of the id and kept (ids are immutable). */
typedef struct codec_writer {
    int32_t id;
    const schema_registry_entry *entry; /* borrowed from the registry cache */
    bool ours;                          /* same canonical form: lean decoder */
    codec_errcode failure;              /* != OK: every message of this id fails so */
    char failure_msg[sizeof(((codec_error *)0)->message)];
    avro_schema_t reader;               /* ours projected onto the writer's fields */
    avro_value_iface_t *resolver, *reader_iface;
    avro_value_t dest, wrapper; /* reused: a codec is used by one thread at a time */
    avro_schema_t writer;
    avro_reader_t input;
} codec_writer;

struct codec {
    codec_schema schemas[NSCHEMAS];
    schema_registry *registry; /* NULL without SCHEMA_REGISTRY_URL */
    codec_writer *writers;
    size_t nwriters, capwriters;
};

/* ---- errors ---- */

const char *codec_errcode_name(codec_errcode code)
{
    switch (code) {
    case CODEC_OK: return "OK";
    case CODEC_E_BAD_FRAMING: return "BAD_FRAMING";
    case CODEC_E_UNKNOWN_SCHEMA_ID: return "UNKNOWN_SCHEMA_ID";
    case CODEC_E_UNKNOWN_FINGERPRINT: return "UNKNOWN_FINGERPRINT";
    case CODEC_E_REGISTRY_UNAVAILABLE: return "REGISTRY_UNAVAILABLE";
    case CODEC_E_INCOMPATIBLE_SCHEMA: return "INCOMPATIBLE_SCHEMA";
    case CODEC_E_AVRO_DECODE: return "AVRO_DECODE";
    case CODEC_E_JSON_SYNTAX: return "JSON_SYNTAX";
    case CODEC_E_JSON_TOO_DEEP: return "JSON_TOO_DEEP";
    case CODEC_E_MISSING_FIELD: return "MISSING_FIELD";
    case CODEC_E_WRONG_TYPE: return "WRONG_TYPE";
    case CODEC_E_INVALID_VALUE: return "INVALID_VALUE";
    case CODEC_E_INVALID_UTF8: return "INVALID_UTF8";
    case CODEC_E_TOO_LARGE: return "TOO_LARGE";
    case CODEC_E_CLOCK_SKEW: return "CLOCK_SKEW";
    }
    return "UNKNOWN";
}

bool codec_error_is_transient(codec_errcode code)
{
    return code == CODEC_E_REGISTRY_UNAVAILABLE;
}

int codec__fail(codec_error *err, codec_errcode code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- arena ---- */

struct codec_arena {
    struct codec_arena *next; /* further chunks, only after the first fills up */
    struct codec_arena *cur;  /* chunk being filled (in the head only) */
    size_t used, cap;
    max_align_t data[]; /* aligned storage */
};

/* Sized from the input so that a decode normally needs this one malloc;
 * pathological inputs (many tiny items) chain more chunks. */
codec_arena *codec__arena_new(size_t hint)
{
    size_t cap = hint < 512 ? 512 : hint;
    codec_arena *a = xmalloc(sizeof *a + cap);
    a->next = NULL;
    a->cur = a;
    a->used = 0;
    a->cap = cap;
    return a;
}

static void *codec__arena_take(codec_arena *a, size_t n, size_t align)
{
    codec_arena *c = a->cur;
    size_t off = (c->used + align - 1) & ~(align - 1);
    if (off > c->cap || n > c->cap - off) {
        size_t cap = c->cap * 2 > n ? c->cap * 2 : n;
        codec_arena *nc = xmalloc(sizeof *nc + cap);
        nc->cur = NULL;
        nc->cap = cap;
        nc->next = a->next; /* chained behind the head, whose address is the handle */
        a->next = nc;
        a->cur = c = nc;
        off = 0;
    }
    c->used = off + n;
    return (char *)c->data + off;
}

void *codec__arena_alloc(codec_arena *a, size_t n)
{
    return codec__arena_take(a, n, _Alignof(max_align_t));
}

char *codec__arena_strndup(codec_arena *a, const char *s, size_t n)
{
    char *p = codec__arena_take(a, n + 1, 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void codec_arena_free(void *arena)
{
    codec_arena *a = arena;
    while (a) {
        codec_arena *n = a->next;
        free(a);
        a = n;
    }
}

void inference_result_free(inference_result *r)
{
    if (!r)
        return;
    codec_arena_free(r->arena__);
    memset(r, 0, sizeof *r);
}

/* ---- small validators ---- */

bool codec_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + n;
    while (s < end) {
        unsigned char c = *s;
        size_t len;
        if (c < 0x80) {
            s++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF)
            len = 2;
        else if (c >= 0xE0 && c <= 0xEF)
            len = 3;
        else if (c >= 0xF0 && c <= 0xF4)
            len = 4;
        else
            return false;
        if ((size_t)(end - s) < len)
            return false;
        for (size_t i = 1; i < len; i++)
            if ((s[i] & 0xC0) != 0x80)
                return false;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) ||
            (c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
            return false;
        s += len;
    }
    return true;
}

bool codec__uuid_normalize(const char *s, char out[37])
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
            out[i] = '-';
        } else {
            if (!isxdigit((unsigned char)c))
                return false;
            out[i] = (char)tolower((unsigned char)c);
        }
    }
    out[36] = '\0';
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t codec__days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool codec__digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

bool codec_parse_iso8601(const char *s, int64_t *us)
{
    int Y, M, D, h, m, sec;
    const char *p = s;
    if (!codec__digits(&p, 4, &Y) || *p++ != '-' || !codec__digits(&p, 2, &M) || *p++ != '-' ||
        !codec__digits(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
        return false;
    p++;
    if (!codec__digits(&p, 2, &h) || *p++ != ':' || !codec__digits(&p, 2, &m) || *p++ != ':' ||
        !codec__digits(&p, 2, &sec))
        return false;
    int64_t frac = 0;
    if (*p == '.' || *p == ',') {
        p++;
        int nd = 0;
        while (isdigit((unsigned char)*p)) {
            if (nd < 6) {
                frac = frac * 10 + (*p - '0');
                nd++;
            }
            p++;
        }
        if (nd == 0)
            return false;
        while (nd++ < 6)
            frac *= 10;
    }
    int offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (!codec__digits(&p, 2, &oh))
            return false;
        if (*p == ':')
            p++;
        if (!codec__digits(&p, 2, &om) || oh > 23 || om > 59)
            return false;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return false; /* no offset: ambiguous, refused */
    }
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (*p || M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || h > 23 || m > 59 || sec > 60)
        return false;
    if (M == 2 && D == 29 && !((Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0))
        return false;
    int64_t days = codec__days_from_civil(Y, (unsigned)M, (unsigned)D);
    int64_t t = days * 86400 + h * 3600 + m * 60 + sec - offset_s;
    *us = t * 1000000 + frac;
    return true;
}

int codec_check_skew(int64_t timestamp_us, int64_t now_us, int64_t max_skew_s, codec_error *err)
{
    int64_t d = timestamp_us - now_us;
    if (d < 0)
        d = -d;
    if (d / 1000000 > max_skew_s)
        return codec__fail(err, CODEC_E_CLOCK_SKEW,
                           "timestamp is %lld s away from now (limit %lld s)",
                           (long long)(d / 1000000), (long long)max_skew_s);
    return 0;
}

static int codec__check_str(const char *field, const char *s, codec_error *err)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    if (n > CODEC_MAX_STRING)
        return codec__fail(err, CODEC_E_TOO_LARGE, "%s is longer than %d bytes", field,
                           CODEC_MAX_STRING);
    if (!codec_utf8_valid(s, n))
        return codec__fail(err, CODEC_E_INVALID_UTF8, "%s is not valid UTF-8", field);
    return 0;
}

int codec__validate_inference(inference_result *r, codec_error *err)
{
    const struct {
        const char *name;
        const char *v;
        bool required;
    } strs[] = {
        {"camera_id", r->camera_id, true},   {"model_id", r->model_id, true},
        {"event_type", r->event_type, true}, {"frame_id", r->frame_id, false},
        {"stream_id", r->stream_id, false},  {"model_version", r->model_version, false},
        {"runtime_id", r->runtime_id, false}, {"error_code", r->error_code, false},
        {"error_message", r->error_message, false},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (strs[i].required && !strs[i].v)
            return codec__fail(err, CODEC_E_MISSING_FIELD, "%s is required", strs[i].name);
        if (codec__check_str(strs[i].name, strs[i].v, err))
            return -1;
        if (strs[i].required && !*strs[i].v)
            return codec__fail(err, CODEC_E_INVALID_VALUE, "%s is empty", strs[i].name);
    }
    if (!isfinite(r->confidence) || r->confidence < 0 || r->confidence > 1)
        return codec__fail(err, CODEC_E_INVALID_VALUE, "confidence %g is not within 0..1",
                           r->confidence);
    if (r->has_inference_time && (!isfinite(r->inference_time_ms) || r->inference_time_ms < 0))
        return codec__fail(err, CODEC_E_INVALID_VALUE, "inference_time_ms %g is invalid",
                           r->inference_time_ms);
    if (r->nboxes > CODEC_MAX_BOXES)
        return codec__fail(err, CODEC_E_TOO_LARGE, "more than %d bounding_boxes", CODEC_MAX_BOXES);
    for (size_t i = 0; i < r->nboxes; i++) {
        const codec_bbox *b = &r->boxes[i];
        const double v[4] = {b->x, b->y, b->width, b->height};
        static const char *const names[4] = {"x", "y", "width", "height"};
        for (int k = 0; k < 4; k++) {
            if (!isfinite(v[k]) || v[k] < 0)
                return codec__fail(err, CODEC_E_INVALID_VALUE,
                                   "bounding_boxes[%zu].%s is negative or not a number", i,
                                   names[k]);
            if (v[k] > CODEC_MAX_BOX_PIXELS)
                return codec__fail(err, CODEC_E_INVALID_VALUE,
                                   "bounding_boxes[%zu].%s is beyond %.0f pixels", i, names[k],
                                   CODEC_MAX_BOX_PIXELS);
        }
        if (b->has_confidence && (!isfinite(b->confidence) || b->confidence < 0 ||
                                  b->confidence > 1))
            return codec__fail(err, CODEC_E_INVALID_VALUE,
                               "bounding_boxes[%zu].confidence is not within 0..1", i);
        if (codec__check_str("bounding_boxes[].label", b->label, err))
            return -1;
    }
    if (r->nattributes > CODEC_MAX_ATTRIBUTES)
        return codec__fail(err, CODEC_E_TOO_LARGE, "more than %d attributes",
                           CODEC_MAX_ATTRIBUTES);
    for (size_t i = 0; i < r->nattributes; i++)
        if (codec__check_str("attributes key", r->attributes[i].key, err) ||
            codec__check_str("attributes value", r->attributes[i].value, err))
            return -1;
    if (r->result_id) {
        char norm[37];
        if (!codec__uuid_normalize(r->result_id, norm))
            return codec__fail(err, CODEC_E_INVALID_VALUE, "result_id is not a UUID");
        memcpy((char *)r->result_id, norm, 37); /* same length, owned by the arena */
    }
    /* 0001-01-01 .. 9999-12-31: anything else is a broken clock or a unit error. */
    if (r->timestamp_us < -62135596800000000LL || r->timestamp_us > 253402300799000000LL)
        return codec__fail(err, CODEC_E_INVALID_VALUE, "timestamp %lld is out of range",
                           (long long)r->timestamp_us);
    return 0;
}

/* ---- lean Avro binary reader ---- */

typedef struct avro_in {
    const unsigned char *p, *end;
    codec_arena *arena;
    codec_error *err;
} avro_in;

static int avro_in_long(avro_in *in, int64_t *out, const char *field)
{
    uint64_t v = 0;
    *out = 0; /* defined on failure too (and gcc -O3 sees it) */
    for (int shift = 0; shift < 64; shift += 7) {
        if (in->p >= in->end)
            return codec__fail(in->err, CODEC_E_AVRO_DECODE, "truncated at %s", field);
        unsigned char b = *in->p++;
        if (shift == 63 && (b & 0x7e))
            return codec__fail(in->err, CODEC_E_AVRO_DECODE, "varint overflows 64 bits at %s",
                               field);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
            return 0;
        }
    }
    return codec__fail(in->err, CODEC_E_AVRO_DECODE, "varint too long at %s", field);
}

static int avro_in_double(avro_in *in, double *out, const char *field)
{
    if (in->end - in->p < 8)
        return codec__fail(in->err, CODEC_E_AVRO_DECODE, "truncated at %s", field);
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)in->p[i] << (8 * i);
    in->p += 8;
    memcpy(out, &u, sizeof *out);
    return 0;
}

static int avro_in_int(avro_in *in, int32_t *out, const char *field)
{
    int64_t v;
    if (avro_in_long(in, &v, field))
        return -1;
    if (v < INT32_MIN || v > INT32_MAX)
        return codec__fail(in->err, CODEC_E_AVRO_DECODE, "%s does not fit an int", field);
    *out = (int32_t)v;
    return 0;
}

static int avro_in_string(avro_in *in, const char **out, const char *field)
{
    int64_t n;
    if (avro_in_long(in, &n, field))
        return -1;
    if (n < 0 || n > in->end - in->p)
        return codec__fail(in->err, CODEC_E_AVRO_DECODE, "%s length %lld exceeds the message",
                           field, (long long)n);
    if (n > CODEC_MAX_STRING)
        return codec__fail(in->err, CODEC_E_TOO_LARGE, "%s is longer than %d bytes", field,
                           CODEC_MAX_STRING);
    if (!codec_utf8_valid((const char *)in->p, (size_t)n))
        return codec__fail(in->err, CODEC_E_INVALID_UTF8, "%s is not valid UTF-8", field);
    if (memchr(in->p, 0, (size_t)n))
        return codec__fail(in->err, CODEC_E_INVALID_VALUE, "%s contains a NUL byte", field);
    *out = codec__arena_strndup(in->arena, (const char *)in->p, (size_t)n);
    in->p += n;
    return 0;
}

/* ["null", T]: returns 0 with *present set, -1 on a bad branch. */
static int avro_in_optional(avro_in *in, bool *present, const char *field)
{
    int64_t branch;
    *present = false;
    if (avro_in_long(in, &branch, field))
        return -1;
    if (branch != 0 && branch != 1)
        return codec__fail(in->err, CODEC_E_AVRO_DECODE, "%s has union branch %lld", field,
                           (long long)branch);
    *present = branch == 1;
    return 0;
}

static int avro_in_opt_string(avro_in *in, const char **out, const char *field)
{
    bool present;
    *out = NULL;
    if (avro_in_optional(in, &present, field))
        return -1;
    return present ? avro_in_string(in, out, field) : 0;
}

static int avro_in_opt_double(avro_in *in, double *out, bool *has, const char *field)
{
    *has = false;
    if (avro_in_optional(in, has, field))
        return -1;
    return *has ? avro_in_double(in, out, field) : 0;
}

static int avro_in_opt_long(avro_in *in, int64_t *out, const char *field)
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
static int avro_in_block(avro_in *in, int64_t *count, size_t min_item, size_t limit, size_t sofar,
                         const char *field)
{
    if (avro_in_long(in, count, field))
        return -1;
    if (*count < 0) {
        int64_t bytes;
        if (*count == INT64_MIN || avro_in_long(in, &bytes, field))
            return codec__fail(in->err, CODEC_E_AVRO_DECODE, "bad block header in %s", field);
        *count = -*count;
    }
    if ((uint64_t)*count > limit || sofar + (size_t)*count > limit)
        return codec__fail(in->err, CODEC_E_TOO_LARGE, "%s has more than %zu items", field,
                           limit);
    if ((size_t)*count * min_item > (size_t)(in->end - in->p))
        return codec__fail(in->err, CODEC_E_AVRO_DECODE, "%s claims %lld items beyond the message",
                           field, (long long)*count);
    return 0;
}

static int avro_in_boxes(avro_in *in, codec_bbox **boxes, size_t *nboxes, const char *field)
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
            grown = codec__arena_alloc(in->arena, cap * sizeof **boxes);
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

static int avro_in_attributes(avro_in *in, inference_result *r)
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
            cap = cap * 2 > r->nattributes + (size_t)count ? cap * 2
                                                           : r->nattributes + (size_t)count;
            grown = codec__arena_alloc(in->arena, cap * sizeof *grown);
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

/* Body of an InferenceResult written with our schema. */
static int codec__avro_decode_inference(avro_in *in, inference_result *r)
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
    if (in->p != in->end)
        return codec__fail(in->err, CODEC_E_AVRO_DECODE, "%zu trailing bytes after the record",
                           (size_t)(in->end - in->p));
    return 0;
}

/* ---- Avro writers ---- */

static void avro_out_opt_string(buf *b, const char *s)
{
    if (!s) {
        buf_avro_long(b, 0);
        return;
    }
    buf_avro_long(b, 1);
    buf_avro_string(b, s);
}

static void avro_out_opt_double(buf *b, bool has, double v)
{
    buf_avro_long(b, has ? 1 : 0);
    if (has)
        buf_avro_double(b, v);
}

static void avro_out_opt_ts(buf *b, int64_t us)
{
    buf_avro_long(b, us ? 1 : 0);
    if (us)
        buf_avro_long(b, us);
}

static void avro_out_boxes(buf *b, const codec_bbox *boxes, size_t n)
{
    if (n) {
        buf_avro_long(b, (int64_t)n);
        for (size_t i = 0; i < n; i++) {
            buf_avro_double(b, boxes[i].x);
            buf_avro_double(b, boxes[i].y);
            buf_avro_double(b, boxes[i].width);
            buf_avro_double(b, boxes[i].height);
            avro_out_opt_string(b, boxes[i].label);
            avro_out_opt_double(b, boxes[i].has_confidence, boxes[i].confidence);
        }
    }
    buf_avro_long(b, 0);
}

static const char *avro_str(const char *s)
{
    return s ? s : "";
}

static void codec__avro_encode_inference(const inference_result *r, buf *b)
{
    buf_avro_string(b, avro_str(r->camera_id));
    buf_avro_string(b, avro_str(r->model_id));
    buf_avro_long(b, r->timestamp_us);
    buf_avro_string(b, avro_str(r->event_type));
    buf_avro_double(b, r->confidence);
    avro_out_boxes(b, r->boxes, r->nboxes);
    avro_out_opt_string(b, r->frame_id);
    avro_out_opt_string(b, r->stream_id);
    avro_out_opt_string(b, r->model_version);
    avro_out_opt_double(b, r->has_inference_time, r->inference_time_ms);
    avro_out_opt_string(b, r->runtime_id);
    avro_out_opt_string(b, r->error_code);
    avro_out_opt_string(b, r->error_message);
    if (r->nattributes) {
        buf_avro_long(b, (int64_t)r->nattributes);
        for (size_t i = 0; i < r->nattributes; i++) {
            buf_avro_string(b, r->attributes[i].key);
            buf_avro_string(b, r->attributes[i].value);
        }
    }
    buf_avro_long(b, 0);
    avro_out_opt_string(b, r->result_id);
}

/* Index of `s` in the enum symbols, or -1. */
static int codec__symbol(const char *s, const char *const *symbols, int n)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, symbols[i]))
            return i;
    return -1;
}

static const char *const codec__change_symbols[] = {"opened", "updated", "status_changed",
                                                    "evidence_ready", "evidence_failed"};
static const char *const codec__status_symbols[] = {"open", "reviewed", "dismissed", "resolved"};
static const char *const codec__kind_symbols[] = {"snapshot", "bookmark"};

static void codec__avro_encode_event(const event_msg *m, buf *b)
{
    buf_avro_string(b, avro_str(m->id));
    buf_avro_string(b, avro_str(m->camera_id));
    avro_out_opt_string(b, m->stream_id);
    buf_avro_string(b, avro_str(m->event_type));
    avro_out_opt_string(b, m->type_detail);
    buf_avro_double(b, m->confidence);
    buf_avro_long(b, m->timestamp_us);
    buf_avro_string(b, avro_str(m->model_id));
    avro_out_opt_string(b, m->model_version);
    avro_out_boxes(b, m->boxes, m->nboxes);
    avro_out_opt_string(b, m->frame_id);
    avro_out_opt_double(b, m->has_inference_time, m->inference_time_ms);
    avro_out_opt_string(b, m->violation_id);
    buf_avro_long(b, m->created_at_us);
}

static int codec__avro_encode_violation_change(const violation_change_msg *m, buf *b,
                                               codec_error *err)
{
    int change = codec__symbol(m->change, codec__change_symbols, 5);
    int status = codec__symbol(m->violation.status, codec__status_symbols, 4);
    if (change < 0)
        return codec__fail(err, CODEC_E_INVALID_VALUE, "change \"%s\" is not a ChangeKind",
                           avro_str(m->change));
    if (status < 0)
        return codec__fail(err, CODEC_E_INVALID_VALUE, "status \"%s\" is not a ViolationStatus",
                           avro_str(m->violation.status));
    const violation_msg *v = &m->violation;
    buf_avro_string(b, avro_str(m->violation_id));
    buf_avro_long(b, change);
    buf_avro_long(b, m->occurred_at_us);
    buf_avro_long(b, m->version);
    buf_avro_string(b, avro_str(v->id));
    buf_avro_string(b, avro_str(v->type));
    buf_avro_string(b, avro_str(v->camera_id));
    avro_out_opt_string(b, v->stream_id);
    buf_avro_long(b, status);
    buf_avro_string(b, avro_str(v->severity));
    buf_avro_double(b, v->confidence);
    buf_avro_double(b, v->max_confidence);
    buf_avro_long(b, v->event_count);
    buf_avro_long(b, v->first_event_at_us);
    buf_avro_long(b, v->last_event_at_us);
    avro_out_opt_ts(b, v->ended_at_us);
    avro_out_boxes(b, v->boxes, v->nboxes);
    avro_out_opt_string(b, v->reviewed_by);
    avro_out_opt_ts(b, v->reviewed_at_us);
    avro_out_opt_string(b, v->resolution_notes);
    avro_out_opt_string(b, v->snapshot_status);
    avro_out_opt_string(b, v->snapshot_url);
    avro_out_opt_string(b, v->bookmark_status);
    avro_out_opt_string(b, v->bookmark_url);
    buf_avro_long(b, v->created_at_us);
    buf_avro_long(b, v->updated_at_us);
    buf_avro_long(b, v->version);
    return 0;
}

static int codec__avro_encode_evidence_request(const evidence_request_msg *m, buf *b,
                                               codec_error *err)
{
    int kind = codec__symbol(m->kind, codec__kind_symbols, 2);
    if (kind < 0)
        return codec__fail(err, CODEC_E_INVALID_VALUE, "kind \"%s\" is not an EvidenceKind",
                           avro_str(m->kind));
    buf_avro_string(b, avro_str(m->violation_id));
    buf_avro_string(b, avro_str(m->camera_id));
    avro_out_opt_string(b, m->stream_id);
    buf_avro_long(b, kind);
    buf_avro_long(b, m->center_timestamp_us);
    buf_avro_long(b, m->before_seconds);
    buf_avro_long(b, m->after_seconds);
    buf_avro_long(b, m->attempt);
    return 0;
}

static int avro_in_enum(avro_in *in, const char *const *symbols, int n, const char **out,
                        const char *field)
{
    int64_t i;
    if (avro_in_long(in, &i, field))
        return -1;
    if (i < 0 || i >= n)
        return codec__fail(in->err, CODEC_E_AVRO_DECODE, "%s has symbol index %lld", field,
                           (long long)i);
    *out = symbols[i];
    return 0;
}

static int codec__avro_decode_evidence_request(avro_in *in, evidence_request_msg *m)
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

static int codec__avro_decode_violation_change(avro_in *in, violation_change_msg *m)
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

/* ---- avro-c resolution for foreign Confluent writer schemas ---- */

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
    return codec__arena_strndup(a, s, n ? n - 1 : 0); /* n counts the NUL */
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
    avro_value_t f;
    if (avro_value_get_by_name(rec, "timestamp", &f, NULL) || avro_value_get_long(&f, &r->timestamp_us))
        return codec__fail(err, CODEC_E_MISSING_FIELD, "timestamp is required");
    if (!avro_value_get_by_name(rec, "bounding_boxes", &f, NULL)) {
        size_t n = 0;
        avro_value_get_size(&f, &n);
        if (n > CODEC_MAX_BOXES)
            return codec__fail(err, CODEC_E_TOO_LARGE, "more than %d bounding_boxes",
                               CODEC_MAX_BOXES);
        r->boxes = n ? codec__arena_alloc(a, n * sizeof *r->boxes) : NULL;
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
            return codec__fail(err, CODEC_E_TOO_LARGE, "more than %d attributes",
                               CODEC_MAX_ATTRIBUTES);
        r->attributes = n ? codec__arena_alloc(a, n * sizeof *r->attributes) : NULL;
        r->nattributes = n;
        for (size_t i = 0; i < n; i++) {
            avro_value_t v;
            const char *key, *s;
            size_t sl;
            avro_value_get_by_index(&f, i, &v, &key);
            avro_value_get_string(&v, &s, &sl);
            r->attributes[i].key = codec__arena_strndup(a, key, strlen(key));
            r->attributes[i].value = codec__arena_strndup(a, s, sl ? sl - 1 : 0);
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
        return codec__adopt_names(json_object_get(ours, "items"),
                                  json_object_get(theirs, "items"), false, err);
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
            codec__fail(err, CODEC_E_INCOMPATIBLE_SCHEMA, "writer's %s lacks field %s",
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
    json_t *ours = json_loads(c->schemas[SCHEMA_INFERENCE].json, 0, NULL);
    json_t *theirs = json_loads(writer_json, 0, NULL);
    avro_schema_t reader = NULL;
    json_t *wfields = json_object_get(theirs, "fields");
    if (!ours || !json_is_array(wfields) || !json_is_string(json_object_get(theirs, "name"))) {
        codec__fail(err, CODEC_E_INCOMPATIBLE_SCHEMA, "writer schema is not a record");
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
        codec__fail(err, CODEC_E_INCOMPATIBLE_SCHEMA, "cannot build a reader schema: %s",
                    avro_strerror());
    free(text);
done:
    json_decref(ours);
    json_decref(theirs);
    return reader;
}

/* Fewest bytes a value of schema `s` takes (0 for null and recursion). */
static size_t codec__min_size(avro_schema_t s, int depth)
{
    if (depth > 16)
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
        for (size_t i = 0; i < avro_schema_record_size(s) && n < (1 << 20); i++)
            n += codec__min_size(avro_schema_record_field_get_by_index(s, (int)i), depth + 1);
        return n;
    }
    default: /* varints, lengths, block counts, union indexes: at least one byte */
        return 1;
    }
}

#define CODEC_SKIM_MAX_ITEMS 65536 /* per array or map of a foreign writer */

/* avro-c trusts length prefixes (it mallocs a string's claimed length before
 * reading it) and loops over claimed block counts. So a foreign writer's
 * body is first walked against the writer schema with every length, count,
 * union branch and enum index bounds-checked; avro-c then only sees bytes
 * known to be well-formed and to end exactly where the message ends. */
static int codec__skim(avro_in *in, avro_schema_t s, int depth)
{
    int64_t n;
    if (depth > 64)
        return codec__fail(in->err, CODEC_E_AVRO_DECODE, "Avro value nested too deeply");
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (in->p >= in->end || *in->p > 1)
            return codec__fail(in->err, CODEC_E_AVRO_DECODE, "truncated or invalid boolean");
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
        n = avro_typeof(s) == AVRO_FLOAT ? 4 : avro_typeof(s) == AVRO_DOUBLE ? 8 : avro_schema_fixed_size(s);
        if (n < 0 || n > in->end - in->p)
            return codec__fail(in->err, CODEC_E_AVRO_DECODE, "truncated Avro body");
        in->p += n;
        return 0;
    case AVRO_STRING:
    case AVRO_BYTES:
        if (avro_in_long(in, &n, "writer string"))
            return -1;
        if (n < 0 || n > in->end - in->p)
            return codec__fail(in->err, CODEC_E_AVRO_DECODE,
                               "string length %lld exceeds the message", (long long)n);
        in->p += n;
        return 0;
    case AVRO_ENUM:
        if (avro_in_long(in, &n, "writer enum"))
            return -1;
        if (n < 0 || n >= avro_schema_enum_number_of_symbols(s))
            return codec__fail(in->err, CODEC_E_AVRO_DECODE, "enum index %lld out of range",
                               (long long)n);
        return 0;
    case AVRO_UNION:
        if (avro_in_long(in, &n, "writer union"))
            return -1;
        if (n < 0 || (uint64_t)n >= avro_schema_union_size(s))
            return codec__fail(in->err, CODEC_E_AVRO_DECODE, "union branch %lld out of range",
                               (long long)n);
        return codec__skim(in, avro_schema_union_branch(s, (int)n), depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (codec__skim(in, avro_schema_record_field_get_by_index(s, (int)i), depth + 1))
                return -1;
        return 0;
    case AVRO_LINK:
        return codec__skim(in, avro_schema_link_target(s), depth + 1);
    case AVRO_ARRAY:
    case AVRO_MAP: {
        bool map = avro_typeof(s) == AVRO_MAP;
        avro_schema_t items = map ? avro_schema_map_values(s) : avro_schema_array_items(s);
        size_t min = codec__min_size(items, 0) + (map ? 1 : 0);
        int64_t total = 0;
        for (;;) {
            if (avro_in_long(in, &n, "writer block"))
                return -1;
            if (n == 0)
                return 0;
            if (n < 0) {
                int64_t bytes;
                if (n == INT64_MIN || avro_in_long(in, &bytes, "writer block"))
                    return codec__fail(in->err, CODEC_E_AVRO_DECODE, "bad block header");
                n = -n;
            }
            if (n > CODEC_SKIM_MAX_ITEMS || (total += n) > CODEC_SKIM_MAX_ITEMS)
                return codec__fail(in->err, CODEC_E_TOO_LARGE, "array or map of more than %d items",
                                   CODEC_SKIM_MAX_ITEMS);
            if ((uint64_t)n * min > (uint64_t)(in->end - in->p))
                return codec__fail(in->err, CODEC_E_AVRO_DECODE,
                                   "block of %lld items beyond the message", (long long)n);
            for (int64_t i = 0; i < n; i++) {
                if (map && codec__skim(in, avro_schema_string(), depth + 1))
                    return -1;
                if (codec__skim(in, items, depth + 1))
                    return -1;
            }
        }
    }
    default:
        return codec__fail(in->err, CODEC_E_INCOMPATIBLE_SCHEMA, "unsupported writer type");
    }
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
static void codec__writer_prepare(codec *c, codec_writer *w, const schema_registry_entry *e)
{
    codec_error err = {0};
    w->writer = avro_schema_incref(e->schema);
    w->reader = codec__projected_reader(c, e->json, &err);
    if (!w->reader)
        goto failed;
    w->resolver = avro_resolved_writer_new(w->writer, w->reader);
    if (!w->resolver) {
        codec__fail(&err, CODEC_E_INCOMPATIBLE_SCHEMA,
                    "writer schema %d cannot be read as InferenceResult: %s", w->id,
                    avro_strerror());
        goto failed;
    }
    w->reader_iface = avro_generic_class_from_schema(w->reader);
    if (!w->reader_iface || avro_generic_value_new(w->reader_iface, &w->dest) ||
        avro_resolved_writer_new_value(w->resolver, &w->wrapper)) {
        codec__fail(&err, CODEC_E_INCOMPATIBLE_SCHEMA, "writer schema %d: %s", w->id,
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
    w->ours = !strcmp(e->canonical, c->schemas[SCHEMA_INFERENCE].canonical);
    if (!w->ours)
        codec__writer_prepare(c, w, e);
    return w;
}

static int codec__decode_foreign(codec_writer *w, const unsigned char *body, size_t len,
                                 inference_result *r, codec_arena *a, codec_error *err)
{
    if (w->failure)
        return codec__fail(err, w->failure, "%s", w->failure_msg);
    avro_in in = {body, body + len, a, err};
    if (codec__skim(&in, w->writer, 0))
        return -1;
    if (in.p != in.end)
        return codec__fail(err, CODEC_E_AVRO_DECODE, "%zu trailing bytes after the record",
                           (size_t)(in.end - in.p));
    avro_value_reset(&w->dest);
    avro_reader_memory_set_source(w->input, (const char *)body, (int64_t)len);
    if (avro_value_read(w->input, &w->wrapper))
        return codec__fail(err, CODEC_E_AVRO_DECODE, "cannot decode the Avro body: %s",
                           avro_strerror());
    return codec__resolved_to_result(&w->dest, r, a, err);
}

/* ---- context ---- */

static const struct embedded_file *codec__find_file(const char *name)
{
    for (size_t i = 0; i < ruth_schema_files_count; i++)
        if (!strcmp(ruth_schema_files[i].name, name))
            return &ruth_schema_files[i];
    return NULL;
}

codec *codec_new(const char *registry_url, char *errstr, size_t errsz)
{
    static const char *const files[NSCHEMAS] = {"inference_result.avsc", "event.avsc",
                                                "violation_change.avsc", "evidence_request.avsc"};
    codec *c = xcalloc(1, sizeof *c);
    for (int i = 0; i < NSCHEMAS; i++) {
        const struct embedded_file *f = codec__find_file(files[i]);
        codec_schema *s = &c->schemas[i];
        if (!f) {
            snprintf(errstr, errsz, "bundled schema %s is missing", files[i]);
            goto failed;
        }
        s->json = f->data;
        if (avro_schema_from_json_length(f->data, f->len, &s->avro)) {
            snprintf(errstr, errsz, "bundled schema %s: %s", files[i], avro_strerror());
            goto failed;
        }
        s->canonical = avro_canonical_form(f->data, f->len, errstr, errsz);
        if (!s->canonical)
            goto failed;
        s->fingerprint = avro_fingerprint64(s->canonical, strlen(s->canonical));
        for (int k = 0; k < 8; k++)
            s->fp_le[k] = (unsigned char)(s->fingerprint >> (8 * k));
    }
    if (registry_url && *registry_url) {
        c->registry = schema_registry_new(registry_url, errstr, errsz);
        if (!c->registry)
            goto failed;
    }
    return c;
failed:
    codec_destroy(c);
    return NULL;
}

void codec_destroy(codec *c)
{
    if (!c)
        return;
    for (int i = 0; i < NSCHEMAS; i++) {
        if (c->schemas[i].avro)
            avro_schema_decref(c->schemas[i].avro);
        free(c->schemas[i].canonical);
    }
    for (size_t i = 0; i < c->nwriters; i++)
        codec__writer_release(&c->writers[i]);
    free(c->writers);
    schema_registry_destroy(c->registry);
    free(c);
}

const char *codec_schema_json(const codec *c, const char *name, uint64_t *fingerprint)
{
    for (int i = 0; i < NSCHEMAS; i++) {
        if (!strcmp(codec__schema_names[i], name)) {
            if (fingerprint)
                *fingerprint = c->schemas[i].fingerprint;
            return c->schemas[i].json;
        }
    }
    return NULL;
}

/* Index of the bundled schema a single-object header names, or -1. */
static int codec__by_fingerprint(const codec *c, const unsigned char *fp_le)
{
    for (int i = 0; i < NSCHEMAS; i++)
        if (!memcmp(c->schemas[i].fp_le, fp_le, 8))
            return i;
    return -1;
}

int codec_decode_inference(codec *c, const void *data, size_t len, inference_result *out,
                           codec_error *err)
{
    memset(out, 0, sizeof *out);
    const unsigned char *p = data;
    size_t skip = 0;
    while (skip < len && (p[skip] == ' ' || p[skip] == '\t' || p[skip] == '\r' || p[skip] == '\n'))
        skip++;
    if (len == 0 || skip == len)
        return codec__fail(err, CODEC_E_BAD_FRAMING, "empty message");
    /* JSON strings are never longer than the text; Avro adds little per item. */
    codec_arena *a = codec__arena_new(p[skip] == '{' ? len + 1024 : len * 2 + 256);
    out->arena__ = a;
    int rc;
    if (p[skip] == '{') {
        out->format = CODEC_FMT_JSON;
        rc = codec__json_decode_inference((const char *)p, len, out, a, err);
    } else if (len >= 2 && p[0] == 0xC3 && p[1] == 0x01) {
        out->format = CODEC_FMT_SINGLE_OBJECT;
        if (len < 10) {
            rc = codec__fail(err, CODEC_E_BAD_FRAMING, "single-object header truncated");
        } else {
            int idx = codec__by_fingerprint(c, p + 2);
            if (idx < 0)
                rc = codec__fail(err, CODEC_E_UNKNOWN_FINGERPRINT,
                                 "schema fingerprint matches no bundled schema");
            else if (idx != SCHEMA_INFERENCE)
                rc = codec__fail(err, CODEC_E_INCOMPATIBLE_SCHEMA,
                                 "message is a %s, not an InferenceResult",
                                 codec__schema_names[idx]);
            else {
                avro_in in = {p + 10, p + len, a, err};
                rc = codec__avro_decode_inference(&in, out);
            }
        }
    } else if (p[0] == 0x00) {
        out->format = CODEC_FMT_CONFLUENT;
        if (len < 5) {
            rc = codec__fail(err, CODEC_E_BAD_FRAMING, "Confluent header truncated");
        } else {
            int32_t id = (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 |
                                   (uint32_t)p[3] << 8 | p[4]);
            if (!c->registry) {
                rc = codec__fail(err, CODEC_E_UNKNOWN_SCHEMA_ID,
                                 "schema id %d: no SCHEMA_REGISTRY_URL configured", id);
            } else {
                codec_writer *w = codec__writer(c, id, err);
                if (!w)
                    rc = -1;
                else if (w->ours) {
                    avro_in in = {p + 5, p + len, a, err};
                    rc = codec__avro_decode_inference(&in, out);
                } else {
                    rc = codec__decode_foreign(w, p + 5, len - 5, out, a, err);
                }
            }
        }
    } else {
        rc = codec__fail(err, CODEC_E_BAD_FRAMING,
                         "first byte 0x%02x is no known framing (Confluent 0x00, single-object "
                         "0xC3 0x01, JSON '{')",
                         p[0]);
    }
    if (rc == 0)
        rc = codec__validate_inference(out, err);
    if (rc) {
        codec_format f = out->format;
        inference_result_free(out);
        out->format = f;
        return -1;
    }
    return 0;
}

static void codec__single_object_header(const codec_schema *s, buf *out)
{
    buf_append_byte(out, 0xC3);
    buf_append_byte(out, 0x01);
    buf_append(out, s->fp_le, 8);
}

int codec_encode_inference(codec *c, codec_format fmt, int32_t schema_id,
                           const inference_result *r, buf *out, codec_error *err)
{
    switch (fmt) {
    case CODEC_FMT_JSON:
        return codec__json_encode_inference(r, out, err);
    case CODEC_FMT_SINGLE_OBJECT:
        codec__single_object_header(&c->schemas[SCHEMA_INFERENCE], out);
        break;
    case CODEC_FMT_CONFLUENT: {
        const unsigned char h[5] = {0, (unsigned char)(schema_id >> 24),
                                    (unsigned char)(schema_id >> 16),
                                    (unsigned char)(schema_id >> 8), (unsigned char)schema_id};
        buf_append(out, h, 5);
        break;
    }
    }
    codec__avro_encode_inference(r, out);
    return 0;
}

int codec_encode_event(codec *c, codec_format fmt, const event_msg *m, buf *out, codec_error *err)
{
    if (fmt == CODEC_FMT_JSON)
        return codec__json_encode_event(m, out, err);
    if (fmt != CODEC_FMT_SINGLE_OBJECT)
        return codec__fail(err, CODEC_E_BAD_FRAMING, "Event is published single-object or JSON");
    codec__single_object_header(&c->schemas[SCHEMA_EVENT], out);
    codec__avro_encode_event(m, out);
    return 0;
}

int codec_encode_violation_change(codec *c, codec_format fmt, const violation_change_msg *m,
                                  buf *out, codec_error *err)
{
    if (fmt == CODEC_FMT_JSON)
        return codec__json_encode_violation_change(m, out, err);
    if (fmt != CODEC_FMT_SINGLE_OBJECT)
        return codec__fail(err, CODEC_E_BAD_FRAMING,
                           "ViolationChange is published single-object or JSON");
    size_t mark = out->len;
    codec__single_object_header(&c->schemas[SCHEMA_VIOLATION_CHANGE], out);
    if (codec__avro_encode_violation_change(m, out, err)) {
        out->len = mark;
        return -1;
    }
    return 0;
}

int codec_encode_evidence_request(codec *c, codec_format fmt, const evidence_request_msg *m,
                                  buf *out, codec_error *err)
{
    if (fmt == CODEC_FMT_JSON)
        return codec__json_encode_evidence_request(m, out, err);
    if (fmt != CODEC_FMT_SINGLE_OBJECT)
        return codec__fail(err, CODEC_E_BAD_FRAMING,
                           "EvidenceRequest is published single-object or JSON");
    size_t mark = out->len;
    codec__single_object_header(&c->schemas[SCHEMA_EVIDENCE_REQUEST], out);
    if (codec__avro_encode_evidence_request(m, out, err)) {
        out->len = mark;
        return -1;
    }
    return 0;
}

/* Shared framing for the pipeline's own messages: single-object of schema
 * `want` or JSON. */
static int codec__decode_own(codec *c, int want, const void *data, size_t len, void *msg,
                             void **arena, codec_error *err)
{
    const unsigned char *p = data;
    *arena = NULL;
    if (len == 0)
        return codec__fail(err, CODEC_E_BAD_FRAMING, "empty message");
    size_t skip = 0;
    while (skip < len && (p[skip] == ' ' || p[skip] == '\t' || p[skip] == '\r' || p[skip] == '\n'))
        skip++;
    codec_arena *a = codec__arena_new(len * 2 + 256);
    int rc;
    if (skip < len && p[skip] == '{') {
        rc = want == SCHEMA_EVIDENCE_REQUEST
                 ? codec__json_decode_evidence_request(data, len, msg, a, err)
                 : codec__json_decode_violation_change(data, len, msg, a, err);
    } else if (len >= 10 && p[0] == 0xC3 && p[1] == 0x01) {
        int idx = codec__by_fingerprint(c, p + 2);
        if (idx != want) {
            rc = codec__fail(err, idx < 0 ? CODEC_E_UNKNOWN_FINGERPRINT : CODEC_E_INCOMPATIBLE_SCHEMA,
                             "message is not a %s", codec__schema_names[want]);
        } else {
            avro_in in = {p + 10, p + len, a, err};
            rc = want == SCHEMA_EVIDENCE_REQUEST
                     ? codec__avro_decode_evidence_request(&in, msg)
                     : codec__avro_decode_violation_change(&in, msg);
            if (!rc && in.p != in.end)
                rc = codec__fail(err, CODEC_E_AVRO_DECODE, "trailing bytes after the record");
        }
    } else {
        rc = codec__fail(err, CODEC_E_BAD_FRAMING, "expected single-object Avro or JSON");
    }
    if (rc) {
        codec_arena_free(a);
        return -1;
    }
    *arena = a;
    return 0;
}

int codec_decode_evidence_request(codec *c, const void *data, size_t len,
                                  evidence_request_msg *out, void **arena, codec_error *err)
{
    memset(out, 0, sizeof *out);
    return codec__decode_own(c, SCHEMA_EVIDENCE_REQUEST, data, len, out, arena, err);
}

int codec_decode_violation_change(codec *c, const void *data, size_t len,
                                  violation_change_msg *out, void **arena, codec_error *err)
{
    memset(out, 0, sizeof *out);
    return codec__decode_own(c, SCHEMA_VIOLATION_CHANGE, data, len, out, arena, err);
}

int codec_register_inference_schema(codec *c, const char *subject, int32_t *schema_id,
                                    codec_error *err)
{
    if (!c->registry)
        return codec__fail(err, CODEC_E_UNKNOWN_SCHEMA_ID,
                           "Confluent framing needs SCHEMA_REGISTRY_URL");
    return schema_registry_register(c->registry, subject, c->schemas[SCHEMA_INFERENCE].json,
                                    schema_id, err);
}
