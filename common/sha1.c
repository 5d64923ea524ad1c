/* sha1.c - see sha1.h. OpenSSL's SHA1_Init/Update/Final: deprecated since
 * 3.0 in favour of EVP, but still built in, and they hash straight into a
 * context on the stack with the same assembly EVP ends in (SHA-NI where the
 * CPU has it), minus EVP's per-call algorithm fetch and context allocation.
 * A hand-written SHA-1 was measured too: twice EVP's cost per id. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "sha1.h"

#include <openssl/sha.h>

void sha1_digest2(const void *a, size_t na, const void *b, size_t nb,
                  unsigned char out[SHA1_DIGEST_LEN])
{
    SHA_CTX c;
    SHA1_Init(&c);
    if (na)
        SHA1_Update(&c, a, na);
    if (nb)
        SHA1_Update(&c, b, nb);
    SHA1_Final(out, &c);
}
