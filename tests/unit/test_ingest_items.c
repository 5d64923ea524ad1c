/* ruth-ingest's body splitter (ingest_items.c), the field a codec error
 * names (ingest_produce.c) and the ingest key comparison (ingest_http.c). */
#include "testlib.h"

#include "ingest_http.h"
#include "ingest_items.h"
#include "ingest_produce.h"

#include <string.h>

static ingest_items_result split(const char *s, size_t max, ingest_item *it, size_t *n, char *why)
{
    bool batch;
    return ingest_items_json((const unsigned char *)s, strlen(s), it, max, n, &batch, why, 160);
}

static bool item_is(const ingest_item *it, const char *want)
{
    return it->len == strlen(want) && !memcmp(it->p, want, it->len);
}

static void splits_arrays_at_top_level_commas(void)
{
    ingest_item it[8];
    size_t n;
    char why[160];
    CHECK_EQ_INT(
        split(" [ {\"a\":\"x,]}\\\"\"} , {\"b\":[1,{\"c\":2}]},7,\"s]\" ] \n", 8, it, &n, why),
        INGEST_ITEMS_OK);
    CHECK_EQ_INT((int)n, 4);
    CHECK(item_is(&it[0], "{\"a\":\"x,]}\\\"\"}"));
    CHECK(item_is(&it[1], "{\"b\":[1,{\"c\":2}]}"));
    CHECK(item_is(&it[2], "7"));
    CHECK(item_is(&it[3], "\"s]\""));
    /* one object: the whole body, without the leading blanks */
    CHECK_EQ_INT(split("  {\"a\":1} ", 8, it, &n, why), INGEST_ITEMS_OK);
    CHECK(n == 1 && item_is(&it[0], "{\"a\":1} "));
}

static void refuses_what_cannot_be_cut(void)
{
    ingest_item it[4];
    size_t n;
    char why[160];
    CHECK_EQ_INT(split("[]", 4, it, &n, why), INGEST_ITEMS_EMPTY);
    CHECK_EQ_INT(split("[{},{},{},{},{}]", 4, it, &n, why), INGEST_ITEMS_TOO_MANY);
    CHECK_EQ_INT(split("[{\"a\":\"open}]", 4, it, &n, why), INGEST_ITEMS_MALFORMED);
    CHECK(strstr(why, "item 0") != NULL);
    CHECK_EQ_INT(split("[{},,{}]", 4, it, &n, why), INGEST_ITEMS_MALFORMED);
    CHECK(strstr(why, "item 1 is missing") != NULL);
    CHECK_EQ_INT(split("[{},]", 4, it, &n, why), INGEST_ITEMS_MALFORMED);
    CHECK_EQ_INT(split("[{} {}]", 4, it, &n, why), INGEST_ITEMS_MALFORMED);
    CHECK_EQ_INT(split("[{}] x", 4, it, &n, why), INGEST_ITEMS_MALFORMED);
    CHECK_EQ_INT(split("[{\"a\":[1,2}", 4, it, &n, why), INGEST_ITEMS_MALFORMED);
    CHECK_EQ_INT(split("\"just a string\"", 4, it, &n, why), INGEST_ITEMS_MALFORMED);
    CHECK_EQ_INT(split("", 4, it, &n, why), INGEST_ITEMS_MALFORMED);
}

static void avro_content_types(void)
{
    CHECK(ingest_items_is_avro("application/vnd.apache.avro"));
    CHECK(ingest_items_is_avro("Application/VND.Apache.Avro; charset=binary"));
    CHECK(ingest_items_is_avro("avro/binary"));
    CHECK(!ingest_items_is_avro("application/json"));
    CHECK(!ingest_items_is_avro("application/vnd.apache.avro+json"));
    CHECK(!ingest_items_is_avro(NULL));
}

static void fields_named_by_codec_errors(void)
{
    char f[64];
    codec_error e = {CODEC_E_INVALID_VALUE, "bounding_boxes[2].width is negative"};
    CHECK(ingest_produce_error_field(&e, f, sizeof f));
    CHECK_EQ_STR(f, "bounding_boxes[2].width");
    e = (codec_error){CODEC_E_MISSING_FIELD, "camera_id is required"};
    CHECK(ingest_produce_error_field(&e, f, sizeof f));
    CHECK_EQ_STR(f, "camera_id");
    e = (codec_error){CODEC_E_CLOCK_SKEW, "timestamp is 999 s away from now (limit 10 s)"};
    CHECK(ingest_produce_error_field(&e, f, sizeof f));
    CHECK_EQ_STR(f, "timestamp");
    e = (codec_error){CODEC_E_JSON_SYNTAX, "JSON: bad at line 1 column 2"};
    CHECK(!ingest_produce_error_field(&e, f, sizeof f));
    e = (codec_error){CODEC_E_WRONG_TYPE, "item must be a JSON object"};
    CHECK(!ingest_produce_error_field(&e, f, sizeof f));
    e = (codec_error){CODEC_E_TOO_LARGE, "result of 2000 bytes exceeds 1024 bytes"};
    CHECK(!ingest_produce_error_field(&e, f, sizeof f));
}

static void ingest_key_comparison(void)
{
    CHECK(ingest_http_key_matches("0123456789abcdef0123456789abcdef",
                                  "0123456789abcdef0123456789abcdef"));
    CHECK(!ingest_http_key_matches("0123456789abcdef0123456789abcdeX",
                                   "0123456789abcdef0123456789abcdef"));
    CHECK(!ingest_http_key_matches("", "0123456789abcdef0123456789abcdef"));
    CHECK(!ingest_http_key_matches("0123456789abcdef0123456789abcdef0",
                                   "0123456789abcdef0123456789abcdef"));
}

int main(void)
{
    TEST_RUN(splits_arrays_at_top_level_commas);
    TEST_RUN(refuses_what_cannot_be_cut);
    TEST_RUN(avro_content_types);
    TEST_RUN(fields_named_by_codec_errors);
    TEST_RUN(ingest_key_comparison);
    return TEST_EXIT();
}
