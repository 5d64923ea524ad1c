/* test_simulate_scenario: the deterministic camera model of ruth-simulate.
 *
 * Same seed -> the same sequence (result ids included); another seed -> a
 * different one; the mix of background, fall, PPE and error results follows
 * the configured probabilities; episodes look like episodes (one camera,
 * consecutive frames, rising confidence, boxes inside the frame). */
#include "hash.h"
#include "polygon.h"
#include "simulate_scenario.h"
#include "testlib.h"

#include <math.h>
#include <stdint.h>

#define N 20000
#define NOW_US 1763800000000000LL

/* A digest of everything a frame carries (FNV-1a over the fields). */
static uint64_t frame_digest(uint64_t h, const sim_frame *f)
{
#define MIX_BYTES(p, n) h = hash_fnv1a64_update(h, (p), (n));
#define MIX_STR(s)                                                                                 \
    do {                                                                                           \
        const char *s_ = (s) ? (s) : "";                                                           \
        MIX_BYTES(s_, strlen(s_) + 1);                                                             \
    } while (0)
    MIX_STR(f->camera_id);
    MIX_STR(f->stream_id);
    MIX_STR(f->model_id);
    MIX_STR(f->model_version);
    MIX_STR(f->runtime_id);
    MIX_STR(f->event_type);
    MIX_STR(f->result_id);
    MIX_STR(f->error_code);
    MIX_STR(f->error_message);
    MIX_BYTES(&f->frame_id, sizeof f->frame_id);
    MIX_BYTES(&f->timestamp_us, sizeof f->timestamp_us);
    MIX_BYTES(&f->confidence, sizeof f->confidence);
    MIX_BYTES(&f->inference_time_ms, sizeof f->inference_time_ms);
    for (int b = 0; b < f->nboxes; b++) {
        MIX_BYTES(&f->boxes[b].x, 5 * sizeof(double));
        MIX_STR(f->boxes[b].label);
    }
    for (int a = 0; a < f->nattrs; a++) {
        MIX_STR(f->attr_keys[a]);
        MIX_STR(f->attr_values[a]);
    }
    return h;
#undef MIX_BYTES
#undef MIX_STR
}

static uint64_t run_digest(const sim_options *o, int n)
{
    sim_scenario *sc = sim_scenario_new(o);
    sim_frame f;
    uint64_t h = HASH_FNV1A64_OFFSET;
    for (int i = 0; i < n; i++) {
        sim_scenario_next(sc, NOW_US + i, &f);
        h = frame_digest(h, &f);
    }
    sim_scenario_free(sc);
    return h;
}

static void test_rng_reference(void)
{
    /* xoshiro256** from splitmix64(0): pinned so the output never drifts. */
    sim_rng r, r2;
    sim_rng_seed(&r, 0);
    CHECK(sim_rng_next(&r) == 0x99ec5f36cb75f2b4ull);
    CHECK(sim_rng_next(&r) == 0xbf6e1f784956452aull);
    sim_rng_seed(&r, 0);
    sim_rng_seed(&r2, 0);
    for (int i = 0; i < 1000; i++)
        CHECK(sim_rng_next(&r) == sim_rng_next(&r2));
    for (int i = 0; i < 10000; i++) {
        double d = sim_rng_double(&r);
        CHECK(d >= 0 && d < 1);
        CHECK(sim_rng_below(&r, 7) < 7);
    }
    char u[37];
    sim_rng_uuid(&r, u);
    CHECK_EQ_INT(strlen(u), 36);
    CHECK(u[8] == '-' && u[13] == '-' && u[18] == '-' && u[23] == '-');
    CHECK(u[14] == '4');
    CHECK(strchr("89ab", u[19]) != NULL);
}

static void test_same_seed_same_sequence(void)
{
    sim_options o;
    sim_options_default(&o);
    o.seed = 42;
    CHECK(run_digest(&o, N) == run_digest(&o, N));

    /* Frame by frame too, result ids included. */
    sim_scenario *a = sim_scenario_new(&o), *b = sim_scenario_new(&o);
    sim_frame fa, fb;
    for (int i = 0; i < 2000; i++) {
        sim_scenario_next(a, NOW_US, &fa);
        sim_scenario_next(b, NOW_US, &fb);
        CHECK_EQ_STR(fa.result_id, fb.result_id);
        CHECK_EQ_STR(fa.event_type, fb.event_type);
        CHECK(fa.confidence == fb.confidence);
    }
    sim_scenario_free(a);
    sim_scenario_free(b);
}

static void test_other_seed_other_sequence(void)
{
    sim_options o;
    sim_options_default(&o);
    o.seed = 42;
    uint64_t h42 = run_digest(&o, N);
    o.seed = 43;
    CHECK(run_digest(&o, N) != h42);
    /* Other options change it too. */
    o.seed = 42;
    o.result_ids = false;
    CHECK(run_digest(&o, N) != h42);
}

static void test_cameras_and_frames(void)
{
    sim_options o;
    sim_options_default(&o);
    o.cameras = 5;
    o.camera_prefix = "dock-";
    sim_scenario *sc = sim_scenario_new(&o);
    sim_frame f;
    char streams[5][37];
    for (int i = 0; i < 100; i++) {
        sim_scenario_next(sc, NOW_US, &f);
        char want[16];
        snprintf(want, sizeof want, "dock-%03d", i % 5 + 1);
        CHECK_EQ_STR(f.camera_id, want);
        CHECK_EQ_INT(f.camera_index, i % 5);
        CHECK_EQ_INT(f.frame_id, i / 5 + 1);
        CHECK_EQ_INT(f.timestamp_us, NOW_US);
        CHECK_EQ_INT(strlen(f.stream_id), 36);
        if (i < 5)
            memcpy(streams[i], f.stream_id, 37);
        else
            CHECK_EQ_STR(f.stream_id, streams[i % 5]);
        CHECK_EQ_INT(strlen(f.result_id), 36);
        /* camera 4 (index 3) runs the PPE model */
        CHECK_EQ_STR(f.model_id, i % 5 == 3 ? "ppe-detector" : "fall-detector");
    }
    CHECK_EQ_INT(sim_scenario_count(sc), 100);
    sim_scenario_free(sc);

    /* A camera keeps its stream id whatever the seed. */
    o.seed = 999;
    sc = sim_scenario_new(&o);
    sim_scenario_next(sc, NOW_US, &f);
    CHECK_EQ_STR(f.stream_id, streams[0]);
    sim_scenario_free(sc);

    o.result_ids = false;
    sc = sim_scenario_new(&o);
    sim_scenario_next(sc, NOW_US, &f);
    CHECK_EQ_STR(f.result_id, "");
    sim_scenario_free(sc);
}

static void test_mix_follows_options(void)
{
    sim_options o;
    sim_options_default(&o);
    o.seed = 7;
    o.cameras = 8;
    const int n = 200000;
    sim_scenario *sc = sim_scenario_new(&o);
    sim_frame f;
    long kinds[SIM_KIND_COUNT] = {0};
    long starts_fall = 0, starts_ppe = 0, bg_fall = 0, bg_ppe = 0;
    long ppe_cam_frames = 0;
    /* per camera: previous confidence while in an episode */
    double prev[8];
    int in_ep[8] = {0};
    for (int i = 0; i < n; i++) {
        sim_scenario_next(sc, NOW_US, &f);
        kinds[f.kind]++;
        int c = f.camera_index;
        bool ppe_cam = c % 4 == 3;
        ppe_cam_frames += ppe_cam;
        CHECK(f.confidence >= 0 && f.confidence <= 1);
        CHECK(f.inference_time_ms >= 0 && f.inference_time_ms < 2000);
        for (int b = 0; b < f.nboxes; b++) {
            const sim_box *bx = &f.boxes[b];
            CHECK(bx->x >= 0 && bx->y >= 0 && bx->width > 0 && bx->height > 0);
            CHECK(bx->x + bx->width <= SIM_FRAME_WIDTH && bx->y + bx->height <= SIM_FRAME_HEIGHT);
            CHECK(bx->confidence >= 0 && bx->confidence <= 1);
        }
        switch (f.kind) {
        case SIM_KIND_BACKGROUND:
            CHECK_EQ_STR(f.event_type, ppe_cam ? "no_violation" : "no_fall");
            CHECK(f.confidence < 0.31);
            if (ppe_cam)
                bg_ppe++;
            else
                bg_fall++;
            in_ep[c] = 0;
            break;
        case SIM_KIND_FALL:
            CHECK(!ppe_cam);
            CHECK_EQ_STR(f.event_type, "fall_detected");
            CHECK(f.nboxes >= 1);
            if (f.episode_start) {
                starts_fall++;
                CHECK(f.confidence < 0.5);
            } else {
                CHECK(in_ep[c]);
                /* rising, give or take the jitter */
                CHECK_MSG(f.confidence > prev[c] - 0.07, "%f after %f", f.confidence, prev[c]);
            }
            in_ep[c] = 1;
            prev[c] = f.confidence;
            break;
        case SIM_KIND_PPE:
            CHECK(ppe_cam);
            CHECK(strncmp(f.event_type, "no_", 3) == 0 ||
                  strncmp(f.event_type, "missing_", 8) == 0);
            starts_ppe += f.episode_start;
            break;
        case SIM_KIND_ERROR:
            CHECK_EQ_STR(f.event_type, "error");
            CHECK(f.error_code && *f.error_code && f.error_message && *f.error_message);
            CHECK(f.confidence == 0);
            CHECK_EQ_INT(f.nboxes, 0);
            break;
        default:
            CHECK(0);
        }
    }
    sim_scenario_free(sc);

    /* Errors: error_prob of all frames. */
    double err_frac = (double)kinds[SIM_KIND_ERROR] / n;
    CHECK_MSG(fabs(err_frac - o.error_prob) < o.error_prob * 0.2, "error fraction %f", err_frac);
    /* Episode starts: start probability per background frame. */
    double fall_rate = (double)starts_fall / bg_fall, ppe_rate = (double)starts_ppe / bg_ppe;
    CHECK_MSG(fabs(fall_rate - o.fall_start_prob) < o.fall_start_prob * 0.25, "fall starts %f",
              fall_rate);
    CHECK_MSG(fabs(ppe_rate - o.ppe_start_prob) < o.ppe_start_prob * 0.3, "ppe starts %f",
              ppe_rate);
    /* Mostly background; episodes of (min+max)/2 frames on average. */
    double mean_len = (o.episode_min_frames + o.episode_max_frames) / 2.0;
    double fall_frames_expected = starts_fall * mean_len;
    CHECK_MSG(fabs(kinds[SIM_KIND_FALL] - fall_frames_expected) < fall_frames_expected * 0.2,
              "fall frames %ld, expected about %.0f", kinds[SIM_KIND_FALL], fall_frames_expected);
    CHECK(kinds[SIM_KIND_BACKGROUND] > n * 0.8);
    CHECK_EQ_INT(ppe_cam_frames, n / 4);
    fprintf(stderr,
            "mix over %d: background %ld, fall %ld (%ld episodes), ppe %ld (%ld), error %ld\n", n,
            kinds[0], kinds[1], starts_fall, kinds[2], starts_ppe, kinds[3]);
}

static void test_probabilities_zero_and_one(void)
{
    sim_options o;
    sim_options_default(&o);
    o.error_prob = 0;
    o.fall_start_prob = 0;
    o.ppe_start_prob = 0;
    sim_scenario *sc = sim_scenario_new(&o);
    sim_frame f;
    for (int i = 0; i < 5000; i++) {
        sim_scenario_next(sc, NOW_US, &f);
        CHECK_EQ_INT(f.kind, SIM_KIND_BACKGROUND);
    }
    sim_scenario_free(sc);

    o.error_prob = 1;
    sc = sim_scenario_new(&o);
    for (int i = 0; i < 100; i++) {
        sim_scenario_next(sc, NOW_US, &f);
        CHECK_EQ_INT(f.kind, SIM_KIND_ERROR);
    }
    sim_scenario_free(sc);
}

/* --zones: episodes alternate between feet in the left half (inside the
 * demo zone) and the right half, never on the middle line; the first
 * camera starts inside, the second outside (so a short demo has both). */
static void test_zone_split_alternates(void)
{
    static const double zone[] = {0, 0, 0.5, 0, 0.5, 1, 0, 1};
    sim_options o;
    sim_options_default(&o);
    o.zone_split = true;
    o.cameras = 2;
    o.ppe_every = 0;
    o.error_prob = 0;
    sim_scenario *sc = sim_scenario_new(&o);
    sim_frame f;
    int episodes[2] = {0, 0}, inside = 0, outside = 0, mixed = 0;
    bool cur_in[2] = {false, false};
    for (int i = 0; i < 2 * N; i++) {
        sim_scenario_next(sc, NOW_US, &f);
        if (f.kind != SIM_KIND_FALL)
            continue;
        int ci = f.camera_index;
        double px, py;
        polygon_box_anchor(f.boxes[0].x, f.boxes[0].y, f.boxes[0].width, f.boxes[0].height, &px,
                           &py);
        bool in = polygon_contains(zone, 4, px / SIM_FRAME_WIDTH, py / SIM_FRAME_HEIGHT);
        if (f.episode_start) {
            episodes[ci]++;
            cur_in[ci] = in;
            /* camera 0: odd episodes inside; camera 1: even ones */
            CHECK_EQ_INT(in, (episodes[ci] + ci) % 2 == 1);
            *(in ? &inside : &outside) += 1;
        } else {
            mixed += in != cur_in[ci];
        }
    }
    CHECK(episodes[0] >= 4 && episodes[1] >= 4);
    CHECK(inside >= 2 && outside >= 2);
    CHECK_EQ_INT(mixed, 0);
    sim_scenario_free(sc);
}

int main(void)
{
    TEST_RUN(test_rng_reference);
    TEST_RUN(test_same_seed_same_sequence);
    TEST_RUN(test_other_seed_other_sequence);
    TEST_RUN(test_cameras_and_frames);
    TEST_RUN(test_mix_follows_options);
    TEST_RUN(test_probabilities_zero_and_one);
    TEST_RUN(test_zone_split_alternates);
    return TEST_EXIT();
}
