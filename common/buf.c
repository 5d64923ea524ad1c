/* buf.c - see buf.h. */
#include "buf.h"

#include "xmalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void buf_free(buf *b)
{
    if (!b)
        return;
    free(b->data);
    buf_init(b);
}

void buf_reset(buf *b)
{
    b->len = 0;
}

void buf_reserve(buf *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_set(buf *b, const void *p, size_t n)
{
    const unsigned char *src = p;
    if (b->data && src >= b->data && src < b->data + b->cap) { /* a part of itself */
        memmove(b->data, src, n);
        b->len = n;
        return;
    }
    b->len = 0;
    buf_append(b, p, n);
}

void buf_append_byte(buf *b, unsigned char c)
{
    buf_reserve(b, 1);
    b->data[b->len++] = c;
}

void buf_append_str(buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_avro_long(buf *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    buf_reserve(b, 10);
    while (z & ~(uint64_t)0x7f) {
        b->data[b->len++] = (unsigned char)((z & 0x7f) | 0x80);
        z >>= 7;
    }
    b->data[b->len++] = (unsigned char)z;
}

void buf_avro_double(buf *b, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    buf_reserve(b, 8);
    for (int i = 0; i < 8; i++)
        b->data[b->len++] = (unsigned char)(u >> (8 * i));
}

void buf_avro_string(buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_avro_long(b, (int64_t)n);
    buf_append(b, s, n);
}

const char *buf_cstr(buf *b)
{
    buf_reserve(b, 1);
    b->data[b->len] = '\0';
    return (const char *)b->data;
}
