/* ingest_produce.h - POST /v1/inference after authentication
 * (ingest_produce.c): validate every item with the shared codec, produce
 * them keyed by camera_id; the request then waits for the broker without
 * holding a thread (ingest_acks.h).
 *
 * All or nothing per request: one invalid item and nothing is produced
 * (400 naming every bad item by index and field), so a client fixes and
 * resends the whole request without duplicating what was fine. 202 only
 * once Kafka acknowledged every item (acks=all, idempotent producer); a
 * full producer queue, a broker known to be unreachable, a failed delivery
 * or no acknowledgement within RUTH_INGEST_ACK_TIMEOUT_MS is 503 with
 * Retry-After. A 503 can follow a partial write (some items acknowledged,
 * or delivered after the deadline): a retry then writes them again, which
 * the worker stores once when the results carry a result_id. */
#ifndef RUTH_INGEST_PRODUCE_H
#define RUTH_INGEST_PRODUCE_H

#include "ingest.h"

/* Answer r (status, body) for its body, r->body, with the request's
 * Content-Type; or suspend it (r->suspended) until the delivery reports
 * answer it. */
void ingest_produce_request(ingest_req *r, const char *content_type);

/* The field a codec error names ("bounding_boxes[2].width is negative" ->
 * "bounding_boxes[2].width"), copied into `out`; false when it names none
 * (framing, syntax, schema: the item as a whole). */
bool ingest_produce_error_field(const codec_error *err, char *out, size_t n);

#endif
