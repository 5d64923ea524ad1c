/* text.c - see text.h. */
#include "text.h"

#include <string.h>

size_t text_utf8_seq_len(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    size_t len;
    if (c < 0x80)
        return 1;
    else if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4;
    else
        return 0;
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] >= 0x90))
        return 0;
    return len;
}

bool text_utf8_valid(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if ((unsigned char)s[i] < 0x80) { /* ASCII runs are the common case */
            i++;
            continue;
        }
        size_t len = text_utf8_seq_len(s + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

size_t text_utf8_trim(char *s)
{
    size_t n = strlen(s);
    while (n && !text_utf8_valid(s, n))
        s[--n] = '\0';
    return n;
}

size_t text_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int text__hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool text__uuid_dash(int i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

/* One pass, no strlen: a NUL before the end fails the digit test, so
 * nothing past the string is read. (Ids are checked on every result.) */
bool text_uuid_valid(const char *s)
{
    if (!s)
        return false;
    for (int i = 0; i < TEXT_UUID_LEN; i++) {
        unsigned char c = (unsigned char)s[i];
        bool ok = text__uuid_dash(i)
                      ? c == '-'
                      : (unsigned)(c - '0') < 10u || (unsigned)((c | 0x20) - 'a') < 6u;
        if (!ok)
            return false;
    }
    return s[TEXT_UUID_LEN] == '\0';
}

bool text_uuid_normalize(const char *s, char out[TEXT_UUID_LEN + 1])
{
    if (!text_uuid_valid(s))
        return false;
    for (int i = 0; i < TEXT_UUID_LEN; i++)
        out[i] = s[i] >= 'A' && s[i] <= 'F' ? (char)(s[i] - 'A' + 'a') : s[i];
    out[TEXT_UUID_LEN] = '\0';
    return true;
}

bool text_uuid_parse(const char *s, unsigned char u[16])
{
    if (!text_uuid_valid(s))
        return false;
    for (int i = 0, k = 0; k < 16; k++) {
        if (text__uuid_dash(i))
            i++;
        u[k] = (unsigned char)(text__hexval(s[i]) << 4 | text__hexval(s[i + 1]));
        i += 2;
    }
    return true;
}

static const char text__hex[] = "0123456789abcdef";

void text_uuid_format(const unsigned char u[16], char out[TEXT_UUID_LEN + 1])
{
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = text__hex[u[i] >> 4];
        out[o++] = text__hex[u[i] & 15];
    }
    out[TEXT_UUID_LEN] = '\0';
}

void text_hex_encode(const void *data, size_t n, char *out)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = text__hex[p[i] >> 4];
        out[2 * i + 1] = text__hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

bool text_hex_decode(const char *s, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = text__hexval(s[2 * i]), lo = hi < 0 ? -1 : text__hexval(s[2 * i + 1]);
        if (lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

size_t text_i64(char *s, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        s[len++] = '-';
    while (n)
        s[len++] = tmp[--n];
    return len;
}
