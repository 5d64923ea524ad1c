/* api_util.h - the text checks ruth-api applies to parameters, paths and
 * cursors, on top of common/text.h (the API's own rule: no NUL in text).
 *
 * They keep the api_is_ names the handlers and the unit tests call rather
 * than an api_util_ prefix. No dependency on the request. */
#ifndef RUTH_API_UTIL_H
#define RUTH_API_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Valid UTF-8 without NUL (PostgreSQL text cannot hold NUL). */
bool api_is_utf8(const char *s, size_t n);
/* 8-4-4-4-12 hexadecimal digits; false for NULL (text_uuid_valid). */
bool api_is_uuid(const char *s);
/* Whether `s` is one of "a|b|c". */
bool api_is_choice(const char *s, const char *choices);

#endif
