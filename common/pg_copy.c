/* pg_copy.c - see pg_copy.h. The layout is PostgreSQL's "Binary Format" of
 * COPY: network byte order, each field a 4-byte length (-1 for NULL) and the
 * type's binary send representation. */
#include "pg_copy.h"

#include "text.h"

#include <string.h>

/* timestamptz counts from 2000-01-01 00:00:00 UTC, not from 1970. */
#define PG_EPOCH_UNIX_US 946684800000000LL

void pg_copy_header(buf *b)
{
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    buf_append(b, header, sizeof header);
}

void pg_copy_trailer(buf *b)
{
    buf_append(b, "\xff\xff", 2);
}

void pg_copy_row(buf *b, uint16_t ncolumns)
{
    unsigned char x[2] = {(unsigned char)(ncolumns >> 8), (unsigned char)ncolumns};
    buf_append(b, x, 2);
}

void pg_copy_u32(buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    buf_append(b, x, 4);
}

void pg_copy_u64(buf *b, uint64_t v)
{
    pg_copy_u32(b, (uint32_t)(v >> 32));
    pg_copy_u32(b, (uint32_t)v);
}

void pg_copy_null(buf *b)
{
    pg_copy_u32(b, 0xffffffffu);
}

void pg_copy_text(buf *b, const char *s)
{
    if (!s) {
        pg_copy_null(b);
        return;
    }
    size_t n = strlen(s);
    pg_copy_u32(b, (uint32_t)n);
    buf_append(b, s, n);
}

void pg_copy_f8(buf *b, double v, bool present)
{
    if (!present) {
        pg_copy_null(b);
        return;
    }
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    pg_copy_u32(b, 8);
    pg_copy_u64(b, u);
}

void pg_copy_ts(buf *b, int64_t unix_us)
{
    pg_copy_u32(b, 8);
    pg_copy_u64(b, (uint64_t)(unix_us - PG_EPOCH_UNIX_US));
}

void pg_copy_uuid(buf *b, const char *text)
{
    unsigned char u[16];
    if (!text_uuid_parse(text, u)) { /* never for our ids; NULL makes it loud */
        pg_copy_null(b);
        return;
    }
    pg_copy_u32(b, 16);
    buf_append(b, u, 16);
}

void pg_copy_uuid_bytes(buf *b, const unsigned char u[16])
{
    pg_copy_u32(b, 16);
    buf_append(b, u, 16);
}

void pg_copy_jsonb(buf *b, const void *json, size_t len)
{
    pg_copy_u32(b, (uint32_t)len + 1);
    buf_append_byte(b, 1); /* jsonb's binary format version */
    buf_append(b, json, len);
}

void pg_copy_text_array(buf *b, const char *const *v, size_t n)
{
    size_t len = 12 + (n ? 8 : 0);
    for (size_t i = 0; i < n; i++)
        len += 4 + strlen(v[i]);
    pg_copy_u32(b, (uint32_t)len);
    pg_copy_u32(b, n ? 1 : 0); /* dimensions */
    pg_copy_u32(b, 0);         /* no NULL elements */
    pg_copy_u32(b, 25);        /* element type: text */
    if (n) {
        pg_copy_u32(b, (uint32_t)n); /* length of the dimension */
        pg_copy_u32(b, 1);           /* lower bound */
    }
    for (size_t i = 0; i < n; i++)
        pg_copy_text(b, v[i]);
}
