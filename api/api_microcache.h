/* api_microcache.h - identical GETs within RUTH_API_CACHE_MS share one
 * answer (api_microcache.c).
 *
 * Dashboards poll the same few lists and summaries; instead of each running
 * the same queries they share the body and ETag of one recent 200. Keyed by
 * the caller's choice of text (api_routes.c uses path and query string,
 * never the caller: every cached route answers the same to every role
 * allowed to call it, and the cache is consulted only after
 * authentication). Any write this process performs clears it; other
 * replicas' writes show up within the TTL.
 *
 * Owned by the process context (api.mcache): made in api_main.c, freed at
 * stop. Safe to call from every libmicrohttpd thread. A leaf: it knows
 * nothing of requests. */
#ifndef RUTH_API_MICROCACHE_H
#define RUTH_API_MICROCACHE_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

/* Bodies larger than this are not kept. */
#define API_MICROCACHE_MAX_BODY (256 * 1024)

typedef struct api_microcache api_microcache;

api_microcache *api_microcache_new(void);
void api_microcache_free(api_microcache *mc); /* accepts NULL */

/* The answer kept for `key` if it is younger than `ttl` seconds at `now`
 * (monotonic), or stale while another caller refreshes it: then its body is
 * copied into `body` (replacing what it held), its ETag into `etag`, and
 * true returned. Otherwise false; an expired entry for `key` is then marked
 * as being refreshed by this caller, who is expected to _put() it. */
bool api_microcache_get(api_microcache *mc, const char *key, double now, double ttl, buf *body,
                        char etag[32]);
/* Keep `len` bytes of `body` (copied) and `etag` as the answer for `key`,
 * made at `now`. Takes ownership of `key` (a malloc()ed string). */
void api_microcache_put(api_microcache *mc, char *key, double now, const void *body, size_t len,
                        const char etag[32]);
/* One query parameter as the client sent it: `value` NULL for "?k" with no
 * '=' (distinct from "?k=", value ""). */
typedef struct api_microcache_param {
    const char *name;
    const char *value;
} api_microcache_param;

/* The canonical key for `path` and `n` decoded query parameters, appended
 * to `out` with a terminating NUL: names and values percent-encoded again
 * (every byte but [A-Za-z0-9._~-]) so no decoded '&' or '=' can stand for a
 * separator, "k" without '=' kept apart from "k=", and the parameters
 * sorted (by name, then value) so their order does not matter. Reorders
 * `params`. */
void api_microcache_key(const char *path, api_microcache_param *params, size_t n, buf *out);

/* Forget every answer (this process changed something). */
void api_microcache_clear(api_microcache *mc);

#endif
