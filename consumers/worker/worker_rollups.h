/* worker_rollups.h - event_rollups, event_rollups_hourly,
 * event_rollups_camera, event_rollups_type, model_rollups and model_cameras
 * (worker_rollups.c). */
#ifndef RUTH_WORKER_ROLLUPS_H
#define RUTH_WORKER_ROLLUPS_H

#include "worker.h"

#include <stddef.h>

/* Add the events of `ev` marked `inserted` to the per-minute and per-hour
 * camera rollups, the summary's per-block ones and the per-model ones, inside the caller's
 * transaction (rows locked in a fixed order, so concurrent workers do not deadlock). 0, or -1 with
 * err filled. */
int worker_rollups_write(worker *w, const worker_event *ev, size_t n, char *err, size_t errsz);

#endif
