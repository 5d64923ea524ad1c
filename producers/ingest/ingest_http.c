/* ingest_http.c - the life of one ruth-ingest request:
 *   1. first callback: request id, client address, framing and body size
 *      checks (common/http_server.c, the same code ruth-api runs);
 *   2. body callbacks: accumulate up to RUTH_INGEST_MAX_BODY_BYTES;
 *   3. last callback: route, authenticate, ingest_produce_request(), which
 *      answers at once (refusals) or suspends the connection while Kafka
 *      has the results (ingest_acks.h): no thread waits for the broker;
 *   4. resumed by the delivery reports (or the deadline): queue the answer;
 *   5. completion: access log line, metrics, free.
 * A slow or endless client holds no thread: bodies are read as they come,
 * headers have a deadline, bodies a size limit. */
#include "ingest_http.h"

#include "api_auth.h"
#include "clock.h"
#include "ingest_acks.h"
#include "ingest_produce.h"
#include "ingest_register.h"
#include "log.h"
#include "xmalloc.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void ingest_error(ingest_req *r, unsigned status, const char *code, json_t *details,
                  const char *fmt, ...)
{
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    char ts[40];
    clock_format_iso8601_ms(clock_wall_us(), ts, sizeof ts);
    json_t *b =
        json_pack("{s:s, s:s, s:i, s:o, s:s, s:s}", "error", code, "error_description", desc,
                  "status_code", (int)status, "details", details ? details : json_object(),
                  "request_id", r->request_id, "timestamp", ts);
    char *s = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    r->status = status;
    buf_reset(&r->out);
    if (s)
        buf_append_str(&r->out, s);
    free(s);
}

void ingest_unavailable(ingest_req *r, const char *why, const char *fmt, size_t n)
{
    snprintf(r->retry_after, sizeof r->retry_after, "%d", r->g->cfg->ingest_retry_after_sec);
    ingest_error(r, 503, "SERVICE_UNAVAILABLE",
                 json_pack("{s:s, s:i, s:I}", "reason", why, "retry_after_seconds",
                           r->g->cfg->ingest_retry_after_sec, "items", (json_int_t)n),
                 fmt, n);
}

bool ingest_http_key_matches(const char *presented, const char *key)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)presented, strlen(presented), a);
    SHA256((const unsigned char *)key, strlen(key), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

/* true when the caller may post results; otherwise the 401/403 is made. */
static bool authorised(ingest_req *r)
{
    const ruth_config *cfg = r->g->cfg;
    const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Ingest-Key");
    const char *bearer = auth && !strncasecmp(auth, "Bearer ", 7) ? auth + 7 : NULL;
    bool have_key = cfg->ingest_key && *cfg->ingest_key;
    if (have_key && ((key && ingest_http_key_matches(key, cfg->ingest_key)) ||
                     (bearer && ingest_http_key_matches(bearer, cfg->ingest_key))))
        return true;
    if (key && !bearer) {
        ingest_error(r, 401, "INVALID_TOKEN", NULL, "the ingest key is not valid");
        return false;
    }
    if (!bearer) {
        ingest_error(r, 401, "INVALID_TOKEN", NULL,
                     "a Bearer token with the runtime role (or the ingest key) is required");
        return false;
    }
    if (!cfg->jwt_secret_key || !*cfg->jwt_secret_key) {
        ingest_error(r, 401, "INVALID_TOKEN", NULL, "the ingest key is not valid");
        return false;
    }
    auth_claims who;
    char why[128];
    auth_result ar =
        auth_verify(bearer, cfg->jwt_secret_key, (int64_t)time(NULL), &who, why, sizeof why);
    if (ar != AUTH_OK) {
        ingest_error(r, 401, ar == AUTH_EXPIRED ? "TOKEN_EXPIRED" : "INVALID_TOKEN", NULL, "%s",
                     why);
        return false;
    }
    if (who.role != ROLE_RUNTIME) {
        ingest_error(r, 403, "INSUFFICIENT_PERMISSIONS",
                     json_pack("{s:s, s:s}", "required_role", api_role_name(ROLE_RUNTIME), "role",
                               api_role_name(who.role)),
                     "this endpoint needs the runtime role");
        return false;
    }
    return true;
}

/* The database's state for /health and /ready: a note, never a reason to
 * be unready (inference does not need it; registration answers 503). */
static const char *ops_db_state(ingest *g, char *reason, size_t n)
{
    if (!g->db)
        return "not configured";
    pthread_mutex_lock(&g->reason_mu);
    snprintf(reason, n, "%s", g->db_reason);
    pthread_mutex_unlock(&g->reason_mu);
    return atomic_load(&g->db_ok) ? "up" : "down";
}

static void ops_ready(ingest_req *r, bool health)
{
    ingest *g = r->g;
    bool ok = atomic_load(&g->broker_ok);
    char reason[sizeof g->broker_reason], dbwhy[sizeof g->db_reason] = "";
    pthread_mutex_lock(&g->reason_mu);
    snprintf(reason, sizeof reason, "%s", g->broker_reason);
    pthread_mutex_unlock(&g->reason_mu);
    const char *db = ops_db_state(g, dbwhy, sizeof dbwhy);
    json_t *dbj = json_pack("{s:s}", "status", db);
    if (!strcmp(db, "down"))
        json_object_set_new(dbj, "reason", json_string(dbwhy));
    json_t *b;
    if (health) { /* ruth-api's shape (the contract's); Kafka decides, the database is a note */
        char ts[CLOCK_ISO8601_LEN];
        clock_format_iso8601_ms(clock_wall_us(), ts, sizeof ts);
        const char *dbc = !strcmp(db, "up") ? "healthy" : !strcmp(db, "down") ? "unhealthy" : db;
        b = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s?}", "status",
                      ok ? "healthy" : "unhealthy", "service", "ruth-ingest", "version",
                      RUTH_VERSION, "timestamp", ts, "components", "kafka",
                      ok ? "healthy" : "unhealthy", "database", dbc, "error", ok ? NULL : reason);
        json_decref(dbj);
    } else if (ok)
        b = json_pack("{s:s, s:o}", "status", "ready", "database", dbj);
    else
        b = json_pack("{s:s, s:s, s:o}", "status", "not ready", "reason", reason, "database", dbj);
    char *s = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    r->status = ok ? 200 : 503;
    buf_set(&r->out, s, strlen(s));
    free(s);
}

static void route(ingest_req *r, const char *url)
{
    bool get = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD");
    bool post = !strcmp(r->method, "POST");
    const char *allow = NULL;
    if (!strcmp(url, "/v1/inference")) {
        if (post) {
            if (r->upload.too_large) {
                ingest_error(r, 413, "PAYLOAD_TOO_LARGE",
                             json_pack("{s:i}", "max_body_bytes", r->g->cfg->ingest_max_body_bytes),
                             "request body is larger than %d bytes",
                             r->g->cfg->ingest_max_body_bytes);
            } else if (authorised(r)) {
                const char *ct =
                    MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
                ingest_produce_request(r, ct);
            }
            return;
        }
        allow = "POST";
    } else if (!strcmp(url, "/v1/runtimes/register")) {
        if (post) {
            if (authorised(r))
                ingest_register_request(r);
            return;
        }
        allow = "POST";
    } else if (!strcmp(url, "/health") || !strcmp(url, "/ready")) {
        if (get) {
            ops_ready(r, !strcmp(url, "/health"));
            return;
        }
        allow = "GET, HEAD";
    } else if (!strcmp(url, "/metrics")) {
        if (get) {
            size_t len;
            char *s = metrics_render(r->g->reg, &len);
            r->status = 200;
            buf_set(&r->out, s, len);
            free(s);
            r->content_type = "text/plain; version=0.0.4";
            return;
        }
        allow = "GET, HEAD";
    }
    if (allow) {
        snprintf(r->allow, sizeof r->allow, "%s", allow);
        ingest_error(r, 405, "METHOD_NOT_ALLOWED", json_pack("{s:s}", "allow", allow),
                     "%s is not allowed here", r->method);
        return;
    }
    ingest_error(r, 404, "NOT_FOUND", NULL, "no such endpoint");
}

static enum MHD_Result queue(ingest_req *r)
{
    size_t len = r->out.len;
    unsigned char *data = r->out.data;
    r->out.data = NULL;
    r->out.len = r->out.cap = 0;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, data ? data : (unsigned char *)"",
                                        data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type",
                            r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, "X-Request-ID", r->request_id);
    if (r->close)
        MHD_add_response_header(resp, "Connection", "close");
    if (r->retry_after[0])
        MHD_add_response_header(resp, "Retry-After", r->retry_after);
    if (r->allow[0])
        MHD_add_response_header(resp, "Allow", r->allow);
    enum MHD_Result ok = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    ingest *g = cls;
    ingest_req *r = *con_cls;
    long long max = strcmp(url, "/v1/runtimes/register") ? g->cfg->ingest_max_body_bytes
                                                         : INGEST_REGISTER_MAX_BYTES;
    if (!r) {
        r = xcalloc(1, sizeof *r);
        r->g = g;
        r->conn = conn;
        r->method = method;
        r->url = url;
        r->started = clock_mono_s();
        http_conn_headers_done(g->conns, conn);
        http_server_request_id(conn, r->request_id, sizeof r->request_id);
        http_server_client_addr(conn, r->client, sizeof r->client);
        metric_add(g->m_inflight, 1);
        atomic_fetch_add(&g->active, 1);
        *con_cls = r;
        http_framing_problem p;
        if (http_server_framing_refused(conn, &p)) {
            *upload_size = 0;
            r->upload.answered = r->close = true;
            ingest_error(r, p.status, p.code, json_pack("{s:s}", p.field, p.problem), "%s",
                         p.message);
            return queue(r);
        }
        http_upload_begin(&r->upload, conn, max);
        if (!r->upload.too_large) {
            /* The announced body in one allocation, not grown by copying
             * as it arrives (within the limit just checked). */
            const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
            long long n = cl ? strtoll(cl, NULL, 10) : 0;
            if (n > 0)
                buf_reserve(&r->body, (size_t)n + 1);
            return MHD_YES;
        }
    }
    if (r->suspended) { /* resumed: the delivery reports (or the deadline) answered */
        *upload_size = 0;
        return atomic_load(&r->answered) ? queue(r) : MHD_YES;
    }
    switch (http_upload_step(&r->upload, &r->body, upload, upload_size, max, r->request_id)) {
    case HTTP_UPLOAD_MORE:
        return MHD_YES;
    case HTTP_UPLOAD_ABORT:
        return MHD_NO;
    case HTTP_UPLOAD_REFUSE:
        r->close = true;
        break;
    case HTTP_UPLOAD_COMPLETE:
        break;
    }
    route(r, url);
    return r->suspended ? MHD_YES : queue(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    ingest *g = cls;
    ingest_req *r = *con_cls;
    if (!r)
        return;
    ingest_acks_detach(r);
    http_conn_request_done(g->conns, conn);
    double ms = (clock_mono_s() - r->started) * 1000.0;
    metric_add(g->m_inflight, -1);
    atomic_fetch_sub(&g->active, 1);
    if (r->status) {
        char labels[32];
        snprintf(labels, sizeof labels, "status=\"%u\"", r->status);
        metric_inc(metrics_counter(g->reg, "ruth_ingest_requests_total",
                                   "HTTP requests answered, by status.", labels));
    }
    http_server_access_log(r->request_id, r->method, r->url, r->status, ms);
    buf_free(&r->body);
    buf_free(&r->out);
    free(r);
    *con_cls = NULL;
}

bool ingest_http_start(ingest *g, int port, int threads, char *err, size_t errsz)
{
    const ruth_config *cfg = g->cfg;
    g->m_inflight =
        metrics_gauge(g->reg, "ruth_ingest_requests_in_flight", "Requests being handled.", NULL);
    metric *timeouts =
        metrics_counter(g->reg, "ruth_ingest_header_timeouts_total",
                        "Connections closed because their request headers were not complete "
                        "within RUTH_INGEST_HEADER_TIMEOUT_SEC.",
                        NULL);
    http_server_limits lim = {cfg->ingest_max_connections, cfg->ingest_max_connections_per_ip,
                              cfg->ingest_idle_timeout_sec, cfg->ingest_header_timeout_sec};
    http_server_callbacks cb = {on_request, on_completed, NULL, g};
    g->daemon = http_server_start(port, threads, &lim, timeouts, &cb, &g->conns, err, errsz);
    return g->daemon != NULL;
}

int ingest_http_port(const ingest *g)
{
    return http_server_port(g->daemon);
}

void ingest_http_stop(ingest *g)
{
    http_server_stop(g->daemon, g->conns);
    g->daemon = NULL;
    g->conns = NULL;
}
