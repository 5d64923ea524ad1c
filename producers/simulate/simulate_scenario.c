/* simulate_scenario.c - see simulate_scenario.h. */
#include "simulate_scenario.h"

#include "hash.h"
#include "text.h"
#include "xmalloc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PRNG ------------------------------------------------------------- */

static uint64_t sim__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t sim__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void sim_rng_seed(sim_rng *rng, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = sim__splitmix64(&x);
}

uint64_t sim_rng_next(sim_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = sim__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sim__rotl(s[3], 45);
    return result;
}

double sim_rng_double(sim_rng *rng)
{
    return (double)(sim_rng_next(rng) >> 11) * 0x1.0p-53;
}

double sim_rng_range(sim_rng *rng, double lo, double hi)
{
    return lo + (hi - lo) * sim_rng_double(rng);
}

uint32_t sim_rng_below(sim_rng *rng, uint32_t n)
{
    /* Multiply-shift: bias is far below anything a simulation could notice. */
    return (uint32_t)(((sim_rng_next(rng) >> 32) * (uint64_t)n) >> 32);
}

void sim_rng_uuid(sim_rng *rng, char out[37])
{
    uint64_t hi = sim_rng_next(rng), lo = sim_rng_next(rng);
    hi = (hi & ~0xf000ull) | 0x4000ull;                        /* version 4 */
    lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull; /* RFC 4122 variant */
    unsigned char u[16];
    for (int i = 0; i < 8; i++) {
        u[i] = (unsigned char)(hi >> (56 - 8 * i));
        u[8 + i] = (unsigned char)(lo >> (56 - 8 * i));
    }
    text_uuid_format(u, out);
}

/* ---- the model -------------------------------------------------------- */

typedef struct sim__person {
    double x, y, w, h; /* standing box, pixels */
} sim__person;

typedef struct sim__camera {
    char id[64];
    char stream_id[37];
    char runtime_id[32];
    bool ppe;
    int64_t frame_id;
    int npeople;
    sim__person people[SIM_MAX_BOXES];
    /* current episode: remaining > 0 while one runs */
    int ep_len, ep_pos;
    const char *ep_label;
    uint64_t episodes;
} sim__camera;

struct sim_scenario {
    sim_options opt;
    char *camera_prefix, *model_id, *ppe_model_id;
    sim_rng rng;
    sim__camera *cams;
    uint64_t count;
};

static const char *const sim__ppe_labels[] = {"missing_hardhat", "no_vest",    "no_helmet",
                                              "missing_vest",    "no_goggles", "missing_gloves"};
#define SIM__NPPE (sizeof sim__ppe_labels / sizeof sim__ppe_labels[0])

static const struct {
    const char *code, *message;
    double time_ms; /* how long the runtime spent before giving up */
} sim__errors[] = {
    {"STREAM_UNAVAILABLE", "stream read timed out after 5000 ms", 0},
    {"DECODE_ERROR", "corrupt H.264 access unit, frame skipped", 2},
    {"MODEL_TIMEOUT", "inference exceeded the 1000 ms deadline", 1000},
    {"GPU_OUT_OF_MEMORY", "CUDA out of memory while allocating the input tensor", 0},
};
#define SIM__NERRORS (sizeof sim__errors / sizeof sim__errors[0])

static const char *const sim__kind_names[SIM_KIND_COUNT] = {"background", "fall", "ppe", "error"};

const char *sim_kind_name(sim_kind kind)
{
    return (unsigned)kind < SIM_KIND_COUNT ? sim__kind_names[kind] : "?";
}

void sim_options_default(sim_options *opt)
{
    *opt = (sim_options){
        .cameras = 8,
        .seed = 1,
        .camera_prefix = "cam-",
        .model_id = "fall-detector",
        .ppe_model_id = "ppe-detector",
        .result_ids = true,
        .ppe_every = 4,
        .fall_start_prob = 0.004,
        .ppe_start_prob = 0.006,
        .error_prob = 0.003,
        .episode_min_frames = 8,
        .episode_max_frames = 30,
    };
}

static void sim__person_spawn(sim_rng *rng, sim__person *p)
{
    p->h = sim_rng_range(rng, 240, 420);
    p->w = p->h * sim_rng_range(rng, 0.32, 0.45);
    p->x = sim_rng_range(rng, 40, SIM_FRAME_WIDTH - 40 - p->w);
    p->y = sim_rng_range(rng, 180, SIM_FRAME_HEIGHT - 20 - p->h);
}

/* Move p so that its feet (bottom centre) are in the left half of the
 * frame (`left`) or the right half, 40 px clear of the middle line, so the
 * jitter of a fall never carries them across. */
static void sim__person_place(sim_rng *rng, sim__person *p, bool left)
{
    double half = SIM_FRAME_WIDTH / 2.0;
    double lo = left ? 40 : half + 40, hi = left ? half - 40 - p->w : SIM_FRAME_WIDTH - 40 - p->w;
    p->x = sim_rng_range(rng, lo, hi > lo ? hi : lo + 1);
}

sim_scenario *sim_scenario_new(const sim_options *opt)
{
    sim_scenario *sc = xcalloc(1, sizeof *sc);
    sc->opt = *opt;
    if (sc->opt.cameras < 1)
        sc->opt.cameras = 1;
    if (sc->opt.episode_min_frames < 1)
        sc->opt.episode_min_frames = 1;
    if (sc->opt.episode_max_frames < sc->opt.episode_min_frames)
        sc->opt.episode_max_frames = sc->opt.episode_min_frames;
    sc->camera_prefix = xstrdup(opt->camera_prefix ? opt->camera_prefix : "");
    sc->model_id = xstrdup(opt->model_id ? opt->model_id : "fall-detector");
    sc->ppe_model_id = xstrdup(opt->ppe_model_id ? opt->ppe_model_id : "ppe-detector");
    sc->opt.camera_prefix = sc->camera_prefix;
    sc->opt.model_id = sc->model_id;
    sc->opt.ppe_model_id = sc->ppe_model_id;
    sim_rng_seed(&sc->rng, opt->seed);

    sc->cams = xcalloc((size_t)sc->opt.cameras, sizeof *sc->cams);
    for (int i = 0; i < sc->opt.cameras; i++) {
        sim__camera *c = &sc->cams[i];
        snprintf(c->id, sizeof c->id, "%s%03d", sc->camera_prefix, i + 1);
        /* The stream id depends on the camera only, never on the seed: a
         * camera keeps its VAS stream across runs. */
        sim_rng srng;
        sim_rng_seed(&srng, hash_fnv1a64_str(c->id));
        sim_rng_uuid(&srng, c->stream_id);
        snprintf(c->runtime_id, sizeof c->runtime_id, "sim-runtime-%02d", i / 4 + 1);
        c->ppe = sc->opt.ppe_every > 0 && i % sc->opt.ppe_every == sc->opt.ppe_every - 1;
        c->npeople = (int)sim_rng_below(&sc->rng, 3);
        for (int p = 0; p < c->npeople; p++)
            sim__person_spawn(&sc->rng, &c->people[p]);
    }
    return sc;
}

void sim_scenario_free(sim_scenario *sc)
{
    if (!sc)
        return;
    free(sc->cams);
    free(sc->camera_prefix);
    free(sc->model_id);
    free(sc->ppe_model_id);
    free(sc);
}

uint64_t sim_scenario_count(const sim_scenario *sc)
{
    return sc->count;
}

static double sim__clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* Keep a box inside the frame, at least 4 px on a side. */
static void sim__box_clip(sim_box *b)
{
    b->width = sim__clamp(b->width, 4, SIM_FRAME_WIDTH);
    b->height = sim__clamp(b->height, 4, SIM_FRAME_HEIGHT);
    b->x = sim__clamp(b->x, 0, SIM_FRAME_WIDTH - b->width);
    b->y = sim__clamp(b->y, 0, SIM_FRAME_HEIGHT - b->height);
    /* whole pixels, as detectors report them */
    b->x = floor(b->x);
    b->y = floor(b->y);
    b->width = floor(b->width);
    b->height = floor(b->height);
}

/* People walk a little between frames; now and then one enters or leaves. */
static void sim__people_step(sim_rng *rng, sim__camera *c)
{
    for (int p = 0; p < c->npeople; p++) {
        sim__person *q = &c->people[p];
        q->x = sim__clamp(q->x + sim_rng_range(rng, -8, 8), 0, SIM_FRAME_WIDTH - q->w);
        q->y = sim__clamp(q->y + sim_rng_range(rng, -3, 3), 0, SIM_FRAME_HEIGHT - q->h);
    }
    double u = sim_rng_double(rng);
    if (u < 0.01 && c->npeople < SIM_MAX_BOXES - 1)
        sim__person_spawn(rng, &c->people[c->npeople++]);
    else if (u < 0.02 && c->npeople > 0 && c->ep_len == 0)
        c->npeople--;
}

static void sim__add_people(sim_rng *rng, const sim__camera *c, int from, sim_frame *f)
{
    for (int p = from; p < c->npeople && f->nboxes < SIM_MAX_BOXES; p++) {
        sim_box *b = &f->boxes[f->nboxes++];
        b->x = c->people[p].x;
        b->y = c->people[p].y;
        b->width = c->people[p].w;
        b->height = c->people[p].h;
        b->confidence = sim_rng_range(rng, 0.55, 0.99);
        b->label = "person";
        sim__box_clip(b);
    }
}

static void sim__attr(sim_frame *f, const char *key, const char *fmt, unsigned long long v)
{
    if (f->nattrs >= SIM_MAX_ATTRS)
        return;
    f->attr_keys[f->nattrs] = key;
    snprintf(f->attr_values[f->nattrs], sizeof f->attr_values[0], fmt, v);
    f->nattrs++;
}

void sim_scenario_next(sim_scenario *sc, int64_t now_us, sim_frame *f)
{
    sim_rng *rng = &sc->rng;
    int ci = (int)(sc->count % (uint64_t)sc->opt.cameras);
    sim__camera *c = &sc->cams[ci];
    sc->count++;

    memset(f, 0, offsetof(sim_frame, attr_values));
    f->camera_index = ci;
    memcpy(f->camera_id, c->id, sizeof f->camera_id);
    memcpy(f->stream_id, c->stream_id, sizeof f->stream_id);
    memcpy(f->runtime_id, c->runtime_id, sizeof f->runtime_id);
    snprintf(f->model_id, sizeof f->model_id, "%s", c->ppe ? sc->ppe_model_id : sc->model_id);
    f->model_version = c->ppe ? "1.8.0" : "2.3.1";
    f->frame_id = ++c->frame_id;
    f->timestamp_us = now_us;
    if (sc->opt.result_ids)
        sim_rng_uuid(rng, f->result_id);
    else
        f->result_id[0] = '\0';
    sim__attr(f, "resolution", "%llux1080", SIM_FRAME_WIDTH);

    sim__people_step(rng, c);

    /* An error frame pauses whatever the camera was doing. */
    if (sim_rng_double(rng) < sc->opt.error_prob) {
        uint32_t e = sim_rng_below(rng, SIM__NERRORS);
        f->kind = SIM_KIND_ERROR;
        f->event_type = "error";
        f->error_code = sim__errors[e].code;
        f->error_message = sim__errors[e].message;
        f->confidence = 0;
        f->inference_time_ms = sim__errors[e].time_ms;
        return;
    }

    /* Base latency of the model: mostly steady, a slow frame now and then. */
    double base = c->ppe ? 28 : 19;
    f->inference_time_ms = base + sim_rng_range(rng, 0, 12);
    if (sim_rng_double(rng) < 0.01)
        f->inference_time_ms += sim_rng_range(rng, 30, 150);
    f->inference_time_ms = round(f->inference_time_ms * 100) / 100;

    if (c->ep_len == 0) {
        double p = c->ppe ? sc->opt.ppe_start_prob : sc->opt.fall_start_prob;
        if (sim_rng_double(rng) < p) {
            int span = sc->opt.episode_max_frames - sc->opt.episode_min_frames + 1;
            c->ep_len = sc->opt.episode_min_frames + (int)sim_rng_below(rng, (uint32_t)span);
            c->ep_pos = 0;
            c->episodes++;
            c->ep_label = c->ppe ? sim__ppe_labels[sim_rng_below(rng, SIM__NPPE)] : "fall_detected";
            if (c->npeople == 0)
                sim__person_spawn(rng, &c->people[c->npeople++]);
            if (sc->opt.zone_split)
                sim__person_place(rng, &c->people[0], (c->episodes + ci) % 2 == 1); /* see .h */
            f->episode_start = true;
        }
    }

    if (c->ep_len == 0) {
        f->kind = SIM_KIND_BACKGROUND;
        f->event_type = c->ppe ? "no_violation" : "no_fall";
        double u = sim_rng_double(rng);
        f->confidence = round((0.01 + 0.29 * u * u) * 1e4) / 1e4;
        sim__add_people(rng, c, 0, f);
        return;
    }

    /* A frame of the running episode; the subject is person 0. */
    double t = c->ep_len > 1 ? (double)c->ep_pos / (c->ep_len - 1) : 1.0;
    sim__person *subj = &c->people[0];
    sim_box *b = &f->boxes[f->nboxes++];
    if (!c->ppe) {
        f->kind = SIM_KIND_FALL;
        /* The standing box tips over: wider and lower, feet where they were. */
        double bottom = subj->y + subj->h;
        b->width = subj->w + (subj->h * 0.9 - subj->w) * t + sim_rng_range(rng, -6, 6);
        b->height = subj->h + (subj->w * 0.8 - subj->h) * t + sim_rng_range(rng, -6, 6);
        b->x = subj->x - (b->width - subj->w) / 2 + sim_rng_range(rng, -6, 6);
        b->y = bottom - b->height + sim_rng_range(rng, -4, 4);
        f->confidence = 0.4 + 0.55 * t + sim_rng_range(rng, -0.03, 0.03);
        b->label = "fallen_person";
    } else {
        f->kind = SIM_KIND_PPE;
        b->width = subj->w + sim_rng_range(rng, -5, 5);
        b->height = subj->h + sim_rng_range(rng, -5, 5);
        b->x = subj->x + sim_rng_range(rng, -5, 5);
        b->y = subj->y + sim_rng_range(rng, -5, 5);
        /* A PPE model is sure quickly once the person is in view. */
        f->confidence = 0.55 + 0.4 * sqrt(t) + sim_rng_range(rng, -0.03, 0.03);
        b->label = c->ep_label;
    }
    f->confidence = round(sim__clamp(f->confidence, 0.01, 0.99) * 1e4) / 1e4;
    b->confidence = f->confidence;
    sim__box_clip(b);
    f->event_type = c->ep_label;
    sim__add_people(rng, c, 1, f);
    sim__attr(f, "track_id", "%llu", (unsigned long long)(ci + 1) * 1000 + c->episodes);
    if (++c->ep_pos >= c->ep_len)
        c->ep_len = 0;
}
