/* fuzz_jwt.c - the bearer-token check (api/api_auth.c) on arbitrary bytes:
 * the input is the token; it must never crash, and only a token signed with
 * the key can pass (the fuzzer cannot forge HMAC-SHA256, so AUTH_OK here is
 * a bug in the check itself). */
#include "fuzz.h"

#include "api_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "fuzz-signing-key-0123456789abcdef"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = malloc(size + 1);
    memcpy(token, data, size);
    token[size] = '\0';
    auth_claims who;
    char why[256];
    int64_t now = 1764000000;
    auth_result r = auth_verify(token, KEY, now, &who, why, sizeof why);
    if (r == AUTH_OK && strlen(token) == size) {
        /* Only a seed minted with KEY gets here; the claims must be sane. */
        if (!who.sub[0] || who.role == ROLE_NONE || who.exp < now - AUTH_LEEWAY_SEC) {
            fprintf(stderr, "accepted a token with bad claims\n");
            abort();
        }
    }
    free(token);
    return 0;
}
