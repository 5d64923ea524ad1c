/* simulate_args.c - see simulate_args.h. */
#include "simulate_args.h"

#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char sim_args_usage[] =
    "usage: ruth-simulate [options]\n"
    "\n"
    "Simulated AI runtimes: publish InferenceResults to the inference topic, keyed by\n"
    "camera_id. Runs until --count or --duration is reached, or SIGINT/SIGTERM\n"
    "(outstanding messages are flushed either way).\n"
    "\n"
    "Options:\n"
    "  --cameras N               simulated cameras (default 8)\n"
    "  --fps F                   frames per second per camera; 0 = as fast as possible\n"
    "                            (default 5)\n"
    "  --count N                 stop after N messages\n"
    "  --duration SEC            stop after SEC seconds\n"
    "  --format FMT              avro (single-object, default) | avro-confluent | json\n"
    "  --seed S                  same seed and options give the same messages (default 1)\n"
    "  --malformed-fraction P    fraction 0..1 of deliberately malformed messages (default 0)\n"
    "  --camera-prefix P         camera ids are P001, P002, ... (default cam-)\n"
    "  --model-id ID             model of the fall-detection cameras (default fall-detector)\n"
    "  --result-ids / --no-result-ids\n"
    "                            include a result_id UUID in every result (default on)\n"
    "  --topic T                 topic to produce to (default: RUTH_TOPIC_INFERENCE)\n"
    "  --http URL                post the results to ruth-ingest instead (URL of its\n"
    "                            POST /v1/inference), as JSON arrays with a runtime\n"
    "                            token minted from JWT_SECRET_KEY (or RUTH_INGEST_KEY);\n"
    "                            a result counts as acknowledged when its batch is 202\n"
    "  --http-batch N            results per POST with --http (default 100)\n"
    "  --zones                   fall and PPE episodes alternate between the left half of\n"
    "                            the frame (feet inside the zone [[0,0],[0.5,0],[0.5,1],[0,1]],\n"
    "                            normalised) and the right half (outside it); camera 1's\n"
    "                            first episode is inside, camera 2's outside, and so on\n"
    "  --silent-camera N         camera N (1-based) stops sending after --silent-after\n"
    "  --silent-after SEC        seconds after the start (default 0: silent from the start)\n"
    "  --quiet                   no progress line on stderr\n"
    "Every result carries frame_width 1920 and frame_height 1080 (the frame its boxes\n"
    "are in; InferenceResult schema version 2).\n"
    "  -h, --help                this help\n"
    "\n"
    "Avro-confluent registers the InferenceResult schema with SCHEMA_REGISTRY_URL.\n"
    "A summary goes to stderr and, as a JSON log line with the totals, to stdout.\n"
    "--http posts JSON (--format json, the default with it) and no malformed results\n"
    "(ruth-ingest refuses a whole batch for one bad result).";

static bool sim__parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || isnan(v) || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool sim__parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        return false;
    *out = v;
    return true;
}

/* getopt_long ids of the long options; --help is 'h'. */
enum {
    SIM_OPT_CAMERAS = 1000,
    SIM_OPT_FPS,
    SIM_OPT_COUNT,
    SIM_OPT_DURATION,
    SIM_OPT_FORMAT,
    SIM_OPT_SEED,
    SIM_OPT_MALFORMED,
    SIM_OPT_PREFIX,
    SIM_OPT_MODEL,
    SIM_OPT_RESULT_IDS,
    SIM_OPT_NO_RESULT_IDS,
    SIM_OPT_TOPIC,
    SIM_OPT_QUIET,
    SIM_OPT_HTTP,
    SIM_OPT_HTTP_BATCH,
    SIM_OPT_ZONES,
    SIM_OPT_SILENT_CAMERA,
    SIM_OPT_SILENT_AFTER,
    SIM_OPT_END, /* one past the last */
};

static const struct option sim__longopts[] = {
    {"cameras", required_argument, NULL, SIM_OPT_CAMERAS},
    {"fps", required_argument, NULL, SIM_OPT_FPS},
    {"count", required_argument, NULL, SIM_OPT_COUNT},
    {"duration", required_argument, NULL, SIM_OPT_DURATION},
    {"format", required_argument, NULL, SIM_OPT_FORMAT},
    {"seed", required_argument, NULL, SIM_OPT_SEED},
    {"malformed-fraction", required_argument, NULL, SIM_OPT_MALFORMED},
    {"camera-prefix", required_argument, NULL, SIM_OPT_PREFIX},
    {"model-id", required_argument, NULL, SIM_OPT_MODEL},
    {"result-ids", no_argument, NULL, SIM_OPT_RESULT_IDS},
    {"no-result-ids", no_argument, NULL, SIM_OPT_NO_RESULT_IDS},
    {"topic", required_argument, NULL, SIM_OPT_TOPIC},
    {"quiet", no_argument, NULL, SIM_OPT_QUIET},
    {"http", required_argument, NULL, SIM_OPT_HTTP},
    {"http-batch", required_argument, NULL, SIM_OPT_HTTP_BATCH},
    {"zones", no_argument, NULL, SIM_OPT_ZONES},
    {"silent-camera", required_argument, NULL, SIM_OPT_SILENT_CAMERA},
    {"silent-after", required_argument, NULL, SIM_OPT_SILENT_AFTER},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static bool sim__parse_format(const char *s, sim_format *out)
{
    if (!strcmp(s, "avro"))
        *out = SIM_FORMAT_AVRO;
    else if (!strcmp(s, "avro-confluent"))
        *out = SIM_FORMAT_AVRO_CONFLUENT;
    else if (!strcmp(s, "json"))
        *out = SIM_FORMAT_JSON;
    else
        return false;
    return true;
}

/* Store option `opt` (a SIM_OPT_*) with its argument `val` (borrowed from
 * argv; NULL for options without one) in *a. False if `val` is invalid. */
static bool sim__apply_option(int opt, const char *val, sim_args *a)
{
    double d;
    switch (opt) {
    case SIM_OPT_CAMERAS:
        if (!sim__parse_double(val, 1, 100000, &d) || d != floor(d))
            return false;
        a->cameras = (int)d;
        return true;
    case SIM_OPT_FPS:
        return sim__parse_double(val, 0, 1e6, &a->fps);
    case SIM_OPT_COUNT:
        return sim__parse_u64(val, &a->count);
    case SIM_OPT_DURATION:
        return sim__parse_double(val, 0, 1e9, &a->duration);
    case SIM_OPT_FORMAT:
        if (!sim__parse_format(val, &a->format))
            return false;
        a->format_name = val;
        a->format_given = true;
        return true;
    case SIM_OPT_SEED:
        return sim__parse_u64(val, &a->seed);
    case SIM_OPT_MALFORMED:
        return sim__parse_double(val, 0, 1, &a->malformed_fraction);
    case SIM_OPT_PREFIX:
        a->camera_prefix = val;
        return true;
    case SIM_OPT_MODEL:
        if (!*val)
            return false;
        a->model_id = val;
        return true;
    case SIM_OPT_RESULT_IDS:
        a->result_ids = true;
        return true;
    case SIM_OPT_NO_RESULT_IDS:
        a->result_ids = false;
        return true;
    case SIM_OPT_TOPIC:
        if (!*val)
            return false;
        a->topic = val;
        return true;
    case SIM_OPT_QUIET:
        a->quiet = true;
        return true;
    case SIM_OPT_HTTP:
        if (strncmp(val, "http://", 7) && strncmp(val, "https://", 8))
            return false;
        a->http_url = val;
        return true;
    case SIM_OPT_HTTP_BATCH:
        if (!sim__parse_double(val, 1, 100000, &d) || d != floor(d))
            return false;
        a->http_batch = (int)d;
        return true;
    case SIM_OPT_ZONES:
        a->zones = true;
        return true;
    case SIM_OPT_SILENT_CAMERA:
        if (!sim__parse_double(val, 1, 100000, &d) || d != floor(d))
            return false;
        a->silent_camera = (int)d;
        return true;
    case SIM_OPT_SILENT_AFTER:
        return sim__parse_double(val, 0, 1e9, &a->silent_after);
    }
    return false;
}

/* Parse argv into *a. Returns 0 to run, 1 after --help, 2 on a usage error
 * (message printed). */
int sim_args_parse(int argc, char **argv, sim_args *a)
{
    *a = (sim_args){.cameras = 8,
                    .fps = 5,
                    .format = SIM_FORMAT_AVRO,
                    .format_name = "avro",
                    .seed = 1,
                    .camera_prefix = "cam-",
                    .model_id = "fall-detector",
                    .result_ids = true,
                    .http_batch = 100};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", sim__longopts, NULL)) != -1) {
        if (c == 'h') {
            config_print_help(stdout, CFG_SIMULATE, sim_args_usage);
            return 1;
        }
        if (c < SIM_OPT_CAMERAS || c >= SIM_OPT_END) {
            fprintf(stderr, "ruth-simulate: unknown option %s; see --help\n", argv[optind - 1]);
            return 2;
        }
        if (!sim__apply_option(c, optarg, a)) {
            fprintf(stderr, "ruth-simulate: invalid value \"%s\" for %s; see --help\n", optarg,
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ruth-simulate: unexpected argument \"%s\"; see --help\n", argv[optind]);
        return 2;
    }
    if (a->http_url) {
        if (a->format_given && a->format != SIM_FORMAT_JSON) {
            fprintf(stderr, "ruth-simulate: --http posts JSON; drop --format %s\n", a->format_name);
            return 2;
        }
        if (a->malformed_fraction > 0) {
            fprintf(stderr, "ruth-simulate: --http takes no --malformed-fraction (ruth-ingest "
                            "refuses the whole batch of a malformed result)\n");
            return 2;
        }
        a->format = SIM_FORMAT_JSON;
        a->format_name = "json";
    }
    return 0;
}
