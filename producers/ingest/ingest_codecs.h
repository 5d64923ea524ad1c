/* ingest_codecs.h - codecs for ruth-ingest's HTTP threads (ingest_codecs.c).
 * A codec serves one thread at a time (codec.h), so a request takes one for
 * its validation and gives it back; they are made on first need, so there
 * are at most as many as requests ever validated at once. */
#ifndef RUTH_INGEST_CODECS_H
#define RUTH_INGEST_CODECS_H

#include "ingest.h"

#include <stddef.h>

/* `registry_url` (may be NULL) is borrowed until ingest_codecs_free(). */
void ingest_codecs_init(ingest_codecs *cs, const char *registry_url);
/* Release every codec; all must have been given back. */
void ingest_codecs_free(ingest_codecs *cs);
/* An idle codec, or a new one; NULL with err filled when a bundled schema
 * fails to load. Give it back with ingest_codecs_put(). */
codec *ingest_codecs_take(ingest_codecs *cs, char *err, size_t errsz);
void ingest_codecs_put(ingest_codecs *cs, codec *c);

#endif
