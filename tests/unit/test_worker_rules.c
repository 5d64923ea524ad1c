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

static void schedule_spans_start_inclusive_end_exclusive(void)
{
    /* Two nights 22:00-06:00 (crossing midnight) and an overlapping and a
     * touching span, unsorted: normalised into two spans. */
    const int64_t H = 3600 * S, D = 24 * H;
    rule_span sp[] = {{D + 22 * H, 2 * D + 6 * H},
                      {22 * H, D + 6 * H},
                      {D + 5 * H, D + 7 * H},
                      {D + 7 * H, D + 8 * H}};
    size_t n = rules_spans_normalize(sp, 4);
    CHECK_EQ_INT(n, 2);
    CHECK(sp[0].from_us == 22 * H && sp[0].to_us == D + 8 * H);
    CHECK(sp[1].from_us == D + 22 * H && sp[1].to_us == 2 * D + 6 * H);
    rule r = rules[0];
    r.scheduled = true;
    r.spans = sp;
    r.nspans = n;
    CHECK(!rules_active(&r, 22 * H - 1));
    CHECK(rules_active(&r, 22 * H));    /* start inclusive */
    CHECK(rules_active(&r, D + 3 * H)); /* after midnight */
    CHECK(rules_active(&r, D + 8 * H - 1));
    CHECK(!rules_active(&r, D + 8 * H));  /* end exclusive */
    CHECK(!rules_active(&r, D + 12 * H)); /* between the nights */
    CHECK(rules_active(&r, 2 * D + 1 * H));
    CHECK(!rules_active(&r, 3 * D)); /* past the last span */
    CHECK(!rules_active(&r, 0));     /* before the first */
    r.nspans = 0;                    /* scheduled, no window near: never */
    CHECK(!rules_active(&r, D + 3 * H));
    r.scheduled = false;
    CHECK(rules_active(&r, 12345)); /* unscheduled: always */
}

static void dwell_needs_the_run_to_last(void)
{
    rule r = rules[0]; /* 1 hit, window 10 s */
    r.min_duration_seconds = 5;
    rule_state st = {0};
    CHECK(rules_apply(&r, &st, 100 * S, 0.9, 0, "d1") == RULE_NONE);
    CHECK(rules_apply(&r, &st, 103 * S, 0.9, 1, "d1") == RULE_NONE);
    CHECK(rules_apply(&r, &st, 105 * S - 1, 0.9, 2, "d1") == RULE_NONE); /* just under 5 s */
    CHECK(rules_apply(&r, &st, 105 * S, 0.9, 3, "d1") == RULE_OPENED);   /* 5 s exactly */
    CHECK_EQ_INT(st.run_start_us, 0);
    /* A gap longer than the window starts the run again. */
    rule_state st2 = {0};
    CHECK(rules_apply(&r, &st2, 100 * S, 0.9, 0, "d2") == RULE_NONE);
    CHECK(rules_apply(&r, &st2, 104 * S, 0.9, 1, "d2") == RULE_NONE);
    CHECK(rules_apply(&r, &st2, 114 * S + 1, 0.9, 2, "d2") == RULE_NONE); /* gap 10 s + 1 us */
    CHECK(st2.run_start_us == 114 * S + 1);
    CHECK(rules_apply(&r, &st2, 118 * S, 0.9, 3, "d2") == RULE_NONE);
    CHECK(rules_apply(&r, &st2, 119 * S + 1, 0.9, 4, "d2") == RULE_OPENED);
    /* A gap of exactly the window keeps the run. */
    rule_state st3 = {0};
    CHECK(rules_apply(&r, &st3, 200 * S, 0.9, 0, "d3") == RULE_NONE);
    CHECK(rules_apply(&r, &st3, 210 * S, 0.9, 1, "d3") == RULE_OPENED);
}

int main(void)
{
    TEST_RUN(most_specific_rule_wins);
    TEST_RUN(debounce_needs_hits_within_window);
    TEST_RUN(cooldown_attach_then_end);
    TEST_RUN(schedule_spans_start_inclusive_end_exclusive);
    TEST_RUN(dwell_needs_the_run_to_last);
    return TEST_EXIT();
}
