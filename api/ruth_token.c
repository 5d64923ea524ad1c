/* ruth_token.c - ruth-token: mint an API bearer token for operators and tests.
 *
 *   JWT_SECRET_KEY=... ruth-token --sub alice --role operator [--ttl 3600]
 *
 * Prints an HS256 JWT with sub, role, iat and exp, signed with the same
 * JWT_SECRET_KEY ruth-api and ruth-ingest verify with. */
#include "api_auth.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
    fprintf(out, "Usage: ruth-token --sub NAME --role viewer|operator|admin|runtime [--ttl "
                 "SECONDS]\n"
                 "\n"
                 "Prints a bearer token for ruth-api or ruth-ingest signed with JWT_SECRET_KEY\n"
                 "(HS256).\n"
                 "  --sub   the user the token speaks for (recorded as reviewed_by)\n"
                 "  --role  viewer (reads), operator (+ violation review), admin (+ devices,\n"
                 "          rules, event-type map); runtime (AI runtimes: POST /v1/inference\n"
                 "          on ruth-ingest, nothing on ruth-api)\n"
                 "  --ttl   lifetime in seconds (default 3600; negative mints an expired token)\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"sub", required_argument, NULL, 's'},
                                         {"role", required_argument, NULL, 'r'},
                                         {"ttl", required_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sub = NULL, *role = NULL;
    long ttl = 3600;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            sub = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 't': {
            char *end;
            ttl = strtol(optarg, &end, 10);
            if (!*optarg || *end) {
                fprintf(stderr, "ruth-token: --ttl must be an integer number of seconds\n");
                return 2;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    const char *key = getenv("JWT_SECRET_KEY");
    if (!key || !*key) {
        fprintf(stderr, "ruth-token: JWT_SECRET_KEY is not set; it must be the key ruth-api "
                        "uses\n");
        return 2;
    }
    if (strlen(key) < 32) { /* ruth-api refuses shorter keys (RFC 7518 §3.2) */
        fprintf(stderr, "ruth-token: JWT_SECRET_KEY is %zu bytes long; at least 32 are needed\n",
                strlen(key));
        return 2;
    }
    if (!sub || !*sub) {
        fprintf(stderr, "ruth-token: --sub is required\n");
        return 2;
    }
    api_role r = api_role_parse(role);
    if (r == ROLE_NONE) {
        fprintf(stderr, "ruth-token: --role must be viewer, operator, admin or runtime\n");
        return 2;
    }
    int64_t now = (int64_t)time(NULL);
    char *t = auth_mint(key, sub, r, now, now + ttl);
    puts(t);
    free(t);
    return 0;
}
