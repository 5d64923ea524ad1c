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

#include "api_conn.h"
#include "api_pool.h"
#include "api_ratelimit.h"
#include "api_response.h"
#include "api_routes.h"
#include "api_util.h"
#include "log.h"
#include "ops_http.h"
#include "xmalloc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* ---- libmicrohttpd callbacks ---- */

static void request_id(api_req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Request-ID");
    if (h) {
        size_t n = strlen(h);
        bool ok = n > 0 && n < 64;
        for (size_t i = 0; ok && i < n; i++)
            ok = (h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
                 (h[i] >= '0' && h[i] <= '9') || h[i] == '-' || h[i] == '_' || h[i] == '.' ||
                 h[i] == ':';
        if (ok) {
            memcpy(r->request_id, h, n + 1);
            return;
        }
    }
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        memset(b, 0, sizeof b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(r->request_id, sizeof r->request_id,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

static void client_addr(api_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(r->client, sizeof r->client, "unknown");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->client,
                  sizeof r->client);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->client,
                  sizeof r->client);
}

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

/* A raw path segment holding "%00" or "%2f": decoded, the first truncates
 * the path and the second re-splits it, so neither reaches the router. */
static bool path_forged(const char *uri)
{
    for (const char *p = uri; *p && *p != '?'; p++)
        if (p[0] == '%' && p[1] && p[2] &&
            ((p[1] == '0' && p[2] == '0') || (p[1] == '2' && (p[2] == 'f' || p[2] == 'F'))))
            return true;
    return false;
}

/* libmicrohttpd's URI log callback: the only place the path is seen before
 * it is decoded. The request is allocated here; on_request fills it in. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    api_req *r = xcalloc(1, sizeof *r);
    r->path_forged = path_forged(uri);
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

typedef struct framing {
    int n_length, n_coding;
    const char *length, *coding;
    bool lengths_differ;
} framing;

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *k,
                                      const char *v)
{
    (void)kind;
    framing *f = cls;
    v = v ? v : "";
    if (!strcasecmp(k, "Content-Length")) {
        if (f->n_length++ && strcmp(f->length, v))
            f->lengths_differ = true;
        f->length = v;
    } else if (!strcasecmp(k, "Transfer-Encoding")) {
        f->n_coding++;
        f->coding = v;
    }
    return MHD_YES;
}

/* RFC 9112 §6.1/§6.3: a body whose length two headers disagree on is a
 * smuggling attempt, answered 400 and the connection closed; a transfer
 * coding other than chunked cannot be read, answered 501 at once rather
 * than waited on. true when an answer was made. */
static bool framing_refused(api_req *r)
{
    framing f = {0};
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, framing_header, &f);
    if (f.lengths_differ || (f.n_length && f.n_coding)) {
        api_error(r, 400, "VALIDATION_ERROR",
                  json_pack("{s:s}", "Content-Length",
                            f.n_coding ? "must not be sent with Transfer-Encoding"
                                       : "given more than once with different values"),
                  "the request's body framing is ambiguous");
        return true;
    }
    if (f.n_coding && (f.n_coding > 1 || strcasecmp(f.coding, "chunked"))) {
        api_error(r, 501, "NOT_IMPLEMENTED",
                  json_pack("{s:s}", "Transfer-Encoding", "only chunked is supported"),
                  "transfer coding is not supported");
        return true;
    }
    return false;
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
    if (r->body_too_large) {
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
        if (!r)
            r = xcalloc(1, sizeof *r);
        r->a = a;
        r->conn = conn;
        r->method = method;
        r->url = url;
        r->started = clock_mono_s();
        api_conn_headers_done(a->conns, conn);
        request_id(r);
        client_addr(r);
        metric_add(a->m_requests_inflight, 1);
        *con_cls = r;
        if (framing_refused(r)) {
            *upload_size = 0;
            r->answered = r->close = true;
            return queue(r);
        }
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (!cl || strtoll(cl, NULL, 10) <= a->cfg->api_max_body_bytes)
            return MHD_YES;
        r->body_too_large = true; /* answered before the body is read */
    }
    if (r->answered) { /* the 413 went out: the rest of the body is not read */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size)
        r->body_started = true;
    if (*upload_size && r->body.len + *upload_size > (size_t)a->cfg->api_max_body_bytes) {
        r->body_too_large = true;
        buf_free(&r->body);
    }
    if (r->body_too_large) {
        *upload_size = 0;
        if (r->body_started) {
            /* Past the limit in mid-upload (chunked, or a lying length):
             * libmicrohttpd cannot answer until the body ends, which may be
             * never, so the connection is closed instead of read on. */
            log_ctx ctx = LOG_CTX_INIT;
            ctx.request_id = r->request_id;
            log_at(LOG_WARN, &ctx, "request body passed %d bytes; connection closed",
                   a->cfg->api_max_body_bytes);
            return MHD_NO;
        }
        /* Announced too large: answered before any of it is read, and the
         * connection closed after the answer. */
        handle(r, url);
        r->answered = true;
        return queue(r);
    }
    if (*upload_size) {
        buf_append(&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    handle(r, url);
    if (r->db) {
        api_pool_put(r->db_pool, r->db);
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
    api_conn_request_done(a->conns, conn);
    if (!r->a) { /* a request line, and no request to handle */
        free(r);
        *con_cls = NULL;
        return;
    }
    double ms = (clock_mono_s() - r->started) * 1000.0;
    metric_add(a->m_requests_inflight, -1);
    metric_observe(a->m_latency, ms / 1000.0);
    log_level lvl = r->status >= 500 ? LOG_WARN : LOG_INFO;
    if (log_enabled(lvl)) {
        /* The method is the client's text: JSON-escaped like every field. */
        char method[96], extra[256];
        size_t mlen = 0;
        method[0] = '\0';
        log_json_escape(method, &mlen, sizeof method, r->method);
        snprintf(extra, sizeof extra, "\"method\":\"%s\",\"status\":%u,\"duration_ms\":%.2f",
                 method, r->status, ms);
        log_ctx ctx = LOG_CTX_INIT;
        ctx.request_id = r->request_id;
        ctx.extra_json = extra;
        log_at(lvl, &ctx, "%s %s -> %u", r->method, r->url, r->status);
    }
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
    static const double bounds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                    0.05,   0.1,   0.25,  0.5,   1,    2.5};
    a->m_requests_inflight =
        metrics_gauge(a->reg, "ruth_api_requests_in_flight", "Requests being handled.", NULL);
    a->m_db_errors = metrics_counter(a->reg, "ruth_api_database_errors_total",
                                     "Requests that failed on the database.", NULL);
    a->m_rate_limited =
        metrics_counter(a->reg, "ruth_api_rate_limited_total", "Requests refused with 429.", NULL);
    a->m_latency = metrics_histogram(a->reg, "ruth_api_request_seconds", "Request handling time.",
                                     NULL, bounds, sizeof bounds / sizeof bounds[0]);
    a->routes = api_routes_new(a->reg);
    a->conns = api_conn_new(
        a->cfg->api_header_timeout_sec,
        metrics_counter(a->reg, "ruth_api_header_timeouts_total",
                        "Connections closed because their request headers were not complete "
                        "within RUTH_API_HEADER_TIMEOUT_SEC.",
                        NULL));
    if (!a->conns) {
        snprintf(err, errsz, "cannot start the connection watchdog thread");
        api_routes_free(a->routes);
        a->routes = NULL;
        return NULL;
    }
    const ruth_config *cfg = a->cfg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER,
        ops_http_mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, a, MHD_OPTION_NOTIFY_CONNECTION, api_conn_notify,
        a->conns, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->api_max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)cfg->api_max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)cfg->api_idle_timeout_sec, MHD_OPTION_END);
    if (!d) {
        snprintf(err, errsz, "cannot listen on port %d (in use?)", port);
        api_routes_free(a->routes);
        a->routes = NULL;
        api_conn_free(a->conns);
        a->conns = NULL;
    }
    return d;
}

int api_http_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return di ? di->port : -1;
}

void api_http_stop(api *a)
{
    if (a->daemon)
        MHD_stop_daemon(a->daemon);
    a->daemon = NULL;
    api_conn_free(a->conns); /* every connection is closed now */
    a->conns = NULL;
    api_routes_free(a->routes);
    a->routes = NULL;
}
