/* jsonw: the one JSON writer. Strings escaped as PostgreSQL's escape_json
 * does and times as ruth_time() writes them, because the API's bodies must
 * stay byte for byte what json_build_object and ruth_time() wrote; numbers
 * in their shortest text; members with json_build_object's spacing. */
#include "jsonw.h"
#include "testlib.h"

#include <stdint.h>

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
    TEST_RUN(numbers);
    TEST_RUN(times_like_ruth_time);
    TEST_RUN(members_like_json_build_object);
    return TEST_EXIT();
}
