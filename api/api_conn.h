/* api_conn.h - the request-header deadline of ruth-api (api_conn.c).
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
#ifndef RUTH_API_CONN_H
#define RUTH_API_CONN_H

#include "metrics.h"

#include <microhttpd.h>

typedef struct api_conn api_conn;

/* Start the watchdog with a deadline of `header_timeout_sec` seconds;
 * `expired` (borrowed, may be NULL) counts the connections it ended. */
api_conn *api_conn_new(int header_timeout_sec, metric *expired);
/* Stop the watchdog and free. Call only after the daemon stopped (every
 * connection is closed by then). Accepts NULL. */
void api_conn_free(api_conn *t);
/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the api_conn. */
void api_conn_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                     enum MHD_ConnectionNotificationCode code);
/* The request headers of `conn` are complete: no deadline until the answer. */
void api_conn_headers_done(api_conn *t, struct MHD_Connection *conn);
/* The answer on `conn` is done: the next request's headers are due within
 * the deadline from now. */
void api_conn_request_done(api_conn *t, struct MHD_Connection *conn);

#endif
