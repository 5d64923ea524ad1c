/* ingest_codecs.c - see ingest_codecs.h. */
#include "ingest_codecs.h"

#include "xmalloc.h"

#include <stdlib.h>

void ingest_codecs_init(ingest_codecs *cs, const char *registry_url)
{
    pthread_mutex_init(&cs->mu, NULL);
    cs->free = NULL;
    cs->nfree = cs->cap = 0;
    cs->registry_url = registry_url;
}

void ingest_codecs_free(ingest_codecs *cs)
{
    for (size_t i = 0; i < cs->nfree; i++)
        codec_destroy(cs->free[i]);
    free(cs->free);
    cs->free = NULL;
    cs->nfree = cs->cap = 0;
    pthread_mutex_destroy(&cs->mu);
}

codec *ingest_codecs_take(ingest_codecs *cs, char *err, size_t errsz)
{
    codec *c = NULL;
    pthread_mutex_lock(&cs->mu);
    if (cs->nfree)
        c = cs->free[--cs->nfree];
    pthread_mutex_unlock(&cs->mu);
    return c ? c : codec_new(cs->registry_url, err, errsz);
}

void ingest_codecs_put(ingest_codecs *cs, codec *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&cs->mu);
    if (cs->nfree == cs->cap) {
        cs->cap = cs->cap ? cs->cap * 2 : 8;
        cs->free = xrealloc(cs->free, cs->cap * sizeof *cs->free);
    }
    cs->free[cs->nfree++] = c;
    pthread_mutex_unlock(&cs->mu);
}
