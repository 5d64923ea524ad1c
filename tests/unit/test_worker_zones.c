/* Which zones an event's boxes are in (worker_zones.c), and the frame size
 * that decides it: the result's frame_width x frame_height when it has one
 * (InferenceResult version 2), else the camera's configured resolution. */
#include "testlib.h"
#include "worker_zones.h"

#include <string.h>

/* cam-1 is configured 1920x1080. "door" is a pixel zone drawn on that
 * resolution (the right half of the frame: x 960..1920); "half" the same
 * area normalised. */
static double door_xy[] = {960, 0, 1920, 0, 1920, 1080, 960, 1080};
static double half_xy[] = {0.5, 0, 1, 0, 1, 1, 0.5, 1};
static worker_zone zones[] = {
    {"cam-1", "door", false, door_xy, 4, 1920, 1080},
    {"cam-1", "half", true, half_xy, 4, 1920, 1080},
};

static worker_event event_with_box(double x, int frame_w, int frame_h)
{
    static codec_bbox box;
    box = (codec_bbox){.x = x, .y = 100, .width = 100, .height = 100};
    worker_event e;
    memset(&e, 0, sizeof e);
    e.r.camera_id = "cam-1";
    e.r.boxes = &box;
    e.r.nboxes = 1;
    e.r.frame_width = frame_w;
    e.r.frame_height = frame_h;
    return e;
}

static bool in_zone(const worker_event *e, const char *name)
{
    for (int i = 0; i < e->nzones; i++)
        if (!strcmp(e->zones[i], name))
            return true;
    return false;
}

static void frame_size_of_the_result_decides(void)
{
    worker w;
    memset(&w, 0, sizeof w);
    w.zones = zones;
    w.nzones = 2;
    /* A box at x 600..700 (bottom centre x 650). Without a frame size in the
     * result, it is measured in the camera's 1920x1080: left half, no zone. */
    worker_event e = event_with_box(600, 0, 0);
    worker_zones_of(&w, &e);
    CHECK(e.nzones == 0);
    /* The same box from a runtime that analysed a 1280x720 frame: 650 of
     * 1280 is past the middle, so it is in both zones. */
    e = event_with_box(600, 1280, 720);
    worker_zones_of(&w, &e);
    CHECK(in_zone(&e, "door"));
    CHECK(in_zone(&e, "half"));
    CHECK(e.nzones == 2);
    /* At its own resolution the answer is the camera-resolution one. */
    e = event_with_box(600, 1920, 1080);
    worker_zones_of(&w, &e);
    CHECK(e.nzones == 0);
    /* A camera without a configured resolution: the normalised zone needs
     * the result's frame size, the pixel zone compares the box as it is. */
    zones[0].frame_w = zones[0].frame_h = zones[1].frame_w = zones[1].frame_h = 0;
    e = event_with_box(1000, 0, 0);
    worker_zones_of(&w, &e);
    CHECK(in_zone(&e, "door") && !in_zone(&e, "half"));
    e = event_with_box(600, 1280, 720);
    worker_zones_of(&w, &e);
    CHECK(in_zone(&e, "half") && !in_zone(&e, "door"));
}

int main(void)
{
    TEST_RUN(frame_size_of_the_result_decides);
    return TEST_EXIT();
}
