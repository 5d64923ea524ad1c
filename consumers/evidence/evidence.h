/* evidence.h - ruth-evidence's process context, shared by its modules.
 *
 * Two kinds of thread share it:
 *   - the consumer loop (common/kafka_consumer.c) on ruth.evidence.v1, whose
 *     batches only record each EvidenceRequest as a due evidence row
 *     (evidence_intake.c): no VAS call ever holds up a partition;
 *   - RUTH_EVIDENCE_WORKERS step threads (evidence_steps.c), each claiming
 *     due rows from PostgreSQL (FOR UPDATE SKIP LOCKED, with a lease) and
 *     doing one VAS step per row: create the snapshot or bookmark, poll it,
 *     or give up, rescheduling the row by its next_attempt_at;
 *   - one camera-sync thread (evidence_sync.c).
 * No globals but the config and the run flag. */
#ifndef RUTH_EVIDENCE_H
#define RUTH_EVIDENCE_H

#include "codec.h"
#include "config.h"
#include "evidence_breaker.h"
#include "kafka_consumer.h"
#include "metrics.h"
#include "pg.h"
#include "vas.h"

#include <libpq-fe.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct evidence_metrics {
    metric *requests;             /* EvidenceRequests recorded */
    metric *ready, *failed;       /* items that reached a final state */
    metric *retries;              /* VAS calls to be tried again later */
    metric *breaker_state;        /* 0 closed, 1 open, 2 half-open */
    metric *due;                  /* items due now, at the last claim */
    metric *pending, *processing; /* items not final, all replicas, at the last count */
    double counted_at;            /* monotonic s of that count (the consumer thread's) */
    metric *step_seconds;
} evidence_metrics;

typedef struct evidence {
    const ruth_config *cfg;
    kafka_consumer *kc;
    rd_kafka_t *producer; /* borrowed from kc; shared by the step threads */
    codec *codec;         /* the consumer thread's (decoding) */
    vas *vas;             /* one token per process, shared */
    metrics *reg;
    evidence_metrics m;
    evidence_breaker breaker;
    unsigned char *dead; /* per message of the batch in hand: dead letter 2 sent, 1 acknowledged */
    PGconn *db;          /* the consumer thread's connection; step threads have their own */
    pg_stmts *stmts;
    atomic_bool db_ok;
} evidence;

/* evidence_intake.c: the consumer loop's batch callback. */
kafka_consumer_verdict evidence_intake_batch(void *arg, kafka_consumer *kc,
                                             const kafka_consumer_batch *b);
/* (Re)connect the consumer thread's connection; false while PostgreSQL is down. */
bool evidence_db_connect(evidence *e);

/* evidence_steps.c: start RUTH_EVIDENCE_WORKERS step threads; they run
 * until shutdown_requested(). evidence_steps_join() waits for them. */
typedef struct evidence_steps evidence_steps;
evidence_steps *evidence_steps_start(evidence *e, char *errstr, size_t errsz);
void evidence_steps_join(evidence_steps *s); /* accepts NULL */

/* evidence_sync.c: VAS devices and streams into `cameras`, at start and
 * every RUTH_CAMERA_SYNC_SEC, on a thread of its own. */
typedef struct evidence_sync evidence_sync;
evidence_sync *evidence_sync_start(evidence *e);
void evidence_sync_join(evidence_sync *s); /* accepts NULL */
/* One pass (also for tests): 0, or -1 when VAS or PostgreSQL failed. */
int evidence_sync_once(evidence *e, PGconn *db);

#endif
