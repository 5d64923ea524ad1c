/* worker_offline.h - camera-offline incidents (worker_offline.c).
 *
 * Arrival times live in PostgreSQL (camera_activity, the database's clock),
 * never in a worker: every batch refreshes its cameras' rows and ends their
 * ongoing camera_offline violations in its own transaction; the periodic
 * sweep that opens them runs in exactly one replica at a time, the one
 * holding a session advisory lock (WORKER_OFFLINE_LOCK_KEY) on its
 * connection. The lock goes with the connection, so when that replica dies
 * PostgreSQL releases it and another replica's next sweep takes over; the
 * one-ongoing-per-(camera, type) index makes a second incident impossible
 * even if two sweeps ever overlapped. */
#ifndef RUTH_WORKER_OFFLINE_H
#define RUTH_WORKER_OFFLINE_H

#include "worker.h"

#include "pg_array.h"

#include <stddef.h>

/* The advisory lock of the offline sweep ("ruth" + 2: ruth-migrate holds + 0,
 * ruth_ensure_event_partitions + 1). */
#define WORKER_OFFLINE_LOCK_KEY 7299496881640002LL

/* The violation type of an offline camera. */
#define WORKER_OFFLINE_TYPE "camera_offline"

/* In the batch transaction, after the events are stored: record that new
 * results (ev[i].inserted; a redelivery is not an arrival) of the batch's
 * cameras arrived now, end their ongoing camera_offline violations (ended_at = now)
 * and put the ViolationChange (`updated`) of each in the outbox, appending
 * the outbox row ids to outbox_ids. 0, or -1 with err filled. */
int worker_offline_touch(worker *w, const worker_event *ev, size_t n, pg_array *outbox_ids,
                         char *err, size_t errsz);

/* Idle housekeeping: when this replica holds (or now takes) the sweep lock,
 * open a camera_offline violation for every camera silent past its limit
 * and end those of cameras stopped through stop-inference, deactivated or
 * no longer monitored, publishing their ViolationChanges. */
void worker_offline_sweep(worker *w);

#endif
