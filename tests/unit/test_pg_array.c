/* pg_array: PostgreSQL array literals for text parameters (quoting, NULL,
 * backslashes, bytea, the empty array, reuse). */
#include "pg_array.h"
#include "testlib.h"

#include <stdint.h>

static void empty_array(void)
{
    pg_array a = {0};
    pg_array_begin(&a);
    CHECK_EQ_STR(pg_array_end(&a), "{}");
    CHECK_EQ_INT(a.n, 0);
    pg_array_free(&a);
}

static void elements_are_quoted(void)
{
    pg_array a = {0};
    pg_array_begin(&a);
    pg_array_add(&a, "cam-1");
    pg_array_add(&a, "a,b {c}");
    pg_array_add(&a, "");
    pg_array_add(&a, "NULL"); /* the word, quoted, is text, not SQL NULL */
    CHECK_EQ_STR(pg_array_end(&a), "{\"cam-1\",\"a,b {c}\",\"\",\"NULL\"}");
    CHECK_EQ_INT(a.n, 4);
    pg_array_free(&a);
}

static void null_element(void)
{
    pg_array a = {0};
    pg_array_begin(&a);
    pg_array_add(&a, NULL);
    pg_array_add(&a, "x");
    pg_array_add(&a, NULL);
    CHECK_EQ_STR(pg_array_end(&a), "{NULL,\"x\",NULL}");
    pg_array_free(&a);
}

static void quotes_and_backslashes_escaped(void)
{
    pg_array a = {0};
    pg_array_begin(&a);
    pg_array_add(&a, "say \"hi\"");
    pg_array_add(&a, "C:\\dir\\");
    pg_array_add(&a, "caf\xc3\xa9"); /* UTF-8 passes through unchanged */
    CHECK_EQ_STR(pg_array_end(&a), "{\"say \\\"hi\\\"\",\"C:\\\\dir\\\\\",\"caf\xc3\xa9\"}");
    pg_array_free(&a);
}

static void formatted_elements(void)
{
    pg_array a = {0};
    pg_array_begin(&a);
    pg_array_addf(&a, "%lld", -1234567890123LL);
    pg_array_addf(&a, "%.17g", 0.5);
    CHECK_EQ_STR(pg_array_end(&a), "{\"-1234567890123\",\"0.5\"}");
    pg_array_free(&a);
}

static void numbers(void)
{
    pg_array a = {0};
    pg_array_begin(&a);
    pg_array_add_i64(&a, INT64_MIN);
    pg_array_add_i64(&a, 0);
    pg_array_add_f8(&a, 0.1);
    pg_array_add_f8(&a, -2.5e300);
    CHECK_EQ_STR(pg_array_end(&a), "{\"-9223372036854775808\",\"0\",\"0.10000000000000001\","
                                   "\"-2.5000000000000001e+300\"}");
    pg_array_free(&a);
}

static void bytea_in_hex(void)
{
    pg_array a = {0};
    buf bytes = {0};
    buf_append(&bytes, "\x00\x01\xab\xff", 4);
    buf empty = {0};
    pg_array_begin(&a);
    pg_array_add_bytes(&a, &bytes);
    pg_array_add_bytes(&a, &empty);
    pg_array_add(&a, "t");
    CHECK_EQ_STR(pg_array_end(&a), "{\"\\\\x0001abff\",\"\\\\x\",\"t\"}");
    buf_free(&bytes);
    pg_array_free(&a);
}

static void begin_again_reuses(void)
{
    pg_array a = {0};
    pg_array_begin(&a);
    pg_array_add(&a, "first");
    pg_array_end(&a);
    pg_array_begin(&a);
    pg_array_add(&a, "second");
    CHECK_EQ_STR(pg_array_end(&a), "{\"second\"}");
    CHECK_EQ_INT(a.n, 1);
    pg_array_free(&a);
    pg_array_free(&a); /* twice is harmless */
}

int main(void)
{
    TEST_RUN(empty_array);
    TEST_RUN(elements_are_quoted);
    TEST_RUN(null_element);
    TEST_RUN(quotes_and_backslashes_escaped);
    TEST_RUN(formatted_elements);
    TEST_RUN(numbers);
    TEST_RUN(bytea_in_hex);
    TEST_RUN(begin_again_reuses);
    return TEST_EXIT();
}
