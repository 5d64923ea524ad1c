/* pg_array.h - PostgreSQL array literals ({"a","b",NULL}) for text
 * parameters such as `unnest($1::text[])`.
 *
 * Every element is double-quoted with `"` and `\` escaped, so any text is
 * safe, including empty strings, braces, commas and the word NULL; a NULL
 * element is SQL NULL. Zero-initialise (`pg_array a = {0};`), then
 * pg_array_begin(), pg_array_add*() per element, pg_array_end() for the
 * literal; pg_array_free() releases the memory (the struct may be begun
 * again in between to reuse it). */
#ifndef RUTH_PG_ARRAY_H
#define RUTH_PG_ARRAY_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pg_array {
    buf b;
    size_t n; /* elements added since pg_array_begin() */
} pg_array;

/* Start (or restart) an empty array. */
void pg_array_begin(pg_array *a);
/* Append the text `s`, or SQL NULL when s is NULL. */
void pg_array_add(pg_array *a, const char *s);
/* Append printf-formatted text (at most 127 bytes: numbers and ids). */
void pg_array_addf(pg_array *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append an integer, or a double with 17 significant digits (reads back
 * as the same float8). */
void pg_array_add_i64(pg_array *a, int64_t v);
void pg_array_add_f8(pg_array *a, double v);
/* Append `bytes` as a bytea element in hex form ("\\x0a1b..."). */
void pg_array_add_bytes(pg_array *a, const buf *bytes);
/* Close the array and return the literal, borrowed from `a` until it is
 * begun again or freed. Call once per pg_array_begin(). */
const char *pg_array_end(pg_array *a);
/* Release the memory; accepts a zeroed or freed array. */
void pg_array_free(pg_array *a);

#endif
