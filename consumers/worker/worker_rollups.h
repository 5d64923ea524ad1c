/* worker_rollups.h - event_rollups, event_rollups_hourly,
 * event_rollups_camera, event_rollups_type, model_rollups and model_cameras
 * (worker_rollups.c). */
#ifndef RUTH_WORKER_ROLLUPS_H
#define RUTH_WORKER_ROLLUPS_H

#include "pg_array.h"
#include "worker.h"

#include <stdbool.h>

#include <stddef.h>

/* Add the events of `ev` marked `inserted` to the per-minute and per-hour
 * camera rollups, the summary's per-block ones and the per-model ones, inside the caller's
 * transaction (rows locked in a fixed order, so concurrent workers do not deadlock). 0, or -1 with
 * err filled. */
int worker_rollups_write(worker *w, const worker_event *ev, size_t n, char *err, size_t errsz);

/* The same in two halves, so the first (CPU only, no I/O) can run while
 * PostgreSQL works on the batch's COPY: the statement's 21 array
 * parameters built from the `inserted` events, then sent. _exec and
 * _prep_free release what _prepare built (either is enough). */
#define WORKER_ROLLUPS_NPARAMS 21
typedef struct worker_rollups_prep {
    pg_array a[WORKER_ROLLUPS_NPARAMS];
    bool ready; /* prepared (possibly with nothing to write) */
    bool any;   /* a[] holds rows */
} worker_rollups_prep;
void worker_rollups_prepare(const worker_event *ev, size_t n, worker_rollups_prep *prep);
int worker_rollups_exec(worker *w, worker_rollups_prep *prep, char *err, size_t errsz);
void worker_rollups_prep_free(worker_rollups_prep *prep);

#endif
