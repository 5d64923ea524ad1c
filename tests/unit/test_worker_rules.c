/* The rule engine alone: most specific rule, debounce window, cooldown
 * attach, ending an incident when its cooldown ran out. */
#include "testlib.h"
#include "worker_rules.h"

#define S 1000000LL

static rule rules[] = {
    {"r-global", NULL, NULL, "fall_detected", true, 0.7, 1, 10, 60, "high", NULL, 0, 0, false, NULL,
     0},
    {"r-model", NULL, "m2", "fall_detected", true, 0.8, 1, 10, 60, "high", NULL, 0, 0, false, NULL,
     0},
    {"r-cam", "cam-1", NULL, "fall_detected", true, 0.9, 3, 10, 30, "critical", NULL, 0, 0, false,
     NULL, 0},
    {"r-cam-model", "cam-1", "m2", "fall_detected", true, 0.95, 1, 10, 60, "low", NULL, 0, 0, false,
     NULL, 0},
    {"r-off", "cam-2", NULL, "fall_detected", false, 0.1, 1, 10, 60, "low", NULL, 0, 0, false, NULL,
     0},
};
#define NRULES (sizeof rules / sizeof rules[0])

static void most_specific_rule_wins(void)
{
    CHECK_EQ_STR(rules_match(rules, NRULES, "cam-1", "m2", "fall_detected")->id, "r-cam-model");
    CHECK_EQ_STR(rules_match(rules, NRULES, "cam-1", "m1", "fall_detected")->id, "r-cam");
    CHECK_EQ_STR(rules_match(rules, NRULES, "cam-9", "m2", "fall_detected")->id, "r-model");
    CHECK_EQ_STR(rules_match(rules, NRULES, "cam-9", "m1", "fall_detected")->id, "r-global");
    /* a disabled camera rule falls back to the global one */
    CHECK_EQ_STR(rules_match(rules, NRULES, "cam-2", "m1", "fall_detected")->id, "r-global");
    CHECK(rules_match(rules, NRULES, "cam-9", "m1", "no_fall") == NULL);
}

static void debounce_needs_hits_within_window(void)
{
    rule_state st = {0};
    const rule *r = &rules[2]; /* 3 hits within 10 s */
    CHECK(rules_apply(r, &st, 0 * S, 0.95, 0, "v1") == RULE_NONE);
    CHECK(rules_apply(r, &st, 20 * S, 0.95, 1, "v1") == RULE_NONE); /* first hit expired */
    CHECK(rules_apply(r, &st, 25 * S, 0.95, 2, "v1") == RULE_NONE);
    CHECK(rules_apply(r, &st, 29 * S, 0.95, 3, "v1") == RULE_OPENED);
    CHECK_EQ_STR(st.ongoing.id, "v1");
    CHECK_EQ_INT(st.nhits, 0);
}

static void cooldown_attach_then_end(void)
{
    rule_state st = {0};
    const rule *r = &rules[0]; /* cooldown 60 s */
    CHECK(rules_apply(r, &st, 100 * S, 0.8, 0, "v1") == RULE_OPENED);
    CHECK(rules_apply(r, &st, 160 * S, 0.9, 1, "v2") == RULE_ATTACHED); /* exactly at the edge */
    CHECK_EQ_INT(st.ongoing.event_count, 2);
    CHECK(st.ongoing.max_confidence == 0.9 && st.ongoing.best_event == 1);
    CHECK(!st.ended.ended);
    CHECK(rules_apply(r, &st, 221 * S, 0.75, 2, "v3") == RULE_OPENED);
    CHECK(st.ended.ended);
    CHECK_EQ_STR(st.ended.id, "v1");
    CHECK_EQ_INT(st.ended.ended_at_us, 220 * S); /* last event + cooldown */
    CHECK_EQ_STR(st.ongoing.id, "v3");
    CHECK_EQ_INT(st.ongoing.event_count, 1);
}

int main(void)
{
    TEST_RUN(most_specific_rule_wins);
    TEST_RUN(debounce_needs_hits_within_window);
    TEST_RUN(cooldown_attach_then_end);
    return TEST_EXIT();
}
