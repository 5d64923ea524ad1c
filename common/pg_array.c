/* pg_array.c - see pg_array.h. */
#include "pg_array.h"

#include "text.h"

#include <stdarg.h>
#include <stdio.h>

void pg_array_begin(pg_array *a)
{
    buf_reset(&a->b);
    buf_append_byte(&a->b, '{');
    a->n = 0;
}

void pg_array_add(pg_array *a, const char *s)
{
    if (a->n++)
        buf_append_byte(&a->b, ',');
    if (!s) {
        buf_append_str(&a->b, "NULL");
        return;
    }
    buf_append_byte(&a->b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_append_byte(&a->b, '\\');
        buf_append_byte(&a->b, (unsigned char)*p);
    }
    buf_append_byte(&a->b, '"');
}

void pg_array_addf(pg_array *a, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    pg_array_add(a, tmp);
}

void pg_array_add_i64(pg_array *a, int64_t v)
{
    pg_array_addf(a, "%lld", (long long)v);
}

void pg_array_add_f8(pg_array *a, double v)
{
    pg_array_addf(a, "%.17g", v);
}

void pg_array_add_bytes(pg_array *a, const buf *bytes)
{
    if (a->n++)
        buf_append_byte(&a->b, ',');
    /* "\\x..": the array parser turns \\ into \, bytea reads \x as hex. */
    buf_append_str(&a->b, "\"\\\\x");
    buf_reserve(&a->b, 2 * bytes->len + 1);
    text_hex_encode(bytes->data, bytes->len, (char *)a->b.data + a->b.len);
    a->b.len += 2 * bytes->len;
    buf_append_byte(&a->b, '"');
}

const char *pg_array_end(pg_array *a)
{
    buf_append_byte(&a->b, '}');
    return buf_cstr(&a->b);
}

void pg_array_free(pg_array *a)
{
    buf_free(&a->b);
    a->n = 0;
}
