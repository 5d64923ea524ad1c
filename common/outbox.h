/* outbox.h - publishing the transactional outbox (ARCHITECTURE §5.7).
 *
 * A writer that changes a violation inserts the encoded ViolationChange (or
 * EvidenceRequest) into `outbox` in the same transaction. After COMMIT it
 * relays the rows it wrote; a periodic sweep relays rows any writer left
 * behind (crash between commit and relay). Rows are published, acknowledged
 * by the broker, then deleted: at least once, never lost. */
#ifndef RUTH_OUTBOX_H
#define RUTH_OUTBOX_H

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdatomic.h>

/* How long a relay waits for the broker's acknowledgements. */
#define OUTBOX_FLUSH_TIMEOUT_MS 10000

/* Publish the outbox rows matching `where` (an SQL condition written by the
 * caller, never user input; parameters are text) in id order, locking them
 * and skipping rows another relay holds; wait for every acknowledgement,
 * delete the rows, commit. `delivery_failures` is the counter the producer's
 * delivery-report callback increments; any failure counted since the last
 * relay fails this one (the rows are then published again: at least once). Returns the number of
 * rows published, or -1 (nothing deleted; the rows stay for the sweep). */
int outbox_relay(PGconn *db, rd_kafka_t *producer, atomic_int *delivery_failures,
                 const char *where, int nparams, const char *const *params);

/* Relay rows older than 5 s: what a crashed or failed writer left. */
int outbox_sweep(PGconn *db, rd_kafka_t *producer, atomic_int *delivery_failures);

#endif
