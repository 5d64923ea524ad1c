/* api_http.c - the life of one request, as libmicrohttpd calls it.
 *
 *   1. first callback: request id, client address, body size check
 *   2. body callbacks: accumulate up to RUTH_API_MAX_BODY_BYTES
 *   3. last callback: rate limit, then api_routes_handle() (a CORS preflight
 *      on a known path, or route, authenticate, authorise, run the handler),
 *      queue the response
 *   4. completion: access log line, metrics, free
 * Every response carries X-Request-ID and, for allowed origins, the CORS
 * headers; every error is the contract's body (api_response.c). */
#include "api_http.h"
#include "clock.h"

#include "api_ratelimit.h"
#include "api_response.h"
#include "api_routes.h"
#include "api_util.h"
#include "http_server.h"
#include "log.h"
#include "pg_pool.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- libmicrohttpd callbacks ---- */

/* Access-Control-Allow-Origin for `origin` when it is allowed. */
static bool cors_allowed(const api *a, const char *origin)
{
    const char *list = a->cfg->api_cors_origins;
    if (!origin || !list || !*list)
        return false;
    size_t n = strlen(origin);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *e = end;
        while (e > p && e[-1] == ' ')
            e--;
        if ((e - p == 1 && *p == '*') || ((size_t)(e - p) == n && !strncmp(p, origin, n)))
            return true;
        p = end;
    }
    return false;
}

static enum MHD_Result queue(api_req *r)
{
    struct MHD_Response *resp;
    if (r->sse) {
        resp = r->stream_response;
        r->stream_response = NULL;
    } else {
        size_t len = r->out.len;
        unsigned char *data = r->out.data;
        r->out.data = NULL;
        r->out.len = r->out.cap = 0;
        resp =
            MHD_create_response_from_buffer(len, data ? data : (unsigned char *)"",
                                            data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (r->status != 204)
            MHD_add_response_header(resp, "Content-Type",
                                    r->text_plain ? "text/plain; version=0.0.4"
                                                  : "application/json");
    }
    MHD_add_response_header(resp, "X-Request-ID", r->request_id);
    if (r->close)
        MHD_add_response_header(resp, "Connection", "close");
    if (r->etag[0])
        MHD_add_response_header(resp, "ETag", r->etag);
    if (r->retry_after[0])
        MHD_add_response_header(resp, "Retry-After", r->retry_after);
    if (r->status == 405 && r->allow[0])
        MHD_add_response_header(resp, "Allow", r->allow);
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    if (cors_allowed(r->a, origin)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "X-Request-ID, ETag, Retry-After");
        if (!strcmp(r->method, "OPTIONS")) {
            MHD_add_response_header(resp, "Access-Control-Allow-Methods",
                                    "GET, POST, PUT, PATCH, DELETE, OPTIONS");
            MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                    "Authorization, Content-Type, If-Match, X-Request-ID, "
                                    "Last-Event-ID");
            MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
        }
    }
    enum MHD_Result ok = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* libmicrohttpd's URI log callback: the only place the path is seen before
 * it is decoded. The request is allocated here; on_request fills it in. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    api_req *r = xcalloc(1, sizeof *r);
    r->route = -1;
    r->path_forged = http_server_path_forged(uri);
    return r;
}

typedef struct query_names {
    const char **v;
    size_t n, cap;
} query_names;

static enum MHD_Result query_name(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    (void)v;
    query_names *q = cls;
    if (q->n == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 16;
        q->v = xrealloc(q->v, q->cap * sizeof *q->v);
    }
    q->v[q->n++] = k;
    return MHD_YES;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first query parameter given more than once, or NULL: repeats are
 * refused rather than one of them silently chosen. Sorted, so a flood of
 * parameters costs n log n. The name is libmicrohttpd's, valid for the
 * request. */
static const char *repeated_param(api_req *r)
{
    query_names q = {0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_name, &q);
    const char *dup = NULL;
    if (q.n > 1) {
        qsort(q.v, q.n, sizeof *q.v, name_cmp);
        for (size_t i = 1; i < q.n && !dup; i++)
            if (!strcmp(q.v[i - 1], q.v[i]))
                dup = q.v[i];
    }
    free(q.v);
    return dup;
}

/* An answer to untrustworthy body framing (http_server.h); true when one
 * was made. */
static bool framing_refused(api_req *r)
{
    http_framing_problem p;
    if (!http_server_framing_refused(r->conn, &p))
        return false;
    api_error(r, p.status, p.code, json_pack("{s:s}", p.field, p.problem), "%s", p.message);
    return true;
}

static void handle(api_req *r, const char *url)
{
    api *a = r->a;
    int retry = 0;
    if (!api_ratelimit_take(a->rl, r->client, clock_mono_s(), &retry)) {
        metric_inc(a->m_rate_limited);
        snprintf(r->retry_after, sizeof r->retry_after, "%d", retry);
        api_error(r, 429, "RATE_LIMITED", json_pack("{s:i}", "retry_after_seconds", retry),
                  "too many requests from this client");
        return;
    }
    if (r->upload.too_large) {
        api_error(r, 413, "PAYLOAD_TOO_LARGE",
                  json_pack("{s:i}", "max_body_bytes", a->cfg->api_max_body_bytes),
                  "request body is larger than %d bytes", a->cfg->api_max_body_bytes);
        return;
    }
    if (r->path_forged) {
        api_error(r, 400, "VALIDATION_ERROR",
                  json_pack("{s:s}", "path", "must not hold %00 or an encoded '/'"),
                  "request path is invalid");
        return;
    }
    const char *dup = repeated_param(r);
    if (dup) {
        api_error(r, 400, "VALIDATION_ERROR", json_pack("{s:s}", dup, "given more than once"),
                  "request parameters are invalid");
        return;
    }
    api_routes_handle(r, url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    api *a = cls;
    api_req *r = *con_cls;
    if (!r || !r->a) { /* first call: on_uri allocated it */
        if (!r) {
            r = xcalloc(1, sizeof *r);
            r->route = -1;
        }
        r->a = a;
        r->conn = conn;
        r->method = method;
        r->url = url;
        r->started = clock_mono_s();
        http_conn_headers_done(a->conns, conn);
        http_server_request_id(conn, r->request_id, sizeof r->request_id);
        http_server_client_addr(conn, r->client, sizeof r->client);
        metric_add(a->m_requests_inflight, 1);
        *con_cls = r;
        if (framing_refused(r)) {
            *upload_size = 0;
            r->upload.answered = r->close = true;
            return queue(r);
        }
        http_upload_begin(&r->upload, conn, a->cfg->api_max_body_bytes);
        if (!r->upload.too_large)
            return MHD_YES;
    }
    switch (http_upload_step(&r->upload, &r->body, upload, upload_size, a->cfg->api_max_body_bytes,
                             r->request_id)) {
    case HTTP_UPLOAD_MORE:
        return MHD_YES;
    case HTTP_UPLOAD_ABORT:
        return MHD_NO;
    case HTTP_UPLOAD_REFUSE: /* the 413, before any of the body is read */
        handle(r, url);
        return queue(r);
    case HTTP_UPLOAD_COMPLETE:
        break;
    }
    handle(r, url);
    if (r->db) {
        pg_pool_put(r->db_pool, r->db);
        r->db = NULL;
    }
    return queue(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    api *a = cls;
    api_req *r = *con_cls;
    if (!r)
        return;
    http_conn_request_done(a->conns, conn);
    if (!r->a) { /* a request line, and no request to handle */
        free(r);
        *con_cls = NULL;
        return;
    }
    double ms = (clock_mono_s() - r->started) * 1000.0;
    metric_add(a->m_requests_inflight, -1);
    api_routes_observe(a->routes, r, ms / 1000.0);
    http_server_access_log(r->request_id, r->method, r->url, r->status, ms);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !r->sse && log_enabled(LOG_DEBUG)) {
        log_ctx ctx = LOG_CTX_INIT;
        ctx.request_id = r->request_id;
        log_at(LOG_DEBUG, &ctx, "request ended early (code %d)", (int)toe);
    }
    if (r->stream_response)
        MHD_destroy_response(r->stream_response);
    free(r->path);
    json_decref(r->details);
    buf_free(&r->body);
    buf_free(&r->out);
    free(r);
    *con_cls = NULL;
}

struct MHD_Daemon *api_http_start(api *a, int port, int threads, char *err, size_t errsz)
{
    a->m_requests_inflight =
        metrics_gauge(a->reg, "ruth_api_requests_in_flight", "Requests being handled.", NULL);
    a->m_db_errors = metrics_counter(a->reg, "ruth_api_database_errors_total",
                                     "Requests that failed on the database.", NULL);
    a->m_rate_limited =
        metrics_counter(a->reg, "ruth_api_rate_limited_total", "Requests refused with 429.", NULL);
    a->routes = api_routes_new(a->reg);
    const ruth_config *cfg = a->cfg;
    http_server_limits lim = {cfg->api_max_connections, cfg->api_max_connections_per_ip,
                              cfg->api_idle_timeout_sec, cfg->api_header_timeout_sec};
    http_server_callbacks cb = {on_request, on_completed, on_uri, a};
    metric *timeouts =
        metrics_counter(a->reg, "ruth_api_header_timeouts_total",
                        "Connections closed because their request headers were not complete "
                        "within RUTH_API_HEADER_TIMEOUT_SEC.",
                        NULL);
    struct MHD_Daemon *d =
        http_server_start(port, threads, &lim, timeouts, &cb, &a->conns, err, errsz);
    if (!d) {
        api_routes_free(a->routes);
        a->routes = NULL;
    }
    return d;
}

int api_http_port(struct MHD_Daemon *d)
{
    return http_server_port(d);
}

void api_http_stop(api *a)
{
    http_server_stop(a->daemon, a->conns);
    a->daemon = NULL;
    a->conns = NULL;
    api_routes_free(a->routes);
    a->routes = NULL;
}
