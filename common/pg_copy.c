/* pg_copy.c - see pg_copy.h. The layout is PostgreSQL's "Binary Format" of
 * COPY: network byte order, each field a 4-byte length (-1 for NULL) and the
 * type's binary send representation. */
#include "pg_copy.h"

#include "text.h"

#include <string.h>

void pg_copy_header(buf *b)
{
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";
    buf_append(b, header, sizeof header);
}

void pg_copy_trailer(buf *b)
{
    buf_append(b, "\xff\xff", 2);
}

/* Room for n more bytes; the caller writes them and adds n to b->len. One
 * reserve per field rather than one buf_append per piece: a batch writes
 * about 25 fields per row. */
static unsigned char *pg_copy__room(buf *b, size_t n)
{
    buf_reserve(b, n);
    return b->data + b->len;
}

static void pg_copy__be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static void pg_copy__be64(unsigned char *p, uint64_t v)
{
    pg_copy__be32(p, (uint32_t)(v >> 32));
    pg_copy__be32(p + 4, (uint32_t)v);
}

void pg_copy_row(buf *b, uint16_t ncolumns)
{
    unsigned char *p = pg_copy__room(b, 2);
    p[0] = (unsigned char)(ncolumns >> 8);
    p[1] = (unsigned char)ncolumns;
    b->len += 2;
}

void pg_copy_u32(buf *b, uint32_t v)
{
    pg_copy__be32(pg_copy__room(b, 4), v);
    b->len += 4;
}

void pg_copy_u64(buf *b, uint64_t v)
{
    pg_copy__be64(pg_copy__room(b, 8), v);
    b->len += 8;
}

void pg_copy_null(buf *b)
{
    pg_copy_u32(b, 0xffffffffu);
}

/* A field of n bytes at s: its length, then the bytes. */
static void pg_copy__field(buf *b, const void *s, size_t n)
{
    unsigned char *p = pg_copy__room(b, 4 + n);
    pg_copy__be32(p, (uint32_t)n);
    if (n)
        memcpy(p + 4, s, n);
    b->len += 4 + n;
}

void pg_copy_text(buf *b, const char *s)
{
    if (!s) {
        pg_copy_null(b);
        return;
    }
    pg_copy__field(b, s, strlen(s));
}

void pg_copy_f8(buf *b, double v, bool present)
{
    if (!present) {
        pg_copy_null(b);
        return;
    }
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    unsigned char *p = pg_copy__room(b, 12);
    pg_copy__be32(p, 8);
    pg_copy__be64(p + 4, u);
    b->len += 12;
}

void pg_copy_ts(buf *b, int64_t unix_us)
{
    unsigned char *p = pg_copy__room(b, 12);
    pg_copy__be32(p, 8);
    pg_copy__be64(p + 4, (uint64_t)(unix_us - PG_EPOCH_UNIX_US));
    b->len += 12;
}

void pg_copy_uuid(buf *b, const char *text)
{
    unsigned char u[16];
    if (!text_uuid_parse(text, u)) { /* never for our ids; NULL makes it loud */
        pg_copy_null(b);
        return;
    }
    pg_copy__field(b, u, 16);
}

void pg_copy_uuid_bytes(buf *b, const unsigned char u[16])
{
    pg_copy__field(b, u, 16);
}

void pg_copy_jsonb(buf *b, const void *json, size_t len)
{
    unsigned char *p = pg_copy__room(b, 5 + len);
    pg_copy__be32(p, (uint32_t)len + 1);
    p[4] = 1; /* jsonb's binary format version */
    if (len)
        memcpy(p + 5, json, len);
    b->len += 5 + len;
}

size_t pg_copy_jsonb_begin(buf *b)
{
    unsigned char *p = pg_copy__room(b, 5);
    p[4] = 1; /* jsonb's binary format version */
    b->len += 5;
    return b->len - 5;
}

void pg_copy_jsonb_end(buf *b, size_t at)
{
    pg_copy__be32(b->data + at, (uint32_t)(b->len - at - 4));
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
