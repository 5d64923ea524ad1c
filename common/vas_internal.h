/* vas_internal.h - what the files of the VAS client share: the client's
 * struct and the cross-file helpers (double underscore). Only vas*.c
 * include it; callers use vas.h.
 *
 * vas_http.c holds the transport (connection pool, token, one HTTP call
 * with its 401 retry, metrics and logs); vas.c the VAS resources built on
 * it (request bodies, answer parsing, the retry matrix). */
#ifndef RUTH_VAS_INTERNAL_H
#define RUTH_VAS_INTERNAL_H

#include "vas.h"

#include <jansson.h>
#include <pthread.h>

/* Idle easy handles kept for reuse (each keeps its connection open); more
 * threads than this still work, their extra handles are closed after use. */
#define VAS_POOL_MAX 8

struct vas {
    char *base; /* without a trailing slash */
    char *client_id;
    char *client_secret;
    int refresh_margin_sec;
    long connect_timeout_ms, timeout_ms;
    size_t max_response;
    metrics *reg; /* borrowed, may be NULL */

    pthread_mutex_t pool_mu;  /* guards idle/nidle */
    void *idle[VAS_POOL_MAX]; /* CURL * */
    size_t nidle;

    /* The process's token. tok_mu guards the fields below and is never
     * held across a network call; fetch_mu serializes the threads that
     * fetch a new token, so only one asks VAS at a time while the others
     * keep using the old token as long as it has not expired. */
    pthread_mutex_t tok_mu;
    pthread_mutex_t fetch_mu;
    char *access;          /* NULL: none yet */
    char *refresh;         /* NULL: none (authenticate) */
    int64_t refresh_at_us; /* monotonic: fetch a new one from then on */
    int64_t expires_at_us; /* monotonic: VAS stops accepting it */
    uint64_t tok_gen;      /* bumped for every token installed */
    bool fetching;
};

/* One call. Strings are borrowed for the call. */
typedef struct vas__req {
    const char *method;   /* "GET" or "POST" */
    const char *path;     /* escaped, starts with '/', may carry a query */
    const char *endpoint; /* route pattern for metrics and logs */
    const char *body;     /* JSON request body or NULL */
    bool auth;            /* send the Bearer token (everything but /v2/auth/ *) */
    /* media calls only (sink != NULL) */
    const vas_media_sink *sink;
    const char *range;
    size_t max_bytes;
} vas__req;

/* A JSON call: on a 2xx answer *out receives the parsed body (the caller
 * owns the reference) and 0 is returned; otherwise -1 with err filled. */
int vas__call_json(vas *v, const vas__req *rq, json_t **out, vas_error *err);
/* A media call streamed to rq->sink (see vas_media_get). 0 or -1. */
int vas__call_media(vas *v, const vas__req *rq, vas_error *err);

/* Fill err (never NULL here) with a status, a code and a formatted message. */
void vas__set_error(vas_error *err, int http_status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Free every pooled handle and the token (vas_destroy). */
void vas__transport_close(vas *v);

#endif
