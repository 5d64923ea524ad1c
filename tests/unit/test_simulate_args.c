/* ruth-simulate's options (simulate_args.c): every option of --help is
 * accepted, the demo's --zones and --silent-camera included (the range
 * check of option ids once stopped before them), and bad values are
 * refused with exit code 2. */
#include "simulate_args.h"
#include "testlib.h"

#include <getopt.h>

static int parse(int argc, char **argv, sim_args *a)
{
    optind = 0; /* getopt_long restarts (glibc: full reinitialisation) */
    return sim_args_parse(argc, argv, a);
}

static void demo_options_are_accepted(void)
{
    char *argv[] = {"ruth-simulate",
                    "--cameras",
                    "8",
                    "--fps",
                    "10",
                    "--duration",
                    "20",
                    "--seed",
                    "42",
                    "--format",
                    "avro",
                    "--malformed-fraction",
                    "0.01",
                    "--zones",
                    "--silent-camera",
                    "3",
                    "--silent-after",
                    "2",
                    "--quiet",
                    "--http-batch",
                    "50"};
    sim_args a;
    CHECK(parse((int)(sizeof argv / sizeof *argv), argv, &a) == 0);
    CHECK(a.cameras == 8 && a.seed == 42 && a.quiet && a.http_batch == 50);
    CHECK(a.zones);
    CHECK(a.silent_camera == 3);
    CHECK(a.silent_after == 2);
}

static void bad_values_are_refused(void)
{
    char *unknown[] = {"ruth-simulate", "--no-such-option"};
    sim_args a;
    CHECK(parse(2, unknown, &a) == 2);
    char *bad[] = {"ruth-simulate", "--silent-camera", "-1"};
    CHECK(parse(3, bad, &a) == 2);
}

int main(void)
{
    TEST_RUN(demo_options_are_accepted);
    TEST_RUN(bad_values_are_refused);
    return TEST_EXIT();
}
