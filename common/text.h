/* text.h - checks and conversions on text: UTF-8, UUIDs, hex, decimals.
 *
 * Pure functions without allocation; output buffers are the caller's. */
#ifndef RUTH_TEXT_H
#define RUTH_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool text_utf8_valid(const char *s, size_t n);
/* Length (1..4) of the well-formed UTF-8 sequence starting at s, of at most n
 * bytes; 0 if it is not one (or n is 0). */
size_t text_utf8_seq_len(const char *s, size_t n);
/* Shorten the NUL-terminated s until it is valid UTF-8 (cuts a character
 * that truncation split); returns the new length. */
size_t text_utf8_trim(char *s);
/* Characters (code points) in valid UTF-8 text: bytes that are not
 * continuation bytes. */
size_t text_utf8_chars(const char *s);

#define TEXT_UUID_LEN 36 /* 8-4-4-4-12 hex digits, without the NUL */
/* s is a UUID in text form (either case); NULL is not. */
bool text_uuid_valid(const char *s);
/* Canonical lower-case form of the UUID s into out; false if s is not one. */
bool text_uuid_normalize(const char *s, char out[TEXT_UUID_LEN + 1]);
/* The 16 bytes of the UUID s; false if s is not one. */
bool text_uuid_parse(const char *s, unsigned char u[16]);
/* 16 bytes as canonical lower-case UUID text. */
void text_uuid_format(const unsigned char u[16], char out[TEXT_UUID_LEN + 1]);

/* The decimal of v written at s (no NUL; at most 20 bytes); its length. */
size_t text_i64(char *s, int64_t v);
/* n bytes as 2n lower-case hex digits and a NUL into out (2n + 1 bytes). */
void text_hex_encode(const void *p, size_t n, char *out);
/* 2n hex digits (either case) at s into n bytes; false on a non-hex digit. */
bool text_hex_decode(const char *s, size_t n, unsigned char *out);

#endif
