/* api_params.c - query and body validation.
 *
 * Every parser records what was wrong under the parameter's name in
 * r->details; handlers parse everything first, then call param_reject() so
 * one 400 VALIDATION_ERROR names every bad field at once. */
#include "api_params.h"
#include "buf.h"

#include "api_response.h"
#include "api_util.h"
#include "codec.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BODY_MAX_DEPTH 16

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

void param_missing(api_req *r, const char *field)
{
    if (!r->details)
        r->details = json_object();
    if (!json_object_get(r->details, field)) {
        json_object_set_new(r->details, field, json_string("is required"));
        r->nmissing++;
    }
}

bool param_reject(api_req *r)
{
    if (!r->details)
        return false;
    json_t *d = r->details;
    r->details = NULL;
    /* Only required fields missing: the contract's own code for that. */
    if (r->nmissing > 0 && (size_t)r->nmissing == json_object_size(d))
        api_error(r, 400, "MISSING_REQUIRED_FIELD", d, "a required field is missing");
    else
        api_error(r, 400, "VALIDATION_ERROR", d, "request parameters are invalid");
    r->nmissing = 0;
    return true;
}

typedef struct param_names {
    api_req *r;
    const char *known;
    buf list; /* the unknown names, for the message */
} param_names;

static enum MHD_Result param_only_arg(void *cls, enum MHD_ValueKind kind, const char *k,
                                      const char *v)
{
    (void)kind;
    (void)v;
    param_names *pn = cls;
    if (api_is_choice(k, pn->known))
        return MHD_YES;
    /* A name that cannot be a JSON key (bad UTF-8, absurd length) is named
     * as "query" instead. */
    bool nameable = strlen(k) <= 128 && api_is_utf8(k, strlen(k)) && *k;
    param_invalid(pn->r, nameable ? k : "query", "unknown query parameter");
    if (pn->list.len < 512)
        buf_printf(&pn->list, "%s%s", pn->list.len ? ", " : "", nameable ? k : "query");
    return MHD_YES;
}

bool param_only(api_req *r, const char *known)
{
    param_names pn = {r, known ? known : "", {0}};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, param_only_arg, &pn);
    if (!r->details) {
        buf_free(&pn.list);
        return true;
    }
    json_t *d = r->details;
    r->details = NULL;
    r->nmissing = 0;
    api_error(r, 400, "VALIDATION_ERROR", d, "unknown query parameter%s: %s",
              strchr(buf_cstr(&pn.list), ',') ? "s" : "", buf_cstr(&pn.list));
    buf_free(&pn.list);
    return false;
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

/* The codec's ISO 8601 parser, after restoring a '+' of the zone that
 * arrived URL-decoded as a space ("...T10:00:00 02:00"). */
static bool parse_iso(const char *v, int64_t *us)
{
    char tmp[64];
    size_t n = strlen(v);
    if (n >= sizeof tmp)
        return false;
    memcpy(tmp, v, n + 1);
    char *sp = n > 19 ? strchr(tmp + 19, ' ') : NULL;
    if (sp)
        *sp = '+';
    return codec_parse_iso8601(tmp, us);
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
        param_invalid(r, name,
                      "must be an ISO 8601 date-time with offset or microseconds since "
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
    if (api_is_choice(v, choices)) {
        *out = v;
        return true;
    }
    char list[256];
    snprintf(list, sizeof list, "%s", choices);
    for (char *q = list; *q; q++)
        if (*q == '|')
            *q = ',';
    param_invalid(r, name, "must be one of %s", list);
    return false;
}

const char *api_path_uuid(api_req *r, int seg, const char *what)
{
    const char *id = r->seg[seg];
    if (api_is_uuid(id))
        return id;
    api_error(r, 400, "INVALID_PARAMETER", json_pack("{s:s}", "id", "must be a UUID"),
              "%s id must be a UUID", what);
    return NULL;
}

void param_known_fields(api_req *r, json_t *body, const char *fields)
{
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        if (!api_is_choice(k, fields))
            param_invalid(r, k, "unknown field");
    }
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

json_t *api_body_object(api_req *r)
{
    if (r->body.len == 0) {
        api_error(r, 400, "VALIDATION_ERROR",
                  json_pack("{s:s}", "body", "a JSON object is required"),
                  "request body is missing");
        return NULL;
    }
    if (!api_is_utf8((const char *)r->body.data, r->body.len)) {
        api_error(r, 400, "VALIDATION_ERROR", json_pack("{s:s}", "body", "must be valid UTF-8"),
                  "request body is not valid UTF-8");
        return NULL;
    }
    if (codec_json_depth((const char *)r->body.data, r->body.len, BODY_MAX_DEPTH) >
        BODY_MAX_DEPTH) {
        api_error(r, 400, "VALIDATION_ERROR",
                  json_pack("{s:s}", "body", "nested deeper than 16 levels"),
                  "request body is nested too deeply");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb((const char *)r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j || !json_is_object(j)) {
        char msg[256];
        snprintf(msg, sizeof msg, j ? "must be a JSON object" : "invalid JSON: %s", je.text);
        json_decref(j);
        api_error(r, 400, "VALIDATION_ERROR", json_pack("{s:s}", "body", msg),
                  "request body is not a JSON object");
        return NULL;
    }
    return j;
}
