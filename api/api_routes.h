/* api_routes.h - the route table and dispatch (api_routes.c): which handler
 * serves a method and path, which role it needs (the bearer token is
 * checked here, through auth_verify()), which GETs the microcache may
 * share, and requests counted by route and status class. */
#ifndef RUTH_API_ROUTES_H
#define RUTH_API_ROUTES_H

#include "api_context.h"

/* Register the per-route counters (ruth_api_requests_total) and latency
 * histograms (ruth_api_request_seconds{route}, route "none" for requests no
 * route served) in `reg`, which must outlive the result. */
api_routes *api_routes_new(metrics *reg);
void api_routes_free(api_routes *rt); /* accepts NULL */

/* Route `url` (as requested) for r->method: 404/405 when nothing serves it,
 * 401/403 when the caller may not, else run the handler (through the
 * microcache when the route allows). Counts the answer under its route. */
void api_routes_handle(api_req *r, const char *url);

/* Count a finished request's handling time under its route (r->route).
 * Streams (SSE, media) are left out: their time is the client's. Accepts
 * NULL `rts`. */
void api_routes_observe(api_routes *rts, const api_req *r, double seconds);

#endif
