/* b64url.h - base64url without padding (RFC 4648 §5), as JWTs and the API's
 * page cursors use it. */
#ifndef RUTH_B64URL_H
#define RUTH_B64URL_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>

/* Append the encoding of n bytes at p to out. */
void b64url_encode(buf *out, const void *p, size_t n);
/* Append the n characters at s, decoded, to out; false on a character outside
 * the alphabet, '=' padding, an impossible length or non-zero trailing bits
 * (only the canonical encoding is accepted). out may hold partial output on
 * failure. */
bool b64url_decode(const char *s, size_t n, buf *out);

#endif
