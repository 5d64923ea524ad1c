/* worker_publish.h - Event publishing, flush, outbox relay (worker_publish.c).
 * worker_outbox_sweep is declared in worker.h, for worker_main.c. */
#ifndef RUTH_WORKER_PUBLISH_H
#define RUTH_WORKER_PUBLISH_H

#include "pg_array.h"
#include "worker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Produce the Event of every new (`inserted`) event whose `qualifies`
 * equals `qualifying`, created at `created_us`. An Event that cannot be
 * encoded is logged and skipped. 0, or -1 when the producer refused one. */
int worker_publish_events(worker *w, const worker_event *ev, size_t n, bool qualifying,
                          int64_t created_us);

/* Wait for the acknowledgement of everything produced; -1 if it did not
 * come within OUTBOX_FLUSH_TIMEOUT_MS or any delivery failed. */
int worker_publish_flush(worker *w);

/* After COMMIT: publish and delete the outbox rows whose ids are in
 * `outbox_ids` (a begun, not yet ended pg_array; nothing when empty). A
 * failure is logged: the rows stay for the sweep. */
void worker_publish_relay(worker *w, pg_array *outbox_ids);

#endif
