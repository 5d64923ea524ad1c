/* evidence_breaker.h - the circuit breaker in front of VAS.
 *
 * Closed: calls go through; `failures` consecutive transient failures
 * (5xx, network) open it. Open: no call for `open_sec`; then half-open:
 * exactly one probe call goes through, whose success closes the breaker
 * and whose failure opens it again. So while VAS is down, ruth-evidence
 * makes at most one call per open period, whatever its backlog. Thread-safe. */
#ifndef RUTH_EVIDENCE_BREAKER_H
#define RUTH_EVIDENCE_BREAKER_H

#include <pthread.h>
#include <stdbool.h>

typedef enum { BREAKER_CLOSED = 0, BREAKER_OPEN = 1, BREAKER_HALF_OPEN = 2 } evidence_breaker_state;

typedef struct evidence_breaker {
    pthread_mutex_t mu;
    int threshold;
    double open_sec;
    int consecutive;
    evidence_breaker_state state;
    double opened_at;
    bool probing; /* the half-open probe is out */
} evidence_breaker;

void evidence_breaker_init(evidence_breaker *b, int threshold, double open_sec);
void evidence_breaker_destroy(evidence_breaker *b);
/* May a call be made at `now` (seconds)? In half-open, true once, for the
 * probe, until its outcome is reported. */
bool evidence_breaker_allow(evidence_breaker *b, double now);
/* Outcome of an allowed call: `transient_failure` for 5xx and network
 * errors (a 4xx answer means VAS is up). True when this success follows
 * failures (VAS is back), whether or not they had opened the breaker. */
bool evidence_breaker_report(evidence_breaker *b, bool transient_failure, double now);
evidence_breaker_state evidence_breaker_state_at(evidence_breaker *b, double now);
const char *evidence_breaker_state_name(evidence_breaker_state s);

#endif
