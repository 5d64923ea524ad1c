/* api_params.h - query and body validation (api_params.c).
 *
 * Every parser records what was wrong under the parameter's name in
 * r->details; handlers parse everything first, then call param_reject() so
 * one 400 VALIDATION_ERROR names every bad field at once. Returned strings
 * are borrowed from libmicrohttpd for the request's lifetime. */
#ifndef RUTH_API_PARAMS_H
#define RUTH_API_PARAMS_H

#include "api_context.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Query parameter, or NULL when absent. Invalid UTF-8 is reported as a
 * validation error and NULL returned. */
const char *param_str(api_req *r, const char *name);
/* Parsers record a validation error under `name` and return false when the
 * value is present but bad; absent values leave *out as the default. */
bool param_int(api_req *r, const char *name, long min, long max, long *out);
bool param_double(api_req *r, const char *name, double min, double max, double *out, bool *set);
/* ISO 8601 with offset, or integer microseconds; written out as text the
 * database parses ("2026-01-02T03:04:05.123456+00:00"). */
bool param_time(api_req *r, const char *name, char *out, size_t outsz);
/* One of "a|b|c"; *out stays `dflt` when absent. */
bool param_enum(api_req *r, const char *name, const char *choices, const char **out);
bool param_uuid(api_req *r, const char *name, const char **out);
bool param_bool(api_req *r, const char *name, const char **out); /* "true"/"false" text */
/* Record a validation error for `field`. */
void param_invalid(api_req *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Record that the required `field` is absent ("is required"). */
void param_missing(api_req *r, const char *field);
/* If any validation error was recorded, respond 400 and return true:
 * MISSING_REQUIRED_FIELD when every error is a param_missing() one, else
 * VALIDATION_ERROR. */
bool param_reject(api_req *r);
/* Every query parameter must be one of `known` ("a|b|c"; "" or NULL: none
 * at all). Otherwise respond 400 VALIDATION_ERROR naming each unknown one
 * (in details and the description) and return false. */
bool param_only(api_req *r, const char *known);
/* Path segment `seg` when it is a UUID; else respond 400 INVALID_PARAMETER
 * ("<what> id must be a UUID") and return NULL. */
const char *api_path_uuid(api_req *r, int seg, const char *what);
/* Record "unknown field" for every member of `body` not in "a|b|c". */
void param_known_fields(api_req *r, json_t *body, const char *fields);

/* Parse the request body as a JSON object (depth- and size-limited); NULL
 * after responding 400 VALIDATION_ERROR. The caller json_decref()s it. */
json_t *api_body_object(api_req *r);

#endif
