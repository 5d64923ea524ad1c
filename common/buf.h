/* buf.h - a growable byte buffer for encoded messages and built JSON.
 *
 * Zero-initialise (`buf b = {0};`) or buf_init(); buf_free() releases.
 * Appends never fail (xmalloc). */
#ifndef RUTH_BUF_H
#define RUTH_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct buf {
    unsigned char *data;
    size_t len;
    size_t cap;
} buf;

void buf_init(buf *b);
void buf_free(buf *b);                  /* accepts NULL and zeroed buffers */
void buf_reset(buf *b);                 /* len = 0, keeps the memory */
void buf_reserve(buf *b, size_t extra); /* room for `extra` more bytes */
void buf_append(buf *b, const void *p, size_t n);
/* Replace the contents with n bytes at p (p may point into b itself). */
void buf_set(buf *b, const void *p, size_t n);
void buf_append_byte(buf *b, unsigned char c);
void buf_append_str(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Avro binary primitives (zig-zag varints, little-endian doubles). */
void buf_avro_long(buf *b, int64_t v);
void buf_avro_double(buf *b, double v);
void buf_avro_string(buf *b, const char *s); /* length-prefixed, no NUL */
/* NUL-terminate without counting the NUL in len (for use as a C string). */
const char *buf_cstr(buf *b);

#endif
