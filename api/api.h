/* api.h - what a ruth-api resource handler works with: the request
 * context and the modules a handler calls. It declares nothing itself; each
 * module declares its own API in its own header, and the core modules
 * include those directly, never this one (so no header here includes a
 * module that includes api.h: no include cycle).
 *
 * Module map (ARCHITECTURE §8):
 *   api_main.c        start-up, the background outbox sweep, shutdown
 *   api_http.c        libmicrohttpd callbacks: request ids, body limits, rate
 *                     limit, CORS, queueing the response; daemon start-up
 *   api_routes.c      the route table, path matching, token and role checks,
 *                     the microcache in front of cacheable GETs
 *   api_response.c    JSON bodies and the contract's error body
 *   api_db.c          a request's database connection, queries, outbox relay
 *   api_ratelimit.c   token bucket per client address
 *   api_microcache.c  shared answers of identical GETs
 *   api_ops.c         /health, /ready, /metrics, /openapi.json
 *   api_auth.c        roles, HS256 JWT verification and minting (ruth-token)
 *   api_params.c      query/body validation into the VALIDATION_ERROR details
 *   api_list.c        pagination, keyset cursors, capped counts
 *   api_rowjson.c     item JSON written in C from plain columns (list and detail rows)
 *   api_util.c        monotonic clock, UTF-8/UUID/choice checks
 *   api_context.h     the process (`api`) and request (`api_req`) contexts
 *   api_handlers.h    the handlers below, for api_routes.c:
 *   api_violations.c  /violations, /violations/{id} (GET, PATCH)
 *   api_media.c       /violations/{id}/snapshot, /video (streamed from VAS)
 *   api_evidence.c    POST /violations/{id}/evidence (re-request evidence)
 *   api_stream.c      /violations/stream (Server-Sent Events from Kafka)
 *   api_events.c      /events, /events/{id}
 *   api_analytics.c   /analytics/summary, /analytics/cameras/{id}
 *   api_devices.c     /devices, inference start/stop
 *   api_models.c      /models/status, /internal/runtime/register
 *   api_admin.c       /rules, /event-type-map
 */
#ifndef RUTH_API_H
#define RUTH_API_H

#include "api_auth.h"
#include "api_context.h"
#include "api_db.h"
#include "api_list.h"
#include "api_params.h"
#include "api_response.h"
#include "api_util.h"
#include "pg_pool.h"

#endif
