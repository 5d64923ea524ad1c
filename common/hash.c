/* hash.c - see hash.h. */
#include "hash.h"

uint64_t hash_fnv1a64_update(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * HASH_FNV1A64_PRIME;
    return h;
}

uint64_t hash_fnv1a64(const void *p, size_t n)
{
    return hash_fnv1a64_update(HASH_FNV1A64_OFFSET, p, n);
}

uint64_t hash_fnv1a64_str(const char *s)
{
    uint64_t h = HASH_FNV1A64_OFFSET;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * HASH_FNV1A64_PRIME;
    return h;
}

uint32_t hash_fnv1a32_str(const char *s)
{
    uint32_t h = HASH_FNV1A32_OFFSET;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * HASH_FNV1A32_PRIME;
    return h;
}
