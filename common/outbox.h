/* outbox.h - publishing the transactional outbox (ARCHITECTURE §5.7).
 *
 * A writer that changes a violation inserts the encoded ViolationChange (or
 * EvidenceRequest) into `outbox` in the same transaction. After COMMIT it
 * relays the rows it wrote; a periodic sweep relays rows any writer left
 * behind (crash between commit and relay). Rows are published, acknowledged
 * by the broker, then deleted: at least once, never lost. */
#ifndef RUTH_OUTBOX_H
#define RUTH_OUTBOX_H

#include "buf.h"
#include "codec.h"
#include "pg.h"
#include "pg_array.h"

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

/* How long a relay waits for the broker's acknowledgements by default; a
 * request thread waits less (rows not acknowledged in time stay for the
 * sweep, which may publish them a second time: at least once). */
#define OUTBOX_FLUSH_TIMEOUT_MS 10000

/* Outbox rows gathered for one INSERT in the writer's transaction, so a
 * writer adding many messages pays one round trip. Zero-initialise, then
 * outbox_batch_begin(), outbox_batch_add() or outbox_put_violation_change()
 * per message, outbox_batch_insert(), outbox_batch_free(). */
typedef struct outbox_batch {
    pg_array topic, key, payload;
    size_t n; /* messages added since outbox_batch_begin() */
} outbox_batch;

void outbox_batch_begin(outbox_batch *ob);
/* Add one message (payload copied) for `topic`, keyed by `key`. */
void outbox_batch_add(outbox_batch *ob, const char *topic, const char *key, const buf *payload);
/* INSERT the gathered messages (none is fine) in the caller's open
 * transaction, prepared through `stmts` of `db` when not NULL, appending
 * the new rows' ids to `ids` (a begun pg_array: what outbox_relay() is
 * given after COMMIT). 0, or -1 with errstr filled (roll back). */
int outbox_batch_insert(outbox_batch *ob, PGconn *db, pg_stmts *stmts, pg_array *ids, char *errstr,
                        size_t errsz);
/* Accepts a zeroed or freed batch. */
void outbox_batch_free(outbox_batch *ob);

/* The one place a ViolationChange is built and put in the outbox, by every
 * writer (ruth-worker when incidents open or grow, ruth-api when operators
 * review them): from row `row` of a violation_row_select result read in the
 * writer's transaction after its change, with `change` (opened, updated,
 * status_changed, ...) that occurred at `occurred_at_us` (0: the row's
 * updated_at), the row's version, encoded as single-object Avro by `c`,
 * keyed by camera id, added to `ob` for `topic`. When `v` is not NULL it
 * receives the row (strings borrowed from `res` until it is cleared; no
 * boxes), also when encoding fails. 0, or -1 with err filled when the
 * message cannot be encoded (nothing added). */
int outbox_put_violation_change(outbox_batch *ob, codec *c, const char *topic, const PGresult *res,
                                int row, const char *change, int64_t occurred_at_us,
                                violation_msg *v, codec_error *err);

/* Publish the outbox rows matching `where` (an SQL condition written by the
 * caller, never user input; parameters are text) in id order, locking them
 * and skipping rows another relay holds; wait up to `timeout_ms` for the
 * acknowledgement of each of these messages (tracked per relay, so threads
 * sharing the producer never see each other's failures; the producer's
 * delivery callback must call kafka_acks_on_delivery()), delete the rows,
 * commit. Returns the number of rows published, or -1 (nothing deleted; the
 * rows stay for the sweep and are published again: at least once). */
int outbox_relay(PGconn *db, rd_kafka_t *producer, int timeout_ms, const char *where, int nparams,
                 const char *const *params);

/* Relay rows older than 5 s: what a crashed or failed writer left. */
int outbox_sweep(PGconn *db, rd_kafka_t *producer);

#endif
