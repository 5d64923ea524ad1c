/* worker_rules.c - see worker_rules.h. */
#include "worker_rules.h"

#include <stdlib.h>
#include <string.h>

bool rules_active(const rule *r, int64_t ts_us)
{
    if (!r->scheduled)
        return true;
    /* The last span starting at or before ts_us. */
    size_t lo = 0, hi = r->nspans;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (r->spans[mid].from_us <= ts_us)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && ts_us < r->spans[lo - 1].to_us;
}

static int rules__cmp_span(const void *a, const void *b)
{
    const rule_span *x = a, *y = b;
    return x->from_us < y->from_us ? -1 : x->from_us > y->from_us;
}

size_t rules_spans_normalize(rule_span *spans, size_t n)
{
    if (n < 2)
        return n;
    qsort(spans, n, sizeof *spans, rules__cmp_span);
    size_t k = 0;
    for (size_t i = 1; i < n; i++) {
        if (spans[i].from_us <= spans[k].to_us) {
            if (spans[i].to_us > spans[k].to_us)
                spans[k].to_us = spans[i].to_us;
        } else {
            spans[++k] = spans[i];
        }
    }
    return k + 1;
}

const rule *rules_match(const rule *rules, size_t n, const char *camera_id, const char *model_id,
                        const char *event_type)
{
    const rule *best = NULL;
    int best_score = -1;
    for (size_t i = 0; i < n; i++) {
        const rule *r = &rules[i];
        if (!r->enabled || strcmp(r->event_type, event_type) != 0)
            continue;
        if (r->camera_id && strcmp(r->camera_id, camera_id) != 0)
            continue;
        if (r->model_id && (!model_id || strcmp(r->model_id, model_id) != 0))
            continue;
        int score = (r->camera_id ? 2 : 0) + (r->model_id ? 1 : 0);
        if (score > best_score) {
            best = r;
            best_score = score;
        }
    }
    return best;
}

rule_outcome rules_apply(const rule *r, rule_state *st, int64_t ts_us, double confidence,
                         size_t event, const char *new_id)
{
    const int64_t cooldown_us = (int64_t)r->cooldown_seconds * 1000000;
    const int64_t window_us = (int64_t)r->window_seconds * 1000000;
    rule_incident *on = &st->ongoing;
    const int64_t prev_hit_us = st->last_hit_us;
    if (ts_us > st->last_hit_us)
        st->last_hit_us = ts_us;

    if (on->exists && ts_us - on->last_event_us <= cooldown_us) {
        /* Within the cooldown: the same incident, whatever its review status. */
        on->event_count++;
        on->changed = true;
        if (ts_us > on->last_event_us)
            on->last_event_us = ts_us;
        if (ts_us < on->first_event_us)
            on->first_event_us = ts_us;
        if (confidence > on->max_confidence) {
            on->max_confidence = confidence;
            on->best_event = event;
            on->best_in_batch = true;
        }
        return RULE_ATTACHED;
    }
    if (on->exists) {
        /* Past the cooldown: the incident ended when its cooldown ran out. */
        st->ended = *on;
        st->ended.ended = true;
        st->ended.changed = true;
        st->ended.ended_at_us = on->last_event_us + cooldown_us;
        memset(on, 0, sizeof *on);
    }
    /* Debounce: min_hits qualifying events within window_seconds. */
    int keep = 0;
    for (int i = 0; i < st->nhits; i++)
        if (ts_us - st->hits[i] <= window_us)
            st->hits[keep++] = st->hits[i];
    st->nhits = keep;
    if (st->nhits == RULE_MAX_HITS) {
        memmove(st->hits, st->hits + 1, (RULE_MAX_HITS - 1) * sizeof st->hits[0]);
        st->nhits--;
    }
    st->hits[st->nhits++] = ts_us;
    /* Dwell: the run starts again after a gap longer than the window. */
    if (!st->run_start_us || ts_us - prev_hit_us > window_us)
        st->run_start_us = ts_us;
    else if (ts_us < st->run_start_us)
        st->run_start_us = ts_us; /* an earlier event arriving late */
    if (st->nhits < r->min_hits ||
        ts_us - st->run_start_us < (int64_t)r->min_duration_seconds * 1000000)
        return RULE_NONE;

    st->nhits = 0;
    st->run_start_us = 0;
    st->last_fired_us = ts_us;
    memset(on, 0, sizeof *on);
    on->exists = on->is_new = on->changed = true;
    strncpy(on->id, new_id, sizeof on->id - 1);
    on->first_event_us = on->last_event_us = ts_us;
    on->event_count = 1;
    on->confidence = on->max_confidence = confidence;
    on->best_event = event;
    on->best_in_batch = true;
    return RULE_OPENED;
}
