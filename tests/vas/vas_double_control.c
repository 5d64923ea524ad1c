/* vas_double_control.c - the /_control API of ruth-vas-double: tests tell
 * the double to fail, wait, drop connections, expire or revoke tokens,
 * refuse streams and replace its devices, and read back every VAS call.
 * No auth; control calls are not recorded. */
#include "vas_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void control_ok(vas_double_req *r)
{
    vas_double__json(r, 200, json_pack("{s:b}", "ok", 1));
}

static bool control_object(vas_double_req *r)
{
    if (json_is_object(r->body))
        return true;
    vas_double__error(r, 400, "VALIDATION_ERROR", "the body must be a JSON object");
    return false;
}

/* {"status":503,"count":N,"error":"SERVICE_UNAVAILABLE","prefix":"/v2/"};
 * count 0 clears, -1 lasts until cleared. */
static void control_fail(vas_double *d, vas_double_req *r)
{
    if (!control_object(r))
        return;
    json_t *count = json_object_get(r->body, "count"), *status = json_object_get(r->body, "status");
    if (!json_is_integer(count) || json_integer_value(count) < -1 ||
        (json_integer_value(count) != 0 &&
         (!json_is_integer(status) || json_integer_value(status) < 100 ||
          json_integer_value(status) > 599))) {
        vas_double__error(r, 400, "VALIDATION_ERROR",
                          "count (-1, 0 or more) and status (100..599) are required");
        return;
    }
    const char *error = json_string_value(json_object_get(r->body, "error"));
    const char *prefix = json_string_value(json_object_get(r->body, "prefix"));
    d->fail.count = (long)json_integer_value(count);
    d->fail.status = (int)json_integer_value(status);
    snprintf(d->fail.error, sizeof d->fail.error, "%s", error ? error : "SERVICE_UNAVAILABLE");
    snprintf(d->fail.prefix, sizeof d->fail.prefix, "%s", prefix ? prefix : "/v2/streams");
    control_ok(r);
}

static void control_latency(vas_double *d, vas_double_req *r)
{
    json_t *ms = json_object_get(r->body, "ms");
    if (!json_is_integer(ms) || json_integer_value(ms) < 0 || json_integer_value(ms) > 600000) {
        vas_double__error(r, 400, "VALIDATION_ERROR", "ms (0..600000) is required");
        return;
    }
    d->latency_ms = (int)json_integer_value(ms);
    control_ok(r);
}

static void control_drop(vas_double *d, vas_double_req *r)
{
    json_t *count = json_object_get(r->body, "count");
    if (!json_is_integer(count) || json_integer_value(count) < 0) {
        vas_double__error(r, 400, "VALIDATION_ERROR", "count (0 or more) is required");
        return;
    }
    d->drop = (long)json_integer_value(count);
    control_ok(r);
}

static void control_expire_tokens(vas_double *d, vas_double_req *r)
{
    int64_t now = vas_double__now_ms();
    for (size_t i = 0; i < d->access.n; i++)
        if (d->access.v[i].expires_ms > now)
            d->access.v[i].expires_ms = now;
    vas_double__json(r, 200, json_pack("{s:b, s:i}", "ok", 1, "expired", (int)d->access.n));
}

static void control_revoke_refresh(vas_double *d, vas_double_req *r)
{
    for (size_t i = 0; i < d->refresh.n; i++)
        d->refresh.v[i].revoked = true;
    vas_double__json(r, 200, json_pack("{s:b, s:i}", "ok", 1, "revoked", (int)d->refresh.n));
}

/* {"stream_id":"x", "missing":bool, "no_recording":bool,
 *  "bookmark_delay_ms":N (-1: back to the default), "bookmark_fail":"reason"|null|""};
 * only the keys given change. */
static void control_stream(vas_double *d, vas_double_req *r)
{
    if (!control_object(r))
        return;
    const char *id = json_string_value(json_object_get(r->body, "stream_id"));
    json_t *missing = json_object_get(r->body, "missing");
    json_t *no_rec = json_object_get(r->body, "no_recording");
    json_t *delay = json_object_get(r->body, "bookmark_delay_ms");
    json_t *fail = json_object_get(r->body, "bookmark_fail");
    if (!id || !*id || (missing && !json_is_boolean(missing)) ||
        (no_rec && !json_is_boolean(no_rec)) ||
        (delay && (!json_is_integer(delay) || json_integer_value(delay) < -1)) ||
        (fail && !json_is_string(fail) && !json_is_null(fail))) {
        vas_double__error(r, 400, "VALIDATION_ERROR",
                          "stream_id is required; missing/no_recording are booleans, "
                          "bookmark_delay_ms an integer >= -1, bookmark_fail a string or null");
        return;
    }
    vas_double_stream_cfg *s = vas_double__stream_cfg(d, id, true);
    if (missing)
        s->missing = json_is_true(missing);
    if (no_rec)
        s->no_recording = json_is_true(no_rec);
    if (delay)
        s->bookmark_delay_ms = (int)json_integer_value(delay);
    if (fail)
        snprintf(s->bookmark_fail, sizeof s->bookmark_fail, "%s",
                 json_is_string(fail) ? json_string_value(fail) : "");
    control_ok(r);
}

static void control_copy(char *dst, size_t n, const json_t *obj, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(obj, key));
    snprintf(dst, n, "%s", v ? v : dflt);
}

/* [{"id","name","display_name","location","stream_id","state"}] replaces
 * the devices and their streams (id and name required; state LIVE when absent). */
static void control_devices(vas_double *d, vas_double_req *r)
{
    size_t i;
    json_t *dev;
    bool ok = json_is_array(r->body);
    json_array_foreach(ok ? r->body : NULL, i, dev)
    {
        ok = ok && json_is_object(dev) && json_string_value(json_object_get(dev, "id")) &&
             json_string_value(json_object_get(dev, "name"));
    }
    if (!ok) {
        vas_double__error(r, 400, "VALIDATION_ERROR",
                          "the body must be an array of objects with id and name");
        return;
    }
    d->devices.n = 0;
    json_array_foreach(r->body, i, dev)
    {
        vas_double_device *v = VAS_DOUBLE_PUSH(d->devices);
        control_copy(v->id, sizeof v->id, dev, "id", "");
        control_copy(v->name, sizeof v->name, dev, "name", "");
        control_copy(v->display_name, sizeof v->display_name, dev, "display_name", "");
        control_copy(v->location, sizeof v->location, dev, "location", "");
        control_copy(v->stream_id, sizeof v->stream_id, dev, "stream_id", "");
        control_copy(v->state, sizeof v->state, dev, "state", "LIVE");
    }
    vas_double__json(r, 200, json_pack("{s:b, s:i}", "ok", 1, "devices", (int)d->devices.n));
}

/* Every VAS call so far, in order; ?since=N skips the first N (counted
 * from the start, including any the log has forgotten). */
static void control_calls(vas_double *d, vas_double_req *r)
{
    const char *since = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "since");
    size_t from = since ? (size_t)strtoull(since, NULL, 10) : 0;
    from = from > d->calls_dropped ? from - d->calls_dropped : 0;
    json_t *out = json_array();
    for (size_t i = from; i < json_array_size(d->calls); i++)
        json_array_append(out, json_array_get(d->calls, i));
    vas_double__json(r, 200, out);
}

static void control_reset(vas_double *d, vas_double_req *r)
{
    json_array_clear(d->calls);
    d->calls_dropped = 0;
    d->fail.count = 0;
    d->latency_ms = 0;
    d->drop = 0;
    d->streams.n = 0;
    control_ok(r);
}

void vas_double_control_handle(vas_double *d, vas_double_req *r)
{
    static const struct {
        const char *method, *path;
        void (*fn)(vas_double *, vas_double_req *);
    } routes[] = {
        {"POST", "/_control/fail", control_fail},
        {"POST", "/_control/latency", control_latency},
        {"POST", "/_control/drop", control_drop},
        {"POST", "/_control/expire-tokens", control_expire_tokens},
        {"POST", "/_control/revoke-refresh", control_revoke_refresh},
        {"POST", "/_control/stream", control_stream},
        {"PUT", "/_control/devices", control_devices},
        {"GET", "/_control/calls", control_calls},
        {"POST", "/_control/reset", control_reset},
    };
    bool path_known = false;
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        if (strcmp(r->path, routes[i].path) != 0)
            continue;
        path_known = true;
        if (strcmp(r->method, routes[i].method) == 0) {
            routes[i].fn(d, r);
            return;
        }
    }
    if (path_known)
        vas_double__error(r, 405, "METHOD_NOT_ALLOWED", "Method not allowed on this path");
    else
        vas_double__error(r, 404, "RESOURCE_NOT_FOUND", "No such control endpoint");
}
