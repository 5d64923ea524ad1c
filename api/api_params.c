/* api_params.c - query and body validation.
 *
 * Every parser records what was wrong under the parameter's name in
 * r->details; handlers parse everything first, then call param_reject() so
 * one 400 VALIDATION_ERROR names every bad field at once. */
#include "api.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX_DEPTH 16

bool api_is_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        if (c == 0)
            return false; /* PostgreSQL text cannot hold NUL */
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t k;
        unsigned min;
        if ((c & 0xe0) == 0xc0) {
            k = 1, c &= 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, c &= 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, c &= 0x07, min = 0x10000;
        } else {
            return false;
        }
        if ((size_t)(end - p) <= k)
            return false;
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return false;
        p += k + 1;
    }
    return true;
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

void param_invalid(api_req *r, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!r->details)
        r->details = json_object();
    if (!json_object_get(r->details, field))
        json_object_set_new(r->details, field, json_string(msg));
}

bool param_reject(api_req *r)
{
    if (!r->details)
        return false;
    json_t *d = r->details;
    r->details = NULL;
    api_error(r, 400, "VALIDATION_ERROR", d, "request parameters are invalid");
    return true;
}

const char *param_str(api_req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v)
        return NULL;
    if (!api_is_utf8(v, strlen(v))) {
        param_invalid(r, name, "must be valid UTF-8");
        return NULL;
    }
    if (strlen(v) > 1024) {
        param_invalid(r, name, "is longer than 1024 bytes");
        return NULL;
    }
    return v;
}

bool param_int(api_req *r, const char *name, long min, long max, long *out)
{
    const char *v = param_str(r, name);
    if (!v)
        return true;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (!*v || *end || errno || isspace((unsigned char)*v)) {
        param_invalid(r, name, "must be an integer");
        return false;
    }
    if (n < min || n > max) {
        param_invalid(r, name, "must be between %ld and %ld", min, max);
        return false;
    }
    *out = n;
    return true;
}

bool param_double(api_req *r, const char *name, double min, double max, double *out, bool *set)
{
    const char *v = param_str(r, name);
    *set = false;
    if (!v)
        return true;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (!*v || *end || errno || !isfinite(d) || isspace((unsigned char)*v)) {
        param_invalid(r, name, "must be a number");
        return false;
    }
    if (d < min || d > max) {
        param_invalid(r, name, "must be between %g and %g", min, max);
        return false;
    }
    *out = d;
    *set = true;
    return true;
}

/* Days from 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Strict ISO 8601 date-time with a zone ("Z" or +hh:mm) -> microseconds. */
static bool parse_iso(const char *s, int64_t *us)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return false;
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60 || h < 0 || mi < 0 || sec < 0)
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100) || y % 400 == 0)))
        return false;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        p++;
        while (isdigit((unsigned char)*p)) {
            if (digits < 6)
                frac = frac * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0 || digits > 9)
            return false;
        for (; digits < 6; digits++)
            frac *= 10;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-' || *p == ' ') {
        /* ' ' is a '+' that was not URL-encoded. */
        int sign = *p == '-' ? -1 : 1, oh, om, k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 23 || om > 59 ||
            oh < 0 || om < 0)
            return false;
        off = sign * (oh * 60 + om);
        p += 6;
    } else {
        return false;
    }
    if (*p)
        return false;
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
                   (sec > 59 ? 59 : sec) - (int64_t)off * 60;
    *us = secs * 1000000 + frac;
    return true;
}

bool param_time(api_req *r, const char *name, char *out, size_t outsz)
{
    const char *v = param_str(r, name);
    if (!v)
        return true;
    int64_t us;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (*v && !*end && !errno && isdigit((unsigned char)v[strlen(v) - 1]) && *v != ' ') {
        us = n;
        if (us < 0 || us > 253402300799000000LL) {
            param_invalid(r, name, "microseconds since the epoch out of range");
            return false;
        }
    } else if (!parse_iso(v, &us)) {
        param_invalid(r, name, "must be an ISO 8601 date-time with offset or microseconds since "
                               "the epoch");
        return false;
    } else if (us < 0 || us > 253402300799000000LL) {
        /* An offset can move a 1970 or 9999 date out of the representable range. */
        param_invalid(r, name, "must be between 1970-01-01 and 9999-12-31 UTC");
        return false;
    }
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outsz, "%s.%06lld+00:00", day, (long long)(us % 1000000));
    return true;
}

bool param_enum(api_req *r, const char *name, const char *choices, const char **out)
{
    const char *v = param_str(r, name);
    if (!v)
        return true;
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t k = bar ? (size_t)(bar - p) : strlen(p);
        if (k == n && !strncmp(p, v, n)) {
            *out = v;
            return true;
        }
        p += k + (bar ? 1 : 0);
    }
    char list[256];
    snprintf(list, sizeof list, "%s", choices);
    for (char *q = list; *q; q++)
        if (*q == '|')
            *q = ',';
    param_invalid(r, name, "must be one of %s", list);
    return false;
}

bool param_uuid(api_req *r, const char *name, const char **out)
{
    const char *v = param_str(r, name);
    if (!v)
        return true;
    if (!api_is_uuid(v)) {
        param_invalid(r, name, "must be a UUID");
        return false;
    }
    *out = v;
    return true;
}

bool param_bool(api_req *r, const char *name, const char **out)
{
    return param_enum(r, name, "true|false", out);
}

static int json_depth(const json_t *j)
{
    int max = 0;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            int d = json_depth(v);
            if (d > max)
                max = d;
            if (max > BODY_MAX_DEPTH)
                break;
        }
        return max + 1;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            int d = json_depth(v);
            if (d > max)
                max = d;
            if (max > BODY_MAX_DEPTH)
                break;
        }
        return max + 1;
    }
    return 0;
}

/* Nesting depth of raw JSON text, so a hostile body never reaches the
 * recursive parser deeper than BODY_MAX_DEPTH. */
static bool json_text_shallow(const unsigned char *p, size_t n)
{
    int depth = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > BODY_MAX_DEPTH)
                return false;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return true;
}

json_t *api_body_object(api_req *r)
{
    if (r->body.len == 0) {
        api_error(r, 400, "VALIDATION_ERROR", json_pack("{s:s}", "body", "a JSON object is required"),
                  "request body is missing");
        return NULL;
    }
    if (!api_is_utf8((const char *)r->body.data, r->body.len)) {
        api_error(r, 400, "VALIDATION_ERROR", json_pack("{s:s}", "body", "must be valid UTF-8"),
                  "request body is not valid UTF-8");
        return NULL;
    }
    if (!json_text_shallow(r->body.data, r->body.len)) {
        api_error(r, 400, "VALIDATION_ERROR",
                  json_pack("{s:s}", "body", "nested deeper than 16 levels"),
                  "request body is nested too deeply");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j || !json_is_object(j) || json_depth(j) > BODY_MAX_DEPTH) {
        char msg[256];
        snprintf(msg, sizeof msg, j ? "must be a JSON object" : "invalid JSON: %s", je.text);
        json_decref(j);
        api_error(r, 400, "VALIDATION_ERROR", json_pack("{s:s}", "body", msg),
                  "request body is not a JSON object");
        return NULL;
    }
    return j;
}
