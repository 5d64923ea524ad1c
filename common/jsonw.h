/* jsonw.h - the one JSON text writer: strings, numbers, times and object
 * members appended to a buf (jsonw.c).
 *
 * Hand-written rather than jansson for the hot paths: the worker's box and
 * attribute columns (codec_boxes.c) and the API's list and detail bodies
 * (api_rowjson.c), where building a jansson tree per row and dumping it
 * costs several times the text itself. Nothing here allocates except
 * through the buf. */
#ifndef RUTH_JSONW_H
#define RUTH_JSONW_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/* A JSON string of the `n` bytes at `s` (no NUL needed), escaped as
 * PostgreSQL's escape_json does (\" \\ \b \f \n \r \t, other control
 * characters as \u00XX, everything else as is), so bodies written here are
 * byte for byte what json_build_object wrote. jsonw_str is the same for a
 * NUL-terminated string. */
void jsonw_strn(buf *b, const char *s, size_t n);
void jsonw_str(buf *b, const char *s);

/* The shortest text that reads back as the same double: integers without a
 * fraction, others with %.15g when that round-trips, else %.17g; null for
 * what JSON cannot hold (NaN, infinities). */
void jsonw_num(buf *b, double v);

/* A decimal integer. */
void jsonw_int(buf *b, int64_t v);

/* A time of `us` microseconds since the Unix epoch as the Ruth AI contract
 * writes it, in quotes: "2026-01-13T10:30:00.123Z" (UTC, milliseconds
 * truncated, the same as ruth_time() in migration 0007). */
void jsonw_time_us(buf *b, int64_t us);

/* An object member's key: `"key" : ` after the object's `{`, `, "key" : `
 * after an earlier member (PostgreSQL's json_build_object spacing, which the
 * API's bodies have always had). The value is appended next. */
void jsonw_key(buf *b, const char *key);

#endif
