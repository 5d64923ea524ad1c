/* testlib.h - the few helpers every test program uses.
 *
 * A test program is main() calling TEST_RUN(fn) for each case; a failed CHECK
 * prints file:line and the expression, marks the case failed and returns from
 * it. The program exits non-zero if any case failed, so ctest sees it. */
#ifndef RUTH_TESTLIB_H
#define RUTH_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int testlib_failures;
static int testlib_case_failed;

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr);               \
            testlib_case_failed = 1;                                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(expr, ...)                                                                       \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #expr);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            testlib_case_failed = 1;                                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *testlib_a_ = (a), *testlib_b_ = (b);                                           \
        CHECK_MSG(testlib_a_ &&testlib_b_ &&strcmp(testlib_a_, testlib_b_) == 0,                   \
                  "\"%s\" != \"%s\"", testlib_a_ ? testlib_a_ : "(null)",                          \
                  testlib_b_ ? testlib_b_ : "(null)");                                             \
    } while (0)

#define TEST_RUN(fn)                                                                               \
    do {                                                                                           \
        testlib_case_failed = 0;                                                                   \
        fprintf(stderr, "-- %s\n", #fn);                                                           \
        fn();                                                                                      \
        if (testlib_case_failed) {                                                                 \
            testlib_failures++;                                                                    \
            fprintf(stderr, "FAIL %s\n", #fn);                                                     \
        } else {                                                                                   \
            fprintf(stderr, "ok   %s\n", #fn);                                                     \
        }                                                                                          \
    } while (0)

#define TEST_EXIT()                                                                                \
    (testlib_failures ? (fprintf(stderr, "%d case(s) failed\n", testlib_failures), 1) : 0)

/* Required environment for integration tests: missing is a failure, not a skip. */
static inline const char *testlib_env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        fprintf(stderr,
                "%s is not set: integration tests need the dev stack "
                "(run ./scripts/test, or eval \"$(scripts/dev-stack env)\")\n",
                name);
        exit(1);
    }
    return v;
}

/* The whole file at PATH, NUL-terminated (so text can be used as a string),
 * in a malloc'd buffer the caller frees; *LEN (may be NULL) gets its size.
 * NULL when it cannot be read. */
static inline char *testlib_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0, got;
    char *d = malloc(cap + 1);
    while (d && (got = fread(d + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(d, cap * 2 + 1);
            if (!bigger) {
                free(d);
                d = NULL;
                break;
            }
            d = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (!d) {
        fprintf(stderr, "out of memory reading %s\n", path);
        abort();
    }
    d[n] = '\0';
    if (len)
        *len = n;
    return d;
}

#endif
