/* api_auth.c - HS256 JSON Web Tokens, verified and minted.
 *
 * Written against RFC 7515/7519 directly rather than a JWT library so that
 * the algorithm is pinned by construction: the header must say exactly
 * {"alg":"HS256"} (typ optional), the signature is compared in constant
 * time, and exp/nbf/iat are checked with a small leeway. */
#include "api_auth.h"

#include "b64url.h"
#include "text.h"
#include "xmalloc.h"

#include <jansson.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_MAX_TOKEN 8192

static void hs256(const char *key, const char *data, size_t n, unsigned char mac[32])
{
    unsigned len = 32;
    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)data, n, mac, &len);
}

const char *api_role_name(api_role r)
{
    switch (r) {
    case ROLE_VIEWER:
        return "viewer";
    case ROLE_OPERATOR:
        return "operator";
    case ROLE_ADMIN:
        return "admin";
    case ROLE_RUNTIME:
        return "runtime";
    default:
        return "none";
    }
}

api_role api_role_parse(const char *s)
{
    if (!s)
        return ROLE_NONE;
    if (!strcmp(s, "viewer"))
        return ROLE_VIEWER;
    if (!strcmp(s, "operator"))
        return ROLE_OPERATOR;
    if (!strcmp(s, "admin"))
        return ROLE_ADMIN;
    if (!strcmp(s, "runtime"))
        return ROLE_RUNTIME;
    return ROLE_NONE;
}

static auth_result auth__fail(char *why, size_t whysz, const char *msg)
{
    snprintf(why, whysz, "%s", msg);
    return AUTH_INVALID;
}

/* Integer-valued NumericDate claim; absent is fine unless required. Integers
 * and reals alike must lie within +-AUTH_MAX_NUMERIC_DATE (some 31 million
 * years), so no claim reaches the overflow edge of int64_t arithmetic. */
static bool auth__time(json_t *claims, const char *name, bool required, int64_t *out)
{
    json_t *v = json_object_get(claims, name);
    if (!v)
        return !required;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i <= -AUTH_MAX_NUMERIC_DATE || i >= AUTH_MAX_NUMERIC_DATE)
            return false;
        *out = i;
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d > -(double)AUTH_MAX_NUMERIC_DATE && d < (double)AUTH_MAX_NUMERIC_DATE) {
            *out = (int64_t)d;
            return true;
        }
    }
    return false;
}

auth_result auth_verify(const char *token, const char *key, int64_t now, auth_claims *out,
                        char *why, size_t whysz)
{
    memset(out, 0, sizeof *out);
    size_t len = strnlen(token, AUTH_MAX_TOKEN + 1);
    if (len == 0 || len > AUTH_MAX_TOKEN)
        return auth__fail(why, whysz, "token is empty or too long");
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return auth__fail(why, whysz, "token is not three dot-separated parts");

    buf hdr = {0}, body = {0}, sig = {0};
    json_t *h = NULL, *c = NULL;
    auth_result rc = AUTH_INVALID;
    if (!b64url_decode(token, (size_t)(dot1 - token), &hdr) ||
        !b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &body) ||
        !b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig)) {
        rc = auth__fail(why, whysz, "token is not base64url");
        goto done;
    }
    h = json_loadb((const char *)hdr.data, hdr.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *alg = json_object_get(h, "alg");
    if (!json_is_object(h) || !json_is_string(alg) || strcmp(json_string_value(alg), "HS256")) {
        rc = auth__fail(why, whysz, "token algorithm must be HS256");
        goto done;
    }
    /* Signature before looking at any claim. */
    unsigned char mac[32];
    hs256(key, token, (size_t)(dot2 - token), mac);
    if (sig.len != sizeof mac || CRYPTO_memcmp(mac, sig.data, sizeof mac) != 0) {
        rc = auth__fail(why, whysz, "token signature does not verify");
        goto done;
    }
    c = json_loadb((const char *)body.data, body.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(c)) {
        rc = auth__fail(why, whysz, "token claims are not a JSON object");
        goto done;
    }
    int64_t exp = 0, nbf = 0, iat = 0;
    if (!auth__time(c, "exp", true, &exp)) {
        rc = auth__fail(why, whysz, "token has no valid exp claim");
        goto done;
    }
    if (!auth__time(c, "nbf", false, &nbf) || !auth__time(c, "iat", false, &iat)) {
        rc = auth__fail(why, whysz, "token nbf/iat claims are not numbers");
        goto done;
    }
    if (nbf && nbf > auth_add_leeway(now)) {
        rc = auth__fail(why, whysz, "token is not valid yet (nbf)");
        goto done;
    }
    if (iat && iat > auth_add_leeway(now)) {
        rc = auth__fail(why, whysz, "token was issued in the future (iat)");
        goto done;
    }
    json_t *sub = json_object_get(c, "sub");
    const char *subs = json_string_value(sub);
    /* The codec's check directly (api_is_utf8 minus its NUL test, which a
     * strlen-bounded string passes anyway): auth stays a leaf for ruth-token. */
    if (!subs || !*subs || strlen(subs) >= sizeof out->sub ||
        !text_utf8_valid(subs, strlen(subs))) {
        rc = auth__fail(why, whysz, "token has no usable sub claim");
        goto done;
    }
    api_role role = api_role_parse(json_string_value(json_object_get(c, "role")));
    if (role == ROLE_NONE) {
        rc = auth__fail(why, whysz, "token role must be viewer, operator, admin or runtime");
        goto done;
    }
    if (auth_add_leeway(exp) < now) {
        snprintf(why, whysz, "token expired");
        rc = AUTH_EXPIRED;
        goto done;
    }
    snprintf(out->sub, sizeof out->sub, "%s", subs);
    out->role = role;
    out->exp = exp;
    rc = AUTH_OK;
done:
    json_decref(h);
    json_decref(c);
    buf_free(&hdr);
    buf_free(&body);
    buf_free(&sig);
    return rc;
}

char *auth_mint(const char *key, const char *sub, api_role role, int64_t iat, int64_t exp)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    json_t *claims = json_pack("{s:s, s:s, s:I, s:I}", "sub", sub, "role", api_role_name(role),
                               "iat", (json_int_t)iat, "exp", (json_int_t)exp);
    char *cj = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(claims);
    buf t = {0};
    b64url_encode(&t, (const unsigned char *)header, strlen(header));
    buf_append_byte(&t, '.');
    b64url_encode(&t, (const unsigned char *)cj, strlen(cj));
    free(cj);
    unsigned char mac[32];
    hs256(key, (const char *)t.data, t.len, mac);
    buf_append_byte(&t, '.');
    b64url_encode(&t, mac, sizeof mac);
    buf_append_byte(&t, 0);
    char *s = xstrdup((const char *)t.data);
    buf_free(&t);
    return s;
}
