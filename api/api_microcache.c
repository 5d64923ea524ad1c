/* api_microcache.c - the microcache: a fixed table of answers hashed by key,
 * one lock, stale-while-refreshing so an expiring entry under load does not
 * become a stampede of identical slow queries. */
#include "api_microcache.h"

#include "hash.h"

#include "xmalloc.h"

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
