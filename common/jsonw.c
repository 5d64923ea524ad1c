/* jsonw.c - see jsonw.h. */
#include "jsonw.h"

#include "text.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether any of the 8 bytes of `v` needs an escape (< 0x20, '"', '\\'):
 * the exact "has a zero byte" / "has a byte below n" word tests. A byte >=
 * 0x80 (UTF-8) never counts. */
static bool jsonw__special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), bs = v ^ (ones * '\\');
    return (((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((bs - ones) & ~bs)) & highs;
}

void jsonw_strn(buf *b, const char *s, size_t n)
{
    buf_reserve(b, n + 2);
    buf_append_byte(b, '"');
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    for (;;) {
        /* Clean text eight bytes at a time: most strings have nothing to escape. */
        while (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            if (jsonw__special8(v))
                break;
            p += 8;
        }
        if (p >= end)
            break;
        unsigned char c = *p++;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, run, (size_t)(p - 1 - run)); /* the clean run so far */
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
        run = p;
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
    buf_append(b, tmp, text_i64(tmp, v));
}

/* printf's %.<P>g of a double, exactly, without printf: `v` = f * 2^e
 * (53-bit f) and the P significant digits are f * 10^q / 2^-e rounded to
 * nearest, ties to even, as glibc rounds, computed in 128 bits: with |v| in
 * [1e-4, 1e15) and P <= 17, q <= 22 and -e <= 67, so f * 10^q < 2^127 and
 * the remainder decides the rounding exactly. *x is %g's exponent (that of
 * the rounded value). False outside that range (printf takes those). */
__extension__ typedef unsigned __int128 jsonw__u128;

static bool jsonw__digits(double a, int p, uint64_t *d, int *x)
{
    static const uint64_t p10[20] = {1ull,
                                     10ull,
                                     100ull,
                                     1000ull,
                                     10000ull,
                                     100000ull,
                                     1000000ull,
                                     10000000ull,
                                     100000000ull,
                                     1000000000ull,
                                     10000000000ull,
                                     100000000000ull,
                                     1000000000000ull,
                                     10000000000000ull,
                                     100000000000000ull,
                                     1000000000000000ull,
                                     10000000000000000ull,
                                     100000000000000000ull,
                                     1000000000000000000ull,
                                     10000000000000000000ull};
    uint64_t bits;
    memcpy(&bits, &a, sizeof bits);
    int be = (int)(bits >> 52 & 0x7ff);
    if (be == 0 || !(a >= 1e-4 && a < 1e15))
        return false;
    uint64_t f = (bits & ((1ull << 52) - 1)) | 1ull << 52;
    int shift = 1075 - be; /* a = f / 2^shift */
    if (shift <= 0 || shift > 100)
        return false;
    /* From below: log10 may round up just under a power of ten (so the
     * guess could land one too high, where rounding can still bring the
     * digits into range with the wrong exponent); going up from one lower
     * finds the exponent of the rounded value, a carry included. */
    int ex = (int)floor(log10(a)) - 1;
    for (int tries = 0; tries < 4; tries++) {
        int q = p - 1 - ex;
        if (q < 0 || q > 22)
            return false;
        jsonw__u128 pq = q < 20 ? p10[q] : (jsonw__u128)p10[19] * p10[q - 19];
        jsonw__u128 n = (jsonw__u128)f * pq;
        jsonw__u128 r = n & (((jsonw__u128)1 << shift) - 1), half = (jsonw__u128)1 << (shift - 1);
        uint64_t dd = (uint64_t)(n >> shift);
        if (r > half || (r == half && (dd & 1)))
            dd++;
        if (dd >= p10[p]) { /* the exponent is higher (or rounding carried) */
            ex++;
            continue;
        }
        if (dd < p10[p - 1]) /* cannot be when coming from below */
            return false;
        *d = dd;
        *x = ex;
        return true;
    }
    return false;
}

/* %g's fixed notation of the p digits d with exponent x (-4 <= x < p):
 * trailing zeros of the fraction dropped, and the point with them. */
static void jsonw__fixed(buf *b, bool neg, uint64_t d, int p, int x)
{
    char dig[20], out[48];
    for (int i = p - 1; i >= 0; i--, d /= 10)
        dig[i] = (char)('0' + d % 10);
    int nd = p;
    while (nd > x + 1 && nd > 1 && dig[nd - 1] == '0') /* only fraction digits */
        nd--;
    int n = 0;
    if (neg)
        out[n++] = '-';
    if (x < 0) {
        out[n++] = '0';
        out[n++] = '.';
        for (int i = 0; i < -x - 1; i++)
            out[n++] = '0';
        for (int i = 0; i < nd; i++)
            out[n++] = dig[i];
    } else {
        for (int i = 0; i <= x; i++)
            out[n++] = dig[i];
        if (nd > x + 1) {
            out[n++] = '.';
            for (int i = x + 1; i < nd; i++)
                out[n++] = dig[i];
        }
    }
    buf_append(b, out, (size_t)n);
}

/* What the snprintf fallback below writes, for |v| in [1e-4, 1e15): %.15g
 * when it reads back as v (its 15 digits d over 10^q, both exact doubles, so
 * one correctly rounded division is what strtod returns), else %.17g.
 * About 50 ns against 1-2 us for snprintf and strtod; test_jsonw compares it
 * with printf. `v` is finite and not an integer. */
static bool jsonw__num_fast(buf *b, double v)
{
    static const double p10d[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                    1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
    double a = fabs(v);
    uint64_t d;
    int x;
    if (!jsonw__digits(a, 15, &d, &x))
        return false;
    if (x < 15 && 14 - x <= 18 && (double)d / p10d[14 - x] == a) {
        jsonw__fixed(b, v < 0, d, 15, x);
        return true;
    }
    if (!jsonw__digits(a, 17, &d, &x) || x >= 17)
        return false;
    jsonw__fixed(b, v < 0, d, 17, x);
    return true;
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
    if (jsonw__num_fast(b, v))
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
