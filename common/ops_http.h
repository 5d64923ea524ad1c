/* ops_http.h - /health, /ready and /metrics for long-running processes.
 *
 * Runs libmicrohttpd on its own thread. /health answers 200 while the process
 * is alive (with the components the health callback reports), /ready asks the
 * ready callback (503 with its reason while not ready), /metrics renders the
 * registry. */
#ifndef RUTH_OPS_HTTP_H
#define RUTH_OPS_HTTP_H

#include "metrics.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct ops_http ops_http;

/* Return true when ready; otherwise write a short reason into `reason`.
 * Called on the HTTP thread: must be thread-safe and quick. */
typedef bool (*ops_http_ready_fn)(void *arg, char *reason, size_t reasonsz);

/* Start serving on 0.0.0.0:`port` (0 picks a free port; see ops_http_port()).
 * `reg` and `arg` are borrowed until ops_http_stop(). Returns NULL with
 * errstr filled when the port cannot be bound. */
/* libmicrohttpd's error log (MHD_OPTION_EXTERNAL_LOGGER) as JSON warnings. */
void ops_http_mhd_log(void *cls, const char *fmt, va_list ap);

ops_http *ops_http_start(int port, metrics *reg, ops_http_ready_fn ready, void *arg, char *errstr,
                         size_t errsz);
int ops_http_port(const ops_http *h);
void ops_http_stop(ops_http *h); /* accepts NULL */

#endif
