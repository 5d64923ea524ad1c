/* api_routes.c - routing: the table of every endpoint, path matching,
 * authentication and authorisation, and the microcache in front of the
 * cacheable GETs. */
#include "api_routes.h"
#include "clock.h"

#include "api_auth.h"
#include "api_handlers.h"
#include "api_microcache.h"
#include "api_ops.h"
#include "api_params.h"
#include "api_response.h"
#include "api_util.h"
#include "xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef void (*api_handler)(api_req *r);

typedef struct route {
    const char *method;
    const char *pattern; /* segments below /api/v1; ":x" matches any one */
    /* Who may call it (api_roles; 0 = public, no token). Runtime tokens
     * are admitted only where a route names R_RUNTIME: nothing reads or
     * changes data with them. */
    api_roles roles;
    api_handler fn;
    const char *name; /* metrics label */
    bool cache;       /* a GET whose answer the microcache may share */
    /* The query parameters it takes, "a|b|c" ("" none): any other is
     * answered 400 before the handler runs, never silently ignored. Keep
     * in step with the handler and api/openapi.json. */
    const char *params;
} route;

#define R_PUBLIC 0u
#define R_VIEWER API_ROLES_FROM_VIEWER
#define R_OPERATOR API_ROLES_FROM_OPERATOR
#define R_ADMIN API_ROLES_ADMIN
#define R_RUNTIME API_ROLE_BIT(ROLE_RUNTIME)

#define P_PAGE "limit|offset|cursor"
#define P_VIOLATIONS "status|type|camera_id|zone|from|to|confidence_min|sort_by|sort_order|" P_PAGE
#define P_EVENTS "event_type|camera_id|zone|violation_id|from|to|confidence_min|sort_order|" P_PAGE
#define P_DEVICES "is_active|active|inference_active|discovered|" P_PAGE

/* clang-format off */
static const route routes[] = {
    {"GET",    "health",                      R_PUBLIC,      api_ops_health,      "health", false, ""},
    {"GET",    "ready",                       R_PUBLIC,      api_ops_ready,       "ready", false, ""},
    {"GET",    "metrics",                     R_PUBLIC,      api_ops_metrics,     "metrics", false, ""},
    {"GET",    "openapi.json",                R_VIEWER,      api_ops_openapi,     "openapi", false, ""},
    {"GET",    "violations",                  R_VIEWER,      h_violations_list,   "violations_list", true, P_VIOLATIONS},
    {"GET",    "violations/stream",           R_VIEWER,      h_violations_stream, "violations_stream", false, "last_event_id"},
    {"GET",    "violations/:id",              R_VIEWER,      h_violation_get,     "violation_get", true, ""},
    {"PATCH",  "violations/:id",              R_OPERATOR,    h_violation_patch,   "violation_patch", false, ""},
    {"GET",    "violations/:id/snapshot",     R_VIEWER,      h_violation_snapshot, "violation_snapshot", false, ""},
    {"GET",    "violations/:id/video",        R_VIEWER,      h_violation_video,   "violation_video", false, ""},
    {"POST",   "violations/:id/evidence",     R_OPERATOR,    h_violation_evidence_request, "violation_evidence", false, ""},
    {"GET",    "events",                      R_VIEWER,      h_events_list,       "events_list", true, P_EVENTS},
    {"GET",    "events/:id",                  R_VIEWER,      h_event_get,         "event_get", true, ""},
    {"GET",    "analytics/summary",           R_VIEWER,      h_analytics_summary, "analytics_summary", true, "from|to|camera_id|granularity"},
    {"GET",    "analytics/cameras/:id",       R_VIEWER,      h_analytics_camera,  "analytics_camera", true, "from|to|granularity"},
    {"GET",    "devices",                     R_VIEWER,      h_devices_list,      "devices_list", true, P_DEVICES},
    {"GET",    "devices/:id",                 R_VIEWER,      h_device_get,        "device_get", true, ""},
    {"PATCH",  "devices/:id",                 R_ADMIN,       h_device_patch,      "device_patch", false, ""},
    {"GET",    "devices/:id/zones",           R_VIEWER,      h_zones_list,        "zones_list", true, ""},
    {"PUT",    "devices/:id/zones/:name",     R_ADMIN,       h_zone_put,          "zone_put", false, ""},
    {"DELETE", "devices/:id/zones/:name",     R_ADMIN,       h_zone_delete,       "zone_delete", false, ""},
    {"POST",   "devices/:id/start-inference", R_OPERATOR,    h_device_start,      "device_start", false, ""},
    {"POST",   "devices/:id/stop-inference",  R_OPERATOR,    h_device_stop,       "device_stop", false, ""},
    {"GET",    "models/status",               R_VIEWER,      h_models_status,     "models_status", true, ""},
    {"POST",   "internal/runtime/register",   R_ADMIN | R_RUNTIME, h_runtime_register, "runtime_register", false, ""},
    {"POST",   "internal/register",           R_ADMIN | R_RUNTIME, h_runtime_register, "runtime_register", false, ""},
    {"GET",    "rules",                       R_VIEWER,      h_rules_list,        "rules_list", true, "event_type|camera_id|" P_PAGE},
    {"POST",   "rules",                       R_ADMIN,       h_rule_create,       "rule_create", false, ""},
    {"GET",    "rules/:id",                   R_VIEWER,      h_rule_get,          "rule_get", true, ""},
    {"PATCH",  "rules/:id",                   R_ADMIN,       h_rule_patch,        "rule_patch", false, ""},
    {"DELETE", "rules/:id",                   R_ADMIN,       h_rule_delete,       "rule_delete", false, ""},
    {"GET",    "event-type-map",              R_VIEWER,      h_typemap_list,      "typemap_list", true, P_PAGE},
    {"PUT",    "event-type-map/:label",       R_ADMIN,       h_typemap_put,       "typemap_put", false, ""},
    {"DELETE", "event-type-map/:label",       R_ADMIN,       h_typemap_delete,    "typemap_delete", false, ""},
};
/* clang-format on */
#define NROUTES (sizeof routes / sizeof routes[0])

struct api_routes {
    metric *count[NROUTES][6];    /* requests by route and status class 1xx..5xx */
    metric *latency[NROUTES + 1]; /* by route; the last for requests no route served */
};

api_routes *api_routes_new(metrics *reg)
{
    api_routes *rts = xcalloc(1, sizeof *rts);
    for (size_t i = 0; i < NROUTES; i++)
        for (int c = 1; c <= 5; c++) {
            char labels[128];
            snprintf(labels, sizeof labels, "route=\"%s\",status=\"%dxx\"", routes[i].name, c);
            rts->count[i][c] =
                metrics_counter(reg, "ruth_api_requests_total",
                                "Requests answered, by route and status class.", labels);
        }
    static const double bounds[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                    0.05,   0.1,   0.25,  0.5,   1,    2.5};
    for (size_t i = 0; i <= NROUTES; i++) {
        char labels[96];
        snprintf(labels, sizeof labels, "route=\"%s\"", i < NROUTES ? routes[i].name : "none");
        rts->latency[i] =
            metrics_histogram(reg, "ruth_api_request_seconds", "Request handling time, by route.",
                              labels, bounds, sizeof bounds / sizeof bounds[0]);
    }
    return rts;
}

void api_routes_observe(api_routes *rts, const api_req *r, double seconds)
{
    if (!rts || r->sse)
        return;
    size_t i = r->route >= 0 && (size_t)r->route < NROUTES ? (size_t)r->route : NROUTES;
    metric_observe(rts->latency[i], seconds);
}

void api_routes_free(api_routes *rts)
{
    free(rts); /* the counters belong to the registry */
}

/* ---- the microcache in front of cacheable GETs ---- */

typedef struct cache_params {
    api_microcache_param *v;
    size_t n, cap;
} cache_params;

static enum MHD_Result cache_key_arg(void *cls, enum MHD_ValueKind kind, const char *k,
                                     const char *v)
{
    (void)kind; /* query arguments only */
    cache_params *ps = cls;
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 8;
        ps->v = xrealloc(ps->v, ps->cap * sizeof *ps->v);
    }
    ps->v[ps->n++] = (api_microcache_param){k, v};
    return MHD_YES;
}

/* Path and query string: never the caller (see api_microcache.h). */
static void cache_key(api_req *r, buf *key)
{
    cache_params ps = {0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, cache_key_arg, &ps);
    api_microcache_key(r->url, ps.v, ps.n, key);
    free(ps.v);
}

/* Run a GET handler through the microcache. */
static void run_cached(api_req *r, api_handler fn)
{
    api_microcache *mc = r->a->mcache;
    if (r->a->cfg->api_cache_ms <= 0 || !mc) {
        fn(r);
        return;
    }
    buf key = {0};
    cache_key(r, &key);
    if (api_microcache_get(mc, (const char *)key.data, clock_mono_s(),
                           r->a->cfg->api_cache_ms / 1000.0, &r->out, r->etag)) {
        r->status = 200;
        buf_free(&key);
        return;
    }
    fn(r);
    if (r->status == 200 && r->out.len <= API_MICROCACHE_MAX_BODY)
        api_microcache_put(mc, (char *)key.data, clock_mono_s(), r->out.data, r->out.len, r->etag);
    else
        buf_free(&key);
}

/* ---- matching ---- */

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
 * /openapi.json, which are served at the root too, or "/api/internal/..."
 * (runtime registration where the Ruth AI runtime documents put it, without
 * the version). false when the path is not under a known prefix or has too
 * many segments. */
static bool split_path(api_req *r, const char *url)
{
    static const char *const root_ok[] = {"health", "ready", "metrics", "openapi.json"};
    const char *p = url;
    bool v1 = true;
    if (!strncmp(p, "/api/v1/", 8))
        p += 8;
    else if (!strcmp(p, "/api/internal/register") || !strcmp(p, "/api/internal/runtime/register"))
        p += 5;
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

/* ---- authentication and authorisation ---- */

/* 403 for a caller whose role is not in `set`: required_role is the
 * lowest ladder role admitted (the contract's field), allowed_roles all. */
static void forbidden(api_req *r, api_roles set)
{
    static const api_role order[] = {ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN, ROLE_RUNTIME};
    json_t *allowed = json_array();
    const char *need = NULL;
    char names[64] = "";
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (!api_roles_admit(set, order[i]))
            continue;
        const char *n = api_role_name(order[i]);
        json_array_append_new(allowed, json_string(n));
        if (!need)
            need = n;
        size_t k = strlen(names);
        snprintf(names + k, sizeof names - k, "%s%s", k ? " or " : "", n);
    }
    api_error(r, 403, "INSUFFICIENT_PERMISSIONS",
              json_pack("{s:s, s:o, s:s}", "required_role", need ? need : "none", "allowed_roles",
                        allowed, "role", api_role_name(r->who.role)),
              "this operation needs the %s role", names);
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
    if (!api_roles_admit(rt->roles, r->who.role)) {
        forbidden(r, rt->roles);
        return;
    }
    if (!param_only(r, rt->params))
        return;
    if (rt->cache) {
        run_cached(r, rt->fn);
        return;
    }
    rt->fn(r);
    if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD") && r->status < 300 && r->a->mcache)
        api_microcache_clear(r->a->mcache); /* this process changed something: no stale answers */
}

/* Whether route `rt` serves `method`: its own, and HEAD wherever GET is
 * served (RFC 9110 §9.3.2; libmicrohttpd sends the headers and no body),
 * except the live stream, which is nothing but a body. */
static bool method_served(const route *rt, const char *method)
{
    if (!strcmp(rt->method, method))
        return true;
    return !strcmp(method, "HEAD") && !strcmp(rt->method, "GET") && rt->fn != h_violations_stream;
}

/* The route that served the request, or -1 when none did. OPTIONS (a CORS
 * preflight) is 204 on a path some route serves, 404 elsewhere. */
static long dispatch(api_req *r, const char *url)
{
    if (strlen(url) > 4096 || !split_path(r, url)) {
        api_error(r, 404, "RESOURCE_NOT_FOUND", NULL, "no such resource");
        return -1;
    }
    bool path_known = false;
    r->allow[0] = '\0';
    for (size_t i = 0; i < NROUTES; i++) {
        if (!route_match(&routes[i], r))
            continue;
        path_known = true;
        if (!strcmp(r->method, "OPTIONS")) {
            api_no_content(r);
            return -1;
        }
        if (!method_served(&routes[i], r->method)) {
            size_t n = strlen(r->allow);
            snprintf(r->allow + n, sizeof r->allow - n, "%s%s", n ? ", " : "", routes[i].method);
            if (routes[i].fn == h_violations_stream && !strcmp(r->method, "HEAD"))
                break; /* not on to violations/:id with id "stream" */
            continue;
        }
        if (routes[i].roles == R_PUBLIC) {
            if (param_only(r, routes[i].params))
                routes[i].fn(r);
        } else
            authenticate(r, &routes[i]);
        return (long)i;
    }
    if (path_known)
        api_error(r, 405, "METHOD_NOT_ALLOWED", NULL, "%s is not allowed here", r->method);
    else
        api_error(r, 404, "RESOURCE_NOT_FOUND", NULL, "no such resource");
    return -1;
}

void api_routes_handle(api_req *r, const char *url)
{
    long i = dispatch(r, url);
    r->route = (int)i;
    if (i < 0 || !r->a->routes)
        return;
    unsigned cls = r->status / 100;
    if (cls >= 1 && cls <= 5)
        metric_inc(r->a->routes->count[i][cls]);
}
