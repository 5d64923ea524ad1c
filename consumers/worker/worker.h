/* worker.h - ruth-worker's process context, shared by its modules.
 *
 * The consumer loop (common/kafka_consumer.c: batches, retries, offsets,
 * dead letters) runs on one thread and calls back into worker_main.c,
 * which decodes and validates each message (bad input to the DLQ) and
 * writes the batch in one PostgreSQL transaction (worker_batch.c and its
 * steps). No other
 * globals than the config and the run flag: everything travels in this
 * struct. */
#ifndef RUTH_WORKER_H
#define RUTH_WORKER_H

#include "buf.h"
#include "codec.h"
#include "config.h"
#include "kafka.h"
#include "kafka_consumer.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "worker_rules.h"

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>

/* The most zones one event records (a camera's zones its boxes are in). */
#define WORKER_EVENT_MAX_ZONES 32

/* A camera's zone (zones table) as the worker tests boxes against it. */
typedef struct worker_zone {
    char *camera_id, *name;
    bool normalized; /* points in 0..1 of the frame, else pixels */
    double *xy;      /* n points */
    size_t n;
    int frame_w, frame_h; /* the camera's configured resolution, 0 = unknown */
} worker_zone;

/* One valid inference result of the batch and what became of it. */
typedef struct worker_event {
    rd_kafka_message_t *msg; /* borrowed from the batch */
    inference_result r;
    char id[37];                               /* deterministic from the idempotency key */
    unsigned char id_bin[16];                  /* the same id's 16 bytes */
    char idem_key[160];                        /* result_id, or topic/partition/offset */
    const char *event_type;                    /* canonical (points into the type map or r) */
    const char *type_detail;                   /* raw label when mapped, else NULL */
    bool inserted;                             /* new row (not a redelivery) */
    const rule *rule;                          /* the most specific enabled rule, NULL when none */
    bool qualifies;                            /* `rule` is set and confidence reaches it */
    char violation_id[37];                     /* "" when none */
    const char *zones[WORKER_EVENT_MAX_ZONES]; /* names (borrowed from the zone cache) */
    int nzones;
} worker_event;

typedef struct worker_type_map {
    char *raw;
    char *canonical;
} worker_type_map;

/* A camera looked up by another key (worker_cache.c): a camera id with the
 * model of its active inference session, or a VAS device id with the id
 * of its camera. */
typedef struct worker_camera_ref {
    char *key;
    char *value;
} worker_camera_ref;

/* Outbox rows this worker wrote and published after their COMMIT
 * (worker_publish.c), not yet deleted: the next batch's transaction deletes
 * the acknowledged ones with its COMMIT, an idle worker on their own. Ids
 * are comma-separated decimal (PostgreSQL's own output, so safe to quote). */
typedef struct worker_outbox_pending {
    kafka_acks *acks; /* acknowledgements of `published`; NULL when nothing is in flight */
    buf published;    /* ids produced, acknowledgements not yet checked */
    buf acked;        /* ids acknowledged by Kafka: to delete */
    int64_t since_us; /* clock_mono_us() when the oldest of them was produced */
} worker_outbox_pending;

/* Where a batch's wall time goes (ruth_worker_batch_stage_seconds_total
 * {stage=...}): the consumer's collect and offset commit between batches,
 * then the steps of worker_on_batch and worker_batch_write in order. */
typedef enum worker_stage {
    WORKER_STAGE_COLLECT, /* between batches: poll/fetch, offset commit, idle work */
    WORKER_STAGE_DECODE,  /* decode + validate, dead letters settled */
    WORKER_STAGE_BEGIN,   /* BEGIN + rules version, caches (re)loaded, classify */
    WORKER_STAGE_CAMERAS, /* unknown cameras registered */
    WORKER_STAGE_RULES,   /* rule_state, violations, evidence, outbox rows */
    WORKER_STAGE_COPY,    /* events COPY (or the staged path of a redelivery) */
    WORKER_STAGE_OFFLINE, /* cameras' arrival time, camera_offline ended */
    WORKER_STAGE_PRODUCE, /* Event messages encoded and produced */
    WORKER_STAGE_ROLLUPS, /* per-minute / per-hour rollups */
    WORKER_STAGE_ACKS,    /* waiting for Kafka to acknowledge the Events */
    WORKER_STAGE_COMMIT,  /* COMMIT (and the outbox DELETE it carries) */
    WORKER_STAGE_OUTBOX,  /* outbox rows read and produced after COMMIT */
    WORKER_STAGE_IDLE,    /* housekeeping between batches (worker_on_idle, every 2 s) */
    WORKER_NSTAGES
} worker_stage;

typedef struct worker_metrics {
    metric *stage[WORKER_NSTAGES];
    metric *persisted, *duplicates, *violations_opened, *violations_updated;
    metric *db_errors;
    /* input (worker_input.c) */
    metric *unknown_fields, *timestamp_defaulted, *model_defaulted, *camera_defaulted;
    metric *deepstream_objects;
} worker_metrics;

typedef struct worker {
    const ruth_config *cfg;
    kafka_consumer *kc;   /* the consumer loop (common/kafka_consumer.c) */
    rd_kafka_t *producer; /* borrowed from kc */
    codec *codec;
    PGconn *db;
    pg_stmts *stmts; /* prepared statements of db */
    metrics *reg;
    worker_metrics m;
    atomic_bool db_ok; /* read by /ready on the HTTP thread */
    /* caches refreshed every few seconds */
    worker_type_map *types;
    size_t ntypes;
    rule *rules;
    size_t nrules;
    worker_zone *zones; /* sorted by camera_id (strcmp) */
    size_t nzones;
    int64_t caches_loaded_us;
    int64_t rules_version; /* ruth_rules_version of the cached rules */
    char **cameras;        /* sorted known camera ids */
    size_t ncameras, capcameras;
    worker_camera_ref *sessions; /* camera id -> model of its active session, sorted */
    size_t nsessions;
    worker_camera_ref *sensors; /* VAS device id -> camera id, sorted */
    size_t nsensors;
    /* The batch in hand, decoded: events[0..nevents) are its valid results,
     * msgs[0..decoded) of it are events or acknowledged dead letters. Kept
     * across the attempts of one batch, so dead letters go out once. */
    worker_event *events; /* capevents slots (a DeepStream frame is many results) */
    size_t nevents, decoded, capevents;
    inference_result *ds_results; /* CODEC_MAX_BOXES slots for one DeepStream message */
    int64_t last_maintenance_us;
    int64_t batch_end_us; /* clock_mono_us() when the last batch returned; 0 before */
    worker_outbox_pending outbox;
    bool offline_sweeper; /* holds the offline sweep's advisory lock on db */
} worker;

/* What worker_main.c calls; each module's own header (worker_events.h,
 * worker_cache.h, ...) declares the rest, and includes this one. */

/* worker_batch.c: persist `events` (valid results of one batch) in one
 * transaction with rollups, rules, violations, evidence and the outbox,
 * publish Event messages before COMMIT, relay the outbox after it.
 * 0 on success; -1 when the database failed (nothing committed; the caller
 * retries the same batch later, which is idempotent). */
int worker_batch_write(worker *w, worker_event *events, size_t n);
/* worker_batch.c: add the time since *t0_us (clock_mono_us()) to `stage`'s
 * counter and move *t0_us to now. */
void worker_stage_done(worker *w, worker_stage stage, int64_t *t0_us);
/* worker_events.c: the idempotency key of the result decoded into e->r
 * (its result_id, else the topic/partition/offset of `m`, the message it
 * came from) and the event id derived from it and its capture time: sets
 * e->idem_key and e->id. */
void worker_events_identify(worker_event *e, const rd_kafka_message_t *m);
/* worker_cache.c: hourly housekeeping: upcoming event partitions, and
 * dropping the ones older than RUTH_EVENTS_RETENTION_DAYS (when set). */
void worker_maintain(worker *w);
/* worker_offline.c: the camera-offline sweep (worker_offline.h). */
void worker_offline_sweep(worker *w);
/* worker_publish.c: publish outbox rows left by crashed writers (older
 * than a few seconds). */
void worker_outbox_sweep(worker *w);
/* worker_cache.c: (re)connect to PostgreSQL and prepare statements; false
 * while it is down. */
bool worker_db_connect(worker *w);
/* worker_cache.c: the type map, rules and known cameras. */
void worker_caches_free(worker *w);

#endif
