/* test_b64url.c - RFC 4648 vectors in the URL alphabet, and what decoding refuses. */
#include "b64url.h"
#include "testlib.h"

static int enc_is(const char *in, const char *want)
{
    buf b = {0};
    b64url_encode(&b, in, strlen(in));
    int ok = !strcmp(buf_cstr(&b), want);
    buf_free(&b);
    return ok;
}

static int dec_is(const char *in, const char *want)
{
    buf b = {0};
    int ok = b64url_decode(in, strlen(in), &b) && b.len == strlen(want) &&
             (!b.len || !memcmp(b.data, want, b.len));
    buf_free(&b);
    return ok;
}

static int dec_fails(const char *in)
{
    buf b = {0};
    int bad = !b64url_decode(in, strlen(in), &b);
    buf_free(&b);
    return bad;
}

static void rfc4648_vectors(void)
{
    const char *v[][2] = {
        {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
        {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK_MSG(enc_is(v[i][0], v[i][1]), "encode %s", v[i][0]);
        CHECK_MSG(dec_is(v[i][1], v[i][0]), "decode %s", v[i][1]);
    }
}

static void url_alphabet_round_trip(void)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    buf e = {0}, d = {0};
    b64url_encode(&e, all, sizeof all);
    CHECK(!strchr(buf_cstr(&e), '+') && !strchr(buf_cstr(&e), '/') && !strchr(buf_cstr(&e), '='));
    CHECK(strchr(buf_cstr(&e), '-') && strchr(buf_cstr(&e), '_'));
    CHECK(b64url_decode((const char *)e.data, e.len, &d));
    CHECK(d.len == sizeof all && !memcmp(d.data, all, sizeof all));
    buf_free(&e);
    buf_free(&d);
}

static void refuses_non_canonical(void)
{
    CHECK(dec_fails("aGl"));  /* non-zero trailing bits */
    CHECK(dec_fails("a"));    /* impossible length */
    CHECK(dec_fails("aG+k")); /* '+' is standard base64, not base64url */
    CHECK(dec_fails("aG/k"));
    CHECK(dec_fails("aGk=")); /* no padding */
    CHECK(dec_is("aGk", "hi"));
}

int main(void)
{
    TEST_RUN(rfc4648_vectors);
    TEST_RUN(url_alphabet_round_trip);
    TEST_RUN(refuses_non_canonical);
    return testlib_failures ? 1 : 0;
}
