/* clock.c - see clock.h. */
#include "clock.h"

#include <stdio.h>
#include <time.h>

static int64_t clock__us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_wall_us(void)
{
    return clock__us(CLOCK_REALTIME);
}

int64_t clock_mono_us(void)
{
    return clock__us(CLOCK_MONOTONIC);
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double clock_mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void clock_format_iso8601_ms(int64_t us, char *out, size_t n)
{
    int64_t sec = us / 1000000, rem = us % 1000000;
    if (rem < 0) { /* before the epoch: floor, so the fraction stays positive */
        sec--;
        rem += 1000000;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    char s[24];
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%.20s.%03dZ", s, (int)(rem / 1000));
}
