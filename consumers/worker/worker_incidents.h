/* worker_incidents.h - rule state, violations and evidence of a batch
 * (worker_incidents.c). */
#ifndef RUTH_WORKER_INCIDENTS_H
#define RUTH_WORKER_INCIDENTS_H

#include "pg_array.h"
#include "worker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Steps 4-6 of worker_batch.c, inside the caller's transaction: run the new
 * (`inserted`) qualifying events of `ev` through their rules against the
 * locked rule state of their (camera, type); end, grow and open violations;
 * request evidence for the opened ones; link the events to their violation
 * (sets ev[i].violation_id; with `link` also on the stored rows, else the
 * caller COPYs them afterwards with it); write the state back; put a
 * ViolationChange per changed violation (occurred when written) and the
 * EvidenceRequests in the outbox, adding the ids of those outbox rows to
 * `outbox_ids` (a begun pg_array) and their number to changes[0] (opened)
 * and changes[1] (updated), for the metrics once committed. Three round
 * trips whatever the batch size (none when no event qualifies). 0, or -1
 * with err filled. */
int worker_incidents_write(worker *w, worker_event *ev, size_t n, bool link, pg_array *outbox_ids,
                           size_t changes[2], char *err, size_t errsz);

#endif
