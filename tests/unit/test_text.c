/* test_text.c - UTF-8 validation and trimming, UUID text, hex. */
#include "testlib.h"
#include "text.h"

static void utf8_accepts_and_refuses(void)
{
    CHECK(text_utf8_valid("", 0));
    CHECK(text_utf8_valid("caf\xc3\xa9", 5));
    CHECK(text_utf8_valid("\xe2\x82\xac\xf0\x9f\x98\x80", 7)); /* euro sign, emoji */
    CHECK(text_utf8_valid("a\0b", 3));                         /* NUL is UTF-8 */
    CHECK(!text_utf8_valid("\xc3\x28", 2));
    CHECK(!text_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!text_utf8_valid("\xc0\xaf", 2));         /* overlong */
    CHECK(!text_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
    CHECK(!text_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    CHECK(!text_utf8_valid("\xf5\x80\x80\x80", 4));
    CHECK(!text_utf8_valid("\xc3", 1)); /* truncated */
    CHECK(!text_utf8_valid("\x80", 1)); /* lone continuation */
}

static void utf8_sequences_trim_and_count(void)
{
    CHECK_EQ_INT(text_utf8_seq_len("a", 1), 1);
    CHECK_EQ_INT(text_utf8_seq_len("\xc3\xa9", 2), 2);
    CHECK_EQ_INT(text_utf8_seq_len("\xc3\xa9", 1), 0);
    CHECK_EQ_INT(text_utf8_seq_len("\xf0\x9f\x98\x80", 4), 4);
    CHECK_EQ_INT(text_utf8_seq_len("", 0), 0);
    char s[] = "caf\xc3\xa9\xe2\x82";
    CHECK_EQ_INT(text_utf8_trim(s), 5);
    CHECK_EQ_STR(s, "caf\xc3\xa9");
    char ok[] = "plain";
    CHECK_EQ_INT(text_utf8_trim(ok), 5);
    CHECK_EQ_INT(text_utf8_chars("caf\xc3\xa9\xe2\x82\xac"), 5);
}

static void uuid_text(void)
{
    CHECK(text_uuid_valid("11111111-1111-4111-8111-000000000001"));
    CHECK(text_uuid_valid("0B9E3A52-7C4D-4E7A-9F0A-0123456789AB"));
    CHECK(!text_uuid_valid("11111111-1111-4111-8111-00000000000g"));
    CHECK(!text_uuid_valid("11111111-1111-4111-8111-0000000000011"));
    CHECK(!text_uuid_valid("111111111-111-4111-8111-000000000001"));
    CHECK(!text_uuid_valid(NULL));
    char n[TEXT_UUID_LEN + 1];
    CHECK(text_uuid_normalize("0B9E3A52-7C4D-4E7A-9F0A-0123456789AB", n));
    CHECK_EQ_STR(n, "0b9e3a52-7c4d-4e7a-9f0a-0123456789ab");
    CHECK(!text_uuid_normalize("not-a-uuid", n));
    unsigned char u[16];
    CHECK(text_uuid_parse("0B9E3A52-7C4D-4E7A-9F0A-0123456789AB", u));
    CHECK(u[0] == 0x0b && u[4] == 0x7c && u[15] == 0xab);
    char back[TEXT_UUID_LEN + 1];
    text_uuid_format(u, back);
    CHECK_EQ_STR(back, "0b9e3a52-7c4d-4e7a-9f0a-0123456789ab");
    CHECK(!text_uuid_parse("0b9e3a52x7c4d-4e7a-9f0a-0123456789ab", u));
}

static void hex_round_trip(void)
{
    const unsigned char in[] = {0x00, 0x7f, 0x80, 0xff, 0x1a};
    char h[11];
    text_hex_encode(in, sizeof in, h);
    CHECK_EQ_STR(h, "007f80ff1a");
    unsigned char out[5];
    CHECK(text_hex_decode("007F80ff1A", 5, out) && !memcmp(in, out, 5));
    CHECK(!text_hex_decode("0g", 1, out));
    text_hex_encode(in, 0, h);
    CHECK_EQ_STR(h, "");
}

int main(void)
{
    TEST_RUN(utf8_accepts_and_refuses);
    TEST_RUN(utf8_sequences_trim_and_count);
    TEST_RUN(uuid_text);
    TEST_RUN(hex_round_trip);
    return testlib_failures ? 1 : 0;
}
