/* polygon.h - zones as polygons: point-in-polygon and validation.
 *
 * Pure geometry, no I/O. A polygon is n points xy[2*i], xy[2*i+1], closed
 * implicitly (the last point joins the first). Used by ruth-worker (which
 * zones a box is in) and ruth-api (validating a zone before storing it). */
#ifndef RUTH_POLYGON_H
#define RUTH_POLYGON_H

#include <stdbool.h>
#include <stddef.h>

#define POLYGON_MAX_POINTS 256

/* Whether (px, py) lies inside the polygon or on its border (a point on an
 * edge or a vertex counts as inside: a box standing on a zone's line is in
 * it). */
bool polygon_contains(const double *xy, size_t n, double px, double py);

/* Check a zone: 3 to POLYGON_MAX_POINTS points, every coordinate finite and
 * within 0..max_x / 0..max_y, no two consecutive points equal, no edge
 * crossing or touching a non-adjacent one (no self-intersection), non-zero
 * area. Returns -1 when valid; else the index of the offending point
 * (n when the count is wrong) with `msg` saying what is wrong with it. */
int polygon_validate(const double *xy, size_t n, double max_x, double max_y, char *msg,
                     size_t msgsz);

/* The bottom-centre point of a box (x, y top-left, in pixels): the point a
 * zone is tested with. */
static inline void polygon_box_anchor(double x, double y, double w, double h, double *px,
                                      double *py)
{
    *px = x + w / 2;
    *py = y + h;
}

#endif
