/* http_conn.h - the request-header deadline of the HTTP servers (http_conn.c;
 * ruth-api and ruth-ingest, through http_server.h).
 *
 * libmicrohttpd's MHD_OPTION_CONNECTION_TIMEOUT is an idle timeout: every
 * byte restarts it, so a client trickling one header byte a second holds
 * its connection forever. This module gives each connection a deadline for
 * its request headers that bytes do not extend: libmicrohttpd tells us when
 * a connection opens and closes (MHD_OPTION_NOTIFY_CONNECTION), the request
 * callback tells us when the headers are complete, and a watchdog thread
 * shuts down (shutdown(2), never close(2): libmicrohttpd still owns the
 * socket and closes it itself) every connection still without complete
 * headers after the deadline. After each answer the next request on a
 * kept-alive connection gets a fresh deadline, so an idle keep-alive
 * connection also ends then. */
#ifndef RUTH_HTTP_CONN_H
#define RUTH_HTTP_CONN_H

#include "metrics.h"

#include <microhttpd.h>

typedef struct http_conn http_conn;

/* Start the watchdog with a deadline of `header_timeout_sec` seconds;
 * `expired` (borrowed, may be NULL) counts the connections it ended. */
http_conn *http_conn_new(int header_timeout_sec, metric *expired);
/* Stop the watchdog and free. Call only after the daemon stopped (every
 * connection is closed by then). Accepts NULL. */
void http_conn_free(http_conn *t);
/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the http_conn. */
void http_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                      enum MHD_ConnectionNotificationCode code);
/* The request headers of `conn` are complete: no deadline until the answer. */
void http_conn_headers_done(http_conn *t, struct MHD_Connection *conn);
/* The answer on `conn` is done: the next request's headers are due within
 * the deadline from now. */
void http_conn_request_done(http_conn *t, struct MHD_Connection *conn);

#endif
