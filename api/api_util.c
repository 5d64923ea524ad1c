/* api_util.c - the monotonic clock and text checks of api_util.h. */
#include "api_util.h"

#include "text.h"

#include <ctype.h>
#include <string.h>

bool api_is_utf8(const char *s, size_t n)
{
    /* PostgreSQL text cannot hold NUL, which UTF-8 itself allows. */
    return !memchr(s, 0, n) && text_utf8_valid(s, n);
}

bool api_is_uuid(const char *s)
{
    return text_uuid_valid(s);
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
