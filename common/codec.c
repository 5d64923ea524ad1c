/* codec.c - the codec's public entry: the context (bundled schemas and
 * their fingerprints), framing detection and the encode/decode entry points
 * of codec.h. The work is done in
 *   codec_validate.c    semantic checks every decoded InferenceResult passes
 *   codec_avro_read.c   bounds-checked Avro binary reading (lean decoder, skim)
 *   codec_avro_write.c  Avro binary bodies
 *   codec_resolve.c     Confluent writer schemas: registry lookup, resolution
 *   codec_json.c        JSON in and out
 *   codec_json_runtime.c  what runtimes send: proto3 names, error payloads
 *   codec_deepstream.c  NVIDIA DeepStream nvmsgconv JSON
 * and the leaves codec_error.c (error type, code names) and codec_arena.c. */
#include "codec.h"

#include "avro_canonical.h"
#include "codec_internal.h"
#include "embedded.h"
#include "schema_registry.h"
#include "xmalloc.h"

#include <avro.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct embedded_file ruth_schema_files[];
extern const size_t ruth_schema_files_count;

static const char *const codec__schema_names[CODEC__NSCHEMAS] = {
    "InferenceResult", "Event", "ViolationChange", "EvidenceRequest"};

void inference_result_free(inference_result *r)
{
    if (!r)
        return;
    codec_arena_free(r->arena__);
    memset(r, 0, sizeof *r);
}

/* ---- context ---- */

static const struct embedded_file *codec__find_file(const char *name)
{
    for (size_t i = 0; i < ruth_schema_files_count; i++)
        if (!strcmp(ruth_schema_files[i].name, name))
            return &ruth_schema_files[i];
    return NULL;
}

/* Number of fields of record schema `json` when its first fields are our
 * InferenceResult's, the same way (same canonical form of ours cut after
 * them); 0 otherwise. */
static int codec__prefix_fields(const codec *c, const char *json, size_t len, const char *canonical)
{
    json_t *theirs = json_loadb(json, len, 0, NULL);
    json_t *ours = json_loads(c->schemas[CODEC__SCHEMA_INFERENCE].json, 0, NULL);
    size_t n = json_array_size(json_object_get(theirs, "fields"));
    json_t *fields = json_object_get(ours, "fields");
    int prefix = 0;
    if (n >= CODEC__INFERENCE_V1_FIELDS && n < json_array_size(fields)) {
        while (json_array_size(fields) > n)
            json_array_remove(fields, json_array_size(fields) - 1);
        char *cut = json_dumps(ours, JSON_COMPACT);
        char e[200];
        char *cut_canonical = cut ? avro_canonical_form(cut, strlen(cut), e, sizeof e) : NULL;
        if (cut_canonical && !strcmp(cut_canonical, canonical))
            prefix = (int)n;
        free(cut_canonical);
        free(cut);
    }
    json_decref(theirs);
    json_decref(ours);
    return prefix;
}

/* Every schemas/history/inference_result.vN.avsc: fingerprint, and how it is
 * read (codec__history). -1 with errstr filled on a broken one. */
static int codec__load_history(codec *c, char *errstr, size_t errsz)
{
    for (size_t i = 0; i < ruth_schema_files_count; i++) {
        const struct embedded_file *f = &ruth_schema_files[i];
        int version, end = 0;
        if (sscanf(f->name, "inference_result.v%d.avsc%n", &version, &end) != 1 ||
            f->name[end] != '\0')
            continue;
        if (c->nhistory == CODEC__MAX_HISTORY) {
            snprintf(errstr, errsz, "more than %d bundled InferenceResult versions",
                     CODEC__MAX_HISTORY);
            return -1;
        }
        codec__history *h = &c->history[c->nhistory++];
        h->version = version;
        h->canonical = avro_canonical_form(f->data, f->len, errstr, errsz);
        if (!h->canonical)
            return -1;
        h->fingerprint = avro_fingerprint64(h->canonical, strlen(h->canonical));
        for (int k = 0; k < 8; k++)
            h->fp_le[k] = (unsigned char)(h->fingerprint >> (8 * k));
        h->nfields = codec__prefix_fields(c, f->data, f->len, h->canonical);
        if (!h->nfields) {
            codec_error err = {0};
            h->plan = codec__plan_new(c, f->data, f->len, &err);
            if (!h->plan) {
                snprintf(errstr, errsz, "bundled schema %s cannot be read as InferenceResult: %s",
                         f->name, err.message);
                return -1;
            }
        }
    }
    return 0;
}

codec *codec_new(const char *registry_url, char *errstr, size_t errsz)
{
    static const char *const files[CODEC__NSCHEMAS] = {
        "inference_result.avsc", "event.avsc", "violation_change.avsc", "evidence_request.avsc"};
    codec *c = xcalloc(1, sizeof *c);
    for (int i = 0; i < CODEC__NSCHEMAS; i++) {
        const struct embedded_file *f = codec__find_file(files[i]);
        codec__schema *s = &c->schemas[i];
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
    if (codec__load_history(c, errstr, errsz))
        goto failed;
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
    for (int i = 0; i < CODEC__NSCHEMAS; i++) {
        if (c->schemas[i].avro)
            avro_schema_decref(c->schemas[i].avro);
        free(c->schemas[i].canonical);
    }
    for (int i = 0; i < c->nhistory; i++) {
        free(c->history[i].canonical);
        codec__plan_free(c->history[i].plan);
    }
    codec__writers_release(c);
    schema_registry_destroy(c->registry);
    free(c);
}

const char *codec_schema_json(const codec *c, const char *name, uint64_t *fingerprint)
{
    for (int i = 0; i < CODEC__NSCHEMAS; i++) {
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
    for (int i = 0; i < CODEC__NSCHEMAS; i++)
        if (!memcmp(c->schemas[i].fp_le, fp_le, 8))
            return i;
    return -1;
}

int codec_decode_inference(codec *c, const void *data, size_t len, inference_result *out,
                           codec_error *err)
{
    return codec_decode_inference_opts(c, data, len, NULL, out, err);
}

int codec_validate_inference(inference_result *r, codec_error *err)
{
    return codec__validate_inference(r, false, err);
}

/* An InferenceResult in single-object encoding: the fingerprint names ours
 * or an earlier bundled version (resolved onto ours, codec__history). */
static int codec__decode_single_object(codec *c, const unsigned char *p, size_t len,
                                       inference_result *out, codec_arena *a, codec_error *err)
{
    if (len < 10)
        return codec_error_set(err, CODEC_E_BAD_FRAMING, "single-object header truncated");
    codec__avro_in in = {p + 10, p + len, a, err, 0};
    int idx = codec__by_fingerprint(c, p + 2);
    if (idx == CODEC__SCHEMA_INFERENCE)
        return codec__avro_decode_inference(&in, out, CODEC__INFERENCE_FIELDS);
    if (idx >= 0)
        return codec_error_set(err, CODEC_E_INCOMPATIBLE_SCHEMA,
                               "message is a %s, not an InferenceResult", codec__schema_names[idx]);
    for (int k = 0; k < c->nhistory; k++) {
        const codec__history *h = &c->history[k];
        if (memcmp(h->fp_le, p + 2, 8))
            continue;
        return h->nfields ? codec__avro_decode_inference(&in, out, h->nfields)
                          : codec__plan_decode(h->plan, p + 10, len - 10, out, a, err);
    }
    return codec_error_set(err, CODEC_E_UNKNOWN_FINGERPRINT,
                           "schema fingerprint matches no bundled schema (InferenceResult "
                           "versions 1..%d)",
                           c->nhistory + 1);
}

int codec_decode_inference_opts(codec *c, const void *data, size_t len,
                                const codec_decode_opts *opts, inference_result *out,
                                codec_error *err)
{
    memset(out, 0, sizeof *out);
    const unsigned char *p = data;
    size_t skip = 0;
    while (skip < len && (p[skip] == ' ' || p[skip] == '\t' || p[skip] == '\r' || p[skip] == '\n'))
        skip++;
    if (len == 0 || skip == len)
        return codec_error_set(err, CODEC_E_BAD_FRAMING, "empty message");
    /* JSON strings are never longer than the text; Avro adds little per item. */
    codec_arena *a = codec_arena_new(p[skip] == '{' ? len + 1024 : len * 2 + 256);
    out->arena__ = a;
    int rc;
    if (p[skip] == '{') {
        out->format = CODEC_FMT_JSON;
        rc = codec__json_decode_inference((const char *)p, len, opts, out, a, err);
    } else if (len >= 2 && p[0] == 0xC3 && p[1] == 0x01) {
        out->format = CODEC_FMT_SINGLE_OBJECT;
        rc = codec__decode_single_object(c, p, len, out, a, err);
    } else if (p[0] == 0x00) {
        out->format = CODEC_FMT_CONFLUENT;
        if (len < 5) {
            rc = codec_error_set(err, CODEC_E_BAD_FRAMING, "Confluent header truncated");
        } else {
            int32_t id =
                (int32_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
            if (!c->registry) {
                rc = codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID,
                                     "schema id %d: no SCHEMA_REGISTRY_URL configured", id);
            } else {
                rc = codec__decode_confluent(c, id, p + 5, len - 5, out, a, err);
            }
        }
    } else {
        rc = codec_error_set(err, CODEC_E_BAD_FRAMING,
                             "first byte 0x%02x is no known framing (Confluent 0x00, single-object "
                             "0xC3 0x01, JSON '{')",
                             p[0]);
    }
    if (rc == 0)
        rc = codec__validate_inference(out, opts && opts->model_id_optional, err);
    if (rc) {
        codec_format f = out->format;
        inference_result_free(out);
        out->format = f;
        return -1;
    }
    return 0;
}

static void codec__single_object_header(const codec__schema *s, buf *out)
{
    buf_append_byte(out, 0xC3);
    buf_append_byte(out, 0x01);
    buf_append(out, s->fp_le, 8);
}

int codec_encode_inference(codec *c, codec_format fmt, int32_t schema_id, const inference_result *r,
                           buf *out, codec_error *err)
{
    switch (fmt) {
    case CODEC_FMT_JSON:
        return codec__json_encode_inference(r, out, err);
    case CODEC_FMT_SINGLE_OBJECT:
        codec__single_object_header(&c->schemas[CODEC__SCHEMA_INFERENCE], out);
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
        return codec_error_set(err, CODEC_E_BAD_FRAMING,
                               "Event is published single-object or JSON");
    codec__single_object_header(&c->schemas[CODEC__SCHEMA_EVENT], out);
    codec__avro_encode_event(m, out);
    return 0;
}

int codec_encode_violation_change(codec *c, codec_format fmt, const violation_change_msg *m,
                                  buf *out, codec_error *err)
{
    if (fmt == CODEC_FMT_JSON)
        return codec__json_encode_violation_change(m, out, err);
    if (fmt != CODEC_FMT_SINGLE_OBJECT)
        return codec_error_set(err, CODEC_E_BAD_FRAMING,
                               "ViolationChange is published single-object or JSON");
    size_t mark = out->len;
    codec__single_object_header(&c->schemas[CODEC__SCHEMA_VIOLATION_CHANGE], out);
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
        return codec_error_set(err, CODEC_E_BAD_FRAMING,
                               "EvidenceRequest is published single-object or JSON");
    size_t mark = out->len;
    codec__single_object_header(&c->schemas[CODEC__SCHEMA_EVIDENCE_REQUEST], out);
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
        return codec_error_set(err, CODEC_E_BAD_FRAMING, "empty message");
    size_t skip = 0;
    while (skip < len && (p[skip] == ' ' || p[skip] == '\t' || p[skip] == '\r' || p[skip] == '\n'))
        skip++;
    codec_arena *a = codec_arena_new(len * 2 + 256);
    int rc;
    if (skip < len && p[skip] == '{') {
        rc = want == CODEC__SCHEMA_EVIDENCE_REQUEST
                 ? codec__json_decode_evidence_request(data, len, msg, a, err)
                 : codec__json_decode_violation_change(data, len, msg, a, err);
    } else if (len >= 10 && p[0] == 0xC3 && p[1] == 0x01) {
        int idx = codec__by_fingerprint(c, p + 2);
        if (idx != want) {
            rc = codec_error_set(
                err, idx < 0 ? CODEC_E_UNKNOWN_FINGERPRINT : CODEC_E_INCOMPATIBLE_SCHEMA,
                "message is not a %s", codec__schema_names[want]);
        } else {
            codec__avro_in in = {p + 10, p + len, a, err, 0};
            rc = want == CODEC__SCHEMA_EVIDENCE_REQUEST
                     ? codec__avro_decode_evidence_request(&in, msg)
                     : codec__avro_decode_violation_change(&in, msg);
            if (!rc && in.p != in.end)
                rc = codec_error_set(err, CODEC_E_AVRO_DECODE, "trailing bytes after the record");
        }
    } else {
        rc = codec_error_set(err, CODEC_E_BAD_FRAMING, "expected single-object Avro or JSON");
    }
    if (rc) {
        codec_arena_free(a);
        return -1;
    }
    *arena = a;
    return 0;
}

int codec_decode_evidence_request(codec *c, const void *data, size_t len, evidence_request_msg *out,
                                  void **arena, codec_error *err)
{
    memset(out, 0, sizeof *out);
    return codec__decode_own(c, CODEC__SCHEMA_EVIDENCE_REQUEST, data, len, out, arena, err);
}

int codec_decode_violation_change(codec *c, const void *data, size_t len, violation_change_msg *out,
                                  void **arena, codec_error *err)
{
    memset(out, 0, sizeof *out);
    return codec__decode_own(c, CODEC__SCHEMA_VIOLATION_CHANGE, data, len, out, arena, err);
}

int codec_register_inference_schema(codec *c, const char *subject, int32_t *schema_id,
                                    codec_error *err)
{
    if (!c->registry)
        return codec_error_set(err, CODEC_E_UNKNOWN_SCHEMA_ID,
                               "Confluent framing needs SCHEMA_REGISTRY_URL");
    return schema_registry_register(c->registry, subject, c->schemas[CODEC__SCHEMA_INFERENCE].json,
                                    schema_id, err);
}
