/* worker_events.h - storing a batch's events exactly once (worker_events.c).
 *
 * Where an event's idempotency key and id come from (worker_events_identify,
 * declared in worker.h for worker_main.c), the COPY fast path and the staged
 * redelivery path. */
#ifndef RUTH_WORKER_EVENTS_H
#define RUTH_WORKER_EVENTS_H

#include "worker.h"

#include <stddef.h>

/* UUID (RFC 4122 version 5 style, SHA-1) of `key`: stable across retries. */
void worker_uuid_from_key(const char *key, char out[37]);

/* Store the events of `ev` exactly once, inside the caller's transaction: a
 * result repeated inside the batch is written once, a result stored before
 * (a redelivery) is skipped. Sets `inserted` on the events that are new and
 * their count in *ninserted. 0, or -1 with err filled (the transaction is
 * then unusable: roll back). */
int worker_events_store(worker *w, worker_event *ev, size_t n, size_t *ninserted, char *err,
                        size_t errsz);

#endif
