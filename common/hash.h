/* hash.h - FNV-1a, the tree's one non-cryptographic hash (cache slots,
 * prepared-statement names, seeds, test digests). Not for anything an
 * attacker may choose to collide on purpose where that matters. */
#ifndef RUTH_HASH_H
#define RUTH_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A64_OFFSET 0xcbf29ce484222325ull
#define HASH_FNV1A64_PRIME 0x100000001b3ull
#define HASH_FNV1A32_OFFSET 2166136261u
#define HASH_FNV1A32_PRIME 16777619u

/* Continue a 64-bit FNV-1a hash `h` over n bytes (start from HASH_FNV1A64_OFFSET). */
uint64_t hash_fnv1a64_update(uint64_t h, const void *p, size_t n);
/* 64-bit FNV-1a of n bytes, and of a NUL-terminated string (NUL excluded). */
uint64_t hash_fnv1a64(const void *p, size_t n);
uint64_t hash_fnv1a64_str(const char *s);
/* 32-bit FNV-1a of a NUL-terminated string (NUL excluded). */
uint32_t hash_fnv1a32_str(const char *s);

#endif
