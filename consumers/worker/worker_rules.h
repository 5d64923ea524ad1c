/* worker_rules.h - thresholds, debounce, cooldown and incidents (ARCHITECTURE §5.4-5.5).
 *
 * Pure logic, no I/O: the batch code loads a rule_state per (camera, event
 * type) and feeds it the batch's new qualifying events in capture-time order;
 * this module decides attach / end / open and updates the state. The caller
 * persists the outcome in the same transaction as the events, so a
 * partition moving to another worker continues exactly where it was. */
#ifndef RUTH_WORKER_RULES_H
#define RUTH_WORKER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULE_MAX_HITS 1000 /* rule_state.recent_hits CHECK */

/* One active window of a rule as a UTC span [from_us, to_us). */
typedef struct rule_span {
    int64_t from_us, to_us;
} rule_span;

typedef struct rule {
    char id[37];     /* rules.id; "" for none */
    char *camera_id; /* NULL = any */
    char *model_id;  /* NULL = any */
    char *event_type;
    bool enabled;
    double min_confidence;
    int min_hits;
    int window_seconds;
    int cooldown_seconds;
    char severity[16];
    char **required_zones; /* an event qualifies only when in one of these; NULL = anywhere */
    int nrequired;
    int min_duration_seconds; /* dwell: 0 = fire at once */
    bool scheduled;           /* has active windows: fires only inside spans */
    rule_span *spans;         /* the windows as UTC spans, sorted, around now */
    size_t nspans;
} rule;

/* The most specific enabled rule for (camera, model, type): camera+model >
 * camera > model > any; NULL when none applies (the event never violates). */
const rule *rules_match(const rule *rules, size_t n, const char *camera_id, const char *model_id,
                        const char *event_type);

/* Whether r is active at capture time ts_us: always without a schedule,
 * else when ts_us lies in one of its spans (start inclusive, end
 * exclusive). */
bool rules_active(const rule *r, int64_t ts_us);

/* Sort spans by start and merge the overlapping or touching ones, in
 * place; returns the new count. */
size_t rules_spans_normalize(rule_span *spans, size_t n);

/* The ongoing violation of a (camera, type), as far as rules need it. */
typedef struct rule_incident {
    bool exists;
    bool is_new;  /* opened in this batch */
    bool changed; /* attached to or ended in this batch */
    bool ended;   /* ended in this batch (kept for the UPDATE) */
    char id[37];
    int64_t first_event_us, last_event_us, ended_at_us;
    int64_t event_count;
    double confidence, max_confidence;
    size_t best_event; /* index of the batch event with max confidence, or SIZE_MAX */
    bool best_in_batch;
} rule_incident;

typedef struct rule_state {
    int64_t hits[RULE_MAX_HITS]; /* qualifying timestamps inside the window, oldest first */
    int nhits;
    int64_t last_hit_us;
    int64_t last_fired_us;
    int64_t run_start_us;  /* dwell: first qualifying event of the current run, 0 = none */
    rule_incident ongoing; /* the incident qualifying events attach to */
    rule_incident ended;   /* set by rules_apply when it ended `ongoing`; the
                              caller moves it out before the next call */
} rule_state;

typedef enum { RULE_NONE, RULE_ATTACHED, RULE_OPENED } rule_outcome;

/* Apply one qualifying event (confidence already >= min_confidence) with
 * capture time ts_us and confidence, index `event` in the batch. When it
 * opens a violation, `new_id` (a UUID the caller derives from the event) is
 * used. If an ongoing incident is past its cooldown it is ended first and
 * reported in st->ended (the caller must persist it before the new one,
 * because of the one-ongoing-per-(camera,type) index). Returns what happened
 * to the event; on RULE_ATTACHED/RULE_OPENED the event belongs to
 * st->ongoing. Dwell: with min_duration_seconds, a run of qualifying
 * events (each within window_seconds of the previous) must have lasted
 * that long, first to this one, besides the min_hits debounce. */
rule_outcome rules_apply(const rule *r, rule_state *st, int64_t ts_us, double confidence,
                         size_t event, const char *new_id);

#endif
