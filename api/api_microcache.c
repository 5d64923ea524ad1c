/* api_microcache.c - the microcache: a fixed table of answers hashed by key,
 * one lock, stale-while-refreshing so an expiring entry under load does not
 * become a stampede of identical slow queries. */
#include "api_microcache.h"

#include "hash.h"

#include "xmalloc.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MICROCACHE_SLOTS 128
#define MICROCACHE_REFRESH_SEC 5.0 /* longest a stale answer is served while refreshing */

typedef struct mc_entry {
    uint64_t hash;
    char *key;
    double at;
    char *body;
    size_t len;
    char etag[32];
    double refresh_at; /* > 0 while a request recomputes it */
} mc_entry;

struct api_microcache {
    pthread_mutex_t mu;
    mc_entry slots[MICROCACHE_SLOTS];
};

api_microcache *api_microcache_new(void)
{
    api_microcache *mc = xcalloc(1, sizeof *mc);
    pthread_mutex_init(&mc->mu, NULL);
    return mc;
}

void api_microcache_free(api_microcache *mc)
{
    if (!mc)
        return;
    api_microcache_clear(mc);
    pthread_mutex_destroy(&mc->mu);
    free(mc);
}

bool api_microcache_get(api_microcache *mc, const char *key, double now, double ttl, buf *body,
                        char etag[32])
{
    bool hit = false;
    uint64_t h = hash_fnv1a64_str(key);
    pthread_mutex_lock(&mc->mu);
    mc_entry *e = &mc->slots[h % MICROCACHE_SLOTS];
    if (e->key && e->hash == h && !strcmp(e->key, key)) {
        double age = now - e->at;
        /* Fresh; or stale while one request refreshes it (no stampede of
         * identical slow queries when an entry expires under load). */
        bool refreshing = e->refresh_at > 0 && now - e->refresh_at < MICROCACHE_REFRESH_SEC;
        if (age < ttl || (refreshing && age < ttl + MICROCACHE_REFRESH_SEC)) {
            buf_set(body, e->body, e->len);
            memcpy(etag, e->etag, sizeof e->etag);
            hit = true;
        } else {
            e->refresh_at = now; /* this request refreshes it */
        }
    }
    pthread_mutex_unlock(&mc->mu);
    return hit;
}

void api_microcache_put(api_microcache *mc, char *key, double now, const void *body, size_t len,
                        const char etag[32])
{
    uint64_t h = hash_fnv1a64_str(key);
    pthread_mutex_lock(&mc->mu);
    mc_entry *e = &mc->slots[h % MICROCACHE_SLOTS];
    free(e->key);
    free(e->body);
    e->key = key; /* the cache takes the key */
    e->hash = h;
    e->at = now;
    e->body = xmalloc(len);
    memcpy(e->body, body, len);
    e->len = len;
    memcpy(e->etag, etag, sizeof e->etag);
    e->refresh_at = 0;
    pthread_mutex_unlock(&mc->mu);
}

void api_microcache_clear(api_microcache *mc)
{
    pthread_mutex_lock(&mc->mu);
    for (int i = 0; i < MICROCACHE_SLOTS; i++) {
        free(mc->slots[i].key);
        free(mc->slots[i].body);
        mc->slots[i].key = mc->slots[i].body = NULL;
    }
    pthread_mutex_unlock(&mc->mu);
}

static void microcache__encode(buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '.' || *p == '_' || *p == '~' || *p == '-') {
            buf_append_byte(out, *p);
        } else {
            buf_append_byte(out, '%');
            buf_append_byte(out, (unsigned char)hex[*p >> 4]);
            buf_append_byte(out, (unsigned char)hex[*p & 15]);
        }
    }
}

static int microcache__param_cmp(const void *a, const void *b)
{
    const api_microcache_param *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    if (!x->value || !y->value) /* no value sorts before any value */
        return (x->value != NULL) - (y->value != NULL);
    return strcmp(x->value, y->value);
}

void api_microcache_key(const char *path, api_microcache_param *params, size_t n, buf *out)
{
    microcache__encode(out, path);
    buf_append_byte(out, '?');
    if (n > 1)
        qsort(params, n, sizeof *params, microcache__param_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_append_byte(out, '&');
        microcache__encode(out, params[i].name);
        if (params[i].value) {
            buf_append_byte(out, '=');
            microcache__encode(out, params[i].value);
        }
    }
    buf_append_byte(out, 0);
}
