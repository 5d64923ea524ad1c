/* api_context.h - ruth-api's two contexts: the process (`api`) and one
 * request (`api_req`).
 *
 * libmicrohttpd runs a thread pool; each request borrows one PostgreSQL
 * connection from the pool for as long as its handler runs. Everything the
 * process keeps between requests (pools, rate limiter, microcache, probe
 * results, count cache, per-route counters) hangs off `api`: no module keeps
 * state of its own in file statics. */
#ifndef RUTH_API_CONTEXT_H
#define RUTH_API_CONTEXT_H

#include "api_auth.h"
#include "buf.h"
#include "codec.h"
#include "config.h"
#include "http_server.h"
#include "metrics.h"
#include "pg_pool.h"
#include "vas.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct api_stream api_stream;         /* api_stream.h */
typedef struct api_ratelimit api_ratelimit;   /* api_ratelimit.h */
typedef struct api_microcache api_microcache; /* api_microcache.h */
typedef struct api_ops api_ops;               /* api_ops.h */
typedef struct api_routes api_routes;         /* api_routes.h */
typedef struct list_counts list_counts;       /* api_list.h */

/* The process context. Built by api_main.c (and api_http_start() for
 * `routes`), torn down there after the daemon stopped; every member is owned
 * by it unless said otherwise. */
typedef struct api {
    const ruth_config *cfg; /* borrowed from main() */
    pg_pool *pool;          /* writes and reads needing read-your-writes */
    pg_pool *read_pool;     /* DATABASE_READ_URL, or the same as pool */
    codec *codec;
    rd_kafka_t *producer;
    _Atomic(api_stream *) stream; /* NULL until Kafka could be followed */
    api_ratelimit *rl;
    api_microcache *mcache; /* shared answers of cacheable GETs */
    api_ops *ops;           /* /health and /ready probe results */
    list_counts *counts;    /* list totals, cached a second */
    api_routes *routes;     /* per-route request counters (api_http_start) */
    http_conn *conns;       /* request-header deadline (api_http_start) */
    metrics *reg;
    metric *m_requests_inflight;
    metric *m_db_errors;
    metric *m_rate_limited;
    struct MHD_Daemon *daemon;

    vas *vas;                 /* VAS_BASE_URL set: the one VAS client (api_main.c); else NULL */
    _Atomic int media_active; /* media transfers still running (api_media.c) */
} api;

#define API_MAX_SEGMENTS 8

/* One request, from libmicrohttpd's first callback to its completion
 * (api_http.c owns and frees it). */
typedef struct api_req {
    api *a;
    struct MHD_Connection *conn;
    const char *method;
    char request_id[72];
    char client[64]; /* client address, for rate limiting and logs */
    double started;  /* monotonic seconds */
    /* path below /api/v1, split on '/' (URL-decoded by libmicrohttpd) into
     * r->path, which the request owns */
    char *path;
    char *seg[API_MAX_SEGMENTS];
    int nseg;
    /* request body */
    buf body;
    http_upload upload; /* its limit, and whether it was answered before it was read */
    /* the raw path (before libmicrohttpd decodes it) holds %00 or an
     * encoded '/': refused, since decoding would truncate or re-split it */
    bool path_forged;
    bool close; /* answered before its body: "Connection: close" */
    int route;  /* its index in the route table (api_routes.c), -1 none */
    /* authenticated caller */
    auth_claims who;
    /* response */
    unsigned status;
    buf out;
    char etag[32];
    char retry_after[16];
    char allow[64];  /* methods for a 405 */
    bool text_plain; /* /metrics */
    bool sse;        /* handler turned the response into a stream (api_stream.c, media) */
    struct MHD_Response *stream_response;
    /* validation errors collected by api_params.c: {"field": "message"} */
    json_t *details;
    int nmissing; /* how many of them are missing required fields (param_missing) */
    PGconn *db;   /* borrowed by api_db() for the handler's lifetime */
    pg_pool *db_pool;
    const char *url; /* as requested (borrowed from libmicrohttpd) */
} api_req;

#endif
