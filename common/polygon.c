/* polygon.c - see polygon.h. */
#include "polygon.h"

#include <math.h>
#include <stdio.h>

/* Cross product of (b - a) and (c - a): > 0 when c is left of a->b. */
static double polygon__cross(double ax, double ay, double bx, double by, double cx, double cy)
{
    return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}

/* Relative tolerance for "on the line": coordinates are pixels or 0..1. */
static double polygon__eps(double ax, double ay, double bx, double by)
{
    double len = fabs(bx - ax) + fabs(by - ay);
    return 1e-9 * (len > 1 ? len : 1) * (len > 1 ? len : 1);
}

/* c on the segment a-b (given it is collinear within eps). */
static bool polygon__within(double ax, double ay, double bx, double by, double cx, double cy)
{
    const double e = 1e-12 * (1 + fabs(ax) + fabs(bx) + fabs(ay) + fabs(by));
    return cx >= fmin(ax, bx) - e && cx <= fmax(ax, bx) + e && cy >= fmin(ay, by) - e &&
           cy <= fmax(ay, by) + e;
}

static bool polygon__on_segment(double ax, double ay, double bx, double by, double cx, double cy)
{
    return fabs(polygon__cross(ax, ay, bx, by, cx, cy)) <= polygon__eps(ax, ay, bx, by) &&
           polygon__within(ax, ay, bx, by, cx, cy);
}

bool polygon_contains(const double *xy, size_t n, double px, double py)
{
    if (n < 3)
        return false;
    bool in = false;
    for (size_t i = 0, j = n - 1; i < n; j = i++) {
        double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
        if (polygon__on_segment(xj, yj, xi, yi, px, py))
            return true;
        /* Ray casting to +x; each edge counted half-open in y. */
        if ((yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi)
            in = !in;
    }
    return in;
}

/* Segments a-b and c-d intersect or touch. */
static bool polygon__segments_meet(const double *a, const double *b, const double *c,
                                   const double *d)
{
    double d1 = polygon__cross(c[0], c[1], d[0], d[1], a[0], a[1]);
    double d2 = polygon__cross(c[0], c[1], d[0], d[1], b[0], b[1]);
    double d3 = polygon__cross(a[0], a[1], b[0], b[1], c[0], c[1]);
    double d4 = polygon__cross(a[0], a[1], b[0], b[1], d[0], d[1]);
    if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)))
        return true;
    return polygon__on_segment(c[0], c[1], d[0], d[1], a[0], a[1]) ||
           polygon__on_segment(c[0], c[1], d[0], d[1], b[0], b[1]) ||
           polygon__on_segment(a[0], a[1], b[0], b[1], c[0], c[1]) ||
           polygon__on_segment(a[0], a[1], b[0], b[1], d[0], d[1]);
}

int polygon_validate(const double *xy, size_t n, double max_x, double max_y, char *msg,
                     size_t msgsz)
{
    if (n < 3 || n > POLYGON_MAX_POINTS) {
        snprintf(msg, msgsz, "a zone needs 3 to %d points, not %zu", POLYGON_MAX_POINTS, n);
        return (int)n;
    }
    for (size_t i = 0; i < n; i++) {
        double x = xy[2 * i], y = xy[2 * i + 1];
        if (!isfinite(x) || !isfinite(y) || x < 0 || y < 0 || x > max_x || y > max_y) {
            snprintf(msg, msgsz, "point %zu (%g, %g) is outside 0..%g x 0..%g", i, x, y, max_x,
                     max_y);
            return (int)i;
        }
        size_t k = (i + 1) % n;
        if (x == xy[2 * k] && y == xy[2 * k + 1]) {
            snprintf(msg, msgsz, "point %zu repeats point %zu", k, i);
            return (int)k;
        }
    }
    /* Every pair of non-adjacent edges (i, i+1) and (j, j+1). */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 2; j < n; j++) {
            if (i == 0 && j == n - 1)
                continue; /* adjacent through the closing edge */
            if (polygon__segments_meet(&xy[2 * i], &xy[2 * ((i + 1) % n)], &xy[2 * j],
                                       &xy[2 * ((j + 1) % n)])) {
                snprintf(msg, msgsz,
                         "edge from point %zu to point %zu crosses or touches the edge from "
                         "point %zu to point %zu (the polygon intersects itself)",
                         j, (j + 1) % n, i, (i + 1) % n);
                return (int)j;
            }
        }
    double area = 0;
    for (size_t i = 0, j = n - 1; i < n; j = i++)
        area += xy[2 * j] * xy[2 * i + 1] - xy[2 * i] * xy[2 * j + 1];
    if (fabs(area) / 2 <= 1e-12 * max_x * max_y) {
        snprintf(msg, msgsz,
                 "the points enclose no area (point %zu and the others are on one line)", n - 1);
        return (int)(n - 1);
    }
    return -1;
}
