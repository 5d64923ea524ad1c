/* clock.h - the wall clock and the monotonic clock, in the units the tree uses.
 *
 * Wall time (CLOCK_REALTIME) is for timestamps that leave the process
 * (messages, rows, logs); monotonic time (CLOCK_MONOTONIC) is for measuring
 * intervals and deadlines, which must not jump with the wall clock. */
#ifndef RUTH_CLOCK_H
#define RUTH_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds since the epoch, UTC. */
int64_t clock_wall_us(void);
/* Monotonic time in microseconds, milliseconds and seconds (arbitrary origin). */
int64_t clock_mono_us(void);
int64_t clock_mono_ms(void);
double clock_mono_s(void);

/* `us` (microseconds since the epoch) as "2026-11-22T10:00:00.123Z" into out
 * (at least CLOCK_ISO8601_LEN bytes; truncated to n otherwise). */
#define CLOCK_ISO8601_LEN 32
void clock_format_iso8601_ms(int64_t us, char *out, size_t n);

#endif
