/* api_rowjson.c - see api_rowjson.h. */
#include "api_rowjson.h"

#include "jsonw.h"

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
