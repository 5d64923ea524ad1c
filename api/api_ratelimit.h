/* api_ratelimit.h - a token bucket per client address (api_ratelimit.c).
 *
 * Owned by the process context (api.rl): made in api_main.c, freed at stop.
 * Safe to call from every libmicrohttpd thread. */
#ifndef RUTH_API_RATELIMIT_H
#define RUTH_API_RATELIMIT_H

#include <stdbool.h>

typedef struct api_ratelimit api_ratelimit;

/* `rps` requests a second per client, bursts of twice that; rps <= 0 lets
 * everything through. */
api_ratelimit *api_ratelimit_new(int rps);
void api_ratelimit_free(api_ratelimit *rl); /* accepts NULL */
/* true when `client` may make a request now (monotonic seconds); otherwise
 * false with *retry_after_sec. A NULL limiter lets everything through. */
bool api_ratelimit_take(api_ratelimit *rl, const char *client, double now, int *retry_after_sec);

#endif
