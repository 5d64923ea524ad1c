/* pg_copy.h - COPY ... FROM STDIN (FORMAT binary) rows, encoded into a buf.
 *
 * The binary format needs no text formatting of numbers and timestamps and
 * no escaping (the worker's hottest code before was mostly printf of
 * doubles). A stream is pg_copy_header(), then per row pg_copy_row() with the
 * column count followed by one pg_copy_* field per column, then
 * pg_copy_trailer(). The bytes go to PQputCopyData(); the buffer may be sent
 * and reset between rows. Every function appends to the caller's buf and
 * cannot fail (buf grows through xmalloc). */
#ifndef RUTH_PG_COPY_H
#define RUTH_PG_COPY_H

#include "buf.h"

#include <stdbool.h>
#include <stdint.h>

/* PostgreSQL's binary timestamptz counts microseconds from 2000-01-01
 * 00:00:00 UTC, not from 1970: that instant in Unix microseconds (COPY's
 * binary rows and binary query results alike). */
#define PG_EPOCH_UNIX_US 946684800000000LL

/* The 19-byte signature, flags and header extension that start a stream. */
void pg_copy_header(buf *b);
/* The end-of-data marker (a field count of -1). */
void pg_copy_trailer(buf *b);
/* Start a row of `ncolumns` fields. */
void pg_copy_row(buf *b, uint16_t ncolumns);

/* Raw big-endian integers (building blocks of the fields). */
void pg_copy_u32(buf *b, uint32_t v);
void pg_copy_u64(buf *b, uint64_t v);

/* SQL NULL. */
void pg_copy_null(buf *b);
/* text (or varchar); NULL s is SQL NULL. The bytes are sent as they are:
 * the server checks they are valid in its encoding. */
void pg_copy_text(buf *b, const char *s);
/* float8; SQL NULL when !present. NaN and infinities are sent as such. */
void pg_copy_f8(buf *b, double v, bool present);
/* timestamptz from microseconds since the Unix epoch (UTC). */
void pg_copy_ts(buf *b, int64_t unix_us);
/* uuid from its canonical 36-character text form; the
 * caller passes a well-formed uuid (deterministic ids made by the worker);
 * anything else is written as NULL, which a NOT NULL column refuses loudly. */
void pg_copy_uuid(buf *b, const char *text);
/* uuid from its 16 bytes (no text to check: the worker keeps its ids' bytes). */
void pg_copy_uuid_bytes(buf *b, const unsigned char u[16]);
/* jsonb from JSON text (`len` bytes; the server parses and checks it). */
void pg_copy_jsonb(buf *b, const void *json, size_t len);
/* jsonb written in place: pg_copy_jsonb_begin() starts the field and
 * returns where it starts, the caller appends the JSON text to b, and
 * pg_copy_jsonb_end(b, at) fills in its length (no copy of the text). */
size_t pg_copy_jsonb_begin(buf *b);
void pg_copy_jsonb_end(buf *b, size_t at);
/* text[] of the n strings v[0..n) (one dimension, no NULL elements; n = 0
 * writes the empty array). */
void pg_copy_text_array(buf *b, const char *const *v, size_t n);

#endif
