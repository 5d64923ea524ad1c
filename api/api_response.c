/* api_response.c - JSON bodies and the contract's error body.
 * Every error a client sees is built by api_error(). */
#include "api_response.h"

#include "clock.h"
#include "text.h"

#include "api_util.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void api_json_text(api_req *r, unsigned status, const char *json, size_t len)
{
    r->status = status;
    buf_set(&r->out, json, len);
}

void api_json_row(api_req *r, unsigned status, const PGresult *res)
{
    api_json_text(r, status, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
}

void api_json_steal(api_req *r, unsigned status, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!s) {
        /* Only reachable through a bug (a NULL or unencodable body): never crash on it. */
        static const char fallback[] = "{\"error\":\"INTERNAL_ERROR\",\"error_description\":"
                                       "\"the response could not be encoded\",\"status_code\":500,"
                                       "\"details\":{}}";
        log_error("response body could not be encoded (request %s)", r->request_id);
        api_json_text(r, 500, fallback, sizeof fallback - 1);
        return;
    }
    api_json_text(r, status, s, strlen(s));
    free(s);
}

/* Cut `s` back to the last complete UTF-8 character (after truncation). */
void api_no_content(api_req *r)
{
    r->status = 204;
    buf_reset(&r->out);
}

void api_error(api_req *r, unsigned status, const char *code, json_t *details, const char *fmt, ...)
{
    char desc[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof desc, fmt, ap);
    va_end(ap);
    text_utf8_trim(desc);
    char ts[40];
    clock_format_iso8601_ms(clock_wall_us(), ts, sizeof ts);
    json_t *b =
        json_pack("{s:s, s:s, s:i, s:o, s:s, s:s}", "error", code, "error_description", desc,
                  "status_code", (int)status, "details", details ? details : json_object(),
                  "request_id", r->request_id, "timestamp", ts);
    api_json_steal(r, status, b);
}
