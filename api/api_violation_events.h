/* api_violation_events.h - GET /violations/{id}'s two event lists written
 * in C (api_violation_events.c): `events`, the newest 50 events linked to
 * the violation as objects, and `event_ids`, the ids of the first 1000,
 * oldest first; byte for byte what ruth_violation_events() (migration
 * 0016) returns with json_agg.
 *
 * Why not that function: one statement reads the rows in binary format
 * with the violation's UTC days (first_event_at's to last_event_at's, the
 * partitions' bounds, as the function widens them) written into its text as
 * constants, so PostgreSQL prunes `events` to those partitions when it
 * plans, once per connection and pair of days (the prepared statement is
 * kept): no PL/pgSQL call with its SET, no generic plan locking every
 * partition, no json_agg and to_char in PostgreSQL (measured on the bench's
 * seed: the detail's PostgreSQL CPU 0.29 -> 0.16 ms per request, for one
 * more round trip). */
#ifndef RUTH_API_VIOLATION_EVENTS_H
#define RUTH_API_VIOLATION_EVENTS_H

#include "api.h"

#include <stdbool.h>
#include <stdint.h>

/* Append `, "events" : [...], "event_ids" : [...]` (jsonw_key's
 * separators) for violation `id` whose first and last event times are
 * first_us and last_us (Unix microseconds); false after responding (a
 * database error). */
bool api_violation_events_write(api_req *r, buf *o, const char *id, int64_t first_us,
                                int64_t last_us, bool read_only);

#endif
