/* codec_boxes_json: the one bounding-box writer (stored columns leave an
 * absent label/confidence out, messages write null), numbers that read
 * back as the same double, escaped strings. */
#include "codec.h"
#include "testlib.h"

static const codec_bbox boxes[2] = {
    {10, 20.5, 0.1, 1e-7, NULL, 0, false},
    {1, 2, 3, 4, "he said \"hi\"\\\n\xc3\xa9", 0.25, true},
};

static void column_form_omits_absent(void)
{
    buf b = {0};
    codec_boxes_json(&b, boxes, 2, false);
    CHECK_EQ_STR(buf_cstr(&b), "[{\"x\":10,\"y\":20.5,\"width\":0.1,\"height\":1e-07},"
                               "{\"x\":1,\"y\":2,\"width\":3,\"height\":4,"
                               "\"label\":\"he said \\\"hi\\\"\\\\\\n\xc3\xa9\","
                               "\"confidence\":0.25}]");
    buf_free(&b);
}

static void message_form_writes_null(void)
{
    buf b = {0};
    codec_boxes_json(&b, boxes, 1, true);
    CHECK_EQ_STR(buf_cstr(&b), "[{\"x\":10,\"y\":20.5,\"width\":0.1,\"height\":1e-07,"
                               "\"label\":null,\"confidence\":null}]");
    buf_reset(&b);
    codec_boxes_json(&b, NULL, 0, true);
    CHECK_EQ_STR(buf_cstr(&b), "[]");
    buf_free(&b);
}

static void attributes(void)
{
    codec_attr a[2] = {{"zone", "dock \"A\""}, {"", ""}};
    buf b = {0};
    codec_boxes_attrs_json(&b, a, 2);
    CHECK_EQ_STR(buf_cstr(&b), "{\"zone\":\"dock \\\"A\\\"\",\"\":\"\"}");
    buf_free(&b);
}

int main(void)
{
    TEST_RUN(column_form_omits_absent);
    TEST_RUN(message_form_writes_null);
    TEST_RUN(attributes);
    return TEST_EXIT();
}
