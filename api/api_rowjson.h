/* api_rowjson.h - JSON objects written in C from plain columns of a
 * PGresult (api_rowjson.c), so PostgreSQL returns columns instead of
 * building every row's JSON with json_build_object.
 *
 * A field table names each member, the column it comes from and how the
 * column's text becomes JSON; the text is always libpq's text format. The
 * output is byte for byte what json_build_object wrote for the same
 * columns (its spacing, its string escapes, numbers and json as PostgreSQL
 * prints them), through jsonw (common/), the one JSON writer. */
#ifndef RUTH_API_ROWJSON_H
#define RUTH_API_ROWJSON_H

#include "buf.h"

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

typedef enum api_rowjson_kind {
    ROWJSON_TEXT,    /* a JSON string (uuid, text) */
    ROWJSON_NUM,     /* a number as printed (int, float8); NaN/Infinity as strings */
    ROWJSON_JSON,    /* json/jsonb text, as is */
    ROWJSON_BOOL,    /* t/f */
    ROWJSON_TIME,    /* ROWJSON_EPOCH() seconds, written as the contract's time */
    ROWJSON_IS_NULL, /* true when the column is NULL (no value of its own) */
} api_rowjson_kind;

/* The SQL of a timestamptz column `col` for ROWJSON_TIME: its exact
 * seconds since the epoch as numeric text ("1767225600.123456"), cheaper in
 * PostgreSQL than ruth_time()'s to_char and formatted here instead. */
#define ROWJSON_EPOCH(col) "extract(epoch FROM " col ")"

typedef struct api_rowjson_field {
    const char *key;
    int col;
    api_rowjson_kind kind;
} api_rowjson_field;

/* The value of column `col` of row `row` as `kind` (NULL -> null).
 *
 * A result in binary format (api_query_binary) is decoded by the column's
 * type, to the same bytes its text form gave: text and varchar (TEXT, or
 * NUM for a float cast ::text, which keeps PostgreSQL's own digits), uuid
 * (TEXT), smallint, integer and bigint (NUM), timestamptz as is (TIME:
 * no ROWJSON_EPOCH needed), json and jsonb (JSON), boolean (BOOL). Other
 * types (float8, numeric) are not decoded: cast them to text. */
void api_rowjson_value(buf *b, const PGresult *res, int row, int col, api_rowjson_kind kind);

/* Column `col` of row `row` as the text a text-format result holds (a
 * cursor's values): a binary uuid formatted, a binary integer in decimal,
 * a binary timestamptz as microseconds since the epoch in decimal (what
 * `(extract(epoch FROM t) * 1000000)::bigint::text` gives). `tmp` holds
 * the text when it must be made; NULL gives "". */
const char *api_rowjson_cstr(const PGresult *res, int row, int col, char tmp[48]);

/* A binary timestamptz column's value in Unix microseconds (±infinity as 0,
 * NULL as 0). */
int64_t api_rowjson_time_us(const PGresult *res, int row, int col);

/* The `n` members of `f` (no braces; jsonw_key() puts the separators). */
void api_rowjson_members(buf *b, const PGresult *res, int row, const api_rowjson_field *f,
                         size_t n);

#endif
