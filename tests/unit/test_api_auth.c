/* test_api_auth.c - HS256 tokens: what ruth-api accepts and what it refuses. */
#include "testlib.h"

#include "api.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <time.h>

#define KEY "unit-secret"

/* "header.claims." with an empty signature: a hand-made hostile token. */
static char *unsigned_token(const char *header_json, const char *claims_json)
{
    buf t = {0};
    api_b64url_encode(&t, (const unsigned char *)header_json, strlen(header_json));
    buf_append_byte(&t, '.');
    api_b64url_encode(&t, (const unsigned char *)claims_json, strlen(claims_json));
    buf_append_byte(&t, '.');
    buf_append_byte(&t, 0);
    char *s = strdup((const char *)t.data);
    buf_free(&t);
    return s;
}

/* "header.claims.signature" signed with KEY by `md` (HS256 unless told). */
static char *signed_token(const EVP_MD *md, const char *header_json, const char *claims_json)
{
    char *t = unsigned_token(header_json, claims_json);
    size_t n = strlen(t); /* ends in '.' */
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(md, KEY, (int)strlen(KEY), (const unsigned char *)t, n - 1, mac, &len);
    buf out = {0};
    buf_append(&out, t, n);
    api_b64url_encode(&out, mac, len);
    buf_append_byte(&out, 0);
    free(t);
    t = strdup((const char *)out.data);
    buf_free(&out);
    return t;
}

static auth_result verify_claims(const EVP_MD *md, const char *alg, const char *claims, int64_t now)
{
    char header[64];
    snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg);
    char *t = signed_token(md, header, claims);
    auth_claims c;
    char why[128];
    auth_result r = auth_verify(t, KEY, now, &c, why, sizeof why);
    free(t);
    return r;
}

static void test_claim_edges(void)
{
    int64_t now = 1800000000;
    char claims[256];
    /* Control: a well-formed token signed here is accepted. */
    snprintf(claims, sizeof claims, "{\"sub\":\"x\",\"role\":\"viewer\",\"exp\":%lld}",
             (long long)now + 60);
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256", claims, now), AUTH_OK);
    /* The same claims under HS384 or HS512, correctly signed: refused. */
    CHECK_EQ_INT(verify_claims(EVP_sha384(), "HS384", claims, now), AUTH_INVALID);
    CHECK_EQ_INT(verify_claims(EVP_sha512(), "HS512", claims, now), AUTH_INVALID);
    /* nbf beyond the leeway: not yet; within it: fine. */
    snprintf(claims, sizeof claims, "{\"sub\":\"x\",\"role\":\"viewer\",\"exp\":%lld,\"nbf\":%lld}",
             (long long)now + 600, (long long)now + AUTH_LEEWAY_SEC + 5);
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256", claims, now), AUTH_INVALID);
    snprintf(claims, sizeof claims, "{\"sub\":\"x\",\"role\":\"viewer\",\"exp\":%lld,\"nbf\":%lld}",
             (long long)now + 600, (long long)now + AUTH_LEEWAY_SEC - 5);
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256", claims, now), AUTH_OK);
    /* exp missing, sub missing, a role nobody knows, exp not a number. */
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256", "{\"sub\":\"x\",\"role\":\"viewer\"}", now),
                 AUTH_INVALID);
    snprintf(claims, sizeof claims, "{\"role\":\"viewer\",\"exp\":%lld}", (long long)now + 60);
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256", claims, now), AUTH_INVALID);
    snprintf(claims, sizeof claims, "{\"sub\":\"x\",\"role\":\"root\",\"exp\":%lld}",
             (long long)now + 60);
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256", claims, now), AUTH_INVALID);
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256",
                               "{\"sub\":\"x\",\"role\":\"viewer\",\"exp\":\"soon\"}", now),
                 AUTH_INVALID);
    /* Claims that are not an object. */
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256", "[1,2]", now), AUTH_INVALID);
}

/* NumericDates at the int64 edge: refused (401 upstream), and nothing
 * overflows on the way (UBSan aborts the test if it does). */
static void test_time_overflow(void)
{
    int64_t now = 1800000000;
    const char *edge[] = {"9223372036854775807", "9223372036854775777", "-9223372036854775808",
                          "1e300", "1000000000000000"};
    char claims[256];
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        snprintf(claims, sizeof claims, "{\"sub\":\"x\",\"role\":\"viewer\",\"exp\":%s}", edge[i]);
        CHECK_MSG(verify_claims(EVP_sha256(), "HS256", claims, now) == AUTH_INVALID, "exp %s",
                  edge[i]);
        snprintf(claims, sizeof claims,
                 "{\"sub\":\"x\",\"role\":\"viewer\",\"exp\":%lld,\"nbf\":%s,\"iat\":%s}",
                 (long long)now + 60, edge[i], edge[i]);
        CHECK_MSG(verify_claims(EVP_sha256(), "HS256", claims, now) == AUTH_INVALID, "nbf %s",
                  edge[i]);
    }
    /* The clock itself at the edge: the leeway saturates. */
    snprintf(claims, sizeof claims, "{\"sub\":\"x\",\"role\":\"viewer\",\"exp\":%lld}",
             (long long)now + 60);
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256", claims, INT64_MAX), AUTH_EXPIRED);
    CHECK(auth_add_leeway(INT64_MAX) == INT64_MAX);
    CHECK(auth_add_leeway(INT64_MAX - 1) == INT64_MAX);
    CHECK(auth_add_leeway(0) == AUTH_LEEWAY_SEC);
    /* Just inside the bound: accepted. */
    snprintf(claims, sizeof claims, "{\"sub\":\"x\",\"role\":\"viewer\",\"exp\":%lld}",
             (long long)AUTH_MAX_NUMERIC_DATE - 1);
    CHECK_EQ_INT(verify_claims(EVP_sha256(), "HS256", claims, now), AUTH_OK);
}

static void test_round_trip(void)
{
    int64_t now = time(NULL);
    char *t = auth_mint(KEY, "alice", ROLE_OPERATOR, now, now + 60);
    auth_claims c;
    char why[128];
    CHECK_EQ_INT(auth_verify(t, KEY, now, &c, why, sizeof why), AUTH_OK);
    CHECK_EQ_STR(c.sub, "alice");
    CHECK_EQ_INT(c.role, ROLE_OPERATOR);
    CHECK_EQ_INT(auth_verify(t, "other", now, &c, why, sizeof why), AUTH_INVALID);
    /* Within the leeway after exp: still fine; beyond: expired. */
    CHECK_EQ_INT(auth_verify(t, KEY, now + 60 + AUTH_LEEWAY_SEC, &c, why, sizeof why), AUTH_OK);
    CHECK_EQ_INT(auth_verify(t, KEY, now + 61 + AUTH_LEEWAY_SEC, &c, why, sizeof why),
                 AUTH_EXPIRED);
    /* A flipped signature character. */
    size_t n = strlen(t);
    t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A';
    CHECK_EQ_INT(auth_verify(t, KEY, now, &c, why, sizeof why), AUTH_INVALID);
    free(t);
}

static void test_refused(void)
{
    auth_claims c;
    char why[128];
    const char *bad[] = {"", "a", "a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30.", "e30.e30.e30"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_MSG(auth_verify(bad[i], KEY, 0, &c, why, sizeof why) == AUTH_INVALID, "%s", bad[i]);
    static const char claims[] = "{\"sub\":\"x\",\"role\":\"admin\",\"exp\":9999999999}";
    char *none = unsigned_token("{\"alg\":\"none\"}", claims);
    CHECK_EQ_INT(auth_verify(none, KEY, 0, &c, why, sizeof why), AUTH_INVALID);
    CHECK(strstr(why, "HS256") != NULL);
    free(none);
    char *rs = unsigned_token("{\"alg\":\"RS256\"}", claims);
    CHECK_EQ_INT(auth_verify(rs, KEY, 0, &c, why, sizeof why), AUTH_INVALID);
    free(rs);
    /* Valid signatures over unusable claims. */
    int64_t now = time(NULL);
    char *t = auth_mint(KEY, "bob", ROLE_NONE, now, now + 60); /* role "none" */
    CHECK_EQ_INT(auth_verify(t, KEY, now, &c, why, sizeof why), AUTH_INVALID);
    free(t);
    t = auth_mint(KEY, "bob", ROLE_VIEWER, now + 3600, now + 7200); /* iat in the future */
    CHECK_EQ_INT(auth_verify(t, KEY, now, &c, why, sizeof why), AUTH_INVALID);
    free(t);
}

static void test_roles_and_b64(void)
{
    CHECK_EQ_INT(api_role_parse("viewer"), ROLE_VIEWER);
    CHECK_EQ_INT(api_role_parse("Admin"), ROLE_NONE);
    CHECK(ROLE_VIEWER < ROLE_OPERATOR && ROLE_OPERATOR < ROLE_ADMIN);
    /* runtime tokens (ruth-ingest) pass only routes that name the role */
    CHECK_EQ_INT(api_role_parse("runtime"), ROLE_RUNTIME);
    CHECK(ROLE_RUNTIME < ROLE_VIEWER);
    CHECK(!api_roles_admit(API_ROLES_FROM_VIEWER, ROLE_RUNTIME));
    CHECK(!api_roles_admit(API_ROLES_FROM_VIEWER, ROLE_NONE));
    CHECK(api_roles_admit(API_ROLES_FROM_VIEWER, ROLE_ADMIN));
    CHECK(!api_roles_admit(API_ROLES_FROM_OPERATOR, ROLE_VIEWER));
    CHECK(!api_roles_admit(API_ROLES_ADMIN, ROLE_RUNTIME));
    CHECK(api_roles_admit(API_ROLES_ADMIN | API_ROLE_BIT(ROLE_RUNTIME), ROLE_RUNTIME));
    CHECK(!api_roles_admit(API_ROLES_ADMIN | API_ROLE_BIT(ROLE_RUNTIME), ROLE_OPERATOR));
    CHECK(!api_roles_admit(~0u, (api_role)7)); /* out of range: never admitted */
    CHECK(!strcmp(api_role_name(ROLE_RUNTIME), "runtime"));
    buf b = {0};
    CHECK(api_b64url_decode("aGk", 3, &b) && b.len == 2 && !memcmp(b.data, "hi", 2));
    buf_reset(&b);
    CHECK(!api_b64url_decode("aGl", 3, &b)); /* non-zero trailing bits */
    CHECK(!api_b64url_decode("a", 1, &b));
    CHECK(!api_b64url_decode("aG+k", 4, &b)); /* '+' is not base64url */
    buf_free(&b);
    CHECK(api_is_utf8("caf\xc3\xa9", 5));
    CHECK(!api_is_utf8("\xc3\x28", 2));
    CHECK(!api_is_utf8("\xed\xa0\x80", 3)); /* surrogate */
    CHECK(!api_is_utf8("\xc0\xaf", 2));     /* overlong */
    CHECK(api_is_uuid("11111111-1111-4111-8111-000000000001"));
    CHECK(!api_is_uuid("11111111-1111-4111-8111-00000000000g"));
}

int main(void)
{
    TEST_RUN(test_round_trip);
    TEST_RUN(test_claim_edges);
    TEST_RUN(test_refused);
    TEST_RUN(test_time_overflow);
    TEST_RUN(test_roles_and_b64);
    return TEST_EXIT();
}
