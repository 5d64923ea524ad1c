/* codec_arena.c - see codec_arena.h. */
#include "codec_arena.h"

#include "xmalloc.h"

#include <stdlib.h>
#include <string.h>

struct codec_arena {
    struct codec_arena *next; /* further chunks, only after the first fills up */
    struct codec_arena *cur;  /* chunk being filled (in the head only) */
    size_t used, cap;
    max_align_t data[]; /* aligned storage */
};

/* Pathological inputs (many tiny items) chain more chunks behind the first. */
codec_arena *codec_arena_new(size_t hint)
{
    size_t cap = hint < 512 ? 512 : hint;
    codec_arena *a = xmalloc(sizeof *a + cap);
    a->next = NULL;
    a->cur = a;
    a->used = 0;
    a->cap = cap;
    return a;
}

static void *codec_arena__take(codec_arena *a, size_t n, size_t align)
{
    codec_arena *c = a->cur;
    size_t off = (c->used + align - 1) & ~(align - 1);
    if (off > c->cap || n > c->cap - off) {
        size_t cap = c->cap * 2 > n ? c->cap * 2 : n;
        codec_arena *nc = xmalloc(sizeof *nc + cap);
        nc->cur = NULL;
        nc->cap = cap;
        nc->next = a->next; /* chained behind the head, whose address is the handle */
        a->next = nc;
        a->cur = c = nc;
        off = 0;
    }
    c->used = off + n;
    return (char *)c->data + off;
}

void *codec_arena_alloc(codec_arena *a, size_t n)
{
    return codec_arena__take(a, n, _Alignof(max_align_t));
}

char *codec_arena_strndup(codec_arena *a, const char *s, size_t n)
{
    char *p = codec_arena__take(a, n + 1, 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void codec_arena_free(void *arena)
{
    codec_arena *a = arena;
    while (a) {
        codec_arena *n = a->next;
        free(a);
        a = n;
    }
}
