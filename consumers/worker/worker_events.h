/* worker_events.h - storing a batch's events exactly once (worker_events.c).
 *
 * Where an event's idempotency key and id come from (worker_events_identify,
 * declared in worker.h for worker_main.c), the COPY fast path and the staged
 * redelivery path. */
#ifndef RUTH_WORKER_EVENTS_H
#define RUTH_WORKER_EVENTS_H

#include "worker.h"

#include <stdbool.h>
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

/* The rules-first order of worker_batch.c, for a batch taken to be all new
 * (the normal case). worker_events_mark_new() marks one event of each
 * distinct id `inserted` (a result repeated inside the batch is one) and
 * returns how many. worker_events_copy_linked() COPYs those, with their
 * violation_id, straight into `events`, inside the caller's savepoint; when
 * some were stored before (a redelivery: unique violation) *redelivery is
 * set and the caller rolls back to its savepoint and takes
 * worker_events_store(). 0, or -1 with err filled. */
size_t worker_events_mark_new(worker_event *ev, size_t n);
/* Work done while PostgreSQL processes the COPY (after the last row is
 * sent, before its answer is read): CPU and Kafka only, no statement on
 * w->db. It runs whether or not the COPY then succeeds. */
typedef struct worker_events_meanwhile {
    void (*fn)(void *arg);
    void *arg;
} worker_events_meanwhile;
int worker_events_copy_linked(worker *w, worker_event *ev, size_t n,
                              const worker_events_meanwhile *meanwhile, bool *redelivery, char *err,
                              size_t errsz);

#endif
