/* http_server.h - the generic parts of an HTTP service on libmicrohttpd
 * (http_server.c), shared by ruth-api and ruth-ingest so both hold the same
 * limits the same way:
 *   - the daemon: thread pool, epoll, connection cap, per-address cap, idle
 *     timeout, and the request-header deadline (http_conn.h) that trickled
 *     bytes do not extend;
 *   - per request: the X-Request-ID (the client's when it is sane, else a
 *     random UUID), the client address, a raw path holding %00 or an encoded
 *     '/', ambiguous body framing (RFC 9112 §6), and the body collected up to
 *     a limit (http_upload_step) so an endless or oversized upload never
 *     holds a thread;
 *   - the access log line.
 * What a service answers, and how its error bodies look, stays its own. */
#ifndef RUTH_HTTP_SERVER_H
#define RUTH_HTTP_SERVER_H

#include "buf.h"
#include "http_conn.h"
#include "metrics.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct http_server_limits {
    int max_connections;        /* refused beyond */
    int max_connections_per_ip; /* 0 = no limit */
    int idle_timeout_sec;       /* nothing sent or taken for this long: closed */
    int header_timeout_sec;     /* request headers complete within this */
} http_server_limits;

typedef struct http_server_callbacks {
    MHD_AccessHandlerCallback on_request;
    MHD_RequestCompletedCallback on_completed;
    /* MHD_OPTION_URI_LOG_CALLBACK: sees the raw path; may be NULL */
    void *(*on_uri)(void *cls, const char *uri, struct MHD_Connection *conn);
    void *cls; /* passed to all three, borrowed until http_server_stop() */
} http_server_callbacks;

/* Start the daemon on `port` (0: any free port) with `threads` threads and
 * the request-header deadline; `header_timeouts` (borrowed, may be NULL)
 * counts the connections that deadline ended. On success *conns holds the
 * deadline watchdog, which the request callbacks pass to
 * http_conn_headers_done() and http_conn_request_done(); NULL with err
 * filled when the watchdog or the listener cannot start. */
struct MHD_Daemon *http_server_start(int port, int threads, const http_server_limits *lim,
                                     metric *header_timeouts, const http_server_callbacks *cb,
                                     http_conn **conns, char *err, size_t errsz);
/* The port the daemon listens on, or -1. */
int http_server_port(struct MHD_Daemon *d);
/* Stop the daemon (waits for running requests), then free the watchdog.
 * Accepts NULLs. */
void http_server_stop(struct MHD_Daemon *d, http_conn *conns);

/* The request's X-Request-ID when it is 1..63 characters of [A-Za-z0-9-_.:],
 * else a fresh random UUID; `out` holds at least 64 bytes. */
void http_server_request_id(struct MHD_Connection *conn, char *out, size_t n);
/* The client's address as text ("unknown" when libmicrohttpd has none). */
void http_server_client_addr(struct MHD_Connection *conn, char *out, size_t n);
/* A raw path segment holding "%00" or "%2f": decoded, the first truncates
 * the path and the second re-splits it. Call from the URI log callback,
 * the only place the path is seen before it is decoded. */
bool http_server_path_forged(const char *uri);

/* A request whose body framing cannot be trusted. */
typedef struct http_framing_problem {
    unsigned status;     /* 400 (ambiguous length: close after) or 501 */
    const char *code;    /* "VALIDATION_ERROR" or "NOT_IMPLEMENTED" */
    const char *field;   /* the header to name in the error details */
    const char *problem; /* what is wrong with it */
    const char *message; /* the error description */
} http_framing_problem;
/* RFC 9112 §6.1/§6.3: true with *p filled when two Content-Length headers
 * disagree or one comes with Transfer-Encoding (a smuggling attempt: answer
 * and close), or a transfer coding other than chunked is used (it cannot be
 * read: answer at once rather than wait on it). Static strings. */
bool http_server_framing_refused(struct MHD_Connection *conn, http_framing_problem *p);

/* The body of one request, as libmicrohttpd hands it over. */
typedef struct http_upload {
    bool too_large; /* announced or grown past the limit */
    bool started;   /* some of the body arrived */
    bool answered;  /* a response was queued before the body was read */
} http_upload;

typedef enum {
    HTTP_UPLOAD_MORE,     /* the chunk was taken (or dropped): return MHD_YES */
    HTTP_UPLOAD_COMPLETE, /* the whole body is in `body`: handle the request */
    HTTP_UPLOAD_REFUSE,   /* announced too large, none of it read: answer 413 now
                             (u->answered is set) and close after the answer */
    HTTP_UPLOAD_ABORT,    /* passed the limit mid-upload: return MHD_NO (closes) */
} http_upload_result;

/* On the request's first callback: a Content-Length above `max` is refused
 * before any of the body is read (the next http_upload_step says REFUSE). */
void http_upload_begin(http_upload *u, struct MHD_Connection *conn, long long max);
/* One later call of the access handler: appends the chunk to `body` up to
 * `max` bytes in all and says what the caller does next. `request_id` only
 * names the request in the warning logged on ABORT. */
http_upload_result http_upload_step(http_upload *u, buf *body, const char *upload,
                                    size_t *upload_size, long long max, const char *request_id);

/* The access log line: info (warn for 5xx) with method, status and
 * duration; the method is JSON-escaped (it is the client's text). */
void http_server_access_log(const char *request_id, const char *method, const char *url,
                            unsigned status, double ms);

#endif
