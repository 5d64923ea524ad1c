/* sha1.h - SHA-1 (FIPS 180-4) of a byte string, for name-based UUIDs
 * (version 5 layout: the worker's event ids).
 *
 * Not EVP_Digest*: the worker derives one or two ids per result, and
 * EVP_DigestInit_ex fetches the algorithm and allocates a context every
 * time (half of the 7 % of the worker's CPU that its ids took on a
 * backlog); this hashes on the stack (sha1.c says how). test_sha1 checks
 * it against EVP: the ids must stay what they always were. */
#ifndef RUTH_SHA1_H
#define RUTH_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_DIGEST_LEN 20

/* The digest of the `na` bytes at `a` followed by the `nb` bytes at `b`
 * (a name-based UUID hashes a namespace, then the name); either may be 0. */
void sha1_digest2(const void *a, size_t na, const void *b, size_t nb,
                  unsigned char out[SHA1_DIGEST_LEN]);

#endif
