/* test_hash.c - FNV-1a against the published test vectors. */
#include "hash.h"
#include "testlib.h"

static void fnv1a64_vectors(void)
{
    CHECK(hash_fnv1a64_str("") == 0xcbf29ce484222325ull);
    CHECK(hash_fnv1a64_str("a") == 0xaf63dc4c8601ec8cull);
    CHECK(hash_fnv1a64_str("foobar") == 0x85944171f73967e8ull);
    CHECK(hash_fnv1a64("foobar", 6) == 0x85944171f73967e8ull);
    /* Incremental over pieces equals the whole; the NUL can be hashed too. */
    uint64_t h = hash_fnv1a64_update(HASH_FNV1A64_OFFSET, "foo", 3);
    CHECK(hash_fnv1a64_update(h, "bar", 3) == 0x85944171f73967e8ull);
    CHECK(hash_fnv1a64("a", 2) != hash_fnv1a64_str("a"));
}

static void fnv1a32_vectors(void)
{
    CHECK(hash_fnv1a32_str("") == 0x811c9dc5u);
    CHECK(hash_fnv1a32_str("a") == 0xe40c292cu);
    CHECK(hash_fnv1a32_str("foobar") == 0xbf9cf968u);
}

int main(void)
{
    TEST_RUN(fnv1a64_vectors);
    TEST_RUN(fnv1a32_vectors);
    return testlib_failures ? 1 : 0;
}
