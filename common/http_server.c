/* http_server.c - see http_server.h. Moved out of ruth-api's api_http.c so
 * that ruth-ingest runs on the same daemon set-up, deadline and body
 * limits; the code is what ruth-api had. */
#include "http_server.h"

#include "clock.h"
#include "log.h"
#include "ops_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

struct MHD_Daemon *http_server_start(int port, int threads, const http_server_limits *lim,
                                     metric *header_timeouts, const http_server_callbacks *cb,
                                     http_conn **conns, char *err, size_t errsz)
{
    *conns = http_conn_new(lim->header_timeout_sec, header_timeouts);
    if (!*conns) {
        snprintf(err, errsz, "cannot start the connection watchdog thread");
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    /* A NULL on_uri is libmicrohttpd's default (no URI callback). */
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, cb->on_request, cb->cls, MHD_OPTION_EXTERNAL_LOGGER,
        ops_http_mhd_log, NULL, MHD_OPTION_NOTIFY_COMPLETED, cb->on_completed, cb->cls,
        MHD_OPTION_URI_LOG_CALLBACK, cb->on_uri, cb->cls, MHD_OPTION_NOTIFY_CONNECTION,
        http_conn_notify, *conns, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)lim->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)lim->max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)lim->idle_timeout_sec, MHD_OPTION_END);
    if (!d) {
        snprintf(err, errsz, "cannot listen on port %d (in use?)", port);
        http_conn_free(*conns);
        *conns = NULL;
    }
    return d;
}

int http_server_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *di = d ? MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
    return di ? di->port : -1;
}

void http_server_stop(struct MHD_Daemon *d, http_conn *conns)
{
    if (d)
        MHD_stop_daemon(d);
    http_conn_free(conns); /* every connection is closed now */
}

void http_server_request_id(struct MHD_Connection *conn, char *out, size_t n)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID");
    if (h) {
        size_t len = strlen(h);
        bool ok = len > 0 && len < 64 && len < n;
        for (size_t i = 0; ok && i < len; i++)
            ok = (h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
                 (h[i] >= '0' && h[i] <= '9') || h[i] == '-' || h[i] == '_' || h[i] == '.' ||
                 h[i] == ':';
        if (ok) {
            memcpy(out, h, len + 1);
            return;
        }
    }
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        memset(b, 0, sizeof b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, n, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void http_server_client_addr(struct MHD_Connection *conn, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "unknown");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n);
}

bool http_server_path_forged(const char *uri)
{
    for (const char *p = uri; *p && *p != '?'; p++)
        if (p[0] == '%' && p[1] && p[2] &&
            ((p[1] == '0' && p[2] == '0') || (p[1] == '2' && (p[2] == 'f' || p[2] == 'F'))))
            return true;
    return false;
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

bool http_server_framing_refused(struct MHD_Connection *conn, http_framing_problem *p)
{
    framing f = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_header, &f);
    if (f.lengths_differ || (f.n_length && f.n_coding)) {
        *p = (http_framing_problem){400, "VALIDATION_ERROR", "Content-Length",
                                    f.n_coding ? "must not be sent with Transfer-Encoding"
                                               : "given more than once with different values",
                                    "the request's body framing is ambiguous"};
        return true;
    }
    if (f.n_coding && (f.n_coding > 1 || strcasecmp(f.coding, "chunked"))) {
        *p =
            (http_framing_problem){501, "NOT_IMPLEMENTED", "Transfer-Encoding",
                                   "only chunked is supported", "transfer coding is not supported"};
        return true;
    }
    return false;
}

void http_upload_begin(http_upload *u, struct MHD_Connection *conn, long long max)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoll(cl, NULL, 10) > max)
        u->too_large = true; /* answered before the body is read */
}

http_upload_result http_upload_step(http_upload *u, buf *body, const char *upload,
                                    size_t *upload_size, long long max, const char *request_id)
{
    if (u->answered) { /* the answer went out: the rest of the body is not read */
        *upload_size = 0;
        return HTTP_UPLOAD_MORE;
    }
    if (*upload_size)
        u->started = true;
    if (*upload_size && (long long)(body->len + *upload_size) > max) {
        u->too_large = true;
        buf_free(body);
    }
    if (u->too_large) {
        *upload_size = 0;
        if (u->started) {
            /* Past the limit in mid-upload (chunked, or a lying length):
             * libmicrohttpd cannot answer until the body ends, which may be
             * never, so the connection is closed instead of read on. */
            log_ctx ctx = LOG_CTX_INIT;
            ctx.request_id = request_id;
            log_at(LOG_WARN, &ctx, "request body passed %lld bytes; connection closed", max);
            return HTTP_UPLOAD_ABORT;
        }
        /* Announced too large: answered before any of it is read, and the
         * connection closed after the answer. */
        u->answered = true;
        return HTTP_UPLOAD_REFUSE;
    }
    if (*upload_size) {
        buf_append(body, upload, *upload_size);
        *upload_size = 0;
        return HTTP_UPLOAD_MORE;
    }
    return HTTP_UPLOAD_COMPLETE;
}

void http_server_access_log(const char *request_id, const char *method, const char *url,
                            unsigned status, double ms)
{
    log_level lvl = status >= 500 ? LOG_WARN : LOG_INFO;
    if (!log_enabled(lvl))
        return;
    /* The method is the client's text: JSON-escaped like every field. */
    char m[96], extra[256];
    size_t mlen = 0;
    m[0] = '\0';
    log_json_escape(m, &mlen, sizeof m, method);
    snprintf(extra, sizeof extra, "\"method\":\"%s\",\"status\":%u,\"duration_ms\":%.2f", m, status,
             ms);
    log_ctx ctx = LOG_CTX_INIT;
    ctx.request_id = request_id;
    ctx.extra_json = extra;
    log_at(lvl, &ctx, "%s %s -> %u", method, url, status);
}
