/* api_http.h - the libmicrohttpd daemon of ruth-api (api_http.c): the
 * request lifecycle callbacks and start-up. */
#ifndef RUTH_API_HTTP_H
#define RUTH_API_HTTP_H

#include "api_context.h"

#include <stddef.h>

/* Register the request metrics in a->reg, make a->routes, and start the
 * daemon on `port` (0: any free port) with `threads` threads; `a` is
 * borrowed until api_http_stop(). NULL with err filled when it cannot
 * listen (a->routes is then freed again). */
struct MHD_Daemon *api_http_start(api *a, int port, int threads, char *err, size_t errsz);
/* The port the daemon listens on, or -1. */
int api_http_port(struct MHD_Daemon *d);
/* Stop a->daemon (waits for the running requests) and free a->routes.
 * Accepts a context whose daemon never started. */
void api_http_stop(api *a);

#endif
