/* ingest_http.h - ruth-ingest's HTTP side (ingest_http.c): the request
 * lifecycle on common/http_server.h, the routes, authentication.
 *
 *   POST /v1/inference          runtime-role bearer token or the shared ingest key
 *   POST /v1/runtimes/register  the same credentials (ingest_register.h)
 *   GET  /health                200 while the process runs (Kafka's and the
 *                               database's state inside)
 *   GET  /ready                 200 while the inference topic's metadata
 *                               answers; the database only as a note
 *   GET  /metrics               Prometheus text */
#ifndef RUTH_INGEST_HTTP_H
#define RUTH_INGEST_HTTP_H

#include "ingest.h"

#include <stddef.h>

/* Register the request metrics and start the daemon on `port` (0: any
 * free port) with `threads` threads; `g` is borrowed until
 * ingest_http_stop(). false with err filled when it cannot listen. */
bool ingest_http_start(ingest *g, int port, int threads, char *err, size_t errsz);
int ingest_http_port(const ingest *g);
/* Stop the daemon (waits for running requests). Accepts one never started. */
void ingest_http_stop(ingest *g);

/* Whether the Authorization or X-Ingest-Key header value `presented`
 * equals `key`, in time independent of where they differ (both are hashed
 * first, so their lengths do not leak either). */
bool ingest_http_key_matches(const char *presented, const char *key);

#endif
