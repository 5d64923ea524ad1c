/* contract.h - for contract tests of ruth-api: one HTTP request (ihttp.h)
 * and contract_shape(), which checks an answer against an example response
 * of a public document.
 *
 * The example is the document's own JSON, pasted as it is printed. Every
 * member of an example object must be in the answer, with the type the
 * example shows: a string (an example that is a contract time,
 * 2026-01-13T10:30:00.000Z, wants that exact format), an integer where the
 * example writes one, a number where it writes a fraction, a boolean, an
 * object (checked the same way, member by member), an array (every element
 * of the answer against the example's first element; an example with
 * elements wants a non-empty answer, so the element shape is really
 * checked). An example null stands for "string or null" (the contract's
 * `string | null`), and so does any member named in `nullable`
 * ("a|b|c": the members the document's schema declares `| null` although
 * its example shows a value). Members beyond the example are allowed
 * (additions are not breaking, contract §5.3). */
#ifndef RUTH_TESTS_CONTRACT_H
#define RUTH_TESTS_CONTRACT_H

#include "buf.h"
#include "ihttp.h"
#include "testlib.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Like CHECK_MSG, but the case goes on: one answer reports every field
 * that is off, not only the first. */
#define CONTRACT_EXPECT(expr, ...)                                                                 \
    do {                                                                                           \
        if (!(expr)) {                                                                             \
            fprintf(stderr, "contract: ");                                                         \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            testlib_case_failed = 1;                                                               \
        }                                                                                          \
    } while (0)

typedef ihttp_resp contract_resp;

static inline void contract_resp_free(contract_resp *r)
{
    ihttp_resp_free(r);
}

/* One request to http://127.0.0.1:<port><path>; `token` a bearer token or
 * NULL, `body` JSON or NULL. The answer's JSON (if it is JSON) in out->json. */
static inline void contract_http(int port, const char *method, const char *path, const char *token,
                                 const char *body, contract_resp *out)
{
    ihttp_request(port, method, path, token, body, NULL, out);
}

/* "2026-01-13T10:30:00.000Z": UTC, milliseconds, Z (contract §1, §4.1). */
static inline bool contract_is_time(const char *s)
{
    static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (!s || strlen(s) != sizeof pat - 1)
        return false;
    for (size_t i = 0; pat[i]; i++)
        if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != pat[i])
            return false;
    return true;
}

static inline const char *contract__type(const json_t *j)
{
    switch (j ? json_typeof(j) : JSON_NULL) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

/* Check `got` against the example `want` (see the top of this file);
 * `where` names the place in failure messages ("violations[0].evidence").
 * Returns how many members were checked (a test can assert it saw them). */
static inline bool contract__named(const char *name, const char *names)
{
    size_t n = strlen(name);
    for (const char *p = names ? names : ""; *p;) {
        const char *bar = strchr(p, '|');
        size_t k = bar ? (size_t)(bar - p) : strlen(p);
        if (k == n && !strncmp(p, name, n))
            return true;
        p += k + (bar ? 1 : 0);
    }
    return false;
}

static inline int contract_shape(const char *where, const json_t *want, const json_t *got,
                                 const char *nullable)
{
    int seen = 1;
    char sub[512];
    const char *dot = strrchr(where, '.');
    if (json_is_null(got) && contract__named(dot ? dot + 1 : where, nullable))
        return seen;
    switch (json_typeof(want)) {
    case JSON_OBJECT: {
        CONTRACT_EXPECT(json_is_object(got), "%s: want an object, got %s", where,
                        contract__type(got));
        if (!json_is_object(got))
            return seen;
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)want, k, v)
        {
            snprintf(sub, sizeof sub, "%s.%s", where, k);
            const json_t *g = json_object_get(got, k);
            CONTRACT_EXPECT(g != NULL, "%s: missing", sub);
            if (g)
                seen += contract_shape(sub, v, g, nullable);
        }
        return seen;
    }
    case JSON_ARRAY: {
        CONTRACT_EXPECT(json_is_array(got), "%s: want an array, got %s", where,
                        contract__type(got));
        if (!json_is_array(got) || json_array_size(want) == 0)
            return seen;
        CONTRACT_EXPECT(json_array_size(got) > 0, "%s: empty, so its elements go unchecked", where);
        size_t i;
        const json_t *g;
        json_array_foreach((json_t *)got, i, g)
        {
            snprintf(sub, sizeof sub, "%s[%zu]", where, i);
            seen += contract_shape(sub, json_array_get(want, 0), g, nullable);
        }
        return seen;
    }
    case JSON_STRING:
        CONTRACT_EXPECT(json_is_string(got), "%s: want a string, got %s", where,
                        contract__type(got));
        if (contract_is_time(json_string_value(want)))
            CONTRACT_EXPECT(contract_is_time(json_string_value(got)),
                            "%s: want a contract time like %s, got %s", where,
                            json_string_value(want),
                            json_is_string(got) ? json_string_value(got) : contract__type(got));
        return seen;
    case JSON_INTEGER:
        CONTRACT_EXPECT(json_is_integer(got), "%s: want an integer, got %s", where,
                        contract__type(got));
        return seen;
    case JSON_REAL:
        CONTRACT_EXPECT(json_is_number(got), "%s: want a number, got %s", where,
                        contract__type(got));
        return seen;
    case JSON_TRUE:
    case JSON_FALSE:
        CONTRACT_EXPECT(json_is_boolean(got), "%s: want a boolean, got %s", where,
                        contract__type(got));
        return seen;
    default:
        CONTRACT_EXPECT(json_is_null(got) || json_is_string(got),
                        "%s: want a string or null, got %s", where, contract__type(got));
        return seen;
    }
}

/* contract_shape() against an example given as JSON text. */
static inline int contract_shape_text(const char *where, const char *example, const json_t *got,
                                      const char *nullable)
{
    json_error_t je;
    json_t *want = json_loads(example, 0, &je);
    CONTRACT_EXPECT(want != NULL, "%s: the example does not parse: %s", where, je.text);
    int n = want ? contract_shape(where, want, got, nullable) : 0;
    json_decref(want);
    return n;
}

#endif
