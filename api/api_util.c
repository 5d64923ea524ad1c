/* api_util.c - the monotonic clock and text checks of api_util.h. */
#include "api_util.h"

#include "codec.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

double api_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool api_is_utf8(const char *s, size_t n)
{
    /* PostgreSQL text cannot hold NUL, which UTF-8 itself allows. */
    return !memchr(s, 0, n) && codec_utf8_valid(s, n);
}

bool api_is_uuid(const char *s)
{
    static const int dash[] = {8, 13, 18, 23};
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0, d = 0; i < 36; i++) {
        if (d < 4 && i == dash[d]) {
            if (s[i] != '-')
                return false;
            d++;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

bool api_is_choice(const char *s, const char *choices)
{
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t k = bar ? (size_t)(bar - p) : strlen(p);
        if (k == n && !strncmp(p, s, n))
            return true;
        p += k + (bar ? 1 : 0);
    }
    return false;
}
