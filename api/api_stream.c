/* api_stream.c - GET /violations/stream: ViolationChanges as Server-Sent Events.
 *
 * One consumer thread per API process follows every partition of
 * ruth.violations.v1 (assigned, not a group member: it never commits) and
 * keeps the most recent changes in a ring. Each stream client reads from
 * the ring at its own pace; while it has nothing to send its connection is
 * suspended (libmicrohttpd's suspend/resume), so idle streams hold no thread.
 *
 * Event ids are Kafka positions: "<o0>_<o1>_..._<oN>", the next offset of
 * every partition once this change is included. They mean the same thing
 * on every API replica, so a client resuming with Last-Event-ID on another
 * replica gets exactly the changes after it. When the ring no longer holds
 * the changes after a client's position (it was away too long), the stream
 * says so with an `event: reset` before continuing; the client then reloads
 * through GET /violations. Changes are delivered at least once: duplicates
 * carry the same violation `version`. */
#include "api_stream.h"
#include "api.h"
#include "api_handlers.h"
#include "clock.h"

#include "kafka.h"
#include "kafka_admin.h"
#include "log.h"
#include "shutdown.h"
#include "xmalloc.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STREAM_MAX_PARTITIONS 256
#define STREAM_KEEPALIVE_SEC 15.0

typedef struct stream_entry {
    int32_t partition;
    int64_t offset;
    char *frame; /* "id: ...\nevent: violation_change\ndata: {...}\n\n" */
    size_t len;
} stream_entry;

typedef struct sse_client sse_client;

struct api_stream {
    api *a;
    rd_kafka_t *consumer;
    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    int nparts;
    pthread_mutex_t mu;
    stream_entry *ring;
    size_t cap;
    uint64_t head;       /* sequence number of the next entry */
    int64_t *next_off;   /* per partition: next offset after the newest entry */
    int64_t *lost_below; /* per partition: offsets below this are not in the ring */
    sse_client *clients; /* doubly linked */
};

struct sse_client {
    api_stream *s;
    struct MHD_Connection *conn;
    uint64_t next_seq;
    int64_t *resume; /* Last-Event-ID positions, or NULL */
    bool waiting;    /* suspended, to be resumed by news */
    bool reset_due;
    double last_write;
    int64_t expires; /* the token's exp plus leeway: the stream ends then */
    buf pending;
    size_t sent;
    char sub[sizeof(((auth_claims *)0)->sub)]; /* for the per-subject cap */
    char addr[64];                             /* for the per-address cap */
    sse_client *prev, *next;
};

static void stream__position(api_stream *s, buf *out)
{
    for (int p = 0; p < s->nparts; p++)
        buf_printf(out, "%s%lld", p ? "_" : "", (long long)s->next_off[p]);
}

/* Wake every suspended client (with the lock held). */
static void stream__wake(api_stream *s, bool only_idle)
{
    double now = clock_mono_s();
    for (sse_client *c = s->clients; c; c = c->next) {
        if (!c->waiting)
            continue;
        if (only_idle && now - c->last_write < STREAM_KEEPALIVE_SEC)
            continue;
        c->waiting = false;
        MHD_resume_connection(c->conn);
    }
}

static void stream__add(api_stream *s, const rd_kafka_message_t *m)
{
    violation_change_msg vc;
    void *arena = NULL;
    codec_error cerr;
    buf json = {0};
    if (codec_decode_violation_change(s->a->codec, m->payload, m->len, &vc, &arena, &cerr) != 0 ||
        codec_encode_violation_change(s->a->codec, CODEC_FMT_JSON, &vc, &json, &cerr) != 0) {
        log_warn("stream: skipping undecodable message at %d/%lld: %s", (int)m->partition,
                 (long long)m->offset, cerr.message);
        codec_arena_free(arena);
        buf_free(&json);
        return;
    }
    codec_arena_free(arena);
    pthread_mutex_lock(&s->mu);
    if (m->partition >= 0 && m->partition < s->nparts)
        s->next_off[m->partition] = m->offset + 1;
    buf f = {0};
    buf_append_str(&f, "id: ");
    stream__position(s, &f);
    buf_append_str(&f, "\nevent: violation_change\ndata: ");
    buf_append(&f, json.data, json.len);
    buf_append_str(&f, "\n\n");
    stream_entry *e = &s->ring[s->head % s->cap];
    if (e->frame) {
        /* Evicting the oldest entry: its partition's history now starts after it. */
        if (e->partition >= 0 && e->partition < s->nparts &&
            e->offset + 1 > s->lost_below[e->partition])
            s->lost_below[e->partition] = e->offset + 1;
        free(e->frame);
    }
    e->partition = m->partition;
    e->offset = m->offset;
    e->len = f.len;
    e->frame = (char *)f.data; /* the ring takes the frame */
    s->head++;
    stream__wake(s, false);
    pthread_mutex_unlock(&s->mu);
    buf_free(&json);
}

static void *stream__run(void *arg)
{
    api_stream *s = arg;
    double last_tick = clock_mono_s();
    while (!atomic_load(&s->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, 200);
        if (m) {
            if (!m->err)
                stream__add(s, m);
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("stream: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
        }
        double now = clock_mono_s();
        if (now - last_tick >= 1.0) {
            last_tick = now;
            pthread_mutex_lock(&s->mu);
            stream__wake(s, true); /* keep-alives */
            pthread_mutex_unlock(&s->mu);
        }
    }
    return NULL;
}

api_stream *api_stream_start(api *a, int capacity, char *err, size_t errsz)
{
    rd_kafka_conf_t *conf =
        kafka_conf_new(a->cfg->kafka_bootstrap_servers, "ruth-api-stream", err, errsz);
    if (!conf)
        return NULL;
    rd_kafka_t *rk = kafka_group_member_new(conf, "ruth-api-stream", err, errsz); /* takes conf */
    if (!rk)
        return NULL;
    const char *topic = a->cfg->topic_violations;
    int nparts = kafka_admin_topic_partitions(rk, topic, 10000, err, errsz);
    if (nparts <= 0 || nparts > STREAM_MAX_PARTITIONS) {
        if (nparts == 0)
            snprintf(err, errsz, "topic %s does not exist (run ruth-migrate topics)", topic);
        rd_kafka_destroy(rk);
        return NULL;
    }
    api_stream *s = xcalloc(1, sizeof *s);
    s->a = a;
    s->consumer = rk;
    s->nparts = nparts;
    s->cap = (size_t)(capacity > 16 ? capacity : 16);
    s->ring = xcalloc(s->cap, sizeof *s->ring);
    s->next_off = xcalloc((size_t)nparts, sizeof *s->next_off);
    s->lost_below = xcalloc((size_t)nparts, sizeof *s->lost_below);
    pthread_mutex_init(&s->mu, NULL);
    /* Start each partition far enough back to fill the ring. */
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(nparts);
    int64_t tail = (int64_t)s->cap / nparts;
    for (int p = 0; p < nparts; p++) {
        int64_t lo = 0, hi = 0;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);
        if (e) {
            snprintf(err, errsz, "cannot read offsets of %s: %s", topic, rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(parts);
            api_stream_stop(s);
            return NULL;
        }
        int64_t start = hi - tail > lo ? hi - tail : lo;
        s->next_off[p] = start;
        s->lost_below[p] = start;
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = start;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (e) {
        snprintf(err, errsz, "cannot follow %s: %s", topic, rd_kafka_err2str(e));
        api_stream_stop(s);
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, stream__run, s) != 0) {
        snprintf(err, errsz, "cannot start the stream thread");
        api_stream_stop(s);
        return NULL;
    }
    s->thread_started = true;
    return s;
}

void api_stream_kick(api_stream *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    stream__wake(s, false);
    pthread_mutex_unlock(&s->mu);
}

void api_stream_stop(api_stream *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    rd_kafka_consumer_close(s->consumer);
    rd_kafka_destroy(s->consumer);
    for (size_t i = 0; i < s->cap; i++)
        free(s->ring[i].frame);
    free(s->ring);
    free(s->next_off);
    free(s->lost_below);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* Queue the next frame for `c` into c->pending (lock held); false when
 * there is nothing to send. */
static bool stream__next(api_stream *s, sse_client *c)
{
    uint64_t oldest = s->head > s->cap ? s->head - s->cap : 0;
    if (c->next_seq < oldest) {
        c->next_seq = oldest; /* fell behind the ring */
        c->reset_due = true;
    }
    if (c->reset_due) {
        c->reset_due = false;
        buf_append_str(&c->pending, "id: ");
        stream__position(s, &c->pending);
        buf_append_str(&c->pending, "\nevent: reset\ndata: {\"reason\":\"changes after your "
                                    "position are no longer buffered; reload the list\"}\n\n");
        return true;
    }
    while (c->next_seq < s->head) {
        stream_entry *e = &s->ring[c->next_seq % s->cap];
        c->next_seq++;
        if (c->resume && e->partition >= 0 && e->partition < s->nparts &&
            e->offset < c->resume[e->partition])
            continue; /* the client saw it before reconnecting */
        buf_append(&c->pending, e->frame, e->len);
        return true;
    }
    return false;
}

static ssize_t stream__read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    sse_client *c = cls;
    api_stream *s = c->s;
    pthread_mutex_lock(&s->mu);
    if (c->sent == c->pending.len) {
        buf_reset(&c->pending);
        c->sent = 0;
        /* Shutting down, or the token it was opened with expired (checked
         * at least at every keep-alive): the client reconnects, with a
         * fresh token and Last-Event-ID, and loses nothing. */
        if (atomic_load(&s->stop) || !g_run || (int64_t)time(NULL) > c->expires) {
            pthread_mutex_unlock(&s->mu);
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        if (!stream__next(s, c)) {
            if (clock_mono_s() - c->last_write >= STREAM_KEEPALIVE_SEC) {
                buf_append_str(&c->pending, ": keep-alive\n\n");
            } else {
                /* Nothing to say: park the connection until news or keep-alive. */
                c->waiting = true;
                MHD_suspend_connection(c->conn);
                pthread_mutex_unlock(&s->mu);
                return 0;
            }
        }
    }
    size_t n = c->pending.len - c->sent;
    if (n > max)
        n = max;
    memcpy(out, c->pending.data + c->sent, n);
    c->sent += n;
    c->last_write = clock_mono_s();
    pthread_mutex_unlock(&s->mu);
    return (ssize_t)n;
}

static void stream__free(void *cls)
{
    sse_client *c = cls;
    api_stream *s = c->s;
    pthread_mutex_lock(&s->mu);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&s->mu);
    buf_free(&c->pending);
    free(c->resume);
    free(c);
}

/* Parse "<o0>_<o1>_..." with exactly nparts numbers. */
static int64_t *parse_position(const char *id, int nparts)
{
    int64_t *v = xcalloc((size_t)nparts, sizeof *v);
    const char *p = id;
    for (int i = 0; i < nparts; i++) {
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        /* An offset past int64 is refused, not clamped to INT64_MAX. */
        if (end == p || x < 0 || errno == ERANGE || !isdigit((unsigned char)*p) ||
            (i < nparts - 1 ? *end != '_' : *end != '\0')) {
            free(v);
            return NULL;
        }
        v[i] = x;
        p = end + 1;
    }
    return v;
}

/* Refuse a stream over RUTH_API_MAX_STREAMS (503) or over the caps per
 * subject and per address (429), so that streams cannot take every
 * connection; true when refused (r answered). Lock held. */
static bool stream__over_cap(api_stream *s, api_req *r)
{
    const ruth_config *cfg = r->a->cfg;
    int all = 0, same_sub = 0, same_addr = 0;
    for (sse_client *c = s->clients; c; c = c->next) {
        all++;
        same_sub += !strcmp(c->sub, r->who.sub);
        same_addr += !strcmp(c->addr, r->client);
    }
    if (all >= cfg->api_max_streams) {
        snprintf(r->retry_after, sizeof r->retry_after, "5");
        api_error(r, 503, "INTERNAL_ERROR", json_pack("{s:i}", "max_streams", cfg->api_max_streams),
                  "this server holds its %d live streams already; retry shortly or on another "
                  "replica",
                  cfg->api_max_streams);
        return true;
    }
    const char *what = NULL;
    int cap = 0;
    if (same_sub >= cfg->api_max_streams_per_subject) {
        what = "token subject";
        cap = cfg->api_max_streams_per_subject;
    } else if (same_addr >= cfg->api_max_streams_per_ip) {
        what = "client address";
        cap = cfg->api_max_streams_per_ip;
    }
    if (!what)
        return false;
    metric_inc(r->a->m_rate_limited);
    snprintf(r->retry_after, sizeof r->retry_after, "5");
    api_error(r, 429, "RATE_LIMITED",
              json_pack("{s:i,s:i}", "retry_after_seconds", 5, "max_streams", cap),
              "this %s has %d live streams open already; close one first", what, cap);
    return true;
}

void h_violations_stream(api_req *r)
{
    api_stream *s = atomic_load(&r->a->stream);
    if (!s) {
        snprintf(r->retry_after, sizeof r->retry_after, "5");
        api_error(r, 503, "INTERNAL_ERROR", NULL,
                  "the live stream is not available yet (Kafka unreachable); retry shortly");
        return;
    }
    const char *last = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Last-Event-ID");
    if (!last)
        last = param_str(r, "last_event_id");
    if (param_reject(r))
        return;
    int64_t *resume = NULL;
    if (last && !(resume = parse_position(last, s->nparts))) {
        api_error(r, 400, "INVALID_PARAMETER",
                  json_pack("{s:s}", "Last-Event-ID", "not an id this stream issued"),
                  "Last-Event-ID is not an id this stream issued");
        return;
    }
    pthread_mutex_lock(&s->mu);
    bool refused = stream__over_cap(s, r);
    pthread_mutex_unlock(&s->mu);
    if (refused) {
        free(resume);
        return;
    }
    sse_client *c = xcalloc(1, sizeof *c);
    c->s = s;
    snprintf(c->sub, sizeof c->sub, "%s", r->who.sub);
    snprintf(c->addr, sizeof c->addr, "%s", r->client);
    c->conn = r->conn;
    c->resume = resume;
    c->last_write = clock_mono_s();
    c->expires = auth_add_leeway(r->who.exp);
    buf_append_str(&c->pending, "retry: 3000\n\n");
    pthread_mutex_lock(&s->mu);
    uint64_t oldest = s->head > s->cap ? s->head - s->cap : 0;
    if (resume) {
        c->next_seq = oldest;
        for (int p = 0; p < s->nparts; p++)
            if (resume[p] < s->lost_below[p])
                c->reset_due = true;
    } else {
        c->next_seq = s->head; /* new subscribers get changes from now on */
    }
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    pthread_mutex_unlock(&s->mu);
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream__read, c, stream__free);
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    r->status = 200;
    r->sse = true;
    r->stream_response = resp;
}
