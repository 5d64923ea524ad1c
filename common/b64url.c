/* b64url.c - see b64url.h. */
#include "b64url.h"

static const char b64url__alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void b64url_encode(buf *out, const void *data, size_t n)
{
    const unsigned char *p = data;
    const char *a = b64url__alphabet;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        char q[4] = {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
        buf_append(out, q, 4);
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        char q[2] = {a[v >> 18], a[(v >> 12) & 63]};
        buf_append(out, q, 2);
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        char q[3] = {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63]};
        buf_append(out, q, 3);
    }
}

static int b64url__value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

bool b64url_decode(const char *s, size_t n, buf *out)
{
    if (n % 4 == 1)
        return false;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url__value(s[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf_append_byte(out, (unsigned char)((acc >> bits) & 0xff));
        }
    }
    /* Leftover bits must be zero (canonical encoding). */
    return (acc & ((1u << bits) - 1)) == 0;
}
