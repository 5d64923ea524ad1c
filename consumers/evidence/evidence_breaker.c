/* evidence_breaker.c - see evidence_breaker.h. */
#include "evidence_breaker.h"

void evidence_breaker_init(evidence_breaker *b, int threshold, double open_sec)
{
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = threshold > 0 ? threshold : 1;
    b->open_sec = open_sec;
    b->consecutive = 0;
    b->state = BREAKER_CLOSED;
    b->opened_at = 0;
    b->probing = false;
}

void evidence_breaker_destroy(evidence_breaker *b)
{
    pthread_mutex_destroy(&b->mu);
}

/* Open -> half-open once the open period is over. Called locked. */
static void breaker__advance(evidence_breaker *b, double now)
{
    if (b->state == BREAKER_OPEN && now - b->opened_at >= b->open_sec) {
        b->state = BREAKER_HALF_OPEN;
        b->probing = false;
    }
}

bool evidence_breaker_allow(evidence_breaker *b, double now)
{
    pthread_mutex_lock(&b->mu);
    breaker__advance(b, now);
    bool ok = b->state == BREAKER_CLOSED;
    if (b->state == BREAKER_HALF_OPEN && !b->probing)
        ok = b->probing = true;
    pthread_mutex_unlock(&b->mu);
    return ok;
}

bool evidence_breaker_report(evidence_breaker *b, bool transient_failure, double now)
{
    pthread_mutex_lock(&b->mu);
    bool closed_now = !transient_failure && (b->state != BREAKER_CLOSED || b->consecutive > 0);
    if (!transient_failure) {
        b->consecutive = 0;
        b->state = BREAKER_CLOSED;
        b->probing = false;
    } else if (b->state == BREAKER_HALF_OPEN || ++b->consecutive >= b->threshold) {
        b->state = BREAKER_OPEN;
        b->opened_at = now;
        b->probing = false;
    }
    pthread_mutex_unlock(&b->mu);
    return closed_now;
}

evidence_breaker_state evidence_breaker_state_at(evidence_breaker *b, double now)
{
    pthread_mutex_lock(&b->mu);
    breaker__advance(b, now);
    evidence_breaker_state s = b->state;
    pthread_mutex_unlock(&b->mu);
    return s;
}

const char *evidence_breaker_state_name(evidence_breaker_state s)
{
    return s == BREAKER_OPEN ? "open" : s == BREAKER_HALF_OPEN ? "half-open" : "closed";
}
