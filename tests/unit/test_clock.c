/* test_clock.c - the wall and monotonic clocks agree with the system's, and
 * the ISO 8601 formatter. */
#include "clock.h"
#include "testlib.h"

#include <time.h>

/* Against CLOCK_REALTIME read directly, not time(): glibc's time() reads
 * the coarse clock, which lags by up to a tick and so, at a second
 * boundary, could still say the previous second after ours said the next
 * (seen once in CI). */
static int64_t realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void wall_is_the_epoch_clock(void)
{
    int64_t before = realtime_us();
    int64_t us = clock_wall_us();
    int64_t after = realtime_us();
    CHECK_MSG(us >= before && us <= after, "%lld not in [%lld, %lld]", (long long)us,
              (long long)before, (long long)after);
}

static void monotonic_units_agree(void)
{
    int64_t us = clock_mono_us();
    int64_t ms = clock_mono_ms();
    double s = clock_mono_s();
    int64_t us2 = clock_mono_us();
    CHECK(us2 >= us);
    CHECK(ms >= us / 1000 && ms <= us2 / 1000);
    CHECK(s * 1e6 >= (double)us - 1 && s * 1e6 <= (double)us2 + 1);
    struct timespec d = {0, 2000000};
    nanosleep(&d, NULL);
    CHECK(clock_mono_us() - us2 >= 2000);
}

static void iso8601_formats_utc_milliseconds(void)
{
    char s[CLOCK_ISO8601_LEN];
    clock_format_iso8601_ms(0, s, sizeof s);
    CHECK_EQ_STR(s, "1970-01-01T00:00:00.000Z");
    clock_format_iso8601_ms(1763805600123456LL, s, sizeof s);
    CHECK_EQ_STR(s, "2025-11-22T10:00:00.123Z");
    clock_format_iso8601_ms(-1000, s, sizeof s); /* 1 ms before the epoch */
    CHECK_EQ_STR(s, "1969-12-31T23:59:59.999Z");
    char small[11];
    clock_format_iso8601_ms(0, small, sizeof small);
    CHECK_EQ_STR(small, "1970-01-01");
}

int main(void)
{
    TEST_RUN(wall_is_the_epoch_clock);
    TEST_RUN(monotonic_units_agree);
    TEST_RUN(iso8601_formats_utc_milliseconds);
    return testlib_failures ? 1 : 0;
}
