/* codec_arena.h - the bump allocator behind decoded messages: every string
 * and array of one decoded message lives in one arena, released by one
 * codec_arena_free(). A leaf (only xmalloc). Not thread-safe: one arena is
 * filled by one decode. */
#ifndef RUTH_CODEC_ARENA_H
#define RUTH_CODEC_ARENA_H

#include <stddef.h>

typedef struct codec_arena codec_arena;

/* An arena whose first chunk holds `hint` bytes (at least 512): sized from
 * the input so that a decode normally needs this one malloc. Never NULL
 * (out of memory aborts). Release with codec_arena_free(). */
codec_arena *codec_arena_new(size_t hint);
/* n bytes aligned for any type; owned by the arena. */
void *codec_arena_alloc(codec_arena *a, size_t n);
/* A NUL-terminated copy of n bytes at s; owned by the arena. */
char *codec_arena_strndup(codec_arena *a, const char *s, size_t n);
/* Release the arena and everything taken from it. Takes a void * because
 * the message decoders (codec.h) hand the arena out as one; accepts NULL. */
void codec_arena_free(void *arena);

#endif
