/* api_util.h - small leaf helpers every ruth-api module uses: the monotonic
 * clock and the text checks for parameters, paths and cursors.
 *
 * They keep the api_ names the handlers and the unit tests call (api_now,
 * api_is_*) rather than an api_util_ prefix; common/'s clock and text
 * modules are meant to replace them. No dependency on the request. */
#ifndef RUTH_API_UTIL_H
#define RUTH_API_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Monotonic seconds. */
double api_now(void);

/* Valid UTF-8 without NUL (PostgreSQL text cannot hold NUL). */
bool api_is_utf8(const char *s, size_t n);
/* 8-4-4-4-12 hexadecimal digits; false for NULL. */
bool api_is_uuid(const char *s);
/* Whether `s` is one of "a|b|c". */
bool api_is_choice(const char *s, const char *choices);

#endif
