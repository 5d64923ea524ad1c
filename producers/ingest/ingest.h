/* ingest.h - ruth-ingest's two contexts: the process (`ingest`) and one
 * request (`ingest_req`).
 *
 * Module map:
 *   ingest_main.c     start-up, the producer's poll and readiness loop, stop
 *   ingest_http.c     libmicrohttpd callbacks (common/http_server.h does the
 *                     limits), routes, authentication, the answer
 *   ingest_items.c    a request body cut into its InferenceResults (JSON
 *                     object or array, one Avro message): pure, unit-tested
 *   ingest_produce.c  validate every item with the shared codec, produce
 *                     them
 *   ingest_acks.c     the request suspended until the broker acknowledged
 *                     (delivery reports answer it; deadlines)
 *   ingest_register.c POST /v1/runtimes/register into PostgreSQL
 *
 * Everything the process keeps between requests hangs off `ingest`: no
 * module keeps state of its own in file statics. */
#ifndef RUTH_INGEST_H
#define RUTH_INGEST_H

#include "buf.h"
#include "codec.h"
#include "config.h"
#include "http_server.h"
#include "metrics.h"
#include "pg_pool.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct ingest_wait ingest_wait; /* ingest_acks.c */

/* Codecs for the HTTP threads: a codec serves one thread at a time, so a
 * request takes one for its validation and gives it back. */
typedef struct ingest_codecs {
    pthread_mutex_t mu;
    codec **free; /* stack of idle codecs */
    size_t nfree, cap;
    const char *registry_url; /* borrowed from the config */
} ingest_codecs;

/* The process context, built and torn down by ingest_main.c; every member
 * is owned by it unless said otherwise. */
typedef struct ingest {
    const ruth_config *cfg; /* borrowed from main() */
    rd_kafka_t *producer;   /* idempotent, acks=all */
    ingest_codecs codecs;
    atomic_bool broker_ok; /* the inference topic's metadata answered lately */
    char broker_reason[160];
    pg_pool *db;       /* DATABASE_URL (runtime registration); NULL when unset */
    atomic_bool db_ok; /* it answered SELECT 1 lately (a note in /ready only) */
    char db_reason[160];
    pthread_mutex_t reason_mu; /* guards broker_reason, db_reason */
    metrics *reg;
    metric *m_results;      /* results acknowledged by Kafka */
    metric *m_rejected;     /* results refused as invalid */
    metric *m_produce_secs; /* produce -> last acknowledgement, per request */
    metric *m_inflight;
    pthread_mutex_t waits_mu; /* guards the list of waiting requests */
    ingest_wait *waits;       /* suspended requests, oldest first (ingest_acks.c) */
    ingest_wait *waits_tail;
    atomic_bool stopping; /* SIGTERM: new results are refused 503 */
    atomic_int active;    /* requests begun and not completed */
    struct MHD_Daemon *daemon;
    http_conn *conns;
} ingest;

/* One request, from libmicrohttpd's first callback to its completion
 * (ingest_http.c owns and frees it). */
typedef struct ingest_req {
    ingest *g;
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    char request_id[72];
    char client[64];
    double started; /* monotonic seconds */
    buf body;
    http_upload upload;
    bool close;           /* "Connection: close" after the answer */
    ingest_wait *wait;    /* while Kafka has its results (ingest_acks.c) */
    bool suspended;       /* the connection waits for the delivery reports */
    atomic_bool answered; /* set by whoever filled the answer of a suspended request */
    /* response */
    unsigned status;
    buf out;
    const char *content_type; /* NULL = application/json */
    char retry_after[16];
    char allow[32]; /* methods for a 405 */
} ingest_req;

/* The contract's error body {error, error_description, status_code,
 * details, request_id, timestamp} as the answer; `details` (may be NULL)
 * is stolen (ingest_http.c). */
void ingest_error(ingest_req *r, unsigned status, const char *code, json_t *details,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The 503 + Retry-After answer for `n` results not taken: `why` the
 * details' reason, `fmt` the description with one %zu (ingest_http.c). */
void ingest_unavailable(ingest_req *r, const char *why, const char *fmt, size_t n);

#endif
