/* test_sha1.c - our SHA-1 against FIPS 180's examples and against OpenSSL
 * for every length from 0 to 300 bytes (block and padding edges) split at
 * every place between the two parts: the worker's event ids are name-based
 * UUIDs of it, so a wrong digest would give redelivered results new ids. */
#include "sha1.h"
#include "testlib.h"

#include <openssl/evp.h>
#include <string.h>

static void hex(const unsigned char *d, char out[41])
{
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void fips_examples(void)
{
    unsigned char d[20];
    char h[41];
    sha1_digest2("abc", 3, NULL, 0, d);
    hex(d, h);
    CHECK_EQ_STR(h, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha1_digest2(m, 20, m + 20, strlen(m) - 20, d);
    hex(d, h);
    CHECK_EQ_STR(h, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    sha1_digest2(NULL, 0, NULL, 0, d);
    hex(d, h);
    CHECK_EQ_STR(h, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

static void same_as_openssl(void)
{
    unsigned char msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (unsigned char)(i * 131 + 7);
    int bad = 0;
    for (size_t n = 0; n <= sizeof msg; n++) {
        unsigned char want[EVP_MAX_MD_SIZE];
        unsigned int wn = 0;
        EVP_Digest(msg, n, want, &wn, EVP_sha1(), NULL);
        for (size_t split = 0; split <= n; split += (n < 70 ? 1 : 17)) {
            unsigned char got[20];
            sha1_digest2(msg, split, msg + split, n - split, got);
            bad += wn != 20 || memcmp(got, want, 20) != 0;
        }
    }
    CHECK(bad == 0);
}

int main(void)
{
    TEST_RUN(fips_examples);
    TEST_RUN(same_as_openssl);
    return TEST_EXIT();
}
