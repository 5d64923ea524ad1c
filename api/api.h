/* api.h - ruth-api: the REST API over PostgreSQL (ARCHITECTURE §8).
 *
 * One process context (`api`), one request context (`api_req`) per HTTP
 * request. libmicrohttpd runs a thread pool; each request borrows one
 * PostgreSQL connection from the pool for as long as its handler runs.
 * Handlers fill the response through api_json()/api_error(); they never
 * talk to libmicrohttpd themselves.
 *
 * Module map:
 *   api_main.c        start-up, libmicrohttpd daemon, shutdown
 *   api_http.c        request lifecycle: routing, auth, limits, CORS, responses
 *   api_auth.c        HS256 JWT verification and minting (ruth-token)
 *   api_pool.c        PostgreSQL connection pool
 *   api_params.c      query/body validation into the VALIDATION_ERROR details
 *   api_list.c        pagination, keyset cursors, capped counts
 *   api_violations.c  /violations, /violations/{id} (GET, PATCH)
 *   api_stream.c      /violations/stream (Server-Sent Events from Kafka)
 *   api_events.c      /events, /events/{id}
 *   api_analytics.c   /analytics/summary, /analytics/cameras/{id}
 *   api_devices.c     /devices, inference start/stop, /models/status,
 *                     /internal/runtime/register
 *   api_admin.c       /rules, /event-type-map
 */
#ifndef RUTH_API_H
#define RUTH_API_H

#include "buf.h"
#include "codec.h"
#include "config.h"
#include "metrics.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Roles, ordered: each includes the ones below it. */
typedef enum { ROLE_NONE = 0, ROLE_VIEWER = 1, ROLE_OPERATOR = 2, ROLE_ADMIN = 3 } api_role;

const char *api_role_name(api_role r);
/* "viewer" | "operator" | "admin" -> role; ROLE_NONE if unknown. */
api_role api_role_parse(const char *s);

/* ---- JWT (api_auth.c) ---- */

typedef enum {
    AUTH_OK = 0,
    AUTH_INVALID, /* malformed, bad signature, wrong algorithm, bad claims */
    AUTH_EXPIRED, /* exp (plus leeway) in the past */
} auth_result;

#define AUTH_LEEWAY_SEC 30

typedef struct auth_claims {
    char sub[128];
    api_role role;
    int64_t exp;
} auth_claims;

/* Verify an HS256 token with `key` at time `now` (seconds). Only alg HS256 is
 * accepted; exp is required, nbf/iat honoured with AUTH_LEEWAY_SEC; `sub` and
 * a known `role` are required. On failure `why` says what was wrong. */
auth_result auth_verify(const char *token, const char *key, int64_t now, auth_claims *out,
                        char *why, size_t whysz);

/* Mint an HS256 token; the caller free()s it. */
char *auth_mint(const char *key, const char *sub, api_role role, int64_t iat, int64_t exp);

/* base64url without padding (RFC 4648 §5); decode is strict. */
void api_b64url_encode(buf *out, const unsigned char *p, size_t n);
bool api_b64url_decode(const char *s, size_t n, buf *out);

/* ---- PostgreSQL pool (api_pool.c) ---- */

typedef struct api_pool api_pool;

/* Open `size` connections to `url` (lazily re-opened when one breaks). */
api_pool *api_pool_new(const char *url, int size, char *err, size_t errsz);
void api_pool_free(api_pool *p); /* accepts NULL */
/* Borrow a connection, waiting up to `timeout_ms`; NULL when none could be had
 * (all busy, or the database is unreachable: err says which). */
PGconn *api_pool_get(api_pool *p, int timeout_ms, char *err, size_t errsz);
/* Return a borrowed connection. A connection in a failed state or inside a
 * transaction is reset or closed, never handed out again as is. */
void api_pool_put(api_pool *p, PGconn *c);
/* Run `sql` on borrowed connection `c` as a statement prepared once per
 * connection and query text. Text parameters and results. The result on
 * success (caller PQclear()s), NULL with err filled otherwise. */
PGresult *api_pool_exec(api_pool *p, PGconn *c, const char *sql, int nparams,
                        const char *const *params, char *err, size_t errsz);
/* true when a connection can be had and answers SELECT 1. */
bool api_pool_ping(api_pool *p, char *err, size_t errsz);

/* ---- process context ---- */

typedef struct api_stream api_stream;
typedef struct api_ratelimit api_ratelimit;

typedef struct api {
    const ruth_config *cfg;
    api_pool *pool;      /* writes and reads needing read-your-writes */
    api_pool *read_pool; /* DATABASE_READ_URL, or the same as pool */
    codec *codec;
    rd_kafka_t *producer;
    _Atomic(api_stream *) stream; /* NULL until Kafka could be followed */
    api_ratelimit *rl;
    metrics *reg;
    metric *m_requests_inflight;
    metric *m_db_errors;
    metric *m_rate_limited;
    metric *m_latency;
    struct MHD_Daemon *daemon;
} api;

/* ---- request context ---- */

#define API_MAX_SEGMENTS 8

typedef struct api_req {
    api *a;
    struct MHD_Connection *conn;
    const char *method;
    char request_id[72];
    char client[64];   /* client address, for rate limiting and logs */
    double started;    /* monotonic seconds */
    /* path below /api/v1, split on '/' (URL-decoded by libmicrohttpd) into
     * r->path, which the request owns */
    char *path;
    char *seg[API_MAX_SEGMENTS];
    int nseg;
    /* request body */
    buf body;
    bool body_too_large;
    bool answered;     /* a response was queued before the body was read */
    bool body_started; /* some of the body arrived */
    /* authenticated caller */
    auth_claims who;
    /* response */
    unsigned status;
    buf out;
    char etag[32];
    char retry_after[16];
    char allow[64];   /* methods for a 405 */
    bool text_plain;  /* /metrics */
    bool sse; /* handler turned the response into a stream (api_stream.c) */
    struct MHD_Response *stream_response;
    /* validation errors collected by api_params.c: {"field": "message"} */
    json_t *details;
    PGconn *db; /* borrowed by api_db() for the handler's lifetime */
    api_pool *db_pool;
    const char *url; /* as requested (borrowed from libmicrohttpd) */
} api_req;

/* ---- responses (api_http.c) ---- */

/* Respond with `status` and a JSON body. api_json_text takes `len` bytes of
 * ready JSON; api_json_steal takes ownership of `body` (jansson reference). */
void api_json_text(api_req *r, unsigned status, const char *json, size_t len);
void api_json_steal(api_req *r, unsigned status, json_t *body);
/* api_json_text of the JSON text in row 0, column 0 of `res`. */
void api_json_row(api_req *r, unsigned status, const PGresult *res);
void api_no_content(api_req *r);
/* The contract's error body {error, error_description, status_code, details,
 * request_id, timestamp}. `details` (may be NULL) is stolen. */
void api_error(api_req *r, unsigned status, const char *code, json_t *details,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* 500 DATABASE_ERROR for a failed query (logged with the request id). */
void api_db_error(api_req *r, const char *what, const char *err);

/* The request's database connection (read pool when `read_only`), borrowed
 * until the request ends; NULL after an error response was sent. */
PGconn *api_db(api_req *r, bool read_only);

/* Run a parameterised query on r's connection; NULL after api_db_error().
 * The caller PQclear()s the result. */
PGresult *api_query(api_req *r, bool read_only, const char *sql, int nparams,
                    const char *const *params);

/* Relay outbox rows just written (ids as a bigint[] literal); leftovers are
 * swept by the background relay. */
void api_outbox_relay(api_req *r, const char *ids);

/* ---- parameters (api_params.c) ---- */

/* Query parameter, or NULL when absent. Invalid UTF-8 is reported as a
 * validation error and NULL returned. */
const char *param_str(api_req *r, const char *name);
/* Parsers record a validation error under `name` and return false when the
 * value is present but bad; absent values leave *out as the default. */
bool param_int(api_req *r, const char *name, long min, long max, long *out);
bool param_double(api_req *r, const char *name, double min, double max, double *out, bool *set);
/* ISO 8601 with offset, or integer microseconds; written out as text the
 * database parses ("2026-01-02T03:04:05.123456+00:00"). */
bool param_time(api_req *r, const char *name, char *out, size_t outsz);
/* One of "a|b|c"; *out stays `dflt` when absent. */
bool param_enum(api_req *r, const char *name, const char *choices, const char **out);
bool param_uuid(api_req *r, const char *name, const char **out);
bool param_bool(api_req *r, const char *name, const char **out); /* "true"/"false" text */
/* Record a validation error for `field`. */
void param_invalid(api_req *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* If any validation error was recorded, respond 400 VALIDATION_ERROR and
 * return true. */
bool param_reject(api_req *r);
bool api_is_uuid(const char *s);
bool api_is_utf8(const char *s, size_t n);
/* Whether `s` is one of "a|b|c". */
bool api_is_choice(const char *s, const char *choices);
/* Path segment `seg` when it is a UUID; else respond 400 INVALID_PARAMETER
 * ("<what> id must be a UUID") and return NULL. */
const char *api_path_uuid(api_req *r, int seg, const char *what);
/* Record "unknown field" for every member of `body` not in "a|b|c". */
void param_known_fields(api_req *r, json_t *body, const char *fields);

/* Parse the request body as a JSON object (depth- and size-limited); NULL
 * after responding 400 VALIDATION_ERROR. The caller json_decref()s it. */
json_t *api_body_object(api_req *r);

/* ---- lists (api_list.c) ---- */

typedef struct api_page {
    long limit, offset;
    const char *cursor;      /* raw parameter */
    bool keyset;             /* a valid cursor was given */
    char after_key[64];      /* the cursor's sort value */
    char after_id[40];       /* the cursor's row id */
} api_page;

/* Read limit/offset/cursor (limit default/max per endpoint). The cursor must
 * have been issued for the same `sort_tag`, and its sort value must be of
 * `key_kind`: 'i' (integer >= 0), 'f' (number 0..1) or 's' (text). false
 * after recording errors. */
bool list_page(api_req *r, long dflt_limit, long max_limit, const char *sort_tag, char key_kind,
               api_page *pg);

/* A count of the rows `from_where` selects (with `params`), exact up to
 * LIST_COUNT_EXACT_MAX, else PostgreSQL's estimate (*exact = false). Cached
 * for a second per query text and parameters. -1 after an error response. */
#define LIST_COUNT_EXACT_MAX 10000
long long list_count(api_req *r, const char *from_where, int nparams, const char *const *params,
                     bool *exact);

/* A WHERE clause built from fixed fragments, every value a parameter. */
#define SQLW_MAX_PARAMS 16
typedef struct sqlw {
    buf where; /* " WHERE a AND b" (empty when no condition) */
    const char *params[SQLW_MAX_PARAMS];
    int n;
} sqlw;

/* Add `cond`, in which "$?" stands for the next parameter (bound to
 * `value`, borrowed until the query ran); `value` NULL skips the condition. */
void sqlw_add(sqlw *w, const char *cond, const char *value);
/* Add a condition with two parameters ("$?" twice), e.g. keyset bounds. */
void sqlw_add2(sqlw *w, const char *cond, const char *v1, const char *v2);
/* Append a bound parameter that is not a condition (LIMIT/OFFSET); returns
 * its $-number. */
int sqlw_param(sqlw *w, const char *value);
/* NUL-terminated WHERE text. */
const char *sqlw_sql(sqlw *w);
void sqlw_free(sqlw *w);

/* `fw` = "FROM <from>" plus the conditions of `w`, and list_count() of it.
 * -1 after an error response, with `w` freed. */
long long list_total(api_req *r, const char *from, sqlw *w, char *fw, size_t fwsz, bool *exact);

/* Run `select` (a SELECT over the conditions of `w`, ending in its ORDER
 * BY) for one page, LIMIT and OFFSET bound as the next parameters of `w`,
 * and emit {"<items>": [rows...], "pagination": {...}}. Each row has the
 * item JSON in column 0, its cursor sort value in column 1 and its id in
 * column 2. `sort_tag` NULL: offset paging only, next_cursor is always
 * null. Frees `w`. */
void list_fetch(api_req *r, const char *items, sqlw *w, const api_page *pg, const char *sort_tag,
                long long total, bool exact, const char *select);

/* ---- handlers ---- */

void h_violations_list(api_req *r);
void h_violation_get(api_req *r);
void h_violation_patch(api_req *r);
void h_violations_stream(api_req *r);
void h_events_list(api_req *r);
void h_event_get(api_req *r);
void h_analytics_summary(api_req *r);
void h_analytics_camera(api_req *r);
void h_devices_list(api_req *r);
void h_device_get(api_req *r);
void h_device_start(api_req *r);
void h_device_stop(api_req *r);
void h_models_status(api_req *r);
void h_runtime_register(api_req *r);
void h_rules_list(api_req *r);
void h_rule_create(api_req *r);
void h_rule_get(api_req *r);
void h_rule_patch(api_req *r);
void h_rule_delete(api_req *r);
void h_typemap_list(api_req *r);
void h_typemap_put(api_req *r);
void h_typemap_delete(api_req *r);

/* ---- live stream (api_stream.c) ---- */

/* Start the consumer thread that follows ruth.violations.v1 and keeps the
 * most recent `capacity` changes for Server-Sent Events clients. */
api_stream *api_stream_start(api *a, int capacity, char *err, size_t errsz);
void api_stream_stop(api_stream *s); /* accepts NULL; ends every open stream */
/* Wake every waiting stream (keep-alive and shutdown). */
void api_stream_kick(api_stream *s);

/* ---- rate limiting (api_http.c) ---- */

api_ratelimit *api_ratelimit_new(int rps);
void api_ratelimit_free(api_ratelimit *rl);
/* true when `client` may make a request now; otherwise *retry_after_sec. */
bool api_ratelimit_take(api_ratelimit *rl, const char *client, double now, int *retry_after_sec);

/* Monotonic seconds. */
double api_now(void);

#endif
