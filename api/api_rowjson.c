/* api_rowjson.c - see api_rowjson.h. */
#include "api_rowjson.h"

#include "jsonw.h"
#include "pg_copy.h"
#include "text.h"

#include <stdbool.h>
#include <stdint.h>

/* PostgreSQL writes a number as is when its text is a JSON number, and as
 * a string otherwise (NaN, Infinity, -Infinity). */
static bool rowjson__is_number(const char *s)
{
    if (*s == '-')
        s++;
    return *s >= '0' && *s <= '9';
}

/* Exact microseconds of extract(epoch)'s numeric text ("-12.5", "1767225600.123456"). */
static int64_t rowjson__epoch_us(const char *s)
{
    bool neg = *s == '-';
    if (neg)
        s++;
    int64_t us = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        us = us * 10 + (*s - '0');
    us *= 1000000;
    if (*s == '.') {
        s++;
        int64_t scale = 100000;
        for (; *s >= '0' && *s <= '9' && scale; s++, scale /= 10)
            us += (*s - '0') * scale;
    }
    return neg ? -us : us;
}

/* Type oids of the binary values decoded (pg_type.dat's). */
enum {
    ROWJSON__BOOL = 16,
    ROWJSON__INT8 = 20,
    ROWJSON__INT2 = 21,
    ROWJSON__INT4 = 23,
    ROWJSON__JSONB = 3802,
    ROWJSON__TIMESTAMPTZ = 1184,
    ROWJSON__UUID = 2950,
};

static int64_t rowjson__be(const char *v, int n)
{
    uint64_t x = 0;
    for (int i = 0; i < n; i++)
        x = x << 8 | (unsigned char)v[i];
    if (n < 8 && (x >> (8 * n - 1) & 1)) /* sign-extend int2/int4 */
        x |= ~(uint64_t)0 << (8 * n);
    return (int64_t)x;
}

/* A binary timestamptz in Unix microseconds. ±infinity as 0, which is what
 * the text path reads from extract(epoch)'s 'Infinity' (no digits). */
static int64_t rowjson__time_us(const char *v)
{
    int64_t t = rowjson__be(v, 8);
    return t == INT64_MAX || t == INT64_MIN ? 0 : t + PG_EPOCH_UNIX_US;
}

int64_t api_rowjson_time_us(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col) || PQgetlength(res, row, col) != 8)
        return 0;
    return rowjson__time_us(PQgetvalue(res, row, col));
}

const char *api_rowjson_cstr(const PGresult *res, int row, int col, char tmp[48])
{
    const char *v = PQgetvalue(res, row, col);
    if (PQgetisnull(res, row, col) || PQfformat(res, col) == 0)
        return v;
    switch (PQftype(res, col)) {
    case ROWJSON__UUID:
        text_uuid_format((const unsigned char *)v, tmp);
        return tmp;
    case ROWJSON__TIMESTAMPTZ:
        tmp[text_i64(tmp, rowjson__time_us(v))] = '\0';
        return tmp;
    case ROWJSON__INT2:
    case ROWJSON__INT4:
    case ROWJSON__INT8:
        tmp[text_i64(tmp, rowjson__be(v, PQgetlength(res, row, col)))] = '\0';
        return tmp;
    default:
        return v; /* text: libpq ends every value with a NUL */
    }
}

/* A non-NULL binary value; false for a type it does not decode (the text
 * path then writes the bytes, visibly wrong rather than silently). */
static bool rowjson__binary(buf *b, const PGresult *res, int row, int col, api_rowjson_kind kind)
{
    const char *v = PQgetvalue(res, row, col);
    int n = PQgetlength(res, row, col);
    char tmp[48];
    switch (PQftype(res, col)) {
    case ROWJSON__UUID:
        text_uuid_format((const unsigned char *)v, tmp);
        jsonw_strn(b, tmp, 36);
        return true;
    case ROWJSON__TIMESTAMPTZ:
        jsonw_time_us(b, rowjson__time_us(v));
        return true;
    case ROWJSON__INT2:
    case ROWJSON__INT4:
    case ROWJSON__INT8:
        if (kind != ROWJSON_NUM)
            return false;
        jsonw_int(b, rowjson__be(v, n));
        return true;
    case ROWJSON__BOOL:
        buf_append_str(b, *v ? "true" : "false");
        return true;
    case ROWJSON__JSONB: /* a version byte (1), then the text */
        if (n < 1 || *v != 1)
            return false;
        buf_append(b, v + 1, (size_t)n - 1);
        return true;
    default:
        return false;
    }
}

void api_rowjson_value(buf *b, const PGresult *res, int row, int col, api_rowjson_kind kind)
{
    bool null = PQgetisnull(res, row, col);
    if (kind == ROWJSON_IS_NULL) {
        buf_append_str(b, null ? "true" : "false");
        return;
    }
    if (null) {
        buf_append_str(b, "null");
        return;
    }
    if (PQfformat(res, col) == 1 && rowjson__binary(b, res, row, col, kind))
        return;
    const char *v = PQgetvalue(res, row, col);
    size_t n = (size_t)PQgetlength(res, row, col);
    switch (kind) {
    case ROWJSON_NUM:
        if (rowjson__is_number(v))
            buf_append(b, v, n);
        else
            jsonw_strn(b, v, n);
        break;
    case ROWJSON_JSON:
        buf_append(b, v, n);
        break;
    case ROWJSON_BOOL:
        buf_append_str(b, *v == 't' ? "true" : "false");
        break;
    case ROWJSON_TIME:
        jsonw_time_us(b, rowjson__epoch_us(v));
        break;
    default:
        jsonw_strn(b, v, n);
    }
}

void api_rowjson_members(buf *b, const PGresult *res, int row, const api_rowjson_field *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jsonw_key(b, f[i].key);
        api_rowjson_value(b, res, row, f[i].col, f[i].kind);
    }
}
