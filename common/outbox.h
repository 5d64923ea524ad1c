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

/* How long a relay waits for the broker's acknowledgements by default; a
 * request thread waits less (rows not acknowledged in time stay for the
 * sweep, which may publish them a second time: at least once). */
#define OUTBOX_FLUSH_TIMEOUT_MS 10000

/* Publish the outbox rows matching `where` (an SQL condition written by the
 * caller, never user input; parameters are text) in id order, locking them
 * and skipping rows another relay holds; wait up to `timeout_ms` for the
 * acknowledgement of each of these messages (tracked per relay, so threads
 * sharing the producer never see each other's failures; the producer's
 * delivery callback must call kafka_acks_on_delivery()), delete the rows,
 * commit. Returns the number of rows published, or -1 (nothing deleted; the
 * rows stay for the sweep and are published again: at least once). */
int outbox_relay(PGconn *db, rd_kafka_t *producer, int timeout_ms, const char *where,
                 int nparams, const char *const *params);

/* Relay rows older than 5 s: what a crashed or failed writer left. */
int outbox_sweep(PGconn *db, rd_kafka_t *producer);

#endif
