/* worker_cache.h - connection, caches and partition housekeeping
 * (worker_cache.c). worker_db_connect, worker_caches_free and worker_maintain
 * are declared in worker.h, for worker_main.c. */
#ifndef RUTH_WORKER_CACHE_H
#define RUTH_WORKER_CACHE_H

#include "worker.h"

#include <stddef.h>
#include <stdint.h>

/* Reload the event-type map, the rules (with their schedule spans), the
 * zones and the cameras' sessions and VAS device ids when `version`
 * (ruth_rules_version, read in the caller's transaction; w->rules_version
 * outside one) differs from the cached one, or they are 30 s old at `now`
 * (wall-clock microseconds). 0, or -1 with err filled (the previous caches
 * are kept). */
int worker_cache_load(worker *w, int64_t now, int64_t version, char *err, size_t errsz);
/* The same, now, however fresh the caches are (a cache miss that may be
 * news: a session just started). -1 with the caches left as they were. */
int worker_cache_reload(worker *w, int64_t now, char *err, size_t errsz);

/* The model of the camera's active inference session (start-inference),
 * NULL when none; borrowed until the next reload. */
const char *worker_cache_session_model(const worker *w, const char *camera_id);
/* The camera whose VAS device id is `sensor_id`, NULL when none; borrowed
 * until the next reload. */
const char *worker_cache_camera_for_sensor(const worker *w, const char *sensor_id);

/* The canonical event type of e->r.event_type through the type map: sets
 * e->event_type (borrowed from the cache or from e->r) and e->type_detail
 * (the raw label when it was mapped to another name, else NULL). */
void worker_cache_normalize(const worker *w, worker_event *e);

/* Register the cameras of `ev` not known yet (discovered = true), inside
 * the caller's transaction, and remember them once the statement
 * succeeded. 0, or -1 with err filled. */
int worker_cache_register_cameras(worker *w, const worker_event *ev, size_t n, char *err,
                                  size_t errsz);

/* Forget the known cameras (a transaction that registered some rolled
 * back, so they may not be there). The array itself is kept. */
void worker_cache_forget_cameras(worker *w);

#endif
