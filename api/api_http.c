/* api_http.c - the life of one request.
 *
 *   1. first callback: request id, client address, body size check
 *   2. body callbacks: accumulate up to RUTH_API_MAX_BODY_BYTES
 *   3. last callback: CORS preflight, rate limit, route, authenticate,
 *      authorise, run the handler, queue the response
 *   4. completion: access log line, metrics, free
 * Every response carries X-Request-ID; every error is the contract's body. */
#include "api.h"
#include "ops_http.h"

#include "embedded.h"
#include "log.h"
#include "pg.h"
#include "outbox.h"
#include "xmalloc.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

double api_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- responses ---- */

void api_json_text(api_req *r, unsigned status, const char *json, size_t len)
{
    r->status = status;
    buf_set(&r->out, json, len);
}

void api_json_row(api_req *r, unsigned status, const PGresult *res)
{
    api_json_text(r, status, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}

void api_json_steal(api_req *r, unsigned status, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!s) {
        /* Only reachable through a bug (a NULL or unencodable body): never crash on it. */
        static const char fallback[] = "{\"error\":\"INTERNAL_ERROR\",\"error_description\":"
                                       "\"the response could not be encoded\",\"status_code\":500,"
                                       "\"details\":{}}";
        log_error("response body could not be encoded (request %s)", r->request_id);
        api_json_text(r, 500, fallback, sizeof fallback - 1);
        return;
    }
    api_json_text(r, status, s, strlen(s));
    free(s);
}

/* Cut `s` back to the last complete UTF-8 character (after truncation). */
static void utf8_trim(char *s)
{
    size_t n = strlen(s);
    while (n && !api_is_utf8(s, n))
        s[--n] = '\0';
}

void api_no_content(api_req *r)
{
    r->status = 204;
    buf_reset(&r->out);
}

static void iso_now(char *out, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char s[32];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%.20s.%03dZ", s, (int)(ts.tv_nsec / 1000000 % 1000));
}

void api_error(api_req *r, unsigned status, const char *code, json_t *details, const char *fmt,
               ...)
{
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    utf8_trim(desc);
    char ts[40];
    iso_now(ts, sizeof ts);
    json_t *b = json_pack("{s:s, s:s, s:i, s:o, s:s, s:s}", "error", code, "error_description",
                          desc, "status_code", (int)status, "details",
                          details ? details : json_object(), "request_id", r->request_id,
                          "timestamp", ts);
    api_json_steal(r, status, b);
}

void api_db_error(api_req *r, const char *what, const char *err)
{
    log_ctx ctx = LOG_CTX_INIT;
    ctx.request_id = r->request_id;
    log_at(LOG_ERROR, &ctx, "%s: %s", what, err);
    metric_inc(r->a->m_db_errors);
    /* The database's own message stays in the log: it can name tables and
     * values the caller has no business seeing. */
    api_error(r, 500, "DATABASE_ERROR", NULL, "the database could not complete the request");
}

PGconn *api_db(api_req *r, bool read_only)
{
    if (r->db)
        return r->db;
    char err[512];
    api_pool *p = read_only ? r->a->read_pool : r->a->pool;
    r->db = api_pool_get(p, 2000, err, sizeof err);
    r->db_pool = p;
    if (!r->db) {
        log_ctx ctx = LOG_CTX_INIT;
        ctx.request_id = r->request_id;
        log_at(LOG_WARN, &ctx, "no database connection: %s", err);
        metric_inc(r->a->m_db_errors);
        snprintf(r->retry_after, sizeof r->retry_after, "1");
        api_error(r, 503, "DATABASE_ERROR", NULL, "the database is unavailable; retry shortly");
    }
    return r->db;
}

PGresult *api_query(api_req *r, bool read_only, const char *sql, int nparams,
                    const char *const *params)
{
    PGconn *db = api_db(r, read_only);
    if (!db)
        return NULL;
    char err[1024];
    PGresult *res = api_pool_exec(r->db_pool, db, sql, nparams, params, err, sizeof err);
    if (!res)
        api_db_error(r, "query failed", err);
    return res;
}

void api_outbox_relay(api_req *r, const char *ids)
{
    const char *p[1] = {ids};
    /* A request waits a second at most: a slow broker must not hold the
     * client or the connection; what is not acknowledged by then stays for
     * the background sweep. */
    if (r->db && outbox_relay(r->db, r->a->producer, 1000, "id = ANY($1::bigint[])", 1, p) < 0) {
        log_ctx ctx = LOG_CTX_INIT;
        ctx.request_id = r->request_id;
        log_at(LOG_WARN, &ctx, "outbox relay failed; the background sweep will publish later");
    }
}

/* ---- rate limiting: a token bucket per client address ---- */

#define RL_SLOTS 4096

typedef struct rl_slot {
    char client[64];
    double tokens;
    double at;
} rl_slot;

struct api_ratelimit {
    int rps;
    pthread_mutex_t mu;
    rl_slot slots[RL_SLOTS];
};

api_ratelimit *api_ratelimit_new(int rps)
{
    api_ratelimit *rl = xcalloc(1, sizeof *rl);
    rl->rps = rps;
    pthread_mutex_init(&rl->mu, NULL);
    return rl;
}

void api_ratelimit_free(api_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

bool api_ratelimit_take(api_ratelimit *rl, const char *client, double now, int *retry_after_sec)
{
    if (!rl || rl->rps <= 0)
        return true;
    uint32_t h = 2166136261u;
    for (const char *p = client; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    double burst = rl->rps * 2.0;
    pthread_mutex_lock(&rl->mu);
    /* A client sharing a slot with another evicts it: the evicted one starts
     * with a full bucket, which only errs towards letting requests in. */
    rl_slot *s = &rl->slots[h % RL_SLOTS];
    if (strcmp(s->client, client)) {
        snprintf(s->client, sizeof s->client, "%s", client);
        s->tokens = burst;
        s->at = now;
    }
    s->tokens += (now - s->at) * rl->rps;
    if (s->tokens > burst)
        s->tokens = burst;
    s->at = now;
    bool ok = s->tokens >= 1.0;
    if (ok)
        s->tokens -= 1.0;
    else
        *retry_after_sec = (int)((1.0 - s->tokens) / rl->rps) + 1;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}

/* ---- microcache ----
 * Dashboards poll the same few lists and summaries; identical GETs within
 * RUTH_API_CACHE_MS share one answer instead of each running the same
 * queries. Keyed by path and query string (never by caller: every cached
 * route answers the same to every role allowed to call it, and the cache is
 * consulted only after authentication). Any write this process performs
 * clears it; other replicas' writes show up within the TTL. */

#define MICROCACHE_SLOTS 128
#define MICROCACHE_MAX_BODY (256 * 1024)
#define MICROCACHE_REFRESH_SEC 5.0 /* longest a stale answer is served while refreshing */

typedef struct mc_entry {
    uint64_t hash;
    char *key;
    double at;
    char *body;
    size_t len;
    char etag[32];
    double refresh_at; /* > 0 while a request recomputes it */
} mc_entry;

static pthread_mutex_t mc_mu = PTHREAD_MUTEX_INITIALIZER;
static mc_entry mc[MICROCACHE_SLOTS];

static enum MHD_Result mc__arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind; /* query arguments only */
    buf *b = cls;
    buf_printf(b, "%s=%s&", k, v ? v : "");
    return MHD_YES;
}

static void mc__key(api_req *r, buf *key)
{
    buf_append_str(key, r->url);
    buf_append_byte(key, '?');
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, mc__arg, key);
    buf_append_byte(key, 0);
}

static uint64_t mc__hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool mc_get(api_req *r, const char *key, uint64_t h)
{
    bool hit = false;
    double now = api_now(), ttl = r->a->cfg->api_cache_ms / 1000.0;
    pthread_mutex_lock(&mc_mu);
    mc_entry *e = &mc[h % MICROCACHE_SLOTS];
    if (e->key && e->hash == h && !strcmp(e->key, key)) {
        double age = now - e->at;
        /* Fresh; or stale while one request refreshes it (no stampede of
         * identical slow queries when an entry expires under load). */
        bool refreshing = e->refresh_at > 0 && now - e->refresh_at < MICROCACHE_REFRESH_SEC;
        if (age < ttl || (refreshing && age < ttl + MICROCACHE_REFRESH_SEC)) {
            api_json_text(r, 200, e->body, e->len);
            memcpy(r->etag, e->etag, sizeof r->etag);
            hit = true;
        } else {
            e->refresh_at = now; /* this request refreshes it */
        }
    }
    pthread_mutex_unlock(&mc_mu);
    return hit;
}

static void mc_put(api_req *r, char *key, uint64_t h)
{
    pthread_mutex_lock(&mc_mu);
    mc_entry *e = &mc[h % MICROCACHE_SLOTS];
    free(e->key);
    free(e->body);
    e->key = key; /* the cache takes the key */
    e->hash = h;
    e->at = api_now();
    e->body = xmalloc(r->out.len);
    memcpy(e->body, r->out.data, r->out.len);
    e->len = r->out.len;
    memcpy(e->etag, r->etag, sizeof e->etag);
    e->refresh_at = 0;
    pthread_mutex_unlock(&mc_mu);
}

static void mc_clear(void)
{
    pthread_mutex_lock(&mc_mu);
    for (int i = 0; i < MICROCACHE_SLOTS; i++) {
        free(mc[i].key);
        free(mc[i].body);
        mc[i].key = mc[i].body = NULL;
    }
    pthread_mutex_unlock(&mc_mu);
}

/* Run a GET handler through the microcache. */
static void run_cached(api_req *r, void (*fn)(api_req *))
{
    if (r->a->cfg->api_cache_ms <= 0) {
        fn(r);
        return;
    }
    buf key = {0};
    mc__key(r, &key);
    uint64_t h = mc__hash((const char *)key.data);
    if (mc_get(r, (const char *)key.data, h)) {
        buf_free(&key);
        return;
    }
    fn(r);
    if (r->status == 200 && r->out.len <= MICROCACHE_MAX_BODY)
        mc_put(r, (char *)key.data, h);
    else
        buf_free(&key);
}

/* ---- routing ---- */

typedef void (*api_handler)(api_req *r);

typedef struct route {
    const char *method;
    const char *pattern; /* segments below /api/v1; ":x" matches any one */
    api_role role;       /* ROLE_NONE = public */
    api_handler fn;
    const char *name;    /* metrics label */
    bool cache;          /* a GET whose answer the microcache may share */
    metric *count[6];    /* requests by status class 1xx..5xx */
} route;

static void h_health(api_req *r);
static void h_ready(api_req *r);
static void h_metrics(api_req *r);
static void h_openapi(api_req *r);

/* clang-format off */
static route routes[] = {
    {"GET",    "health",                      ROLE_NONE,     h_health,            "health", false, {0}},
    {"GET",    "ready",                       ROLE_NONE,     h_ready,             "ready", false, {0}},
    {"GET",    "metrics",                     ROLE_NONE,     h_metrics,           "metrics", false, {0}},
    {"GET",    "openapi.json",                ROLE_VIEWER,   h_openapi,           "openapi", false, {0}},
    {"GET",    "violations",                  ROLE_VIEWER,   h_violations_list,   "violations_list", true, {0}},
    {"GET",    "violations/stream",           ROLE_VIEWER,   h_violations_stream, "violations_stream", false, {0}},
    {"GET",    "violations/:id",              ROLE_VIEWER,   h_violation_get,     "violation_get", true, {0}},
    {"PATCH",  "violations/:id",              ROLE_OPERATOR, h_violation_patch,   "violation_patch", false, {0}},
    {"GET",    "events",                      ROLE_VIEWER,   h_events_list,       "events_list", true, {0}},
    {"GET",    "events/:id",                  ROLE_VIEWER,   h_event_get,         "event_get", true, {0}},
    {"GET",    "analytics/summary",           ROLE_VIEWER,   h_analytics_summary, "analytics_summary", true, {0}},
    {"GET",    "analytics/cameras/:id",       ROLE_VIEWER,   h_analytics_camera,  "analytics_camera", true, {0}},
    {"GET",    "devices",                     ROLE_VIEWER,   h_devices_list,      "devices_list", true, {0}},
    {"GET",    "devices/:id",                 ROLE_VIEWER,   h_device_get,        "device_get", true, {0}},
    {"POST",   "devices/:id/start-inference", ROLE_ADMIN,    h_device_start,      "device_start", false, {0}},
    {"POST",   "devices/:id/stop-inference",  ROLE_ADMIN,    h_device_stop,       "device_stop", false, {0}},
    {"GET",    "models/status",               ROLE_VIEWER,   h_models_status,     "models_status", true, {0}},
    {"POST",   "internal/runtime/register",   ROLE_ADMIN,    h_runtime_register,  "runtime_register", false, {0}},
    {"GET",    "rules",                       ROLE_VIEWER,   h_rules_list,        "rules_list", true, {0}},
    {"POST",   "rules",                       ROLE_ADMIN,    h_rule_create,       "rule_create", false, {0}},
    {"GET",    "rules/:id",                   ROLE_VIEWER,   h_rule_get,          "rule_get", true, {0}},
    {"PATCH",  "rules/:id",                   ROLE_ADMIN,    h_rule_patch,        "rule_patch", false, {0}},
    {"DELETE", "rules/:id",                   ROLE_ADMIN,    h_rule_delete,       "rule_delete", false, {0}},
    {"GET",    "event-type-map",              ROLE_VIEWER,   h_typemap_list,      "typemap_list", true, {0}},
    {"PUT",    "event-type-map/:label",       ROLE_ADMIN,    h_typemap_put,       "typemap_put", false, {0}},
    {"DELETE", "event-type-map/:label",       ROLE_ADMIN,    h_typemap_delete,    "typemap_delete", false, {0}},
};
/* clang-format on */
#define NROUTES (sizeof routes / sizeof routes[0])

static bool route_match(const route *rt, api_req *r)
{
    const char *p = rt->pattern;
    int i = 0;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t k = slash ? (size_t)(slash - p) : strlen(p);
        if (i >= r->nseg)
            return false;
        if (p[0] != ':' && (strlen(r->seg[i]) != k || strncmp(p, r->seg[i], k)))
            return false;
        i++;
        p += k + (slash ? 1 : 0);
    }
    return i == r->nseg;
}

/* Split `url` into r->seg (pointing into r->path, which lives as long as
 * the request): "/api/v1/x/y", or "/x" for the operational endpoints and
 * /openapi.json, which are served at the root too. false when the path is
 * not under a known prefix or has too many segments. */
static bool split_path(api_req *r, const char *url)
{
    static const char *const root_ok[] = {"health", "ready", "metrics", "openapi.json"};
    const char *p = url;
    bool v1 = true;
    if (!strncmp(p, "/api/v1/", 8))
        p += 8;
    else if (!strcmp(p, "/api/v1"))
        p += 7;
    else if (*p == '/')
        p += 1, v1 = false;
    else
        return false;
    if (!v1) {
        bool ok = false;
        for (size_t i = 0; i < sizeof root_ok / sizeof root_ok[0]; i++)
            ok = ok || !strcmp(p, root_ok[i]);
        if (!ok)
            return false;
    }
    free(r->path);
    r->path = xstrdup(p);
    r->nseg = 0;
    for (char *s = r->path; *s;) {
        if (r->nseg == API_MAX_SEGMENTS)
            return false;
        r->seg[r->nseg++] = s;
        char *slash = strchr(s, '/');
        if (!slash)
            break;
        *slash = '\0';
        s = slash + 1;
        if (!*s)
            break; /* trailing slash */
    }
    for (int i = 0; i < r->nseg; i++)
        if (!*r->seg[i] || !api_is_utf8(r->seg[i], strlen(r->seg[i])))
            return false;
    return true;
}

static void authenticate(api_req *r, const route *rt)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) {
        api_error(r, 401, "INVALID_TOKEN", NULL, "a Bearer token is required");
        return;
    }
    char why[128];
    auth_result ar = auth_verify(h + 7, r->a->cfg->jwt_secret_key, (int64_t)time(NULL), &r->who,
                                 why, sizeof why);
    if (ar == AUTH_EXPIRED) {
        api_error(r, 401, "TOKEN_EXPIRED", NULL, "%s", why);
        return;
    }
    if (ar != AUTH_OK) {
        api_error(r, 401, "INVALID_TOKEN", NULL, "%s", why);
        return;
    }
    api_role need = rt->role;
    if (r->who.role < need) {
        api_error(r, 403, "INSUFFICIENT_PERMISSIONS",
                  json_pack("{s:s, s:s}", "required_role", api_role_name(need), "role",
                            api_role_name(r->who.role)),
                  "this operation needs the %s role", api_role_name(need));
        return;
    }
    if (rt->cache) {
        run_cached(r, rt->fn);
        return;
    }
    rt->fn(r);
    if (strcmp(r->method, "GET") && r->status < 300)
        mc_clear(); /* this process changed something: no stale answers from here */
}

static route *dispatch(api_req *r, const char *url)
{
    if (strlen(url) > 4096 || !split_path(r, url)) {
        api_error(r, 404, "NOT_FOUND", NULL, "no such resource");
        return NULL;
    }
    bool path_known = false;
    r->allow[0] = '\0';
    for (size_t i = 0; i < NROUTES; i++) {
        if (!route_match(&routes[i], r))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, r->method)) {
            size_t n = strlen(r->allow);
            snprintf(r->allow + n, sizeof r->allow - n, "%s%s", n ? ", " : "", routes[i].method);
            continue;
        }
        if (routes[i].role == ROLE_NONE)
            routes[i].fn(r);
        else
            authenticate(r, &routes[i]);
        return &routes[i];
    }
    if (path_known)
        api_error(r, 405, "METHOD_NOT_ALLOWED", NULL, "%s is not allowed here", r->method);
    else
        api_error(r, 404, "NOT_FOUND", NULL, "no such resource");
    return NULL;
}

/* ---- operational endpoints ---- */

extern const struct embedded_file api_openapi_files[];

static void h_openapi(api_req *r)
{
    api_json_text(r, 200, api_openapi_files[0].data, api_openapi_files[0].len);
}

static void h_metrics(api_req *r)
{
    size_t len;
    char *s = metrics_render(r->a->reg, &len);
    r->status = 200;
    buf_set(&r->out, s, len);
    free(s);
    r->text_plain = true;
}

/* What /health and /ready report, each dependency probed at most once a
 * second whatever the request rate: both endpoints are public, and a flood
 * of them must not turn into a flood of database pings and broker metadata
 * requests (a second each while Kafka is down). Concurrent callers wait for
 * the one probing; /ready never waits on Kafka. */
typedef struct probe_cache {
    pthread_mutex_t mu;
    double at; /* < 0: never probed */
    bool up;
} probe_cache;

static bool probe_db(api *a)
{
    char err[256];
    return api_pool_ping(a->pool, err, sizeof err);
}

static bool probe_kafka(api *a)
{
    const struct rd_kafka_metadata *md = NULL;
    bool up = rd_kafka_metadata(a->producer, 0, NULL, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (md)
        rd_kafka_metadata_destroy(md);
    return up;
}

static bool probe(probe_cache *c, bool (*fn)(api *), api *a)
{
    pthread_mutex_lock(&c->mu);
    if (c->at < 0 || api_now() - c->at >= 1.0) {
        c->up = fn(a);
        c->at = api_now();
    }
    bool up = c->up;
    pthread_mutex_unlock(&c->mu);
    return up;
}

static probe_cache db_probe = {PTHREAD_MUTEX_INITIALIZER, -1, false};
static probe_cache kafka_probe = {PTHREAD_MUTEX_INITIALIZER, -1, false};

static void h_ready(api_req *r)
{
    if (!probe(&db_probe, probe_db, r->a)) {
        api_error(r, 503, "DATABASE_ERROR", NULL, "not ready: database unavailable");
        return;
    }
    api_json_steal(r, 200, json_pack("{s:s}", "status", "ready"));
}

static void h_health(api_req *r)
{
    bool db = probe(&db_probe, probe_db, r->a), kafka = probe(&kafka_probe, probe_kafka, r->a);
    const char *vas = r->a->cfg->vas_base_url && *r->a->cfg->vas_base_url ? "configured"
                                                                           : "not_configured";
    json_t *b = json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}}}", "status",
                          db && kafka ? "healthy" : "degraded", "components", "database",
                          "status", db ? "up" : "down", "kafka", "status", kafka ? "up" : "down",
                          "vas", "status", vas);
    api_json_steal(r, 200, b);
}

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
        resp = MHD_create_response_from_buffer(len, data ? data : (unsigned char *)"",
                                               data ? MHD_RESPMEM_MUST_FREE
                                                    : MHD_RESPMEM_PERSISTENT);
        if (r->status != 204)
            MHD_add_response_header(resp, "Content-Type",
                                    r->text_plain ? "text/plain; version=0.0.4"
                                                  : "application/json");
    }
    MHD_add_response_header(resp, "X-Request-ID", r->request_id);
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

static void handle(api_req *r, const char *url)
{
    api *a = r->a;
    if (!strcmp(r->method, "OPTIONS")) {
        api_no_content(r);
        return;
    }
    int retry = 0;
    if (!api_ratelimit_take(a->rl, r->client, api_now(), &retry)) {
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
    route *rt = dispatch(r, url);
    if (rt) {
        unsigned cls = r->status / 100;
        if (cls >= 1 && cls <= 5)
            metric_inc(rt->count[cls]);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    api *a = cls;
    api_req *r = *con_cls;
    if (!r) {
        r = xcalloc(1, sizeof *r);
        r->a = a;
        r->conn = conn;
        r->method = method;
        r->url = url;
        r->started = api_now();
        request_id(r);
        client_addr(r);
        metric_add(a->m_requests_inflight, 1);
        *con_cls = r;
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
    (void)conn;
    api *a = cls;
    api_req *r = *con_cls;
    if (!r)
        return;
    double ms = (api_now() - r->started) * 1000.0;
    metric_add(a->m_requests_inflight, -1);
    metric_observe(a->m_latency, ms / 1000.0);
    log_level lvl = r->status >= 500 ? LOG_WARN : LOG_INFO;
    if (log_enabled(lvl)) {
        char extra[256];
        snprintf(extra, sizeof extra, "\"method\":\"%s\",\"status\":%u,\"duration_ms\":%.2f",
                 r->method, r->status, ms);
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
    a->m_requests_inflight = metrics_gauge(a->reg, "ruth_api_requests_in_flight",
                                           "Requests being handled.", NULL);
    a->m_db_errors = metrics_counter(a->reg, "ruth_api_database_errors_total",
                                     "Requests that failed on the database.", NULL);
    a->m_rate_limited = metrics_counter(a->reg, "ruth_api_rate_limited_total",
                                        "Requests refused with 429.", NULL);
    a->m_latency = metrics_histogram(a->reg, "ruth_api_request_seconds",
                                     "Request handling time.", NULL, bounds,
                                     sizeof bounds / sizeof bounds[0]);
    for (size_t i = 0; i < NROUTES; i++)
        for (int c = 1; c <= 5; c++) {
            char labels[128];
            snprintf(labels, sizeof labels, "route=\"%s\",status=\"%dxx\"", routes[i].name, c);
            routes[i].count[c] = metrics_counter(a->reg, "ruth_api_requests_total",
                                                 "Requests answered, by route and status class.",
                                                 labels);
        }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, a, MHD_OPTION_EXTERNAL_LOGGER, ops_http_mhd_log,
        NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, a, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned)a->cfg->api_max_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d)
        snprintf(err, errsz, "cannot listen on port %d (in use?)", port);
    return d;
}

int api_http_port(struct MHD_Daemon *d)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return di ? di->port : -1;
}
