/* test_api_microcache.c - the API's process-state modules on their own:
 * the microcache (fresh, stale-while-refreshing, expiry, clear) and the
 * per-client token bucket. */
#include "testlib.h"

#include "api_microcache.h"
#include "api_ratelimit.h"

#include <stdlib.h>
#include <string.h>

static char *key_dup(const char *s)
{
    return strdup(s);
}

static void test_fresh_and_expired(void)
{
    api_microcache *mc = api_microcache_new();
    buf body = {0};
    char etag[32] = {0};
    CHECK(!api_microcache_get(mc, "/a?", 10.0, 1.0, &body, etag));
    char tag[32] = "\"v1\"";
    api_microcache_put(mc, key_dup("/a?"), 10.0, "{\"x\":1}", 7, tag);
    CHECK(api_microcache_get(mc, "/a?", 10.5, 1.0, &body, etag));
    CHECK_EQ_INT(body.len, 7);
    CHECK(!memcmp(body.data, "{\"x\":1}", 7));
    CHECK_EQ_STR(etag, "\"v1\"");
    CHECK(!api_microcache_get(mc, "/b?", 10.5, 1.0, &body, etag)); /* another key */
    /* Expired: the first caller refreshes it, the next ones get the stale
     * answer meanwhile (for up to 5 s), then nobody does. */
    CHECK(!api_microcache_get(mc, "/a?", 12.0, 1.0, &body, etag));
    CHECK(api_microcache_get(mc, "/a?", 12.1, 1.0, &body, etag));
    CHECK(!api_microcache_get(mc, "/a?", 17.5, 1.0, &body, etag));
    api_microcache_put(mc, key_dup("/a?"), 18.0, "{}", 2, tag);
    CHECK(api_microcache_get(mc, "/a?", 18.1, 1.0, &body, etag));
    CHECK_EQ_INT(body.len, 2);
    api_microcache_clear(mc);
    CHECK(!api_microcache_get(mc, "/a?", 18.1, 1.0, &body, etag));
    api_microcache_put(mc, key_dup("/c?"), 19.0, "[]", 2, tag); /* freed with the cache */
    buf_free(&body);
    api_microcache_free(mc);
    api_microcache_free(NULL);
}

static char *key_of(const char *path, api_microcache_param *p, size_t n)
{
    buf b = {0};
    api_microcache_key(path, p, n, &b);
    char *s = strdup((const char *)b.data);
    buf_free(&b);
    return s;
}

/* Decoded '&'/'=' in a value, "k" against "k=", and order (issue 14 #10). */
static void test_key(void)
{
    api_microcache_param one[] = {{"camera_id", "cam-001&status=open"}};
    api_microcache_param two[] = {{"camera_id", "cam-001"}, {"status", "open"}};
    char *a = key_of("/api/v1/violations", one, 1), *b = key_of("/api/v1/violations", two, 2);
    CHECK(strcmp(a, b) != 0);
    CHECK_EQ_STR(b, "%2Fapi%2Fv1%2Fviolations?camera_id=cam-001&status=open");
    free(a);
    free(b);
    api_microcache_param bare[] = {{"status", NULL}}, empty[] = {{"status", ""}};
    a = key_of("/v", bare, 1);
    b = key_of("/v", empty, 1);
    CHECK(strcmp(a, b) != 0);
    free(a);
    free(b);
    api_microcache_param rev[] = {{"status", "open"}, {"camera_id", "cam-001"}};
    a = key_of("/api/v1/violations", rev, 2);
    CHECK_EQ_STR(a, "%2Fapi%2Fv1%2Fviolations?camera_id=cam-001&status=open");
    free(a);
    /* A name holding '=' is not a name/value split. */
    api_microcache_param eq[] = {{"a=b", NULL}}, split[] = {{"a", "b"}};
    a = key_of("/v", eq, 1);
    b = key_of("/v", split, 1);
    CHECK(strcmp(a, b) != 0);
    free(a);
    free(b);
    a = key_of("/v", NULL, 0);
    CHECK_EQ_STR(a, "%2Fv?");
    free(a);
}

static void test_ratelimit(void)
{
    api_ratelimit *rl = api_ratelimit_new(2); /* 2/s, bursts of 4 */
    int retry = -1;
    for (int i = 0; i < 4; i++)
        CHECK(api_ratelimit_take(rl, "10.0.0.1", 100.0, &retry));
    CHECK(!api_ratelimit_take(rl, "10.0.0.1", 100.0, &retry));
    CHECK_EQ_INT(retry, 1);
    CHECK(api_ratelimit_take(rl, "10.0.0.2", 100.0, &retry)); /* its own bucket */
    CHECK(api_ratelimit_take(rl, "10.0.0.1", 100.5, &retry)); /* one token back */
    CHECK(!api_ratelimit_take(rl, "10.0.0.1", 100.5, &retry));
    api_ratelimit_free(rl);
    api_ratelimit *off = api_ratelimit_new(0);
    for (int i = 0; i < 100; i++)
        CHECK(api_ratelimit_take(off, "10.0.0.1", 100.0, &retry));
    api_ratelimit_free(off);
    CHECK(api_ratelimit_take(NULL, "x", 0, &retry));
}

int main(void)
{
    TEST_RUN(test_fresh_and_expired);
    TEST_RUN(test_ratelimit);
    TEST_RUN(test_key);
    return TEST_EXIT();
}
