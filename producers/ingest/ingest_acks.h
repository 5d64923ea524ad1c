/* ingest_acks.h - waiting for Kafka without a thread (ingest_acks.c).
 *
 * A request whose results were all handed to the producer is suspended
 * (MHD_suspend_connection): its HTTP thread goes on to other connections.
 * Each message carries the request's `ingest_wait` as its opaque; the
 * delivery reports (served by the process's poll loop) count down, and the
 * last one answers the request, 202 when none failed, and resumes the
 * connection. A failed delivery answers 503 at once; a request still
 * unanswered RUTH_INGEST_ACK_TIMEOUT_MS after its first produce is answered
 * 503 by ingest_acks_sweep(). Reports arriving after the answer only
 * release the wait, which owns the request body the messages point into
 * (they are produced without a copy) until the last of them.
 *
 * Threads: ingest_acks_begin/_commit/_abandon and _detach run on the HTTP
 * thread of the request; _on_delivery, _sweep and _drain on the poll loop.
 * Exactly one of them answers a request (a compare-and-swap on the wait). */
#ifndef RUTH_INGEST_ACKS_H
#define RUTH_INGEST_ACKS_H

#include "ingest.h"

/* Begin waiting for r's `n` results; the wait takes r->body (its memory
 * stays valid for the messages until the last report). Returns the opaque
 * to give each produced message through ingest_acks_hold(). */
ingest_wait *ingest_acks_begin(ingest_req *r, size_t n);
/* One more message produced with opaque `w` (call before producing it);
 * ingest_acks_unhold() when librdkafka refused it. */
void *ingest_acks_hold(ingest_wait *w);
void ingest_acks_unhold(ingest_wait *w);
/* Every message is produced: suspend the connection and let the reports
 * answer (or answer now when they are all in already). */
void ingest_acks_commit(ingest_req *r);
/* Producing failed part-way: r is answered by the caller (503) and not
 * suspended; reports of what went out only release the wait. */
void ingest_acks_abandon(ingest_req *r);

/* The producer's delivery-report callback's work for message `m`. */
void ingest_acks_on_delivery(ingest *g, const rd_kafka_message_t *m);
/* Answer 503 every request past its deadline (monotonic `now`). */
void ingest_acks_sweep(ingest *g, double now);
/* At shutdown: serve reports and deadlines until no request waits or
 * `timeout_s` passes. */
void ingest_acks_drain(ingest *g, double timeout_s);
/* The request is being freed (on_completed): make sure no report touches
 * it any more. */
void ingest_acks_detach(ingest_req *r);

#endif
