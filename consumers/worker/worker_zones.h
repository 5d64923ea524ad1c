/* worker_zones.h - which zones an event's boxes are in (worker_zones.c).
 *
 * A box is in a zone when its bottom-centre point lies inside the zone's
 * polygon or on its border (common/polygon.c). Boxes are in pixels of the
 * analysed frame, whose size is the result's frame_width x frame_height
 * (InferenceResult version 2) or, when the result has none, the camera's
 * configured resolution (cameras.frame_width, frame_height).
 *   - Normalised zones (0..1): box / frame size; with neither size known,
 *     boxes are in none of the camera's normalised zones.
 *   - Pixel zones are drawn on the camera's configured resolution: a box of a
 *     result whose frame size differs (a runtime analysing a downscaled
 *     frame) is scaled to it first; without both sizes, compared as it is. */
#ifndef RUTH_WORKER_ZONES_H
#define RUTH_WORKER_ZONES_H

#include "pg_array.h"
#include "worker.h"

#include <libpq-fe.h>

/* Replace w's zone cache with the rows of `res` (camera_id, name,
 * normalized bool, points JSON, frame width, frame height); rows whose
 * points cannot be read are skipped with a warning. */
void worker_zones_load(worker *w, const PGresult *res);
void worker_zones_free(worker *w);

/* Set e->zones / e->nzones: the zones of e's camera its boxes are in. */
void worker_zones_of(const worker *w, worker_event *e);

/* Whether e may qualify under r's required_zones (true when r has none). */
bool worker_zones_required(const rule *r, const worker_event *e);

/* Add to `out` (one element per call) the array literal of the distinct
 * zones of the events q[from..to) that belong to violation `violation_id`. */
void worker_zones_union(worker_event *const *q, size_t from, size_t to, const char *violation_id,
                        pg_array *out);

#endif
