/* api_ratelimit.c - the rate limiter: a token bucket per client address in
 * a fixed table of slots, one lock. */
#include "api_ratelimit.h"

#include "hash.h"

#include "xmalloc.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_SLOTS 4096

typedef struct rl_slot {
    char client[64];
    double tokens;
    double at;
} rl_slot;

struct api_ratelimit {
    int rps;
    pthread_mutex_t mu;
    rl_slot slots[RL_SLOTS];
};

api_ratelimit *api_ratelimit_new(int rps)
{
    api_ratelimit *rl = xcalloc(1, sizeof *rl);
    rl->rps = rps;
    pthread_mutex_init(&rl->mu, NULL);
    return rl;
}

void api_ratelimit_free(api_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

bool api_ratelimit_take(api_ratelimit *rl, const char *client, double now, int *retry_after_sec)
{
    if (!rl || rl->rps <= 0)
        return true;
    uint32_t h = hash_fnv1a32_str(client);
    double burst = rl->rps * 2.0;
    pthread_mutex_lock(&rl->mu);
    /* A client sharing a slot with another evicts it: the evicted one starts
     * with a full bucket, which only errs towards letting requests in. */
    rl_slot *s = &rl->slots[h % RL_SLOTS];
    if (strcmp(s->client, client)) {
        snprintf(s->client, sizeof s->client, "%s", client);
        s->tokens = burst;
        s->at = now;
    }
    s->tokens += (now - s->at) * rl->rps;
    if (s->tokens > burst)
        s->tokens = burst;
    s->at = now;
    bool ok = s->tokens >= 1.0;
    if (ok)
        s->tokens -= 1.0;
    else
        *retry_after_sec = (int)((1.0 - s->tokens) / rl->rps) + 1;
    pthread_mutex_unlock(&rl->mu);
    return ok;
}
