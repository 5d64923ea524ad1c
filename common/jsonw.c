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

/* The text %.15g gives for `v` when v is the double nearest to m / 10^k for
 * an integer m of at most 15 digits and 1 <= k <= 15 with the quotient at
 * least 1e-4 (%g's fixed notation): "m / 10^k" written out, which is what
 * %.15g prints (v is within half an ulp of that decimal, far less than half
 * a unit of its 15th digit) and reads back as v (m and 10^k are exact, so
 * the division is rounded once, as strtod rounds). Most numbers written
 * here (confidences of a few decimals, box sizes) are such; false for the
 * rest, which take snprintf. About 30 ns against 1-2 us for snprintf and
 * strtod. `v` is finite and not an integer. */
static bool jsonw__num_short(buf *b, double v)
{
    static const double p10[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    double a = fabs(v);
    if (a >= 1e14)
        return false;
    for (int k = 1; k <= 15; k++) {
        double s = a * p10[k];
        if (s >= 1e15)
            return false;
        uint64_t m = (uint64_t)(s + 0.5);
        if ((double)m / p10[k] != a)
            continue;
        if (k > 4 && (double)m < p10[k - 4]) /* under 1e-4: %g switches to an exponent */
            return false;
        uint64_t unit = (uint64_t)p10[k], ip = m / unit, fp = m % unit;
        char tmp[40];
        int n = 0;
        for (int i = 0; i < k; i++, fp /= 10)
            tmp[n++] = (char)('0' + fp % 10);
        tmp[n++] = '.';
        do {
            tmp[n++] = (char)('0' + ip % 10);
            ip /= 10;
        } while (ip);
        if (v < 0)
            tmp[n++] = '-';
        char out[40];
        for (int i = 0; i < n; i++)
            out[i] = tmp[n - 1 - i];
        buf_append(b, out, (size_t)n);
        return true;
    }
    return false;
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
    if (jsonw__num_short(b, v))
        return;
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
