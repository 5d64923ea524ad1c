/* vas_double.c - ruth-vas-double: main, the HTTP plumbing (bounded bodies,
 * latency, dropped connections, injected failures) and the call log.
 *
 * libmicrohttpd runs one thread per connection, so a call told to wait
 * (POST /_control/latency) holds up only its own connection; the wait
 * happens before the state's mutex is taken. */
#include "vas_double.h"

#include "clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define VAS_DOUBLE_MAX_BODY (64 * 1024)

/* The request body as it arrives. */
typedef struct vas_double_conn {
    char *buf;
    size_t len;
    bool too_big;
} vas_double_conn;

void vas_double__error(vas_double_req *r, unsigned status, const char *code, const char *desc)
{
    char ts[CLOCK_ISO8601_LEN];
    vas_double__now_iso(ts, sizeof ts);
    vas_double__json(r, status,
                     json_pack("{s:s, s:s, s:i, s:s, s:s}", "error", code, "error_description",
                               desc, "status_code", (int)status, "request_id", r->request_id,
                               "timestamp", ts));
}

void vas_double__json(vas_double_req *r, unsigned status, json_t *obj)
{
    json_decref(r->json);
    r->json = obj;
    r->status = status;
    r->media = NULL;
}

void vas_double__iso_at(int64_t wall_us, char *out, size_t n)
{
    clock_format_iso8601_ms(wall_us, out, n);
}

void vas_double__now_iso(char *out, size_t n)
{
    clock_format_iso8601_ms(clock_wall_us(), out, n);
}

int64_t vas_double__now_ms(void)
{
    return clock_mono_ms();
}

void vas_double__random_hex(vas_double *d, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    for (; i + 1 < n && i < 32; i++) {
        /* xorshift64: unpredictable enough for a test double's tokens. */
        d->rng ^= d->rng << 13;
        d->rng ^= d->rng >> 7;
        d->rng ^= d->rng << 17;
        out[i] = hex[d->rng & 15];
    }
    out[i] = '\0';
}

bool vas_double__match(const char *path, const char *pattern, char (*segs)[128], int nsegs)
{
    int seg = 0;
    while (*pattern) {
        if (*pattern == '*') {
            size_t len = strcspn(path, "/");
            if (len == 0 || seg >= nsegs)
                return false;
            if (segs)
                snprintf(segs[seg], 128, "%.*s", (int)(len > 127 ? 127 : len), path);
            seg++;
            path += len;
            pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *path == '\0';
}

vas_double_stream_cfg *vas_double__stream_cfg(vas_double *d, const char *id, bool create)
{
    for (size_t i = 0; i < d->streams.n; i++)
        if (strcmp(d->streams.v[i].id, id) == 0)
            return &d->streams.v[i];
    if (!create)
        return NULL;
    vas_double_stream_cfg *s = VAS_DOUBLE_PUSH(d->streams);
    snprintf(s->id, sizeof s->id, "%s", id);
    s->bookmark_delay_ms = -1;
    return s;
}

void vas_double__default_devices(vas_double *d)
{
    static const char *const names[] = {"Lobby", "Corridor", "Loading dock"};
    d->devices.n = 0;
    for (int i = 0; i < 3; i++) {
        vas_double_device *dev = VAS_DOUBLE_PUSH(d->devices);
        snprintf(dev->id, sizeof dev->id, "cam-%d", i + 1);
        snprintf(dev->name, sizeof dev->name, "CAM-%d", i + 1);
        snprintf(dev->display_name, sizeof dev->display_name, "%s", names[i]);
        snprintf(dev->location, sizeof dev->location, "%s", names[i]);
        snprintf(dev->stream_id, sizeof dev->stream_id, "str-%d", i + 1);
        snprintf(dev->state, sizeof dev->state, "LIVE");
    }
}

static void vas_double_record(vas_double *d, const vas_double_req *r, const char *query)
{
    if (json_array_size(d->calls) >= VAS_DOUBLE_MAX_CALLS) {
        size_t forget = VAS_DOUBLE_MAX_CALLS / 10;
        json_t *kept = json_array();
        for (size_t i = forget; i < json_array_size(d->calls); i++)
            json_array_append(kept, json_array_get(d->calls, i));
        json_decref(d->calls);
        d->calls = kept;
        d->calls_dropped += forget;
    }
    json_array_append_new(d->calls,
                          json_pack("{s:s, s:s, s:s?, s:i, s:O?, s:b, s:I}", "method", r->method,
                                    "path", r->path, "query", query, "status", (int)r->status,
                                    "body", r->body, "authorized", r->auth == VAS_DOUBLE_AUTH_OK,
                                    "at_ms", (json_int_t)(vas_double__now_ms() - d->start_ms)));
    fprintf(stderr, "ruth-vas-double: %s %s -> %u\n", r->method, r->path, r->status);
}

static vas_double_auth vas_double_check_token(vas_double *d, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return VAS_DOUBLE_AUTH_NONE;
    for (size_t i = 0; i < d->access.n; i++)
        if (strcmp(d->access.v[i].value, h + 7) == 0)
            return d->access.v[i].expires_ms > vas_double__now_ms() ? VAS_DOUBLE_AUTH_OK
                                                                    : VAS_DOUBLE_AUTH_EXPIRED;
    return VAS_DOUBLE_AUTH_NONE;
}

/* The injected failure for this path, if one applies (consumes one count). */
static bool vas_double_inject(vas_double *d, vas_double_req *r)
{
    if (d->fail.count == 0 || strncmp(r->path, d->fail.prefix, strlen(d->fail.prefix)) != 0)
        return false;
    if (d->fail.count > 0)
        d->fail.count--;
    vas_double__error(r, (unsigned)d->fail.status, d->fail.error, "failure injected by the test");
    return true;
}

static enum MHD_Result vas_double_send(vas_double_req *r)
{
    struct MHD_Response *resp;
    if (r->media) {
        resp =
            MHD_create_response_from_buffer(r->media_len, (void *)r->media, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", r->ctype);
    } else {
        char *s = r->json ? json_dumps(r->json, JSON_COMPACT) : NULL;
        size_t len = s ? strlen(s) : 0;
        resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
        if (s)
            MHD_add_response_header(resp, "Content-Type", "application/json");
    }
    if (r->accept_ranges)
        MHD_add_response_header(resp, "Accept-Ranges", "bytes");
    if (r->content_range[0])
        MHD_add_response_header(resp, "Content-Range", r->content_range);
    MHD_add_response_header(resp, "X-Request-ID", r->request_id);
    enum MHD_Result ok = MHD_queue_response(r->conn, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* Rebuilds the query string (decoded) for the call log: k=v&k=v. */
static enum MHD_Result vas_double_query_arg(void *cls, enum MHD_ValueKind kind, const char *k,
                                            const char *v)
{
    (void)kind;
    char *q = cls;
    size_t len = strlen(q);
    snprintf(q + len, 512 - len, "%s%s=%s", len ? "&" : "", k, v ? v : "");
    return MHD_YES;
}

/* A whole request has arrived: wait, drop or fail as told, else route. */
static enum MHD_Result vas_double_serve(vas_double *d, vas_double_req *r, vas_double_conn *c)
{
    bool control = strncmp(r->path, "/_control/", 10) == 0;
    json_t *body = NULL;
    if (c->len > 0) {
        r->body_present = true;
        body = json_loadb(c->buf, c->len, 0, NULL);
    }
    r->body = body;
    if (!control) {
        pthread_mutex_lock(&d->mu);
        int wait_ms = d->latency_ms;
        pthread_mutex_unlock(&d->mu);
        if (wait_ms > 0) {
            struct timespec ts = {wait_ms / 1000, (long)(wait_ms % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
            }
        }
    }
    pthread_mutex_lock(&d->mu);
    snprintf(r->request_id, sizeof r->request_id, "req_%llu", (unsigned long long)++d->seq);
    char qbuf[512] = "";
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, vas_double_query_arg, qbuf);
    const char *query = qbuf[0] ? qbuf : NULL;
    if (control) {
        if (c->too_big)
            vas_double__error(r, 413, "PAYLOAD_TOO_LARGE", "request body over 64 KiB");
        else
            vas_double_control_handle(d, r);
    } else {
        r->auth = vas_double_check_token(d, r->conn);
        if (d->drop > 0) {
            d->drop--;
            r->status = 0;
            vas_double_record(d, r, query);
            pthread_mutex_unlock(&d->mu);
            json_decref(body);
            return MHD_NO; /* libmicrohttpd closes the connection, no answer */
        }
        if (c->too_big)
            vas_double__error(r, 413, "PAYLOAD_TOO_LARGE", "request body over 64 KiB");
        else if (!vas_double_inject(d, r))
            vas_double_api_handle(d, r);
        vas_double_record(d, r, query);
    }
    pthread_mutex_unlock(&d->mu);
    enum MHD_Result ok = vas_double_send(r);
    json_decref(r->json);
    json_decref(body);
    return ok;
}

static enum MHD_Result vas_double_on_request(void *cls, struct MHD_Connection *conn,
                                             const char *url, const char *method,
                                             const char *version, const char *upload,
                                             size_t *upload_size, void **con_cls)
{
    (void)version;
    vas_double_conn *c = *con_cls;
    if (!c) {
        *con_cls = xcalloc(1, sizeof *c);
        return MHD_YES;
    }
    if (*upload_size) {
        if (c->len + *upload_size > VAS_DOUBLE_MAX_BODY) {
            c->too_big = true;
        } else if (!c->too_big) {
            c->buf = xrealloc(c->buf, c->len + *upload_size);
            memcpy(c->buf + c->len, upload, *upload_size);
            c->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    vas_double_req r = {.conn = conn, .method = method, .path = url};
    return vas_double_serve(cls, &r, c);
}

static void vas_double_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                    enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)conn, (void)why;
    vas_double_conn *c = *con_cls;
    if (c)
        free(c->buf);
    free(c);
    *con_cls = NULL;
}

static void vas_double_usage(FILE *f)
{
    fprintf(
        f,
        "usage: ruth-vas-double [--port N] [--listen ADDR] [--client-id ID] [--client-secret S]\n"
        "       [--token-lifetime SEC] [--snapshot-delay-ms MS] [--bookmark-delay-ms MS]\n"
        "A VAS-MS-V2 test double on 127.0.0.1 (--listen 0.0.0.0 in a container, as\n"
        "compose's trial profile runs it), with a control API under /_control.\n");
}

static bool vas_double_int_arg(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static bool vas_double_parse_args(int argc, char **argv, vas_double_conf *conf)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},
        {"listen", required_argument, NULL, 'l'},
        {"client-id", required_argument, NULL, 'i'},
        {"client-secret", required_argument, NULL, 's'},
        {"token-lifetime", required_argument, NULL, 't'},
        {"snapshot-delay-ms", required_argument, NULL, 'S'},
        {"bookmark-delay-ms", required_argument, NULL, 'B'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    bool ok = true;
    while (ok && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            ok = vas_double_int_arg(optarg, 0, 65535, &conf->port);
            break;
        case 'l':
            conf->listen = optarg;
            break;
        case 'i':
            conf->client_id = optarg;
            break;
        case 's':
            conf->client_secret = optarg;
            break;
        case 't':
            ok = vas_double_int_arg(optarg, 1, 7 * 86400, &conf->token_lifetime_s);
            break;
        case 'S':
            ok = vas_double_int_arg(optarg, 0, 3600000, &conf->snapshot_delay_ms);
            break;
        case 'B':
            ok = vas_double_int_arg(optarg, 0, 3600000, &conf->bookmark_delay_ms);
            break;
        case 'h':
            vas_double_usage(stdout);
            exit(0);
        default:
            ok = false;
        }
    }
    if (ok && optind < argc)
        ok = false;
    if (!ok)
        vas_double_usage(stderr);
    return ok;
}

static void vas_double_free(vas_double *d)
{
    for (size_t i = 0; i < d->snapshots.n; i++)
        json_decref(d->snapshots.v[i].obj);
    for (size_t i = 0; i < d->bookmarks.n; i++)
        json_decref(d->bookmarks.v[i].obj);
    free(d->snapshots.v);
    free(d->bookmarks.v);
    free(d->access.v);
    free(d->refresh.v);
    free(d->streams.v);
    free(d->devices.v);
    json_decref(d->calls);
    pthread_mutex_destroy(&d->mu);
}

int main(int argc, char **argv)
{
    vas_double d = {.conf = {0, "ruth", "ruth-secret", 3600, 0, 1500, "127.0.0.1"}};
    if (!vas_double_parse_args(argc, argv, &d.conf))
        return 2;
    pthread_mutex_init(&d.mu, NULL);
    d.calls = json_array();
    d.start_ms = vas_double__now_ms();
    d.start_wall_us = clock_wall_us();
    d.rng = (uint64_t)clock_wall_us() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
    vas_double__default_devices(&d);

    /* Signals are taken by sigwait() below; every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.conf.port)};
    if (inet_pton(AF_INET, d.conf.listen, &addr.sin_addr) != 1) {
        fprintf(stderr, "ruth-vas-double: --listen %s is not an IPv4 address\n", d.conf.listen);
        vas_double_free(&d);
        return 2;
    }
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG,
        (uint16_t)d.conf.port, NULL, NULL, vas_double_on_request, &d, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, vas_double_on_completed, &d,
        MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!daemon) {
        fprintf(stderr, "ruth-vas-double: cannot listen on %s:%d: %s\n", d.conf.listen, d.conf.port,
                strerror(errno));
        vas_double_free(&d);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    printf("ruth-vas-double listening on %s:%u\n", d.conf.listen, info ? (unsigned)info->port : 0u);
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "ruth-vas-double: signal %d, stopping\n", sig);
    MHD_stop_daemon(daemon);
    vas_double_free(&d);
    return 0;
}
