/* api_media.c - GET /violations/{id}/snapshot and /video: evidence media
 * from VAS, streamed through to the client.
 *
 * The evidence row decides first, without VAS: no row 404
 * EVIDENCE_NOT_FOUND, pending/processing 202 EVIDENCE_PROCESSING (with
 * details.retry_after_seconds from the row's next_attempt_at), failed 500
 * EVIDENCE_FAILED with the reason. A ready row is fetched from VAS
 * (vas_media_get) by a producer thread into a bounded ring
 * (MEDIA_RING_BYTES); libmicrohttpd reads the ring through a content
 * callback and, while it is empty, the connection is suspended (no thread
 * held), resumed by the producer when bytes arrive. A full ring blocks the
 * producer, so a slow client slows the VAS download instead of growing
 * memory: at most one ring per answer, whatever the file size.
 *
 * The request thread waits for VAS's status line (at most the VAS call's
 * own timeouts) so that a VAS error is still answered as the contract's
 * JSON error (503 VAS_UNAVAILABLE, 404 when VAS no longer has the media).
 * Range (video) is passed through: VAS's 206 and Content-Range come back
 * unchanged, with Accept-Ranges: bytes. */
#include "api.h"
#include "api_handlers.h"
#include "clock.h"

#include "log.h"
#include "vas.h"
#include "xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MEDIA_RING_BYTES (256 * 1024)
#define MEDIA_MAX_BYTES ((size_t)2 << 30) /* one answer at most (a VAS gone wrong) */
#define MEDIA_HEAD_WAIT_S 60              /* past the VAS call's own timeouts */
#define MEDIA_BLOCK 32768
#define MEDIA_MAX_ACTIVE 64 /* transfers at once: at most 64 rings (16 MiB) per process */

/* One transfer, shared by the producer thread and the response (two
 * references; the last one dropped frees it). */
typedef struct media_xfer {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* head arrived, space freed, done, aborted */
    int refs;
    api *a;
    char path[160];
    char range[128]; /* "" = none */
    /* VAS's answer head */
    bool head;
    int status;
    char ctype[128];
    int64_t clen;
    char crange[128];
    /* the ring */
    unsigned char *ring;
    size_t start, len;
    /* the end */
    bool done;
    int rc;
    vas_error err;
    bool aborted; /* the client went away or the handler gave up */
    /* the connection to resume while it waits for bytes */
    struct MHD_Connection *conn;
    bool waiting;
} media_xfer;

static void media__unref(media_xfer *x)
{
    pthread_mutex_lock(&x->mu);
    bool last = --x->refs == 0;
    pthread_mutex_unlock(&x->mu);
    if (!last)
        return;
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    free(x->ring);
    free(x);
}

/* With the lock held: let a parked connection read again. */
static void media__wake(media_xfer *x)
{
    if (x->waiting) {
        x->waiting = false;
        MHD_resume_connection(x->conn);
    }
}

static void media__on_head(void *arg, int status, const char *ctype, int64_t clen,
                           const char *crange)
{
    media_xfer *x = arg;
    pthread_mutex_lock(&x->mu);
    x->head = true;
    x->status = status;
    snprintf(x->ctype, sizeof x->ctype, "%s", ctype ? ctype : "");
    x->clen = clen;
    snprintf(x->crange, sizeof x->crange, "%s", crange ? crange : "");
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

/* Copy into the ring, waiting for room while it is full. */
static bool media__on_data(void *arg, const void *data, size_t len)
{
    media_xfer *x = arg;
    const unsigned char *p = data;
    pthread_mutex_lock(&x->mu);
    while (len && !x->aborted) {
        size_t room = MEDIA_RING_BYTES - x->len;
        if (!room) {
            media__wake(x);
            pthread_cond_wait(&x->cv, &x->mu);
            continue;
        }
        size_t end = (x->start + x->len) % MEDIA_RING_BYTES;
        size_t n = len < room ? len : room;
        if (n > MEDIA_RING_BYTES - end)
            n = MEDIA_RING_BYTES - end;
        memcpy(x->ring + end, p, n);
        x->len += n;
        p += n;
        len -= n;
    }
    media__wake(x);
    bool go_on = !x->aborted;
    pthread_mutex_unlock(&x->mu);
    return go_on;
}

static void *media__produce(void *arg)
{
    media_xfer *x = arg;
    vas_media_sink sink = {media__on_head, media__on_data, x};
    vas_error err = {0};
    int rc = vas_media_get(x->a->vas, x->path, x->range[0] ? x->range : NULL, MEDIA_MAX_BYTES,
                           &sink, &err);
    pthread_mutex_lock(&x->mu);
    x->done = true;
    x->rc = rc;
    x->err = err;
    pthread_cond_broadcast(&x->cv);
    media__wake(x);
    pthread_mutex_unlock(&x->mu);
    atomic_fetch_sub(&x->a->media_active, 1);
    media__unref(x);
    return NULL;
}

static ssize_t media__read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    media_xfer *x = cls;
    pthread_mutex_lock(&x->mu);
    if (x->len) {
        size_t n = x->len < max ? x->len : max;
        if (n > MEDIA_RING_BYTES - x->start)
            n = MEDIA_RING_BYTES - x->start;
        memcpy(out, x->ring + x->start, n);
        x->start = (x->start + n) % MEDIA_RING_BYTES;
        x->len -= n;
        pthread_cond_broadcast(&x->cv); /* room for the producer */
        pthread_mutex_unlock(&x->mu);
        return (ssize_t)n;
    }
    if (x->done) {
        ssize_t end =
            x->rc == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
        if (x->rc)
            log_warn("media %s ended early: %s (%d)", x->path, x->err.code, x->err.http_status);
        pthread_mutex_unlock(&x->mu);
        return end;
    }
    /* Nothing yet: park the connection until the producer has bytes. */
    x->waiting = true;
    MHD_suspend_connection(x->conn);
    pthread_mutex_unlock(&x->mu);
    return 0;
}

static void media__free(void *cls)
{
    media_xfer *x = cls;
    pthread_mutex_lock(&x->mu);
    x->aborted = true;
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    media__unref(x);
}

/* A VAS failure before any byte, as the contract's error. */
static void media__vas_error(api_req *r, const vas_error *e, const char *what)
{
    log_ctx ctx = LOG_CTX_INIT;
    ctx.request_id = r->request_id;
    log_at(LOG_WARN, &ctx, "VAS %s failed: %s (HTTP %d)", what, e->code, e->http_status);
    if (e->http_status == 404) {
        api_error(r, 404, "EVIDENCE_NOT_FOUND", json_pack("{s:s}", "vas_error", e->code),
                  "VAS no longer has the %s", what);
        return;
    }
    if (e->http_status == 416) {
        api_error(r, 416, "RANGE_NOT_SATISFIABLE", NULL, "the requested range is not satisfiable");
        return;
    }
    snprintf(r->retry_after, sizeof r->retry_after, "5");
    api_error(r, 503, "VAS_UNAVAILABLE", json_pack("{s:i}", "retry_after_seconds", 5),
              "the video service is temporarily unavailable");
}

/* A Range header worth passing on: "bytes=" and digits, '-', ',' only. */
static bool media__range_ok(const char *h)
{
    if (strncmp(h, "bytes=", 6) || strlen(h) >= 100 || !h[6])
        return false;
    for (const char *p = h + 6; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '-' || *p == ',' || *p == ' '))
            return false;
    return true;
}

/* Fetch `path` from VAS and turn the request into the streamed answer. */
static void media_stream(api_req *r, const char *path, const char *what, bool ranges)
{
    if (atomic_fetch_add(&r->a->media_active, 1) >= MEDIA_MAX_ACTIVE) {
        atomic_fetch_sub(&r->a->media_active, 1);
        snprintf(r->retry_after, sizeof r->retry_after, "2");
        api_error(r, 503, "VAS_UNAVAILABLE", json_pack("{s:i}", "retry_after_seconds", 2),
                  "too many media transfers at once; retry shortly");
        return;
    }
    media_xfer *x = xcalloc(1, sizeof *x);
    pthread_mutex_init(&x->mu, NULL);
    pthread_cond_init(&x->cv, NULL);
    x->refs = 2; /* the producer, and this handler (then the response) */
    x->a = r->a;
    x->conn = r->conn;
    snprintf(x->path, sizeof x->path, "%s", path);
    const char *range = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Range");
    if (ranges && range && media__range_ok(range))
        snprintf(x->range, sizeof x->range, "%s", range);
    x->ring = xmalloc(MEDIA_RING_BYTES);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, media__produce, x) != 0) {
        pthread_attr_destroy(&attr);
        atomic_fetch_sub(&r->a->media_active, 1);
        x->refs = 1;
        media__unref(x);
        api_error(r, 500, "INTERNAL_ERROR", NULL, "cannot start the media transfer");
        return;
    }
    pthread_attr_destroy(&attr);

    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += MEDIA_HEAD_WAIT_S;
    pthread_mutex_lock(&x->mu);
    while (!x->head && !x->done)
        if (pthread_cond_timedwait(&x->cv, &x->mu, &until) == ETIMEDOUT)
            break;
    bool head = x->head;
    vas_error err = x->err;
    if (!head) {
        if (!x->done)
            snprintf(err.code, sizeof err.code, "TIMEOUT");
        x->aborted = true;
        pthread_cond_broadcast(&x->cv);
    }
    pthread_mutex_unlock(&x->mu);
    if (!head) {
        media__vas_error(r, &err, what);
        media__unref(x);
        return;
    }
    struct MHD_Response *resp = MHD_create_response_from_callback(
        x->clen >= 0 ? (uint64_t)x->clen : MHD_SIZE_UNKNOWN, MEDIA_BLOCK, media__read, x,
        media__free); /* takes the handler's reference */
    MHD_add_response_header(resp, "Content-Type",
                            x->ctype[0] ? x->ctype : "application/octet-stream");
    if (x->crange[0])
        MHD_add_response_header(resp, "Content-Range", x->crange);
    if (ranges)
        MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    MHD_add_response_header(resp, "Cache-Control", "private, max-age=300");
    r->status = x->status == 206 ? 206 : 200;
    r->sse = true; /* a streamed response: api_http.c queues r->stream_response */
    r->stream_response = resp;
}

/* Shared by both endpoints: the evidence row of `kind`, answered from the
 * database unless it is ready. */
static void media_get(api_req *r, const char *kind)
{
    bool snap = !strcmp(kind, "snapshot");
    const char *what = snap ? "snapshot" : "video";
    const char *idkey = snap ? "snapshot_id" : "bookmark_id";
    const char *id = api_path_uuid(r, 1, "violation");
    if (!id)
        return;
    static const char sql[] =
        "SELECT e.id::text, e.status, e.vas_id, e.last_error, e.attempts,"
        " ceil(extract(epoch FROM e.next_attempt_at - now()))::int"
        " FROM violations v LEFT JOIN evidence e ON e.violation_id = v.id AND e.kind = $2"
        " WHERE v.id = $1";
    const char *p[2] = {id, kind};
    PGresult *res = api_query(r, true, sql, 2, p);
    if (!res)
        return;
    if (PQntuples(res) == 0) {
        api_error(r, 404, "VIOLATION_NOT_FOUND", json_pack("{s:s}", "id", id),
                  "violation %s does not exist", id);
        goto done;
    }
    if (PQgetisnull(res, 0, 0)) {
        api_error(r, 404, "EVIDENCE_NOT_FOUND",
                  json_pack("{s:s, s:s}", "violation_id", id, "kind", kind),
                  "%s for violation %s does not exist", what, id);
        goto done;
    }
    const char *eid = PQgetvalue(res, 0, 0), *status = PQgetvalue(res, 0, 1);
    json_t *vas_id = PQgetisnull(res, 0, 2) ? json_null() : json_string(PQgetvalue(res, 0, 2));
    if (!strcmp(status, "pending") || !strcmp(status, "processing")) {
        int retry = snap ? 5 : 10;
        if (!PQgetisnull(res, 0, 5)) {
            int due = atoi(PQgetvalue(res, 0, 5));
            retry = due < 1 ? 1 : due > 300 ? 300 : due;
        }
        snprintf(r->retry_after, sizeof r->retry_after, "%d", retry);
        api_error(r, 202, "EVIDENCE_PROCESSING",
                  json_pack("{s:s, s:o, s:s, s:i}", "evidence_id", eid, idkey, vas_id, "status",
                            status, "retry_after_seconds", retry),
                  "%s is still being processed", what);
        goto done;
    }
    if (!strcmp(status, "failed")) {
        const char *why = PQgetisnull(res, 0, 3) ? "unknown" : PQgetvalue(res, 0, 3);
        api_error(r, 500, "EVIDENCE_FAILED",
                  json_pack("{s:s, s:o, s:s, s:s, s:i}", "evidence_id", eid, idkey, vas_id,
                            "status", status, "reason", why, "attempts",
                            atoi(PQgetvalue(res, 0, 4))),
                  "could not create the %s for this violation: %s", what, why);
        goto done;
    }
    /* ready */
    const char *vid = json_string_value(vas_id);
    bool id_ok = vid && *vid && strlen(vid) < 100;
    for (const char *c = vid; id_ok && *c; c++)
        id_ok = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                *c == '-' || *c == '_' || *c == '.';
    if (!id_ok) {
        json_decref(vas_id);
        api_error(r, 404, "EVIDENCE_NOT_FOUND", json_pack("{s:s}", "evidence_id", eid),
                  "the %s has no usable VAS id", what);
        goto done;
    }
    if (!r->a->vas) {
        json_decref(vas_id);
        snprintf(r->retry_after, sizeof r->retry_after, "30");
        api_error(r, 503, "VAS_UNAVAILABLE", json_pack("{s:i}", "retry_after_seconds", 30),
                  "the video service is not configured (VAS_BASE_URL)");
        goto done;
    }
    char path[160];
    snprintf(path, sizeof path, snap ? "/v2/snapshots/%s/image" : "/v2/bookmarks/%s/video", vid);
    json_decref(vas_id);
    PQclear(res);
    res = NULL;
    /* The database connection is not needed while the media flows. */
    if (r->db) {
        pg_pool_put(r->db_pool, r->db);
        r->db = NULL;
    }
    media_stream(r, path, what, !snap);
done:
    PQclear(res);
}

void h_violation_snapshot(api_req *r)
{
    media_get(r, "snapshot");
}

void h_violation_video(api_req *r)
{
    media_get(r, "bookmark");
}
