/* worker_incidents_internal.h - what the two halves of the incident step share
 * (worker_incidents.c: rule state and the outbox, steps 4 and 6;
 * worker_incidents_write.c: the write pipeline, step 5). Nothing else
 * includes it. */
#ifndef RUTH_WORKER_INCIDENTS_INTERNAL_H
#define RUTH_WORKER_INCIDENTS_INTERNAL_H

#include "pg_array.h"
#include "worker.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* One (camera, event type) with new qualifying events in the batch. */
typedef struct incident_key {
    const char *camera_id, *event_type;
    const rule *r; /* the rule of the last event applied (written back) */
    rule_state *st;
    size_t q_from, q_to; /* its events in incidents.q */
} incident_key;

typedef struct changed_violation {
    rule_incident inc;
    incident_key *key;
} changed_violation;

/* The batch's work in this module, shared by the steps below. */
typedef struct incidents {
    worker *w;
    worker_event *ev; /* the batch (rule_incident.best_event indexes it) */
    worker_event **q; /* new qualifying events by camera, type, capture time */
    size_t nq;
    incident_key *keys; /* distinct (camera, type) of q, same order */
    size_t nk;
    pg_array key_cameras, key_types; /* $1, $2 of the rule-state statements */
    changed_violation *ch;           /* violations opened, grown or ended */
    size_t nch;
    size_t opened, updated; /* ViolationChanges put in the outbox, by change */
    bool link; /* UPDATE the stored events' violation_id (false: the COPY that follows writes it) */
} incidents;

/* Step 5: violations ended, grown and opened, their evidence rows, the
 * events linked, the rule state written back, one round trip. On success
 * *rows holds the changed violations (violation_row_select) when there are
 * any, else NULL (the caller clears it). 0, or -1 with err filled. */
int worker_incidents__write(incidents *inc, PGresult **rows, char *err, size_t errsz);

#endif
