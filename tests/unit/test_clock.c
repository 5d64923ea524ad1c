/* test_clock.c - the wall and monotonic clocks agree with the system's, and
 * the ISO 8601 formatter. */
#include "clock.h"
#include "testlib.h"

#include <time.h>

static void wall_is_the_epoch_clock(void)
{
    int64_t before = (int64_t)time(NULL);
    int64_t us = clock_wall_us();
    int64_t after = (int64_t)time(NULL);
    CHECK(us / 1000000 >= before && us / 1000000 <= after);
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
