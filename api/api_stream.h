/* api_stream.h - the consumer behind GET /violations/stream (api_stream.c).
 * The handler itself, h_violations_stream(), is declared in api_handlers.h. */
#ifndef RUTH_API_STREAM_H
#define RUTH_API_STREAM_H

#include "api_context.h"

#include <stddef.h>

/* Start the consumer thread that follows ruth.violations.v1 and keeps the
 * most recent `capacity` changes for Server-Sent Events clients. `a` is
 * borrowed for the stream's lifetime. NULL with err filled on failure. */
api_stream *api_stream_start(api *a, int capacity, char *err, size_t errsz);
void api_stream_stop(api_stream *s); /* accepts NULL; ends every open stream */
/* Wake every waiting stream (keep-alive and shutdown). */
void api_stream_kick(api_stream *s);

#endif
