/* codec_internal.h - shared between the codec's source files only. */
#ifndef RUTH_CODEC_INTERNAL_H
#define RUTH_CODEC_INTERNAL_H

#include "codec.h"

#include <stdarg.h>

/* Bump allocator behind inference_result.arena__ and the message decoders'
 * *arena: one free releases a whole decoded message. */
typedef struct codec_arena codec_arena;
codec_arena *codec__arena_new(size_t hint);
void *codec__arena_alloc(codec_arena *a, size_t n);
char *codec__arena_strndup(codec_arena *a, const char *s, size_t n);

/* Fill err and return -1. */
int codec__fail(codec_error *err, codec_errcode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Canonical lower-case UUID text into out[37]; false if `s` is not a UUID. */
bool codec__uuid_normalize(const char *s, char out[37]);

/* Semantic checks shared by every input format (see codec_decode_inference). */
int codec__validate_inference(inference_result *r, codec_error *err);

/* JSON input and output (codec_json.c). */
int codec__json_decode_inference(const char *data, size_t len, inference_result *r,
                                 codec_arena *a, codec_error *err);
int codec__json_encode_inference(const inference_result *r, buf *out, codec_error *err);
int codec__json_encode_event(const event_msg *m, buf *out, codec_error *err);
int codec__json_encode_violation_change(const violation_change_msg *m, buf *out, codec_error *err);
int codec__json_encode_evidence_request(const evidence_request_msg *m, buf *out, codec_error *err);
int codec__json_decode_evidence_request(const char *data, size_t len, evidence_request_msg *m,
                                        codec_arena *a, codec_error *err);
int codec__json_decode_violation_change(const char *data, size_t len, violation_change_msg *m,
                                        codec_arena *a, codec_error *err);

#endif
