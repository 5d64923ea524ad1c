/* vas.h - the Video Aggregation Service client (VAS-MS-V2, integration
 * guide v2.1), on libcurl.
 *
 * One `vas` per process, shared by its threads: it holds the access token
 * (POST /v2/auth/token, refreshed through /v2/auth/token/refresh once about
 * 80 % of its lifetime has passed; a 401 on refresh means authenticating
 * again) and a pool of reusable connections. Every call that gets a 401
 * refreshes once and retries once. Calls never sleep for the long retry
 * delays of the guide's matrix: they return the error, and the caller asks
 * vas_retry_delay_ms() when to try again (so a process can keep serving
 * other work meanwhile). Secrets and tokens are never logged.
 *
 * Metrics (when a registry is given): ruth_ai_vas_api_requests_total
 * {endpoint,status} and ruth_ai_vas_api_latency_seconds{endpoint}, where
 * endpoint is the route pattern (e.g. "POST /v2/streams/{id}/snapshots"). */
#ifndef RUTH_VAS_H
#define RUTH_VAS_H

#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vas vas;

typedef struct vas_conf {
    const char *base_url; /* e.g. http://vas:8080 (no trailing slash needed) */
    const char *client_id;
    const char *client_secret;
    /* Refresh this many seconds before expiry; 0: at 80 % of the lifetime,
     * the guide's rule. */
    int refresh_margin_sec;
    int connect_timeout_ms; /* 0: 3000 */
    int timeout_ms;         /* whole call (media: a stall this long); 0: 15000 */
    size_t max_response;    /* bytes of a JSON answer; 0: 1 MiB */
    metrics *reg;           /* borrowed, may be NULL */
} vas_conf;

/* What a failed call returned. `http_status` is 0 for a network error
 * (connect, timeout, reset), `code` the VAS `error` field when there was a
 * body ("NO_RECORDING_DATA", "EXTRACTION_TIMEOUT", ...) or a word of ours
 * ("NETWORK", "BAD_RESPONSE", "TOO_LARGE"; also "HTTP_<status>" for an
 * error status without a VAS error body, "BAD_REQUEST" for arguments
 * refused before any call, "ABORTED" when on_data stopped a media call). */
typedef struct vas_error {
    int http_status;
    char code[64];
    char message[256];
} vas_error;

/* Strings are copied from VAS's answer and NUL-terminated; empty when
 * absent. */
typedef struct vas_snapshot {
    char id[64];
    char status[16]; /* "processing" | "ready" | "failed" (VAS's word; "ready" when absent) */
    char image_url[512];
    char error[256];
} vas_snapshot;

typedef struct vas_bookmark {
    char id[64];
    char status[16]; /* "processing" | "ready" | "failed" */
    char video_url[512];
    char thumbnail_url[512];
    double duration_seconds;
    char error[256]; /* why it failed */
} vas_bookmark;

typedef struct vas_bookmark_req {
    bool historical;             /* source "historical" (center_timestamp) or "live" */
    int64_t center_timestamp_us; /* historical only */
    int before_seconds, after_seconds;
    const char *label;         /* may be NULL */
    const char *event_type;    /* may be NULL */
    double confidence;         /* < 0: not sent */
    const char *created_by;    /* e.g. "ruth-evidence" */
    const char *metadata_json; /* a JSON object, or NULL */
} vas_bookmark_req;

typedef struct vas_stream {
    char id[64];
    char camera_id[128];
    char state[16]; /* upper-case: LIVE, READY, ... */
} vas_stream;

typedef struct vas_device {
    char id[128];
    char name[256]; /* display_name, else name */
    char location[256];
    char description[512];
    bool is_active; /* true when VAS does not say */
} vas_device;

/* NULL with errstr filled when the configuration is unusable (no base URL,
 * client id or secret). No network traffic until the first call. */
vas *vas_new(const vas_conf *conf, char *errstr, size_t errsz);
void vas_destroy(vas *v); /* accepts NULL */

/* POST /v2/streams/{stream_id}/snapshots. `ts_us` > 0 asks for a
 * historical snapshot at that time, else a live one. 0 or -1. */
int vas_snapshot_create(vas *v, const char *stream_id, int64_t ts_us, const char *created_by,
                        const char *metadata_json, vas_snapshot *out, vas_error *err);
/* GET /v2/snapshots/{id}: whether its image exists yet. */
int vas_snapshot_get(vas *v, const char *id, vas_snapshot *out, vas_error *err);

/* POST /v2/streams/{stream_id}/bookmarks; answers status "processing". */
int vas_bookmark_create(vas *v, const char *stream_id, const vas_bookmark_req *req,
                        vas_bookmark *out, vas_error *err);
/* GET /v2/bookmarks/{id}. */
int vas_bookmark_get(vas *v, const char *id, vas_bookmark *out, vas_error *err);

/* GET /api/v1/devices (a bare JSON array) and GET /v2/streams?camera_id=
 * (NULL: every stream). *out is malloc'ed (free() it); *n its length. */
int vas_devices(vas *v, vas_device **out, size_t *n, vas_error *err);
int vas_streams(vas *v, const char *camera_id, vas_stream **out, size_t *n, vas_error *err);

/* A media body streamed to the caller as it arrives: `path` is
 * "/v2/snapshots/{id}/image", "/v2/bookmarks/{id}/video" or
 * ".../thumbnail"; `range` a Range header value or NULL. on_head is called
 * once with the status (200 or 206), Content-Type, Content-Length (-1 when
 * unknown) and Content-Range (NULL when none) before any data; on_data with
 * each chunk (return false to abort). At most `max_bytes` are passed on
 * (0: no bound), past that the call fails with code "TOO_LARGE". 0 or -1
 * (a VAS error status is reported through err, not on_head). */
typedef struct vas_media_sink {
    void (*on_head)(void *arg, int status, const char *content_type, int64_t content_length,
                    const char *content_range);
    bool (*on_data)(void *arg, const void *data, size_t len);
    void *arg;
} vas_media_sink;
int vas_media_get(vas *v, const char *path, const char *range, size_t max_bytes,
                  const vas_media_sink *sink, vas_error *err);

/* A cheap authenticated call for /health (a token can be had and VAS
 * answers). 0 or -1. */
int vas_probe(vas *v, vas_error *err);

/* When to retry a call that failed with `err`, the `attempt`-th retry
 * (1-based), per the guide's matrix with jitter (+-20 %): 500 -> 2 retries
 * (2 s, 5 s), 502 -> 3 (5, 10, 30 s), 503 -> 3 (10, 30, 60 s), 504 -> 2
 * (30, 60 s), network errors -> 3 (2, 5, 10 s), EXTRACTION_TIMEOUT -> 2;
 * 400/403/404 and NO_RECORDING_DATA never. -1 when the error is final or
 * the retries are used up. */
int vas_retry_delay_ms(const vas_error *err, int attempt);

#endif
