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

/* After COMMIT, in its own transaction: publish and delete the outbox rows
 * whose ids are in `outbox_ids` (a begun, not yet ended pg_array; nothing
 * when empty), waiting for Kafka. For the idle camera-offline sweep. A
 * failure is logged: the rows stay for the sweep. */
void worker_publish_relay(worker *w, pg_array *outbox_ids);

/* The batch's relay, without a transaction of its own: after COMMIT, read
 * the rows `outbox_ids` (as above) and produce them, without waiting; they
 * are deleted once acknowledged, by worker_publish_commit_sql() in the next
 * batch's transaction or worker_publish_tidy(). A failure is logged: the
 * rows stay for the sweep. */
void worker_publish_outbox(worker *w, pg_array *outbox_ids);

/* Before COMMIT, after worker_publish_flush(): into `sql` the statement that
 * ends the batch's transaction: COMMIT, preceded by the DELETE of the
 * outbox rows published earlier and since acknowledged. True when it
 * deletes some. After that COMMIT succeeded, call worker_publish_committed();
 * when it failed the rows are deleted by the next attempt. */
bool worker_publish_commit_sql(worker *w, buf *sql);
void worker_publish_committed(worker *w);

/* Idle (`now` false: only when the oldest was published over a second ago,
 * so no batch came to carry it) and at shutdown (`now` true): wait for the
 * acknowledgements in flight and delete the acknowledged rows on their own. */
void worker_publish_tidy(worker *w, bool now);

/* Forget what is pending (rows left stay for the sweep). */
void worker_publish_free(worker *w);

#endif
