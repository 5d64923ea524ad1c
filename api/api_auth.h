/* api_auth.h - who may call the API: roles and HS256 JSON Web Tokens.
 *
 * A leaf over common/ (buf, the codec's UTF-8 check) and libcrypto, so that
 * ruth-token links this alone (the ruth_api_auth library), not the server.
 * The JWT is checked in auth_verify(); api_routes.c calls it for every
 * route that needs a role. */
#ifndef RUTH_API_AUTH_H
#define RUTH_API_AUTH_H

#include "b64url.h"
#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Roles, ordered: each of viewer, operator, admin includes the ones below
 * it. ROLE_RUNTIME (AI runtimes posting to ruth-ingest) stands outside that
 * ladder: it includes no other role and none includes it. ruth-api admits
 * it only where a route's set of roles names it (api_routes.c: runtime
 * registration); ruth-ingest asks for it by equality. */
typedef enum {
    ROLE_RUNTIME = -1,
    ROLE_NONE = 0,
    ROLE_VIEWER = 1,
    ROLE_OPERATOR = 2,
    ROLE_ADMIN = 3
} api_role;

/* A set of roles (api_roles) as bits, usable in static initialisers. */
typedef unsigned api_roles;
#define API_ROLE_BIT(r) (1u << ((unsigned)(r) + 1u))
/* A ladder role and those above it (never ROLE_RUNTIME). */
#define API_ROLES_FROM_VIEWER                                                                      \
    (API_ROLE_BIT(ROLE_VIEWER) | API_ROLE_BIT(ROLE_OPERATOR) | API_ROLE_BIT(ROLE_ADMIN))
#define API_ROLES_FROM_OPERATOR (API_ROLE_BIT(ROLE_OPERATOR) | API_ROLE_BIT(ROLE_ADMIN))
#define API_ROLES_ADMIN API_ROLE_BIT(ROLE_ADMIN)

static inline bool api_roles_admit(api_roles set, api_role r)
{
    return r >= ROLE_RUNTIME && r <= ROLE_ADMIN && (set & API_ROLE_BIT(r)) != 0;
}

/* Static text ("none" for an unknown role). */
const char *api_role_name(api_role r);
/* "viewer" | "operator" | "admin" | "runtime" -> role; ROLE_NONE if unknown
 * or NULL. */
api_role api_role_parse(const char *s);

typedef enum {
    AUTH_OK = 0,
    AUTH_INVALID, /* malformed, bad signature, wrong algorithm, bad claims */
    AUTH_EXPIRED, /* exp (plus leeway) in the past */
} auth_result;

#define AUTH_LEEWAY_SEC 30
/* NumericDate claims at or beyond this magnitude are invalid (as reals
 * always were): 1e15 s, far past any real expiry. */
#define AUTH_MAX_NUMERIC_DATE INT64_C(1000000000000000)

/* t + AUTH_LEEWAY_SEC, saturating at INT64_MAX: a time from a token or the
 * clock never overflows when the leeway is added. */
static inline int64_t auth_add_leeway(int64_t t)
{
    return t > INT64_MAX - AUTH_LEEWAY_SEC ? INT64_MAX : t + AUTH_LEEWAY_SEC;
}

typedef struct auth_claims {
    char sub[128];
    api_role role;
    int64_t exp;
} auth_claims;

/* Verify an HS256 token with `key` at time `now` (seconds). Only alg HS256 is
 * accepted; exp is required, nbf/iat honoured with AUTH_LEEWAY_SEC; `sub` and
 * a known `role` are required. On failure `why` says what was wrong. */
auth_result auth_verify(const char *token, const char *key, int64_t now, auth_claims *out,
                        char *why, size_t whysz);

/* Mint an HS256 token; the caller free()s it. */
char *auth_mint(const char *key, const char *sub, api_role role, int64_t iat, int64_t exp);

/* base64url without padding (RFC 4648 §5), as JWTs use it: common/b64url.h
 * under the names the JWT tests call. */
static inline void api_b64url_encode(buf *out, const unsigned char *p, size_t n)
{
    b64url_encode(out, p, n);
}
static inline bool api_b64url_decode(const char *s, size_t n, buf *out)
{
    return b64url_decode(s, n, out);
}

#endif
