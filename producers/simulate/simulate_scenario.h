/* simulate_scenario.h - the deterministic camera model behind ruth-simulate.
 *
 * N simulated cameras take turns: result k comes from camera k % N with that
 * camera's next frame. Fall-detection cameras mostly report `no_fall` with a
 * low confidence and now and then a fall episode: `fall_detected` over
 * consecutive frames with confidence rising from about 0.4 to 0.95 and a
 * person box (pixels, 1920x1080 frame) that jitters and tips over. Every
 * fourth camera runs a PPE model instead: `no_violation` background and
 * episodes of one PPE label (`missing_hardhat`, `no_vest`, ...). Any camera
 * occasionally reports an `error` result (error_code, error_message,
 * confidence 0, no boxes). With zone_split, episodes alternate between the
 * left half of the frame (inside SIM_ZONE_POINTS) and the right half; the
 * first episode of the first, third, ... camera is inside, that of the
 * second, fourth, ... outside.
 *
 * Everything but the timestamp follows from the seed and the options: the
 * same seed and options give the same sequence, result_ids included. The
 * caller passes the capture time, so tests can pin it too. No allocation per
 * result: a sim_frame is filled in place and stays valid until the next call.
 * Nothing here talks to Kafka. */
#ifndef RUTH_SIMULATE_SCENARIO_H
#define RUTH_SIMULATE_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xoshiro256** seeded through splitmix64: small, fast, identical everywhere. */
typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

void sim_rng_seed(sim_rng *rng, uint64_t seed);
uint64_t sim_rng_next(sim_rng *rng);
/* Uniform in [0, 1). */
double sim_rng_double(sim_rng *rng);
/* Uniform in [lo, hi). */
double sim_rng_range(sim_rng *rng, double lo, double hi);
/* Uniform integer in [0, n); n > 0. */
uint32_t sim_rng_below(sim_rng *rng, uint32_t n);
/* A random (version 4) UUID, 36 characters plus NUL. */
void sim_rng_uuid(sim_rng *rng, char out[37]);

#define SIM_FRAME_WIDTH 1920
#define SIM_FRAME_HEIGHT 1080
#define SIM_MAX_BOXES 4
#define SIM_MAX_ATTRS 3

typedef enum {
    SIM_KIND_BACKGROUND = 0, /* no_fall / no_violation */
    SIM_KIND_FALL,           /* a frame of a fall episode */
    SIM_KIND_PPE,            /* a frame of a PPE episode */
    SIM_KIND_ERROR,          /* the runtime reported an error */
    SIM_KIND_COUNT
} sim_kind;

typedef struct sim_box {
    double x, y, width, height; /* pixels */
    double confidence;
    const char *label; /* static string */
} sim_box;

/* One inference result. Strings live in the frame (or are static); all are
 * NUL-terminated; empty optional strings mean "absent". */
typedef struct sim_frame {
    sim_kind kind;
    int camera_index;
    bool episode_start; /* first frame of a fall or PPE episode */
    char camera_id[64];
    char stream_id[37];
    char model_id[64];
    const char *model_version;
    char runtime_id[32];
    const char *event_type;
    char result_id[37]; /* empty when result ids are off */
    int64_t frame_id;
    int64_t timestamp_us; /* capture time, microseconds since the epoch */
    double confidence;
    double inference_time_ms;
    const char *error_code;    /* NULL unless kind == SIM_KIND_ERROR */
    const char *error_message; /* NULL unless kind == SIM_KIND_ERROR */
    int nboxes;
    sim_box boxes[SIM_MAX_BOXES];
    int nattrs;
    const char *attr_keys[SIM_MAX_ATTRS];
    char attr_values[SIM_MAX_ATTRS][32];
} sim_frame;

typedef struct sim_options {
    int cameras; /* >= 1 */
    uint64_t seed;
    const char *camera_prefix; /* camera_id = prefix + 3-digit index; borrowed */
    const char *model_id;      /* model of the fall cameras; borrowed */
    const char *ppe_model_id;  /* model of the PPE cameras; borrowed */
    bool result_ids;
    int ppe_every; /* camera i runs the PPE model when i % ppe_every == ppe_every-1; 0 = none */
    double fall_start_prob; /* per background frame of a fall camera */
    double ppe_start_prob;  /* per background frame of a PPE camera */
    double error_prob;      /* per frame, any camera */
    int episode_min_frames, episode_max_frames;
    /* Zone demo: each episode's subject stands with its feet in the left
     * half of the frame (odd episodes: inside the zone SIM_ZONE_POINTS) or
     * the right half (even ones: outside it). */
    bool zone_split;
} sim_options;

/* The zone --zones plays against, normalised: the left half of the frame. */
#define SIM_ZONE_POINTS "[[0,0],[0.5,0],[0.5,1],[0,1]]"

/* Defaults: 8 cameras, seed 1, prefix "cam-", models "fall-detector" and
 * "ppe-detector", result ids on, every 4th camera PPE, episode start 0.004
 * (fall) / 0.006 (PPE) per background frame, errors 0.003, episodes of 8..30
 * frames. Strings are static. */
void sim_options_default(sim_options *opt);

typedef struct sim_scenario sim_scenario;

/* A scenario for `opt` (strings copied). Never NULL (out of memory aborts).
 * Free with sim_scenario_free(). */
sim_scenario *sim_scenario_new(const sim_options *opt);
void sim_scenario_free(sim_scenario *sc);

/* Fill *out with the next result, captured at `now_us`. */
void sim_scenario_next(sim_scenario *sc, int64_t now_us, sim_frame *out);

/* Results produced so far. */
uint64_t sim_scenario_count(const sim_scenario *sc);

const char *sim_kind_name(sim_kind kind);

#endif
