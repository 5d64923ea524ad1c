/* ops_http.c - see ops_http.h. */
#include "ops_http.h"

#include "log.h"
#include "xmalloc.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ops_http {
    struct MHD_Daemon *daemon;
    metrics *reg;
    ops_http_ready_fn ready;
    void *arg;
    int port;
};

static enum MHD_Result ops_http__reply(struct MHD_Connection *conn, unsigned status,
                                       const char *ctype, char *body, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(resp, "Content-Type", ctype);
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result ops_http__handle(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version, const char *upload,
                                        size_t *upload_size, void **state)
{
    (void)version, (void)upload, (void)upload_size, (void)state; /* bodies are not read */
    ops_http *h = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        char *b = xstrdup("{\"status\":\"method not allowed\"}");
        return ops_http__reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", b, strlen(b));
    }
    if (!strcmp(url, "/health")) {
        char *b = xstrdup("{\"status\":\"healthy\"}");
        return ops_http__reply(conn, MHD_HTTP_OK, "application/json", b, strlen(b));
    }
    if (!strcmp(url, "/ready")) {
        char reason[256] = "";
        bool ok = h->ready ? h->ready(h->arg, reason, sizeof reason) : true;
        /* reason is produced by our own code, never from input; still keep
         * it JSON-safe by replacing quotes and backslashes. */
        for (char *p = reason; *p; p++)
            if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
                *p = '\'';
        char *b = ok ? xstrdup("{\"status\":\"ready\"}")
                     : xasprintf("{\"status\":\"not_ready\",\"reason\":\"%s\"}", reason);
        return ops_http__reply(conn, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                               "application/json", b, strlen(b));
    }
    if (!strcmp(url, "/metrics")) {
        size_t len;
        char *b = metrics_render(h->reg, &len);
        return ops_http__reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4", b, len);
    }
    char *b = xstrdup("{\"status\":\"not found\"}");
    return ops_http__reply(conn, MHD_HTTP_NOT_FOUND, "application/json", b, strlen(b));
}

void ops_http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_warn("http: %s", msg);
}

ops_http *ops_http_start(int port, metrics *reg, ops_http_ready_fn ready, void *arg, char *errstr,
                         size_t errsz)
{
    ops_http *h = xcalloc(1, sizeof *h);
    h->reg = reg;
    h->ready = ready;
    h->arg = arg;
    h->daemon =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL,
                         NULL, ops_http__handle, h, MHD_OPTION_EXTERNAL_LOGGER, ops_http_mhd_log,
                         NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(errstr, errsz,
                 "cannot serve /health and /metrics on port %d (in use? set "
                 "RUTH_METRICS_PORT, 0 picks a free one)",
                 port);
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    return h;
}

int ops_http_port(const ops_http *h)
{
    return h->port;
}

void ops_http_stop(ops_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
