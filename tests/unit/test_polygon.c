/* Zones as polygons: inside, outside, on the border (inside), concave
 * shapes, and the validation errors ruth-api answers with. */
#include "polygon.h"
#include "testlib.h"

#include <math.h>
#include <string.h>

static const double square[] = {0.2, 0.2, 0.6, 0.2, 0.6, 0.6, 0.2, 0.6};

static void inside_outside_and_border(void)
{
    CHECK(polygon_contains(square, 4, 0.4, 0.4));
    CHECK(!polygon_contains(square, 4, 0.1, 0.4));
    CHECK(!polygon_contains(square, 4, 0.4, 0.61));
    /* on an edge, on a vertex: inside */
    CHECK(polygon_contains(square, 4, 0.6, 0.4));
    CHECK(polygon_contains(square, 4, 0.4, 0.6));
    CHECK(polygon_contains(square, 4, 0.2, 0.2));
    CHECK(polygon_contains(square, 4, 0.6, 0.6));
    /* just beyond the border */
    CHECK(!polygon_contains(square, 4, 0.6 + 1e-6, 0.4));
    CHECK(!polygon_contains(square, 4, 0.4, 0.2 - 1e-6));
}

static void concave_and_pixels(void)
{
    /* A "U" in pixels: the notch (400..600 x 0..500) is outside. */
    static const double u[] = {0,   0, 400,  0, 400,  500, 600, 500,
                               600, 0, 1000, 0, 1000, 800, 0,   800};
    CHECK(polygon_contains(u, 8, 200, 300));
    CHECK(!polygon_contains(u, 8, 500, 300));
    CHECK(polygon_contains(u, 8, 500, 500)); /* the notch's bottom edge */
    CHECK(polygon_contains(u, 8, 800, 100));
    double px, py;
    polygon_box_anchor(450, 100, 100, 450, &px, &py); /* feet at (500, 550) */
    CHECK(px == 500 && py == 550);
    CHECK(polygon_contains(u, 8, px, py));
}

static void validation_names_the_bad_point(void)
{
    char msg[256];
    CHECK_EQ_INT(polygon_validate(square, 4, 1, 1, msg, sizeof msg), -1);
    CHECK_EQ_INT(polygon_validate(square, 2, 1, 1, msg, sizeof msg), 2);
    CHECK(strstr(msg, "3 to") != NULL);
    const double out[] = {0.1, 0.1, 1.2, 0.1, 0.5, 0.9};
    CHECK_EQ_INT(polygon_validate(out, 3, 1, 1, msg, sizeof msg), 1);
    CHECK(strstr(msg, "point 1") != NULL);
    const double neg[] = {0.1, 0.1, 0.5, -0.01, 0.5, 0.9};
    CHECK_EQ_INT(polygon_validate(neg, 3, 1, 1, msg, sizeof msg), 1);
    const double nan_pt[] = {0.1, 0.1, 0.5, 0.2, NAN, 0.9};
    CHECK_EQ_INT(polygon_validate(nan_pt, 3, 1, 1, msg, sizeof msg), 2);
    /* a bow tie: edge 2-3 crosses edge 0-1 */
    const double bow[] = {0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.9};
    CHECK_EQ_INT(polygon_validate(bow, 4, 1, 1, msg, sizeof msg), 2);
    CHECK(strstr(msg, "intersects itself") != NULL);
    /* a vertex touching a non-adjacent edge */
    const double touch[] = {0, 0, 1, 0, 1, 1, 0.5, 0, 0, 1};
    CHECK(polygon_validate(touch, 5, 1, 1, msg, sizeof msg) >= 0);
    const double line[] = {0.1, 0.1, 0.2, 0.2, 0.3, 0.3};
    CHECK_EQ_INT(polygon_validate(line, 3, 1, 1, msg, sizeof msg), 2);
    const double dup[] = {0.1, 0.1, 0.1, 0.1, 0.3, 0.5};
    CHECK_EQ_INT(polygon_validate(dup, 3, 1, 1, msg, sizeof msg), 1);
    /* pixels: range is the frame */
    const double px[] = {0, 0, 1920, 0, 1920, 1080};
    CHECK_EQ_INT(polygon_validate(px, 3, 1920, 1080, msg, sizeof msg), -1);
    CHECK_EQ_INT(polygon_validate(px, 3, 1280, 720, msg, sizeof msg), 1);
}

int main(void)
{
    TEST_RUN(inside_outside_and_border);
    TEST_RUN(concave_and_pixels);
    TEST_RUN(validation_names_the_bad_point);
    return TEST_EXIT();
}
