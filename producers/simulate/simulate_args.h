/* simulate_args.h - ruth-simulate's command line (simulate_args.c): the
 * options, their defaults and checks, and the --help text. */
#ifndef RUTH_SIMULATE_ARGS_H
#define RUTH_SIMULATE_ARGS_H

#include "simulate_malform.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct sim_args {
    int cameras;
    double fps;
    uint64_t count;  /* 0 = unbounded */
    double duration; /* 0 = unbounded */
    sim_format format;
    const char *format_name;
    uint64_t seed;
    double malformed_fraction;
    const char *camera_prefix;
    const char *model_id;
    bool result_ids;
    const char *topic;
    const char *http_url; /* NULL: produce to Kafka */
    int http_batch;
    bool format_given;
    bool quiet;
    bool zones;          /* episodes alternate inside and outside a demo zone */
    int silent_camera;   /* 1-based; 0 = none */
    double silent_after; /* seconds after the start */
} sim_args;

/* The usage text (config_print_help adds the settings). */
extern const char sim_args_usage[];

/* Parse argv into *a (strings borrowed from argv). Returns 0 to run, 1
 * after --help (printed), 2 on a usage error (message printed). */
int sim_args_parse(int argc, char **argv, sim_args *a);

#endif
