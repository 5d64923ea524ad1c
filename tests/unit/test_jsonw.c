/* jsonw: the one JSON writer. Strings escaped as PostgreSQL's escape_json
 * does and times as ruth_time() writes them, because the API's bodies must
 * stay byte for byte what json_build_object and ruth_time() wrote; numbers
 * in their shortest text; members with json_build_object's spacing. */
#include "jsonw.h"
#include "testlib.h"

#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void strings_like_escape_json(void)
{
    buf b = {0};
    jsonw_str(&b, "a\"b\\c/\b\f\n\r\t\x01\x1f \xc3\xa9");
    CHECK_EQ_STR(buf_cstr(&b), "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f \xc3\xa9\"");
    buf_reset(&b);
    jsonw_strn(&b, "abc", 2); /* exactly n bytes */
    CHECK_EQ_STR(buf_cstr(&b), "\"ab\"");
    buf_free(&b);
}

/* The escape of one byte as escape_json writes it, for the reference below. */
static void ref_escape(buf *b, const unsigned char *s, size_t n)
{
    buf_append_byte(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        const char *e = c == '"'    ? "\\\""
                        : c == '\\' ? "\\\\"
                        : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f"
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t"
                                    : NULL;
        if (e)
            buf_append_str(b, e);
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_append_byte(b, c);
    }
    buf_append_byte(b, '"');
}

/* The eight-bytes-at-a-time scan finds every byte to escape wherever it
 * falls in a word, next to UTF-8 and 0x7f/0x80/0xff neighbours (whose
 * borrows the word tests must not mistake), at every length and offset. */
static void strings_any_position(void)
{
    static const unsigned char alphabet[] = {'a',  '"',  '\\', 0x01, 0x1f, 0x20, 0x21, 0x5b,
                                             0x5d, 0x7f, 0x80, 0xc3, 0xa9, 0xff, '\n', 0x00};
    buf got = {0}, want = {0};
    unsigned char s[40];
    uint32_t x = 12345;
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = (size_t)(iter % 37);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            /* mostly clean text, so long clean runs occur too */
            s[i] = (x >> 16) % 4 ? (unsigned char)('a' + (x >> 20) % 26)
                                 : alphabet[(x >> 20) % sizeof alphabet];
        }
        buf_reset(&got);
        buf_reset(&want);
        jsonw_strn(&got, (const char *)s, n);
        ref_escape(&want, s, n);
        if (got.len != want.len || memcmp(got.data, want.data, got.len)) {
            CHECK_MSG(0, "iteration %d (length %zu) differs", iter, n);
            break;
        }
    }
    buf_free(&got);
    buf_free(&want);
}

static void numbers(void)
{
    buf b = {0};
    jsonw_num(&b, 0.1);
    buf_append_byte(&b, ' ');
    jsonw_num(&b, -3);
    buf_append_byte(&b, ' ');
    jsonw_num(&b, 0.30000000000000004);
    buf_append_byte(&b, ' ');
    jsonw_num(&b, 1.0 / 0.0);
    buf_append_byte(&b, ' ');
    jsonw_int(&b, INT64_MIN);
    CHECK_EQ_STR(buf_cstr(&b), "0.1 -3 0.30000000000000004 null -9223372036854775808");
    buf_free(&b);
}

/* jsonw_num's text, spelled the slow way it was always defined: integers
 * as such, else %.15g when that reads back, else %.17g. */
static void num_reference(double v, char out[40])
{
    if (!isfinite(v))
        snprintf(out, 40, "null");
    else if (v > -1e15 && v < 1e15 && v == (double)(int64_t)v)
        snprintf(out, 40, "%" PRId64, (int64_t)v);
    else {
        snprintf(out, 40, "%.15g", v);
        if (strtod(out, NULL) != v)
            snprintf(out, 40, "%.17g", v);
    }
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The fast path for short decimals must write exactly what printf did (the
 * stored JSON and the API's bodies are compared byte for byte): decimals of
 * 1 to 17 places and 1 to 17 digits, their neighbours one ulp away, float32
 * values widened to double, dyadic fractions (exact ties), random bit
 * patterns, powers of ten and their neighbours, and the edges of %g's fixed
 * notation (1e-4) and of 15 digits. */
static void numbers_like_printf(void)
{
    static const double edges[] = {1e-4,
                                   9.9999999999999e-5,
                                   0.00010000000000000001,
                                   0.0001234,
                                   1e14 - 0.5,
                                   99999999999999.9,
                                   999999999999999.9,
                                   0.5,
                                   2.5,
                                   0.1 + 0.2,
                                   1.0 / 3,
                                   -0.0001,
                                   5e-324,
                                   1.7976931348623157e308,
                                   123456789.123456};
    buf b = {0};
    char want[40];
    int bad = 0;
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        buf_reset(&b);
        jsonw_num(&b, edges[i]);
        num_reference(edges[i], want);
        if (strcmp(buf_cstr(&b), want) && bad++ < 5)
            fprintf(stderr, "jsonw_num(%.17g) = %s, printf %s\n", edges[i], buf_cstr(&b), want);
    }
    for (int k = -6; k <= 16; k++) /* a few ulps around every power of ten */
        for (int sgn = 0; sgn < 2; sgn++) {
            double v = pow(10, k), w = v;
            for (int j = 0; j < 4; j++, w = nextafter(w, sgn ? 0 : INFINITY)) {
                buf_reset(&b);
                jsonw_num(&b, w);
                num_reference(w, want);
                if (strcmp(buf_cstr(&b), want) && bad++ < 5)
                    fprintf(stderr, "jsonw_num(%.17g) = %s, printf %s\n", w, buf_cstr(&b), want);
            }
        }
    uint64_t s = 88172645463325252ULL;
    for (int i = 0; i < 300000; i++) {
        double v;
        uint64_t r = rng_next(&s);
        switch (i % 5) {
        case 0: { /* m / 10^k */
            int k = 1 + (int)(r % 17), digits = 1 + (int)((r >> 8) % 17);
            uint64_t m = rng_next(&s) % (uint64_t)pow(10, digits);
            v = (double)m / pow(10, k);
            break;
        }
        case 1: { /* a neighbour of one */
            double d = (double)(rng_next(&s) % 100000) / pow(10, 1 + (int)(r % 8));
            v = nextafter(d, r & 1 ? INFINITY : -INFINITY);
            break;
        }
        case 2: /* a float32 confidence or coordinate, widened */
            v = (double)(float)((double)(r % 100000000) / 1e6);
            break;
        case 3: /* a short dyadic fraction: its exact decimal may tie at digit 15 or 17 */
            v = ldexp((double)(r % 100000000), -(int)(1 + (r >> 40) % 50));
            break;
        default: /* any double */
            memcpy(&v, &r, sizeof v);
        }
        if (r & 2)
            v = -v;
        buf_reset(&b);
        jsonw_num(&b, v);
        num_reference(v, want);
        if (strcmp(buf_cstr(&b), want) && bad++ < 5)
            fprintf(stderr, "jsonw_num(%.17g) = %s, printf %s\n", v, buf_cstr(&b), want);
    }
    CHECK(bad == 0);
    buf_free(&b);
}

static void times_like_ruth_time(void)
{
    buf b = {0};
    jsonw_time_us(&b, 1768300200123999LL); /* milliseconds truncated, as to_char's MS */
    CHECK_EQ_STR(buf_cstr(&b), "\"2026-01-13T10:30:00.123Z\"");
    buf_reset(&b);
    jsonw_time_us(&b, 0);
    CHECK_EQ_STR(buf_cstr(&b), "\"1970-01-01T00:00:00.000Z\"");
    buf_reset(&b);
    jsonw_time_us(&b, -1); /* before the epoch: floor, not toward zero */
    CHECK_EQ_STR(buf_cstr(&b), "\"1969-12-31T23:59:59.999Z\"");
    buf_reset(&b);
    jsonw_time_us(&b, 951782400000000LL); /* a leap day */
    CHECK_EQ_STR(buf_cstr(&b), "\"2000-02-29T00:00:00.000Z\"");
    buf_reset(&b);
    jsonw_time_us(&b, 253402300799999999LL); /* the last microsecond of 9999 */
    CHECK_EQ_STR(buf_cstr(&b), "\"9999-12-31T23:59:59.999Z\"");
    buf_reset(&b);
    jsonw_time_us(&b, 253402300800000000LL); /* five digits: the slow path */
    CHECK_EQ_STR(buf_cstr(&b), "\"10000-01-01T00:00:00.000Z\"");
    buf_reset(&b);
    jsonw_time_us(&b, -62167219200000000LL); /* year 0 */
    CHECK_EQ_STR(buf_cstr(&b), "\"0000-01-01T00:00:00.000Z\"");
    buf_reset(&b);
    jsonw_time_us(&b, -62167219200000001LL); /* before year 0 */
    CHECK_EQ_STR(buf_cstr(&b), "\"-001-12-31T23:59:59.999Z\"");
    buf_free(&b);
}

static void members_like_json_build_object(void)
{
    buf b = {0};
    buf_append_byte(&b, '{');
    jsonw_key(&b, "a");
    jsonw_int(&b, 1);
    jsonw_key(&b, "b");
    buf_append_byte(&b, '{');
    jsonw_key(&b, "c");
    buf_append_str(&b, "null");
    buf_append_byte(&b, '}');
    buf_append_byte(&b, '}');
    CHECK_EQ_STR(buf_cstr(&b), "{\"a\" : 1, \"b\" : {\"c\" : null}}");
    buf_free(&b);
}

int main(void)
{
    TEST_RUN(strings_like_escape_json);
    TEST_RUN(strings_any_position);
    TEST_RUN(numbers);
    TEST_RUN(numbers_like_printf);
    TEST_RUN(times_like_ruth_time);
    TEST_RUN(members_like_json_build_object);
    return TEST_EXIT();
}
