/* jsonw.c - see jsonw.h. */
#include "jsonw.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_strn(buf *b, const char *s, size_t n)
{
    buf_reserve(b, n + 2);
    buf_append_byte(b, '"');
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    for (; p < end; p++) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, run, (size_t)(p - run)); /* the clean run so far */
        switch (c) {
        case '"':
            buf_append_str(b, "\\\"");
            break;
        case '\\':
            buf_append_str(b, "\\\\");
            break;
        case '\b':
            buf_append_str(b, "\\b");
            break;
        case '\f':
            buf_append_str(b, "\\f");
            break;
        case '\n':
            buf_append_str(b, "\\n");
            break;
        case '\r':
            buf_append_str(b, "\\r");
            break;
        case '\t':
            buf_append_str(b, "\\t");
            break;
        default:
            buf_printf(b, "\\u%04x", c);
        }
        run = p + 1;
    }
    buf_append(b, run, (size_t)(end - run));
    buf_append_byte(b, '"');
}

void jsonw_str(buf *b, const char *s)
{
    jsonw_strn(b, s, strlen(s));
}

void jsonw_int(buf *b, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf_append_byte(b, '-');
    while (n)
        buf_append_byte(b, (unsigned char)tmp[--n]);
}

void jsonw_num(buf *b, double v)
{
    if (!isfinite(v)) {
        buf_append_str(b, "null");
        return;
    }
    if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v) {
        jsonw_int(b, (int64_t)v);
        return;
    }
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof tmp, "%.17g", v);
    buf_append_str(b, tmp);
}

/* x / k rounded towards minus infinity (times before 1970 are negative). */
static int64_t jsonw__floor_div(int64_t x, int64_t k)
{
    return x >= 0 ? x / k : -((-x + k - 1) / k);
}

/* Days since 1970-01-01 to a civil date (H. Hinnant's civil_from_days),
 * valid for every int64 microsecond time. */
static void jsonw__civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void jsonw_time_us(buf *b, int64_t us)
{
    int64_t ms = jsonw__floor_div(us, 1000);
    int64_t secs = jsonw__floor_div(ms, 1000);
    unsigned msec = (unsigned)(ms - secs * 1000);
    int64_t days = jsonw__floor_div(secs, 86400);
    unsigned sod = (unsigned)(secs - days * 86400);
    int64_t y;
    unsigned mo, d;
    jsonw__civil(days, &y, &mo, &d);
    char tmp[48];
    if (y < 0 || y > 9999) {
        int n = snprintf(tmp, sizeof tmp, "\"%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ\"", (long long)y,
                         mo, d, sod / 3600, sod / 60 % 60, sod % 60, msec);
        buf_append(b, tmp, (size_t)n);
        return;
    }
    /* The common case digit by digit: snprintf was most of a list page's
     * time in ruth-api (seven times per violation). */
    unsigned yy = (unsigned)y, hh = sod / 3600, mi = sod / 60 % 60, ss = sod % 60;
    char *t = tmp;
    *t++ = '"';
    *t++ = (char)('0' + yy / 1000), *t++ = (char)('0' + yy / 100 % 10);
    *t++ = (char)('0' + yy / 10 % 10), *t++ = (char)('0' + yy % 10), *t++ = '-';
    *t++ = (char)('0' + mo / 10), *t++ = (char)('0' + mo % 10), *t++ = '-';
    *t++ = (char)('0' + d / 10), *t++ = (char)('0' + d % 10), *t++ = 'T';
    *t++ = (char)('0' + hh / 10), *t++ = (char)('0' + hh % 10), *t++ = ':';
    *t++ = (char)('0' + mi / 10), *t++ = (char)('0' + mi % 10), *t++ = ':';
    *t++ = (char)('0' + ss / 10), *t++ = (char)('0' + ss % 10), *t++ = '.';
    *t++ = (char)('0' + msec / 100), *t++ = (char)('0' + msec / 10 % 10);
    *t++ = (char)('0' + msec % 10), *t++ = 'Z', *t++ = '"';
    buf_append(b, tmp, (size_t)(t - tmp));
}

void jsonw_key(buf *b, const char *key)
{
    if (b->len && b->data[b->len - 1] != '{')
        buf_append_str(b, ", ");
    jsonw_str(b, key);
    buf_append_str(b, " : ");
}
