/* test_evidence_breaker: the circuit breaker in front of VAS, on a clock
 * of the test's own. */
#include "evidence_breaker.h"
#include "testlib.h"

static void opens_after_consecutive_failures(void)
{
    evidence_breaker b;
    evidence_breaker_init(&b, 3, 10);
    CHECK(evidence_breaker_allow(&b, 0));
    evidence_breaker_report(&b, true, 0);
    evidence_breaker_report(&b, true, 1);
    evidence_breaker_report(&b, false, 2); /* a success in between resets the count */
    evidence_breaker_report(&b, true, 3);
    evidence_breaker_report(&b, true, 4);
    CHECK(evidence_breaker_state_at(&b, 4) == BREAKER_CLOSED);
    evidence_breaker_report(&b, true, 5);
    CHECK(evidence_breaker_state_at(&b, 5) == BREAKER_OPEN);
    CHECK(!evidence_breaker_allow(&b, 14.9));
    evidence_breaker_destroy(&b);
}

static void half_open_lets_one_probe_through(void)
{
    evidence_breaker b;
    evidence_breaker_init(&b, 1, 10);
    evidence_breaker_report(&b, true, 0);
    CHECK(evidence_breaker_state_at(&b, 10) == BREAKER_HALF_OPEN);
    CHECK(evidence_breaker_allow(&b, 10));  /* the probe */
    CHECK(!evidence_breaker_allow(&b, 10)); /* nobody else until it answers */
    evidence_breaker_report(&b, true, 11);  /* failed: open again, for a full period */
    CHECK(evidence_breaker_state_at(&b, 20) == BREAKER_OPEN);
    CHECK(evidence_breaker_allow(&b, 21)); /* next probe */
    evidence_breaker_report(&b, false, 21);
    CHECK(evidence_breaker_state_at(&b, 21) == BREAKER_CLOSED);
    CHECK(evidence_breaker_allow(&b, 21));
    CHECK(evidence_breaker_allow(&b, 21));
    CHECK_EQ_STR(evidence_breaker_state_name(BREAKER_HALF_OPEN), "half-open");
    evidence_breaker_destroy(&b);
}

int main(void)
{
    TEST_RUN(opens_after_consecutive_failures);
    TEST_RUN(half_open_lets_one_probe_through);
    return TEST_EXIT();
}
