/* api_response.h - what a handler answers: JSON bodies and the contract's
 * error body (api_response.c).
 *
 * Handlers fill r->status and r->out through these; they never talk to
 * libmicrohttpd themselves (api_http.c queues the response). */
#ifndef RUTH_API_RESPONSE_H
#define RUTH_API_RESPONSE_H

#include "api_context.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

/* Respond with `status` and a JSON body. api_json_text copies `len` bytes
 * of ready JSON; api_json_steal takes ownership of `body` (jansson
 * reference; NULL or unencodable becomes a 500). */
void api_json_text(api_req *r, unsigned status, const char *json, size_t len);
void api_json_steal(api_req *r, unsigned status, json_t *body);
/* api_json_text of the JSON text in row 0, column 0 of `res` (borrowed). */
void api_json_row(api_req *r, unsigned status, const PGresult *res);
void api_no_content(api_req *r);
/* The contract's error body {error, error_description, status_code, details,
 * request_id, timestamp}. `details` (may be NULL) is stolen. */
void api_error(api_req *r, unsigned status, const char *code, json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
