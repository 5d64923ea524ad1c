/* api_ops.h - the operational endpoints (api_ops.c): /health, /ready,
 * /metrics and /openapi.json, served under /api/v1 and at the root.
 *
 * What /health and /ready report is probed at most once a second per
 * dependency; those results live in an api_ops (api.ops), made in
 * api_main.c and freed at stop. */
#ifndef RUTH_API_OPS_H
#define RUTH_API_OPS_H

#include "api_context.h"

api_ops *api_ops_new(void);
void api_ops_free(api_ops *ops); /* accepts NULL */

/* Handlers, routed by api_routes.c. */
void api_ops_health(api_req *r);  /* public: database, Kafka, VAS */
void api_ops_ready(api_req *r);   /* public: 503 while the database is down */
void api_ops_metrics(api_req *r); /* public: Prometheus text */
void api_ops_openapi(api_req *r); /* viewer: the compiled-in OpenAPI document */

#endif
